"""``ceremony export [--ledger PATH] --out DIR``: the auditor's evidence bundle (DESIGN §5).

Writes ``DIR/ledger.sqlite3`` (SQLite backup API copy without the key store), ``DIR/events.jsonl`` and
``DIR/checkpoint.txt``; see :mod:`ceremony.ledger.export`. ``ceremony verify --ledger DIR/ledger.sqlite3``
checks the copy on any machine.
"""

from __future__ import annotations

import argparse
from typing import Any

from ceremony.commands import ledger_path
from ceremony.ledger.export import export_ledger


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="copy the ledger and its events (JSON Lines) into a folder for auditors",
        description="Copies the ledger with SQLite's backup API (private key store removed) and writes its "
        "events as JSON Lines, for verification on another machine.",
    )
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file to export")
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write the bundle into")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    result = export_ledger(ledger_path(args), args.out)
    print(f"Exported {result.events} events to {result.directory}")
    print(f"  {result.ledger.name}  {result.events_jsonl.name}")
    if result.checkpoint is not None:
        print(f"  checkpoint: {result.checkpoint.text()}")
    return 0
