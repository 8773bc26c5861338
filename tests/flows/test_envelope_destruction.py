"""Envelope return and destruction (issue 15, item 5): retiring a split or a key, and recording a departure,
ask about each affected envelope — destroyed under dual control (serial read and checked), returned with a
broken seal (incident) or not returned (incident, still held) — on a real ledger that verifies; the custody
engine and report count every share not destroyed; the destruction certificate is a real PDF signed by the
two witnesses and recorded as ``document.issued`` kind ``destruction``."""

from __future__ import annotations

import io
import subprocess

import pytest
from cryptography import x509
from lifecycle_support import People, generate, start_retirement
from pypdf import PdfReader

from ceremony.documents.sign import sha256_of, validate_document
from ceremony.errors import DualControlError, FlowError, InputError, SigningRuleError
from ceremony.flows.departure import account_envelope, record_departure
from ceremony.flows.envelopes import Outcome
from ceremony.flows.paperwork import issue_destruction_certificate
from ceremony.flows.retirement import RetirementReason
from ceremony.ledger.participants import genesis
from ceremony.ledger.register import read
from ceremony.ledger.verify import verify_ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import render


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def _types(ledger) -> list[str]:
    return [e.type for e in ledger.events()]


def _custody(ledger):
    facts = read_facts(ledger)
    from datetime import UTC, datetime

    return build_report("custody", facts, Filters(), datetime.now(UTC))


def test_retiring_a_key_asks_about_each_envelope_and_records_three_outcomes(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    ceremony = start_retirement(people, "ZMK end of life")
    ceremony.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD)
    asked = ceremony.envelopes_to_account()
    assert [(e.share_number, e.serial, e.holder) for e in asked] == [
        (n, zmk.serials[n], people.id(zmk.holder_of(n))) for n in (1, 2, 3)
    ]
    first, second, third = asked
    # The serial read must be the one recorded at sealing: another envelope's serial is refused.
    with pytest.raises(InputError, match="do not destroy it"):
        ceremony.account_envelope(first, Outcome.DESTROYED, serial_read=zmk.serials[3], returned_by="Cust1")
    destroyed = ceremony.account_envelope(
        first, Outcome.DESTROYED, serial_read=zmk.serials[1].lower(), returned_by="Cust1 in person"
    )
    broken = ceremony.account_envelope(second, Outcome.SEAL_BROKEN, returned_by="Cust2", note="tape lifted")
    missing = ceremony.account_envelope(third, Outcome.NOT_RETURNED, note="custodian on leave")
    with pytest.raises(InputError, match="already returned or accounted for"):
        ceremony.account_envelope(first, Outcome.DESTROYED, serial_read=zmk.serials[1], returned_by="x")
    assert ceremony.envelopes_to_account() == []
    ceremony.close()

    events = {e.seq: e for e in cast.ledger.events()}
    gone = events[destroyed.seq]
    assert gone.type == "envelope.destroyed"
    assert gone.payload["serial_read"] == gone.payload["envelope_serial"] == zmk.serials[1]
    assert (gone.payload["destroyed_by"], gone.payload["witnessed_by"]) == (
        people.admin.person_id,
        people.witness.person_id,
    )
    assert set(gone.attested_by) == {people.admin.person_id, people.witness.person_id}
    assert (
        events[broken.seq].type == "envelope.returned" and events[broken.seq].payload["seal_intact"] is False
    )
    assert events[missing.seq].type == "envelope.not_returned"
    assert events[broken.incident_seq].type == events[missing.incident_seq].type == "incident.recorded"
    verify_ledger(cast.ledger.path)

    register = read(cast.ledger)
    split = register.split(zmk.split_id)
    # Destroyed and returned envelopes are held by nobody; the one not returned stays with its custodian.
    assert split.holders.keys() == {3}
    custody = cast.ledger.custody()
    assert custody.destroyed(zmk.split_id) == {1: destroyed.seq}
    # 2-of-3, share 1 destroyed: shares 2 and 3 still count (retired split, broken seal, not returned).
    coalition = custody.smallest_coalition(zmk.key_id)
    assert coalition.size == 2 and set(coalition.members) == {people.id("cust2"), people.id("cust3")}


