"""Custodian departure (PCI DSS 3.7.5): deactivation flags every key the person ever knew; a re-share keeps
the flag (the key did not change); only a replacement key, then the old key retired naming it, clears it."""

from __future__ import annotations

import pytest
from lifecycle_support import CLEAR, Generated, People, distribute, generate, open_and_enter

from ceremony.crypto.share import Scheme
from ceremony.errors import CustodyViolationError, DualControlError, IdentityError, InputError
from ceremony.flows.common import SplitPlan
from ceremony.flows.departure import keys_to_replace, record_departure
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.ledger.verify import verify_ledger

FIVE = ("cust1", "cust2", "cust3", "cust4", "cust5")


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def test_departure_reshare_keeps_flag_replacement_and_retirement_clear_it(cast, people):
    zmk = generate(people, FIVE, 3, label="ZMK")
    bdk = generate(people, ("cust6", "cust7", "cust8"), 2, label="BDK")
    officer = people("sophie", "security_officer")
    # Shares are entered before the departure (the person is still active): authenticate them now.
    holders = {n: people(name) for n, name in zmk.holders.items()}

    departure = record_departure(cast.ledger, people.id("cust2"), "left the company", officer, people.witness)
    assert departure.keys == (zmk.key_id,)
    event = [e for e in cast.ledger.events() if e.type == "participant.deactivated"][-1]
    assert event.seq == departure.seq and set(event.attested_by) == {
        officer.person_id,
        people.witness.person_id,
    }
    flagged = keys_to_replace(cast.ledger)
    assert [(f.key_id, f.label, f.departed) for f in flagged] == [(zmk.key_id, "ZMK", (people.id("cust2"),))]
    assert bdk.key_id not in {f.key_id for f in flagged}

    # The departed custodian can no longer authenticate.
    with pytest.raises(IdentityError, match="deactivated"):
        cast.present("cust2", "custodian")

    new_names = ("cust6", "cust9", "cust4")
    plan = SplitPlan(Scheme.SHAMIR, 3, tuple(people.id(n) for n in new_names))
    ceremony = ReshareCeremony.start(
        cast.ledger, people.admin, people.witness, zmk.key_id, plan, ReshareReason.DEPARTURE, "replace cust2"
    )
    ceremony.record_preflight(CLEAR, uncovered=[])
    for number in (1, 3, 5):
        ceremony.inspect_envelope(number, holders[number], zmk.serials[number], True, True)
        ceremony.enter_share(holders[number], bytearray(zmk.texts[number]))
    ceremony.rebuild()
    assert keys_to_replace(cast.ledger)  # still flagged until the new set is in force
    ceremony.reshare()
    new = Generated(zmk.key_id, ceremony.new_split_id, zmk.kcv, dict(enumerate(new_names, start=1)))
    distribute(ceremony, people, new, "DEP")
    result = ceremony.finish()
    # The re-share kept the key (same KCV): the departed custodian's old share plus two current custodians'
    # old shares still rebuild it, so the flag stays.
    assert result.must_still_be_replaced and result.kcv.matches(zmk.kcv)
    assert [f.key_id for f in keys_to_replace(cast.ledger)] == [zmk.key_id]

    # New key material naming the old key, then the old key retired: the flag is cleared, with the link.
    new_zmk = generate(people, ("cust6", "cust9", "cust4"), 2, label="ZMK-2", replaces=zmk.key_id)
    assert [f.key_id for f in keys_to_replace(cast.ledger)] == [zmk.key_id]  # until the old key is retired
    retirement = RetirementCeremony.start(cast.ledger, people.admin, people.witness, "retire replaced ZMK")
    retirement.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    retirement.record_preflight(CLEAR, uncovered=[])
    retirement.retire_key(zmk.key_id, RetirementReason.REPLACED)
    retirement.close()
    assert keys_to_replace(cast.ledger) == []
    retired = [e for e in cast.ledger.events() if e.type == "key.retired"][-1]
    assert retired.record.replaced_by_key_id == new_zmk.key_id
    assert cast.ledger.custody().cleared() == {zmk.key_id: (retired.seq, new_zmk.key_id)}
    verify_ledger(cast.ledger.path)


