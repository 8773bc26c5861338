"""The custody and keys reports over a key's whole PCI DSS 3.7.5 path and the custody rule's quorum
(DESIGN §3), on real ledgers built by the real flows: a departure flags a key; a re-share keeps the flag
("must still be replaced"); a replacement generated naming it says "retire this key to clear"; the
retirement naming it clears it. A recorded ``key.quorum_lowered`` decision is listed with its reason and
signers (reports and minutes); demonstrated knowledge that leaves a coalition below the quorum is flagged as
the rule broken; a wrapped file plus the KEK's components is a route of its own."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "flows"))

from flow_support import Cast, make_cast
from lifecycle_support import Generated, People, distribute, generate, open_and_enter

from ceremony.crypto.share import Scheme
from ceremony.errors import DemonstratedKnowledgeError
from ceremony.flows import paperwork
from ceremony.flows.common import SplitPlan
from ceremony.flows.departure import record_departure
from ceremony.flows.generation import GenerationCeremony, KeySpec
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import TEXT_WIDTH, to_csv, to_json, to_text

PREFLIGHT = {"report": {"counts": {"pass": 9}}, "cleared": True}


@pytest.fixture
def cast(tmp_path) -> Cast:
    made = make_cast(tmp_path)
    yield made
    made.ledger.close()


def reports(cast: Cast, kind: str, key_id: str | None = None):
    with Ledger.open_for_reading(cast.ledger.path) as ledger:
        facts = read_facts(ledger)
    assert facts.last_time is not None
    return build_report(kind, facts, Filters(key_id=key_id), facts.last_time)


def key_record(cast: Cast, key_id: str) -> dict:
    (record,) = [r for r in reports(cast, "keys").records if r["key_id"] == key_id]
    return record


def key_text(cast: Cast, key_id: str) -> str:
    text = to_text(reports(cast, "keys", key_id))
    assert max(len(line) for line in text.splitlines()) <= TEXT_WIDTH
    return " ".join(text.split())  # the cells wrap: compare words


def key_csv(cast: Cast, key_id: str) -> dict[str, str]:
    (row,) = [r for r in csv.DictReader(io.StringIO(to_csv(reports(cast, "keys")))) if r["key_id"] == key_id]
    return row


def events(cast: Cast, event_type: str) -> list:
    return [e for e in cast.ledger.events() if e.type == event_type]


def test_departure_reshare_replacement_retirement_in_the_keys_and_custody_reports(cast: Cast) -> None:
    people = People(cast)
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2, label="ZMK")
    other = generate(people, ("cust4", "cust5"), 2, label="OTHER")
    holders = {n: people(name) for n, name in zmk.holders.items()}
    assert key_record(cast, zmk.key_id)["replacement"]["state"] == "none"

    # 1. cust2 leaves: ZMK (which cust2 knew) must be replaced; OTHER not.
    officer = people("sophie", "security_officer")
    departure = record_departure(cast.ledger, people.id("cust2"), "left the company", officer, people.witness)
    record = key_record(cast, zmk.key_id)
    assert record["must_be_replaced"] is True
    assert record["replacement"]["state"] == "must be replaced"
    assert record["replacement"]["flagged_seq"] == departure.seq
    assert f"MUST BE REPLACED (custodian left, #{departure.seq})" in key_text(cast, zmk.key_id)
    assert key_record(cast, other.key_id)["replacement"]["state"] == "none"
    custody = reports(cast, "custody", zmk.key_id)
    assert f"must be replaced: a custodian who knew it left (event #{departure.seq})" in to_text(custody)

    # 2. Re-shared to a new custodian set: the same key, so the flag stays.
    plan = SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in ("cust6", "cust7", "cust8")))
    reshare = ReshareCeremony.start(
        cast.ledger, people.admin, people.witness, zmk.key_id, plan, ReshareReason.DEPARTURE, "replace cust2"
    )
    reshare.record_preflight(PREFLIGHT, [])
    for number in (1, 3):
        reshare.inspect_envelope(number, holders[number], zmk.serials[number], True, True)
        reshare.enter_share(holders[number], bytearray(zmk.texts[number]))
    reshare.rebuild()
    reshare.reshare()
    new_split = Generated(zmk.key_id, reshare.new_split_id, zmk.kcv, {1: "cust6", 2: "cust7", 3: "cust8"})
    distribute(reshare, people, new_split, "RS")
    assert reshare.finish().must_still_be_replaced
    resplit = [e for e in events(cast, "split.created") if e.payload["split_id"] == reshare.new_split_id]
    record = key_record(cast, zmk.key_id)
    assert record["replacement"]["state"] == "must still be replaced"
    assert record["must_be_replaced"] is True and record["split_id"] == reshare.new_split_id
    text = key_text(cast, zmk.key_id)
    assert "RE-SHARED; MUST STILL BE REPLACED" in text
    assert key_csv(cast, zmk.key_id)["replacement_state"] == "must still be replaced"
    custody = reports(cast, "custody", zmk.key_id)
    flat = " ".join(to_text(custody).split())
    assert f"re-shared (event #{resplit[0].seq}); must still be replaced" in flat

    # 3. A replacement generated naming ZMK: "retire this key to clear"; the new key says what it replaces.
    new = generate(people, ("cust6", "cust7", "cust8"), 2, label="ZMK-2", replaces=zmk.key_id)
    record = key_record(cast, zmk.key_id)
    assert record["replacement"]["state"] == "replacement generated"
    assert record["replacement"]["replacement_key_id"] == new.key_id and record["must_be_replaced"] is True
    assert f"REPLACEMENT {new.key_id} GENERATED; RETIRE THIS KEY TO CLEAR" in key_text(cast, zmk.key_id)
    assert key_record(cast, new.key_id)["replaces_key_id"] == zmk.key_id
    assert f"replaces {zmk.key_id}" in key_text(cast, new.key_id)
    assert key_csv(cast, new.key_id)["replaces_key_id"] == zmk.key_id

    # 4. The old key retired (the replacement linked by the flow): the flag is cleared, with the event.
    retirement = RetirementCeremony.start(cast.ledger, people.admin, people.witness, "retire replaced ZMK")
    if hasattr(retirement, "record_preflight"):
        retirement.record_preflight(PREFLIGHT, [])
    retirement.retire_key(zmk.key_id, RetirementReason.REPLACED)
    retirement.close()
    (retired,) = events(cast, "key.retired")
    record = key_record(cast, zmk.key_id)
    assert record["replacement"] == {
        "state": "cleared",
        "text": f"replaced by {new.key_id} (retired at event #{retired.seq})",
        "replacement_key_id": new.key_id,
        "flagged_seq": None,
        "cleared_seq": retired.seq,
    }
    assert record["must_be_replaced"] is False and record["status"] == "retired"
    assert record["replaced_by_key_id"] == new.key_id
    assert f"replaced by {new.key_id} (retired at event #{retired.seq})" in key_text(cast, zmk.key_id)
    row = key_csv(cast, zmk.key_id)
    assert (row["replacement_state"], row["replacement_key_id"], row["must_be_replaced"]) == (
        "cleared",
        new.key_id,
        "no",
    )
    with Ledger.open_for_reading(cast.ledger.path) as ledger:
        facts = read_facts(ledger)
    assert facts.replacement_cleared == {zmk.key_id: retired.seq}
    assert cast.ledger.custody().cleared() == {zmk.key_id: (retired.seq, new.key_id)}
    custody = reports(cast, "custody", zmk.key_id)
    assert all(r["replacement"]["state"] == "cleared" for r in custody.records)
    described = [s["description"] for r in reports(cast, "ceremonies").records for s in r["steps"]]
    assert any(d.endswith(f"; replaced by key {new.key_id}") for d in described)
    assert any(d.endswith(f"; replaces key {zmk.key_id}") for d in described)
    verify_ledger(cast.ledger.path)


def _lower_quorum(cast: Cast, people: People, key_id: str, quorum: int, reason: str, ceremony_id: str | None):
    """A security officer and a witness record the decision (the ledger's own API, signed by both)."""
    officer, witness = people("sophie", "security_officer"), people.witness
    payload: dict[str, object] = {"key_id": key_id, "quorum": quorum, "reason": reason}
    if ceremony_id is not None:
        payload["ceremony_id"] = ceremony_id
    return cast.ledger.append(
        "key.quorum_lowered",
        payload,
        [officer.person_id, witness.person_id],
        [officer, witness],
    )


def test_a_quorum_decision_is_listed_in_the_custody_and_keys_reports_and_the_minutes(cast: Cast) -> None:
    from pypdf import PdfReader

    people = People(cast)
    five = ("cust1", "cust2", "cust3", "cust4", "cust5")
    bdk = generate(people, five, 3, label="BDK")
    before = reports(cast, "custody", bdk.key_id)
    assert before.records[0]["quorum"] == 3 and before.records[0]["quorum_lowered"] == []
    assert "Quorum: 3 people (set by its first split" in " ".join(to_text(before).split())

    # The decision is taken during a (retirement) ceremony, so its minutes carry it.
    ceremony = RetirementCeremony.start(cast.ledger, people.admin, people.witness, "quorum decision")
    if hasattr(ceremony, "record_preflight"):
        ceremony.record_preflight(PREFLIGHT, [])
    reason = "HSM-3 takes two XOR components only; approved by the CISO, ticket SEC-118"
    decision = _lower_quorum(cast, people, bdk.key_id, 2, reason, ceremony.ceremony_id)
    ceremony.close()

    custody = reports(cast, "custody", bdk.key_id)
    record = custody.records[0]
    assert record["quorum"] == 2 and record["rule_broken"] is False
    (lowered,) = record["quorum_lowered"]
    assert (lowered["seq"], lowered["quorum"], lowered["reason"]) == (decision.seq, 2, reason)
    assert set(lowered["signed_by"]) == {people.id("sophie"), people.id("walter")}
    text = " ".join(to_text(custody).split())
    assert f"Quorum: 2 people (lowered from 3 at event #{decision.seq})" in text
    table = custody.sections[0].tables[0]  # the decisions, as printed (text cells wrap)
    ((when, quorum, why, signed),) = table.rows
    assert (quorum, why) == ("2", reason) and when.startswith(lowered["time"][:10])
    assert sorted(signed.removesuffix(f" (#{decision.seq})").split(", ")) == ["Sophie", "Walter"]
    assert "SEC-118" in text and "Sophie" in text and "Walter" in text
    described = [s["description"] for r in reports(cast, "ceremonies").records for s in r["steps"]]
    said = f"QUORUM LOWERED to 2 people for key {bdk.key_id}: {reason} (signed by "
    assert any(d in (said + "Sophie, Walter)", said + "Walter, Sophie)") for d in described)
    assert json.loads(to_json(custody))["records"][0]["quorum_lowered"][0]["quorum"] == 2
    rows = list(csv.DictReader(io.StringIO(to_csv(custody))))
    assert {r["quorum"] for r in rows} == {"2"} and {r["rule_broken"] for r in rows} == {"no"}
    keys = key_record(cast, bdk.key_id)
    assert keys["quorum"] == 2 and keys["quorum_lowered"][0]["reason"] == reason
    assert f"quorum lowered to 2 (#{decision.seq})" in key_text(cast, bdk.key_id)
    assert key_csv(cast, bdk.key_id)["quorum_lowered"] == "yes"

    minutes = paperwork.issue_minutes_for(cast.ledger, ceremony.ceremony_id, people.admin, people.witness)
    reader = PdfReader(io.BytesIO(bytes(minutes.pdf)))
    words = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    assert "quorum" in words.lower() and "2" in words
    assert "SEC-118" in words  # the reason, as recorded
    verify_ledger(cast.ledger.path)


def test_demonstrated_knowledge_below_the_quorum_is_flagged_as_the_rule_broken(cast: Cast) -> None:
    people = People(cast)
    ceremony = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "generate PVK")
    ceremony.record_preflight(PREFLIGHT, [])
    names = ("cust1", "cust2", "cust3")
    from ceremony.crypto.keys import KeyType

    spec = KeySpec(KeyType.AES_256, "PVK", "PIN verification", 365)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in names)))
    ceremony.generate()
    typed: dict[int, bytearray] = {}
    for number, name in enumerate(names, start=1):
        shown = ceremony.reveal(number, people(name))
        typed[number] = bytearray(shown.view())
        shown.wipe()
        ceremony.confirm_receipt(number, people(name), f"PVK-{number}", "card")
    assert reports(cast, "custody").records[0]["rule_broken"] is False
    # cust1 types share 2 (cust2's) in the verification round: cust1 alone now knows two shares of a 2-of-3.
    with pytest.raises(DemonstratedKnowledgeError):
        ceremony.verify_share(1, people("cust1"), typed[2])
    ceremony.void("demonstrated knowledge")
    custody = reports(cast, "custody")
    (record,) = custody.records
    assert record["rule_broken"] is True and record["smallest_coalition"]["size"] == 1
    assert record["smallest_coalition"]["members"] == [people.id("cust1")]
    text = to_text(custody)
    assert "RULE BROKEN" in text and "FEWER THAN ITS QUORUM OF 2" in " ".join(text.split())
    assert {r["rule_broken"] for r in csv.DictReader(io.StringIO(to_csv(custody)))} == {"yes"}
    verify_ledger(cast.ledger.path)


