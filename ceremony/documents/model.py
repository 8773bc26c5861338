"""What goes on each printed document: plain frozen values, filled in by the flows from the ledger.

The renderers (:mod:`ceremony.documents.render`) take only these values, so the documents layer depends on
no other part of ceremony except the error classes and :class:`~ceremony.crypto.secret.SecretBytes`.
Nothing here holds key material except :class:`ShareCardData`, whose share fields are wipeable buffers
(DESIGN §2: a share is never printed anywhere but on its own share card).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ceremony.crypto.secret import SecretBytes


class Paper(StrEnum):
    A4 = "A4"
    LETTER = "Letter"


@dataclass(frozen=True)
class Person:
    """A participant as printed on a form: full name, employee id and the role they fill."""

    name: str
    employee_id: str
    role: str


@dataclass(frozen=True)
class LedgerReference:
    """Where a paper belongs in the ledger (DESIGN §5): the event it records and the checkpoint after it.

    ``checkpoint_text`` is the one-line checkpoint (size, head hash, Merkle root) exactly as the ledger
    prints it; ``qr_payload`` is what the QR code carries (the ledger defines both; we only print them).
    ``anchor`` is the ledger's anchor in its grouped, printed lines (ledger id, genesis hash, root
    certificate SHA-256; DESIGN §5), printed in the same box; empty for a paper from before the anchor.
    ``organisation`` is the organisation the ledger's genesis records: every page of the paper names it
    (never the example name of ``forms/organisation.toml``); empty only for a form rendered without a
    ledger (a preview), which is then marked as a specimen if the forms still carry the example name.
    ``rehearsal``: the paper comes from a rehearsal ledger; every page then carries the REHEARSAL mark.
    """

    event_id: str
    checkpoint_text: str
    qr_payload: str
    anchor: tuple[str, ...] = ()
    organisation: str = ""
    rehearsal: bool = False


@dataclass(frozen=True)
class AnchorData:
    """The ledger anchor page (DESIGN §5), printed once at founding and kept with the paper checkpoints.

    ``lines`` is the anchor as the ledger groups it for paper (name line, genesis hash, root certificate
    hash, in groups of four), ``text`` the one-line anchor the QR code carries and ``ceremony verify
    --anchor`` takes; the ledger defines both, we only print them."""

    ledger_id: str
    rehearsal: bool
    organisation: str  # as the genesis records it
    created: datetime  # UTC, the genesis time; also the PDF's creation date
    founder: Person
    lines: tuple[str, ...]
    text: str
    root_cert_sha256: str  # as printed: grouped, upper case


@dataclass(frozen=True)
class HeldComponent:
    """One share or component a custodian holds, as listed on a reaffirmation form. Never the share itself."""

    key_label: str
    key_id: str
    key_type: str
    split_id: str
    share_number: int
    share_count: int
    kcv: str
    kcv_method: str
    envelope_serial: str = ""
    status: str = "held"  # e.g. "held" or "split retired: return the envelope for destruction"


@dataclass(frozen=True)
class KnownPiece:
    """What a custodian was ever given, shown or entered of one key by one route (a split, or a transport
    key the key was wrapped under), as the ledger records it (PCI DSS 3.7.6). Never the share itself.

    ``route`` names the split or the transport key, ``mine`` the shares or components the person knew,
    ``needed`` what it takes to rebuild the key by that route, ``status`` where their piece is now, and
    ``first_known`` when the ledger first recorded it."""

    key_label: str
    key_id: str
    route: str
    mine: str
    needed: str
    status: str
    first_known: str


@dataclass(frozen=True)
class AcknowledgementData:
    """A custodian's acknowledgement of one share or component (PCI DSS 3.7.8)."""

    ceremony_id: str
    custodian: Person
    key_label: str
    key_id: str
    key_type: str
    kcv: str
    kcv_method: str
    split_id: str
    scheme: str  # as printed, e.g. "Shamir 3-of-5" or "XOR 3 components"
    share_number: int
    share_count: int
    issued_at: datetime  # UTC; also the PDF's creation date (deterministic output)
    ledger: LedgerReference  # the custodian's receipt of the share, and the checkpoint after it
    witness: Person | None = None
    envelope_serial: str = ""  # the tamper-evident envelope the share was sealed in, as the receipt records
    issued_event_id: str = ""  # the ledger event that issued the share to the custodian (shown, printed...)
    # An XOR component's own check value (PCI PIN 15), as split.created records it; "" for a Shamir share,
    # which has none (``kcv`` is then the key's alone).
    component_kcv: str = ""
    component_kcv_method: str = ""


@dataclass(frozen=True)
class ReaffirmationData:
    """The annual reaffirmation (PCI DSS 3.7.8): every component the custodian currently holds."""

    custodian: Person
    security_officer: Person
    period: str  # e.g. "2026"
    holdings: tuple[HeldComponent, ...]
    issued_at: datetime
    ledger: LedgerReference
    next_due: str = ""  # e.g. "2027-11-23"
    # Everything the custodian ever held or saw, key by key and route by route (retired splits included):
    # what the reaffirmation's custody statement (PCI DSS 3.7.6) is about.
    knowledge: tuple[KnownPiece, ...] = ()


