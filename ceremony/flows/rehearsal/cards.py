"""Share cards read back, as a custodian reads them off the card, and the cards a lifecycle rehearsal prints.

A lifecycle script takes its shares from a rehearsal's output folder (``shares_from``):
:func:`read_share_source` checks each card against the folder's ``manifest.json`` and :func:`card_share_text`
extracts the typed lines from the card's PDF. :func:`tampered_share_text` forges a card whose checksums all
hold, so only the ledger commitment or the KCV can catch it. :func:`lifecycle_card_data` is what a
re-share's new share card or a recovery's component card shows (a generation's cards:
:func:`ceremony.flows.paperwork.share_card_data`).

These are TEST shares on disk: a production card is never on disk to be read (DESIGN §4.2).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.documents.model import Person, ShareCardData
from ceremony.documents.sign import sha256_of
from ceremony.errors import InputError
from ceremony.flows import paperwork
from ceremony.flows.common import read_register
from ceremony.flows.generation import SplitPlan
from ceremony.ledger import participants as enrolment
from ceremony.ledger.store import Ledger

_TYPED_START = "Share (typed form)"
_GROUP_LABEL = re.compile(r"g\d+")
_TYPED_END = re.compile(r"Share \d+ of \d+, split")


def card_share_text(pdf_path: Path) -> bytearray:
    """The typed lines printed on a rehearsal share card, read back from the PDF's text (as a custodian reads
    them off the card). The line labels (g1, g5, ...) are dropped; the codec checks every group after.

    The PDF text extractor hands the page text over as a ``str`` that cannot be wiped: acceptable for the
    TEST shares of a rehearsal card only — a production card is never on disk to be read (DESIGN §4.2)."""
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf ships with the test and rehearsal extras
        raise InputError("reading share cards back needs the pypdf package (pip install pypdf)") from None
    try:
        text = PdfReader(pdf_path).pages[0].extract_text()
    except Exception as exc:  # pypdf raises many types for a damaged file
        raise InputError(f"{pdf_path.name} cannot be read as a share card ({type(exc).__name__})") from None
    start = text.find(_TYPED_START)
    end = _TYPED_END.search(text, start + 1) if start >= 0 else None
    if start < 0 or end is None:
        raise InputError(f"{pdf_path.name} is not a share card: no typed share found on its first page")
    out = bytearray()
    for token in text[start + len(_TYPED_START) : end.start()].split("\n"):
        if not _GROUP_LABEL.fullmatch(token.strip()):
            out += token.encode("ascii", "replace")
    return out


@dataclass(frozen=True)
class ShareSource:
    """A rehearsal output folder whose share cards are presented: the key and split it says they belong to,
    and the card file of each share number (checked against the manifest's SHA-256)."""

    folder: Path
    key_id: str
    split_id: str
    cards: dict[int, Path]


def read_share_source(folder: Path) -> ShareSource:
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise InputError(
            f"{folder} is not a rehearsal output folder (no readable manifest.json): give the --out folder "
            "of a generation or re-share rehearsal"
        ) from None
    if manifest.get("rehearsal") is not True or manifest.get("kind", "generation") not in (
        "generation",
        "reshare",
    ):
        raise InputError(f"{folder} does not hold the share cards of a generation or re-share rehearsal")
    cards: dict[int, Path] = {}
    for doc in manifest.get("documents", []):
        if doc.get("kind") != "share_card":
            continue
        path = folder / str(doc["path"])
        if not path.is_file() or sha256_of(path.read_bytes()) != doc.get("sha256"):
            raise InputError(f"share card {doc['path']} in {folder} is missing or differs from its manifest")
        match = re.match(r"share (\d+) of", str(doc.get("subject", "")))
        if match is None:
            raise InputError(f"the manifest of {folder} does not say which share {doc['path']} holds")
        cards[int(match.group(1))] = path
    if not cards:
        raise InputError(f"{folder} holds no share cards")
    return ShareSource(folder, str(manifest["key_id"]), str(manifest["split_id"]), cards)


def tampered_share_text(text: bytearray) -> bytearray:
    """The same card with one share byte changed and every check character recomputed: each group and the
    whole-share checksum still check out, so only the ledger commitment or the KCV can catch it."""
    share = decode_share(text)
    try:
        data = bytearray(share.data.view())
        data[0] ^= 0x01
        forged = Share(
            share.key_id,
            share.split_id,
            share.scheme,
            share.threshold,
            share.count,
            share.number,
            SecretBytes.adopt(data),
        )
        with encode_share(forged) as encoded:
            out = bytearray(encoded.view())
        forged.wipe()
        return out
    finally:
        share.wipe()


# --- the cards a lifecycle rehearsal prints -----------------------------------------------------------------
def lifecycle_card_data(
    ledger: Ledger,
    key_id: str,
    ceremony_id: str,
    plan: SplitPlan,
    split_id: str,
    number: int,
    typed: SecretBytes,
    lines: SecretBytes,
    envelope: str,
) -> ShareCardData:
    """What card ``number`` of a split a recovery or re-share made (``plan``, recorded as ``split_id``) shows.
    ``lines`` and ``typed`` stay the caller's buffers: wipe them after rendering.

    Not :func:`ceremony.flows.paperwork.share_card_data`: that one reads the key and the split from a
    *generation* ceremony's own events, and a re-share or recovery registers no key."""
    register = read_register(ledger.events())
    key = register.key(key_id)
    split = register.splits.get(split_id)
    component_kcv = split.share_kcv_hex.get(number, "") if split is not None else ""
    who = enrolment.participant(ledger, plan.custodians[number - 1])
    return ShareCardData(
        ceremony_id=ceremony_id,
        custodian=Person(who.name, who.employee_id, paperwork.ROLE_NAMES["custodian"]),
        key_label=key.label + paperwork.TEST_MARK,
        key_id=key.key_id,
        key_type=key.key_type.value,
        split_id=split_id,
        scheme=f"XOR {plan.count} components"
        if plan.scheme is Scheme.XOR
        else f"Shamir {plan.threshold}-of-{plan.count}",
        share_number=number,
        share_count=plan.count,
        kcv=key.kcv_hex.upper(),
        kcv_method=key.kcv_method,
        envelope_serial=envelope.strip().upper(),
        issued_at=datetime.now(UTC).replace(microsecond=0),
        share_lines=lines,
        qr_payload=typed,
        organisation=enrolment.genesis(ledger).organisation,
        # An XOR component's own KCV, as split.created recorded it (PCI PIN 15); none for a Shamir share.
        component_kcv=component_kcv.upper(),
        component_kcv_method=(split.share_kcv_method or key.kcv_method) if split and component_kcv else "",
    )
