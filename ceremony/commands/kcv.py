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

from ceremony.crypto.kcv import aes_kcv, generic_kcv, tdes_kcv
from ceremony.crypto.keys import GENERIC_MAX_LENGTH, GENERIC_MIN_LENGTH
from ceremony.crypto.secret import SecretBytes
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


def _read_stdin(stream: BinaryIO) -> SecretBytes:
    """Read everything from ``stream`` into a wipeable buffer (bounded)."""
    data = SecretBytes(0)
    chunk = bytearray(256)
    try:
        while True:
            count = stream.readinto(chunk)  # type: ignore[attr-defined]
            if not count:
                return data
            if len(data) + count > MAX_INPUT:
                data.wipe()
                raise InputError(f"more than {MAX_INPUT} characters on standard input: that is not one key")
            data.buffer().extend(chunk[:count])
    finally:
        for i in range(len(chunk)):
            chunk[i] = 0


def _read_terminal() -> SecretBytes:
    """Read one line from the terminal with echo off, so the key is not left on screen."""
    import termios

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    new = termios.tcgetattr(fd)
    new[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, new)
    try:
        # Prompt only once echo is off, so nothing typed after the prompt can appear on screen.
        print("key (hex, not shown): ", end="", file=sys.stderr, flush=True)
        import os

        data = SecretBytes(0)
        while True:
            byte = os.read(fd, 1)
            if not byte or byte == b"\n":
                return data
            if len(data) >= MAX_INPUT:
                data.wipe()
                raise InputError(f"more than {MAX_INPUT} characters typed: that is not one key")
            data.buffer().extend(byte)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
        print(file=sys.stderr)


def parse_hex_key(text: SecretBytes) -> SecretBytes:
    """Hex digits (whitespace ignored) → key bytes, without ever making a ``str`` of the key."""
    view = text.view()
    out = bytearray()
    high = -1
    digits = 0
    for position, char in enumerate(view, start=1):
        if char in _WHITESPACE:
            continue
        if char not in _HEX_DIGITS:
            for i in range(len(out)):
                out[i] = 0
            raise InputError(
                f"character {position} is not a hexadecimal digit (0-9, A-F): the key must be in hex"
            )
        value = _nibble(char)
        digits += 1
        if high < 0:
            high = value
        else:
            out.append((high << 4) | value)
            high = -1
    if high >= 0:
        for i in range(len(out)):
            out[i] = 0
        raise InputError(f"{digits} hex digits is an odd number: each byte of a key takes two")
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
        compute = {"aes": aes_kcv, "tdes": tdes_kcv, "generic": generic_kcv}[alg]
        print(compute(key).hex)
    return 0
