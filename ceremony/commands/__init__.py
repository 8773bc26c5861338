"""One module per CLI subcommand.

Each module defines ``add_parser(subparsers)`` (which must call ``parser.set_defaults(handler=run)``) and
``run(args) -> int``. A command parses nothing itself beyond argparse, calls into flows/ledger/crypto, prints,
and returns an exit code; errors are raised as ``ceremony.errors.CeremonyError`` subclasses and turned into
one line on stderr by ``ceremony.cli``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from ceremony.crypto.secret import SecretBytes


def default_ledger_path() -> Path:
    """--ledger, else $CEREMONY_LEDGER, else the platform user-data dir (DESIGN §5)."""
    env = os.environ.get("CEREMONY_LEDGER")
    if env:
        return Path(env)
    from platformdirs import user_data_path

    return user_data_path("ceremony", appauthor=False) / "ledger.sqlite3"


def ledger_path(args: object) -> Path:
    """The ledger named by parsed arguments (``args.ledger``), else the default."""
    return resolve_ledger(getattr(args, "ledger", None))


def resolve_ledger(value: str | None) -> Path:
    """``value`` if given, else $CEREMONY_LEDGER, else the user data dir."""
    return Path(value) if value else default_ledger_path()


class _Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def employee_id(self) -> str: ...


# As ceremony.ledger.schema.ROLE_NAMES says them (not imported: registering a command stays light).
_ROLE_WORDS = {
    "security_officer": "security officer",
    "administrator": "ceremony administrator",
    "witness": "witness",
    "custodian": "key custodian",
}


def passphrase_prompt(person: _Named, as_what: str) -> str:
    """Whose passphrase is asked for, and in which capacity (issue 15): ``Passphrase of Sophie Laurent
    (E1004, security officer): ``. ``as_what``: a role (``security_officer``…) or plain words."""
    role = _ROLE_WORDS.get(as_what, as_what.replace("_", " "))
    return f"Passphrase of {person.name} ({person.employee_id}, {role}): "


def existing_ledger(path: Path, *, bundle_hint: bool = False) -> Path:
    """``path`` if a ledger file is there; else an error that names the next step (issue 15).

    A folder: a ledger is one file (with ``bundle_hint``: an exported bundle is checked with ``--bundle``).
    Nothing there: how a ledger is founded, and where the default one lives."""
    from ceremony.errors import LedgerFormatError, LedgerNotFoundError

    if path.is_dir():
        hint = (
            f"; for an exported bundle use --bundle {path}"
            if bundle_hint
            else f"; give the ledger file inside it (e.g. --ledger {path / 'ledger.sqlite3'})"
        )
        raise LedgerFormatError(f"{path} is a folder, not a ledger file{hint}")
    if not path.exists():
        default = default_ledger_path()
        where = (
            "this is the default ledger ($CEREMONY_LEDGER, else the user data folder)"
            if path == default
            else f"without --ledger the ledger is $CEREMONY_LEDGER, else {default}"
        )
        raise LedgerNotFoundError(
            f"There is no ledger at {path}. A ledger is founded on first run: `scripts/run --ledger {path}` "
            f"(or `ceremony --ledger {path}`) walks the first security officer through founding it; "
            f"`ceremony rehearse SCRIPT.toml --ledger {path}` makes a rehearsal one; {where}."
        )
    return path


def read_passphrase(prompt: str) -> SecretBytes:
    """A passphrase from the terminal without echo, or (scripts, tests) one line of standard input.

    Returned as SecretBytes (UTF-8, NFC-normalised); never echoed, logged or kept in argv. ``getpass``
    hands back a str that cannot be wiped — the only copy outside SecretBytes, dropped at once.
    """
    import getpass
    import sys
    import unicodedata

    if sys.stdin.isatty():
        text = getpass.getpass(prompt)
    else:
        text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        from ceremony.errors import InputError

        raise InputError("no passphrase was given")
    secret = SecretBytes(unicodedata.normalize("NFC", text).encode("utf-8"))
    del text
    return secret
