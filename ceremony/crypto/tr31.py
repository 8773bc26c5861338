"""TR-31 / ANSI X9.143 key blocks: version D (AES KBPK) and version B (TDES KBPK).

A key block carries a key encrypted and MACed under a key block protection key (KBPK), with a clear header
that binds what the key may be used for (usage, algorithm, mode of use, version, exportability). Payment
HSMs import keys this way (PCI PIN 18-3); an RFC 5649 wrap binds nothing.

Written in-project on ``cryptography`` rather than taken as a dependency: it is a few hundred lines, pure
(no I/O, no clock; randomness only for the payload padding), auditable in one sitting, and no maintained
TR-31 library fits our pinned stack (``psec`` is used in the tests only, as an independent cross-check).

The format, as implemented here (TR-31:2018 / X9.143-2022, key derivation binding method):

* Header (ASCII): version (1), block length (4 decimal digits, the whole block), key usage (2),
  algorithm (1), mode of use (1), key version number (2), exportability (1), number of optional blocks
  (2 decimal digits), reserved ``00``; then the optional blocks, each ``ID`` (2) + length (2 hex digits,
  counting the 4 before it; ``00`` introduces an extended length: 2 hex digits giving the width of the
  length that follows) + data. A ``PB`` padding block brings the header to a multiple of the cipher block.
* Keys: the encryption key (KBEK) and MAC key (KBMK) are derived from the KBPK with CMAC over
  ``counter || usage (0000 enc / 0001 MAC) || 00 || algorithm || length in bits`` (the NIST SP 800-108
  counter construction), as many blocks as the KBPK is long.
* Payload: key length in bits (2 bytes) || key || random padding. Key-length masking: the padding makes
  room for the longest key the version carries (24 bytes under B, 32 under D), so the block's length does
  not tell a 2-key TDES key from a 3-key one, or AES-128 from AES-256.
* MAC: CMAC under the KBMK over header || clear payload (8 bytes under B, 16 under D); the payload is
  encrypted under the KBEK in CBC mode with the MAC as IV. Block = header || hex(ciphertext) || hex(MAC).

What is refused when a block is made (:func:`wrap`) — a ceremony issues only well-bound blocks: an AES key
under a TDES KBPK (version B), a key stronger than its KBPK (SP 800-57 strengths), a usage the tables
below do not list, a mode of use the standard does not allow for that usage, and the catch-all mode ``N``.
A block received (:func:`unwrap`) is held to the structure and the usage/mode table, but ``N`` and a key
stronger than the KBPK are accepted as the standard allows (payShield emits ``N``; AWS Payment
Cryptography accepted 3-key TDES under a 2-key KBPK). A wrong MAC says only that it does not verify.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from ceremony.crypto.secret import SecretBytes, wipe_buffer
from ceremony.errors import KeyBlockError

_Material = bytes | bytearray | memoryview | SecretBytes

VERSIONS = {"B": "TDES key derivation binding (TDES KBPK)", "D": "AES key derivation binding (AES KBPK)"}
# Versions A and C (variant binding) are decoded by inspect() but never made nor opened.
KNOWN_VERSIONS = {
    **VERSIONS,
    "A": "TDES key variant binding (withdrawn)",
    "C": "TDES key variant binding",
}

KEY_USAGES = {
    "B0": "Base derivation key (BDK)",
    "B1": "Initial DUKPT key",
    "B2": "Base key variant key",
    "C0": "Card verification key (CVK)",
    "D0": "Symmetric key for data encryption",
    "E0": "EMV/chip issuer master key: application cryptograms",
    "E1": "EMV/chip issuer master key: secure messaging for confidentiality",
    "E2": "EMV/chip issuer master key: secure messaging for integrity",
    "E3": "EMV/chip issuer master key: data authentication code",
    "E4": "EMV/chip issuer master key: dynamic numbers",
    "E5": "EMV/chip issuer master key: card personalization",
    "E6": "EMV/chip issuer master key: other",
    "K0": "Key encryption or wrapping key",
    "K1": "TR-31 key block protection key",
    "M0": "ISO 16609 MAC algorithm 1 (TDES)",
    "M1": "ISO 9797-1 MAC algorithm 1",
    "M2": "ISO 9797-1 MAC algorithm 2",
    "M3": "ISO 9797-1 MAC algorithm 3 (retail MAC)",
    "M4": "ISO 9797-1 MAC algorithm 4",
    "M5": "ISO 9797-1:1999 MAC algorithm 5",
    "M6": "ISO 9797-1:2011 MAC algorithm 5 (CMAC)",
    "P0": "PIN encryption",
    "V0": "PIN verification, KPV, other algorithm",
    "V1": "PIN verification, IBM 3624",
    "V2": "PIN verification, VISA PVV",
    "V3": "PIN verification, X9.132 algorithm 1",
    "V4": "PIN verification, X9.132 algorithm 2",
}

ALGORITHMS = {
    "A": "AES",
    "T": "Triple DES",
    "D": "DES",
    "H": "HMAC",
    "R": "RSA",
    "E": "Elliptic curve",
    "S": "DSA",
}

MODES_OF_USE = {
    "B": "Both encrypt/wrap and decrypt/unwrap",
    "C": "Both generate and verify",
    "D": "Decrypt/unwrap only",
    "E": "Encrypt/wrap only",
    "G": "Generate only",
    "N": "No special restrictions",
    "S": "Signature only",
    "T": "Both sign and decrypt",
    "V": "Verify only",
    "X": "Key used to derive other keys",
    "Y": "Key used to create key variants",
}

EXPORTABILITY = {
    "E": "Exportable under a KEK meeting X9.24",
    "N": "Non-exportable",
    "S": "Sensitive: exportable under an untrusted KEK",
}

OPTIONAL_BLOCKS = {
    "CT": "Asymmetric public key certificate",
    "HM": "HMAC hash algorithm",
    "IK": "Initial key identifier (AES DUKPT)",
    "KC": "Key check value of the wrapped key",
    "KP": "Key check value of the KBPK",
    "KS": "Key set identifier (DUKPT)",
    "KV": "Key block values version",
    "PB": "Padding block",
    "TS": "Time stamp",
}

_ENCRYPT = frozenset("BDE")
_MAC = frozenset("CGV")
_DERIVE = frozenset("X")
# TR-31:2018 Table 6 (key usage) with the modes of use Table 7 allows for each. "N" is allowed by the
# standard for every usage; we accept it in a received block and never issue it (see the module docstring).
ALLOWED_MODES: dict[str, frozenset[str]] = {
    "B0": _DERIVE,
    "B1": _DERIVE,
    "B2": _DERIVE,
    "C0": _MAC,
    "D0": _ENCRYPT,
    **{f"E{n}": _DERIVE for n in range(7)},
    "K0": _ENCRYPT,
    "K1": _ENCRYPT,
    **{f"M{n}": _MAC for n in range(7)},
    "P0": _ENCRYPT,
    **{f"V{n}": _MAC for n in range(5)},
}
# MACs defined on the DES block cipher: not for an AES key.
_DES_ONLY_USAGES = frozenset({"M0", "M1", "M2", "M3", "M4", "M5"})

_KEY_LENGTHS = {"A": (16, 24, 32), "T": (16, 24)}
_KBPK_LENGTHS = {"B": (16, 24), "D": (16, 24, 32)}
_BLOCK_SIZE = {"B": 8, "D": 16}
_MAC_SIZE = {"B": 8, "D": 16}
_MASKED_LENGTH = {"B": 24, "D": 32}  # the longest key each version carries
# NIST SP 800-57 Part 1 security strengths, in bits.
_STRENGTH = {("T", 16): 80, ("T", 24): 112, ("A", 16): 128, ("A", 24): 192, ("A", 32): 256}

_HEADER_LENGTH = 16
_MAX_BLOCK_LENGTH = 9999
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_ALNUM = re.compile(r"[0-9A-Za-z]{2}")
_HEX = re.compile(r"[0-9A-Fa-f]*")


@dataclass(frozen=True)
class OptionalBlock:
    """One optional header block: a two-character ID and its printable data (``PB`` is added by wrap)."""

    id: str
    data: str

    def __post_init__(self) -> None:
        if not _ALNUM.fullmatch(self.id):
            raise KeyBlockError("an optional block ID is two letters or digits")
        if not _PRINTABLE.fullmatch(self.data):
            raise KeyBlockError(f"optional block {self.id} holds a character that is not printable ASCII")

    def encode(self) -> str:
        total = 4 + len(self.data)
        if total <= 0xFF:
            return f"{self.id}{total:02X}{self.data}"
        # Extended length: "00", the width of the length in hex digits, then the length (all counted).
        width = 4
        total = 4 + 2 + width + len(self.data)
        if total > 0xFFFF:
            raise KeyBlockError(f"optional block {self.id} is too long")
        return f"{self.id}00{width:02X}{total:04X}{self.data}"


@dataclass(frozen=True)
class Header:
    """A key block header as the custodians read it; ``blocks`` are the optional blocks other than PB."""

    version: str
    key_usage: str
    algorithm: str
    mode_of_use: str
    key_version: str = "00"
    exportability: str = "N"
    blocks: tuple[OptionalBlock, ...] = ()

    def __post_init__(self) -> None:
        if self.version not in KNOWN_VERSIONS:
            raise KeyBlockError(f"key block version {self.version!r} is not one of A, B, C, D")
        if not _ALNUM.fullmatch(self.key_usage):
            raise KeyBlockError("the key usage is two letters or digits")
        if self.algorithm not in ALGORITHMS:
            raise KeyBlockError(f"algorithm {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        if self.mode_of_use not in MODES_OF_USE:
            raise KeyBlockError(f"mode of use {self.mode_of_use!r} is not one of {', '.join(MODES_OF_USE)}")
        if not _ALNUM.fullmatch(self.key_version):
            raise KeyBlockError("the key version number is two letters or digits")
        if self.exportability not in EXPORTABILITY:
            raise KeyBlockError(f"exportability {self.exportability!r} is not one of E, N, S")
        if any(block.id == "PB" for block in self.blocks):
            raise KeyBlockError("the PB padding block is added by the key block itself")
        if len({block.id for block in self.blocks}) != len(self.blocks):
            raise KeyBlockError("an optional block ID appears twice")

    def block(self, block_id: str) -> str | None:
        """The data of optional block ``block_id``, or None."""
        return next((block.data for block in self.blocks if block.id == block_id), None)

    def encode(self, block_length: int) -> str:
        """The header's ASCII form for a block of ``block_length`` characters, padded with PB if needed."""
        body = "".join(block.encode() for block in self.blocks)
        count = len(self.blocks)
        size = _BLOCK_SIZE.get(self.version, 8)
        if self.blocks and (_HEADER_LENGTH + len(body)) % size:
            fill = (-(_HEADER_LENGTH + len(body) + 4)) % size
            body += OptionalBlock("PB", "0" * fill).encode()
            count += 1
        if count > 99:
            raise KeyBlockError("more than 99 optional blocks")
        return (
            f"{self.version}{block_length:04d}{self.key_usage}{self.algorithm}{self.mode_of_use}"
            f"{self.key_version}{self.exportability}{count:02d}00{body}"
        )

    def describe(self) -> dict[str, object]:
        """The header decoded for people (JSON-ready): each field's code and meaning."""

        def field(code: str, meanings: dict[str, str]) -> dict[str, str]:
            return {"code": code, "meaning": meanings.get(code, "not known to this program")}

        version_meaning = (
            "no key versioning"
            if self.key_version == "00"
            else "key component " + self.key_version[1]
            if self.key_version[0] == "c"
            else "key version " + self.key_version
        )
        return {
            "version": field(self.version, KNOWN_VERSIONS),
            "key_usage": field(self.key_usage, KEY_USAGES),
            "algorithm": field(self.algorithm, ALGORITHMS),
            "mode_of_use": field(self.mode_of_use, MODES_OF_USE),
            "key_version": {"code": self.key_version, "meaning": version_meaning},
            "exportability": field(self.exportability, EXPORTABILITY),
            "optional_blocks": [
                {
                    "id": b.id,
                    "meaning": OPTIONAL_BLOCKS.get(b.id, "not known to this program"),
                    "data": b.data,
                }
                for b in self.blocks
            ],
        }


