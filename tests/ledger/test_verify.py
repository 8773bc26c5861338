"""verify_ledger: intact ledgers pass with a summary; each kind of fault is named at its event."""

from __future__ import annotations

import contextlib
import sqlite3
import tracemalloc

import pytest
from ledger_support import build_sample, enroll_signer, exposure, key_payload, person, split_payload

from ceremony.errors import LedgerFormatError, LedgerIntegrityError
from ceremony.ledger import events as ev
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
    assert result.participants == 4 and result.active_participants == 3
    assert result.keys == 1 and result.splits == 1 and result.ceremonies == 1
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
    with pytest.raises(LedgerIntegrityError, match=f"Event #{seq}: The attestation of {person_id}") as info:
        verify_ledger(tmp_path / "x.sqlite3")
    assert info.value.seq == seq and info.value.exit_code == 4


def test_removed_attestation_is_named(sample, tmp_path) -> None:
    with _attacker_copy(sample.path, tmp_path / "x.sqlite3") as conn:
        seq = conn.execute("SELECT max(seq) FROM attestations WHERE seq < 50").fetchone()[0]
        conn.execute("DELETE FROM attestations WHERE seq = ?", (seq,))
    with pytest.raises(LedgerIntegrityError, match="lists signers") as info:
        verify_ledger(tmp_path / "x.sqlite3")
    assert info.value.seq == seq


def test_custody_violation_written_by_hand_is_found(sample, tmp_path) -> None:
    """Someone bypasses the writer and appends a correctly chained event that breaks split knowledge."""
    path = tmp_path / "x.sqlite3"
    path.write_bytes(sample.path.read_bytes())
    conn = sqlite3.connect(path, isolation_level=None)
    seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    carl = sample.people[1].person_id
    payload = ev.prepare_payload(ev.SHARE_EXPOSED, exposure(carl, "SPL0000001", 3, "shown"))
    time = "2026-03-02T09:00:00Z"
    body = ev.event_body(time, ev.SHARE_EXPOSED, [carl], [], payload)
    digest = ev.event_hash(seq + 1, prev, body)
    from ceremony.ledger.canonical import canonical_text

    conn.execute(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            seq + 1,
            time,
            ev.SHARE_EXPOSED,
            canonical_text([carl]),
            "[]",
            canonical_text(payload),
            prev,
            digest,
        ),
    )
    conn.close()
    with pytest.raises(LedgerIntegrityError, match=r"3\.7\.6") as info:
        verify_ledger(path)
    assert info.value.seq == seq + 1
    assert "event #" in str(info.value)  # names the earlier event that forbids it


def test_events_of_unknown_people_or_keys_are_faults(tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    admin, carl = person(1), person(2)
    with Ledger.open(path, create=True) as ledger:
        enroll_signer(ledger, admin, "E-1")
        enroll_signer(ledger, carl, "E-2")
        ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), [admin.person_id])
        ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 3), [admin.person_id])
        ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1), [admin.person_id])
    assert verify_ledger(path).events == 5


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
    """Python-heap peak while verifying 3000 events is about the same as for 300 (no per-event state)."""

    def peak(n: int) -> int:
        path = tmp_path / f"l{n}.sqlite3"
        with Ledger.open(path, create=True) as ledger:
            conn = ledger.connection
            conn.execute("BEGIN IMMEDIATE")
            prev = ev.GENESIS_PREVIOUS_HASH
            for seq in range(1, n + 1):
                time, payload = "2026-03-01T09:00:00Z", {"step": seq, "text": "x" * 200}
                body = ev.event_body(time, "ceremony.step", ["P000000001"], [], payload)
                digest = ev.event_hash(seq, prev, body)
                conn.execute(
                    "INSERT INTO events VALUES (?, ?, 'ceremony.step', '[\"P000000001\"]', '[]', ?, ?, ?)",
                    (
                        seq,
                        time,
                        body[body.index(b'"payload":') + 10 : body.index(b',"time"')].decode(),
                        prev,
                        digest,
                    ),
                )
                prev = digest
            conn.execute("COMMIT")
        tracemalloc.start()
        assert verify_ledger(path).events == n
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(300), peak(3000)
    assert large < small * 1.5 + 64 * 1024, (small, large)
