"""The ledger store: append-only file, event hash layout, attestations, rules checked before writing."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from ledger_support import (
    enroll_signer,
    exposure,
    key_payload,
    person,
    split_payload,
    stepping_clock,
)

from ceremony.errors import (
    CustodyViolationError,
    InputError,
    LedgerError,
    LedgerNotFoundError,
    LedgerReadOnlyError,
    SignatureError,
)
from ceremony.ledger import events as ev
from ceremony.ledger.state import UnknownParticipantError
from ceremony.ledger.store import APPLICATION_ID, FORMAT_VERSION, Attester, Ledger
from ceremony.ledger.verify import verify_ledger


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ledger.sqlite3", create=True, clock=stepping_clock()) as opened:
        yield opened


def test_new_ledger_is_marked_and_single_file(tmp_path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path, create=True) as ledger:
        assert ledger.size() == 0
        assert ledger.info.format_version == FORMAT_VERSION
        assert len(ledger.ledger_id) == 10
        assert ledger.info.rehearsal is False
        ledger.append("ceremony.note", {"text": "hello"}, ["P000000001"])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.sqlite3"]


def test_missing_ledger_is_not_created(tmp_path) -> None:
    with pytest.raises(LedgerNotFoundError):
        Ledger.open(tmp_path / "nope.sqlite3")
    assert not (tmp_path / "nope.sqlite3").exists()


def test_event_hash_follows_the_documented_layout(ledger: Ledger) -> None:
    first = ledger.append("ceremony.note", {"b": "Jose\u0301", "a": 1}, ["P000000002", "P000000001"])
    second = ledger.append("ceremony.note", {"n": 2}, ["P000000001"])
    assert first.seq == 1 and second.seq == 2
    assert first.time == "2026-03-01T09:00:00Z" and second.time == "2026-03-01T09:00:07Z"
    assert first.previous_hash == bytes(32)
    assert second.previous_hash == first.hash
    # Independent computation from the module docstring of ceremony.ledger.events.
    body = (
        '{"actors":["P000000002","P000000001"],"attested_by":[],"payload":{"a":1,"b":"Jos\u00e9"},'
        '"time":"2026-03-01T09:00:00Z","type":"ceremony.note"}'
    ).encode()
    tag = b"ceremony.ledger.event.v1"
    expected = hashlib.sha256(
        struct.pack(">I", len(tag))
        + tag
        + struct.pack(">Q", 1)
        + bytes(32)
        + struct.pack(">I", len(body))
        + body
    ).digest()
    assert first.hash == expected
    assert first.payload == {"a": 1, "b": "Jos\u00e9"}


@pytest.mark.parametrize("field", ["time", "type", "actors"])
def test_time_type_and_actors_are_covered_by_the_hash(field: str) -> None:
    base = dict(time="2026-03-01T09:00:00Z", event_type="ceremony.note", actors=["P000000001"])
    changed = dict(base)
    changed[{"time": "time", "type": "event_type", "actors": "actors"}[field]] = {
        "time": "2026-03-01T09:00:01Z",
        "type": "ceremony.other",
        "actors": ["P000000002"],
    }[field]
    h1 = ev.event_hash(1, bytes(32), ev.event_body(base["time"], base["event_type"], base["actors"], [], {}))
    h2 = ev.event_hash(
        1, bytes(32), ev.event_body(changed["time"], changed["event_type"], changed["actors"], [], {})
    )
    assert h1 != h2


def test_update_and_delete_are_refused_by_triggers(ledger: Ledger) -> None:
    alice = person(1)
    enroll_signer(ledger, alice, "E-1")
    ledger.append("ceremony.note", {"text": "x"}, [alice.person_id], [alice])
    conn = sqlite3.connect(ledger.path)
    for sql in (
        "UPDATE events SET payload = '{}'",
        "DELETE FROM events",
        "UPDATE meta SET value = 'X' WHERE key = 'ledger_id'",
        "DELETE FROM meta",
        "DELETE FROM attestations",
        "UPDATE attestations SET signature = x'00'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    conn.close()
    assert verify_ledger(ledger.path).events == 2


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("Ceremony.Started", {}),
        ("nodots", {}),
        ("ceremony.note", {"ratio": 0.5}),
        (ev.KEY_REGISTERED, {"key_id": "K1"}),
        (ev.SHARE_EXPOSED, exposure("P000000001", "S1", 1, "whispered")),
        (ev.SPLIT_CREATED, {**split_payload("K1", "S1", 2, 3), "commitments": {"1": "00" * 32}}),
        (ev.SPLIT_CREATED, {**split_payload("K1", "S1", 3, 3), "scheme": "xor", "threshold": 2}),
    ],
)
def test_malformed_events_are_refused_and_nothing_is_written(ledger: Ledger, event_type, payload) -> None:
    with pytest.raises(InputError):
        ledger.append(event_type, payload, ["P000000001"])
    assert ledger.size() == 0


def test_generic_event_types_need_no_schema_change(ledger: Ledger) -> None:
    for event_type in ("ceremony.started", "preflight.run", "document.issued", "ceremony.step_approved"):
        ledger.append(event_type, {"anything": [1, "two", {"three": None}]}, ["P000000001"])
    assert [e.type for e in ledger.events()][-1] == "ceremony.step_approved"


def test_naive_clock_is_refused(tmp_path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True, clock=lambda: dt.datetime(2026, 1, 1)) as ledger:
        with pytest.raises(InputError, match="timezone"):
            ledger.append("ceremony.note", {}, ["P000000001"])


def test_attestations_are_signatures_over_the_domain_separated_hash(ledger: Ledger) -> None:
    alice = person(1)
    enroll_signer(ledger, alice, "E-1")
    event = ledger.append("ceremony.note", {"x": 1}, [alice.person_id], [alice])
    (att,) = event.attestations
    assert att.person_id == alice.person_id and event.attested_by == (alice.person_id,)
    tag = b"ceremony.ledger.attestation.v1"
    message = struct.pack(">I", len(tag)) + tag + event.hash
    alice.certificate.public_key().verify(att.signature, message, ec.ECDSA(hashes.SHA256()))
    stored = list(ledger.events())[-1]
    assert stored.attestations == event.attestations


def test_unknown_or_wrong_signer_is_refused_before_writing(ledger: Ledger) -> None:
    alice, mallory = person(1), person(2)
    enroll_signer(ledger, alice, "E-1")
    with pytest.raises(UnknownParticipantError, match="not an enrolled participant"):
        ledger.append("ceremony.note", {}, [mallory.person_id], [mallory])
    impostor = Attester(alice.person_id, mallory)  # Mallory's key claiming to be Alice
    with pytest.raises(SignatureError):
        ledger.append("ceremony.note", {}, [alice.person_id], [impostor])
    assert ledger.size() == 1
    ledger.append("ceremony.note", {}, [alice.person_id], [Attester(alice.person_id, alice)])
    assert ledger.size() == 2


def test_deactivated_person_cannot_sign_or_receive_shares(ledger: Ledger) -> None:
    admin, carl = person(1), person(2)
    enroll_signer(ledger, admin, "E-1", ("administrator",))
    enroll_signer(ledger, carl, "E-2")
    ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), [admin.person_id])
    ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 3), [admin.person_id])
    ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1), [admin.person_id])
    ledger.append(
        ev.PARTICIPANT_DEACTIVATED, {"person_id": carl.person_id, "reason": "left"}, [admin.person_id]
    )
    with pytest.raises(UnknownParticipantError, match="deactivated"):
        ledger.append("ceremony.note", {}, [carl.person_id], [carl])
    with pytest.raises(UnknownParticipantError, match="deactivated"):
        ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1, "shown"), [admin.person_id])
    # ...but the envelope they hand back on leaving is still recorded.
    ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1, "returned"), [admin.person_id])
    assert ledger.custody().flagged_keys() == {"KEY0000001": 6}
    ledger.append(ev.KEY_REPLACEMENT_CLEARED, {"key_id": "KEY0000001"}, [admin.person_id])
    assert verify_ledger(ledger.path).events == 8
    assert ledger.custody().flagged_keys() == {}
    assert verify_ledger(ledger.path).flagged_keys == ()


def test_custody_rule_is_checked_before_an_exposure_is_written(ledger: Ledger) -> None:
    admin, carl, cora = person(1), person(2), person(3)
    for i, p in enumerate((admin, carl, cora)):
        enroll_signer(ledger, p, f"E-{i}")
    ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), [admin.person_id])
    with pytest.raises(LedgerError, match="never registered"):
        ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000009", "SPL0000009", 2, 3), [admin.person_id])
    ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 3), [admin.person_id])
    first = ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1), [admin.person_id])
    ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1, "shown"), [admin.person_id])
    size = ledger.size()
    with pytest.raises(CustodyViolationError) as refused:
        ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 2), [admin.person_id])
    assert refused.value.forbidding_seq == first.seq
    assert f"#{first.seq}" in str(refused.value)
    assert ledger.size() == size
    # The refusal left the writer's state usable: a lawful exposure still goes in.
    ledger.append(ev.SHARE_EXPOSED, exposure(cora.person_id, "SPL0000001", 2), [admin.person_id])
    coalition = ledger.custody().smallest_coalition("KEY0000001")
    assert coalition.size == 2 and set(coalition.members) == {carl.person_id, cora.person_id}


def test_second_writer_sees_first_writers_events(tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    admin, carl = person(1), person(2)
    with Ledger.open(path, create=True) as one, Ledger.open(path) as two:
        enroll_signer(one, admin, "E-1")
        enroll_signer(one, carl, "E-2")
        one.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), [admin.person_id])
        one.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 2), [admin.person_id])
        two.append(
            ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1), [admin.person_id]
        )  # catches up
        with pytest.raises(CustodyViolationError):
            one.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 2), [admin.person_id])
    assert verify_ledger(path).events == 5


def test_read_only_open_refuses_writes_but_reads(tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    with Ledger.open(path, create=True) as ledger:
        ledger.append("ceremony.note", {}, ["P000000001"])
    with Ledger.open(path, read_only=True) as ro:
        assert ro.size() == 1
        with pytest.raises(LedgerReadOnlyError):
            ro.append("ceremony.note", {}, ["P000000001"])
        assert [e.seq for e in ro.events()] == [1]


def test_rehearsal_flag_is_kept_in_meta(tmp_path) -> None:
    path = tmp_path / "rehearsal.sqlite3"
    Ledger.open(path, create=True, rehearsal=True).close()
    with Ledger.open(path, read_only=True) as ledger:
        assert ledger.info.rehearsal is True
    with Ledger.open(tmp_path / "real.sqlite3", create=True) as ledger:
        assert ledger.info.rehearsal is False
