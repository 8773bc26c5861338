"""``ceremony verify`` throughput and memory on generated ledgers (issue 3, "Done when").

    scripts/bench ledger            # 10k and 100k events
    scripts/bench ledger --quick    # 2k and 10k events

Each ledger has 4 enrolled participants and generic events of ~200 bytes of payload, one in four signed
by a participant (ECDSA P-256). It is generated fast — one transaction, rows built with the same
``ceremony.ledger.events`` functions the writer uses, signatures made in the generator — and then verified
by ``verify_ledger`` in a child process, whose wall time (excluding interpreter start-up and imports) and
peak RSS (``os.wait4`` rusage of that child) are reported. In the same run, for comparison: a bare loop of
as many P-256 signature verifications as the ledger holds, one with as many verifications as it has
events, and a bare SHA-256 chain over as many event-sized bodies. Flat memory shows as the same peak RSS
for 10x the events.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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
print(result.events, result.attestations, time.perf_counter() - t0)
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
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"verify failed on {path}")
    events, _, seconds = out.split()
    return float(seconds), usage.ru_maxrss * 1024, int(events)


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


def run(quick: bool) -> list[dict]:
    sizes = (2_000, 10_000) if quick else (10_000, 100_000)
    rows: list[dict] = []
    folder = Path(tempfile.mkdtemp(prefix="ceremony-bench-ledger-"))
    try:
        for n in sizes:
            path = folder / f"ledger-{n}.sqlite3"
            t0 = time.perf_counter()
            signatures = generate(path, n)
            generated_s = time.perf_counter() - t0
            verify_s, rss, events = verify_in_child(path)
            assert events == n
            sig_loop_s = bare_signature_loop(signatures)
            all_sig_loop_s = bare_signature_loop(n)
            chain_s = bare_chain_loop(n)
            rows.append(
                {
                    "group": "ledger",
                    "name": f"verify {n} events ({signatures} signatures)",
                    "median_s": verify_s,
                    "runs": 1,
                    "events_per_s": round(n / verify_s),
                    "peak_rss_mib": round(rss / 2**20, 1),
                    "file_mib": round(path.stat().st_size / 2**20, 1),
                    "bare_p256_verify_x_signatures_s": round(sig_loop_s, 3),
                    "ratio_verify_to_signature_loop": round(verify_s / sig_loop_s, 2),
                    "bare_p256_verify_x_events_s": round(all_sig_loop_s, 3),
                    "ratio_verify_to_event_count_signature_loop": round(verify_s / all_sig_loop_s, 2),
                    "bare_sha256_chain_s": round(chain_s, 3),
                    "ratio_verify_to_chain_loop": round(verify_s / chain_s, 1),
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