# --- parsing ---------------------------------------------------------------------------------------------
def _parse(block: str) -> tuple[Header, int]:
    """The header of ``block`` and where the encrypted part starts. Structure only, no key."""
    if not isinstance(block, str) or not block.isascii():
        raise KeyBlockError("a key block is ASCII text")
    block = block.strip()
    if len(block) < _HEADER_LENGTH:
        raise KeyBlockError(f"a key block has at least {_HEADER_LENGTH} characters; {len(block)} given")
    version = block[0]
    if version not in KNOWN_VERSIONS:
        raise KeyBlockError(f"key block version {version!r} is not one of A, B, C, D")
    length_text = block[1:5]
    if not length_text.isdigit():
        raise KeyBlockError("characters 2-5 of a key block are its length in decimal digits")
    if int(length_text) != len(block):
        raise KeyBlockError(f"the header gives a length of {int(length_text)}; the block has {len(block)}")
    count_text, reserved = block[12:14], block[14:16]
    if not count_text.isdigit():
        raise KeyBlockError("characters 13-14 of a key block are the number of optional blocks")
    if reserved != "00":
        raise KeyBlockError("characters 15-16 of a key block (reserved) must be 00")
    position = _HEADER_LENGTH
    blocks: list[OptionalBlock] = []
    for _ in range(int(count_text)):
        block_id, length_field = block[position : position + 2], block[position + 2 : position + 4]
        if len(length_field) < 2 or not _HEX.fullmatch(length_field):
            raise KeyBlockError(f"optional block at character {position + 1} has no hex length")
        total, data_start = int(length_field, 16), position + 4
        if total == 0:
            width_text = block[data_start : data_start + 2]
            if len(width_text) < 2 or not _HEX.fullmatch(width_text):
                raise KeyBlockError(f"optional block {block_id!r} has a malformed extended length")
            width = int(width_text, 16)
            value = block[data_start + 2 : data_start + 2 + width]
            if width == 0 or len(value) < width or not _HEX.fullmatch(value):
                raise KeyBlockError(f"optional block {block_id!r} has a malformed extended length")
            total, data_start = int(value, 16), data_start + 2 + width
        end = position + total
        if end < data_start or end > len(block):
            raise KeyBlockError(f"optional block {block_id!r} runs past the end of the key block")
        blocks.append(OptionalBlock(block_id, block[data_start:end]))
        position = end
    padding = [b for b in blocks if b.id == "PB"]
    if padding and blocks[-1].id != "PB":
        raise KeyBlockError("the PB padding block must be the last optional block")
    header = Header(
        version=version,
        key_usage=block[5:7],
        algorithm=block[7],
        mode_of_use=block[8],
        key_version=block[9:11],
        exportability=block[11],
        blocks=tuple(b for b in blocks if b.id != "PB"),
    )
    return header, position


