"""``ceremony report KIND [--ledger PATH] [--format text|json|csv|pdf] [--out FILE] [--key KEY_ID]
[--person EMPLOYEE_ID] [--from DATE] [--to DATE]`` (DESIGN §6).

KIND is custody, custodians, keys, ceremonies or exceptions. The ledger is opened read-only
(:meth:`Ledger.open_for_reading`): an auditor needs no passphrase and nothing is written. ``--to DATE``
reports the ledger as it stood at the end of that day (UTC) and is also the date statuses are judged at
(reaffirmation overdue, exception expired, cryptoperiod over); without it, now. PDF needs ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceremony.commands import ledger_path
from ceremony.errors import InputError, ReportError

if TYPE_CHECKING:
    from ceremony.reports.model import Filters, LedgerFacts

# The ledger, the reports and their renderer (reportlab) are imported where used: registering this
# subcommand must stay light (issue 14). tests/cli/test_light_imports.py checks these two against
# ceremony.reports.KINDS and ceremony.reports.render.FORMATS.
KIND_NAMES = ("custody", "custodians", "keys", "ceremonies", "exceptions")
FORMAT_NAMES = ("text", "json", "csv", "pdf")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="custody, custodians, keys, ceremonies or exceptions report (read-only)",
        description="Reads the ledger without changing it and prints or writes one report.",
    )
    parser.add_argument("kind", choices=KIND_NAMES, metavar="KIND", help=", ".join(KIND_NAMES))
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file to read")
    parser.add_argument("--format", choices=FORMAT_NAMES, default="text")
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument(
        "--key", metavar="KEY_ID", help="only this key: its id or any unique beginning of it, as listed"
    )
    parser.add_argument(
        "--person", metavar="EMPLOYEE_ID", help="only this person: employee id (or person id)"
    )
    parser.add_argument("--from", dest="since", metavar="DATE", help="from this day (YYYY-MM-DD, UTC)")
    parser.add_argument(
        "--to", dest="until", metavar="DATE", help="the ledger as it stood at the end of this day (UTC)"
    )
    parser.set_defaults(handler=run)


def produce(
    path: Path,
    kind: str,
    fmt: str,
    filters: Filters,
    now: datetime | None = None,
) -> bytes:
    """Open the ledger read-only, replay it once and render one report."""
    from ceremony.ledger.store import Ledger
    from ceremony.reports import build_report
    from ceremony.reports.model import read_facts
    from ceremony.reports.render import render

    as_of = filters.until or now or datetime.now(UTC)
    with Ledger.open_for_reading(path) as ledger:
        facts = read_facts(ledger, filters.until)
    return render(build_report(kind, facts, resolve_filters(facts, filters), as_of), fmt)


def resolve_filters(facts: LedgerFacts, filters: Filters) -> Filters:
    """``--key`` as the whole key id or any unique beginning of it (the key list shows 8 characters);
    ``--person`` as an employee id or a person id (issue 15: ids people know). Refused with what was looked
    up and how to list what there is."""
    from dataclasses import replace

    from ceremony.ledger.participants import find_by_prefix, find_person

    key_id, person_id = filters.key_id, filters.person_id
    if key_id:
        try:
            key_id = find_by_prefix(key_id, facts.keys, "key", "--key", lambda k: facts.keys[k].label)
        except InputError as error:
            raise ReportError(f"{error}; `ceremony report keys` lists every key with its id") from None
    if person_id:
        try:
            person_id = find_person(facts.people.values(), person_id, "--person").person_id
        except InputError as error:
            raise ReportError(str(error)) from None
    return replace(filters, key_id=key_id, person_id=person_id)


def run(args: argparse.Namespace) -> int:
    from ceremony.reports.model import Filters, parse_day

    if args.format == "pdf" and not args.out:
        raise ReportError("a PDF report needs --out FILE (it is not printed to the terminal)")
    since = parse_day(args.since, end=False)
    until = parse_day(args.until, end=True)
    if since and until and since > until:
        raise ReportError("--from is after --to")
    filters = Filters(args.key, args.person, since, until)
    output = produce(ledger_path(args), args.kind, args.format, filters)
    if args.out:
        out = Path(args.out)
        try:
            out.write_bytes(output)
        except OSError as exc:
            raise ReportError(f"cannot write the report to {out}: {exc.strerror}") from None
    else:
        sys.stdout.buffer.write(output)
        sys.stdout.flush()
    return 0
