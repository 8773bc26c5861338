"""One report read off a ledger file, and its export to a file: what the reports screen asks for.

The ledger is opened read-only (:meth:`Ledger.open_for_reading`) and closed before the function returns, so a
caller may run :func:`read_report` on any thread: the connection lives and dies there. An auditor needs no
passphrase and nothing is written to the ledger. "Until" works as on the command line: the ledger as it
stood at the end of that day, judged at that day.

Exports go to a folder the reader chooses and never over an existing file: the new one gets a ``-2``,
``-3``… suffix (:func:`ceremony.documents.archive.write_new_file`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ceremony.documents import archive
from ceremony.errors import ReportError
from ceremony.ledger.store import Ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, LedgerFacts, Report, read_facts
from ceremony.reports.render import to_csv, to_pdf

EXPORT_FORMATS = ("pdf", "csv")


def read_report(ledger_path: Path, kind: str, filters: Filters, now: datetime) -> tuple[Report, LedgerFacts]:
    """Open the ledger read-only, replay it (up to ``filters.until``) and build one report; same rules as
    ``ceremony report`` (an unknown key or person is refused). Returns the report and the facts (whose keys
    and people a screen offers as filters)."""
    as_of = filters.until or now
    with Ledger.open_for_reading(ledger_path) as ledger:
        facts = read_facts(ledger, filters.until)
    if filters.key_id and filters.key_id not in facts.keys:
        raise ReportError(f"the ledger has no key {filters.key_id[:40]!r} on that date")
    if filters.person_id and filters.person_id not in facts.people:
        raise ReportError(f"the ledger has no person {filters.person_id[:40]!r} on that date")
    return build_report(kind, facts, filters, as_of), facts


def export_name(report: Report, fmt: str) -> str:
    """``custody-report-2026-03-04.pdf``: the kind and the date the report was judged at."""
    return f"{report.kind}-report-{report.as_of.astimezone(UTC):%Y-%m-%d}.{fmt}"


def write_export(report: Report, fmt: str, folder: Path) -> Path:
    """Render ``report`` as ``fmt`` into ``folder`` under a new name (never over an existing file)."""
    if fmt not in EXPORT_FORMATS:
        raise ReportError(f"reports are exported as {' or '.join(EXPORT_FORMATS)}, not {fmt[:10]!r}")
    data = to_pdf(report) if fmt == "pdf" else to_csv(report).encode("utf-8")
    name = export_name(report, fmt)
    try:
        return archive.write_new_file(folder / name, data)  # never replaces an exported file
    except FileExistsError:
        raise ReportError(
            f"{folder} already holds {archive.MAX_COPIES} copies of {name}; choose another folder"
        ) from None
    except OSError as exc:
        raise ReportError(f"cannot write the report into {folder}: {exc.strerror}") from None
