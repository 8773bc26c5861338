"""Crash loop (issue 3, reliability): a writer SIGKILLed at random points never loses an acknowledged event.

The writer (this file run as a script) opens the ledger, enrolls a fresh signer, and appends events as fast as
it can, signing one in three; after each ``append()`` returns (= COMMIT done, the event is acknowledged) it
prints ``seq hash``. The test kills it with SIGKILL after a random delay — during start-up, inside a write
transaction, between transactions — then checks that ``verify`` passes (it first lets SQLite roll back the
interrupted transaction) and that every event ever acknowledged is still there with the same hash.

25 kills by default (about 15 s); CEREMONY_RELIABILITY_FULL=1 for 200.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

FULL = os.environ.get("CEREMONY_RELIABILITY_FULL") == "1"
KILLS = 200 if FULL else 25
HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]


def writer(path: str) -> None:
    sys.path.insert(0, str(HERE.parent.parent / "ledger"))
    from ledger_support import enroll_signer, person

    from ceremony.ledger.store import Ledger

    with Ledger.open(path, create=True) as ledger:
        signer = person(os.getpid())
        enroll_signer(ledger, signer, f"E-{os.getpid()}-{time.monotonic_ns()}")
        n = 0
        while True:
            event = ledger.append(
                "crash.test", {"n": n, "pid": os.getpid()}, [signer.person_id], [signer] if n % 3 == 0 else []
            )
            print(event.seq, event.hash.hex(), flush=True)
            n += 1


def test_sigkilled_writer_never_loses_acknowledged_events(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from ceremony.ledger.store import Ledger
    from ceremony.ledger.verify import verify_ledger

    path = tmp_path / "ledger.sqlite3"
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    acknowledged: dict[int, str] = {}
    interrupted_writes = 0
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, str(HERE), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        time.sleep(rng.uniform(0.12, 0.6))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]
        for line in out.decode().splitlines(keepends=True):
            if line.endswith("\n"):
                seq, digest = line.split()
                acknowledged[int(seq)] = digest
        if Path(str(path) + "-journal").exists():
            interrupted_writes += 1
        if not path.exists():
            continue  # killed before the ledger was created
        result = verify_ledger(path)
        assert result.events >= max(acknowledged, default=0)
        with Ledger.open(path, read_only=True) as ledger:
            stored = {e.seq: e.hash.hex() for e in ledger.events()}
        lost = {seq for seq, digest in acknowledged.items() if stored.get(seq) != digest}
        assert not lost, f"acknowledged events lost or changed: {sorted(lost)[:10]}"
    assert len(acknowledged) > KILLS  # the writer did get work done between kills
    print(
        f"\ncrash loop: {KILLS} SIGKILLs, {len(acknowledged)} acknowledged events, all present; "
        f"{interrupted_writes} kills left an interrupted write (rolled back); verify passed every time"
    )


if __name__ == "__main__":
    writer(sys.argv[1])
