"""Annual reaffirmation (PCI DSS 3.7.8): the schedule with frozen dates, and the flow on a real ledger."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.documents.sign import validate_document
from ceremony.documents.templates import default_forms_dir
from ceremony.errors import DocumentError, DualControlError, FlowError, IdentityError, InputError
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.reaffirmation import (
    Reaffirmation,
    Wording,
    assignment_flags,
    documents_folder,
    overdue_custodians,
    standings,
    write_form,
)
from ceremony.ledger import participants
from ceremony.ledger.verify import verify_ledger
from ceremony.policy.reaffirmation import ReaffirmationPolicy, Standing, add_months, standing
from ceremony.reports.model import (
    read_facts,
)


# --- the schedule (pure) -----------------------------------------------------------------------------------
def test_due_twelve_months_later_with_a_30_day_warning() -> None:
    last = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)
    due = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    assert standing(last, due - timedelta(days=30, seconds=1)) == (Standing.CURRENT, due)
    assert standing(last, due - timedelta(days=30)) == (Standing.DUE, due)
    assert standing(last, due - timedelta(seconds=1)) == (Standing.DUE, due)
    assert standing(last, due) == (Standing.OVERDUE, due)
    assert standing(None, due) == (Standing.NONE, None)


def test_twelve_months_from_29_february_is_28_february() -> None:
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2025, 8, 31, tzinfo=UTC), 6) == datetime(2026, 2, 28, tzinfo=UTC)


def test_configurable_period() -> None:
    policy = ReaffirmationPolicy(period_days=180, warning_days=14)
    last = datetime(2025, 1, 1, tzinfo=UTC)
    assert standing(last, last + timedelta(days=166), policy)[0] is Standing.DUE
    assert standing(last, last + timedelta(days=165), policy)[0] is Standing.CURRENT
    assert standing(last, last + timedelta(days=180), policy) == (
        Standing.OVERDUE,
        last + timedelta(days=180),
    )
    with pytest.raises(InputError):
        ReaffirmationPolicy(period_days=30, warning_days=30)


# --- the flow ----------------------------------------------------------------------------------------------
def _generate(cast, custodians=("cust1", "cust2", "cust3")):
    admin, witness = cast.present("alice", "administrator"), cast.present("walter", "witness")
    ceremony = GenerationCeremony.start(cast.ledger, admin, witness, "reaffirmation test")
    ceremony.record_preflight({}, uncovered=[])
    spec = KeySpec(KeyType.AES_256, "ZMK reaffirm", "PIN zone master key", 365)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, tuple(cast.ids[c] for c in custodians)))
    ceremony.generate()
    for number, name in enumerate(custodians, start=1):
        me = cast.present(name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        ceremony.confirm_receipt(number, me, f"ENV-R-{number}", "recorded")
        assert ceremony.verify_share(number, me, text)
    ceremony.wipe()
    ceremony.close()
    return ceremony


def test_record_reaffirmation_signed_by_both_with_the_wording_hash(cast) -> None:
    ceremony = _generate(cast)
    flow = Reaffirmation(cast.ledger)
    wording = flow.wording()
    # The hash of what the custodian was shown: the form's own bytes, computed independently here.
    expected = hashlib.sha256((default_forms_dir() / "reaffirmation.md").read_bytes()).hexdigest()
    assert wording.sha256 == expected
    custodian, officer = cast.present("cust1", "custodian"), cast.present("sophie", "security_officer")
    record = flow.record(custodian, officer, wording)

    events = {e.seq: e for e in cast.ledger.events()}
    event = events[record.event_seq]
    assert event.type == "custodian.reaffirmed"
    assert set(event.attested_by) == {cast.ids["cust1"], cast.ids["sophie"]}
    assert event.payload["wording_sha256"] == expected
    assert event.payload["holdings"] == [{"split_id": ceremony.split_id, "share_number": 1}]
    document = events[record.document_seq]
    assert document.type == "document.issued" and document.payload["kind"] == "reaffirmation"
    assert document.payload["sha256"] == hashlib.sha256(record.pdf).hexdigest() == record.pdf_sha256

    certs = [participants.participant(cast.ledger, cast.ids[n]).certificate for n in ("cust1", "sophie")]
    statuses = validate_document(record.pdf, certs)
    assert sorted(s.field_name for s in statuses) == ["Custodian", "SecurityOfficer"]
    assert all(s.ok for s in statuses), [s.summary for s in statuses]
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(record.pdf)).pages)
    assert "ENV-R-1" in text and ceremony.kcv is not None and ceremony.kcv.value.hex().upper() in text
    # The checkpoint after the reaffirmation event is printed on the form (wrapped across lines).
    assert cast.ledger.checkpoint(record.event_seq).text().replace(" ", "") in text.replace(" ", "")
    assert verify_ledger(cast.ledger.path).events == cast.ledger.size()


def test_standing_after_a_reaffirmation_and_the_overdue_list(cast) -> None:
    _generate(cast)
    flow = Reaffirmation(cast.ledger)
    officer = cast.present("sophie", "security_officer")
    flow.record(cast.present("cust1", "custodian"), officer, flow.wording())
    facts = read_facts(cast.ledger)
    when = facts.people[cast.ids["cust1"]].last_affirmed
    assert when is not None and when.kind == "reaffirmation"
    due = add_months(when.time, 12)
    later = {s.person_id: s for s in standings(facts, due - timedelta(days=60))}
    assert later[cast.ids["cust1"]].status is Standing.CURRENT
    assert later[cast.ids["cust2"]].status is Standing.NONE  # never acknowledged in this ledger
    assert "Sophie" not in {s.name for s in later.values()}  # not a custodian
    assert list(overdue_custodians(cast.ledger, due - timedelta(seconds=1))) == []
    assert list(overdue_custodians(cast.ledger, due)) == [cast.ids["cust1"]]
    # Where a share would be assigned, the overdue custodian is flagged (and only they are).
    flags = assignment_flags(cast.ledger, [cast.ids["cust1"], cast.ids["cust2"]], due)
    assert list(flags) == [cast.ids["cust1"]] and "overdue" in flags[cast.ids["cust1"]]
    witness = cast.present("walter", "witness")
    participants.deactivate(
        cast.ledger, cast.ids["cust1"], "left", [officer.person_id, witness.person_id], [officer, witness]
    )
    assert overdue_custodians(cast.ledger, due) == {}  # deactivated custodians are not chased


def test_refusals(cast) -> None:
    flow = Reaffirmation(cast.ledger)
    wording = flow.wording()
    cust1 = cast.present("cust1", "custodian")
    with pytest.raises(DualControlError):
        flow.record(cust1, cust1, wording)
    with pytest.raises(IdentityError, match="security officer"):
        flow.record(cust1, cast.present("walter", "witness"), wording)
    with pytest.raises(IdentityError, match="custodian"):
        flow.record(cast.present("walter", "witness"), cast.present("sophie", "security_officer"), wording)
    with pytest.raises(FlowError, match="wording changed"):
        flow.record(cust1, cast.present("sophie", "security_officer"), Wording("other text", "0" * 64))
    assert [e.type for e in cast.ledger.events()].count("custodian.reaffirmed") == 0


# --- the split a screen uses: begin (ledger), form and signatures, settle (ledger) -----------------------
def test_begin_then_finish_in_an_event_loop_and_a_retry_records_once(cast, monkeypatch) -> None:
    _generate(cast)
    flow = Reaffirmation(cast.ledger)
    custodian, officer = cast.present("cust1", "custodian"), cast.present("sophie", "security_officer")
    draft = flow.begin(custodian, officer, flow.wording())
    events = [e.type for e in cast.ledger.events()]
    assert events[-1] == "custodian.reaffirmed" and events.count("document.issued") == 0
    # The form fails once after the reaffirmation is on record: finishing the same draft again (what the
    # screen does) signs and records the form, and never records a second reaffirmation.
    render = flow.form

    def broken_once(d):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(flow, "form", render)
        raise DocumentError("the printer template is missing")

    monkeypatch.setattr(flow, "form", broken_once)
    with pytest.raises(DocumentError):
        asyncio.run(flow.async_finish(draft))
    record = asyncio.run(flow.async_finish(draft))  # pyHanko's async signing, inside a loop
    assert record.event_seq == draft.event_seq
    certs = [participants.participant(cast.ledger, cast.ids[n]).certificate for n in ("cust1", "sophie")]
    assert all(s.ok for s in validate_document(record.pdf, certs))
    types = [e.type for e in cast.ledger.events()]
    assert types.count("custodian.reaffirmed") == 1 and types.count("document.issued") == 1
    assert verify_ledger(cast.ledger.path).events == cast.ledger.size()


def test_the_form_is_written_beside_the_ledger_never_over_a_file(cast, tmp_path) -> None:
    _generate(cast)
    flow = Reaffirmation(cast.ledger, clock=lambda: datetime(2026, 3, 4, 12, tzinfo=UTC))
    record = flow.record(
        cast.present("cust1", "custodian"), cast.present("sophie", "security_officer"), flow.wording()
    )
    target = flow.default_form_path("E/00 3")
    assert target == documents_folder(cast.ledger.path) / "reaffirmation-E_00_3-2026-03-04.pdf"
    assert target.parent == cast.ledger.path.parent / "ceremony-documents" / "reaffirmations"
    first = write_form(record, target)
    second = write_form(record, target)
    assert first == target and second == target.with_name("reaffirmation-E_00_3-2026-03-04-2.pdf")
    assert first.read_bytes() == second.read_bytes() == record.pdf
    with pytest.raises(InputError, match=r"\.pdf"):
        write_form(record, tmp_path / "form.txt")


def test_what_the_custodian_reads(cast) -> None:
    _generate(cast)
    flow = Reaffirmation(cast.ledger)
    mine = next(s for s in flow.standings() if s.person_id == cast.ids["cust1"])
    reading = flow.reading(mine)
    assert reading.wording == flow.wording()
    assert "ENV-R-1" in reading.markdown and mine.name in reading.markdown
    assert "{" not in reading.markdown and "@" not in reading.markdown
    signers = flow.signers(cast.ids["cust1"])
    assert [p.person_id for p in signers.custodian] == [cast.ids["cust1"]]
    assert [p.person_id for p in signers.officers] == [cast.ids["sophie"]]
    assert flow.signers(cast.ids["sophie"]).officers == ()  # never the custodian themself
