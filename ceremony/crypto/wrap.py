"""AES key wrap with padding (RFC 5649) under a key-encryption key, for recovery output (DESIGN §4.3).

A recovered key leaves the ceremony either as fresh XOR components or wrapped under a KEK into a file that an
HSM or another system unwraps. RFC 5649 (the padded variant of RFC 3394 / NIST SP 800-38F "KWP") wraps keys of
any length — a 16-byte TDES key or a 20-byte generic secret as well as AES keys — and its integrity check
makes a wrong KEK or a damaged file fail loudly on unwrap instead of yielding a wrong key.

The work is done by ``cryptography``'s ``aes_key_wrap_with_padding`` / ``aes_key_unwrap_with_padding``. The
KEK is identified by its KCV (AES-CMAC, X9.24-1), which the ledger records; the KEK itself never is. The
wrapped blob is not secret (that is the point of wrapping); the ledger records its SHA-256 so the file the
caller writes can be matched to the ceremony.

Limitation: ``aes_key_unwrap_with_padding`` returns an immutable ``bytes`` object; it is copied into a
wipeable buffer at once, but the library's own copy lives until the garbage collector frees it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
    aes_key_wrap_with_padding,
)

from ceremony.crypto.kcv import KeyCheckValue, aes_kcv, check_kcv, compute_kcv
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import KeyWrapError

ALGORITHM = "AES-KWP (RFC 5649)"
KEK_LENGTHS = (16, 24, 32)
# RFC 5649 §4.1: the plaintext length is carried in 32 bits; our keys are at most 64 bytes anyway.
MAX_WRAPPED_KEY = 64


@dataclass(frozen=True)
class WrappedKey:
    """The output of a wrap: the blob to write to a file, the KCV of the KEK that wrapped it, and what it
    wrapped (key type and the key's own KCV). Nothing here is secret."""

    blob: bytes
    kek_kcv: KeyCheckValue
    key_type: KeyType
    key_kcv: KeyCheckValue

    @property
    def sha256(self) -> str:
        """Lowercase hex SHA-256 of the blob, as the ledger records it."""
        return hashlib.sha256(self.blob).hexdigest()

    @property
    def algorithm(self) -> str:
        return ALGORITHM


def _kek_view(kek: Key | SecretBytes) -> memoryview:
    material = kek.material if isinstance(kek, Key) else kek
    if isinstance(kek, Key) and not kek.key_type.is_aes:
        raise KeyWrapError(f"a key-encryption key for RFC 5649 is an AES key, not {kek.key_type.value}")
    view = material.view()
    if len(view) not in KEK_LENGTHS:
        raise KeyWrapError(f"a key-encryption key has 16, 24 or 32 bytes (AES), not {len(view)}")
    return view


def kek_check_value(kek: Key | SecretBytes) -> KeyCheckValue:
    """The KEK's KCV (AES-CMAC over one zero block, X9.24-1): all the ledger keeps about the KEK."""
    return aes_kcv(_kek_view(kek))


def wrap_material(kek: Key | SecretBytes, material: SecretBytes) -> bytes:
    """RFC 5649 §4.1 over raw bytes (1..64 of them): the primitive the known-answer vectors exercise.

    ``cryptography`` types its arguments as ``bytes`` but reads any buffer, so the secret is passed as the
    wipeable buffer itself — no immutable copy of it is made here.
    """
    kek_view = _kek_view(kek)
    view = material.view()
    if not 1 <= len(view) <= MAX_WRAPPED_KEY:
        raise KeyWrapError(f"only keys of 1 to {MAX_WRAPPED_KEY} bytes are wrapped, not {len(view)}")
    return aes_key_wrap_with_padding(cast(bytes, kek_view), cast(bytes, view))


def unwrap_material(kek: Key | SecretBytes, blob: bytes) -> SecretBytes:
    """RFC 5649 §4.2: the unwrapped bytes, in a wipeable buffer.

    :raises KeyWrapError: the integrity check failed (wrong KEK, damaged or truncated blob).
    """
    kek_view = _kek_view(kek)
    try:
        plain = aes_key_unwrap_with_padding(cast(bytes, kek_view), bytes(blob))
    except InvalidUnwrap:
        raise KeyWrapError(
            "the wrapped key did not unwrap: wrong key-encryption key, or the file is damaged "
            f"({len(blob)} bytes read)"
        ) from None
    except ValueError:
        raise KeyWrapError(
            f"a wrapped key has 16 bytes or more, in 8-byte blocks; {len(blob)} bytes were read"
        ) from None
    material = SecretBytes(plain)
    del plain
    return material


def wrap_key(kek: Key | SecretBytes, key: Key) -> WrappedKey:
    """Wrap ``key`` under ``kek`` (RFC 5649), with the KEK's KCV and the key's own type and KCV."""
    blob = wrap_material(kek, key.material)
    return WrappedKey(blob, kek_check_value(kek), key.key_type, compute_kcv(key))


def unwrap_key(
    kek: Key | SecretBytes,
    blob: bytes,
    key_type: KeyType,
    expected_kcv: KeyCheckValue | None = None,
) -> Key:
    """Unwrap ``blob`` into a key of ``key_type``; with ``expected_kcv``, check it too.

    :raises KeyWrapError: the integrity check failed (wrong KEK, damaged or truncated blob).
    :raises KeyMaterialError: the unwrapped bytes are not a valid key of ``key_type``.
    :raises KCVMismatchError: the key does not have the expected KCV.
    """
    material = unwrap_material(kek, blob)
    try:
        key = Key(key_type, material)
        if expected_kcv is not None:
            check_kcv(material, expected_kcv, "the unwrapped key")
    except BaseException:
        material.wipe()
        raise
    return key