def test_a_reshare_below_the_quorum_is_refused(cast, people):
    """A 3-of-5 key re-shared 2-of-3 would be rebuilt by two people: refused before anything is opened."""
    zmk = generate(people, FIVE, 3, label="ZMK")
    plan = SplitPlan(Scheme.SHAMIR, 2, (people.id("cust6"), people.id("cust7"), people.id("cust8")))
    with pytest.raises(CustodyViolationError, match="quorum of 3"):
        ReshareCeremony.start(
            cast.ledger, people.admin, people.witness, zmk.key_id, plan, ReshareReason.ROUTINE, "smaller"
        )


def test_retiring_without_a_replacement_leaves_nothing_cleared(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    record_departure(
        cast.ledger, people.id("cust3"), "left", people("sophie", "security_officer"), people.witness
    )
    other = generate(people, ("cust4", "cust5"), 2, label="OTHER")
    retirement = RetirementCeremony.start(cast.ledger, people.admin, people.witness, "retire")
    retirement.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    retirement.record_preflight(CLEAR, uncovered=[])
    with pytest.raises(InputError, match="not generated as the replacement"):
        retirement.retire_key(zmk.key_id, RetirementReason.REPLACED, replaced_by=other.key_id)
    retirement.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD)
    assert cast.ledger.custody().cleared() == {}
    verify_ledger(cast.ledger.path)


def test_departure_needs_a_security_officer_and_a_different_witness(cast, people):
    generate(people, ("cust1", "cust2"), 2)
    with pytest.raises(DualControlError, match="security officer"):
        record_departure(cast.ledger, people.id("cust1"), "left", people.witness, people("sophie", "witness"))
    officer = people("sophie", "security_officer")
    with pytest.raises(DualControlError):
        record_departure(cast.ledger, people.id("cust1"), "left", officer, people("cust1"))
    with pytest.raises(InputError):
        record_departure(cast.ledger, people.id("cust1"), "  ", officer, people.witness)
    record_departure(cast.ledger, people.id("cust1"), "role change", officer, people.witness)
    with pytest.raises(InputError, match="already deactivated"):
        record_departure(cast.ledger, people.id("cust1"), "again", officer, people.witness)
    verify_ledger(cast.ledger.path)


def test_a_reshare_for_another_reason_leaves_the_flag(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    holders = {n: people(name) for n, name in zmk.holders.items()}
    record_departure(
        cast.ledger, people.id("cust3"), "left", people("sophie", "security_officer"), people.witness
    )
    plan = SplitPlan(Scheme.SHAMIR, 2, (people.id("cust4"), people.id("cust5")))
    ceremony = ReshareCeremony.start(
        cast.ledger, people.admin, people.witness, zmk.key_id, plan, ReshareReason.ROUTINE, "routine"
    )
    ceremony.record_preflight(CLEAR, uncovered=[])
    for number in (1, 2):
        ceremony.inspect_envelope(number, holders[number], zmk.serials[number], True, True)
        ceremony.enter_share(holders[number], bytearray(zmk.texts[number]))
    ceremony.rebuild()
    ceremony.reshare()
    distribute(
        ceremony, people, Generated(zmk.key_id, ceremony.new_split_id, zmk.kcv, {1: "cust4", 2: "cust5"}), "R"
    )
    assert ceremony.finish().must_still_be_replaced
    assert [f.key_id for f in keys_to_replace(cast.ledger)] == [zmk.key_id]
    verify_ledger(cast.ledger.path)


def test_a_departed_custodian_can_no_longer_take_part(cast, people):
    """A departed custodian's share can no longer be entered: the ledger refuses their exposure."""
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    present = {n: people(name) for n, name in zmk.holders.items()}
    record_departure(
        cast.ledger, people.id("cust1"), "left", people("sophie", "security_officer"), people.witness
    )
    from lifecycle_support import start_wrapped

    ceremony = start_wrapped(people, zmk)
    with pytest.raises(IdentityError, match="deactivated"):
        ceremony.inspect_envelope(1, present[1], zmk.serials[1], True, True)
    open_and_enter(ceremony, people, zmk, (2, 3))
    ceremony.void("test")
    verify_ledger(cast.ledger.path)
