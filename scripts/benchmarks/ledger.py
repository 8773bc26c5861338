"""``ceremony verify`` throughput and memory on generated ledgers (issue 3, "Done when").

    scripts/bench ledger            # 10k, 100k and 1M events, median of 5 runs each
    scripts/bench ledger --quick    # 2k and 10k events, median of 3

Each ledger is a valid ledger of format 2, every event signed under its rule: the sample of
``tests/ledger/ledger_support.build_sample`` (the genesis signed by the founding security officer, four
people enrolled under dual control, a generation ceremony with a 2-of-3 split whose shares were shown, a
departure), then ``share.verified`` events of ~200 bytes of payload up to the size, each signed by the
custodian it names and a witness: two ECDSA P-256 signatures per event. The sample goes through the writer;
the rest is generated fast — one transaction, rows written straight into the tables with the same
``ceremony.ledger.events`` functions the writer uses (``ledger_support.write_row``), signatures made in the
generator — and then verified by ``verify_ledger`` in a child process, whose wall time (excluding interpreter
start-up and imports) and peak RSS (that child's VmHWM) are reported. In the same run, for comparison: a bare
loop verifying the very signatures ``verify`` checks (every attestation row of the file, against its signer's
enrolled public key; rows read and messages built beforehand, only the verifications timed), and a bare
SHA-256 chain over as many event-sized bodies. Flat memory shows as the same peak RSS for 10x the events.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ledger"))
sys.path.insert(0, str(ROOT))

from ceremony.ledger import events as ev  # noqa: E402
from ceremony.ledger.store import Ledger  # noqa: E402

SAMPLE_EVENTS = 12  # the writer's part: genesis, enrolments, ceremony, key, split, exposures, a departure
EVENT_TIME = "2026-03-02T09:00:00Z"
BATCH = 50_000  # attestations held in memory at once by the bare signature loop
_CHILD = """
import sys, time
from ceremony.ledger.verify import verify_ledger
t0 = time.perf_counter()
result = verify_ledger(sys.argv[1])
seconds = time.perf_counter() - t0
# Peak RSS of this process alone: VmHWM belongs to this address space (since exec). The rusage that
# wait4() reports would also count the parent's RSS at fork time (Linux carries maxrss across exec).
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(result.events, result.attestations, seconds, int(hwm.split()[1]) * 1024)
"""


def generate(path: Path, total: int) -> int:
    """A valid, fully signed ledger of ``total`` events; returns the number of signatures in it."""
    from ledger_support import build_sample, write_row

    sample = build_sample(path, total_events=SAMPLE_EVENTS)
    _, c1, _, witness, _ = sample.people  # custodian 2 left at the end of the sample
    rounds = ((1, c1, witness), (3, witness, c1))  # (share number, its custodian, the witness)
    with Ledger.open(path) as ledger:
        conn = ledger.connection
        conn.execute("PRAGMA synchronous = OFF")  # generation only; the file is verified afterwards
        conn.execute("BEGIN IMMEDIATE")
        last, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        for seq in range(last + 1, total + 1):
            number, holder, watcher = rounds[seq % 2]
            payload = {
                "ceremony_id": "CER0000001",
                "person_id": holder.person_id,
                "split_id": "SPL0000001",
                "share_number": number,
                "ok": True,
                "reason": f"benchmark verification round {seq}: seal and KCV checked " + "x" * 60,
            }
            actors = [holder.person_id, watcher.person_id]
            prev = write_row(
                conn, seq, prev, EVENT_TIME, "share.verified", payload, actors, [holder, watcher]
            )
        conn.execute("COMMIT")
        (signatures,) = conn.execute("SELECT count(*) FROM attestations").fetchone()
    return int(signatures)


def verify_in_child(path: Path) -> tuple[float, int, int, int]:
    """(verify seconds, peak RSS bytes, events, signatures checked) of verify_ledger in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"verify failed on {path}")
    events, attestations, seconds, peak = done.stdout.decode().split()
    return float(seconds), int(peak), int(events), int(attestations)


