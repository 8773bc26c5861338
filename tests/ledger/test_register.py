"""The register (ceremony.ledger.register): everything the ledger's records say, folded once, on real ledgers
written by the flows — and a ledger that verifies can never crash what reads it (DESIGN §5)."""

from __future__ import annotations

import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "flows"))

from flow_support import ORGANISATION, make_cast
from ledger_support import build_sample, key_payload
from lifecycle_support import People, generate

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.errors import EventFormError, LedgerError, LedgerIntegrityError
from ceremony.flows import audit, paperwork
from ceremony.flows.common import SplitPlan, read_register
from ceremony.flows.demo import build_demo
from ceremony.flows.departure import record_departure
from ceremony.flows.exceptions import ledger_exceptions, record_exception
from ceremony.flows.generation import GenerationCeremony, KeySpec
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.flows.unfinished import unfinished_ceremonies
from ceremony.ledger import participants
from ceremony.ledger import schema as sc
from ceremony.ledger.register import PreflightEvidence, Register, ledger_time, read
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.policy.cryptoperiod import cryptoperiods, keys_needing_attention
from ceremony.preflight.exceptions import ExceptionRecord
from ceremony.reports import KINDS, build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import render


@pytest.fixture
def cast(tmp_path):
    made = make_cast(tmp_path)
    yield made
    made.ledger.close()


@pytest.fixture
def people(cast) -> People:
    return People(cast)


# --- people and the genesis ---------------------------------------------------------------------------------
def test_people_have_their_roles_after_a_change_and_their_deactivation(cast, people):
    officer, witness = people("sophie", "security_officer"), people.witness
    participants.change_roles(
        cast.ledger, people.id("cust9"), ["custodian", "witness"], "second witness", [officer, witness]
    )
    departure = record_departure(cast.ledger, people.id("cust8"), "left the company", officer, witness)

    register = read(cast.ledger)
    assert register.person(people.id("cust9")).roles == ("custodian", "witness")
    assert register.person(people.id("cust9")).active
    gone = register.person(people.id("cust8"))
    assert not gone.active and gone.deactivated_seq == departure.seq
    assert gone.deactivation_reason == "left the company"
    assert gone.deactivated_time == cast.ledger.event(departure.seq).time
    sophie = register.person(people.id("sophie"))
    assert sophie.enrolled_seq == 1 and sophie.roles == ("security_officer", "witness")
    assert sophie.enrolled_time == cast.ledger.event(1).time
    # The people fold is the one participants.people_from uses: the same people, in enrolment order.
    assert list(register.people.values()) == participants.participants(cast.ledger)
    with pytest.raises(LedgerError, match="not an enrolled participant"):
        register.person("NOBODY")
    # The reports see the roles after the change, and the deactivation with its reason.
    facts = read_facts(cast.ledger)
    assert facts.people[people.id("cust9")].roles == ("custodian", "witness")
    assert facts.people[people.id("cust8")].deactivation_reason == "left the company"


def test_genesis_and_anchor(cast):
    register = read(cast.ledger)
    assert register.genesis is not None
    assert register.genesis.organisation == ORGANISATION and register.genesis.rehearsal is False
    assert register.genesis.person_id == cast.ids["sophie"]
    assert register.anchor == participants.anchor(cast.ledger)
    assert register.size == cast.ledger.size()


