"""Retirement of keys and splits (witnessed, with a reason), envelopes returned for destruction by serial, and
the cryptoperiod list over a real ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lifecycle_support import (
    People,
    generate,
    open_and_enter,
    start_retirement,
    start_wrapped,
    wrap_components,
)

from ceremony.errors import DualControlError, FlowError, InputError, RetiredKeyError, RetiredShareError
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.ledger.verify import verify_ledger
from ceremony.policy.cryptoperiod import keys_needing_attention, parse_time


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def _retirement(people) -> RetirementCeremony:
    return start_retirement(people, "annual clean-up")  # its clear preflight recorded


def test_retired_key_is_refused_and_its_envelopes_are_returned_by_serial(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2, label="ZMK")
    # A recovery opened before the retirement refuses the shares afterwards too.
    early = start_wrapped(people, zmk)
    open_and_enter(early, people, zmk, (1,))

    ceremony = _retirement(people)
    with pytest.raises(FlowError, match="still in force"):
        ceremony.return_envelope(zmk.serials[2], people.id("cust2"), True)
    assert ceremony.retire_key(zmk.key_id, RetirementReason.END_OF_CRYPTOPERIOD) == [zmk.split_id]
    with pytest.raises(RetiredKeyError, match="already retired"):
        ceremony.retire_key(zmk.key_id, RetirementReason.REPLACED)
    returned = ceremony.return_envelope(zmk.serials[2].lower(), people.id("cust2"), True)
    assert (returned.split_id, returned.share_number) == (zmk.split_id, 2)
    with pytest.raises(InputError, match="already returned"):
        ceremony.return_envelope(zmk.serials[2], people.id("cust2"), True)
    with pytest.raises(InputError, match="no envelope with serial ENV-NOT-OURS"):
        ceremony.return_envelope("ENV-NOT-OURS", people.id("cust3"), True)
    ceremony.return_envelope(zmk.serials[3], people.id("cust3"), False)  # broken seal: an incident too
    ceremony.close()

    events = list(cast.ledger.events())
    types = [e.type for e in events]
    # An intact envelope handed back is destroyed on record (issue 15); a broken seal is a return + incident.
    assert "key.retired" in types and types.count("envelope.returned") == 1
    assert types.count("envelope.destroyed") == 1
    assert [e.payload["reason"] for e in events if e.type == "key.retired"] == ["end of cryptoperiod"]
    assert events[-2].type == "incident.recorded" and events[-1].type == "ceremony.closed"
    assert events[-1].payload["envelopes_returned"] == sorted([zmk.serials[2], zmk.serials[3]])

    with pytest.raises(RetiredKeyError, match="retired"):
        start_wrapped(people, zmk)
    me = people(zmk.holder_of(2))
    early.inspect_envelope(2, me, zmk.serials[2], True, True)
    with pytest.raises(RetiredShareError, match="retired"):
        early.enter_share(me, bytearray(zmk.texts[2]))
    early.void("key retired meanwhile")
    verify_ledger(cast.ledger.path)


def test_retire_one_split_for_suspected_compromise(cast, people):
    zmk = generate(people, ("cust1", "cust2", "cust3"), 2)
    ceremony = _retirement(people)
    with pytest.raises(InputError, match="one of"):
        ceremony.retire_split(zmk.split_id, "bored")
    ceremony.retire_split(zmk.split_id, RetirementReason.COMPROMISE_SUSPECTED, "envelope 2 found opened")
    ceremony.close()
    reason = [e.payload["reason"] for e in cast.ledger.events() if e.type == "split.retired"][-1]
    assert reason == "compromise suspected: envelope 2 found opened"
    with pytest.raises(RetiredKeyError, match="no active split"):
        start_wrapped(people, zmk)
    with pytest.raises(FlowError, match="closed"):
        ceremony.retire_split(zmk.split_id, RetirementReason.REPLACED)
    verify_ledger(cast.ledger.path)


def test_retirement_is_witnessed_by_a_second_person(cast, people):
    with pytest.raises(DualControlError):
        RetirementCeremony.start(cast.ledger, people.admin, people.admin, "p")


def test_cryptoperiods_due_and_expired_over_the_ledger(cast, people):
    short = generate(people, ("cust1", "cust2"), 2, label="short", cryptoperiod_days=30)
    long = generate(people, ("cust3", "cust4"), 2, label="long", cryptoperiod_days=365)
    gone = generate(people, ("cust5", "cust6"), 2, label="gone", cryptoperiod_days=30)
    ceremony = _retirement(people)
    ceremony.retire_key(gone.key_id, RetirementReason.REPLACED)
    ceremony.close()
    # "Now" is the time of the last event (the retirement): the ledger clock ticks in whole seconds.
    start = parse_time(list(cast.ledger.events())[-1].time)

    today = keys_needing_attention(cast.ledger.events(), start)
    assert [p.key_id for p in today.due] == [short.key_id] and today.expired == ()

    later = keys_needing_attention(cast.ledger.events(), start + timedelta(days=300))
    assert [p.key_id for p in later.expired] == [short.key_id]
    assert [p.key_id for p in later.due] == [long.key_id]  # 65 days left
    assert later.due[0].days_left(start + timedelta(days=300)) in (64, 65)
    assert gone.key_id not in {p.key_id for p in later.attention}  # retired keys are not listed

    # A recovery still works for the expired (not retired) key: expiry is reported, not enforced here.
    recovery = start_wrapped(people, short)
    open_and_enter(recovery, people, short, (1, 2))
    recovery.rebuild()
    wrap_components(recovery, people)
    recovery.finish()
    verify_ledger(cast.ledger.path)
