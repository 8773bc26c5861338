"""Issue 15, item 5 for a re-share: its ``finish`` retires the old split without asking about that split's
envelopes (they stay held on record: correct custody accounting), returns them, and a retirement ceremony
takes the already-retired split up (``account_for_split``) and asks about each with the same two-person
rule and destruction certificate as any retirement. On real ledgers that verify."""

from __future__ import annotations

import pytest
from lifecycle_support import (
    Generated,
    People,
    distribute,
    generate,
    open_and_enter,
    start_reshare,
    start_retirement,
)

from ceremony.crypto.share import Scheme
from ceremony.errors import FlowError, InputError
from ceremony.flows.common import SplitPlan, read_register
from ceremony.flows.envelopes import Outcome, retired_outstanding
from ceremony.flows.paperwork import issue_destruction_certificate
from ceremony.flows.reshare import ReshareReason
from ceremony.flows.retirement import RetirementReason
from ceremony.ledger.verify import verify_ledger

OLD = ("cust1", "cust2", "cust3")
NEW = ("cust4", "cust5", "cust6")


@pytest.fixture
def people(cast) -> People:
    return People(cast)


def _reshare(people: People, old: Generated):
    plan = SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in NEW))
    ceremony = start_reshare(people, old.key_id, plan, ReshareReason.CUSTODIAN_CHANGE)
    assert ceremony.envelopes_to_account() == []  # the old split is still in force: nothing to account yet
    open_and_enter(ceremony, people, old, (1, 3))
    ceremony.rebuild()
    kcv = ceremony.reshare()
    new = Generated(old.key_id, ceremony.new_split_id, kcv, dict(enumerate(NEW, start=1)))
    distribute(ceremony, people, new, "NEW")
    return ceremony, ceremony.finish(), new


def test_reshare_returns_the_old_envelopes_and_a_retirement_destroys_them(cast, people, tmp_path):
    old = generate(people, OLD, 2)
    ceremony, result, new = _reshare(people, old)
    # Not asked inside the re-share: every old envelope is still held on record, and the result names them.
    assert [(e.share_number, e.serial, e.split_retired) for e in result.envelopes_to_account] == [
        (n, old.serials[n], True) for n in (1, 2, 3)
    ]
    assert ceremony.envelopes_to_account() == list(result.envelopes_to_account)
    register = read_register(cast.ledger.events())
    assert list(retired_outstanding(register)) == [old.split_id]

    retirement = start_retirement(people, "destroy the old ZMK split's envelopes")
    taken = retirement.account_for_split(old.split_id)
    assert taken == list(result.envelopes_to_account)
    assert retirement.envelopes_to_account() == taken
    assert retirement.retired_splits == []  # nothing is retired again
    assert retirement.earlier_splits == [old.split_id]
    one, two, three = taken
    retirement.account_envelope(one, Outcome.DESTROYED, serial_read=one.serial, returned_by="Cust1")
    retirement.account_envelope(three, Outcome.DESTROYED, serial_read=three.serial, returned_by="Cust3")
    retirement.account_envelope(two, Outcome.NOT_RETURNED, note="cust2 is on leave; asked in writing")
    assert retirement.envelopes_to_account() == []
    _, pdf = issue_destruction_certificate(
        cast.ledger,
        retirement.outcomes,
        people.admin,
        people.witness,
        occasion="Retirement ceremony",
        ceremony_id=retirement.ceremony_id,
        folder=tmp_path,
    )
    assert pdf.is_file()
    retirement.close()

    events = list(cast.ledger.events())
    types = [e.type for e in events]
    assert types.count("envelope.destroyed") == 2 and types.count("envelope.not_returned") == 1
    assert "incident.recorded" in types  # inside a ceremony the minutes list the incident
    assert sum(1 for e in events if e.type == "split.retired" and e.payload["split_id"] == old.split_id) == 1
    closed = [e for e in events if e.type == "ceremony.closed"][-1]
    assert closed.payload["retired_splits"] == [] and closed.payload["envelopes_returned"] == sorted(
        (one.serial, three.serial)
    )
    # The new split is untouched and still held; only the unreturned old envelope is outstanding.
    register = read_register(cast.ledger.events())
    assert register.splits[old.split_id].envelope_accounted(2)
    assert retired_outstanding(register) == {}
    assert not any(register.splits[new.split_id].envelope_accounted(n) for n in (1, 2, 3))
    assert verify_ledger(cast.ledger.path).events == len(events)


def test_account_for_split_refuses_a_split_in_force_or_already_accounted(cast, people):
    old = generate(people, OLD, 2)
    retirement = start_retirement(people, "housekeeping")
    with pytest.raises(FlowError, match="still in force: retire it"):
        retirement.account_for_split(old.split_id)
    with pytest.raises(InputError, match="no split"):
        retirement.account_for_split("NOSUCHSPLIT")
    # Retired here: its envelopes are asked already; taking it up again adds nothing.
    retirement.retire_split(old.split_id, RetirementReason.COMPROMISE_SUSPECTED)
    asked = retirement.envelopes_to_account()
    assert retirement.account_for_split(old.split_id) == asked
    assert retirement.earlier_splits == [] and retirement.envelopes_to_account() == asked
    for envelope in asked:
        retirement.account_envelope(
            envelope, Outcome.DESTROYED, serial_read=envelope.serial, returned_by="in person"
        )
    with pytest.raises(InputError, match="already accounted for"):
        retirement.account_for_split(old.split_id)
    retirement.close()


def test_a_retirement_closed_with_envelopes_unanswered_is_taken_up_later(cast, people):
    old = generate(people, OLD, 2)
    first = start_retirement(people, "end of life")
    first.retire_key(old.key_id, RetirementReason.END_OF_CRYPTOPERIOD)
    first.close()  # closed anyway, envelopes unanswered: still held on record
    register = read_register(cast.ledger.events())
    assert [e.share_number for e in retired_outstanding(register)[old.split_id]] == [1, 2, 3]

    later = start_retirement(people, "the envelopes come back")
    taken = later.account_for_split(old.split_id)
    envelope = taken[0]
    with pytest.raises(InputError, match="do not destroy it"):
        later.account_envelope(envelope, Outcome.DESTROYED, serial_read=old.serials[2], returned_by="Cust1")
    later.account_envelope(envelope, Outcome.SEAL_BROKEN, returned_by="Cust1", note="tape lifted")
    assert [e.share_number for e in later.envelopes_to_account()] == [2, 3]
    later.close()
    assert verify_ledger(cast.ledger.path).events == cast.ledger.size()
