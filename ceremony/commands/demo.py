"""``ceremony demo --ledger PATH``: build a realistic sample rehearsal ledger to explore (DESIGN §6).

See :mod:`ceremony.flows.demo` for what it holds. Refuses an existing file; everything in it is marked
as rehearsal and every key as a TEST key. Prints what was built and how to log in as a participant.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ceremony.commands import ledger_path
from ceremony.errors import InputError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="build a sample rehearsal ledger (a year of ceremonies) to explore",
        description="Builds a new rehearsal ledger through the real flows, with TEST keys only.",
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
    print(
        "  log in as anyone with the passphrase 'demo passphrase <employee id>', e.g. 'demo passphrase E1004'"
    )
    print(f"  try: ceremony report custody --ledger {summary.path}")
    return 0
