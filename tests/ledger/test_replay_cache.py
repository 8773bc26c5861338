"""One checked read per ledger head (issue 14): :func:`ceremony.ledger.replay.replayed` shares the outcome of
reading the whole ledger until the file changes — and never serves it after an append (by this program or
another), a change behind the writer's back, or a fault."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.errors import LedgerIntegrityError
from ceremony.ledger import events as ev
from ceremony.ledger import replay, store
from ceremony.ledger.participants import participants, people_from
from ceremony.ledger.replay import replayed
from ceremony.ledger.schema import parse
from ceremony.ledger.store import Ledger
from tests.ledger.forge import raw_append
from tests.ledger.ledger_support import (
    TestSigner,
    enroll_signer,
    found,
    person,
    start_ceremony,
    stepping_clock,
)


def _ledger(path: Path) -> tuple[Ledger, list[TestSigner]]:
    ledger = Ledger.open(path, create=True, clock=stepping_clock())
    officer, second, third = person(1, "Olga Officer"), person(2, "Sam Second"), person(3, "Tess Third")
    found(ledger, officer)
    enroll_signer(ledger, second, "E-002", ("administrator", "custodian"))
    enroll_signer(ledger, third, "E-003", ("custodian",))
    return ledger, [officer, second, third]


def test_a_second_read_of_the_same_head_is_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, _ = _ledger(tmp_path / "l.sqlite3")
    with ledger:
        first = replayed(ledger)
        assert first.head == (ledger.size(), ledger.checkpoint().head_hash)
        reads: list[object] = []

        def counting(*args: object, **options: object) -> Iterator[ev.Event]:
            reads.append(args)
            return iter(())

        monkeypatch.setattr(store, "stream_events", counting)
        assert replayed(ledger) is first
        assert participants(ledger) == list(first.register.people.values())
        assert reads == []  # nothing was read again
        assert [e.seq for e in first.events(ledger)] == [1, 2, 3]


def test_an_append_through_the_same_ledger_is_seen_at_once(tmp_path: Path) -> None:
    ledger, (officer, second, _) = _ledger(tmp_path / "l.sqlite3")
    with ledger:
        before = replayed(ledger)
        assert [p.name for p in participants(ledger)] == ["Olga Officer", "Sam Second", "Tess Third"]
        enroll_signer(ledger, person(4, "Uma Fourth"), "E-004")
        after = replayed(ledger)
        assert after is not before
        assert after.head[0] == before.head[0] + 1
        assert [p.name for p in participants(ledger)][-1] == "Uma Fourth"
        start_ceremony(ledger, second, officer)
        assert replayed(ledger).register.unfinished()  # the ceremony just started is there
        assert replayed(ledger).state.last_seq == ledger.size() == 5


def test_an_append_by_another_connection_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger, (officer, second, _) = _ledger(path)
    with ledger:
        before = replayed(ledger)
        with Ledger.open(path, clock=stepping_clock()) as other:
            start_ceremony(other, second, officer)
        after = replayed(ledger)
        assert after is not before and after.head[0] == before.head[0] + 1
        assert [c.ceremony_id for c in after.register.unfinished()] == ["CER0000001"]


def test_a_row_changed_behind_the_writer_is_caught_not_served(tmp_path: Path) -> None:
    """Same number of events, same head row: only the middle row changed (triggers dropped). The cache
    must not hide it: the next read checks the file again and names the event, every time."""
    path = tmp_path / "l.sqlite3"
    ledger, _ = _ledger(path)
    with ledger:
        replayed(ledger)
        raw = sqlite3.connect(path)
        try:
            raw.execute("DROP TRIGGER events_no_update")
            raw.execute("UPDATE events SET time = '2026-03-01T09:00:01Z' WHERE seq = 2")
            raw.commit()
        finally:
            raw.close()
        for _ in range(2):  # a fault is never cached
            with pytest.raises(LedgerIntegrityError) as fault:
                replayed(ledger)
            assert fault.value.seq == 2
        with pytest.raises(LedgerIntegrityError):
            participants(ledger)


def test_the_first_read_checks_every_signature(tmp_path: Path) -> None:
    """The shared read is the ordinary checked one: a bad signature is the fault, at its event, nothing is
    handed back, and that event is not remembered as checked."""
    path = tmp_path / "l.sqlite3"
    ledger, (officer, second, _) = _ledger(path)
    ledger.close()
    seq = raw_append(
        path,
        ev.CEREMONY_STARTED,
        {"ceremony_id": "CER0000009", "kind": "generation", "purpose": "p", "rehearsal": False},
        [officer.person_id, second.person_id],
        sign_with=[
            (officer.person_id, officer.sign),
            (second.person_id, lambda data: second.sign(b"x" + data)),
        ],
    )
    with Ledger.open(path) as reopened:
        with pytest.raises(LedgerIntegrityError) as fault:
            replayed(reopened)
        assert fault.value.seq == seq and "does not verify" in str(fault.value)
        assert reopened._signatures.seq == seq - 1
        with pytest.raises(LedgerIntegrityError):
            list(reopened.events())


def test_the_first_read_moves_the_signature_memo_to_the_head(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    _ledger(path)[0].close()
    with Ledger.open(path) as ledger:
        assert ledger._signatures.seq == 0
        result = replayed(ledger)
        assert (ledger._signatures.seq, ledger._signatures.hash) == result.head == (3, result.state.last_hash)


def test_participants_are_the_people_fold_in_enrolment_order(tmp_path: Path) -> None:
    ledger, _ = _ledger(tmp_path / "l.sqlite3")
    with ledger:
        assert participants(ledger) == people_from(ledger.events())


def test_a_big_ledger_keeps_no_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "KEEP_EVENTS", 2)
    ledger, _ = _ledger(tmp_path / "l.sqlite3")
    with ledger:
        result = replayed(ledger)
        assert result.kept is None
        assert [e.seq for e in result.events(ledger)] == [1, 2, 3]  # read again, checked
        assert len(result.register.people) == 3


def test_an_empty_ledger(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True) as ledger:
        result = replayed(ledger)
        assert result.head == (0, b"") and result.kept == () and participants(ledger) == []
        assert replayed(ledger) is result


def test_a_read_event_carries_the_record_the_rules_checked(tmp_path: Path) -> None:
    ledger, _ = _ledger(tmp_path / "l.sqlite3")
    with ledger:
        for event in ledger.events():
            assert "record" in event.__dict__  # no second parse of the payload
            assert event.record == parse(event.type, event.payload)
