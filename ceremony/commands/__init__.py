"""One module per CLI subcommand.

Each module defines ``add_parser(subparsers)`` (which must call ``parser.set_defaults(handler=run)``) and
``run(args) -> int``. A command parses nothing itself beyond argparse, calls into flows/ledger/crypto, prints,
and returns an exit code; errors are raised as ``ceremony.errors.CeremonyError`` subclasses and turned into
one line on stderr by ``ceremony.cli``.
"""

from __future__ import annotations

import os
from pathlib import Path

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