@dataclass(frozen=True, eq=False, repr=False)
class ShareCardData:
    """Everything on a share card. ``share_lines`` is the typed form (ASCII lines separated by ``\\n``) and
    ``qr_payload`` the QR bytes; both are wipeable buffers owned by the caller, never copied into ``str``."""

    ceremony_id: str
    custodian: Person
    key_label: str
    key_id: str
    key_type: str
    split_id: str
    scheme: str
    share_number: int
    share_count: int
    kcv: str
    kcv_method: str
    envelope_serial: str
    issued_at: datetime
    share_lines: SecretBytes | bytearray
    qr_payload: SecretBytes | bytearray
    organisation: str = ""  # as the ledger's genesis records it (see LedgerReference.organisation)
    # An XOR component's own check value (PCI PIN 15); "" for a Shamir share (see AcknowledgementData).
    component_kcv: str = ""
    component_kcv_method: str = ""

    def __repr__(self) -> str:
        return (
            f"ShareCardData(split_id={self.split_id!r}, share {self.share_number} of {self.share_count}, "
            f"envelope={self.envelope_serial!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class PreflightException:
    """An exception to a preflight finding relied on by this ceremony (the PCI DSS 1.2.6 record)."""

    exception_id: str
    finding: str
    justification: str
    compensating_controls: str
    approved_by: str
    expires: str


@dataclass(frozen=True)
class MinutesStep:
    """One step of the ceremony, when (UTC) and who performed and who approved it."""

    at: datetime
    description: str
    performed_by: str
    approved_by: str
    event_id: str = ""


@dataclass(frozen=True)
class KcvRecord:
    subject: str  # e.g. "key PINKEK-2026", "component 2 of 3"
    kcv: str
    kcv_method: str


@dataclass(frozen=True)
class EnvelopeRecord:
    serial: str
    custodian: str
    contents: str  # e.g. "share 2 of 5, split 7QK3M0D4XZ" -- never the share
    status: str  # e.g. "sealed and handed over"


@dataclass(frozen=True)
class Participant:
    person: Person
    present: bool = True
    signature_field: str = ""  # the PDF signature field this person signs the minutes in, e.g. "Witness"


@dataclass(frozen=True)
class OfficerFingerprint:
    """A security officer's certificate fingerprint as printed for people (16 groups of four hex digits)."""

    name: str
    employee_id: str
    fingerprint: str


@dataclass(frozen=True)
class MinutesData:
    """The close-out record of one ceremony (DESIGN §4.7); also for an aborted ceremony."""

    ceremony_id: str
    title: str
    purpose: str
    location: str
    started_at: datetime
    ended_at: datetime  # also the PDF's creation date
    participants: tuple[Participant, ...]
    preflight_result: str
    preflight_findings: tuple[str, ...]
    exceptions: tuple[PreflightException, ...]
    steps: tuple[MinutesStep, ...]
    kcvs: tuple[KcvRecord, ...]
    envelopes: tuple[EnvelopeRecord, ...]
    outcome: str
    closing: LedgerReference
    officers: tuple[OfficerFingerprint, ...] = ()  # the security officers' certificate fingerprints


def utc(dt: datetime) -> datetime:
    """``dt`` in UTC; naive datetimes are taken to be UTC already (the ledger stores UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class DestroyedEnvelopeLine:
    """One envelope on a destruction certificate (DESIGN §4.6): never what it held, only which share."""

    serial: str  # as read from the envelope, checked against the one recorded at sealing
    key_label: str
    key_id: str
    kcv: str
    split_id: str
    share_number: int
    share_count: int
    custodian: str  # the recorded holder, as printed ("Ann Lee (E0102)")
    returned_by: str
    destroyed_at: datetime
    event_id: str  # the envelope.destroyed event


@dataclass(frozen=True)
class DestructionData:
    """A destruction certificate: the envelopes returned sealed and destroyed under dual control, signed by
    the person who destroyed them and the witness. ``occasion`` says why (a retirement ceremony, a
    departure); ``not_destroyed`` lists, in words, the envelopes asked for that were not destroyed (seal
    broken, not returned), so the certificate is complete about what was asked."""

    occasion: str
    ceremony_id: str  # "" for a departure (no ceremony)
    location: str
    destroyed_by: Person
    witness: Person
    method: str
    envelopes: tuple[DestroyedEnvelopeLine, ...]
    issued_at: datetime
    ledger: LedgerReference
    rehearsal: bool = False
    not_destroyed: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeaderField:
    """One field of a key block's clear header as printed: its name, its code as written, what it means.
    An optional block is one row too (its ID in the name, its data as the code)."""

    field: str
    code: str
    meaning: str


@dataclass(frozen=True)
class KbpkComponentLine:
    """One KBPK component as the transmittal lists it: its number, its custodian as printed ("Ann Lee
    (E0102)") and its own KCV. Never the component."""

    number: int
    custodian: str
    kcv: str
    kcv_method: str


@dataclass(frozen=True)
class KeyBlockTransmittalData:
    """The key block transmittal (issue 16): a TR-31 / X9.143 key block made in a recovery, printed for the
    people who import it (its text in typed lines and as a QR code, its SHA-256 and length), with the key's
    and the KBPK's check values, each KBPK component's check value and custodian, the header decoded, and
    the signatures of the administrator and the witness. The block is encrypted under the KBPK: it is not
    secret; no KBPK component and no key is ever on it."""

    ceremony_id: str
    key_label: str  # as printed: with the TEST mark on a rehearsal key
    key_id: str
    key_type: str
    key_kcv: str
    key_kcv_method: str
    kbpk_label: str
    kbpk_kcv: str
    kbpk_kcv_method: str
    components: tuple[KbpkComponentLine, ...]
    block: str  # the block's exact text, as written to its file (no line break)
    block_sha256: str  # lowercase hex, as key.block_exported records it
    block_length: int
    header: tuple[HeaderField, ...]
    administrator: Person
    witness: Person
    issued_at: datetime  # UTC: the key.block_exported event's time; also the PDF's creation date
    ledger: LedgerReference  # the key.block_exported event and the checkpoint after it
