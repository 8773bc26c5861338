"""Key check values (ANSI X9.24-1:2017; PCI PIN Security Requirements) — DESIGN §2.

A KCV lets two people confirm they hold the same key, or that a reconstruction is right, without showing
the key. The method always travels with the value (:class:`KeyCheckValue`), so a stored KCV says how it
was made and a KCV of one method is never compared with another.

Methods:

``AES-CMAC-X9.24``
    AES keys (X9.24-1:2017): AES-CMAC (NIST SP 800-38B) of one all-zero 16-byte block; first 5 bytes.
``TDES-ECB-X9.24``
    TDES keys (X9.24-1:2017, the legacy method payment HSMs print): TDES-ECB encryption of one all-zero
    8-byte block; first 3 bytes.
``HMAC-SHA256-ZERO-BLOCK``
    Generic secrets (X9.24-1 defines nothing for them). Our convention: HMAC-SHA-256 (RFC 2104, FIPS 198-1)
    keyed with the secret over 16 zero bytes; first 5 bytes. Why HMAC rather than AES-CMAC: a generic
    secret is normally an HMAC key, so the check uses it only with its own algorithm (never as an AES key,
    which would be cross-algorithm key use), it works for every length we accept (16..64 bytes, not only
    AES lengths), and anyone holding the key can recompute it with a stock tool
    (``openssl mac -digest SHA256 -macopt hexkey:... HMAC``). 5 bytes like AES: long enough that a wrong key
    matches by chance with probability 2**-40, short enough to reveal nothing usable about the key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from ceremony.crypto.keys import GENERIC_MAX_LENGTH, GENERIC_MIN_LENGTH, TDES_PART, Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import InputError, KCVMismatchError, KeyMaterialError

AES_BLOCK = 16
TDES_BLOCK = 8


class KCVMethod(StrEnum):
    AES_CMAC = "AES-CMAC-X9.24"
    TDES_ECB = "TDES-ECB-X9.24"
    HMAC_SHA256 = "HMAC-SHA256-ZERO-BLOCK"

    @property
    def length(self) -> int:
        """Bytes kept of the computed block."""
        return 3 if self is KCVMethod.TDES_ECB else 5


@dataclass(frozen=True, repr=False)
class KeyCheckValue:
    """A KCV and the method that produced it. Not secret: printed in minutes and stored in the ledger."""

    method: str
    value: bytes

    def __post_init__(self) -> None:
        try:
            method = KCVMethod(self.method)
        except ValueError:
            raise InputError(f"unknown KCV method {self.method[:40]!r}") from None
        if len(self.value) != method.length:
            raise InputError(f"a {method.value} KCV has {method.length} bytes, not {len(self.value)}")

    @property
    def hex(self) -> str:
        """Uppercase hex, as HSMs and custodians write it (e.g. D77F007724)."""
        return self.value.hex().upper()

    @classmethod
    def from_hex(cls, method: str, text: str) -> KeyCheckValue:
        cleaned = "".join(text.split())
        try:
            value = bytes.fromhex(cleaned)
        except ValueError:
            raise InputError(
                f"a KCV is written in hexadecimal digits, got {len(cleaned)} characters"
            ) from None
        return cls(method, value)

    def matches(self, other: KeyCheckValue) -> bool:
        """Same method and same value (compared in constant time)."""
        return self.method == other.method and hmac.compare_digest(self.value, other.value)

    def __str__(self) -> str:
        return f"{self.hex} ({self.method})"

    def __repr__(self) -> str:
        return f"KeyCheckValue({self.method!r}, {self.hex!r})"


_Material = SecretBytes | bytes | bytearray | memoryview


def _view(material: _Material) -> memoryview:
    return material.view() if isinstance(material, SecretBytes) else memoryview(material)


def aes_kcv(material: _Material) -> KeyCheckValue:
    """AES-CMAC over one zero block, first 5 bytes (X9.24-1:2017)."""
    data = _view(material)
    if len(data) not in (16, 24, 32):
        raise KeyMaterialError(f"an AES key has 16, 24 or 32 bytes, not {len(data)}")
    mac = CMAC(algorithms.AES(data))
    mac.update(bytes(AES_BLOCK))
    return KeyCheckValue(KCVMethod.AES_CMAC.value, mac.finalize()[: KCVMethod.AES_CMAC.length])


def tdes_kcv(material: _Material) -> KeyCheckValue:
    """TDES-ECB of one zero block, first 3 bytes (X9.24-1:2017). Parity bits do not affect the result."""
    data = _view(material)
    if len(data) not in (2 * TDES_PART, 3 * TDES_PART):
        raise KeyMaterialError(f"a TDES key has 16 or 24 bytes, not {len(data)}")
    # A double-length key K1 K2 is keyed as K1 K2 K1; expanded here in a wipeable buffer.
    full = bytearray(data)
    if len(full) == 2 * TDES_PART:
        full += data[:TDES_PART]
    try:
        # cast: TripleDES is annotated ``bytes`` but takes any buffer; a bytearray can be wiped, bytes not.
        encryptor = Cipher(TripleDES(cast(bytes, full)), modes.ECB()).encryptor()  # noqa: S305 - one block, X9.24 KCV
        block = encryptor.update(bytes(TDES_BLOCK)) + encryptor.finalize()
    finally:
        for i in range(len(full)):
            full[i] = 0
    return KeyCheckValue(KCVMethod.TDES_ECB.value, block[: KCVMethod.TDES_ECB.length])


def generic_kcv(material: _Material) -> KeyCheckValue:
    """HMAC-SHA-256 over 16 zero bytes, first 5 bytes (our documented convention, see module doc)."""
    data = _view(material)
    if not GENERIC_MIN_LENGTH <= len(data) <= GENERIC_MAX_LENGTH:
        raise KeyMaterialError(
            f"a generic secret has {GENERIC_MIN_LENGTH} to {GENERIC_MAX_LENGTH} bytes, not {len(data)}"
        )
    key = bytearray(data)  # hmac.new wants bytes or bytearray; a bytearray copy we can wipe
    try:
        digest = hmac.new(key, bytes(AES_BLOCK), hashlib.sha256).digest()
    finally:
        for i in range(len(key)):
            key[i] = 0
    return KeyCheckValue(KCVMethod.HMAC_SHA256.value, digest[: KCVMethod.HMAC_SHA256.length])


def method_for(key_type: KeyType) -> KCVMethod:
    if key_type.is_aes:
        return KCVMethod.AES_CMAC
    if key_type.is_tdes:
        return KCVMethod.TDES_ECB
    return KCVMethod.HMAC_SHA256


def kcv_by_method(method: str, material: _Material) -> KeyCheckValue:
    """The KCV of ``material`` computed with ``method`` (the method of a registered KCV)."""
    try:
        chosen = KCVMethod(method)
    except ValueError:
        raise InputError(f"unknown KCV method {method[:40]!r}") from None
    if chosen is KCVMethod.AES_CMAC:
        return aes_kcv(material)
    if chosen is KCVMethod.TDES_ECB:
        return tdes_kcv(material)
    return generic_kcv(material)


def kcv_for(key_type: KeyType, material: _Material) -> KeyCheckValue:
    """The KCV of ``material`` as a key (or component) of ``key_type``; checks the length only."""
    return kcv_by_method(method_for(key_type).value, material)


def compute_kcv(key: Key) -> KeyCheckValue:
    """The KCV of a key, with the method its type calls for."""
    return kcv_for(key.key_type, key.material)


def check_kcv(material: _Material, expected: KeyCheckValue, what: str = "the key") -> None:
    """Raise :class:`KCVMismatchError` unless ``material`` has the registered KCV ``expected``."""
    actual = kcv_by_method(expected.method, material)
    if not actual.matches(expected):
        raise KCVMismatchError(
            f"{what} does not match the registered key check value {expected.hex} ({expected.method})"
        )
