"""Identity key unlock cost: scrypt (N = 2^17, r = 12, p = 1) + AES-256-GCM, aimed at ~0.5 s per unlock.

    scripts/bench identity          # or: .venv/bin/python scripts/bench.py identity

The time is the cost of one passphrase guess for an attacker holding the encrypted key, and the wait a
participant sees when they authenticate (DESIGN §1). Re-run on the ceremony laptop; raise log2_n or r in
ceremony/crypto/identity.py (DEFAULT_KDF) if it comes out well under 0.5 s there.
"""

from __future__ import annotations

import os
import statistics
import time

from ceremony.crypto.identity import DEFAULT_KDF, enroll_identity, unlock
from ceremony.crypto.secret import SecretBytes


def _median(fn, runs: int) -> tuple[float, list[float]]:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def run(quick: bool) -> list[dict]:
    runs = 3 if quick else 5
    passphrase = SecretBytes(bytearray(b"benchmark passphrase, not a real one"))
    certificate, blob = enroll_identity("Bench Mark", "BENCH-1", passphrase)
    params = (
        f"scrypt N=2^{DEFAULT_KDF.log2_n} r={DEFAULT_KDF.r} p={DEFAULT_KDF.p} "
        f"({DEFAULT_KDF.memory_bytes // 2**20} MiB) + AES-256-GCM"
    )

    def do_unlock() -> None:
        unlock(blob, certificate, passphrase).lock()

    unlock_median, unlock_times = _median(do_unlock, runs)
    enroll_median, _ = _median(lambda: enroll_identity("Bench Mark", "BENCH-1", passphrase), runs)
    return [
        {
            "group": "identity",
            "name": "unlock (passphrase -> signing key)",
            "median_s": unlock_median,
            "runs": runs,
            "params": params,
            "times_s": [round(t, 3) for t in unlock_times],
            # the machine is shared: a loaded CPU inflates the figure (idle target: ~0.5 s)
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        {
            "group": "identity",
            "name": "enroll (P-256 key + certificate + seal)",
            "median_s": enroll_median,
            "runs": runs,
            "params": params,
        },
    ]


if __name__ == "__main__":
    for row in run(quick=False):
        print(row)
