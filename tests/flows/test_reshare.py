"""Re-share / custodian replacement on a real ledger: 3-of-5 re-shared to a new 3-of-3 set (the key's quorum
of 3, fixed by its first split, is kept), the new shares rebuild the same key (KCV unchanged), the old split
is retired and its shares refused. Each re-share records its air-gap preflight first, as generation does."""

from __future__ import annotations

import pytest
from lifecycle_support import (
    Generated,
    People,
    distribute,
    generate,
    open_and_enter,
    start_reshare,
    start_wrapped,
    wrap_components,
)

from ceremony.crypto.share import Scheme
from ceremony.errors import (
    CustodyViolationError,
    DualControlError,
    FlowError,
    InputError,
    RetiredKeyError,
    RetiredShareError,
)
from ceremony.flows.common import SplitPlan
from ceremony.flows.departure import record_departure
from ceremony.flows.reshare import ReshareReason
from ceremony.ledger.verify import verify_ledger

FIVE = ("cust1", "cust2", "cust3", "cust4", "cust5")
NEW = ("cust6", "cust7", "cust8")


@pytest.fixture
def people(cast) -> People:
    return People(cast)


@pytest.fixture
def zmk(people):
    return generate(people, FIVE, 3)


def _start(people, zmk, names=NEW, m=3, reason=ReshareReason.CUSTODIAN_CHANGE, **kwargs):
    plan = SplitPlan(Scheme.SHAMIR, m, tuple(people.id(n) for n in names))
    return start_reshare(people, zmk.key_id, plan, reason, **kwargs)


def _reshare(people, zmk, names=NEW, m=3, reason=ReshareReason.CUSTODIAN_CHANGE, shares=(1, 3, 5)):
    ceremony = _start(people, zmk, names, m, reason)
    assert open_and_enter(ceremony, people, zmk, shares).text == "3 of 3"
    ceremony.rebuild()
    kcv = ceremony.reshare()
    assert kcv.matches(zmk.kcv)  # the same key, proven by its KCV
    new = Generated(zmk.key_id, ceremony.new_split_id, kcv, dict(enumerate(names, start=1)))
    distribute(ceremony, people, new, "NEW")
    result = ceremony.finish()
    return ceremony, result, new


def test_reshare_to_a_new_set_and_recover_with_the_new_shares(cast, people, zmk):
    ceremony, result, new = _reshare(people, zmk)
    assert result.kcv.matches(zmk.kcv) and result.old_split_id == zmk.split_id
    assert result.new_split_id == new.split_id and not result.must_still_be_replaced
    events = list(cast.ledger.events())
    retired = [e.payload for e in events if e.type == "split.retired"]
    assert retired[-1]["split_id"] == zmk.split_id and new.split_id in retired[-1]["reason"]
    created = [e.payload for e in events if e.type == "split.created"][-1]
    assert (
        created["custodians"] == [people.id(n) for n in NEW] and created["replaces_split_id"] == zmk.split_id
    )
    assert ceremony.recovery._key is None

    # Recover with the new shares: the new 3-of-3, KCV unchanged.
    recovery = start_wrapped(people, new)
    assert recovery.split_id == new.split_id
    open_and_enter(recovery, people, new, (1, 2, 3))
    assert recovery.rebuild().matches(zmk.kcv)
    wrap_components(recovery, people)
    recovery.finish()
    verify_ledger(cast.ledger.path)


def test_old_shares_are_refused_after_the_reshare(cast, people, zmk):
    _, _, new = _reshare(people, zmk)
    # The old split cannot be chosen any more ...
    with pytest.raises(RetiredKeyError, match="retired"):
        start_wrapped(people, zmk, split_id=zmk.split_id)
    # ... and an old card offered in a recovery of the new split is refused by name.
    recovery = start_wrapped(people, new)
    with pytest.raises(RetiredShareError, match=zmk.split_id):
        recovery.enter_share(people("cust1"), bytearray(zmk.texts[1]))
    assert [e.type for e in cast.ledger.events()][-1] == "recovery.share_refused"
    recovery.void("test")
    verify_ledger(cast.ledger.path)


def test_old_custodian_may_hold_a_share_of_the_new_split_but_the_plan_is_checked(cast, people, zmk):
    # cust1 knew share 1 of the old split; share 2 of an independent new split is allowed (DESIGN §3).
    _, result, _ = _reshare(people, zmk, names=("cust6", "cust1", "cust7"))
    assert result.kcv.matches(zmk.kcv)
    with pytest.raises(DualControlError, match="administrator"):
        _start(people, zmk, names=("alice", "cust6", "cust7"))
    with pytest.raises(DualControlError, match=r"3\.7\.6"):
        _start(people, zmk, names=("cust6", "cust6", "cust7"))
    verify_ledger(cast.ledger.path)


def test_void_after_reshare_keeps_the_old_split_and_the_dry_run_uses_history(cast, people, zmk):
    ceremony = _start(people, zmk)
    open_and_enter(ceremony, people, zmk, (1, 2, 3))
    ceremony.rebuild()
    ceremony.reshare()
    # Nothing distributed yet; voiding retires the new split and leaves the old one in force.
    ceremony.void("changed our minds")
    types = [e.type for e in cast.ledger.events()]
    assert types[-2:] == ["split.retired", "ceremony.voided"]
    fresh = start_wrapped(people, zmk)  # the old split is still the only active one
    assert fresh.split_id == zmk.split_id
    fresh.void("test")
    # The dry run works on the history replayed from the ledger: assigning share 2 of the (recorded) old
    # split to cust1, who knew share 1 of it, is refused naming the event that showed them share 1.
    from ceremony.policy.custody import Exposure

    history = cast.ledger.custody()
    with pytest.raises(CustodyViolationError) as caught:
        history.record(Exposure(0, people.id("cust1"), zmk.split_id, 2, "assigned"))
    shown = [
        e
        for e in cast.ledger.events()
        if e.type == "share.exposed" and e.payload["person_id"] == people.id("cust1")
    ]
    assert caught.value.forbidding_seq == shown[0].seq
    verify_ledger(cast.ledger.path)


def test_finish_waits_for_every_new_share_to_be_verified(cast, people, zmk):
    ceremony = _start(people, zmk)
    open_and_enter(ceremony, people, zmk, (2, 3, 4))
    with pytest.raises(FlowError, match="rebuilt"):
        ceremony.reshare()
    ceremony.rebuild()
    ceremony.reshare()
    me = people("cust6")
    ceremony.reveal(1, me)
    with pytest.raises(FlowError, match="still to verify: 1, 2, 3"):
        ceremony.finish()
    ceremony.void("test")


def test_departed_custodian_cannot_be_in_the_new_set(cast, people, zmk):
    record_departure(
        cast.ledger,
        people.id("cust6"),
        "left the company",
        people("sophie", "security_officer"),
        people.witness,
    )
    with pytest.raises(InputError, match="deactivated"):
        _start(people, zmk, names=("cust6", "cust7", "cust8"))
