"""``ceremony export [--ledger PATH] --out DIR [--officer PERSON] [--documents DIR]...``: the auditor's
evidence bundle.

Writes ``DIR/ledger.sqlite3`` (SQLite backup API copy without the key store), ``DIR/events.jsonl``,
``DIR/checkpoint.txt``, ``DIR/root.pem``, ``DIR/anchor.txt`` (see :mod:`ceremony.ledger.export`), every
report as PDF and CSV under ``DIR/reports/`` and every signed document the ledger issued under
``DIR/documents/`` (found by SHA-256 in ``ceremony-documents/`` beside the ledger and any ``--documents``
folder; see :func:`ceremony.reports.bundle.copy_documents`). With ``--officer`` (a person id or an employee
id) that security officer (present: passphrase typed, or one line on standard input from a script) signs
``manifest.json``, the SHA-256 of every file in the bundle and the list of documents, bundled or not found.
The officer's certificate fingerprint is printed in full, grouped, to be handed to the auditor apart from the
bundle: ``ceremony verify --bundle DIR --officer-cert-sha256 "…"`` checks it all on any machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ceremony.commands import existing_ledger, ledger_path, passphrase_prompt, read_passphrase

if TYPE_CHECKING:
    from ceremony.ledger.participants import Participant


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="evidence bundle for auditors: ledger copy, events (JSON Lines), reports, signed documents, "
        "signed manifest",
        description="Copies the ledger with SQLite's backup API (private key store removed), writes its "
        "events as JSON Lines, every report as PDF and CSV, and copies every signed document the ledger "
        "issued (found by SHA-256 beside the ledger in ceremony-documents/ and in any --documents folder); "
        "with --officer, a manifest of file hashes signed by that security officer, whose certificate "
        "fingerprint is printed for the auditor.",
    )
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file to export")
    parser.add_argument("--out", metavar="DIR", required=True, help="folder to write the bundle into")
    parser.add_argument(
        "--officer",
        metavar="PERSON",
        help="security officer who signs the manifest, by employee id or person id (asks their passphrase)",
    )
    parser.add_argument(
        "--documents",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="another folder holding signed documents of this ledger (e.g. a rehearsal's --out folder); "
        "ceremony-documents/ beside the ledger is always searched",
    )
    parser.set_defaults(handler=run)


def officer_named(source: Path, given: str) -> Participant:
    """The participant ``--officer`` names: an employee id or a person id (issue 15: ids people know)."""
    from ceremony.ledger.participants import resolve_person
    from ceremony.ledger.store import Ledger

    with Ledger.open_for_reading(source) as ledger:
        return resolve_person(ledger, given, "--officer")


def run(args: argparse.Namespace) -> int:
    from ceremony.crypto.fingerprint import printed
    from ceremony.documents.archive import documents_folder
    from ceremony.errors import LedgerError
    from ceremony.ledger.export import export_ledger
    from ceremony.reports.bundle import (
        DOCUMENTS_DIR,
        OfficerSigner,
        cert_fingerprint,
        copy_documents,
        write_manifest,
        write_reports,
    )

    source = existing_ledger(ledger_path(args))
    out = Path(args.out)
    if (out / DOCUMENTS_DIR).exists():
        raise LedgerError(f"{out / DOCUMENTS_DIR} already exists; export into an empty folder.")
    officer = None
    if args.officer:
        # Authenticate before writing anything, so a wrong passphrase leaves no half-made bundle.
        from ceremony.flows.presence import Presence
        from ceremony.ledger.store import Ledger

        person = officer_named(source, args.officer)
        prompt = passphrase_prompt(person, "security_officer")
        with Ledger.open(source) as ledger:
            officer = Presence(ledger).authenticate(
                person.person_id, read_passphrase(prompt), "security_officer"
            )
    try:
        result = export_ledger(source, out)
        reports = write_reports(result.ledger, out)
        documents, cards = copy_documents(result.ledger, out, [documents_folder(source), *args.documents])
    except BaseException:
        if officer is not None:
            officer.leave()
        raise
    bundled = [d for d in documents if d.path is not None]
    missing = [d for d in documents if d.path is None]
    print(f"Exported {result.events} events to {result.directory}")
    print(
        f"  {result.ledger.name}  {result.events_jsonl.name}  root.pem  anchor.txt  "
        f"reports/ ({len(reports)} files)"
    )
    print(
        f"  {DOCUMENTS_DIR}/: {len(bundled)} of {len(documents)} signed documents the ledger issued"
        + (f"; {cards} sealed share cards are never bundled" if cards else "")
    )
    for document in missing:
        print(f"    not found: {document.kind} of event #{document.event_seq}, SHA-256 {document.sha256}")
    if missing:
        print(
            "    (searched by SHA-256 in "
            + ", ".join(str(p) for p in [documents_folder(source), *args.documents])
            + "; add --documents DIR where the papers are)"
        )
    if result.checkpoint is not None:
        print(f"  checkpoint: {result.checkpoint.text()}")
    if officer is None:
        print("  no manifest: pass --officer EMPLOYEE_ID to have a security officer sign one")
        return 0
    try:
        fingerprint = cert_fingerprint(officer.identity.certificate)
        manifest = write_manifest(
            out,
            OfficerSigner(officer.person_id, officer.identity),
            ledger_id=result.checkpoint.ledger_id if result.checkpoint else "",
            checkpoint=result.checkpoint.text() if result.checkpoint else "",
            documents=documents,
            share_cards_left_out=cards,
        )
    finally:
        officer.leave()
    print(f"  {manifest.name} signed by {officer.name} ({officer.person_id})")
    print(
        f"  certificate fingerprint (SHA-256) of {officer.name}, "
        "to hand to the auditor apart from the bundle:"
    )
    print(f"    {printed(fingerprint)}")
    print(
        "  the auditor checks it with: ceremony verify --bundle DIR "
        f'--officer-cert-sha256 "{printed(fingerprint)}"'
    )
    print('  (or pins it through the ledger anchor kept on paper: ceremony verify --bundle DIR --anchor "…")')
    return 0
