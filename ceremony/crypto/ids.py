"""Identifiers for keys, splits, ceremonies: 10 Crockford base32 characters (50 random bits).

The alphabet (digits and uppercase letters without I, L, O, U) is unambiguous when read aloud or typed
and is carried by QR codes in alphanumeric mode, like the share codec.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_LENGTH = 10


def new_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))


def is_id(value: str) -> bool:
    return len(value) == ID_LENGTH and all(c in ALPHABET for c in value)
