"""Annual reaffirmation (PCI DSS 3.7.8): the schedule with frozen dates, and the flow on a real ledger."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.documents.sign import validate_document
from ceremony.documents.templates import default_forms_dir
from ceremony.errors import DualControlError, FlowError, IdentityError, InputError
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.reaffirmation import (
    Reaffirmation,
    Wording,
    assignment_flags,
    overdue_custodians,
    standings,
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
