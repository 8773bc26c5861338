"""The exceptions report (PCI DSS 1.2.6): every insecure-service exception recorded for the ceremony laptop
(``preflight.exception`` events), active and expired at the report's date, with the business
justification, the compensating controls, who approved it and who witnessed it.

One exception may cover several findings (``also_covers``): the report names every one, and the CSV has a
row per finding covered (the exception's other columns repeated), so a subject can be looked up directly.

``--person`` keeps exceptions that person approved or witnessed; ``--from``/``--to`` those in force at
some time in the period. (``--key`` does not apply: an exception is about the laptop, not a key.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceremony.reports.model import (
    ExceptionFacts,
    Filters,
    LedgerFacts,
    Report,
    Section,
    Table,
    iso,
    make_report,
    show_time,
)

KIND = "exceptions"
TITLE = "Insecure-service exceptions on the ceremony laptop"
BASIS = "PCI DSS 4.0.1 Req. 1.2.6 (security features for insecure services, protocols and ports)"
CSV_COLUMNS = (
    "exception_id",
    "status",
    "check",
    "subject",
    "justification",
    "compensating_controls",
    "approved_by",
    "witness",
    "created",
    "expires",
    "seq",
)


def status_of(record: ExceptionFacts, now: datetime) -> str:
    if now < record.created:
        return "not yet in force"
    return "active" if record.active(now) else "expired"


def finding_text(check: str, subject: str) -> str:
    """A finding an exception covers, readably: ``mem.swap, all subjects`` for the ``*`` subject (every
    finding of the check), ``net.iface: wlan0`` otherwise."""
    if subject == "*":
        return f"{check}, all subjects"
    return f"{check}: {subject}" if subject else check


def covered(record: ExceptionFacts) -> tuple[tuple[str, str], ...]:
    """Every (check, subject) the exception covers, the first finding first."""
    return record.covered or ((record.check, record.subject),)


def build(facts: LedgerFacts, filters: Filters, as_of: datetime) -> Report:
    chosen: list[ExceptionFacts] = []
    for record in facts.exceptions:
        if filters.person_id and filters.person_id not in (record.approved_by, record.witness):
            continue
        if filters.since is not None and record.expires < filters.since:
            continue
        if filters.until is not None and record.created > filters.until:
            continue
        chosen.append(record)
    records: list[dict[str, Any]] = []
    rows: list[tuple[str, ...]] = []
    groups: dict[str, list[tuple[str, ...]]] = {"active": [], "expired": [], "not yet in force": []}
    for record in sorted(chosen, key=lambda r: (r.expires, r.exception_id), reverse=True):
        status = status_of(record, as_of)
        findings = covered(record)
        groups[status].append(
            (
                f"{record.exception_id}\n#{record.seq}",
                "\n".join(finding_text(check, subject) for check, subject in findings),
                record.justification,
                record.compensating_controls,
                f"{facts.name_of(record.approved_by)}\nwitness {facts.name_of(record.witness)}",
                f"{show_time(record.created)}\nto {show_time(record.expires)}",
            )
        )
        records.append(
            {
                "exception_id": record.exception_id,
                "status": status,
                "check": record.check,
                "subject": record.subject,
                "covered": [{"check": check, "subject": subject} for check, subject in findings],
                "justification": record.justification,
                "compensating_controls": record.compensating_controls,
                "approved_by": record.approved_by,
                "witness": record.witness,
                "created": iso(record.created),
                "expires": iso(record.expires),
                "seq": record.seq,
                "signers": list(record.signers),
            }
        )
        rows.extend(
            (
                record.exception_id,
                status,
                check,
                subject,
                record.justification,
                record.compensating_controls,
                record.approved_by,
                record.witness,
                iso(record.created),
                iso(record.expires),
                str(record.seq),
            )
            for check, subject in findings
        )
    columns = (
        "Exception",
        "Finding covered",
        "Justification",
        "Compensating controls",
        "Approved",
        "In force",
    )
    weights = (1.3, 1.6, 2.6, 2.6, 1.6, 1.5)
    sections = [
        Section(
            heading=f"{status.capitalize()} ({len(group)})",
            tables=(Table(columns, tuple(group), weights, stacked_in_text=True),),
        )
        for status, group in groups.items()
        if group or status != "not yet in force"
    ]
    return make_report(
        facts,
        filters,
        as_of,
        kind=KIND,
        title=TITLE,
        basis=BASIS,
        sections=sections if chosen else [],
        records=records,
        csv_columns=CSV_COLUMNS,
        csv_rows=rows,
    )