def _enrolled_keys(conn: sqlite3.Connection) -> dict[str, ec.EllipticCurvePublicKey]:
    """Each person's public key, from the certificate their genesis or enrolment event records."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    rows = conn.execute(
        "SELECT payload FROM events WHERE type IN (?, ?)", (ev.LEDGER_GENESIS, ev.PARTICIPANT_ENROLLED)
    )
    for (payload,) in rows:
        record = json.loads(payload)
        public = x509.load_pem_x509_certificate(record["certificate_pem"].encode("ascii")).public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        keys[record["person_id"]] = public
    return keys


def bare_signature_loop(path: Path) -> tuple[float, int]:
    """(seconds, count): P-256 verification of every attestation in the file — the signatures verify
    checks — with rows read and messages built outside the timed loop."""
    algorithm = ec.ECDSA(hashes.SHA256())
    seconds, count = 0.0, 0
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        keys = _enrolled_keys(conn)
        cursor = conn.execute(
            "SELECT a.person_id, a.signature, e.hash FROM attestations a JOIN events e ON e.seq = a.seq "
            "ORDER BY a.seq, a.person_id"
        )
        while batch := cursor.fetchmany(BATCH):
            work = [
                (keys[person], signature, ev.attestation_message(digest))
                for person, signature, digest in batch
            ]
            t0 = time.perf_counter()
            for public, signature, message in work:
                public.verify(signature, message, algorithm)
            seconds += time.perf_counter() - t0
            count += len(work)
    finally:
        conn.close()
    return seconds, count


def bare_chain_loop(count: int) -> float:
    body = b"x" * 420  # about one event body
    prev = bytes(32)
    t0 = time.perf_counter()
    for seq in range(1, count + 1):
        prev = ev.event_hash(seq, prev, body)
    return time.perf_counter() - t0


def _median(values: list[float]) -> float:
    return statistics.median(values)


def run(quick: bool) -> list[dict]:
    sizes = (2_000, 10_000) if quick else (10_000, 100_000, 1_000_000)
    runs = 3 if quick else 5
    rows: list[dict] = []
    folder = Path(tempfile.mkdtemp(prefix="ceremony-bench-ledger-"))
    try:
        for n in sizes:
            path = folder / f"ledger-{n}.sqlite3"
            t0 = time.perf_counter()
            signatures = generate(path, n)
            generated_s = time.perf_counter() - t0
            # One run = verify in a child, then the bare loops in this process, back to back: each ratio
            # is taken within one run (same machine load), and the row reports medians over the runs.
            verify_s, sig_s, chain_s, ratios_sig, ratios_chain, rss = [], [], [], [], [], []
            for _ in range(runs):
                seconds, peak, events, checked = verify_in_child(path)
                loop_s, looped = bare_signature_loop(path)
                assert events == n and checked == looped == signatures, (events, checked, looped, signatures)
                chain = bare_chain_loop(n)
                verify_s.append(seconds)
                sig_s.append(loop_s)
                chain_s.append(chain)
                ratios_sig.append(seconds / loop_s)
                ratios_chain.append(seconds / chain)
                rss.append(peak)
            median_verify = _median(verify_s)
            rows.append(
                {
                    "group": "ledger",
                    "name": f"verify {n} events ({signatures} signatures)",
                    "median_s": median_verify,
                    "runs": runs,
                    "events_per_s": round(n / median_verify),
                    "signatures_per_s": round(signatures / median_verify),
                    "peak_rss_mib": round(max(rss) / 2**20, 1),
                    "file_mib": round(path.stat().st_size / 2**20, 1),
                    "bare_p256_verify_x_signatures_s": round(_median(sig_s), 3),
                    "ratio_verify_to_signature_loop": round(_median(ratios_sig), 2),
                    "bare_sha256_chain_s": round(_median(chain_s), 3),
                    "ratio_verify_to_chain_loop": round(_median(ratios_chain), 1),
                    "generate_s": round(generated_s, 2),
                    "load_avg_1m": round(os.getloadavg()[0], 2),
                }
            )
            path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