# --- keys, splits, holders, envelopes -----------------------------------------------------------------------
def test_keys_splits_holders_and_envelopes(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3", "cust4", "cust5"), 3, label="ZMK")
    register = read(cast.ledger)

    key = register.key(zmk.key_id)
    assert key.key_type is KeyType.AES_256 and key.label == "ZMK" and not key.test_key
    assert key.kcv.matches(zmk.kcv) and key.kcv_hex == zmk.kcv.value.hex()
    assert key.cryptoperiod_days == 365 and key.expires == key.registered_at + timedelta(days=365)
    assert key.splits == [zmk.split_id] and not key.retired
    registered = cast.ledger.event(key.registered_seq)
    assert registered.type == "key.registered" and registered.time == key.registered_time

    split = register.split(zmk.split_id)
    assert (split.scheme, split.threshold, split.count) == (Scheme.SHAMIR, 3, 5)
    assert sorted(split.commitments) == [1, 2, 3, 4, 5]
    assert all(len(c) == 32 for c in split.commitments.values())
    ids = {n: people.id(name) for n, name in zmk.holders.items()}
    assert split.custodians == ids
    assert split.envelopes == zmk.serials
    assert {n: who for n, (who, _seq) in split.holders.items()} == ids
    assert [(r.share_number, r.serial, r.method) for r in split.receipts] == [
        (n, zmk.serials[n], "card") for n in range(1, 6)
    ]
    assert split.share_kcvs == {}  # Shamir shares have no component KCVs
    assert register.split_of_serial(zmk.serials[4]) == (split, 4)
    assert register.split_of_serial("NO-SUCH-SERIAL") is None
    assert register.active_splits(zmk.key_id) == [split]
    assert read_register(cast.ledger.events()).keys.keys() == register.keys.keys()  # the flows' alias
    with pytest.raises(LedgerError, match="not registered"):
        register.key("NOKEY")


def test_xor_components_carry_their_kcvs(cast, people):
    key = generate(people, ("cust1", "cust2", "cust3"), 3, label="MAC", scheme=Scheme.XOR)
    split = read(cast.ledger).split(key.split_id)
    assert split.scheme is Scheme.XOR and split.label == f"split {key.split_id} (3 XOR components)"
    kcvs = split.share_kcvs
    assert sorted(kcvs) == [1, 2, 3]
    assert {k.method for k in kcvs.values()} == {key.kcv.method}
    assert {n: k.value.hex() for n, k in kcvs.items()} == split.share_kcv_hex


def test_retirement_and_returned_envelopes(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2, label="ZMK")
    retirement = RetirementCeremony.start(cast.ledger, people.admin, people.witness, "end of life")
    retirement.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    retirement.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD)
    returned = retirement.return_envelope(zmk.serials[2], "cust2 in person", True)
    retirement.close()

    register = read(cast.ledger)
    key, split = register.key(zmk.key_id), register.split(zmk.split_id)
    assert key.retired and key.retired_reason == "end of cryptoperiod"
    assert key.retired_time == cast.ledger.event(key.retired_seq or 0).time
    assert split.retired and split.retired_reason == "key retired (end of cryptoperiod)"
    assert register.active_splits(zmk.key_id) == []
    # An intact envelope handed back is destroyed on record (issue 15): nobody holds share 2 any more.
    assert register.destroyed_envelopes == {zmk.serials[2]: returned.seq}
    assert 2 not in split.holders and split.destroyed[2].seq == returned.seq
    assert register.ceremony(retirement.ceremony_id).splits_retired == [zmk.split_id]
    (period,) = cryptoperiods(cast.ledger.events())
    assert period.retired_at == ledger_time(key.retired_time or "")


# --- exceptions and documents -------------------------------------------------------------------------------
def test_exceptions_as_recorded(cast, people):
    officer, witness = people("sophie", "security_officer"), people.witness
    now = datetime.now(UTC).replace(microsecond=0)
    record = ExceptionRecord.new(
        check="net.listening",
        subject="tcp 127.0.0.1:*",
        justification="local print spooler",
        compensating_controls="loopback only",
        approved_by=officer.person_id,
        witness=witness.person_id,
        created=now - timedelta(days=1),
        expires=now + timedelta(days=29),
    )
    seq = record_exception(cast.ledger, record, officer, witness)

    (entry,) = read(cast.ledger).exceptions
    assert entry.seq == seq and isinstance(entry.record, sc.PreflightException)
    assert entry.record.id == record.exception_id and entry.record.check == "net.listening"
    assert set(entry.signers) == {officer.person_id, witness.person_id}
    assert ledger_exceptions(cast.ledger) == (record,)
    (listed,) = read_facts(cast.ledger).exceptions
    assert (listed.seq, listed.exception_id, listed.expires) == (seq, record.exception_id, record.expires)