def header_length(block: str) -> int:
    """How many characters of ``block`` are its clear header (optional blocks and padding included)."""
    return _parse(block)[1]


def inspect(block: str) -> Header:
    """Decode the header of ``block`` without any key (the MAC is not checked: nothing is vouched for)."""
    header, _ = _parse(block)
    return header


# --- the rules of combination ----------------------------------------------------------------------------
def _check_combination(header: Header, *, issuing: bool) -> None:
    usage, mode = header.key_usage, header.mode_of_use
    allowed = ALLOWED_MODES.get(usage)
    if allowed is None:
        if issuing:
            raise KeyBlockError(f"key usage {usage} is not one this program issues")
        return
    if mode == "N" and not issuing:
        return
    if mode not in allowed:
        hint = "; N (no restrictions) is never issued" if mode == "N" else ""
        raise KeyBlockError(
            f"mode of use {mode} is not allowed for key usage {usage} "
            f"({KEY_USAGES[usage]}): only {', '.join(sorted(allowed))}{hint}"
        )
    if usage in _DES_ONLY_USAGES and header.algorithm == "A":
        raise KeyBlockError(f"key usage {usage} ({KEY_USAGES[usage]}) is a DES-based MAC, not for an AES key")


def _check_key(header: Header, key_length: int) -> None:
    lengths = _KEY_LENGTHS.get(header.algorithm)
    if lengths is None:
        raise KeyBlockError(
            f"algorithm {header.algorithm} ({ALGORITHMS[header.algorithm]}) is not wrapped here"
        )
    if key_length not in lengths:
        allowed = " or ".join(map(str, lengths))
        raise KeyBlockError(f"a {ALGORITHMS[header.algorithm]} key has {allowed} bytes; {key_length} given")
    if header.version == "B" and header.algorithm != "T":
        raise KeyBlockError("an AES key cannot be carried under a TDES KBPK (version B); use version D")


