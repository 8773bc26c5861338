"""Reports against a ledger built by the real flows with known answers (see conftest.py for the story)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from report_scenario import AS_OF, Scenario, on_day

from ceremony.ledger.store import Ledger
from ceremony.policy.reaffirmation import add_months
from ceremony.reports import KINDS, build_report
from ceremony.reports.model import Filters, read_facts, show_date
from ceremony.reports.render import TEXT_WIDTH, to_csv, to_json, to_text


def report(sc: Scenario, kind: str, filters: Filters | None = None, as_of=AS_OF, until=None):
    with Ledger.open_for_reading(sc.path) as ledger:
        facts = read_facts(ledger, until)
    return build_report(kind, facts, filters or Filters(), as_of)


# --- custody ----------------------------------------------------------------------------------------------
def test_custody_holders_knowledge_envelopes_and_coalition(scenario: Scenario) -> None:
    rep = report(scenario, "custody")
    by_split = {r["split_id"]: r for r in rep.records}
    for tag in ("K1", "K2"):
        record = by_split[scenario.splits[tag]]
        assert record["key_id"] == scenario.keys[tag]
        names = scenario.custodians[tag]
        for share in record["share_records"]:
            number = share["share_number"]
            expected = scenario.ids[names[number - 1]]
            assert share["held_by"] == expected
            assert [k["person_id"] for k in share["known_by"]] == [expected]
            assert share["envelope_serial"] == scenario.envelopes[(tag, number)]
        coalition = record["smallest_coalition"]
        assert coalition["size"] == record["threshold"]
        assert set(coalition["members"]) <= {scenario.ids[n] for n in names}
        assert coalition["split_id"] == scenario.splits[tag]
    # c2 left on day 100: K1, which c2 knew, must be replaced; K2 not (PCI DSS 3.7.5).
    assert by_split[scenario.splits["K1"]]["must_be_replaced"] is True
    assert by_split[scenario.splits["K2"]]["must_be_replaced"] is False


def test_custody_as_it_stood_before_the_departure(scenario: Scenario) -> None:
    rep = report(scenario, "custody", Filters(until=on_day(50)), as_of=on_day(50), until=on_day(50))
    assert all(r["must_be_replaced"] is False for r in rep.records)
    assert "must be replaced" not in to_text(rep)


def test_custody_filters_by_key_and_person(scenario: Scenario) -> None:
    only_k2 = report(scenario, "custody", Filters(key_id=scenario.keys["K2"]))
    assert {r["key_id"] for r in only_k2.records} == {scenario.keys["K2"]}
    c1 = report(scenario, "custody", Filters(person_id=scenario.ids["c1"]))
    assert {r["key_id"] for r in c1.records} == {scenario.keys["K1"]}
    nobody = report(scenario, "custody", Filters(person_id=scenario.ids["admin"]))
    assert nobody.records == () and "Nothing in the ledger matches" in to_text(nobody)


def test_custody_csv_parses_back_to_the_same_facts(scenario: Scenario) -> None:
    rep = report(scenario, "custody")
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    from_csv = {(r["split_id"], int(r["share_number"]), r["person_id"], r["held_now"] == "yes") for r in rows}
    from_json = {
        (rec["split_id"], s["share_number"], k["person_id"], k["person_id"] == s["held_by"])
        for rec in json.loads(to_json(rep))["records"]
        for s in rec["share_records"]
        for k in s["known_by"]
    }
    assert from_csv == from_json and len(from_csv) == 5
    assert {r["envelope_serial"] for r in rows} == set(scenario.envelopes.values())


# --- custodians -------------------------------------------------------------------------------------------
def test_custodian_reaffirmation_standing_with_frozen_clock(scenario: Scenario) -> None:
    rep = report(scenario, "custodians")
    people = {r["person_id"]: r for r in rep.records}
    status = {name: people[pid]["reaffirmation"] for name, pid in scenario.ids.items()}
    assert status["c1"] == {
        "status": "current",
        "due": show_date(add_months(scenario.reaffirmed["c1"], 12)),
    }
    assert status["c3"] == {
        "status": "overdue",
        "due": show_date(add_months(scenario.acknowledged["c3"][-1], 12)),
    }
    for name in ("c4", "c5"):  # acknowledged on day 5: due day 370, i.e. within 30 days of day 368
        assert status[name] == {
            "status": "due",
            "due": show_date(add_months(scenario.acknowledged[name][-1], 12)),
        }
    assert status["c2"]["status"] is None  # deactivated: no longer reaffirms
    assert people[scenario.ids["c2"]]["active"] is False
    assert status["admin"]["status"] is None
    # A day before c3's due date, c3 was still only "due".
    earlier = report(scenario, "custodians", as_of=on_day(364))
    c3 = next(r for r in earlier.records if r["person_id"] == scenario.ids["c3"])
    assert c3["reaffirmation"]["status"] == "due"


def test_custodian_history_lists_components_and_affirmations(scenario: Scenario) -> None:
    rep = report(scenario, "custodians", Filters(person_id=scenario.ids["c1"]))
    (c1,) = rep.records
    assert [(c["key_id"], c["share_number"], c["held_now"]) for c in c1["components"]] == [
        (scenario.keys["K1"], 1, True)
    ]
    kinds = [a["kind"] for a in c1["affirmations"]]
    assert kinds == ["acknowledgement", "reaffirmation"]
    reaff = c1["affirmations"][1]
    assert reaff["officer_id"] == scenario.ids["officer"]
    assert reaff["wording_sha256"] == scenario.wording_sha256
    assert len(reaff["document_sha256"]) == 64
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert [r["item"] for r in rows] == ["component", "acknowledgement", "reaffirmation"]
    assert rows[0]["envelope_serial"] == scenario.envelopes[("K1", 1)]


def test_custodians_filtered_by_key_are_the_people_who_knew_it(scenario: Scenario) -> None:
    rep = report(scenario, "custodians", Filters(key_id=scenario.keys["K2"]))
    assert {r["person_id"] for r in rep.records} == {scenario.ids["c4"], scenario.ids["c5"]}


# --- keys -------------------------------------------------------------------------------------------------
def test_key_inventory(scenario: Scenario) -> None:
    rep = report(scenario, "keys")
    keys = {r["key_id"]: r for r in rep.records}
    k1, k2 = keys[scenario.keys["K1"]], keys[scenario.keys["K2"]]
    assert (k1["key_type"], k1["strength_bits"], k1["split_scheme"]) == ("AES-128", 128, "Shamir 2-of-3")
    assert (k2["key_type"], k2["strength_bits"], k2["split_scheme"]) == ("TDES-2KEY", 80, "XOR 2 components")
    assert k1["kcv_method"] and len(k1["kcv"]) == 10 and len(k2["kcv"]) == 6
    assert k1["expires"][:10] == show_date(on_day(0) + timedelta(days=365))
    assert k1["cryptoperiod_over"] is True and k2["cryptoperiod_over"] is False  # as of day 368
    assert k1["must_be_replaced"] is True and k2["must_be_replaced"] is False
    assert k1["test_key"] is True and k1["status"] == "active"
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert {(r["key_id"], r["kcv"], r["must_be_replaced"]) for r in rows} == {
        (k["key_id"], k["kcv"], "yes" if k["must_be_replaced"] else "no") for k in rep.records
    }


# --- ceremonies -------------------------------------------------------------------------------------------
def test_ceremonies_outcomes_participants_and_signers(scenario: Scenario) -> None:
    rep = report(scenario, "ceremonies")
    by_id = {r["ceremony_id"]: r for r in rep.records}
    k1 = by_id[scenario.ceremonies["K1"]]
    assert k1["outcome"] == "closed" and by_id[scenario.ceremonies["voided"]]["outcome"] == "voided"
    roles = {p["person_id"]: p["role"] for p in k1["participants"]}
    assert roles[scenario.ids["admin"]] == "administrator" and roles[scenario.ids["witness"]] == "witness"
    assert {roles[scenario.ids[c]] for c in ("c1", "c2", "c3")} == {"custodian"}
    # Every step that touches the key was approved (signed) by two different people (dual control).
    for step in k1["steps"]:
        if step["type"] in ("key.registered", "share.exposed", "key.wiped"):
            assert len(set(step["signers"])) == 2
    assert k1["preflight"].startswith("cleared")
    only_k2 = report(scenario, "ceremonies", Filters(key_id=scenario.keys["K2"]))
    assert [r["ceremony_id"] for r in only_k2.records] == [scenario.ceremonies["K2"]]
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert len(rows) == sum(len(r["steps"]) for r in rep.records)


# --- exceptions -------------------------------------------------------------------------------------------
def test_exceptions_active_and_expired(scenario: Scenario) -> None:
    rep = report(scenario, "exceptions")
    status = {r["exception_id"]: r["status"] for r in rep.records}
    assert status == {
        scenario.exceptions["E1"].exception_id: "expired",
        scenario.exceptions["E2"].exception_id: "expired",
        scenario.exceptions["E3"].exception_id: "active",
    }
    back = report(scenario, "exceptions", as_of=on_day(20))  # E1 was in force then
    assert {r["exception_id"]: r["status"] for r in back.records}[
        scenario.exceptions["E1"].exception_id
    ] == "active"
    period = report(scenario, "exceptions", Filters(since=on_day(250), until=on_day(300)))
    assert [r["exception_id"] for r in period.records] == [scenario.exceptions["E2"].exception_id]
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert {r["exception_id"]: r["status"] for r in rows} == status


# --- every report, text ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(KINDS))
def test_text_fits_100_columns_and_names_the_checkpoint(scenario: Scenario, kind: str) -> None:
    rep = report(scenario, kind)
    text = to_text(rep)
    assert max(len(line) for line in text.splitlines()) <= TEXT_WIDTH
    with Ledger.open_for_reading(scenario.path) as ledger:
        checkpoint = ledger.checkpoint().text()
    assert rep.checkpoint == checkpoint
    assert checkpoint.split()[-1] in text  # the Merkle root is printed
    assert "REHEARSAL LEDGER" in text