def test_documents_by_sha256_and_acknowledgements(cast, people):
    zmk = generate(people, ("cust1", "cust2"), 2, label="ZMK")
    ceremony_id = read(cast.ledger).key(zmk.key_id).ceremony_id
    assert ceremony_id is not None
    minutes_sha = hashlib.sha256(b"minutes").hexdigest()
    minutes = paperwork.record_document_for(
        cast.ledger, ceremony_id, "minutes", minutes_sha, "minutes", "m.pdf", (people.admin, people.witness)
    )
    ack_sha = hashlib.sha256(b"ack").hexdigest()
    custodian = people("cust1")
    ack = paperwork.record_document_for(
        cast.ledger,
        ceremony_id,
        "acknowledgement",
        ack_sha,
        "share 1 of 2 - Cust1 (E0003)",
        "a.pdf",
        (custodian, people.witness),
        pdf_signers=[custodian.person_id],
    )
    # The same bytes recorded again: the first issue is the one a paper is matched to.
    paperwork.record_document_for(
        cast.ledger, ceremony_id, "minutes", minutes_sha, "again", "m2.pdf", (people.admin, people.witness)
    )

    register = read(cast.ledger)
    found = register.document(minutes_sha)
    assert found is not None and found.seq == minutes.event_seq and found.record.subject == "minutes"
    assert found.record.ceremony_id == ceremony_id and found.record.kind == "minutes"
    assert register.document(hashlib.sha256(b"other").hexdigest()) is None
    (affirmed,) = register.affirmations[custodian.person_id]
    assert (affirmed.seq, affirmed.kind, affirmed.document_sha256) == (
        ack.event_seq,
        "acknowledgement",
        ack_sha,
    )
    assert affirmed.ceremony_id == ceremony_id


# --- ceremonies ---------------------------------------------------------------------------------------------
def test_ceremonies_with_their_outcomes(cast, people):
    zmk = generate(people, ("cust1", "cust2"), 2, label="ZMK")
    voided = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "changed our minds")
    voided.void("wrong key type")
    open_ = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "interrupted")
    open_.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    spec = KeySpec(KeyType.AES_128, "BDK", "base derivation key", 365)
    open_.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, (people.id("cust3"), people.id("cust4"))))
    open_.generate()  # the power fails here: the key existed only in memory
    try:
        register = read(cast.ledger)
        closed = register.ceremony(register.key(zmk.key_id).ceremony_id or "")
        assert (closed.kind, closed.purpose, closed.outcome, closed.outcome_reason) == (
            "generation",
            "generate ZMK",
            "closed",
            "completed",
        )
        assert closed.control == (people.admin.person_id, people.witness.person_id)
        assert closed.ended_seq is not None and closed.splits_created == [zmk.split_id]
        assert isinstance(closed.started, sc.CeremonyStarted) and not closed.rehearsal

        void = register.ceremony(voided.ceremony_id)
        assert (void.outcome, void.outcome_reason, void.key_material) == ("voided", "wrong key type", False)

        (unfinished,) = register.unfinished()
        assert unfinished.ceremony_id == open_.ceremony_id and unfinished.key_material
        assert unfinished.last_type == "split.created" and unfinished.splits_created == [open_.split_id]
        assert unfinished.started_time == cast.ledger.event(unfinished.started_seq).time
        (item,) = unfinished_ceremonies(cast.ledger.events())
        assert (item.ceremony_id, item.kind, item.last_step, item.key_material, item.resumable) == (
            open_.ceremony_id,
            "generation",
            "split.created",
            True,
            False,
        )
        assert list(register.ceremonies) == [closed.ceremony_id, voided.ceremony_id, open_.ceremony_id]
        with pytest.raises(LedgerError, match="never started"):
            register.ceremony("NOCEREMONY")
    finally:
        open_.void("test over")