def _check_kbpk(version: str, kbpk_length: int) -> None:
    if version not in VERSIONS:
        raise KeyBlockError(f"key block version {version} is not made or opened here (only B and D)")
    lengths = _KBPK_LENGTHS[version]
    if kbpk_length not in lengths:
        kind = "a TDES KBPK (version B)" if version == "B" else "an AES KBPK (version D)"
        raise KeyBlockError(f"{kind} has {' or '.join(map(str, lengths))} bytes; {kbpk_length} given")


def check_issuable(header: Header, key_length: int, kbpk_length: int | None = None) -> None:
    """Refuse (:class:`KeyBlockError`) a block :func:`wrap` would refuse, before any key exists: the
    version, the key's length and algorithm, the usage/mode pair, and — with ``kbpk_length`` — a key
    stronger than its KBPK. A ceremony checks its planned header this way before an envelope is opened."""
    _check_kbpk(header.version, kbpk_length if kbpk_length is not None else _KBPK_LENGTHS[header.version][-1])
    _check_key(header, key_length)
    _check_combination(header, issuing=True)
    if kbpk_length is not None:
        _check_strength(header, key_length, kbpk_length)


def _check_strength(header: Header, key_length: int, kbpk_length: int) -> None:
    kbpk_kind = "T" if header.version == "B" else "A"
    key_strength = _STRENGTH[(header.algorithm, key_length)]
    kbpk_strength = _STRENGTH[(kbpk_kind, kbpk_length)]
    if key_strength > kbpk_strength:
        raise KeyBlockError(
            f"the key ({key_strength}-bit strength) is stronger than its KBPK ({kbpk_strength}-bit): "
            "a key must be protected by one at least as strong"
        )


