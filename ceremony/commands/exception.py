"""``ceremony exception add|list``: PCI DSS 1.2.6 exceptions for preflight findings, in the ledger.

``add`` needs the approving security officer and a witness present: each types their passphrase (at a
terminal without echo; from a script, one line each on standard input, officer first). Both are named by
their employee id, as people know them (an internal person id is taken too). The subject must match a
finding the preflight shows on this machine now (the command runs it), else the exception would be recorded
and cover nothing; only ``--subject '*'`` covers every finding of the check on purpose.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ceremony.commands import ledger_path, passphrase_prompt, read_passphrase
from ceremony.errors import DualControlError, IdentityError, InputError, LedgerNotFoundError

if TYPE_CHECKING:  # the rest is imported when the command runs: registering it must stay light
    from ceremony.flows.presence import PresentPerson
    from ceremony.ledger.participants import Participant


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
    add.add_argument(
        "--subject",
        required=True,
        help="the subject of a finding the preflight shows now (* matches any text); '*' alone: every "
        "finding of the check",
    )
    add.add_argument("--justification", required=True, help="the business justification")
    add.add_argument("--controls", required=True, help="the compensating controls")
    add.add_argument(
        "--officer",
        required=True,
        metavar="EMPLOYEE_ID",
        help="the approving security officer's employee id (or person id)",
    )
    add.add_argument(
        "--witness",
        required=True,
        metavar="EMPLOYEE_ID",
        help="the witness's employee id (or person id); another person",
    )
    add.add_argument("--days", type=int, default=30, help="validity in days (at most 90; default 30)")
    lst = sub.add_parser("list", help="list exceptions, active and expired")
    lst.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file")
    lst.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.flows.exceptions import ledger_exceptions, record_exception
    from ceremony.flows.presence import Presence
    from ceremony.ledger import participants as people
    from ceremony.ledger.store import Ledger
    from ceremony.preflight.exceptions import ExceptionRecord, subject_findings
    from ceremony.preflight.report import run_preflight

    path = ledger_path(args)
    if args.exception_command == "list":
        with Ledger.open_for_reading(path) as ledger:
            records = ledger_exceptions(ledger)
            known = {p.person_id: who(p) for p in people.participants(ledger)}
        now = datetime.now(UTC)
        if args.format == "json":
            print(json.dumps([{**r.to_dict(), "active": r.is_active(now)} for r in records], indent=2))
        else:
            if not records:
                print("no exceptions recorded")
            for r in records:
                state = "active " if r.is_active(now) else "expired"
                print(
                    f"{state} {r.exception_id} {r.describe_covered()} until {r.to_dict()['expires']}, "
                    f"approved by {known.get(r.approved_by, r.approved_by)}, "
                    f"witnessed by {known.get(r.witness, r.witness)}"
                )
        return 0
    if args.days < 1:
        raise InputError("--days must be at least 1")
    if not path.exists():
        raise LedgerNotFoundError(f"There is no ledger at {path}.")
    now = datetime.now(UTC)
    with Ledger.open(path) as ledger:
        everyone = people.participants(ledger)
        officer_person = people.find_person(everyone, args.officer, "--officer")
        witness_person = people.find_person(everyone, args.witness, "--witness")
        if officer_person.person_id == witness_person.person_id:
            raise DualControlError(
                f"{who(officer_person)} cannot both approve and witness the exception; a second person "
                "must witness it (--witness)"
            )
        _check_can(officer_person, "security_officer", "--officer")
        _check_can(witness_person, "witness", "--witness")
        record = ExceptionRecord.new(
            check=args.check,
            subject=args.subject,
            justification=args.justification,
            compensating_controls=args.controls,
            approved_by=officer_person.person_id,
            witness=witness_person.person_id,
            created=now,
            expires=now + timedelta(days=args.days),
        )
        # The findings of this machine now: a subject that matches none would cover nothing.
        subject_findings(record.check, record.subject, run_preflight(now).findings)
        presence = Presence(ledger)
        present: list[PresentPerson] = []
        try:
            officer = presence.authenticate(
                officer_person.person_id,
                read_passphrase(passphrase_prompt(officer_person, "security_officer")),
                "security_officer",
            )
            present.append(officer)
            witness = presence.authenticate(
                witness_person.person_id,
                read_passphrase(passphrase_prompt(witness_person, "witness")),
                "witness",
            )
            present.append(witness)
            seq = record_exception(ledger, record, officer, witness)
        finally:
            for someone in present:
                someone.leave()
    print(
        f"exception {record.exception_id} recorded at event #{seq}: {record.check} {record.subject!r}, "
        f"approved by {who(officer_person)}, witnessed by {who(witness_person)}, "
        f"expires {record.to_dict()['expires']}"
    )
    return 0


def who(person: Participant) -> str:
    """A person as people know them: name and employee id."""
    from ceremony.ledger.participants import who as named

    return named(person)


def _check_can(person: Participant, role: str, option: str) -> None:
    """Refuse, before anyone types a passphrase, someone deactivated or not enrolled for ``role``."""
    from ceremony.ledger.schema import ROLE_NAMES

    if not person.active:
        raise IdentityError(
            f"{option}: {who(person)} was deactivated at event #{person.deactivated_seq} and cannot take part"
        )
    if role not in person.roles:
        enrolled = ", ".join(ROLE_NAMES.get(r, r) for r in person.roles)
        error = DualControlError if role == "security_officer" else IdentityError
        raise error(
            f"{option}: {who(person)} is not enrolled as {ROLE_NAMES.get(role, role)} "
            f"(enrolled as {enrolled})"
        )