def test_preflight_evidence_is_read_once_from_the_record(cast, people):
    ceremony = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "preflight")
    summary = {
        "report": {
            "counts": {"pass": 7, "insecure": 1},
            "findings": [
                {
                    "verdict": "insecure",
                    "check": "net.listening",
                    "subject": "tcp 0.0.0.0:22",
                    "summary": "ssh",
                },
                {"verdict": "pass", "check": "radio.rfkill", "subject": "", "summary": "off"},
            ],
        },
        "coverage": {"exceptions_relied_on": [{"id": "EX1", "check": "net.listening", "subject": "*"}]},
    }
    ceremony.record_preflight(summary, uncovered=[])
    ceremony.void("done")
    record = next(e.record for e in cast.ledger.events() if isinstance(e.record, sc.PreflightRun))
    evidence = PreflightEvidence.of(record)
    assert not evidence.blocked and evidence.uncovered == () and not evidence.record_only
    assert evidence.counts == (("insecure", "1"), ("pass", "7"))
    assert [(f.verdict, f.check) for f in evidence.findings] == [
        ("insecure", "net.listening"),
        ("pass", "radio.rfkill"),
    ]
    (relied,) = evidence.relied_on
    assert (relied.exception_id, relied.check, relied.subject, relied.justification) == (
        "EX1",
        "net.listening",
        "*",
        "",
    )


# --- a ledger that verifies can never crash what reads it ---------------------------------------------------
def _read_everything(path: Path, now: datetime) -> Register:
    """Every reader of a ledger: the register, each report in each format, unfinished ceremonies, the
    cryptoperiod warnings (each must finish without an exception)."""
    with Ledger.open_for_reading(path) as ledger:
        register = read(ledger)
        facts = read_facts(ledger)
        for kind in KINDS:
            report = build_report(kind, facts, Filters(), now)
            for fmt in ("text", "json", "csv", "pdf"):
                assert render(report, fmt)
        until = read_facts(ledger, now - timedelta(days=30))
        assert until.size <= facts.size
        unfinished_ceremonies(ledger.events())
        keys_needing_attention(ledger.events(), now)
    return register


def test_the_demo_ledger_is_read_by_every_reader(tmp_path):
    path = tmp_path / "demo.sqlite3"
    summary = build_demo(path)
    verify_ledger(path)
    now = datetime.now(UTC)
    register = _read_everything(path, now)
    assert register.size == summary.events
    assert set(summary.keys.values()) <= set(register.keys)
    assert register.genesis is not None and register.genesis.rehearsal
    with Ledger.open_for_reading(path) as ledger:
        for ceremony_id, ceremony in register.ceremonies.items():
            if ceremony.finished:
                assert paperwork.minutes_data_for(ledger, ceremony_id).ceremony_id == ceremony_id
        (anchor_page,) = (tmp_path / "ceremony-documents").glob("ledger-anchor-*.pdf")
        check = audit.check_document(ledger, anchor_page)
        assert check.ok and check.kind == "anchor"
        issued = register.document(check.sha256)
        assert issued is not None and check.event_seq == issued.seq
        altered = tmp_path / "altered.pdf"
        altered.write_bytes(anchor_page.read_bytes() + b"\n% one more line\n")
        assert audit.check_document(ledger, altered).event_seq is None


def test_a_kcv_method_this_program_cannot_compute_never_reaches_a_reader(tmp_path):
    """The schema names the KCV methods (X9.24 / PCI PIN) it can recompute: a key recorded with another
    spelling is refused by the writer, and written past it, verify names the field — so no reader ever
    holds a KCV it cannot check a rebuilt key against."""
    sample = build_sample(tmp_path / "sample.sqlite3", total_events=40)
    register = _read_everything(sample.path, datetime(2026, 6, 1, tzinfo=UTC))
    key = register.key("KEY0000001")
    assert key.kcv_method == "AES-CMAC-X9.24" and key.kcv.hex.lower() == "d77f007724"
    from forge import raw_append

    admin, *_, witness, _officer = sample.people
    payload = {**key_payload("KEY0000002"), "kcv_method": "aes-cmac-x9.24"}
    with Ledger.open(sample.path) as ledger, pytest.raises(EventFormError, match="kcv_method"):
        ledger.append("key.registered", payload, [admin.person_id], [admin, witness])
    seq = raw_append(
        sample.path,
        "key.registered",
        payload,
        [admin.person_id],
        [(admin.person_id, admin.sign), (witness.person_id, witness.sign)],
    )
    with pytest.raises(LedgerIntegrityError, match=f"Event #{seq}: key.registered: field 'kcv_method'"):
        verify_ledger(sample.path)
