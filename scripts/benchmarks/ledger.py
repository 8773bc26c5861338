"""``ceremony verify`` throughput and memory on generated ledgers (issue 3, "Done when").

    scripts/bench ledger            # 10k, 100k and 1M events, median of 5 runs each
    scripts/bench ledger --quick    # 2k and 10k events, median of 3

Each ledger has 4 enrolled participants and generic events of ~200 bytes of payload, one in four signed
by a participant (ECDSA P-256). It is generated fast — one transaction, rows built with the same
``ceremony.ledger.events`` functions the writer uses, signatures made in the generator — and then verified
by ``verify_ledger`` in a child process, whose wall time (excluding interpreter start-up and imports) and
peak RSS (that child's VmHWM) are reported. In the same run, for comparison: a bare loop of
as many P-256 signature verifications as the ledger holds, one with as many verifications as it has
events, and a bare SHA-256 chain over as many event-sized bodies. Flat memory shows as the same peak RSS
for 10x the events.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "ledger"))
sys.path.insert(0, str(ROOT))

from ceremony.ledger import events as ev  # noqa: E402
from ceremony.ledger.canonical import canonical_text  # noqa: E402
from ceremony.ledger.store import Ledger  # noqa: E402

SIGN_EVERY = 4
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
    """A ledger of ``total`` events; returns the number of signatures in it."""
    from ledger_support import enroll_signer, person

    people = [person(i) for i in range(4)]
    with Ledger.open(path, create=True) as ledger:
        for i, p in enumerate(people):
            enroll_signer(ledger, p, f"BENCH-{i}")
        conn = ledger.connection
        conn.execute("PRAGMA synchronous = OFF")  # generation only; the file is verified afterwards
        conn.execute("BEGIN IMMEDIATE")
        prev = conn.execute("SELECT hash FROM events WHERE seq = 4").fetchone()[0]
        signatures = 4
        actors = canonical_text([people[0].person_id])
        for seq in range(5, total + 1):
            time_text = "2026-03-01T09:00:00Z"
            payload = {"step": seq, "note": "benchmark event " + "x" * 160, "ceremony_id": "CER0000001"}
            signer = people[seq % 4] if seq % SIGN_EVERY == 0 else None
            attested = [signer.person_id] if signer else []
            body = ev.event_body(time_text, "ceremony.step", [people[0].person_id], attested, payload)
            digest = ev.event_hash(seq, prev, body)
            conn.execute(
                "INSERT INTO events VALUES (?, ?, 'ceremony.step', ?, ?, ?, ?, ?)",
                (seq, time_text, actors, canonical_text(attested), canonical_text(payload), prev, digest),
            )
            if signer:
                sig = signer.sign(ev.attestation_message(digest))
                conn.execute("INSERT INTO attestations VALUES (?, ?, ?)", (seq, signer.person_id, sig))
                signatures += 1
            prev = digest
        conn.execute("COMMIT")
    return signatures


def verify_in_child(path: Path) -> tuple[float, int, int]:
    """(verify seconds, peak RSS bytes, events) of verify_ledger in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"verify failed on {path}")
    events, _, seconds, peak = done.stdout.decode().split()
    return float(seconds), int(peak), int(events)


def bare_signature_loop(count: int) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    message = ev.attestation_message(hashlib.sha256(b"event").digest())
    signature = key.sign(message, ec.ECDSA(hashes.SHA256()))
    algorithm = ec.ECDSA(hashes.SHA256())
    t0 = time.perf_counter()
    for _ in range(count):
        public.verify(signature, message, algorithm)
    return time.perf_counter() - t0


def bare_chain_loop(count: int) -> float:
    body = b"x" * 330  # about one event body
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
                seconds, peak, events = verify_in_child(path)
                assert events == n
                loop_s = bare_signature_loop(signatures)
                chain = bare_chain_loop(n)
                verify_s.append(seconds)
                sig_s.append(loop_s)
                chain_s.append(chain)
                ratios_sig.append(seconds / loop_s)
                ratios_chain.append(seconds / chain)
                rss.append(peak)
            # As many P-256 verifications as events (what verify would cost if every event were signed):
            # one run for 1M events (about a minute on its own), the median of ``runs`` below that.
            all_runs = 1 if n >= 1_000_000 else runs
            all_sig_s = _median([bare_signature_loop(n) for _ in range(all_runs)])
            median_verify = _median(verify_s)
            rows.append(
                {
                    "group": "ledger",
                    "name": f"verify {n} events ({signatures} signatures)",
                    "median_s": median_verify,
                    "runs": runs,
                    "events_per_s": round(n / median_verify),
                    "peak_rss_mib": round(max(rss) / 2**20, 1),
                    "file_mib": round(path.stat().st_size / 2**20, 1),
                    "bare_p256_verify_x_signatures_s": round(_median(sig_s), 3),
                    "ratio_verify_to_signature_loop": round(_median(ratios_sig), 2),
                    "bare_p256_verify_x_events_s": round(all_sig_s, 3),
                    "bare_p256_verify_x_events_runs": all_runs,
                    "ratio_verify_to_event_count_signature_loop": round(median_verify / all_sig_s, 2),
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
