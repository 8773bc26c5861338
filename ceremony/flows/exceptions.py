"""Recording PCI DSS 1.2.6 exceptions in the ledger, and reading the ones in force.

A security officer approves, another person witnesses (dual control); both are present (their passphrases
unlocked their keys) and both sign the ``preflight.exception`` event. Records are never changed: an
exception ends when it expires, and a new one is recorded for a new period.

One record may cover several findings (:func:`record_findings_exception`, the findings ticked on the
preflight screen): one event, so one justification, one expiry and one pair of signatures cover them
together, and the record is written whole or not at all. A record of one finding is written exactly as
before (no ``also_covers``), so older readers see nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ceremony.errors import DualControlError, ExceptionRecordError
from ceremony.flows.common import distinct, require_security_officer
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import register
from ceremony.ledger.schema import PreflightException
from ceremony.ledger.store import Ledger
from ceremony.preflight.exceptions import (
    MAX_EXCEPTION_LIFETIME,
    ExceptionRecord,
    active_exceptions,
    needs_cover,
)
from ceremony.preflight.findings import Finding

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


def record_findings_exception(
    ledger: Ledger,
    findings: Sequence[Finding],
    *,
    current: Sequence[Finding],
    justification: str,
    compensating_controls: str,
    days: int,
    officer: PresentPerson,
    witness: PresentPerson,
    now: datetime,
) -> tuple[ExceptionRecord, int]:
    """Record one exception covering exactly ``findings`` (ticked among ``current``, the findings the
    preflight shows now), approved by ``officer`` and witnessed by ``witness``, valid ``days`` days from
    ``now``; returns the record and its event seq.

    Refused before anything is written: no finding ticked, a ticked finding the preflight does not show now
    or that needs no cover (it would be recorded and cover nothing), an officer not enrolled as a security
    officer, one person in both roles, a life outside 1..90 days, an empty justification or control.
    """
    if not findings:
        raise ExceptionRecordError("tick at least one finding for the exception to cover")
    for finding in findings:
        if finding not in current or not needs_cover(finding):
            what = f"{finding.check} {finding.subject or finding.summary}"[:80]
            raise ExceptionRecordError(
                f"{what!r} is not a finding the preflight shows now, so the exception would cover nothing; "
                "run the preflight again"
            )
    distinct(officer, witness)
    require_security_officer(ledger, officer)
    if not 1 <= days <= MAX_EXCEPTION_LIFETIME.days:
        raise ExceptionRecordError(
            f"an exception lasts from 1 to {MAX_EXCEPTION_LIFETIME.days} days (PCI DSS 1.2.6), not {days}"
        )
    record = ExceptionRecord.for_findings(
        findings,
        justification=justification.strip(),
        compensating_controls=compensating_controls.strip(),
        approved_by=officer.person_id,
        witness=witness.person_id,
        created=now,
        expires=now + timedelta(days=days),
    )
    return record, record_exception(ledger, record, officer, witness)


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
        also_covers=record.covered[1:],
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
