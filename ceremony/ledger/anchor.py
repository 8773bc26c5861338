"""The ledger anchor: what a wholesale rewrite cannot keep (DESIGN §5).

A chain on one laptop can be rebuilt from scratch with invented people; what it cannot keep is its first
event. The **anchor** names the ledger (its id), its genesis (the hash of event #1, signed by the founding
security officer) and its root certificate (SHA-256), in one line printed at first run and on every form::

    CEREMONY-ANCHOR V1 <LEDGER-ID> <GENESIS-HASH-HEX> <ROOT-CERT-SHA256-HEX>

Printed for people, each hash is shown in groups of four (:meth:`Anchor.grouped`); :meth:`Anchor.parse`
takes the text back exactly as printed: any white space (line breaks included), any case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ceremony.errors import InputError

PREFIX: Final = "CEREMONY-ANCHOR"
VERSION: Final = "V1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AnchorFormatError(InputError):
    """The text is not a ledger anchor as printed."""


def group(hex_text: str, size: int = 4) -> str:
    """``abcd1234...`` as ``ABCD 1234 ...``: groups that are read aloud and never broken across lines."""
    upper = hex_text.upper()
    return " ".join(upper[i : i + size] for i in range(0, len(upper), size))


@dataclass(frozen=True)
class Anchor:
    ledger_id: str
    genesis_hash: bytes
    root_cert_sha256: str  # lowercase hex

    def text(self) -> str:
        genesis, root = self.genesis_hash.hex().upper(), self.root_cert_sha256.upper()
        return f"{PREFIX} {VERSION} {self.ledger_id} {genesis} {root}"

    def qr_payload(self) -> str:
        return self.text()

    def grouped(self) -> list[str]:
        """The anchor as printed on paper: one line for the name, one per hash, in groups of four."""
        return [
            f"{PREFIX} {VERSION} {self.ledger_id}",
            f"genesis {group(self.genesis_hash.hex())}",
            f"root    {group(self.root_cert_sha256)}",
        ]

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """The one-line form or the printed (grouped) form, any white space and case. A text holding the
        anchor twice (``anchor.txt`` of a bundle: the line, then the grouped form) is read if both agree."""
        parts = [p for p in re.split(rf"(?i)(?={PREFIX})", text) if p.strip()]
        if len(parts) > 1 and all(p.lstrip().upper().startswith(PREFIX) for p in parts):
            found = {cls._parse_one(p) for p in parts}
            if len(found) != 1:
                raise AnchorFormatError("the text holds two different ledger anchors; give one")
            return found.pop()
        return cls._parse_one(text)

    @classmethod
    def _parse_one(cls, text: str) -> Anchor:
        tokens = text.split()
        if len(tokens) < 4 or tokens[0].upper() != PREFIX or tokens[1].upper() != VERSION:
            raise AnchorFormatError(
                f"a ledger anchor starts with '{PREFIX} {VERSION} <ledger id>' followed by the genesis hash "
                "and the root certificate's SHA-256, as printed at first run and on every form"
            )
        ledger_id = tokens[2].upper()
        rest = "".join(t for t in tokens[3:] if t.lower() not in ("genesis", "root")).lower()
        if len(rest) != 128 or not _HEX64.fullmatch(rest[:64]) or not _HEX64.fullmatch(rest[64:]):
            raise AnchorFormatError(
                "the anchor's two hashes must be 64 hex digits each (spaces and line breaks are fine); "
                f"got {len(rest)} characters after the ledger id"
            )
        return cls(ledger_id, bytes.fromhex(rest[:64]), rest[64:])
