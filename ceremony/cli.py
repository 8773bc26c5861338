"""Command line: argument parsing and exit codes only. Each subcommand lives in ``ceremony/commands/``.

Exit codes: 0 ok; 1 unexpected internal error (printed without locals); 2 bad input or usage
(CeremonyError); 3 KCV mismatch; 4 integrity/signature fault; 5 policy refusal; 130 cancelled.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from ceremony import __version__
from ceremony.errors import CeremonyError, ShareChecksumError
from ceremony.hardening import harden_process

# name of each subcommand module in ceremony.commands; each has add_parser(subparsers) and run(args) -> int.
COMMANDS = (
    "kcv",
    "share",
    "keyblock",
    "token",
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


# --- usage errors that never echo a value -------------------------------------------------------------
# argparse repeats what was typed ("invalid choice: '0011…'", "unrecognized arguments: --key=0011…"): a
# key typed as an argument would then land in the scrollback as well as the shell history. Every parser
# (subcommands inherit the class) names the option and never the value, and warns when a value looks like
# key material: it is in the shell history now and must be treated as exposed.

EXPOSED_WARNING = (
    "ceremony: warning: a value on this command line looks like key material: it is now in your shell "
    "history and the terminal's scrollback, so treat this key as exposed (replace it); keys and shares "
    "are read on standard input, never as arguments"
)
NOT_SHOWN = "(value not shown)"
_OPTION_NAME = re.compile(r"-{1,2}[A-Za-z][A-Za-z0-9_-]{0,40}")
_SEPARATORS = re.compile(r"[\s:-]")
_HEX = re.compile(r"[0-9A-Fa-f]{16,}")
_BASE32ISH = re.compile(r"[0-9A-Z=]{16,}")  # base32 and the share alphabet (typed shares)
_BASE64ISH = re.compile(r"[A-Za-z0-9+/_=-]{24,}")

_argv: list[str] = []  # the command line being parsed, for the error messages of every (sub)parser
_known_words: set[str] = set()  # subcommand names and choices: never secret, shown as they are


def looks_like_key_material(value: str) -> bool:
    """Whether a command-line value could be a key, component or share: 16+ hex digits, or a long run of
    base32 / base64 characters (separators ignored). Option names and paths are not."""
    compact = _SEPARATORS.sub("", value)
    if _HEX.fullmatch(compact):
        return True
    if _BASE32ISH.fullmatch(compact) and re.search(r"[0-9]", compact) and re.search(r"[A-Z]", compact):
        return True
    return bool(
        _BASE64ISH.fullmatch(value)
        and not value.startswith(("/", "-"))
        and re.search(r"[0-9]", value)
        and re.search(r"[a-z]", value)
        and re.search(r"[A-Z]", value)
    )


def _values(tokens: Sequence[str]) -> list[str]:
    """What on a command line is a value rather than an option name (``--opt=VALUE`` gives VALUE)."""
    values = []
    for token in tokens:
        name, eq, value = token.partition("=")
        if eq and _OPTION_NAME.fullmatch(name):
            values.append(value)
        elif not _OPTION_NAME.fullmatch(token):
            values.append(token)
    return [value for value in values if value and value not in _known_words]


def _option_name(token: str) -> str | None:
    name = token.partition("=")[0]
    return name if _OPTION_NAME.fullmatch(name) else None


def _redact(text: str, values: Sequence[str]) -> str:
    for value in sorted(set(values), key=len, reverse=True):
        text = text.replace(repr(value), NOT_SHOWN)
        text = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", NOT_SHOWN, text)
    return text


def _words(parser: argparse.ArgumentParser) -> set[str]:
    """Every subcommand name and choice in ``parser``'s tree."""
    words: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words.add(name)
                words |= _words(sub)
        elif action.choices is not None:
            words |= {str(choice) for choice in action.choices}
    return words


def safe_usage_message(message: str, argv: Sequence[str]) -> str:
    """argparse's ``message`` with every value from ``argv`` taken out; option names stay."""
    values = _values(argv)
    found = re.fullmatch(r"argument (?P<name>.+?): (?P<rest>.*)", message, re.S)
    if found:
        name, rest = found["name"], found["rest"]
        choice = re.fullmatch(r"invalid choice: .* \(choose from (?P<choices>.*)\)", rest, re.S)
        typed = re.fullmatch(r"invalid (?P<type>\S+) value: .*", rest, re.S)
        if choice:
            choices = choice["choices"].replace("'", "")
            rest = f"invalid choice {NOT_SHOWN}; choose from {choices}"
        elif typed:
            rest = f"invalid {typed['type']} value {NOT_SHOWN}"
        elif rest.startswith("ignored explicit argument"):
            rest = f"takes no value {NOT_SHOWN}"
        message = f"argument {_redact(name, values)}: {_redact(rest, values)}"
    elif message.startswith("unrecognized arguments:"):
        message = f"unrecognized arguments {NOT_SHOWN}"
    else:
        ambiguous = re.fullmatch(
            r"ambiguous option: (?P<option>\S+) could match (?P<matches>.*)", message, re.S
        )
        if ambiguous:
            option = _option_name(ambiguous["option"]) or "an option"
            message = f"ambiguous option: {option} could match {_redact(ambiguous['matches'], values)}"
    return _redact(message, values)


class CeremonyArgumentParser(argparse.ArgumentParser):
    """argparse with usage errors that name the option, never echo the value (exit code 2 as before)."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> argparse.Namespace:
        _argv[:] = list(sys.argv[1:] if args is None else args)
        _known_words.clear()
        _known_words.update(_words(self))
        parsed: argparse.Namespace
        extras: list[str]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            names = [name for name in map(_option_name, extras) if name]
            what = f"unrecognized option(s) {', '.join(dict.fromkeys(names))}" if names else ""
            values = "value(s) not shown" if _values(extras) else ""
            self.error(
                f"{what} ({values})" if what and values else what or f"unrecognized arguments ({values})"
            )
        return parsed

    def error(self, message: str) -> NoReturn:
        argv = list(_argv)
        self.print_usage(sys.stderr)
        lines = f"{self.prog}: error: {safe_usage_message(message, argv)}\n"
        if any(looks_like_key_material(value) for value in _values(argv)):
            lines += EXPOSED_WARNING + "\n"
        self.exit(2, lines)


def build_parser() -> argparse.ArgumentParser:
    parser = CeremonyArgumentParser(
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
            # Cold start (issue 14): no garbage collection while the TUI's modules load (tens of
            # thousands of objects, none of them garbage); what was loaded is frozen out of later sweeps.
            gc.disable()
            try:
                from ceremony.tui.app import run_tui
            finally:
                gc.freeze()
                gc.enable()
            return run_tui(ledger=args.ledger)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.error(f"unknown command {args.command}")
        return int(handler(args))
    except CeremonyError as exc:
        # A typo names its group once, the way every screen says it (issue 14).
        line = exc.describe() if isinstance(exc, ShareChecksumError) else str(exc)
        print(f"ceremony: {line}", file=sys.stderr)
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
