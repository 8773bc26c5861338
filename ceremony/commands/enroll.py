"""``ceremony enroll``: found a ledger, or enrol a person under dual control (DESIGN §1).

* ``--found --organisation NAME``: on an empty (or new) ledger, the person named by ``--name`` and
  ``--employee-id`` founds it as its first security officer; the ledger anchor is printed (and its signed
  one-page PDF written beside the ledger), to be kept with the paper checkpoints.
* otherwise a security officer (``--officer``) and a second enrolled person (``--second``) are present and
  authenticate; the new person chooses a passphrase. Only the first enrolment after founding, when the
  founder is the only person enrolled, goes without ``--second``. ``--officer``/``--second``/
  ``--confirm-different-from`` take an employee id or a person id.

Passphrases, as for ``ceremony exception add``: at a terminal, typed without echo at a prompt that names
whose passphrase it wants; from a script, one line each on standard input in the order of the prompts
(officer, second person, new person, new person again; founding: the founder's, twice).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ceremony.commands import ledger_path, passphrase_prompt, read_passphrase
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import CeremonyError, DualControlError, InputError, LedgerNotFoundError
from ceremony.ledger import schema as sc

if TYPE_CHECKING:
    from ceremony.flows.presence import PresentPerson
    from ceremony.ledger.participants import Participant

# The flows, the ledger and the paperwork (reportlab, pyHanko) are imported where used: registering this
# subcommand must stay light (issue 14).


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "enroll",
        help="found a ledger, or enroll a person (security officer and second person present)",
        description="Enroll a person under dual control: a security officer (--officer) and a second "
        "enrolled person (--second) authenticate, then the new person chooses a passphrase. With --found "
        "--organisation NAME, the person founds an empty ledger as its first security officer and the ledger "
        "anchor is printed. Passphrases are typed at the terminal without echo; a script gives them one line "
        "each on standard input, in the order asked (officer, second person, new person twice).",
        epilog="Exit codes: 0 enrolled; 2 bad input (unknown person, wrong passphrase, employee id already "
        "enrolled); 5 refused by the dual-control rule (no second person, namesake not confirmed).",
    )
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file")
    parser.add_argument("--name", required=True, help="the new person's full name, as on their ID badge")
    parser.add_argument("--employee-id", required=True, metavar="ID", help="the new person's employee id")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        choices=sc.ROLES,
        help="a role of the new person (repeatable); --found: security_officer (the default) and others",
    )
    parser.add_argument(
        "--officer", metavar="EMPLOYEE_ID", help="the security officer enrolling (employee id or person id)"
    )
    parser.add_argument(
        "--second",
        metavar="EMPLOYEE_ID",
        help="the second enrolled person present, not the officer (employee id or person id); only the first "
        "enrollment after founding goes without one",
    )
    parser.add_argument(
        "--confirm-different-from",
        metavar="EMPLOYEE_ID",
        action="append",
        default=[],
        help="someone already enrolled under the same name whom the officer and the second person confirm, "
        "on record, to be a different person (repeatable: every namesake)",
    )
    parser.add_argument(
        "--found",
        action="store_true",
        help="found an empty ledger: the new person is its first security officer",
    )
    parser.add_argument("--organisation", metavar="NAME", help="with --found: whose keys the ledger records")
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help="with --found on a new file: a rehearsal ledger (test keys only)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.flows.enrolment import Enrolment
    from ceremony.flows.presence import Presence
    from ceremony.ledger import participants as people
    from ceremony.ledger.store import Ledger

    name, employee_id = args.name.strip(), args.employee_id.strip()
    if not name or not employee_id:
        raise InputError("give the new person's --name and --employee-id")
    if args.found:
        return _found(args, name, employee_id)
    if args.organisation or args.rehearsal:
        raise InputError("--organisation and --rehearsal go with --found (founding a new ledger)")
    if not args.officer:
        raise InputError("name the security officer who enrolls: --officer EMPLOYEE_ID")
    if not args.role:
        raise InputError(f"give the new person's role: --role {{{','.join(sc.ROLES)}}} (repeatable)")
    path = ledger_path(args)
    if not path.exists():
        raise LedgerNotFoundError(
            f"There is no ledger at {path}; found one first with --found --organisation NAME."
        )
    with Ledger.open(path) as ledger:
        everyone = people.participants(ledger)
        if not everyone:
            raise InputError(
                f"the ledger {path.name} is empty: found it first with --found --organisation NAME"
            )
        officer_person = people.find_person(everyone, args.officer, "--officer")
        second_person = people.find_person(everyone, args.second, "--second") if args.second else None
        confirmed = tuple(
            people.find_person(everyone, who, "--confirm-different-from").person_id
            for who in args.confirm_different_from
        )
        active = [p for p in everyone if p.active]
        if second_person is None and len(active) > 1:
            raise DualControlError(
                "a second enrolled person must be present and sign with the security officer (DESIGN §1): "
                "give --second EMPLOYEE_ID (anyone active but the officer)"
            )
        if "security_officer" not in officer_person.roles:
            raise DualControlError(
                f"{_who(officer_person)} is not enrolled as a security officer (--officer)"
            )
        if second_person is not None and second_person.person_id == officer_person.person_id:
            raise DualControlError("the security officer and the second person must be two different people")
        presence = Presence(ledger)
        present: list[PresentPerson] = []
        try:
            officer = presence.authenticate(
                officer_person.person_id,
                read_passphrase(passphrase_prompt(officer_person, "security_officer")),
                "security_officer",
            )
            present.append(officer)
            second = None
            if second_person is not None:
                second = presence.authenticate(
                    second_person.person_id,
                    read_passphrase(passphrase_prompt(second_person, "second person")),
                    second_person.roles[0],
                )
                present.append(second)
            enrolment = Enrolment(ledger, officer, second)
            roles = tuple(dict.fromkeys(args.role))
            namesakes = enrolment.prepare(name, employee_id, roles)
            if namesakes or confirmed:
                _check_namesakes(name, namesakes, confirmed, officer, second)
                enrolment.prepare(name, employee_id, roles, confirmed)
            passphrase = _new_passphrase(f"{name} ({employee_id})", "the new person")
            person = enrolment.enroll(name, employee_id, roles, passphrase, confirmed)
        finally:
            for someone in present:
                someone.leave()
    signers = f"security officer {officer.name}" + (f", second person {second.name}" if second else "")
    print(
        f"enrolled {person.name} ({person.employee_id}) as {', '.join(person.roles)} at event "
        f"#{person.enrolled_seq}, person id {person.person_id}"
    )
    print(f"signed by {signers} and {person.name}")
    return 0


def _found(args: argparse.Namespace, name: str, employee_id: str) -> int:
    from ceremony.flows.enrolment import found_ledger
    from ceremony.flows.paperwork import issue_anchor
    from ceremony.ledger.store import Ledger

    if args.officer or args.second or args.confirm_different_from:
        raise InputError(
            "--found founds an empty ledger: nobody else is enrolled to be --officer or --second"
        )
    organisation = (args.organisation or "").strip()
    if not organisation:
        raise InputError("--found needs --organisation NAME: whose keys this ledger records (no default)")
    roles = tuple(dict.fromkeys(["security_officer", *args.role]))
    path = ledger_path(args)
    with Ledger.open(path, create=True, rehearsal=args.rehearsal) as ledger:
        if ledger.size():
            raise InputError(f"the ledger {path} is already founded; enroll people without --found")
        passphrase = _new_passphrase(f"{name} ({employee_id})", "the founding security officer")
        founded = found_ledger(
            ledger,
            organisation=organisation,
            name=name,
            employee_id=employee_id,
            passphrase=passphrase,
            roles=roles,
        )
        problem = None
        try:
            _, pdf = issue_anchor(ledger, founded)
        except (CeremonyError, OSError) as error:
            # The ledger is founded whatever happens to the paper: the anchor is printed below anyway.
            detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            pdf, problem = None, f"the anchor PDF could not be written ({detail}); copy the anchor by hand"
        finally:
            founded.identity.lock()
        kind = "rehearsal" if ledger.info.rehearsal else "production"
    anchor = founded.anchor
    print(f"ledger founded: {organisation} ({kind}), ledger id {anchor.ledger_id}, at event #1")
    print(f"founding security officer: {name} ({employee_id}), person id {founded.founder.person_id}")
    print("ledger anchor (print it and keep it with the paper checkpoints):")
    for line in anchor.grouped():
        print(f"  {line}")
    if pdf is not None:
        print(f"signed anchor PDF: {pdf}")
    else:
        print(f"ceremony: warning: {problem}", file=sys.stderr)
    print(f'check the ledger against it later: ceremony verify --anchor "{anchor.text()}"')
    return 0


def _who(person: Participant) -> str:
    return f"{person.name} ({person.employee_id})"


def _check_namesakes(
    name: str,
    namesakes: list[Participant],
    confirmed: tuple[str, ...],
    officer: PresentPerson,
    second: PresentPerson | None,
) -> None:
    """Every namesake confirmed, and nobody else: the officer and the second person sign the confirmation."""
    ids = {p.person_id for p in namesakes}
    strangers = set(confirmed) - ids
    if strangers:
        raise InputError(f"--confirm-different-from names someone not enrolled under the name {name!r}")
    missing = [p for p in namesakes if p.person_id not in confirmed]
    if missing:
        listed = "; ".join(
            f"{p.name}, employee id {p.employee_id}, enrolled at event #{p.enrolled_seq}" for p in missing
        )
        who = officer.name + (f" and {second.name}" if second is not None else "")
        raise DualControlError(
            f"already enrolled under the same name: {listed}. If this is a different person, {who} "
            "confirm it on record: repeat with "
            + " ".join(f"--confirm-different-from {p.employee_id}" for p in missing)
        )


def _new_passphrase(who: str, as_what: str) -> SecretBytes:
    """A new passphrase, typed twice, checked by the flow's rule (DESIGN §1)."""
    from ceremony.flows.enrolment import check_passphrase

    first = read_passphrase(f"new passphrase of {as_what}, {who}: ")
    try:
        again = read_passphrase(f"the same passphrase again ({who}): ")
    except BaseException:
        first.wipe()
        raise
    try:
        check_passphrase(first, again)
    except BaseException:
        first.wipe()
        raise
    finally:
        again.wipe()
    return first
