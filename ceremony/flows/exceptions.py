"""Recording PCI DSS 1.2.6 exceptions in the ledger, and reading the ones in force.

A security officer approves, another person witnesses (dual control); both are present (their passphrases
unlocked their keys) and both sign the ``preflight.exception`` event. Records are never changed: an
exception ends when it expires, and a new one is recorded for a new period.
"""

from __future__ import annotations

from datetime import datetime

from ceremony.errors import DualControlError, ExceptionRecordError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import register
from ceremony.ledger.schema import PreflightException
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


def exception_of(record: PreflightException) -> ExceptionRecord:
    """The exception a ``preflight.exception`` record states; raises :class:`ExceptionRecordError` (or
    :class:`DualControlError`) when this program cannot honour it (a check it does not know, a time it
    cannot read, a life beyond 90 days)."""
    return ExceptionRecord.from_text(
        exception_id=record.id,
        check=record.check,
        subject=record.subject,
        justification=record.justification,
        compensating_controls=record.compensating_controls,
        approved_by=record.approved_by,
        witness=record.witness,
        created=record.created,
        expires=record.expires,
    )


def ledger_exceptions(ledger: Ledger) -> tuple[ExceptionRecord, ...]:
    """Every exception ever recorded, oldest first (from the register). One this program cannot honour
    covers nothing and is left out here — a preflight it would have cleared stays blocked, the safe side —
    while the exceptions report still lists it as recorded."""
    out: list[ExceptionRecord] = []
    for entry in register.read(ledger).exceptions:
        try:
            out.append(exception_of(entry.record))
        except (ExceptionRecordError, DualControlError):
            continue
    return tuple(out)


def exceptions_in_force(ledger: Ledger, now: datetime) -> tuple[ExceptionRecord, ...]:
    return active_exceptions(ledger_exceptions(ledger), now)
