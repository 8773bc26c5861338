"""Lockout from the ledger (issue 13 part 5): three wrong passphrases lock a person out on record, a restart
does not unlock them, and only a security officer and a witness lift it (``auth.lockout_lifted``).

Real SQLite ledgers (flow_support.make_cast), real scrypt unlocks (light cost), no mocks.
"""

from __future__ import annotations

import pytest
from flow_support import Cast, passphrase_of

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import DualControlError, InputError, WrongPassphraseError
from ceremony.flows.lockout import lift_lockout, locked_out_people
from ceremony.flows.presence import MAX_ATTEMPTS, LockedOutError, Presence
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


def wrong(presence: Presence, person_id: str, role: str = "custodian", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(WrongPassphraseError):
            presence.authenticate(person_id, SecretBytes(b"not the passphrase"), role)


def failed(ledger: Ledger, person_id: str) -> list[int]:
    return [e.seq for e in ledger.events() if e.type == "auth.failed" and e.record.person_id == person_id]


def lock_out(cast: Cast, name: str, role: str = "custodian") -> int:
    """``name`` types three wrong passphrases while Walter watches; returns the event that locks them out."""
    presence = Presence(cast.ledger)
    walter = presence.authenticate(cast.ids["walter"], passphrase_of("walter"), "witness")
    wrong(presence, cast.ids[name], role, MAX_ATTEMPTS)
    walter.leave()
    return failed(cast.ledger, cast.ids[name])[-1]


def reopen(cast: Cast) -> Cast:
    """The program restarts: a new Ledger object on the same file (and, by the caller, a new Presence)."""
    path = cast.ledger.path
    cast.ledger.close()
    return Cast(Ledger.open(path), cast.ids)


def test_the_lockout_survives_a_restart(cast: Cast) -> None:
    seq = lock_out(cast, "cust1")
    cast = reopen(cast)
    try:
        with pytest.raises(LockedOutError) as refused:
            Presence(cast.ledger).authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian")
        assert refused.value.seq == seq
        message = str(refused.value)
        assert f"locked out on record since event #{seq}" in message
        assert "a security officer and a witness" in message
        assert [p.person_id for p in locked_out_people(cast.ledger)] == [cast.ids["cust1"]]
        assert len(failed(cast.ledger, cast.ids["cust1"])) == MAX_ATTEMPTS  # the refusal records nothing
    finally:
        cast.ledger.close()


def test_failures_count_across_restarts_until_a_success_goes_on_record(cast: Cast) -> None:
    presence = Presence(cast.ledger)
    walter = presence.authenticate(cast.ids["walter"], passphrase_of("walter"), "witness")
    wrong(presence, cast.ids["cust1"], times=2)
    walter.leave()
    cast = reopen(cast)
    try:
        presence = Presence(cast.ledger)
        assert presence.attempts(cast.ids["cust1"]).count == 2
        walter = presence.authenticate(cast.ids["walter"], passphrase_of("walter"), "witness")
        with pytest.raises(WrongPassphraseError, match="now locked out"):
            presence.authenticate(cast.ids["cust1"], SecretBytes(b"third guess"), "custodian")
        assert [e.record.attempt for e in cast.ledger.events() if e.type == "auth.failed"] == [1, 2, 3]
        with pytest.raises(LockedOutError):
            presence.authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian")
        walter.leave()
    finally:
        cast.ledger.close()


def test_a_success_on_record_restarts_the_count(cast: Cast) -> None:
    presence = Presence(cast.ledger)
    # Nobody is present: the failures wait, and the person signs them once they succeed.
    wrong(presence, cast.ids["cust1"], times=2)
    me = presence.authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian")
    me.leave()
    assert len(failed(cast.ledger, cast.ids["cust1"])) == 2
    assert Presence(cast.ledger).attempts(cast.ids["cust1"]).count == 0
    lock_out(cast, "cust1")  # three fresh tries, then locked


def test_a_success_not_on_record_does_not_restart_the_count(cast: Cast) -> None:
    presence = Presence(cast.ledger)
    walter = presence.authenticate(cast.ids["walter"], passphrase_of("walter"), "witness")
    wrong(presence, cast.ids["cust1"], times=2)
    presence.authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian").leave()  # signs nothing
    wrong(presence, cast.ids["cust1"])
    with pytest.raises(LockedOutError, match="on record since event"):
        presence.authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian")
    walter.leave()


def test_failures_waiting_for_a_signer_lock_out_in_memory_and_say_so(cast: Cast) -> None:
    presence = Presence(cast.ledger)
    wrong(presence, cast.ids["alice"], "administrator", MAX_ATTEMPTS)
    with pytest.raises(LockedOutError, match="go on record when someone present signs") as refused:
        presence.authenticate(cast.ids["alice"], passphrase_of("alice"), "administrator")
    assert refused.value.seq is None
    assert failed(cast.ledger, cast.ids["alice"]) == []
    presence.authenticate(cast.ids["walter"], passphrase_of("walter"), "witness").leave()  # signs them
    assert len(failed(cast.ledger, cast.ids["alice"])) == MAX_ATTEMPTS
    assert [p.person_id for p in locked_out_people(cast.ledger)] == [cast.ids["alice"]]


def test_a_security_officer_and_a_witness_lift_the_lockout(cast: Cast) -> None:
    seq = lock_out(cast, "cust1")
    officer = cast.present("sophie", "security_officer")
    witness = cast.present("walter", "witness")
    lifted = lift_lockout(
        cast.ledger, cast.ids["cust1"], "  identity confirmed in person  ", officer, witness
    )
    event = cast.ledger.event(lifted.seq)
    assert event.type == "auth.lockout_lifted" and lifted.seq > seq
    assert event.record.person_id == cast.ids["cust1"]
    assert (event.record.failures, event.record.reason) == (MAX_ATTEMPTS, "identity confirmed in person")
    assert sorted(event.attested_by) == sorted([cast.ids["sophie"], cast.ids["walter"]])
    assert locked_out_people(cast.ledger) == []
    cast = reopen(cast)
    try:
        Presence(cast.ledger).authenticate(cast.ids["cust1"], passphrase_of("cust1"), "custodian").leave()
        assert verify_ledger(cast.ledger.path).events == cast.ledger.size()
        # the count started afresh at the lift: three new failures lock out again
        lock_out(cast, "cust1")
    finally:
        cast.ledger.close()


def test_the_lift_is_refused_for_a_non_officer(cast: Cast) -> None:
    lock_out(cast, "cust1")
    alice = cast.present("alice", "administrator")
    witness = cast.present("walter", "witness")
    with pytest.raises(DualControlError, match="not an active security officer"):
        lift_lockout(cast.ledger, cast.ids["cust1"], "identity confirmed", alice, witness)
    officer = cast.present("sophie", "security_officer")
    with pytest.raises(DualControlError, match="not an active witness"):
        lift_lockout(cast.ledger, cast.ids["cust1"], "identity confirmed", officer, alice)
    with pytest.raises(DualControlError, match="two control roles"):
        lift_lockout(cast.ledger, cast.ids["cust1"], "identity confirmed", officer, officer)
    assert [p.person_id for p in locked_out_people(cast.ledger)] == [cast.ids["cust1"]]


def test_the_locked_person_cannot_witness_their_own_lift(cast: Cast) -> None:
    walter = cast.present("walter", "witness")  # authenticated before the lockout
    presence = Presence(cast.ledger)
    alice = presence.authenticate(cast.ids["alice"], passphrase_of("alice"), "administrator")
    wrong(presence, cast.ids["walter"], "witness", MAX_ATTEMPTS)
    alice.leave()
    officer = cast.present("sophie", "security_officer")
    with pytest.raises(DualControlError, match="own lockout"):
        lift_lockout(cast.ledger, cast.ids["walter"], "identity confirmed", officer, walter)
    with pytest.raises(LockedOutError):
        cast.present("walter", "witness")


def test_the_lift_is_refused_for_a_person_not_locked_out_and_without_a_reason(cast: Cast) -> None:
    officer = cast.present("sophie", "security_officer")
    witness = cast.present("walter", "witness")
    presence = Presence(cast.ledger)
    presence.authenticate(cast.ids["alice"], passphrase_of("alice"), "administrator")
    wrong(presence, cast.ids["cust1"], times=MAX_ATTEMPTS - 1)  # two failures: not locked out
    size = cast.ledger.size()
    with pytest.raises(InputError, match="not locked out on record"):
        lift_lockout(cast.ledger, cast.ids["cust1"], "identity confirmed", officer, witness)
    assert cast.ledger.size() == size
    lock_out(cast, "cust2")
    size = cast.ledger.size()
    with pytest.raises(InputError, match="state why"):
        lift_lockout(cast.ledger, cast.ids["cust2"], "   ", officer, witness)
    assert cast.ledger.size() == size
