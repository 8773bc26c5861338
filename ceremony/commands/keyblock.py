"""``ceremony keyblock inspect``: decode a TR-31 key block's header, read on standard input, as JSON.

No key is asked for and none is shown: the header is clear text in a key block; the key stays encrypted.
Nothing is vouched for either — the MAC can only be checked with the KBPK. A malformed block gets one line
on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from ceremony.errors import InputError

MAX_BLOCK = 9999  # the header's length field has four decimal digits


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("keyblock", help="work with TR-31 / ANSI X9.143 key blocks")
    actions = parser.add_subparsers(dest="keyblock_command", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect",
        help="read one key block on stdin, print its header decoded as JSON (no key material)",
        description="Reads one TR-31 key block (version A-D) on standard input and prints its header "
        "decoded as JSON: usage, algorithm, mode of use, key version, exportability, optional blocks. "
        "The MAC is not checked (that needs the KBPK).",
    )
    inspect.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ceremony.crypto.tr31 import inspect

    raw = sys.stdin.buffer.read(MAX_BLOCK + 64)
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InputError("the key block is not ASCII text") from None
    if not text:
        raise InputError("no key block on standard input")
    if len(text) > MAX_BLOCK:
        raise InputError(f"more than {MAX_BLOCK} characters on standard input: that is not one key block")
    header = inspect(text)
    out = {"block_length": len(text), **header.describe()}
    print(json.dumps(out, indent=2))
    return 0
