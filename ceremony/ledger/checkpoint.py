"""Paper checkpoints: the ledger's size, head hash and RFC 6962 Merkle tree hash (DESIGN §5).

A hash chain kept on one laptop cannot reveal that its tail was cut off or that the whole chain was rebuilt;
a checkpoint printed on a signed close-out or acknowledgement form and held by people can.

**Merkle tree hash** (RFC 6962 §2.1): over the event hashes ``d[0..n)`` in seq order,
``MTH({}) = SHA-256()``, ``MTH({d}) = SHA-256(0x00 || d)``, and for ``n > 1`` with ``k`` the largest power of
two smaller than ``n``: ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))``.
:class:`MerkleAccumulator` computes it in a stream with a stack of at most log2(n)+1 subtree hashes.

**Text form** (one line, also the QR payload; only characters of the QR alphanumeric set)::

    CEREMONY-CHECKPOINT V1 <LEDGER-ID> <SIZE> <HEAD-HASH-HEX> <MERKLE-ROOT-HEX>

hashes in uppercase hex. **Printed for people** (:meth:`Checkpoint.grouped`, on screen and on paper) it is
three lines — the name and size, then each hash in groups of eight hex digits, never broken inside a group::

    CEREMONY-CHECKPOINT V1 <LEDGER-ID> <SIZE>
    4998C092 0F570A65 71235B67 077E7755 5F8A14A8 C29FDD29 83559559 5A971778    (head hash)
    8549D45C 74B5FF48 19E9BDF0 62510DFE 895EC469 84F235D4 B7DE78E6 998178DF    (Merkle root)

:meth:`Checkpoint.parse` takes it back exactly as printed: any white space (spaces, line breaks), any case;
the words ``head`` and ``root`` (as some people write them in front of the hashes) are ignored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ceremony.errors import InputError

MAGIC: Final = "CEREMONY-CHECKPOINT"
VERSION: Final = "V1"
_HASH_HEX = re.compile(r"[0-9A-F]{64}")
_LEDGER_ID = re.compile(r"[0-9A-Z]{1,32}")
GROUP: Final = 8  # hex digits per printed group
_LABELS = frozenset({"HEAD", "ROOT", "MERKLE", "HASH"})  # words people may write before a hash; never hex


def group_hex(hex_text: str, size: int = GROUP) -> str:
    """``4998c0920f57...`` as ``4998C092 0F57...``: uppercase, groups of ``size`` separated by one space."""
    upper = hex_text.upper()
    return " ".join(upper[i : i + size] for i in range(0, len(upper), size))


class CheckpointFormatError(InputError):
    """A checkpoint line cannot be read."""


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 6962 §2.1 leaf hash: SHA-256(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 §2.1 interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleAccumulator:
    """Streaming RFC 6962 tree hash. ``push`` each leaf in order; ``root()`` at any time (O(log n) memory).

    The stack holds the roots of the perfect subtrees that make up the tree so far, largest first (the
    binary digits of the size); folding them right to left gives exactly RFC 6962's split at the largest
    power of two.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, subtree hash)
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def push(self, leaf: bytes) -> None:
        height, digest = 0, leaf_hash(leaf)
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            digest = node_hash(left, digest)
            height += 1
        self._stack.append((height, digest))
        self._size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    acc = MerkleAccumulator()
    for leaf in leaves:
        acc.push(leaf)
    return acc.root()


@dataclass(frozen=True)
class Checkpoint:
    """The state of ledger ``ledger_id`` after its first ``size`` events."""

    ledger_id: str
    size: int
    head_hash: bytes
    merkle_root: bytes

    def __post_init__(self) -> None:
        if self.size < 1 or len(self.head_hash) != 32 or len(self.merkle_root) != 32:
            raise CheckpointFormatError(
                "A checkpoint covers at least one event and holds two 32-byte hashes."
            )
        if not _LEDGER_ID.fullmatch(self.ledger_id):
            raise CheckpointFormatError("A checkpoint's ledger id is 1-32 uppercase letters and digits.")

    def text(self) -> str:
        """The one-line form printed on forms (also the QR payload)."""
        return (
            f"{MAGIC} {VERSION} {self.ledger_id} {self.size} "
            f"{self.head_hash.hex().upper()} {self.merkle_root.hex().upper()}"
        )

    def grouped(self) -> list[str]:
        """The checkpoint as printed for people: ``MAGIC VERSION ledger size``, then the head hash, then the
        Merkle root, each hash in groups of :data:`GROUP` hex digits (a line breaks between groups only)."""
        return [
            f"{MAGIC} {VERSION} {self.ledger_id} {self.size}",
            group_hex(self.head_hash.hex()),
            group_hex(self.merkle_root.hex()),
        ]

    def printed(self) -> str:
        """:meth:`grouped` as one text, a line each; :meth:`parse` reads it back."""
        return "\n".join(self.grouped())

    def qr_payload(self) -> str:
        """Same as :meth:`text`: uppercase letters, digits, space and '-' fit QR alphanumeric mode."""
        return self.text()

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The one-line form or the printed (grouped) form: any white space, any case (module docstring)."""
        tokens = text.upper().split()
        hashes = "".join(t for t in tokens[4:] if t.rstrip(":") not in _LABELS)
        parts = tokens[:4] + ([hashes[:64], hashes[64:]] if len(hashes) == 128 else tokens[4:])
        if len(parts) != 6 or parts[0] != MAGIC:
            raise CheckpointFormatError(
                f"A checkpoint reads '{MAGIC} {VERSION} <ledger id> <size> <head hash> <Merkle root>', the "
                "hashes 64 hex digits each (spaces and line breaks inside them are fine)."
            )
        if parts[1] != VERSION:
            raise CheckpointFormatError(f"Checkpoint version {parts[1][:8]!r} is not known to this program.")
        ledger_id, size, head, root = parts[2:]
        if not re.fullmatch(r"[0-9]{1,19}", size) or not 1 <= int(size) < 2**63:
            raise CheckpointFormatError("The checkpoint's size is not a positive whole number.")
        for name, value in (("head hash", head), ("Merkle root", root)):
            if not _HASH_HEX.fullmatch(value):
                raise CheckpointFormatError(f"The checkpoint's {name} is not 64 hex digits.")
        return cls(ledger_id, int(size), bytes.fromhex(head), bytes.fromhex(root))