def test_a_retired_split_still_counts_until_its_envelopes_are_destroyed(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    ceremony = start_retirement(people, "destroy the old envelopes")
    ceremony.retire_split(zmk.split_id, RetirementReason.COMPROMISE_SUSPECTED, "one envelope found opened")
    # Retired but not destroyed: its holders can still rebuild the key.
    assert cast.ledger.custody().smallest_coalition(zmk.key_id).size == 2
    first, second, third = ceremony.envelopes_to_account()
    ceremony.account_envelope(first, Outcome.DESTROYED, serial_read=first.serial, returned_by="Cust1")
    assert cast.ledger.custody().smallest_coalition(zmk.key_id).size == 2  # shares 2 and 3 still count
    ceremony.account_envelope(second, Outcome.SEAL_BROKEN, returned_by="Cust2")
    assert cast.ledger.custody().smallest_coalition(zmk.key_id).size == 2  # a broken seal still counts
    ceremony.account_envelope(third, Outcome.DESTROYED, serial_read=third.serial, returned_by="Cust3")
    ceremony.close()
    # Only share 2 counts now: fewer than the threshold, nobody can rebuild the key from this split.
    coalition = cast.ledger.custody().smallest_coalition(zmk.key_id)
    assert coalition.size is None and coalition.members == ()
    verify_ledger(cast.ledger.path)


def test_destruction_needs_two_people_in_their_roles(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    ceremony = start_retirement(people, "retire")
    ceremony.retire_key(zmk.key_id, RetirementReason.COMPROMISE_SUSPECTED)
    envelope = ceremony.envelopes_to_account()[0]
    payload = {
        "ceremony_id": ceremony.ceremony_id,
        "key_id": zmk.key_id,
        "split_id": zmk.split_id,
        "share_number": 1,
        "envelope_serial": envelope.serial,
        "serial_read": envelope.serial,
        "recorded_holder": envelope.holder,
        "returned_by": "Cust1",
        "destroyed_by": people.admin.person_id,
        "witnessed_by": people.witness.person_id,
        "method": "shredded",
    }
    admin, witness = people.admin, people.witness
    # One signer alone: refused.
    with pytest.raises(SigningRuleError):
        cast.ledger.append("envelope.destroyed", payload, [admin.person_id], [admin])
    # The custodian as the "witness": the witness slot needs a witness, named in witnessed_by.
    cust2 = people("cust2")
    with pytest.raises(SigningRuleError):
        cast.ledger.append(
            "envelope.destroyed",
            {**payload, "witnessed_by": cust2.person_id},
            [admin.person_id, cust2.person_id],
            [admin, cust2],
        )
    # A serial read that is not the recorded one is refused by the schema itself.
    with pytest.raises(Exception, match="only the envelope recorded at sealing"):
        cast.ledger.append(
            "envelope.destroyed",
            {**payload, "serial_read": "ENV-OTHER"},
            [admin.person_id, witness.person_id],
            [admin, witness],
        )
    # The flow refuses a witness who holds the envelope, and the same person twice.
    with pytest.raises(DualControlError):
        from ceremony.flows.envelopes import record_outcome

        record_outcome(
            lambda *a: None, read(cast.ledger), envelope, Outcome.DESTROYED, admin, admin, serial_read="x"
        )
    cast.ledger.append("envelope.destroyed", payload, [admin.person_id, witness.person_id], [admin, witness])
    verify_ledger(cast.ledger.path)


def test_an_active_split_is_never_destroyed_below_its_threshold(cast, people):
    zmk = generate(people, ("cust1", "cust2"), 2)
    officer = people("sophie", "security_officer")
    record_departure(cast.ledger, people.id("cust1"), "left the company", officer, people.witness)
    departure_envelopes = read(cast.ledger)
    from ceremony.flows.envelopes import held_by

    (envelope,) = held_by(departure_envelopes, people.id("cust1"))
    with pytest.raises(FlowError, match="fewer than its threshold"):
        account_envelope(
            cast.ledger,
            envelope,
            Outcome.DESTROYED,
            officer,
            people.witness,
            serial_read=envelope.serial,
            returned_by="Cust1",
        )
    assert zmk.split_id in read(cast.ledger).splits


def test_departure_asks_about_each_envelope_and_issues_a_signed_certificate(cast, people, tmp_path):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2, label="ZMK")
    pvk = generate(people, ("cust1", "cust4", "cust5"), 2, label="PVK")
    officer, witness = people("sophie", "security_officer"), people.witness
    departure = record_departure(cast.ledger, people.id("cust1"), "left the company", officer, witness)
    assert [(e.key_label, e.serial) for e in departure.envelopes] == [
        ("ZMK", zmk.serials[1]),
        ("PVK", pvk.serials[1]),
    ]
    zmk_env, pvk_env = departure.envelopes
    done = account_envelope(
        cast.ledger,
        zmk_env,
        Outcome.DESTROYED,
        officer,
        witness,
        serial_read=zmk_env.serial,
        returned_by="Cust1 (E0003), last day",
    )
    kept = account_envelope(
        cast.ledger, pvk_env, Outcome.NOT_RETURNED, officer, witness, note="did not bring it"
    )
    assert kept.incident_seq is None  # no ceremony: the envelope record is the incident record
    register = read(cast.ledger)
    assert register.split(zmk.split_id).holders.get(1) is None
    assert register.split(pvk.split_id).holders[1][0] == people.id("cust1")  # still held by who left

    document, path = issue_destruction_certificate(
        cast.ledger,
        [done, kept],
        officer,
        witness,
        occasion="Departure of Cust1 (E0003)",
        folder=tmp_path / "papers",
    )
    pdf = path.read_bytes()
    assert sha256_of(pdf) == document.record.sha256
    issued = [e for e in cast.ledger.events() if e.type == "document.issued"][-1]
    assert issued.payload["kind"] == "destruction"
    assert issued.payload["signed_by"] == [officer.person_id, witness.person_id]
    assert "ceremony_id" not in issued.payload
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert zmk.serials[1] in text and "PRODUCTION" in text
    assert "Sophie" in text and "Walter" in text
    assert pvk.serials[1] in text and "not returned" in text
    root = x509.load_pem_x509_certificate(genesis(cast.ledger).root_certificate_pem.encode())
    statuses = validate_document(pdf, [root])
    assert [s.field_name for s in statuses] == ["DestroyedBy", "Witness"]
    assert all(s.ok for s in statuses)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature Validation: Signature is Valid") == 2
    verify_ledger(cast.ledger.path)

    # The custody report: destroyed vs still held, per share.
    report = _custody(cast.ledger)
    shares = {(r["split_id"], s["share_number"]): s for r in report.records for s in r["share_records"]}
    assert shares[(zmk.split_id, 1)]["envelope_status"] == "destroyed"
    assert shares[(zmk.split_id, 1)]["held_by"] is None and shares[(zmk.split_id, 1)]["counted"] is False
    assert shares[(pvk.split_id, 1)]["envelope_status"] == "not returned"
    assert shares[(pvk.split_id, 1)]["held_by"] == people.id("cust1")
    assert shares[(pvk.split_id, 2)]["envelope_status"] == "held"
    words = render(report, "text").decode()
    assert "DESTROYED" in words and "NOT RETURNED" in words and "Shares counted" in words


def test_retirement_certificate_on_a_rehearsal_ledger_is_marked(tmp_path):
    from flow_support import make_cast

    cast = make_cast(tmp_path, rehearsal=True)
    people = People(cast)
    try:
        zmk = generate(people, ("cust1", "cust2", "cust3"), 2, rehearsal=True)
        ceremony = start_retirement(people, "retire TEST key", rehearsal=True, location="Vault 2")
        ceremony.retire_key(zmk.key_id, RetirementReason.REPLACED)
        for envelope in ceremony.envelopes_to_account():
            ceremony.account_envelope(
                envelope, Outcome.DESTROYED, serial_read=envelope.serial, returned_by=envelope.holder_name
            )
        _document, path = issue_destruction_certificate(
            cast.ledger,
            ceremony.outcomes,
            people.admin,
            people.witness,
            occasion=f"Retirement ceremony {ceremony.ceremony_id}",
            ceremony_id=ceremony.ceremony_id,
            location=ceremony.location,
        )
        ceremony.close()
        assert path.parent.name == ceremony.ceremony_id
        text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
        assert "REHEARSAL" in text and "Vault 2" in text
        assert all(zmk.serials[n] in text for n in (1, 2, 3))
        assert cast.ledger.custody().smallest_coalition(zmk.key_id).size is None
        verify_ledger(cast.ledger.path)
    finally:
        cast.ledger.close()
