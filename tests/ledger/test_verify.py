"""verify_ledger: intact ledgers pass with a summary; each kind of fault is named at its event."""

from __future__ import annotations

import contextlib
import sqlite3
import tracemalloc
from pathlib import Path

import pytest
from ledger_support import (
    build_sample,
    enroll_signer,
    exposure,
    found,
    key_payload,
    person,
    split_payload,
    start_ceremony,
    write_row,
)

from ceremony.errors import LedgerFormatError, LedgerIntegrityError
from ceremony.ledger import events as ev
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.participants import anchor
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample(tmp_path_factory.mktemp("verify") / "ledger.sqlite3", total_events=120)


@contextlib.contextmanager
def _attacker_copy(src, dst):
    """The attacker owns the file: copy it, drop the append-only triggers, edit, put the triggers back."""
    dst.write_bytes(src.read_bytes())
    conn = sqlite3.connect(dst, isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    yield conn
    for _, sql in triggers:
        conn.execute(sql)
    conn.close()


def test_intact_sample_verifies_with_summary(sample) -> None:
    result = verify_ledger(sample.path)
    assert result.events == sample.events == 120
    assert result.participants == 5 and result.active_participants == 4
    assert result.keys == 1 and result.splits == 1 and result.ceremonies == 1
    assert result.organisation == "Test Payments Ltd" and result.rehearsal is False
    assert result.attestations == 1 + 2 + 3 * 3 + 2 * (120 - 5)  # genesis, enrolments, then two per event
    assert result.flagged_keys == ("KEY0000001",)  # a custodian left (PCI DSS 3.7.5)
    line = result.summary()
    assert "events 120" in line and "ceremonies 1" in line and "keys 1" in line
    assert line.endswith(f"head {result.head_hash.hex().upper()}")
    with Ledger.open(sample.path, read_only=True) as ledger:
        assert result.head_hash == ledger.checkpoint().head_hash


def test_signature_from_the_wrong_key_is_named(sample, tmp_path) -> None:
    with _attacker_copy(sample.path, tmp_path / "x.sqlite3") as conn:
        row = conn.execute("SELECT seq, person_id FROM attestations WHERE seq > 20 LIMIT 1").fetchone()
        seq, person_id = row
        other = conn.execute("SELECT signature FROM attestations WHERE seq = 1").fetchone()[0]
        conn.execute(
            "UPDATE attestations SET signature = ? WHERE seq = ? AND person_id = ?", (other, seq, person_id)
        )
    with pytest.raises(
        LedgerIntegrityError,
        match=rf"(?i)Event #{seq}: ([a-z_.]+: )?the attestation of {person_id} does not verify",
    ) as info:
        verify_ledger(tmp_path / "x.sqlite3")
    assert info.value.seq == seq and info.value.exit_code == 4


def test_removed_attestation_is_named(sample, tmp_path) -> None:
    with _attacker_copy(sample.path, tmp_path / "x.sqlite3") as conn:
        seq = conn.execute("SELECT max(seq) FROM attestations WHERE seq < 50").fetchone()[0]
        conn.execute("DELETE FROM attestations WHERE seq = ?", (seq,))
    with pytest.raises(LedgerIntegrityError, match="lists signers") as info:
        verify_ledger(tmp_path / "x.sqlite3")
    assert info.value.seq == seq


def _append_by_hand(src, dst, event_type: str, payload: dict, actors: list, signers: list) -> int:
    """Someone bypasses the writer: a copy of ``src`` with one more event, correctly chained and signed by
    ``signers`` (their real keys). Returns its seq."""
    dst.write_bytes(src.read_bytes())
    conn = sqlite3.connect(dst, isolation_level=None)
    seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    conn.execute("BEGIN")
    write_row(conn, seq + 1, prev, "2026-03-02T09:00:00Z", event_type, payload, actors, signers)
    conn.execute("COMMIT")
    conn.close()
    return seq + 1


def test_custody_violation_written_by_hand_is_found(sample, tmp_path) -> None:
    """Someone bypasses the writer and appends a correctly chained event that breaks split knowledge, signed
    by the custodian and a witness as the rule asks: only the custody rule (PCI DSS 3.7.6) forbids it."""
    path = tmp_path / "x.sqlite3"
    carl, walt = sample.people[1], sample.people[3]
    payload = exposure(carl.person_id, "SPL0000001", 3, "shown")  # Carl already saw share 1 of a 2-of-3
    seq = _append_by_hand(sample.path, path, ev.SHARE_EXPOSED, payload, [carl.person_id], [carl, walt])
    with pytest.raises(LedgerIntegrityError, match=r"3\.7\.6") as info:
        verify_ledger(path)
    assert info.value.seq == seq
    assert "event #" in str(info.value)  # names the earlier event that forbids it


def test_events_of_unknown_people_or_keys_are_faults(sample, tmp_path) -> None:
    """What the writer refuses is a fault when found in the file: an event naming a key, split, ceremony or
    person that history does not hold, or signed by someone never enrolled, even correctly chained."""
    path = tmp_path / "l.sqlite3"
    admin, carl, witness, officer = (sample.people[i] for i in (0, 1, 3, 4))
    control = [admin, witness]
    ids = [p.person_id for p in control]
    stranger = person(77, "Sam Stranger")  # never enrolled

    def verified(split_id: str) -> dict[str, object]:
        return {
            "ceremony_id": "CER0000001",
            "person_id": carl.person_id,
            "split_id": split_id,
            "share_number": 1,
            "ok": True,
        }

    cases = [
        (ev.SPLIT_CREATED, split_payload("KEY0000009", "SPL0000009", 2, 3), ids, control, "never registered"),
        (
            ev.KEY_REGISTERED,
            key_payload("KEY0000002", ceremony_id="CER0000009"),
            ids,
            control,
            "never started",
        ),
        (
            "share.verified",
            verified("SPL0000009"),
            [carl.person_id],
            [carl, witness],
            "never created",
        ),
        (
            ev.SHARE_EXPOSED,
            exposure(stranger.person_id, "SPL0000001", 1),
            [witness.person_id],
            [witness, officer],
            "not an enrolled participant",
        ),
        (
            "auth.failed",
            {"person_id": admin.person_id, "attempt": 1, "role": "administrator"},
            [],
            [stranger],
            "not an enrolled participant",
        ),
    ]
    for event_type, payload, actors, signers, fault in cases:
        seq = _append_by_hand(sample.path, path, event_type, payload, actors, signers)
        with pytest.raises(LedgerIntegrityError, match=fault) as info:
            verify_ledger(path)
        assert info.value.seq == seq == sample.events + 1, event_type
    # The same kind of event, naming what exists, verifies: the faults above are the references.
    _append_by_hand(
        sample.path, path, "share.verified", verified("SPL0000001"), [carl.person_id], [carl, witness]
    )
    assert verify_ledger(path).events == sample.events + 1


def test_empty_ledger_without_genesis_is_a_fault(tmp_path) -> None:
    path = tmp_path / "empty.sqlite3"
    Ledger.open(path, create=True).close()
    with pytest.raises(LedgerIntegrityError, match="not even its genesis") as info:
        verify_ledger(path)
    assert info.value.seq == 1


def test_anchor_names_this_ledger_and_no_other(sample, tmp_path) -> None:
    with Ledger.open(sample.path, read_only=True) as ledger:
        mine = anchor(ledger)
        genesis = next(ledger.events())
    assert mine.genesis_hash == genesis.hash and mine.ledger_id == ledger.ledger_id
    for given in (mine, mine.text(), "\n".join(mine.grouped()).lower(), "\n".join(mine.grouped())):
        result = verify_ledger(sample.path, anchor=given)
        assert result.anchor_checked and result.anchor == mine
        assert "anchor matched" in result.summary()
    assert verify_ledger(sample.path).anchor_checked is False

    other = build_sample(tmp_path / "other.sqlite3", total_events=12)
    with Ledger.open(other.path, read_only=True) as ledger:
        theirs = anchor(ledger)
    assert theirs != mine
    for given in (theirs.text(), "\n".join(theirs.grouped())):
        with pytest.raises(LedgerIntegrityError, match="anchor differs") as info:
            verify_ledger(sample.path, anchor=given)
        assert info.value.seq == 1
    # Only the genesis hash differs (same ledger id and root, the chain rewritten from its start): caught.
    rewritten = Anchor(mine.ledger_id, bytes(32), mine.root_cert_sha256)
    with pytest.raises(LedgerIntegrityError, match="anchor differs") as info:
        verify_ledger(sample.path, anchor=rewritten.text())
    assert info.value.seq == 1


def test_removed_append_only_protection_is_a_fault(sample, tmp_path) -> None:
    path = tmp_path / "x.sqlite3"
    path.write_bytes(sample.path.read_bytes())
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerIntegrityError, match="events_no_delete") as info:
        verify_ledger(path)
    assert info.value.seq is None


