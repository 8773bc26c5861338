"""Command line: argument parsing and exit codes only. Each subcommand lives in ``ceremony/commands/``.

Exit codes: 0 ok; 1 unexpected internal error (printed without locals); 2 bad input or usage
(CeremonyError); 3 KCV mismatch; 4 integrity/signature fault; 5 policy refusal; 130 cancelled.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from ceremony import __version__
from ceremony.errors import CeremonyError
from ceremony.hardening import harden_process

# name of each subcommand module in ceremony.commands; each has add_parser(subparsers) and run(args) -> int.
COMMANDS = (
    "kcv",
    "share",
    "verify",
    "export",
    "preflight",
    "exception",
    "enroll",
    "rehearse",
    "report",
    "demo",
)


def _load(name: str) -> object | None:
    try:
        return importlib.import_module(f"ceremony.commands.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"ceremony.commands.{name}":
            return None  # not built yet
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ceremony",
        description="Split-knowledge key ceremonies under dual control. With no command: the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"ceremony {__version__}")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="auditor view: open the ledger without writing anything, verify it first, browse reports",
    )
    parser.add_argument(
        "--ledger", metavar="PATH", help="ledger file (default: $CEREMONY_LEDGER or user data dir)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = _load(name)
        if module is not None:
            module.add_parser(sub)  # type: ignore[attr-defined]
    return parser


def _print_internal_error(exc: BaseException) -> None:
    # Never print locals (a share could be in one): type, message-free frames only.
    frames = traceback.extract_tb(exc.__traceback__)
    print(f"ceremony: internal error: {type(exc).__name__}", file=sys.stderr)
    for frame in frames[-5:]:
        print(f"  at {frame.filename}:{frame.lineno} in {frame.name}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            if args.read_only:
                from ceremony.commands import ledger_path
                from ceremony.tui.screens.auditor.auditor import run_auditor_tui

                return run_auditor_tui(ledger_path(args))
            from ceremony.tui.app import run_tui

            return run_tui(ledger=args.ledger)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.error(f"unknown command {args.command}")
        return int(handler(args))
    except CeremonyError as exc:
        print(f"ceremony: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ceremony: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        _print_internal_error(exc)
        return 1


def entry() -> None:
    """The ``ceremony`` executable. Hardening comes first: nothing may import Textual before TEXTUAL* is
    scrubbed, and core dumps are off before any secret exists. (Not done at import time, so importing
    ceremony.cli in a test process leaves that process's environment alone.)"""
    harden_process()
    sys.exit(main())


if __name__ == "__main__":
    entry()
