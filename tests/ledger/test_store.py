"""The ledger store: append-only file, event hash layout, attestations, rules checked before writing (every
event of a schema type, signed under its rule, after a signed genesis)."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from ledger_support import (
    TestSigner,
    enroll_signer,
    exposure,
    found,
    key_payload,
    person,
    split_payload,
    start_ceremony,
    stepping_clock,
)

from ceremony.errors import (
    CustodyRecordError,
    CustodyViolationError,
    EventFormError,
    EventReferenceError,
    InputError,
    LedgerNotFoundError,
    LedgerReadOnlyError,
    SignatureError,
    SigningRuleError,
    UnknownEventTypeError,
)
from ceremony.ledger import events as ev
from ceremony.ledger.state import UnknownParticipantError
from ceremony.ledger.store import APPLICATION_ID, FORMAT_VERSION, Attester, Ledger
from ceremony.ledger.verify import verify_ledger


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "ledger.sqlite3", create=True, clock=stepping_clock()) as opened:
        yield opened


def _auth_failed(who: TestSigner, attempt: int = 1, role: str = "custodian") -> dict[str, object]:
    """An auth.failed payload: the one event type a single enrolled person signs."""
    return {"person_id": who.person_id, "attempt": attempt, "role": role}


def _witnessed_by_one(ledger: Ledger, signer: TestSigner, attempt: int = 1) -> ev.Event:
    return ledger.append("auth.failed", _auth_failed(signer, attempt), [signer.person_id], [signer])


def test_new_ledger_is_marked_and_single_file(tmp_path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with Ledger.open(path, create=True) as ledger:
        assert ledger.size() == 0
        assert ledger.info.format_version == FORMAT_VERSION
        assert len(ledger.ledger_id) == 10
        assert ledger.info.rehearsal is False
        found(ledger, person(1))
        assert ledger.size() == 1
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


def _documented_hash(seq: int, previous: bytes, body: bytes) -> bytes:
    """The event hash as the module docstring of ceremony.ledger.events lays it out (computed here)."""
    tag = b"ceremony.ledger.event.v1"
    return hashlib.sha256(
        struct.pack(">I", len(tag))
        + tag
        + struct.pack(">Q", seq)
        + previous
        + struct.pack(">I", len(body))
        + body
    ).digest()


def test_event_hash_follows_the_documented_layout(ledger: Ledger) -> None:
    officer, admin = person(1, "Olga Officer"), person(2, "Ada Admin")
    found(ledger, officer, "E-1")  # the genesis's "created" and time take two ticks of the clock
    enroll_signer(ledger, admin, "E-2", ("administrator",))
    genesis, enrolment = list(ledger.events())
    first = ledger.append(
        ev.CEREMONY_STARTED,
        {"rehearsal": False, "purpose": "Jose\u0301 key", "kind": "generation", "ceremony_id": "CER0000001"},
        [admin.person_id, officer.person_id],  # actors keep their order; signers are sorted
        [admin, officer],
    )
    second = _witnessed_by_one(ledger, officer)
    assert (genesis.seq, first.seq, second.seq) == (1, 3, 4)
    assert first.time == "2026-03-01T09:00:21Z" and second.time == "2026-03-01T09:00:28Z"
    assert genesis.previous_hash == bytes(32)
    assert first.previous_hash == enrolment.hash and second.previous_hash == first.hash
    # Independent computation from the module docstring of ceremony.ledger.events.
    body = (
        '{"actors":["P000000002","P000000001"],"attested_by":["P000000001","P000000002"],'
        '"payload":{"ceremony_id":"CER0000001","kind":"generation","purpose":"Jos\u00e9 key",'
        '"rehearsal":false},"time":"2026-03-01T09:00:21Z","type":"ceremony.started"}'
    ).encode()
    assert first.hash == _documented_hash(3, enrolment.hash, body)
    assert first.payload == {
        "ceremony_id": "CER0000001",
        "kind": "generation",
        "purpose": "Jos\u00e9 key",
        "rehearsal": False,
    }
    # The genesis too: event #1 chains to 32 zero bytes; its body is its stored columns, in that order.
    conn = sqlite3.connect(ledger.path)
    time, etype, actors, attested, payload = conn.execute(
        "SELECT time, type, actors, attested_by, payload FROM events WHERE seq = 1"
    ).fetchone()
    conn.close()
    assert (time, etype, actors, attested) == (
        "2026-03-01T09:00:07Z",
        "ledger.genesis",
        '["P000000001"]',
        '["P000000001"]',
    )
    genesis_body = (
        f'{{"actors":{actors},"attested_by":{attested},"payload":{payload},"time":"{time}","type":"{etype}"}}'
    ).encode()
    assert genesis.hash == _documented_hash(1, bytes(32), genesis_body)


@pytest.mark.parametrize("field", ["time", "type", "actors"])
def test_time_type_and_actors_are_covered_by_the_hash(field: str) -> None:
    base = dict(time="2026-03-01T09:00:00Z", event_type="ceremony.closed", actors=["P000000001"])
    changed = dict(base)
    changed[{"time": "time", "type": "event_type", "actors": "actors"}[field]] = {
        "time": "2026-03-01T09:00:01Z",
        "type": "ceremony.voided",
        "actors": ["P000000002"],
    }[field]
    h1 = ev.event_hash(1, bytes(32), ev.event_body(base["time"], base["event_type"], base["actors"], [], {}))
    h2 = ev.event_hash(
        1, bytes(32), ev.event_body(changed["time"], changed["event_type"], changed["actors"], [], {})
    )
    assert h1 != h2


def test_update_and_delete_are_refused_by_triggers(ledger: Ledger) -> None:
    alice = person(1)
    found(ledger, alice, "E-1")
    _witnessed_by_one(ledger, alice)
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
        (
            ev.CEREMONY_STARTED,
            {
                "ceremony_id": "CER0000002",
                "kind": "generation",
                "purpose": "x",
                "rehearsal": False,
                "shares": 0.5,
            },
        ),
        (ev.KEY_REGISTERED, {"key_id": "K1"}),
        (ev.SHARE_EXPOSED, exposure("P000000001", "SPL0000001", 1, "whispered")),
        (ev.SPLIT_CREATED, {**split_payload("K1", "S1", 2, 3), "commitments": {"1": "00" * 32}}),
        (ev.SPLIT_CREATED, {**split_payload("K1", "S1", 3, 3), "scheme": "xor", "threshold": 2}),
    ],
)
def test_malformed_events_are_refused_and_nothing_is_written(ledger: Ledger, event_type, payload) -> None:
    officer, admin = person(1), person(2)
    found(ledger, officer)
    enroll_signer(ledger, admin, "E-2", ("administrator",))
    start_ceremony(ledger, admin, officer)
    size = ledger.size()
    with pytest.raises(InputError):
        ledger.append(event_type, payload, [admin.person_id], [admin, officer])
    assert ledger.size() == size


def test_unknown_types_extra_fields_and_unsigned_events_are_refused(ledger: Ledger) -> None:
    """Every event is of a type the schema defines, with exactly its fields, signed under its rule."""
    officer, admin = person(1), person(2)
    started = {"ceremony_id": "CER0000001", "kind": "generation", "purpose": "ZMK", "rehearsal": False}
    with pytest.raises(EventFormError, match=r"first event of a ledger is its ledger\.genesis"):
        ledger.append(ev.CEREMONY_STARTED, started, [])
    found(ledger, officer)
    enroll_signer(ledger, admin, "E-2", ("administrator",))
    pair = [admin, officer]
    ids = [p.person_id for p in pair]
    for event_type in ("ceremony.note", "ceremony.step", "ceremony.step_approved"):
        with pytest.raises(UnknownEventTypeError, match="not an event type"):
            ledger.append(event_type, started, ids, pair)
    with pytest.raises(EventFormError, match="has no field 'anything'"):
        ledger.append(ev.CEREMONY_STARTED, {**started, "anything": [1, "two"]}, ids, pair)
    with pytest.raises(EventFormError, match="needs field 'purpose'"):
        ledger.append(ev.CEREMONY_STARTED, {k: v for k, v in started.items() if k != "purpose"}, ids, pair)
    with pytest.raises(SigningRuleError, match="needs 2 different signers, has 0"):
        ledger.append(ev.CEREMONY_STARTED, started, ids)
    with pytest.raises(SigningRuleError, match="needs 2 different signers, has 1"):
        ledger.append(ev.CEREMONY_STARTED, started, [admin.person_id], [admin])
    with pytest.raises(SigningRuleError, match="did not sign"):  # an actor who did not sign
        ledger.append(ev.CEREMONY_STARTED, started, [*ids, "P000000003"], pair)
    with pytest.raises(EventFormError, match="one genesis"):
        ledger.append(ev.LEDGER_GENESIS, next(ledger.events()).payload, [officer.person_id], [officer])
    assert ledger.size() == 2
    ledger.append(ev.CEREMONY_STARTED, started, ids, pair)
    types = [e.type for e in ledger.events()]
    assert types == [ev.LEDGER_GENESIS, ev.PARTICIPANT_ENROLLED, ev.CEREMONY_STARTED]


def test_naive_clock_is_refused(tmp_path) -> None:
    with Ledger.open(tmp_path / "l.sqlite3", create=True, clock=lambda: dt.datetime(2026, 1, 1)) as ledger:
        with pytest.raises(InputError, match="timezone"):
            ledger.append(
                ev.CEREMONY_STARTED,
                {"ceremony_id": "CER0000001", "kind": "generation", "purpose": "ZMK", "rehearsal": False},
                [],
            )
        with pytest.raises(InputError, match="timezone"):
            found(ledger, person(1))
        assert ledger.size() == 0


def test_attestations_are_signatures_over_the_domain_separated_hash(ledger: Ledger) -> None:
    officer, alice = person(9), person(1)
    found(ledger, officer)
    enroll_signer(ledger, alice, "E-1")
    event = ledger.append("auth.failed", _auth_failed(officer, role="security_officer"), [], [alice])
    (att,) = event.attestations
    assert att.person_id == alice.person_id and event.attested_by == (alice.person_id,)
    tag = b"ceremony.ledger.attestation.v1"
    message = struct.pack(">I", len(tag)) + tag + event.hash
    alice.certificate.public_key().verify(att.signature, message, ec.ECDSA(hashes.SHA256()))
    stored = list(ledger.events())[-1]
    assert stored.attestations == event.attestations


def test_unknown_or_wrong_signer_is_refused_before_writing(ledger: Ledger) -> None:
    officer, alice, mallory = person(9), person(1), person(2)
    found(ledger, officer)
    enroll_signer(ledger, alice, "E-1")
    with pytest.raises(UnknownParticipantError, match="not an enrolled participant"):
        _witnessed_by_one(ledger, mallory)
    impostor = Attester(alice.person_id, mallory)  # Mallory's key claiming to be Alice
    with pytest.raises(SignatureError):
        ledger.append("auth.failed", _auth_failed(alice), [alice.person_id], [impostor])
    assert ledger.size() == 2
    ledger.append("auth.failed", _auth_failed(alice), [alice.person_id], [Attester(alice.person_id, alice)])
    assert ledger.size() == 3


def _crew(ledger: Ledger, *custodians: TestSigner) -> tuple[TestSigner, TestSigner, TestSigner]:
    """Found the ledger (officer, who is also a witness), enrol an administrator, a witness and
    ``custodians``, and start ceremony CER0000001 (administrator + witness). Returns (officer, admin,
    witness)."""
    officer, admin, walt = person(90, "Olga Officer"), person(91, "Ada Admin"), person(92, "Walt Witness")
    found(ledger, officer, "E-90")
    enroll_signer(ledger, admin, "E-91", ("administrator",))
    enroll_signer(ledger, walt, "E-92", ("witness",))
    for i, custodian in enumerate(custodians, start=1):
        enroll_signer(ledger, custodian, f"E-{i}", ("custodian",))
    start_ceremony(ledger, admin, walt)
    return officer, admin, walt


def test_deactivated_person_cannot_sign_or_receive_shares(ledger: Ledger) -> None:
    carl = person(2)
    officer, admin, walt = _crew(ledger, carl)
    control = [admin, walt]
    ids = [p.person_id for p in control]
    ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), ids, control)
    ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 3), ids, control)
    ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1), [carl.person_id], [carl, walt])
    left = ledger.append(
        ev.PARTICIPANT_DEACTIVATED,
        {"person_id": carl.person_id, "reason": "left"},
        [officer.person_id, walt.person_id],
        [officer, walt],
    )
    assert left.seq == 9
    with pytest.raises(UnknownParticipantError, match="deactivated"):
        _witnessed_by_one(ledger, carl)
    with pytest.raises(UnknownParticipantError, match="deactivated"):
        shown = exposure(carl.person_id, "SPL0000001", 1, "shown")
        ledger.append(ev.SHARE_EXPOSED, shown, [carl.person_id], [carl, walt])
    # ...but the envelope they hand back on leaving is still recorded (administrator and witness sign).
    ledger.append(ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1, "returned"), ids, control)
    assert ledger.custody().flagged_keys() == {"KEY0000001": left.seq}
    # Only new key material clears the flag: a key registered as its replacement, then the old one retired.
    retire = {
        "ceremony_id": "CER0000001",
        "key_id": "KEY0000001",
        "label": "old",
        "kcv_hex": "d77f007724",
        "reason": "replaced",
    }
    with pytest.raises(CustodyRecordError, match="not registered as the replacement"):
        ledger.append("key.retired", {**retire, "replaced_by_key_id": "KEY0000001"}, ids, control)
    ledger.append(
        ev.KEY_REGISTERED, {**key_payload("KEY0000002"), "replaces_key_id": "KEY0000001"}, ids, control
    )
    assert ledger.custody().flagged_keys() == {"KEY0000001": left.seq}
    retired = ledger.append(
        "key.retired",
        {**retire, "replaced_by_key_id": "KEY0000002"},
        ids,
        control,
    )
    assert verify_ledger(ledger.path).events == 12
    assert ledger.custody().flagged_keys() == {}
    assert ledger.custody().cleared() == {"KEY0000001": (retired.seq, "KEY0000002")}
    assert verify_ledger(ledger.path).flagged_keys == ()


def test_custody_rule_is_checked_before_an_exposure_is_written(ledger: Ledger) -> None:
    carl, cora = person(2), person(3)
    _, admin, walt = _crew(ledger, carl, cora)
    control = [admin, walt]
    ids = [p.person_id for p in control]

    def show(who: TestSigner, number: int, kind: str = "assigned") -> ev.Event:
        payload = exposure(who.person_id, "SPL0000001", number, kind)
        return ledger.append(ev.SHARE_EXPOSED, payload, [who.person_id], [who, walt])

    ledger.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), ids, control)
    with pytest.raises(EventReferenceError, match="key KEY0000009, which was never registered"):
        ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000009", "SPL0000009", 2, 3), ids, control)
    ledger.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 3), ids, control)
    first = show(carl, 1)
    show(carl, 1, "shown")
    size = ledger.size()
    with pytest.raises(CustodyViolationError) as refused:
        show(carl, 2)
    assert refused.value.forbidding_seq == first.seq
    assert f"#{first.seq}" in str(refused.value)
    assert ledger.size() == size
    # The refusal left the writer's state usable: a lawful exposure still goes in.
    show(cora, 2)
    coalition = ledger.custody().smallest_coalition("KEY0000001")
    assert coalition.size == 2 and set(coalition.members) == {carl.person_id, cora.person_id}


def test_second_writer_sees_first_writers_events(tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    officer, admin, carl = person(9), person(1), person(2)
    with Ledger.open(path, create=True) as one, Ledger.open(path) as two:
        found(one, officer)
        enroll_signer(one, admin, "E-1", ("administrator",))
        enroll_signer(one, carl, "E-2")
        start_ceremony(one, admin, officer)
        control = [admin, officer]
        ids = [p.person_id for p in control]
        one.append(ev.KEY_REGISTERED, key_payload("KEY0000001"), ids, control)
        one.append(ev.SPLIT_CREATED, split_payload("KEY0000001", "SPL0000001", 2, 2), ids, control)
        two.append(
            ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 1), [carl.person_id], [carl, officer]
        )  # catches up
        with pytest.raises(CustodyViolationError):
            one.append(
                ev.SHARE_EXPOSED, exposure(carl.person_id, "SPL0000001", 2), [carl.person_id], [carl, officer]
            )
    assert verify_ledger(path).events == 7


def test_read_only_open_refuses_writes_but_reads(tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    officer = person(1)
    with Ledger.open(path, create=True) as ledger:
        found(ledger, officer)
    with Ledger.open(path, read_only=True) as ro:
        assert ro.size() == 1
        with pytest.raises(LedgerReadOnlyError):
            _witnessed_by_one(ro, officer)
        assert [e.seq for e in ro.events()] == [1]


def test_rehearsal_flag_is_kept_in_meta(tmp_path) -> None:
    path = tmp_path / "rehearsal.sqlite3"
    Ledger.open(path, create=True, rehearsal=True).close()
    with Ledger.open(path, read_only=True) as ledger:
        assert ledger.info.rehearsal is True
    with Ledger.open(tmp_path / "real.sqlite3", create=True) as ledger:
        assert ledger.info.rehearsal is False
