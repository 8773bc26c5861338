"""The share codec: how a share looks to a person, typed from a card or scanned from its QR code.

Layout (format version 1). A share is a stream of symbols from the Crockford base32 alphabet (digits and
uppercase letters without I, L, O, U: unambiguous read aloud, and carried by QR codes in alphanumeric mode)::

    header    28 symbols: version '1' | scheme 'S'/'X' | m (2) | n (2) | share number (2) | key id (10)
              | split id (10); m, n and the number in base 32, two symbols each
    body      the share bytes, big-endian, 5 bits per symbol, last symbol zero-padded (no '=' padding)
    checksum  8 symbols: first 40 bits of SHA-256(domain tag || header symbols || share bytes)

The stream is cut into groups of four symbols (the last group may be shorter); each group is followed by
one check character, so a printed group is five characters and groups are numbered from 1 (header groups 1-7).

Check character. Symbols are read as elements of GF(32) = GF(2)[x]/(x^5 + x^2 + 1) (the symbol's index in the
alphabet is its 5-bit polynomial). For group k (0-based) with data symbols d_0..d_{r-1} the check character is
c = d_0*a^1 + d_1*a^2 + ... + d_{r-1}*a^r + (k mod 32), a = x. Written as one equation over all characters
of the group, sum(w_i * s_i) = k mod 32 with the weights (a, a^2, a^3, a^4, 1), all nonzero and distinct.
 - A substitution s_i -> s_i' changes the sum by w_i * (s_i - s_i'), nonzero in a field: always caught.
 - Swapping any two characters s_i, s_j of a group (adjacent ones, and the last data character with the check
   character) changes it by (w_i - w_j) * (s_i - s_j): nonzero unless the characters are equal (then nothing
   changed). Always caught.
 - A swap across a group boundary is a substitution in each of the two groups: caught in the first.
 - Because the group number is part of the equation, a group typed twice, skipped or moved is caught at the
   first group that is out of place (for shares of up to 32 groups; longer ones rely on the checksum).
The whole-share checksum binds the header to the body: a header edit or a group from another share that
happens to pass its own check is caught with probability 1 - 2^-40.

Typed form: groups joined by '-', e.g. ``1S03A-0501B-...``. The QR payload is the same string (digits, A-Z
and '-' only). Decoding ignores spaces, dashes, line breaks and case, and reads I and L as 1 and O as 0
(Crockford's decoding rule: these letters are never printed, so typing one means the look-alike digit).

Secrets: the typed form and the share bytes are handled in ``bytearray``/``SecretBytes`` only; errors quote
the header or a group NUMBER, never the characters of the body (DESIGN §2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from ceremony.crypto.ids import ALPHABET, ID_LENGTH, is_id
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import CeremonyError, ForeignShareError, ShareChecksumError, ShareError, ShareFormatError

FORMAT_VERSION = 1
GROUP_DATA = 4  # data symbols per group; a printed group is GROUP_DATA + 1 characters
HEADER_SYMBOLS = 28
HEADER_GROUPS = HEADER_SYMBOLS // GROUP_DATA
CHECKSUM_SYMBOLS = 8  # 40 bits
MAX_SHARE_BYTES = 255  # generous: a 64-byte secret gives 65-byte Shamir shares
SEPARATOR = ord("-")
_DOMAIN = b"ceremony/share-codec/v1\x00"
_SCHEME_SYMBOL = {Scheme.SHAMIR: "S", Scheme.XOR: "X"}
_SYMBOL_SCHEME = {v: k for k, v in _SCHEME_SYMBOL.items()}

_ALPHABET_BYTES = ALPHABET.encode("ascii")
# byte -> symbol value, or -1 for "not a share character"; -2 for characters that are skipped.
_DECODE = [-1] * 256
for _i, _c in enumerate(_ALPHABET_BYTES):
    _DECODE[_c] = _i
    _DECODE[ord(chr(_c).lower())] = _i
for _alias, _target in (("I", "1"), ("L", "1"), ("O", "0")):
    for _a in (_alias, _alias.lower()):
        _DECODE[ord(_a)] = ALPHABET.index(_target)
for _skip in b" -\t\r\n":
    _DECODE[_skip] = -2

# --- GF(32) ------------------------------------------------------------------------------------------------
_POLY = 0b100101  # x^5 + x^2 + 1, primitive


def _gf_mul(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _POLY
    return result


# Data weights a^1..a^4 (= 2, 4, 8, 16: no reduction below a^5); the check character's own weight is 1.
_WEIGHTS = tuple(1 << (i + 1) for i in range(GROUP_DATA))
_MUL_TABLE = tuple(tuple(_gf_mul(w, v) for v in range(32)) for w in _WEIGHTS)


def _check_symbol(group: bytearray | memoryview, group_index: int) -> int:
    """The check symbol of one group's data symbol values (group_index is 0-based)."""
    total = group_index % 32
    for i, value in enumerate(group):
        total ^= _MUL_TABLE[i][value]
    return total


