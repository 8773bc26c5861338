"""Tamper fuzz over the demo ledger (issue 9, reliability): the ledger issue's mutations, applied to a ledger
built by the real flows (``ceremony demo``: a year of ceremonies, enrollments, exposures, recoveries,
re-shares, departures and reaffirmations, with their signed documents recorded), are all detected by
``verify``.

The mutation helpers are test_tamper.py's (imported): one byte changed in a column of an event or
attestation row, an event deleted, two swapped, one duplicated or appended again, the tail truncated, the
tail re-chained with fresh hashes (old signatures kept: caught by the signatures; unsigned: caught by the
signing rule every event is under, no paper needed), and a full rewrite with the attacker's own root and
identities (caught by the checkpoint). Here the re-chaining starts at the events that matter most in a real
history: the first key registration, the first share exposure, a departure, a ceremony close-out, the last
event.

Default: a seeded sample of the byte mutations (~20 s in all); CEREMONY_RELIABILITY_FULL=1 tries every
byte mutation and every structural one at every event. A secrets scan (the demo's published passphrases,
which unlock TEST identities and must still never be written) of the work folder follows.
"""

from __future__ import annotations

import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "ledger"))

from test_rehearsal_crash_loop import scan_for_secrets, temp_files  # noqa: E402
from test_tamper import (  # noqa: E402
    Case,
    _apply,
    _delete,
    _detected,
    _duplicate,
    _rechain,
    _swap,
    _truncate,
    byte_mutations,
)

from ceremony.flows.demo import build_demo  # noqa: E402
from ceremony.ledger.checkpoint import Checkpoint  # noqa: E402
from ceremony.ledger.participants import participants  # noqa: E402
from ceremony.ledger.store import Ledger  # noqa: E402
from ceremony.ledger.verify import verify_ledger  # noqa: E402

FULL = os.environ.get("CEREMONY_RELIABILITY_FULL") == "1"
BYTE_SAMPLE = 120
STRUCTURAL_SAMPLE = 8


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Path, Checkpoint, list, float]]:
    # RAM-backed when available: hundreds of copies and commits; fsync is not what is tested here.
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    folder = Path(tempfile.mkdtemp(prefix="ceremony-demo-tamper-", dir=base))
    started = time.time()
    try:
        path = folder / "demo.sqlite3"
        build_demo(path, start=datetime(2025, 6, 2, tzinfo=UTC))
        with Ledger.open(path, read_only=True) as ledger:
            yield path, ledger.checkpoint(), list(ledger.events()), started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _first(events: list, event_type: str) -> int | None:
    return next((e.seq for e in events if e.type == event_type), None)


def test_every_mutation_of_the_demo_ledger_is_detected(demo) -> None:
    path, checkpoint, events, started = demo
    total = len(events)
    assert verify_ledger(path, [checkpoint]).events == total
    types = {e.type for e in events}
    assert {"share.exposed", "key.registered", "ceremony.closed", "document.issued"} <= types
    assert events[0].type == "ledger.genesis" and all(e.attested_by for e in events)  # every event signed

    rng = random.Random(19592)
    cases = byte_mutations(path, rng)
    byte_total = len(cases)
    if not FULL:
        cases = rng.sample(cases, min(BYTE_SAMPLE, len(cases)))
    seqs = list(range(1, total + 1))
    picks = seqs if FULL else [*sorted(rng.sample(seqs, STRUCTURAL_SAMPLE)), 1, total]
    cases += [Case(f"event {s} deleted", _delete(s), with_checkpoint=s == total) for s in picks]
    cases += [Case(f"events {s} and {s + 5} swapped", _swap(s, s + 5)) for s in picks if s + 5 <= total]
    cases += [Case(f"event {s} duplicated", _duplicate(s, s + 1)) for s in picks if s < total]
    cases += [Case(f"event {s} appended again", _duplicate(s, total + 1)) for s in picks[:3]]
    cases += [
        Case(f"truncated to {k}", _truncate(k), with_checkpoint=True) for k in (0, 1, total // 2, total - 1)
    ]
    landmarks = {
        "first key registration": _first(events, "key.registered"),
        "first share exposure": _first(events, "share.exposed"),
        "a departure": _first(events, "participant.deactivated"),
        "first close-out": _first(events, "ceremony.closed"),
        "the last event": total,
    }
    for what, seq in landmarks.items():
        if seq is None:
            continue
        cases.append(
            Case(
                f"tail re-chained from {what} (#{seq}), signatures kept", _rechain(seq, keep_signatures=True)
            )
        )
        cases.append(
            Case(f"tail re-chained from {what} (#{seq}), unsigned", _rechain(seq, keep_signatures=False))
        )
    cases.append(
        Case(
            "full rewrite with the attacker's identities",
            _rechain(1, keep_signatures=True, attacker_keys=True),
            with_checkpoint=True,
        )
    )

    missed, errors = [], []
    work = path.parent / "mutated.sqlite3"
    for case in cases:
        try:
            _apply(path, work, case.mutate)
        except Exception as exc:  # a mutation that cannot be applied to this ledger is reported, not hidden
            errors.append(f"{case.name}: {type(exc).__name__}")
            continue
        if not _detected(work, checkpoint if case.with_checkpoint else None):
            missed.append(case.name)
    print(
        f"\ndemo tamper: {total} events; {len(cases)} mutations tried "
        f"({byte_total if FULL else BYTE_SAMPLE} of {byte_total} byte mutations), "
        f"{len(cases) - len(missed) - len(errors)} detected, {len(errors)} not applicable"
    )
    assert missed == []
    assert errors == []

    # Secrets scan: the demo's passphrases unlock its TEST identities and are never written anywhere.
    with Ledger.open(path, read_only=True) as ledger:
        needles = {f"demo passphrase {p.employee_id}".encode() for p in participants(ledger)}
    scanned, found = scan_for_secrets([*path.parent.glob("*"), *temp_files(started)], needles)
    assert scanned >= 1 and found == []
