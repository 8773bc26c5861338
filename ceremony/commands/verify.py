"""``ceremony verify [--ledger PATH] [--checkpoint TEXT]... [--format text|json]`` (DESIGN §5).

Replays the whole ledger (chain, signatures against enrolled certificates, custody rule, paper checkpoints;
see :mod:`ceremony.ledger.verify`). Intact: exit 0 and a one-line summary. Any fault: exit 4 and one line
naming the first bad event and what is wrong (in JSON on stdout with ``--format json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ceremony.commands import ledger_path
from ceremony.errors import InputError, LedgerIntegrityError, SignatureError
from ceremony.ledger.verify import verify_ledger


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="check the ledger: hash chain, signatures, custody rule, paper checkpoints",
        description="Replays every ledger event and stops at the first fault. "
        "Exit 0 when intact, 4 on a fault.",
    )
    # SUPPRESS: given after the command it overrides the global --ledger; absent, it leaves that alone.
    parser.add_argument("--ledger", metavar="PATH", default=argparse.SUPPRESS, help="ledger file to verify")
    parser.add_argument(
        "--checkpoint",
        metavar="TEXT",
        action="append",
        default=[],
        help="a checkpoint line from a signed form (repeatable): proves nothing was cut off or rewritten",
    )
    parser.add_argument(
        "--document",
        metavar="FILE.pdf",
        type=Path,
        help="also tell which ledger event issued this document and whether it was altered",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = ledger_path(args)
    try:
        result = verify_ledger(path, args.checkpoint)
    except LedgerIntegrityError as exc:
        if args.format == "json":
            print(json.dumps({"ok": False, "ledger": str(path), "seq": exc.seq, "error": str(exc)}))
            return exc.exit_code
        raise
    if args.document is not None:
        return _check_document(path, args.document, args.format, result.to_json())
    if args.format == "json":
        print(json.dumps(result.to_json()))
    else:
        print(result.summary())
    sys.stdout.flush()
    return 0


def _check_document(path: Path, document: Path, fmt: str, ledger_json: dict[str, Any]) -> int:
    from ceremony.flows.audit import check_document
    from ceremony.ledger.store import Ledger

    if not document.is_file():
        raise InputError(f"no document at {document}")
    with Ledger.open_for_reading(path) as ledger:
        check = check_document(ledger, document)
    if fmt == "json":
        print(json.dumps({"ledger": ledger_json, "document": check.to_json()}))
    else:
        print(check.summary())
    return 0 if check.ok else SignatureError.exit_code