# --- header ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShareHeader:
    """What a share says about itself; no secret. ``threshold`` is m, ``count`` is n."""

    version: int
    scheme: Scheme
    key_id: str
    split_id: str
    threshold: int
    count: int
    number: int

    @classmethod
    def of(cls, share: Share) -> ShareHeader:
        header = cls(
            FORMAT_VERSION,
            share.scheme,
            share.key_id,
            share.split_id,
            share.threshold,
            share.count,
            share.number,
        )
        header._validate(ShareError)
        return header

    @property
    def label(self) -> str:
        return f"share {self.number} of {self.count} ({self.threshold} needed) of split {self.split_id}"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "format_version": self.version,
            "scheme": self.scheme.value,
            "key_id": self.key_id,
            "split_id": self.split_id,
            "threshold": self.threshold,
            "count": self.count,
            "number": self.number,
        }

    def _validate(self, error: type[CeremonyError]) -> None:
        if not is_id(self.key_id) or not is_id(self.split_id):
            raise error("the key id and split id must be 10 characters of the share alphabet")
        # 2 <= m <= n <= 255 (DESIGN §2): a 1-of-n "share" would be the key itself.
        if not 2 <= self.threshold <= self.count <= 255:
            raise error(f"a share header cannot say {self.threshold}-of-{self.count}")
        if self.scheme is Scheme.XOR and self.threshold != self.count:
            raise error(f"an XOR component belongs to an n-of-n split, not {self.threshold}-of-{self.count}")
        if not 1 <= self.number <= self.count:
            raise error(f"share number {self.number} is outside 1..{self.count}")

    def _symbols(self) -> bytearray:
        text = (
            f"{self.version}{_SCHEME_SYMBOL[self.scheme]}{_num2(self.threshold)}{_num2(self.count)}"
            f"{_num2(self.number)}{self.key_id}{self.split_id}"
        )
        values = bytearray(_DECODE[b] for b in text.encode("ascii"))
        assert len(values) == HEADER_SYMBOLS
        return values


def _num2(value: int) -> str:
    return ALPHABET[value >> 5] + ALPHABET[value & 31]


def _parse_header(values: bytearray | memoryview) -> ShareHeader:
    """Header fields from 28 symbol values whose group checks already passed."""
    version = values[0]
    if version != FORMAT_VERSION:
        raise ShareFormatError(
            f"this share is in format version {ALPHABET[version]}, which this program does not read"
        )
    scheme = _SYMBOL_SCHEME.get(ALPHABET[values[1]])
    if scheme is None:
        raise ShareFormatError(f"the second character of group 1 should be S or X, not {ALPHABET[values[1]]}")
    threshold = (values[2] << 5) | values[3]
    count = (values[4] << 5) | values[5]
    number = (values[6] << 5) | values[7]
    key_id = "".join(ALPHABET[v] for v in values[8 : 8 + ID_LENGTH])
    split_id = "".join(ALPHABET[v] for v in values[8 + ID_LENGTH : 8 + 2 * ID_LENGTH])
    header = ShareHeader(FORMAT_VERSION, scheme, key_id, split_id, threshold, count, number)
    header._validate(ShareFormatError)
    return header


# --- bits <-> symbols --------------------------------------------------------------------------------------
def _body_symbols(length: int) -> int:
    return (8 * length + 4) // 5


def _bytes_to_symbols(data: memoryview | bytearray, out: bytearray) -> None:
    acc = 0
    bits = 0
    for byte in data:
        acc = ((acc << 8) | byte) & 0xFFF
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    acc = 0


def _symbols_to_bytes(values: memoryview, length: int) -> bytearray:
    out = bytearray()
    acc = 0
    bits = 0
    for value in values:
        acc = ((acc << 5) | value) & 0x1FFF
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    pad = acc & ((1 << bits) - 1)
    acc = 0
    if len(out) != length or pad:
        out[:] = bytes(len(out))
        # Only reachable when the group checks passed but the last body group carries stray padding bits.
        raise ShareFormatError(
            "the last group of the share body is not a valid ending; check the last groups"
        )
    return out


def _checksum(header: bytearray, data: memoryview | bytearray) -> bytearray:
    digest = hashlib.sha256()
    digest.update(_DOMAIN)
    digest.update(_to_ascii(header))
    digest.update(data)
    out = bytearray()
    _bytes_to_symbols(memoryview(digest.digest())[:5], out)
    return out


