"""``ceremony demo --ledger PATH``: build a realistic sample rehearsal ledger to explore (DESIGN §6).

See :mod:`ceremony.flows.demo` for what it holds. Refuses an existing file; everything in it is marked
as rehearsal and every key as a TEST key. Its signed PDFs go where the TUI writes them, under
``ceremony-documents/`` beside the ledger. Prints what was built and how to act as each of its people: the
passphrase of the person with employee id E1004 is ``demo passphrase E1004`` (said in ``--help`` too).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceremony.commands import ledger_path
from ceremony.errors import InputError

# Kept here, not imported from ceremony.flows.demo: registering the command must stay light (issue 14).
# tests/flows/test_demo_documents.py checks them against the demo's roster.
EXAMPLE = "demo passphrase E1004"
WHO = "Sophie Laurent, the security officer (E1004)"
PEOPLE = (
    "Employee ids: E1001 Alice Morgan and E1002 Omar Haddad (administrators), E1003 Walter Chen (witness), "
    "E1004 Sophie Laurent (security officer), E2001-E2008 the custodians."
)


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build a sample rehearsal ledger (a year of ceremonies) to explore",
        description="Builds a new rehearsal ledger through the real flows, with TEST keys only: twelve "
        "people, four keys, a year of ceremonies, a recovery, a departure, a re-share and a reaffirmation "
        "round. Its signed PDFs (ledger anchor, acknowledgements, minutes, reaffirmations, envelope "
        "destruction certificates) are written under ceremony-documents/ beside the ledger, where "
        "`ceremony export` finds them and `ceremony verify "
        "--document FILE` checks each.",
        epilog=f"Acting as its people: every passphrase is 'demo passphrase <employee id>', e.g. '{EXAMPLE}' "
        f"for {WHO}. {PEOPLE} List everyone with `ceremony report custodians --ledger PATH`. "
        "A demo ledger is a rehearsal ledger: never use its passphrases, keys or papers for anything real.",
    )
    parser.add_argument(
        "--ledger", metavar="PATH", default=argparse.SUPPRESS, help="new ledger file to create"
    )
    parser.add_argument("--start", metavar="DATE", help="day 0 of the demo year (YYYY-MM-DD, UTC)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.flows.demo import build_demo

    path = ledger_path(args)
    start = None
    if args.start:
        try:
            start = datetime.strptime(args.start, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise InputError(f"{args.start[:20]!r} is not a date; write it as YYYY-MM-DD") from None
    began = time.perf_counter()
    summary = build_demo(Path(path), start=start)
    took = time.perf_counter() - began
    size = Path(summary.path).stat().st_size
    print(f"Demo rehearsal ledger written to {summary.path}")
    print(f"  {summary.events} events, {size / 1024:.0f} KiB, built in {took:.1f} s")
    print(
        f"  from {summary.start:%Y-%m-%d} to {summary.end:%Y-%m-%d}: {len(summary.people)} people, "
        f"{len(summary.keys)} TEST keys"
    )
    print(
        f"  recovery included: {'yes' if summary.recovery else 'no'}; "
        f"re-share included: {'yes' if summary.reshare else 'no (flow not available yet)'}"
    )
    print(f"  {len(summary.papers)} signed PDFs written under {summary.documents}")
    print(
        "  log in as anyone with the passphrase 'demo passphrase <employee id>', "
        "e.g. 'demo passphrase E1004' (Sophie Laurent, security officer)"
    )
    print(f"  try: ceremony report custody --ledger {summary.path}")
    if summary.papers:
        print(f"       ceremony verify --ledger {summary.path} --document {summary.papers[-1]}")
    return 0
