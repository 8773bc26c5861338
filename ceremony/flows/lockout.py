"""Lifting a lockout (issue 13): after :data:`~ceremony.policy.lockout.MAX_ATTEMPTS` wrong passphrases in a
row a person is locked out on record (:mod:`ceremony.policy.lockout`), across restarts, until a security
officer and a witness lift it.

:func:`lift_lockout` records ``auth.lockout_lifted`` {person_id, failures, reason}, signed by both, after
checking dual control: the officer is enrolled (and active) as a security officer, the witness is a
different person, neither of them is the person locked out, the person really is locked out on record, and
a reason is given. :func:`locked_out_people` is the list the officer's screen offers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ceremony.errors import DualControlError, InputError
from ceremony.flows.common import Present, distinct
from ceremony.ledger.participants import Participant, take_person
from ceremony.ledger.schema import Record
from ceremony.ledger.store import Ledger
from ceremony.policy.lockout import Standing, fold_records

LOCKOUT_LIFTED = "auth.lockout_lifted"
MAX_RECORDED_FAILURES = 1000  # the schema's bound on the failures a lift names


@dataclass(frozen=True)
class LockedOut:
    """A person locked out on record: who, since which event, how many failures counted."""

    person: Participant
    standing: Standing

    @property
    def person_id(self) -> str:
        return self.person.person_id

    @property
    def name(self) -> str:
        return self.person.name

    @property
    def since_seq(self) -> int:
        assert self.standing.locked_seq is not None
        return self.standing.locked_seq

    @property
    def failures(self) -> int:
        return self.standing.count


@dataclass(frozen=True)
class Lifted:
    person_id: str
    name: str
    failures: int
    seq: int  # the auth.lockout_lifted event


def _read(ledger: Ledger) -> tuple[dict[str, Participant], list[Standing]]:
    """People and the lockouts on record, in one pass over the ledger."""
    people: dict[str, Participant] = {}

    def read() -> Iterator[tuple[int, Record, tuple[str, ...]]]:
        for event in ledger.events():
            take_person(people, event)
            yield event.seq, event.record, event.attested_by

    book = fold_records(read())
    return people, book.locked()


def locked_out_people(ledger: Ledger) -> list[LockedOut]:
    """Every active person locked out on record, in the order they were locked out."""
    people, locked = _read(ledger)
    active = [s for s in locked if s.person_id in people and people[s.person_id].active]
    return [LockedOut(people[s.person_id], s) for s in active]


def lift_lockout(
    ledger: Ledger, person_id: str, reason: str, security_officer: Present, witness: Present
) -> Lifted:
    """Lift ``person_id``'s lockout: ``auth.lockout_lifted`` signed by the security officer and the witness.

    :raises InputError: no reason, the person is unknown, deactivated or not locked out on record.
    :raises DualControlError: the officer is not an active security officer, the witness is the officer or
        not enrolled as a witness, or either of them is the person locked out.
    """
    if not reason.strip():
        raise InputError(
            "state why the lockout is lifted (who checked what, e.g. identity confirmed in person)"
        )
    distinct(security_officer, witness)
    if person_id in (security_officer.person_id, witness.person_id):
        raise DualControlError("the person locked out cannot lift or witness the lift of their own lockout")
    people, locked = _read(ledger)
    officer = people.get(security_officer.person_id)
    if officer is None or not officer.active or "security_officer" not in officer.roles:
        raise DualControlError(f"{security_officer.person_id} is not an active security officer")
    second = people.get(witness.person_id)
    if second is None or not second.active or "witness" not in second.roles:
        raise DualControlError(f"{witness.person_id} is not an active witness")
    person = people.get(person_id)
    if person is None:
        raise InputError(f"{person_id} is not an enrolled participant of this ledger")
    if not person.active:
        raise InputError(
            f"{person.name} ({person_id}) was deactivated at event #{person.deactivated_seq}: "
            "there is no lockout to lift"
        )
    standing = next((s for s in locked if s.person_id == person_id), None)
    if standing is None:
        raise InputError(f"{person.name} ({person_id}) is not locked out on record: there is nothing to lift")
    failures = min(max(standing.count, 1), MAX_RECORDED_FAILURES)
    event = ledger.append(
        LOCKOUT_LIFTED,
        {"person_id": person_id, "failures": failures, "reason": reason.strip()},
        [security_officer.person_id, witness.person_id],
        [security_officer, witness],
    )
    return Lifted(person_id, person.name, failures, event.seq)