# --- the cryptography ------------------------------------------------------------------------------------
def _cipher(version: str, key: bytearray) -> BlockCipherAlgorithm:
    # cast: the algorithms are annotated ``bytes`` but take any buffer; a bytearray can be wiped, bytes not.
    if version == "B":
        return TripleDES(cast(bytes, key))
    return algorithms.AES(cast(bytes, key))


def _cmac(version: str, key: bytearray, *parts: bytes | bytearray) -> bytes:
    # CMAC.finalize returns immutable bytes: a derived-key block lives there until collected (as in kcv.py).
    mac = CMAC(_cipher(version, key))
    for part in parts:
        mac.update(cast(bytes, part))  # takes any buffer; annotated bytes
    return mac.finalize()


def _working_key(version: str, key: bytes | bytearray | memoryview) -> bytearray:
    """A wipeable copy of ``key`` for the cipher classes; a 2-key TDES key as K1 K2 K1 (the 16-byte form is
    deprecated in ``cryptography``)."""
    out = bytearray(key)
    if version == "B" and len(out) == 16:
        out += out[:8]
    return out


def _derive(version: str, kbpk_view: memoryview) -> tuple[bytearray, bytearray]:
    """(KBEK, KBMK): TR-31 key derivation binding, CMAC in counter mode over the KBPK."""
    length = len(kbpk_view)
    bits = length * 8
    if version == "B":
        algorithm = 0x0000 if length == 16 else 0x0001  # 2-key / 3-key TDES
    else:
        algorithm = {16: 0x0002, 24: 0x0003, 32: 0x0004}[length]  # AES-128/192/256
    kbpk = _working_key(version, kbpk_view)
    keys: list[bytearray] = []
    try:
        for usage in (0x0000, 0x0001):  # encryption, MAC
            size = _BLOCK_SIZE[version]
            out = bytearray(-(-length // size) * size)  # allocated once, never grown (no stale copy)
            for counter in range(1, len(out) // size + 1):
                data = bytes([counter]) + usage.to_bytes(2, "big") + b"\x00" + algorithm.to_bytes(2, "big")
                out[(counter - 1) * size : counter * size] = _cmac(
                    version, kbpk, data + bits.to_bytes(2, "big")
                )
            keys.append(_working_key(version, memoryview(out)[:length]))
            wipe_buffer(out)
    finally:
        wipe_buffer(kbpk)
    return keys[0], keys[1]


def _cbc(version: str, key: bytearray, iv: bytes, data: bytes | bytearray, *, encrypt: bool) -> bytearray:
    cipher = Cipher(_cipher(version, key), modes.CBC(iv))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    scratch = bytearray(len(data) + 16)  # update_into wants room for one more block
    try:
        count = worker.update_into(data, scratch)
        worker.finalize()
        return bytearray(memoryview(scratch)[:count])  # exact size; shrinking in place could move it
    finally:
        wipe_buffer(scratch)


def _view(material: _Material) -> memoryview:
    return material.view() if isinstance(material, SecretBytes) else memoryview(material)


# --- wrap and unwrap -------------------------------------------------------------------------------------
def wrap(kbpk: _Material, header: Header, key: _Material) -> str:
    """The TR-31 block carrying ``key`` under ``kbpk`` with ``header``: random padding, key length masked."""
    return _wrap(kbpk, header, key, os.urandom)


def _wrap(
    kbpk: _Material,
    header: Header,
    key: _Material,
    random: Callable[[int], bytes],
    masked_length: int | None = None,
) -> str:
    """:func:`wrap` with the padding's source and the masked length chosen (known-answer tests only)."""
    kbpk_view, key_view = _view(kbpk), _view(key)
    _check_kbpk(header.version, len(kbpk_view))
    _check_key(header, len(key_view))
    _check_combination(header, issuing=True)
    _check_strength(header, len(key_view), len(kbpk_view))
    size, mac_size = _BLOCK_SIZE[header.version], _MAC_SIZE[header.version]
    masked = _MASKED_LENGTH[header.version] if masked_length is None else max(masked_length, len(key_view))
    payload_length = -(-(2 + masked) // size) * size
    header_length = len(header.encode(0))
    block_length = header_length + 2 * payload_length + 2 * mac_size
    if block_length > _MAX_BLOCK_LENGTH:
        raise KeyBlockError(f"the key block would have {block_length} characters; at most 9999")
    text = header.encode(block_length).encode("ascii")
    payload = bytearray(payload_length)
    kbek, kbmk = _derive(header.version, kbpk_view)
    try:
        payload[0:2] = (len(key_view) * 8).to_bytes(2, "big")
        payload[2 : 2 + len(key_view)] = key_view
        fill = payload_length - 2 - len(key_view)
        padding = random(fill)
        if len(padding) != fill:
            raise KeyBlockError("the random source gave the wrong number of bytes")
        payload[2 + len(key_view) :] = padding
        mac = _cmac(header.version, kbmk, text, payload)[:mac_size]
        encrypted = _cbc(header.version, kbek, mac, payload, encrypt=True)
    finally:
        wipe_buffer(payload)
        wipe_buffer(kbek)
        wipe_buffer(kbmk)
    return text.decode("ascii") + encrypted.hex().upper() + mac.hex().upper()


def unwrap(kbpk: _Material, block: str) -> tuple[Header, SecretBytes]:
    """The header and key of ``block``, after its MAC is verified under ``kbpk``."""
    header, position = _parse(block)
    block = block.strip()
    kbpk_view = _view(kbpk)
    _check_kbpk(header.version, len(kbpk_view))
    _check_combination(header, issuing=False)
    size, mac_size = _BLOCK_SIZE[header.version], _MAC_SIZE[header.version]
    rest = block[position:]
    if not _HEX.fullmatch(rest) or len(rest) % 2:
        raise KeyBlockError("the part of the key block after the header must be hex digits")
    raw = bytes.fromhex(rest)
    encrypted, mac = raw[:-mac_size], raw[-mac_size:]
    if len(encrypted) < size or len(encrypted) % size:
        raise KeyBlockError("the key block's encrypted part is not a whole number of cipher blocks")
    text = block[:position].encode("ascii")
    kbek, kbmk = _derive(header.version, kbpk_view)
    payload = bytearray()
    try:
        payload = _cbc(header.version, kbek, mac, encrypted, encrypt=False)
        expected = _cmac(header.version, kbmk, text, payload)[:mac_size]
        if not hmac.compare_digest(expected, mac):
            raise KeyBlockError("MAC does not verify")
        bits = int.from_bytes(payload[0:2], "big")
        if bits % 8 or 2 + bits // 8 > len(payload):
            raise KeyBlockError(
                "the key length inside the key block is not a whole number of bytes that fits"
            )
        key = SecretBytes(memoryview(payload)[2 : 2 + bits // 8])
    finally:
        wipe_buffer(payload)
        wipe_buffer(kbek)
        wipe_buffer(kbmk)
    if header.algorithm in _KEY_LENGTHS and len(key) not in _KEY_LENGTHS[header.algorithm]:
        length = len(key)
        key.wipe()
        raise KeyBlockError(
            f"the block carries a {length}-byte key, not a {ALGORITHMS[header.algorithm]} key"
        )
    return header, key
