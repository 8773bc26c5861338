"""``ceremony kcv --alg aes|tdes|generic``: the KCV calculator custodians use to check a key or component.

The key is read in hex from standard input — never from the command line, where it would land in the shell
history and the process list. Whitespace (spaces, line breaks) is ignored so a key can be typed in groups.
On a terminal the typing is not echoed. Only the KCV is printed (uppercase hex); a bad key gets one line on
stderr that states the problem (a length, a position) and never repeats the key.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO

from ceremony.crypto.keys import GENERIC_MAX_LENGTH, GENERIC_MIN_LENGTH
from ceremony.crypto.secret import SecretBytes, SecretTooLongError, read_bounded, wipe_buffer
from ceremony.errors import InputError, KeyMaterialError

# Longest input we accept: a 64-byte generic secret in hex, typed with generous spacing.
MAX_INPUT = 4 * 2 * GENERIC_MAX_LENGTH
ALGORITHMS = ("aes", "tdes", "generic")
_LENGTHS = {
    "aes": (16, 24, 32),
    "tdes": (16, 24),
    "generic": tuple(range(GENERIC_MIN_LENGTH, GENERIC_MAX_LENGTH + 1)),
}
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_WHITESPACE = b" \t\r\n\v\f"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "kcv",
        help="print the key check value of a key or component read in hex on stdin",
        description="Reads a key or component in hex on standard input (never as an argument) and prints "
        "its key check value (ANSI X9.24-1:2017: AES-CMAC / TDES-ECB of a zero block).",
    )
    parser.add_argument("--alg", choices=ALGORITHMS, required=True, help="the key's algorithm")
    # Catches a key typed as an argument so argparse does not echo it back in an "unrecognized
    # arguments" error; run() refuses it without printing it.
    parser.add_argument("misplaced", nargs="*", help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def _read_stdin(stream: BinaryIO | int, *, scratch: bytearray | None = None) -> SecretBytes:
    """Read everything from ``stream`` into one preallocated buffer of ``MAX_INPUT + 1`` bytes (never
    grown, so no stale copy is left behind), wiped on every path; longer input is refused."""
    try:
        return read_bounded(stream, MAX_INPUT, scratch=scratch)
    except SecretTooLongError:
        raise InputError(f"more than {MAX_INPUT} characters on standard input: that is not one key") from None


def _read_terminal() -> SecretBytes:
    """Read one line from the terminal with echo off, so the key is not left on screen."""
    import os
    import termios

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, new)
    buf = bytearray(MAX_INPUT)  # fixed size: never grown, wiped below
    view = memoryview(buf)
    filled = 0
    try:
        # Prompt only once echo is off, so nothing typed after the prompt can appear on screen.
        print("key (hex, not shown): ", end="", file=sys.stderr, flush=True)
        while True:
            if filled >= MAX_INPUT:
                raise InputError(f"more than {MAX_INPUT} characters typed: that is not one key")
            # One byte at a time, so reading stops at the end of the line.
            if os.readv(fd, [view[filled : filled + 1]]) == 0 or buf[filled] == 0x0A:
                return SecretBytes(view[:filled])
            filled += 1
    finally:
        view.release()
        wipe_buffer(buf)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
        print(file=sys.stderr)


def parse_hex_key(text: SecretBytes) -> SecretBytes:
    """Hex digits (whitespace ignored) → key bytes, without ever making a ``str`` of the key.

    The input is checked first, then the key is written into a buffer of its exact size (never grown)."""
    view = text.view()
    digits = 0
    for position, char in enumerate(view, start=1):
        if char in _WHITESPACE:
            continue
        if char not in _HEX_DIGITS:
            raise InputError(
                f"character {position} is not a hexadecimal digit (0-9, A-F): the key must be in hex"
            )
        digits += 1
    if digits % 2:
        raise InputError(f"{digits} hex digits is an odd number: each byte of a key takes two")
    out = bytearray(digits // 2)
    high = -1
    index = 0
    for char in view:
        if char in _WHITESPACE:
            continue
        value = _nibble(char)
        if high < 0:
            high = value
        else:
            out[index] = (high << 4) | value
            index += 1
            high = -1
    return SecretBytes.adopt(out)


def _nibble(char: int) -> int:
    if 0x30 <= char <= 0x39:
        return char - 0x30
    return (char | 0x20) - 0x61 + 10


def run(args: argparse.Namespace) -> int:
    alg: str = args.alg
    if args.misplaced:
        raise InputError(
            "the key must be given on standard input, never on the command line (it is now in your shell "
            "history: treat that key as exposed)"
        )
    with _read_terminal() if sys.stdin.isatty() else _read_stdin(sys.stdin.buffer) as text:
        key = parse_hex_key(text)
    with key:
        if len(key) == 0:
            raise InputError("no key on standard input: type or pipe the key in hex")
        allowed = _LENGTHS[alg]
        if len(key) not in allowed:
            what = {
                "aes": "an AES key has 16, 24 or 32 bytes",
                "tdes": "a TDES key has 16 or 24 bytes",
                "generic": f"a generic secret has {allowed[0]} to {allowed[-1]} bytes",
            }[alg]
            raise KeyMaterialError(f"{what}, i.e. twice as many hex digits; {len(key) * 2} hex digits given")
        from ceremony.crypto.kcv import aes_kcv, generic_kcv, tdes_kcv

        compute = {"aes": aes_kcv, "tdes": tdes_kcv, "generic": generic_kcv}[alg]
        print(compute(key).hex)
    return 0
