"""The ceremony's papers built from the ledger (ceremony.flows.paperwork), on a real ledger with real
signatures: what each form says must be what the ledger recorded."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.documents.sign import validate_document
from ceremony.errors import FlowError, RehearsalMixError
from ceremony.flows import paperwork
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.ledger import participants as people
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.preflight import ExceptionRecord, Finding, PreflightReport, Verdict, covering, evidence_payload

SPEC = KeySpec(KeyType.AES_256, "ZMK-PAPER", "PIN zone master key", 365)
CUSTODIANS = ("cust1", "cust2", "cust3")


def _preflight_with_exception(cast, now: datetime) -> tuple[dict, list[str]]:
    """A preflight report with one insecure finding covered by a security officer's exception."""
    finding = Finding(
        "net.interfaces", "Network interfaces", Verdict.INSECURE, "eth0 is up", subject="interface eth0"
    )
    report = PreflightReport(now, "laptop", "Linux", "", (finding,))
    record = ExceptionRecord.new(
        check="net.interfaces",
        subject="interface eth0",
        justification="the ceremony room's only laptop has a fixed NIC",
        compensating_controls="cable removed and port taped; witness checked",
        approved_by=cast.ids["sophie"],
        witness=cast.ids["walter"],
        created=now - timedelta(hours=1),
        expires=now + timedelta(days=1),
    )
    coverage = covering(report.findings, (record,), now)
    assert not coverage.blocked
    return evidence_payload(report, coverage), []


def _ceremony(cast, scheme=Scheme.SHAMIR, m=2):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "paperwork test")
    ceremony.record_preflight(*_preflight_with_exception(cast, datetime.now(UTC)))
    ceremony.plan_key(SPEC, SplitPlan(scheme, m, tuple(cast.ids[c] for c in CUSTODIANS)))
    ceremony.generate()
    present = {}
    for number, name in enumerate(CUSTODIANS, start=1):
        me = present[number] = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        typed.wipe()
        ceremony.confirm_receipt(number, me, f"ENV-{number:03d}", "card" if number % 2 else "recorded")
        assert ceremony.verify_share(number, me, text)
    ceremony.wipe()
    return ceremony, present


def _cert(cast, name: str):
    return people.participant(cast.ledger, cast.ids[name]).certificate


def test_acknowledgement_names_the_receipt_event_and_the_checkpoint_after_it(cast) -> None:
    ceremony, _ = _ceremony(cast)
    events = list(cast.ledger.events())
    receipt = next(e for e in events if e.type == "share.received" and e.payload["share_number"] == 2)
    key = next(e for e in events if e.type == "key.registered")
    data = paperwork.acknowledgement_data(cast.ledger, ceremony, 2)
    assert (data.custodian.name, data.share_number, data.share_count) == ("Cust2", 2, 3)
    assert data.key_label == "ZMK-PAPER"  # a production key carries no TEST mark
    assert data.kcv == str(key.payload["kcv_hex"]).upper() and data.key_type == "AES-256"
    assert data.scheme == "Shamir 2-of-3" and data.split_id == ceremony.split_id
    assert data.ledger.event_id == f"#{receipt.seq}"
    checkpoint = Checkpoint.parse(data.ledger.checkpoint_text)
    assert checkpoint.size == receipt.seq and checkpoint.head_hash == receipt.hash
    assert data.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ") == receipt.time
    assert data.witness is not None and data.witness.name == "Walter"


def test_issued_acknowledgement_is_signed_by_its_custodian_and_recorded(cast) -> None:
    ceremony, present = _ceremony(cast)
    with pytest.raises(FlowError, match="signed by its custodian"):
        paperwork.issue_acknowledgement(cast.ledger, ceremony, 1, present[2])
    doc = paperwork.issue_acknowledgement(cast.ledger, ceremony, 1, present[1])
    status, witnessed = validate_document(doc.pdf, [_cert(cast, "cust1"), _cert(cast, "walter")])
    assert status.ok and status.field_name == "Custodian" and status.signer == "Cust1"
    assert witnessed.ok and (witnessed.field_name, witnessed.signer) == ("Witness", "Walter")
    event = list(cast.ledger.events())[-1]
    assert event.type == "document.issued" and event.seq == doc.record.event_seq
    assert event.payload == {
        "ceremony_id": ceremony.ceremony_id,
        "kind": "acknowledgement",
        "sha256": hashlib.sha256(doc.pdf).hexdigest(),
        "subject": "share 1 of 3 - Cust1 (E0003)",
        "file_name": doc.record.file_name,
        "signed_by": [cast.ids["cust1"], cast.ids["walter"]],  # the PDF carries custodian and witness
    }
    assert set(event.attested_by) == {cast.ids["cust1"], cast.ids["walter"]}


