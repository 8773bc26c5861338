"""What an auditor asks of a paper or file: which ledger event does this document belong to, and was it
altered? (DESIGN §5, issue "Documents": the PDF's SHA-256 is recorded in a ``document.issued`` event.)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.documents.sign import SignatureStatus, validate_document
from ceremony.ledger.register import read
from ceremony.ledger.schema import DocumentIssued
from ceremony.ledger.store import Ledger

DOCUMENT_ISSUED = "document.issued"


@dataclass(frozen=True)
class DocumentCheck:
    sha256: str
    event_seq: int | None  # the document.issued event recording exactly these bytes
    kind: str | None
    subject: str | None
    ceremony_id: str | None
    signatures: tuple[SignatureStatus, ...] = field(default=())
    missing: tuple[str, ...] = ()  # people the ledger says signed it whose signature is not in the PDF

    @property
    def ok(self) -> bool:
        return self.event_seq is not None and all(s.ok for s in self.signatures) and not self.missing

    def summary(self) -> str:
        if self.event_seq is None:
            head = (
                f"NOT RECORDED: no event of this ledger issued a document with SHA-256 {self.sha256}; "
                "it was altered, or belongs to another ledger"
            )
        else:
            where = f", ceremony {self.ceremony_id}" if self.ceremony_id else ""
            head = (
                f"recorded: event #{self.event_seq} issued this {self.kind} (subject {self.subject}{where}), "
                f"SHA-256 {self.sha256}"
            )
        lines = [head] + [f"  {s.summary}" for s in self.signatures]
        lines += [
            f"  MISSING: the ledger records a signature by {name}, which this PDF does not carry"
            for name in self.missing
        ]
        if self.event_seq is not None and not self.signatures:
            lines.append("  (no digital signature: share cards are sealed, not signed)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "sha256": self.sha256,
            "event_seq": self.event_seq,
            "kind": self.kind,
            "subject": self.subject,
            "ceremony_id": self.ceremony_id,
            "missing_signers": list(self.missing),
            "signatures": [
                {
                    "field": s.field_name,
                    "signer": s.signer,
                    "signer_cert_sha256": s.signer_cert_sha256,
                    "ok": s.ok,
                    "summary": s.summary,
                }
                for s in self.signatures
            ],
        }


def check_document(ledger: Ledger, pdf_path: Path) -> DocumentCheck:
    """Find the event that issued ``pdf_path``'s exact bytes and validate its signatures against the
    certificates of the people that event says signed it (``signed_by``). A signature by anyone else, or a
    listed signer whose signature is missing, is a fault (share cards are sealed, not signed)."""
    data = pdf_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    register = read(ledger)
    issued = register.document(digest)
    found: DocumentIssued | None = None if issued is None else issued.record
    seq: int | None = None if issued is None else issued.seq
    everyone = register.people
    signers = found.signed_by if found is not None else tuple(everyone)
    certs = [everyone[p].certificate for p in signers if p in everyone]
    statuses: tuple[SignatureStatus, ...] = ()
    if data.startswith(b"%PDF"):
        statuses = tuple(validate_document(data, certs))
    missing: tuple[str, ...] = ()
    if found is not None and found.kind != "share_card":
        signed = {s.signer_cert_sha256 for s in statuses if s.ok}
        missing = tuple(
            everyone[p].name
            for p in found.signed_by
            if p in everyone and everyone[p].cert_sha256 not in signed
        )
    return DocumentCheck(
        digest,
        seq,
        None if found is None else found.kind,
        None if found is None else found.subject,
        None if found is None else found.ceremony_id,
        statuses,
        missing,
    )
