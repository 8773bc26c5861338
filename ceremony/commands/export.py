"""``ceremony export [--ledger PATH] --out DIR [--officer PERSON_ID]``: the auditor's evidence bundle.

Writes ``DIR/ledger.sqlite3`` (SQLite backup API copy without the key store), ``DIR/events.jsonl``,
``DIR/checkpoint.txt`` (see :mod:`ceremony.ledger.export`) and every report as PDF and CSV under
``DIR/reports/``. With ``--officer`` the exporting security officer (present: passphrase typed, or one line
on standard input from a script) signs ``manifest.json``, the SHA-256 of every file in the bundle.
``ceremony verify --bundle DIR`` checks the manifest and the ledger copy on any machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ceremony.commands import ledger_path, read_passphrase


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="evidence bundle for auditors: ledger copy, events (JSON Lines), reports, signed manifest",
        description="Copies the ledger with SQLite's backup API (private key store removed), writes its "
        "events as JSON Lines and every report as PDF and CSV; with --officer, a manifest of file hashes "
        "signed by that security officer.",
    )
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file to export")
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write the bundle into")
    parser.add_argument(
        "--officer", metavar="PERSON_ID", help="security officer who signs the manifest (asks the passphrase)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.ledger.export import export_ledger
    from ceremony.reports.bundle import OfficerSigner, write_manifest, write_reports

    source = ledger_path(args)
    officer = None
    if args.officer:
        # Authenticate before writing anything, so a wrong passphrase leaves no half-made bundle.
        from ceremony.flows.presence import Presence
        from ceremony.ledger.store import Ledger

        with Ledger.open(source) as ledger:
            officer = Presence(ledger).authenticate(
                args.officer, read_passphrase("security officer passphrase: "), "security_officer"
            )
    result = export_ledger(source, args.out)
    reports = write_reports(result.ledger, Path(args.out))
    print(f"Exported {result.events} events to {result.directory}")
    print(f"  {result.ledger.name}  {result.events_jsonl.name}  reports/ ({len(reports)} files)")
    if result.checkpoint is not None:
        print(f"  checkpoint: {result.checkpoint.text()}")
    if officer is not None:
        try:
            manifest = write_manifest(
                Path(args.out),
                OfficerSigner(officer.person_id, officer.identity),
                ledger_id=result.checkpoint.ledger_id if result.checkpoint else "",
                checkpoint=result.checkpoint.text() if result.checkpoint else "",
            )
        finally:
            officer.leave()
        print(f"  {manifest.name} signed by {officer.name} ({officer.person_id})")
    else:
        print("  no manifest: pass --officer PERSON_ID to have a security officer sign one")
    return 0