def test_acknowledgement_before_receipt_is_refused(cast) -> None:
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "early")
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    ceremony.generate()
    with pytest.raises(FlowError, match="receipt of share 1"):
        paperwork.acknowledgement_data(cast.ledger, ceremony, 1)
    ceremony.void("test over")


def test_minutes_record_every_step_from_the_ledger(cast) -> None:
    ceremony, _ = _ceremony(cast)
    ceremony.close(paperwork.closing_checkpoint(cast.ledger))
    data = paperwork.minutes_data(cast.ledger, ceremony, location="Vault room")
    events = paperwork.ceremony_events(cast.ledger, ceremony.ceremony_id)
    assert [s.event_id for s in data.steps] == [f"#{e.seq}" for e in events]
    assert [s.at.strftime("%Y-%m-%dT%H:%M:%SZ") for s in data.steps] == [e.time for e in events]
    by_id = {s.event_id: s for s in data.steps}
    receipt = next(e for e in events if e.type == "share.received" and e.payload["share_number"] == 3)
    assert by_id[f"#{receipt.seq}"].performed_by == "Cust3 (custodian)"
    assert by_id[f"#{receipt.seq}"].approved_by == "Walter (witness)"
    assert "ENV-003" in by_id[f"#{receipt.seq}"].description
    generated = next(e for e in events if e.type == "key.registered")
    assert by_id[f"#{generated.seq}"].performed_by == "Alice (administrator)"
    assert [(p.person.name, p.signature_field) for p in data.participants][:2] == [
        ("Alice", "Administrator"),
        ("Walter", "Witness"),
    ]
    assert [p.person.role for p in data.participants][2:] == [
        f"Key custodian (share {n} of 3)" for n in (1, 2, 3)
    ]
    assert data.kcvs[0].kcv == str(generated.payload["kcv_hex"]).upper()
    assert [e.serial for e in data.envelopes] == ["ENV-001", "ENV-002", "ENV-003"]
    assert data.preflight_result.startswith("cleared, relying on 1 exception")
    (exception,) = data.exceptions
    assert exception.approved_by.startswith("Sophie") and "interface eth0" in exception.finding
    assert data.outcome == "Completed" and data.location == "Vault room"
    closed = events[-1]
    assert closed.type == "ceremony.closed" and data.closing.event_id == f"#{closed.seq}"
    # The closing checkpoint is the one the close recorded: the ledger just before ceremony.closed.
    closing = Checkpoint.parse(data.closing.checkpoint_text)
    assert closing == Checkpoint.parse(closed.payload["checkpoint"]) == cast.ledger.checkpoint(closed.seq - 1)
    assert closing.head_hash == events[-2].hash


def test_xor_minutes_list_every_component_kcv(cast) -> None:
    ceremony, _ = _ceremony(cast, Scheme.XOR, 3)
    ceremony.close()
    data = paperwork.minutes_data(cast.ledger, ceremony)
    split = next(e for e in cast.ledger.events() if e.type == "split.created")
    assert [k.kcv for k in data.kcvs[1:]] == [str(split.payload["share_kcvs"][n]).upper() for n in "123"]
    assert [k.subject for k in data.kcvs[1:]] == [f"component {n} of 3" for n in (1, 2, 3)]