def test_not_a_ledger_is_a_format_error(tmp_path) -> None:
    path = tmp_path / "notes.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerFormatError, match="not a ceremony ledger"):
        verify_ledger(path)


def test_verify_streams_in_flat_memory(tmp_path) -> None:
    """Python-heap peak while verifying 3000 events is about the same as for 300 (no per-event state).

    Every event carries two signatures, checked on verify's worker threads in a bounded number of batches.
    One untraced verify of the larger ledger comes first, so one-off costs (thread pool, first use of
    OpenSSL and SQLite objects) do not count as growth with the number of events."""

    def build(n: int) -> Path:
        path = tmp_path / f"l{n}.sqlite3"
        officer, admin, carl = person(1), person(2), person(3)
        with Ledger.open(path, create=True) as ledger:
            found(ledger, officer)  # also a witness
            enroll_signer(ledger, admin, "E-2", ("administrator",))
            enroll_signer(ledger, carl, "E-3")
            start_ceremony(ledger, admin, officer)
            control, ids = [admin, officer], [admin.person_id, officer.person_id]
            ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), ids, control)
            ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 3), ids, control)
            conn = ledger.connection
            conn.execute("BEGIN IMMEDIATE")
            seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            while seq < n:
                seq += 1
                payload = {
                    "ceremony_id": "CER0000001",
                    "person_id": carl.person_id,
                    "split_id": "SPL0000001",
                    "share_number": 1,
                    "ok": True,
                    "reason": f"round {seq} " + "x" * 200,
                }
                actors, signers = [carl.person_id], [carl, officer]
                prev = write_row(
                    conn, seq, prev, "2026-03-01T09:00:00Z", "share.verified", payload, actors, signers
                )
            conn.execute("COMMIT")
        return path

    def peak(path: Path, n: int) -> int:
        tracemalloc.start()
        result = verify_ledger(path)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert result.events == n and result.attestations == 1 + 2 + 3 + 2 * (n - 3)
        return top

    small_path, large_path = build(300), build(3000)
    verify_ledger(large_path)  # warm-up, untraced
    small, large = peak(small_path, 300), peak(large_path, 3000)
    assert large < small * 1.5 + 64 * 1024, (small, large)
