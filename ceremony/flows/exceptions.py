"""Recording PCI DSS 1.2.6 exceptions in the ledger, and reading the ones in force.

A security officer approves, another person witnesses (dual control); both are present (their passphrases
unlocked their keys) and both sign the ``preflight.exception`` event. Records are never changed: an
exception ends when it expires, and a new one is recorded for a new period.
"""

from __future__ import annotations

from datetime import datetime

from ceremony.errors import DualControlError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger.store import Ledger
from ceremony.preflight.exceptions import ExceptionRecord, active_exceptions

EXCEPTION_EVENT = "preflight.exception"


def record_exception(
    ledger: Ledger, record: ExceptionRecord, officer: PresentPerson, witness: PresentPerson
) -> int:
    """Append the exception signed by officer and witness; returns its event seq."""
    if officer.person_id != record.approved_by:
        raise DualControlError("the exception must be approved by the security officer who is present")
    if witness.person_id != record.witness:
        raise DualControlError("the exception must be witnessed by the witness who is present")
    if "security_officer" not in officer.person.roles:
        raise DualControlError(f"{officer.name} is not enrolled as a security officer")
    event = ledger.append(
        EXCEPTION_EVENT, record.to_dict(), [officer.person_id, witness.person_id], [officer, witness]
    )
    return int(event.seq)


def ledger_exceptions(ledger: Ledger) -> tuple[ExceptionRecord, ...]:
    """Every exception ever recorded, oldest first."""
    return tuple(
        ExceptionRecord.from_dict(dict(event.payload))
        for event in ledger.events()
        if event.type == EXCEPTION_EVENT
    )


def exceptions_in_force(ledger: Ledger, now: datetime) -> tuple[ExceptionRecord, ...]:
    return active_exceptions(ledger_exceptions(ledger), now)