def _to_ascii(values: bytearray) -> bytes:
    # Only ever called on header symbols (no secret).
    return bytes(_ALPHABET_BYTES[v] for v in values)


# --- encode ------------------------------------------------------------------------------------------------
def encode_share(share: Share) -> SecretBytes:
    """The typed form of ``share`` as ASCII bytes: groups of five characters joined by '-'.

    The same bytes are the QR payload (alphanumeric mode)."""
    header = ShareHeader.of(share)
    length = len(share.data)
    if not 1 <= length <= MAX_SHARE_BYTES:
        raise ShareError(f"a share of {length} bytes cannot be encoded (1..{MAX_SHARE_BYTES})")
    values = header._symbols()
    try:
        _bytes_to_symbols(share.data.view(), values)
        values.extend(_checksum(values[:HEADER_SYMBOLS], share.data.view()))
        out = bytearray()
        view = memoryview(values)
        for k, start in enumerate(range(0, len(values), GROUP_DATA)):
            group = view[start : start + GROUP_DATA]
            if k:
                out.append(SEPARATOR)
            out.extend(_ALPHABET_BYTES[v] for v in group)
            out.append(_ALPHABET_BYTES[_check_symbol(group, k)])
        view.release()
        return SecretBytes.adopt(out)
    finally:
        values[:] = bytes(len(values))


def share_groups(encoded: SecretBytes) -> list[SecretBytes]:
    """The printed groups of an encoded share, in order (group k of an error message is item k-1)."""
    return _split(encoded)


def _split(encoded: SecretBytes) -> list[SecretBytes]:
    buf = encoded.view()
    groups: list[SecretBytes] = []
    start = 0
    for i in range(len(buf) + 1):
        if i == len(buf) or buf[i] == SEPARATOR:
            groups.append(SecretBytes(buf[start:i]))
            start = i + 1
    return groups


def share_lines(encoded: SecretBytes, groups_per_line: int = 4) -> Iterator[tuple[int, SecretBytes]]:
    """Lines for a card or screen: (number of the first group on the line, groups separated by spaces).

    The header (groups 1-7) gets its own lines so the key and split ids stand apart from the secret body.
    """
    groups = _split(encoded)
    try:
        bounds = _line_bounds(len(groups), groups_per_line)
        for start, end in bounds:
            line = bytearray()
            for k in range(start, end):
                if k > start:
                    line.append(ord(" "))
                line.extend(groups[k].view())
            yield start + 1, SecretBytes.adopt(line)
    finally:
        for group in groups:
            group.wipe()


def share_text(encoded: SecretBytes, groups_per_line: int = 4) -> SecretBytes:
    """The whole share as printed on a card: the lines of :func:`share_lines` joined by newlines."""
    out = bytearray()
    for _, line in share_lines(encoded, groups_per_line):
        with line:
            out += line.view()
            out.append(ord("\n"))
    return SecretBytes.adopt(out)


def _line_bounds(total: int, per_line: int) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    for first, last in ((0, HEADER_GROUPS), (HEADER_GROUPS, total)):
        bounds += [(s, min(s + per_line, last)) for s in range(first, last, per_line)]
    return bounds


