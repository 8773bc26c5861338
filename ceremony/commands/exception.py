"""``ceremony exception add|list``: PCI DSS 1.2.6 exceptions for preflight findings, in the ledger.

``add`` needs the approving security officer and a witness present: each types their passphrase (at a
terminal without echo; from a script, one line each on standard input, officer first).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ceremony.commands import ledger_path, read_passphrase
from ceremony.errors import InputError
from ceremony.flows.exceptions import ledger_exceptions, record_exception
from ceremony.flows.presence import Presence
from ceremony.ledger.store import Ledger
from ceremony.preflight.exceptions import ExceptionRecord


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exception",
        help="record or list insecure-service exceptions (PCI DSS 1.2.6)",
        description="Exceptions let a ceremony proceed despite one preflight finding, with a business "
        "justification, compensating controls, a security officer's approval, a witness and an expiry.",
    )
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file")
    sub = parser.add_subparsers(dest="exception_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="record a new exception (officer and witness present)")
    add.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file")
    add.add_argument("--check", required=True, help="preflight check id, e.g. net.listening")
    add.add_argument("--subject", required=True, help="the finding's subject, '*' as wildcard")
    add.add_argument("--justification", required=True, help="the business justification")
    add.add_argument("--controls", required=True, help="the compensating controls")
    add.add_argument("--officer", required=True, metavar="PERSON_ID", help="approving security officer")
    add.add_argument("--witness", required=True, metavar="PERSON_ID", help="witness (another person)")
    add.add_argument("--days", type=int, default=30, help="validity in days (at most 90; default 30)")
    lst = sub.add_parser("list", help="list exceptions, active and expired")
    lst.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file")
    lst.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = ledger_path(args)
    if args.exception_command == "list":
        with Ledger.open_for_reading(path) as ledger:
            records = ledger_exceptions(ledger)
        now = datetime.now(UTC)
        if args.format == "json":
            print(json.dumps([{**r.to_dict(), "active": r.is_active(now)} for r in records], indent=2))
        else:
            if not records:
                print("no exceptions recorded")
            for r in records:
                state = "active " if r.is_active(now) else "expired"
                print(f"{state} {r.exception_id} {r.check} {r.subject!r} until {r.to_dict()['expires']}")
        return 0
    if args.days < 1:
        raise InputError("--days must be at least 1")
    now = datetime.now(UTC)
    record = ExceptionRecord.new(
        check=args.check,
        subject=args.subject,
        justification=args.justification,
        compensating_controls=args.controls,
        approved_by=args.officer,
        witness=args.witness,
        created=now,
        expires=now + timedelta(days=args.days),
    )
    with Ledger.open(path) as ledger:
        presence = Presence(ledger)
        officer = presence.authenticate(
            args.officer, read_passphrase("security officer passphrase: "), "security_officer"
        )
        witness = presence.authenticate(args.witness, read_passphrase("witness passphrase: "), "witness")
        try:
            seq = record_exception(ledger, record, officer, witness)
        finally:
            officer.leave()
            witness.leave()
    print(f"exception {record.exception_id} recorded at event #{seq}, expires {record.to_dict()['expires']}")
    return 0