def test_a_wrapped_file_and_the_kek_components_are_a_route_of_their_own(cast: Cast) -> None:
    """A 3-of-5 key whose quorum was lowered to 2 on record, then wrapped under a KEK of two components: the
    smallest coalition is the two KEK custodians, by the wrapped file, not three share holders."""
    from lifecycle_support import start_wrapped, wrap_components

    people = People(cast)
    five = ("cust1", "cust2", "cust3", "cust4", "cust5")
    bdk = generate(people, five, 3, label="BDK")
    decision = _lower_quorum(cast, people, bdk.key_id, 2, "HSM-3 import: two KEK components", None)
    ceremony = start_wrapped(people, bdk, kek_custodians=("cust8", "cust9"))
    if hasattr(ceremony, "record_preflight"):
        ceremony.record_preflight(PREFLIGHT, [])
    open_and_enter(ceremony, people, bdk, (1, 2, 3))
    ceremony.rebuild()
    _wrapped, kek = wrap_components(ceremony, people)
    kek.wipe()
    ceremony.finish()
    custody = reports(cast, "custody", bdk.key_id)
    record = custody.records[0]
    coalition = record["smallest_coalition"]
    assert coalition["size"] == 2 and coalition["split_id"] is None and coalition["transport_id"]
    assert set(coalition["members"]) == {people.id("cust8"), people.id("cust9")}
    assert coalition["route"].startswith("wrapped file + KEK components (KEK 'HSM-2 key transport KEK'")
    assert record["quorum"] == 2 and record["rule_broken"] is False
    assert record["quorum_lowered"][0]["seq"] == decision.seq
    text = " ".join(to_text(custody).split())
    line = next(v for k, v in custody.sections[0].fields if k == "Smallest coalition")
    assert line.startswith(f"2 people, by {coalition['route']}: ")  # the route, then who could form it
    assert {"Cust8", "Cust9"} <= set(line.replace(",", " ").split())
    assert "by wrapped file + KEK components" in text
    rows = list(csv.DictReader(io.StringIO(to_csv(custody))))
    assert {r["coalition_route"] for r in rows} == {coalition["route"]}
    verify_ledger(cast.ledger.path)