# --- decode ------------------------------------------------------------------------------------------------
def _normalise(text: bytes | bytearray | str, limit: int | None = None) -> bytearray:
    """Symbol values of ``text`` with separators dropped; ``limit`` stops after that many symbols."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    values = bytearray()
    typed = 0  # characters kept so far, to name the group of a stray character
    for byte in raw:
        value = _DECODE[byte]
        if value == -2:
            continue
        if value < 0:
            values[:] = bytes(len(values))
            group = typed // (GROUP_DATA + 1) + 1
            # The character itself is not quoted: in the body it is (part of) the secret.
            raise ShareFormatError(
                f"group {group} contains a character that is never printed on a share card"
            )
        values.append(value)
        typed += 1
        if limit is not None and typed >= limit:
            break
    return values


def _check_groups(chars: bytearray, first_group: int, last_group: int) -> None:
    """Verify the check character of groups first_group..last_group-1; raise naming the first bad one."""
    view = memoryview(chars)
    for k in range(first_group, last_group):
        start = k * (GROUP_DATA + 1)
        group = view[start : start + GROUP_DATA + 1]
        if len(group) < 2 or _check_symbol(group[:-1], k) != group[-1]:
            # The group number travels in ``group``; whoever shows the error names it once
            # ("Typing error in group 9 — a character in it is mistyped ...").
            raise ShareChecksumError(
                "a character in it is mistyped or two are swapped (or a group before it was skipped or "
                "typed twice)",
                group=k + 1,
            )


def check_typed_groups(text: bytes | bytearray | str) -> int:
    """As a custodian types: check every complete group typed so far and return how many there are.

    For feedback while typing (the same per-group check ``decode_share`` runs); an incomplete last group is
    not judged yet. Raises :class:`ShareChecksumError` naming the first bad group, or
    :class:`ShareFormatError` for a character never printed on a card. Never quotes the input.
    """
    chars = _normalise(text)
    try:
        complete = len(chars) // (GROUP_DATA + 1)
        _check_groups(chars, 0, complete)
        return complete
    finally:
        chars[:] = bytes(len(chars))


def read_header(text: bytes | bytearray | str) -> ShareHeader:
    """The header of a typed or scanned share (its first seven groups are checked; the body is not read)."""
    header_chars = HEADER_GROUPS * (GROUP_DATA + 1)
    return _read_header(_normalise(text, limit=header_chars))


def _read_header(chars: bytearray) -> ShareHeader:
    header_chars = HEADER_GROUPS * (GROUP_DATA + 1)
    if len(chars) < header_chars:
        raise ShareFormatError(
            f"a share starts with {HEADER_GROUPS} groups of five characters; "
            f"only {len(chars)} characters were given"
        )
    _check_groups(chars, 0, HEADER_GROUPS)
    data = bytearray(v for i, v in enumerate(chars[:header_chars]) if i % (GROUP_DATA + 1) != GROUP_DATA)
    return _parse_header(data)


def decode_share(text: bytes | bytearray | str, expected_split_id: str | None = None) -> Share:
    """Decode a typed or scanned share, checking every group, the whole-share checksum and (optionally) that
    it belongs to ``expected_split_id``. Pass ``bytearray`` input when you can: a ``str`` cannot be wiped."""
    chars = _normalise(text)
    data = bytearray()
    values = bytearray()
    try:
        header = _read_header(chars)  # names a bad header group before anything else
        total = len(chars)
        groups, rest = divmod(total, GROUP_DATA + 1)
        groups += 1 if rest else 0
        _check_groups(chars, HEADER_GROUPS, groups)
        values = bytearray(
            v
            for i, v in enumerate(chars)
            if i % (GROUP_DATA + 1) != GROUP_DATA and not (rest and i == total - 1)
        )
        body = len(values) - HEADER_SYMBOLS - CHECKSUM_SYMBOLS
        length = (5 * body) // 8
        if rest == 1 or body < 1 or _body_symbols(length) != body or length > MAX_SHARE_BYTES:
            raise ShareFormatError(
                f"the share has {groups} groups, which is not a possible length: a group or a character "
                "is missing or extra (check the last groups)"
            )
        view = memoryview(values)
        data = _symbols_to_bytes(view[HEADER_SYMBOLS : HEADER_SYMBOLS + body], length)
        expected = _checksum(values[:HEADER_SYMBOLS], data)
        if expected != values[HEADER_SYMBOLS + body :]:
            raise ShareChecksumError(
                f"every group checks out but the share as a whole does not ({header.label}): a group may "
                "come from another share card, or one group has two mistakes",
                group=0,
            )
        view.release()
        if expected_split_id is not None and header.split_id != expected_split_id:
            raise ForeignShareError(
                f"this is {header.label} of key {header.key_id}, not a share of split {expected_split_id}"
            )
        share = Share(
            key_id=header.key_id,
            split_id=header.split_id,
            scheme=header.scheme,
            threshold=header.threshold,
            count=header.count,
            number=header.number,
            data=SecretBytes.adopt(data),
        )
        data = bytearray()
        return share
    finally:
        for buf in (chars, values, data):
            buf[:] = bytes(len(buf))


# --- raw interop -------------------------------------------------------------------------------------------
_HEX = b"0123456789abcdef"
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def vault_hex(share: Share) -> SecretBytes:
    """The share bytes as lowercase hex (HashiCorp Vault share format for Shamir: y-bytes || x-byte)."""
    out = bytearray()
    for byte in share.data.view():
        out.append(_HEX[byte >> 4])
        out.append(_HEX[byte & 15])
    return SecretBytes.adopt(out)


def vault_base64(share: Share) -> SecretBytes:
    """The share bytes in standard padded base64, as ``vault operator unseal`` takes them (RFC 4648 §4)."""
    data = share.data.view()
    out = bytearray()
    for i in range(0, len(data), 3):
        chunk = data[i : i + 3]
        acc = 0
        for byte in chunk:
            acc = (acc << 8) | byte
        acc <<= 8 * (3 - len(chunk))
        for j in range(4):
            out.append(_B64[(acc >> (18 - 6 * j)) & 63] if j <= len(chunk) else ord("="))
        acc = 0
    return SecretBytes.adopt(out)