def test_minutes_are_signed_by_administrator_then_witness(cast) -> None:
    ceremony, _ = _ceremony(cast)
    ceremony.close()
    doc = paperwork.issue_minutes(cast.ledger, ceremony)
    statuses = validate_document(doc.pdf, [_cert(cast, "alice"), _cert(cast, "walter")])
    assert [(s.field_name, s.signer, s.ok) for s in statuses] == [
        ("Administrator", "Alice", True),
        ("Witness", "Walter", True),
    ]
    event = list(cast.ledger.events())[-1]
    assert (
        event.payload["kind"] == "minutes" and event.payload["sha256"] == hashlib.sha256(doc.pdf).hexdigest()
    )


async def test_async_variants_work_inside_a_running_event_loop(cast) -> None:
    """The TUI runs in Textual's loop: the synchronous pyHanko path refuses there, the async one works."""
    ceremony, present = _ceremony(cast)
    ack = await paperwork.async_issue_acknowledgement(cast.ledger, ceremony, 3, present[3])
    ceremony.close()
    minutes = await paperwork.async_issue_minutes(cast.ledger, ceremony)
    assert ack.record.kind == "acknowledgement" and minutes.record.kind == "minutes"
    from ceremony.documents.sign import async_validate_document

    statuses = await async_validate_document(minutes.pdf, [_cert(cast, "alice"), _cert(cast, "walter")])
    assert all(s.ok for s in statuses) and len(statuses) == 2


def test_voided_ceremony_minutes_say_so(cast) -> None:
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "to be voided")
    ceremony.record_preflight({}, uncovered=[])
    ceremony.plan_key(SPEC, SplitPlan(Scheme.SHAMIR, 2, (cast.ids["cust1"], cast.ids["cust2"])))
    ceremony.generate()
    me = cast.present("cust1", "custodian")
    ceremony.reveal(1, me).wipe()
    ceremony.confirm_receipt(1, me, "ENV-9", "card")
    ceremony.void("power cut drill")
    data = paperwork.minutes_data(cast.ledger, ceremony)
    assert data.outcome == "Voided: power cut drill"
    assert [(e.serial, e.status) for e in data.envelopes] == [
        ("ENV-9", "void: split retired, return for destruction")
    ]
    assert any("Split retired" in s.description for s in data.steps)


def test_record_only_preflight_is_refused_outside_a_rehearsal(cast) -> None:
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "production")
    with pytest.raises(RehearsalMixError, match=r"1\.2\.6"):
        ceremony.record_preflight({}, ["net.interfaces: interface eth0"], record_only=True)
    with pytest.raises(RehearsalMixError, match="production ledger"):
        GenerationCeremony.start(cast.ledger, admin, witness, "rehearsal", rehearsal=True)


def test_unknown_document_kind_is_refused(cast) -> None:
    ceremony, _ = _ceremony(cast)
    with pytest.raises(FlowError, match="unknown document kind"):
        paperwork.record_document(cast.ledger, ceremony, "selfie", "0" * 64, "x", "x.pdf")


def test_acknowledgement_names_its_envelope_and_the_event_that_issued_the_share(cast) -> None:
    ceremony, present = _ceremony(cast)
    events = list(cast.ledger.events())
    shown = next(
        e
        for e in events
        if e.type == "share.exposed" and e.payload["share_number"] == 2 and e.payload["kind"] == "shown"
    )
    receipt = next(e for e in events if e.type == "share.received" and e.payload["share_number"] == 2)
    data = paperwork.acknowledgement_data(cast.ledger, ceremony, 2)
    assert data.envelope_serial == "ENV-002" == receipt.payload["envelope_serial"]
    assert data.issued_event_id == f"#{shown.seq}" and shown.seq < receipt.seq
    doc = paperwork.issue_acknowledgement(cast.ledger, ceremony, 2, present[2])
    pages = [p.extract_text() or "" for p in PdfReader(io.BytesIO(doc.pdf)).pages]
    flat = " ".join(" ".join(p.split()) for p in pages)
    assert "envelope ENV-002" in flat and "None" not in flat
    footers = [
        line for p in pages for line in p.splitlines() if line.startswith(f"Ceremony {ceremony.ceremony_id}")
    ]
    assert footers and all(f"issued in ledger event #{shown.seq}" in line for line in footers), footers
    assert f"Ledger event: #{receipt.seq}" in flat  # the receipt, and its checkpoint, in the ledger box
