"""``ceremony share inspect``: read one share on stdin (as typed from the card, or the QR payload) and print
its header as JSON. The share bytes are printed only with ``--raw`` (Vault-format hex, for interoperability).

The share is read from stdin, never argv (argv is visible to every user in ``ps`` and lands in shell history).
"""

from __future__ import annotations

import argparse
import json
import sys

from ceremony.crypto.codec import ShareHeader, decode_share, vault_hex
from ceremony.crypto.ids import ALPHABET, ID_LENGTH, is_id
from ceremony.crypto.secret import SecretBytes, SecretTooLongError, read_bounded
from ceremony.errors import ForeignShareError, InputError

MIN_PREFIX = 8  # the key and split lists show ids cut to 8 characters
_MAX_INPUT = 4096  # a 65-byte share is about 150 characters; anything far longer is not a share


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("share", help="work with one share in its typed / QR form")
    actions = parser.add_subparsers(dest="share_command", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect",
        help="check a share read on stdin and print its header as JSON",
        description="Reads one share on stdin, typed as printed on the share card (spaces, dashes and line "
        "breaks are ignored) or the QR payload. Checks every group and the whole-share checksum, then "
        "prints the header (key, split, m-of-n, share number) as JSON. The share bytes are never printed "
        "unless --raw is given.",
    )
    inspect.add_argument(
        "--raw", action="store_true", help='also print the Vault-format share as hex ("vault_hex")'
    )
    inspect.add_argument(
        "--expect-split",
        metavar="SPLIT_ID",
        help="fail unless the share belongs to this split (its id, or the first 8 or more characters of it)",
    )
    inspect.set_defaults(handler=run)


def _split_id_or_prefix(value: str) -> bool:
    """A whole split id, or the first :data:`MIN_PREFIX` or more characters of one (issue 15)."""
    return MIN_PREFIX <= len(value) <= ID_LENGTH and all(c in ALPHABET for c in value)


def _read_bounded() -> SecretBytes:
    """Standard input into one preallocated, wiped buffer (never a ``bytes`` copy); too long is refused."""
    try:
        return read_bounded(sys.stdin.buffer, _MAX_INPUT)
    except SecretTooLongError:
        raise InputError(f"more than {_MAX_INPUT} characters on stdin; give one share") from None


def _read_share() -> SecretBytes:
    """One share from stdin. At a terminal, echo is off while it is typed: a share must not stay on screen
    or in the terminal's scrollback (DESIGN §2)."""
    if not sys.stdin.isatty():
        return _read_bounded()
    import termios

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    quiet = list(saved)
    quiet[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        # Prompt only once echo is off, so a fast typist or a scanner never races it.
        print(
            "Type or scan the share, then press Enter and Ctrl-D (what you type is not shown).",
            file=sys.stderr,
            flush=True,
        )
        return _read_bounded()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run(args: argparse.Namespace) -> int:
    expected = "".join(args.expect_split.split()).upper() if args.expect_split else None
    if expected is not None and not _split_id_or_prefix(expected):
        raise InputError(
            f"--expect-split takes a split id: its {ID_LENGTH} characters from the share alphabet, or its "
            f"first {MIN_PREFIX} or more as screens and reports list it"
        )
    whole = expected if expected is not None and is_id(expected) else None
    with _read_share() as text:
        share = decode_share(text.buffer(), expected_split_id=whole)
    with share.data:
        if expected is not None and not share.split_id.startswith(expected):
            header = ShareHeader.of(share)
            raise ForeignShareError(
                f"this is {header.label} of key {share.key_id}, not a share of split {expected}"
            )
        summary = {
            **ShareHeader.of(share).as_dict(),
            "share_bytes": len(share.data),
            "group_checks": "ok",
            "whole_share_checksum": "ok",
        }
        out = sys.stdout.buffer
        head = json.dumps(summary, indent=2).encode("ascii")
        if not args.raw:
            out.write(head + b"\n")
        else:
            # Assemble the hex into the JSON without ever making it a str.
            with vault_hex(share) as hex_form:
                line = bytearray(head[:-2])  # drop "\n}"
                line += b',\n  "vault_hex": "'
                line += hex_form.view()
                line += b'"\n}\n'
                out.write(line)
                line[:] = bytes(len(line))
        out.flush()
    return 0
