"""Rehearsal time, PDFs included (issue 6, "Done when"): ``ceremony rehearse`` for 2-of-3 and 5-of-9.

    scripts/bench rehearsal            # median of 5 runs (after one warm-up) per size and KDF
    scripts/bench rehearsal --quick    # fast KDF: median of 3; production KDF: one run

Each run is a complete rehearsal from the shipped example script on a NEW rehearsal ledger: enrolling every
participant (one scrypt each), authenticating everyone (one scrypt each), preflight, plan, generation,
distribution with one share card PDF per share, the verification round, wipe, one signed acknowledgement
per custodian, the signed minutes and manifest.json — i.e. what ``run_rehearsal`` does, in process.
Two KDF settings: "production" (scrypt N=2^17, r=12: the honest figure for a training session) and
"fast" (N=2^10, the tests' setting), so the share of time spent in scrypt is visible.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ceremony.flows.rehearsal import example_script, parse_script, run_rehearsal  # noqa: E402

SIZES = ("2of3", "5of9")


def _once(name: str, kdf: str) -> tuple[float, int]:
    script = parse_script(example_script(name).replace('kdf = "production"', f'kdf = "{kdf}"'))
    work = Path(tempfile.mkdtemp(prefix="bench-rehearsal-"))
    try:
        start = time.perf_counter()
        result = run_rehearsal(script, work / "rehearsal.sqlite3", work / "papers")
        elapsed = time.perf_counter() - start
        return elapsed, len(result.documents)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(quick: bool) -> list[dict]:
    rows: list[dict] = []
    for kdf in ("fast", "production"):
        for name in SIZES:
            runs = (3 if kdf == "fast" else 1) if quick else 5
            if not quick:
                _once(name, kdf)  # warm-up: imports, font and form loading
            times, documents = [], 0
            for _ in range(runs):
                elapsed, documents = _once(name, kdf)
                times.append(elapsed)
            rows.append(
                {
                    "group": "rehearsal",
                    "name": f"rehearse {name} ({kdf} KDF), PDFs included",
                    "median_s": statistics.median(times),
                    "runs": runs,
                    "min_s": round(min(times), 3),
                    "max_s": round(max(times), 3),
                    "documents": documents,
                }
            )
    return rows


if __name__ == "__main__":
    for row in run("--quick" in sys.argv):
        print(row)
