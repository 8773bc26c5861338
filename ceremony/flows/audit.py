"""What an auditor asks of a paper or file: which ledger event does this document belong to, and was it
altered? (DESIGN §5, issue "Documents": the PDF's SHA-256 is recorded in a ``document.issued`` event.)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceremony.documents.sign import SignatureStatus, validate_document
from ceremony.ledger import participants
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

    @property
    def ok(self) -> bool:
        return self.event_seq is not None and all(s.ok for s in self.signatures)

    def summary(self) -> str:
        if self.event_seq is None:
            head = (
                f"NOT RECORDED: no event of this ledger issued a document with SHA-256 {self.sha256}; "
                "it was altered, or belongs to another ledger"
            )
        else:
            head = (
                f"recorded: event #{self.event_seq} issued this {self.kind} (subject {self.subject}, "
                f"ceremony {self.ceremony_id}), SHA-256 {self.sha256}"
            )
        lines = [head] + [f"  {s.summary}" for s in self.signatures]
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
    """Find the event that issued ``pdf_path``'s exact bytes and validate its signatures against every
    certificate ever enrolled in this ledger."""
    data = pdf_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    found: dict[str, Any] | None = None
    seq: int | None = None
    for event in ledger.events():
        if event.type == DOCUMENT_ISSUED and event.payload.get("sha256") == digest:
            found, seq = dict(event.payload), event.seq
            break
    certs = [p.certificate for p in participants.participants(ledger)]
    statuses: tuple[SignatureStatus, ...] = ()
    if data.startswith(b"%PDF"):
        statuses = tuple(validate_document(data, certs))
    return DocumentCheck(
        digest,
        seq,
        None if found is None else str(found.get("kind")),
        None if found is None else str(found.get("subject")),
        None if found is None else str(found.get("ceremony_id")),
        statuses,
    )
