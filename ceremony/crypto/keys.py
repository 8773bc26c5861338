"""Key types, key generation from the OS CSPRNG, validation and TDES parity (DESIGN §2).

Keys are generated on the laptop, not in a secure cryptographic device, so PCI DSS 3.7.6 points to ISO 19592:
the randomness is the operating system's CSPRNG (``secrets.token_bytes`` → ``os.urandom``), the key only ever
lives in a wipeable :class:`SecretBytes`, and nothing here writes it anywhere.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Self

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import KeyMaterialError

# Generic secrets (HMAC keys and the like): at least 128 bits (PCI "strong cryptography" asks for ≥ 112
# effective bits), at most 64 bytes (the HMAC-SHA-256 block; longer keys are hashed down by HMAC anyway).
GENERIC_MIN_LENGTH = 16
GENERIC_MAX_LENGTH = 64

TDES_PART = 8  # one DES key inside a TDES key


class KeyType(StrEnum):
    """What kind of key a ceremony handles; the value is the name stored in the ledger."""

    AES_128 = "AES-128"
    AES_192 = "AES-192"
    AES_256 = "AES-256"
    TDES_2KEY = "TDES-2KEY"  # double length: K1 K2 (K3 = K1)
    TDES_3KEY = "TDES-3KEY"  # triple length: K1 K2 K3
    GENERIC = "GENERIC"  # a secret of a stated length, e.g. an HMAC key

    @property
    def fixed_length(self) -> int | None:
        """Length in bytes, or None for GENERIC (whose length is stated when it is generated)."""
        return _FIXED_LENGTHS.get(self)

    @property
    def is_aes(self) -> bool:
        return self in (KeyType.AES_128, KeyType.AES_192, KeyType.AES_256)

    @property
    def is_tdes(self) -> bool:
        return self in (KeyType.TDES_2KEY, KeyType.TDES_3KEY)

    @classmethod
    def for_aes_length(cls, length: int) -> KeyType:
        for key_type in (cls.AES_128, cls.AES_192, cls.AES_256):
            if key_type.fixed_length == length:
                return key_type
        raise KeyMaterialError(f"an AES key has 16, 24 or 32 bytes, not {length}")

    @classmethod
    def for_tdes_length(cls, length: int) -> KeyType:
        for key_type in (cls.TDES_2KEY, cls.TDES_3KEY):
            if key_type.fixed_length == length:
                return key_type
        raise KeyMaterialError(f"a TDES key has 16 (double length) or 24 (triple length) bytes, not {length}")


DEFAULT_KEY_TYPE = KeyType.AES_256

_FIXED_LENGTHS: dict[KeyType, int] = {
    KeyType.AES_128: 16,
    KeyType.AES_192: 24,
    KeyType.AES_256: 32,
    KeyType.TDES_2KEY: 16,
    KeyType.TDES_3KEY: 24,
}


def key_length(key_type: KeyType, length: int | None = None) -> int:
    """The length in bytes of a key of this type; ``length`` is required for (and only for) GENERIC."""
    fixed = key_type.fixed_length
    if fixed is not None:
        if length is not None and length != fixed:
            raise KeyMaterialError(f"a {key_type.value} key has {fixed} bytes, not {length}")
        return fixed
    if length is None:
        raise KeyMaterialError("a generic secret needs a stated length in bytes")
    if not GENERIC_MIN_LENGTH <= length <= GENERIC_MAX_LENGTH:
        raise KeyMaterialError(
            f"a generic secret has {GENERIC_MIN_LENGTH} to {GENERIC_MAX_LENGTH} bytes, not {length}"
        )
    return length


# --- TDES parity ----------------------------------------------------------------------------------------
# DES uses 7 bits of each byte; the low bit is a parity bit that makes every byte's bit count odd. HSMs
# reject keys without odd parity, so generated and combined TDES keys always carry it.


def has_odd_parity(byte: int) -> bool:
    return (byte & 0xFF).bit_count() % 2 == 1


def set_odd_parity(buf: bytearray | memoryview) -> None:
    """Adjust the low bit of every byte, in place, so each byte has an odd number of one bits."""
    for i in range(len(buf)):
        b = buf[i] & 0xFE
        buf[i] = b | (0 if b.bit_count() % 2 else 1)


def all_odd_parity(data: bytes | bytearray | memoryview) -> bool:
    return all(has_odd_parity(b) for b in data)


def _same_des_key(data: bytes | bytearray | memoryview, a: int, b: int) -> bool:
    # Compared byte by byte, ignoring parity bits, so no copy of key material is made.
    return all((data[a + i] ^ data[b + i]) & 0xFE == 0 for i in range(TDES_PART))


def _is_degenerate_tdes(data: bytes | bytearray | memoryview) -> bool:
    """K1 = K2 (or K2 = K3) makes TDES collapse to single DES (comparison ignores parity bits)."""
    if _same_des_key(data, 0, TDES_PART):
        return True
    return len(data) == 3 * TDES_PART and _same_des_key(data, TDES_PART, 2 * TDES_PART)


def _is_all_zero(data: bytes | bytearray | memoryview) -> bool:
    return not any(data)


# --- generation and validation --------------------------------------------------------------------------


def generate_key(
    key_type: KeyType = DEFAULT_KEY_TYPE,
    length: int | None = None,
    random: Callable[[int], bytes | bytearray | SecretBytes] | None = None,
) -> SecretBytes:
    """A fresh key of ``key_type`` from the OS CSPRNG (``secrets``, i.e. ``os.urandom``), or from
    ``random`` (n -> n random bytes: a token's generator, PCI PIN 5-1), which must give exactly n bytes.

    TDES keys get odd parity and are drawn again if degenerate (K1 = K2, or K2 = K3 for triple length).
    """
    size = key_length(key_type, length)
    while True:
        buf = bytearray(secrets.token_bytes(size)) if random is None else _drawn(random, size)
        if key_type.is_tdes:
            set_odd_parity(buf)
            if _is_degenerate_tdes(buf):
                _wipe(buf)
                continue
        if _is_all_zero(buf):  # probability 2**-128 at least; checked so validate_key always accepts
            continue
        return SecretBytes.adopt(buf)


def _drawn(random: Callable[[int], bytes | bytearray | SecretBytes], size: int) -> bytearray:
    """``size`` bytes from ``random`` in a new wipeable buffer (the source's buffer wiped if it can be)."""
    got = random(size)
    try:
        view = got.view() if isinstance(got, SecretBytes) else memoryview(got)
        if len(view) != size:
            raise KeyMaterialError(f"the random source gave {len(view)} bytes, not the {size} asked for")
        return bytearray(view)
    finally:
        if isinstance(got, SecretBytes):
            got.wipe()
        elif isinstance(got, bytearray):
            _wipe(got)


def validate_key(key_type: KeyType, key: SecretBytes | bytes | bytearray | memoryview) -> None:
    """Raise :class:`KeyMaterialError` unless ``key`` is a well-formed key of ``key_type``.

    Checks length, not all zero, and for TDES odd parity on every byte and no degenerate halves.
    Messages state what is wrong, never the key.
    """
    data = key.view() if isinstance(key, SecretBytes) else memoryview(key)
    fixed = key_type.fixed_length
    if fixed is not None and len(data) != fixed:
        raise KeyMaterialError(f"a {key_type.value} key has {fixed} bytes, not {len(data)}")
    if fixed is None:
        key_length(key_type, len(data))
    if _is_all_zero(data):
        raise KeyMaterialError(f"the {key_type.value} key is all zeros")
    if key_type.is_tdes:
        if not all_odd_parity(data):
            raise KeyMaterialError(f"the {key_type.value} key does not have odd parity on every byte")
        if _is_degenerate_tdes(data):
            which = "K1 = K2" if key_type is KeyType.TDES_2KEY else "K1 = K2 or K2 = K3"
            raise KeyMaterialError(
                f"the {key_type.value} key is degenerate ({which}): it would act as single DES"
            )


def _wipe(buf: bytearray) -> None:
    for i in range(len(buf)):
        buf[i] = 0


@dataclass(frozen=True, eq=False, repr=False)
class Key:
    """A key of a known type. Always valid (checked on construction); its repr never shows the bytes."""

    key_type: KeyType
    material: SecretBytes

    def __post_init__(self) -> None:
        validate_key(self.key_type, self.material)

    @classmethod
    def generate(
        cls,
        key_type: KeyType = DEFAULT_KEY_TYPE,
        length: int | None = None,
        random: Callable[[int], bytes | bytearray | SecretBytes] | None = None,
    ) -> Key:
        return cls(key_type, generate_key(key_type, length, random))

    def __len__(self) -> int:
        return len(self.material)

    def __repr__(self) -> str:
        return f"<Key {self.key_type.value} {self.material!r}>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("Key cannot be pickled")

    def wipe(self) -> None:
        self.material.wipe()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wipe()
