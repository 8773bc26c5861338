"""The papers of every ceremony, built from the ledger: share cards, acknowledgement forms, minutes, and the
ledger anchor page printed when the ledger is founded.

Minutes (DESIGN §4.7) close every ceremony — generation, recovery, re-share, retirement, completed or voided —
and are built from the events whose record names its ``ceremony_id`` alone: ``minutes_data_for`` /
``issue_minutes_for(ledger, ceremony_id, administrator, witness)``. A re-share's new shares and a recovery's
fresh components get acknowledgements through ``issue_acknowledgement_for(ledger, ceremony_id, split_id,
number, custodian, witness)``. The generation-only functions below (``issue_minutes(ledger, ceremony)``
etc.) delegate to these.

The TUI and ``ceremony rehearse`` both call these; neither builds a document by hand. Every value printed
comes from the ledger events of the ceremony (what was recorded is what is printed), plus the ceremony
object for who held which role. Each issued document's SHA-256 is recorded in a ``document.issued`` event
``{ceremony_id, kind, sha256, subject, file_name, signed_by}`` so a paper found later can be matched to the
ledger (``ceremony verify --document``). Every form with a checkpoint also prints the ledger's anchor (DESIGN
§5) next to it.

A recovery whose output is a TR-31 key block (issue 16) gets a key block transmittal before it closes:
``issue_key_block_transmittal_for(ledger, ceremony_id, block, administrator, witness)`` checks the block
against its ``key.block_exported`` record (SHA-256 and clear header), prints it in typed lines and as a QR
code with the key's and the KBPK's check values, the header decoded and each KBPK component's custodian and
check value, and records it as ``document.issued`` kind ``"key_block_transmittal"``, signed by both. An XOR
component's card and acknowledgement print its own check value next to the key's (PCI PIN 15).

The anchor page (:func:`issue_anchor`) belongs to no ceremony: right after :func:`~ceremony.flows.enrolment.
found_ledger`, while the founder's key is still unlocked, it is rendered, signed by the founder, recorded
(``document.issued`` kind ``"anchor"``, the founder's signature alone) and written to
``<ledger folder>/ceremony-documents/ledger-anchor-<ledger id>.pdf``.

Typical use, in order (the TUI does the same as ``ceremony.flows.rehearsal``)::

    typed = ceremony.reveal(number, custodian)                     # distribution, one custodian at a time
    card = render_card(ledger, ceremony, number, typed, serial)    # SecretBytes PDF; serial is printed on it
    ...send card to the printer / RAM folder, then card.wipe()...
    record_document(ledger, ceremony, "share_card", sha256_of(card.view()), card_subject(...), file_name)
    ceremony.confirm_receipt(number, custodian, serial, "card")
    ...verification round, ceremony.wipe()...
    ack = issue_acknowledgement(ledger, ceremony, number, custodian)   # signed by the custodian; ack.pdf
    ceremony.close(closing_checkpoint(ledger))                     # or ceremony.void(reason)
    minutes = issue_minutes(ledger, ceremony, location="Room 4")   # signed by administrator, then witness

``issue_*`` sign with pyHanko's synchronous API: call them from plain code or a worker thread; inside an
event loop (Textual) ``await`` the ``async_issue_*`` variants instead (see :mod:`ceremony.documents.sign`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ceremony.crypto import tr31
from ceremony.crypto.codec import share_text
from ceremony.crypto.fingerprint import printed
from ceremony.crypto.secret import SecretBytes
from ceremony.documents import archive
from ceremony.documents.model import (
    AcknowledgementData,
    AnchorData,
    DestroyedEnvelopeLine,
    DestructionData,
    EnvelopeRecord,
    HeaderField,
    KbpkComponentLine,
    KcvRecord,
    KeyBlockTransmittalData,
    LedgerReference,
    MinutesData,
    MinutesStep,
    OfficerFingerprint,
    Participant,
    Person,
    PreflightException,
    ShareCardData,
    utc,
)
from ceremony.documents.render import (
    render_acknowledgement,
    render_anchor,
    render_destruction,
    render_key_block_transmittal,
    render_minutes,
    render_share_card,
)
from ceremony.documents.sign import async_sign_document, sha256_of, sign_document
from ceremony.documents.templates import FormSet, load_forms
from ceremony.errors import FlowError, KeyBlockError
from ceremony.flows.enrolment import Founded
from ceremony.flows.generation import GenerationCeremony
from ceremony.flows.presence import PresentPerson
from ceremony.flows.recovery import header_summary
from ceremony.ledger import participants as people
from ceremony.ledger import register as ledger_register
from ceremony.ledger import schema as sc
from ceremony.ledger.anchor import group
from ceremony.ledger.checkpoint import Checkpoint, CheckpointFormatError
from ceremony.ledger.events import Event
from ceremony.ledger.register import KeyInfo, PreflightEvidence, Register, ceremony_id_of
from ceremony.ledger.store import Attester, Ledger
from ceremony.reports.exceptions import finding_text

DOCUMENT_ISSUED = "document.issued"
KINDS = ("share_card", "acknowledgement", "minutes", "anchor", "destruction", "key_block_transmittal")
TEST_MARK = " - TEST KEY (rehearsal)"

ROLE_NAMES = {
    "administrator": "Ceremony administrator",
    "witness": "Witness",
    "custodian": "Key custodian",
}


# --- values -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DocumentRecord:
    """One issued document as the ledger records it (and ``manifest.json`` lists it)."""

    kind: str  # one of KINDS
    subject: str  # who or what it is about, e.g. "share 2 of 5 - Ann Lee (E0102)"
    file_name: str
    sha256: str
    event_seq: int  # the document.issued event


@dataclass(frozen=True)
class SignedDocument:
    """A signed PDF (never a share card: those are SecretBytes) and its ledger record."""

    pdf: bytes
    record: DocumentRecord


# --- reading the ceremony back from the ledger --------------------------------------------------------------
def ceremony_events(ledger: Ledger, ceremony_id: str) -> list[Event]:
    """Every event of one ceremony (its records name ``ceremony_id``), in ledger order."""
    return [e for e in ledger.events() if ceremony_id_of(e.record) == ceremony_id]


R = TypeVar("R", bound=sc.Record)


def _time(event: Event) -> datetime:
    return datetime.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _first(events: Iterable[Event], record_type: type[sc.Record], **match: object) -> Event | None:
    """The first event whose record is a ``record_type`` with the ``match`` field values."""
    for event in events:
        record = event.record
        if isinstance(record, record_type) and all(getattr(record, k) == v for k, v in match.items()):
            return event
    return None


def _last(events: Sequence[Event], record_type: type[sc.Record], **match: object) -> Event | None:
    return _first(reversed(events), record_type, **match)


def _need(event: Event | None, what: str) -> Event:
    if event is None:
        raise FlowError(f"the ledger has no record of {what} in this ceremony yet")
    return event


def _record(event: Event, record_type: type[R]) -> R:
    """The typed record of ``event``, found by its type (:func:`_first`)."""
    record = event.record
    if not isinstance(record, record_type):
        raise FlowError(f"event #{event.seq} records {event.type}, not {record_type.TYPE}")
    return record


def ledger_reference(ledger: Ledger, seq: int) -> LedgerReference:
    """Event ``seq``, the checkpoint right after it and the ledger's anchor, as printed on a form
    (DESIGN §5)."""
    checkpoint = ledger.checkpoint(seq)
    anchor = tuple(people.anchor(ledger).grouped())
    return LedgerReference(
        ledger_reference_id(seq),
        checkpoint.text(),
        checkpoint.qr_payload(),
        anchor,
        people.genesis(ledger).organisation,
        rehearsal=ledger.info.rehearsal,  # every paper from a rehearsal ledger is marked (issue 15)
    )


def closing_checkpoint(ledger: Ledger) -> str:
    """The checkpoint text of the ledger as it stands now (pass it to ``GenerationCeremony.close``)."""
    return ledger.checkpoint().text()


def closing_checkpoint_of(ledger: Ledger, ceremony_id: str) -> Checkpoint:
    """THE closing checkpoint of a ceremony — one value, shown on its close-out screen, printed in its
    minutes and listed by the auditor view (issue 14): the checkpoint its ``ceremony.closed`` event records
    in its payload (the ledger as it stood when the close was asked for, just before the closing events).
    A ceremony whose end records none (voided, or closed without one) gets the ledger as it stood just
    before its ``ceremony.voided``/``closed`` event. Refuses a ceremony that has not ended."""
    end = _ended(ceremony_events(ledger, ceremony_id))
    return recorded_closing_checkpoint(end.record) or ledger.checkpoint(max(1, end.seq - 1))


def recorded_closing_checkpoint(record: object) -> Checkpoint | None:
    """The checkpoint a ``ceremony.closed`` record carries, or None (a void, none recorded, unreadable)."""
    text = record.checkpoint if isinstance(record, sc.CeremonyClosed) else None
    if not text:
        return None
    try:
        return Checkpoint.parse(text)
    except CheckpointFormatError:
        return None


def closing_reference(ledger: Ledger, ceremony_id: str) -> LedgerReference:
    """What the minutes print in their checkpoint box: the ceremony's end event and its
    :func:`closing_checkpoint_of`, with the ledger's anchor."""
    end = _ended(ceremony_events(ledger, ceremony_id))
    checkpoint = closing_checkpoint_of(ledger, ceremony_id)
    anchor = tuple(people.anchor(ledger).grouped())
    return LedgerReference(
        f"#{end.seq}",
        checkpoint.text(),
        checkpoint.qr_payload(),
        anchor,
        people.genesis(ledger).organisation,
        rehearsal=ledger.info.rehearsal,
    )


def _scheme_text(scheme: str, threshold: int, count: int) -> str:
    if scheme == "xor":
        return f"XOR {count} components"
    return f"Shamir {threshold}-of-{count}"


def _person(ledger: Ledger, person_id: str, role: str) -> Person:
    who = people.participant(ledger, person_id)
    return Person(who.name, who.employee_id, role)


@dataclass(frozen=True)
class _KeyFacts:
    key_id: str
    key_type: str
    label: str  # as printed: with the TEST mark on a rehearsal key
    kcv: str
    kcv_method: str
    split_id: str
    scheme: str
    threshold: int
    count: int
    test_key: bool


def _key_facts(events: Sequence[Event]) -> _KeyFacts:
    key = _record(_need(_first(events, sc.KeyRegistered), "a generated key"), sc.KeyRegistered)
    split = _record(_need(_first(events, sc.SplitCreated), "a split"), sc.SplitCreated)
    return _KeyFacts(
        key_id=key.key_id,
        key_type=key.key_type,
        label=key.label + (TEST_MARK if key.test_key else ""),
        kcv=key.kcv_hex.upper(),
        kcv_method=key.kcv_method,
        split_id=split.split_id,
        scheme=_scheme_text(split.scheme, split.threshold, split.shares),
        threshold=split.threshold,
        count=split.shares,
        test_key=key.test_key,
    )


# --- share cards --------------------------------------------------------------------------------------------
def share_card_data(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    number: int,
    lines: SecretBytes,
    qr_payload: SecretBytes,
    envelope_serial: str,
) -> ShareCardData:
    """What share card ``number`` shows. ``lines`` (typed form, one line per row) and ``qr_payload`` stay the
    caller's buffers: wipe them after rendering. Prefer :func:`render_card`, which does all of it."""
    events = ceremony_events(ledger, ceremony.ceremony_id)
    facts = _key_facts(events)
    custodian = _person(ledger, ceremony.custodian_of(number), ROLE_NAMES["custodian"])
    split = _record(_need(_first(events, sc.SplitCreated), "a split"), sc.SplitCreated)
    component_kcv, component_method = component_kcv_of(split, number, facts.kcv_method)
    return ShareCardData(
        ceremony_id=ceremony.ceremony_id,
        custodian=custodian,
        key_label=facts.label,
        key_id=facts.key_id,
        key_type=facts.key_type,
        split_id=facts.split_id,
        scheme=facts.scheme,
        share_number=number,
        share_count=facts.count,
        kcv=facts.kcv,
        kcv_method=facts.kcv_method,
        envelope_serial=envelope_serial.strip().upper(),
        issued_at=datetime.now(UTC).replace(microsecond=0),
        share_lines=lines,
        qr_payload=qr_payload,
        organisation=people.genesis(ledger).organisation,
        component_kcv=component_kcv,
        component_kcv_method=component_method,
    )


def component_kcv_of(split: sc.SplitCreated, number: int, key_kcv_method: str) -> tuple[str, str]:
    """(KCV as printed, method) of component ``number`` of an XOR split, as ``split.created`` recorded it
    (PCI PIN 15: each component has its own check value); ("", "") for a Shamir share, which has none."""
    kcvs = split.share_kcvs or {}
    if number not in kcvs:
        return "", ""
    return kcvs[number].upper(), split.share_kcv_method or key_kcv_method


def render_card(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    number: int,
    typed: SecretBytes,
    envelope_serial: str,
    *,
    forms: FormSet | None = None,
) -> SecretBytes:
    """Share card ``number`` as PDF in a wipeable buffer, from the typed form ``reveal()`` returned (the QR
    carries the same bytes). Print it, or on a rehearsal write it out, then wipe it. ``typed`` is not wiped
    here. On a rehearsal the key label carries "TEST KEY (rehearsal)"."""
    lines = share_text(typed)
    qr = typed.copy()
    try:
        data = share_card_data(ledger, ceremony, number, lines, qr, envelope_serial)
        return render_share_card(data, forms=forms)
    finally:
        lines.wipe()
        qr.wipe()


def card_subject(ledger: Ledger, ceremony: GenerationCeremony, number: int) -> str:
    """``"share 2 of 5 - Ann Lee (E0102)"``: how manifests and the ledger name a share card or form."""
    assert ceremony.plan is not None
    who = people.participant(ledger, ceremony.custodian_of(number))
    return f"share {number} of {ceremony.plan.count} - {who.name} ({who.employee_id})"


class _Signer(Protocol):
    """What the ledger needs of a signer (a :class:`PresentPerson`)."""

    @property
    def person_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def record_document_for(
    ledger: Ledger,
    ceremony_id: str | None,
    kind: str,
    sha256: str,
    subject: str,
    file_name: str,
    signers: Sequence[_Signer],
    pdf_signers: Sequence[str] | None = None,
) -> DocumentRecord:
    """Record an issued document's SHA-256 (``document.issued``) for any ceremony, signed by ``signers``
    (minutes: the administrator and the witness; an acknowledgement: the custodian and the witness).
    ``pdf_signers``: the person ids whose signatures the PDF itself carries (``signed_by``; default: the
    signers for signed forms, nobody for a share card, which is sealed rather than signed). ``ceremony_id``
    None: a document of no ceremony (the ledger anchor)."""
    if kind not in KINDS:
        raise FlowError(f"unknown document kind {kind[:30]!r} (known: {', '.join(KINDS)})")
    if not signers:
        raise FlowError("an issued document is recorded under the signatures of the people present")
    actors = list(dict.fromkeys(s.person_id for s in signers))
    if pdf_signers is None:
        pdf_signers = [] if kind == "share_card" else actors
    payload: dict[str, object] = {} if ceremony_id is None else {"ceremony_id": ceremony_id}
    payload |= {
        "kind": kind,
        "sha256": sha256,
        "subject": subject,
        "file_name": file_name,
        "signed_by": list(pdf_signers),
    }
    event = ledger.append(DOCUMENT_ISSUED, payload, actors, signers)
    return DocumentRecord(kind, subject, file_name, sha256, event.seq)


def record_document(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    kind: str,
    sha256: str,
    subject: str,
    file_name: str,
    signers: Sequence[PresentPerson] = (),
) -> DocumentRecord:
    """Record an issued document's SHA-256 (``document.issued``); signed by ``signers`` (default: the
    administrator and the witness). Any ceremony object with ``ceremony_id``, ``administrator`` and
    ``witness`` will do; :func:`record_document_for` needs only the id."""
    chosen: Sequence[Any] = signers or (ceremony.administrator, ceremony.witness)
    return record_document_for(ledger, ceremony.ceremony_id, kind, sha256, subject, file_name, chosen)


# --- who ran a ceremony, read back from its events ----------------------------------------------------------
@dataclass(frozen=True)
class _Control:
    """The administrator and witness of a ceremony as its events recorded them: the signers of
    ``ceremony.started`` (administrator first), or of the last ``ceremony.resumed`` when it was resumed."""

    administrator: str
    witness: str
    kind: str
    purpose: str
    rehearsal: bool


def _control(events: Sequence[Event]) -> _Control:
    started = _need(_first(events, sc.CeremonyStarted), "the start")
    opened = _last(events, sc.CeremonyResumed) or started
    if len(opened.actors) < 2:
        raise FlowError(f"event #{opened.seq} does not name both an administrator and a witness")
    record = _record(started, sc.CeremonyStarted)
    return _Control(
        administrator=opened.actors[0],
        witness=opened.actors[1],
        kind=record.kind,
        purpose=record.purpose,
        rehearsal=record.rehearsal,
    )


def _check_control(events: Sequence[Event], administrator: _Signer | None, witness: _Signer) -> _Control:
    control = _control(events)
    if administrator is not None and administrator.person_id != control.administrator:
        raise FlowError(
            "the minutes are signed by the ceremony's own administrator (the one recorded at its start), "
            f"not by {administrator.person_id}"
        )
    if witness.person_id != control.witness:
        raise FlowError(
            "the ceremony's own witness (the one recorded at its start) signs with the participants, "
            f"not {witness.person_id}"
        )
    return control


def _ended(events: Sequence[Event]) -> Event:
    end = _last(events, sc.CeremonyClosed) or _last(events, sc.CeremonyVoided)
    return _need(end, "the close-out (close or void the ceremony first)")


# --- acknowledgement ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SplitFacts:
    split_id: str
    key_id: str
    scheme: str
    threshold: int
    count: int
    custodians: tuple[str, ...]
    components: bool  # fresh components made from another split (a recovery's output)
    created: Event


def _split_facts(events: Sequence[Event], split_id: str | None) -> _SplitFacts:
    created = _first(events, sc.SplitCreated, split_id=split_id) if split_id else None
    created = _need(created, f"a split {split_id or ''}".rstrip())
    record = _record(created, sc.SplitCreated)
    return _SplitFacts(
        split_id=record.split_id,
        key_id=record.key_id,
        scheme=_scheme_text(record.scheme, record.threshold, record.shares),
        threshold=record.threshold,
        count=record.shares,
        custodians=record.custodians or (),
        components=record.from_split_id is not None,
        created=created,
    )


def _key_label(key: KeyInfo) -> str:
    return key.label + (TEST_MARK if key.test_key else "")


def _noun(split: _SplitFacts) -> str:
    return "component" if split.scheme.startswith("XOR") and split.components else "share"


def acknowledgement_data_for(
    ledger: Ledger, ceremony_id: str, split_id: str | None, number: int
) -> AcknowledgementData:
    """The acknowledgement of share ``number`` of ``split_id`` (a split this ceremony created: a generation,
    a re-share's new split, a recovery's fresh components) by its custodian (PCI DSS 3.7.8). It names the
    event that issued the share (``share.exposed``: shown, printed, assigned or handed), the envelope it was
    sealed in, and the receipt (``share.received``, a recovery's fresh components signed for too) with the
    checkpoint at that event; a component recorded without a receipt (ledgers from before receipts were
    signed for them) names the event that showed it to its custodian."""
    events = ceremony_events(ledger, ceremony_id)
    control = _control(events)
    receipt = (
        _last(events, sc.ShareReceived, share_number=number, split_id=split_id)
        or _last(events, sc.ShareExposed, share_number=number, split_id=split_id, kind="shown")
        if split_id
        else None
    )
    receipt = _need(receipt, f"the receipt of share {number}")
    # The event that issued the share to its custodian (shown on screen, printed on a card, assigned or
    # handed over), the last before the receipt: the paper cites it, and the receipt in its ledger box.
    issued = [
        e
        for e in events
        if e.seq <= receipt.seq
        and isinstance(e.record, sc.ShareExposed)
        and e.record.kind in _ISSUING_KINDS
        and e.record.share_number == number
        and e.record.split_id == split_id
    ]
    issuer = issued[-1] if issued else receipt
    serials = [getattr(e.record, "envelope_serial", None) for e in (receipt, *reversed(issued))]
    envelope = next((str(serial) for serial in serials if serial), "")
    split = _split_facts(events, split_id)
    key = ledger_register.read(ledger).key(split.key_id)
    component_kcv, component_method = component_kcv_of(
        _record(split.created, sc.SplitCreated), number, key.kcv_method
    )
    return AcknowledgementData(
        ceremony_id=ceremony_id,
        custodian=_person(
            ledger, _record(receipt, sc.CustodianShareEvent).person_id, ROLE_NAMES["custodian"]
        ),
        key_label=_key_label(key),
        key_id=key.key_id,
        key_type=key.key_type.value,
        kcv=key.kcv_hex.upper(),
        kcv_method=key.kcv_method,
        split_id=split.split_id,
        scheme=split.scheme,
        share_number=number,
        share_count=split.count,
        issued_at=_time(receipt),
        ledger=ledger_reference(ledger, receipt.seq),
        witness=_person(ledger, control.witness, ROLE_NAMES["witness"]),
        envelope_serial=envelope,
        issued_event_id=ledger_reference_id(issuer.seq),
        component_kcv=component_kcv,
        component_kcv_method=component_method,
    )


_ISSUING_KINDS = ("shown", "printed", "assigned", "handed")


def ledger_reference_id(seq: int) -> str:
    """How a paper names ledger event ``seq`` (the same as :func:`ledger_reference`)."""
    return f"#{seq}"


def acknowledgement_data(ledger: Ledger, ceremony: GenerationCeremony, number: int) -> AcknowledgementData:
    """The acknowledgement of share ``number`` of a generation ceremony's split by its custodian, after
    their receipt was recorded: the receipt's event id and the ledger checkpoint at that event (PCI DSS
    3.7.8)."""
    return acknowledgement_data_for(ledger, ceremony.ceremony_id, ceremony.split_id, number)


def _ack_prepare(
    ledger: Ledger,
    ceremony_id: str,
    split_id: str,
    number: int,
    custodian: _Signer,
    witness: _Signer,
    forms: FormSet | None,
) -> tuple[bytes, str, str]:
    """Check who signs, render the form; returns (unsigned PDF, subject, file name)."""
    events = ceremony_events(ledger, ceremony_id)
    _check_control(events, None, witness)
    split = _split_facts(events, split_id)
    if not 1 <= number <= split.count:
        raise FlowError(f"split {split_id} has shares 1 to {split.count}, not {number}")
    holder = split.custodians[number - 1] if len(split.custodians) >= number else ""
    if custodian.person_id != holder:
        name = getattr(custodian, "name", custodian.person_id)
        raise FlowError(f"the acknowledgement of share {number} is signed by its custodian, not by {name}")
    pdf = render_acknowledgement(acknowledgement_data_for(ledger, ceremony_id, split_id, number), forms=forms)
    who = people.participant(ledger, holder)
    subject = f"{_noun(split)} {number} of {split.count} - {who.name} ({who.employee_id})"
    return pdf, subject, f"acknowledgement-{number:02d}-{who.employee_id}.pdf"


_ACK_REASON = "I acknowledge my responsibilities as key custodian (PCI DSS 3.7.8)"


def issue_acknowledgement_for(
    ledger: Ledger,
    ceremony_id: str,
    split_id: str,
    number: int,
    custodian: PresentPerson,
    witness: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """Share ``number`` of ``split_id`` (created in ceremony ``ceremony_id``): render the acknowledgement,
    sign it by its (present) custodian, record its SHA-256 in ``document.issued`` signed by the custodian
    and the ceremony's witness. For a re-share's new shares or a recovery's fresh components. Not inside an
    event loop: see :func:`async_issue_acknowledgement_for`."""
    signed, subject, file_name = _ack_prepare(
        ledger, ceremony_id, split_id, number, custodian, witness, forms
    )
    # The custodian signs, then the witness who watched them receive it (issue 14: the witness block of
    # the acknowledgement is signed, not left blank).
    signed = signed_in_turn(signed, ((custodian, "Custodian"), (witness, "Witness")), _ACK_REASON)
    record = record_document_for(
        ledger,
        ceremony_id,
        "acknowledgement",
        sha256_of(signed),
        subject,
        file_name,
        (custodian, witness),
        pdf_signers=[custodian.person_id, witness.person_id],
    )
    return SignedDocument(signed, record)


async def async_issue_acknowledgement_for(
    ledger: Ledger,
    ceremony_id: str,
    split_id: str,
    number: int,
    custodian: PresentPerson,
    witness: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """:func:`issue_acknowledgement_for` for code running inside an event loop (Textual)."""
    signed, subject, file_name = _ack_prepare(
        ledger, ceremony_id, split_id, number, custodian, witness, forms
    )
    signed = await async_signed_in_turn(signed, ((custodian, "Custodian"), (witness, "Witness")), _ACK_REASON)
    record = record_document_for(
        ledger,
        ceremony_id,
        "acknowledgement",
        sha256_of(signed),
        subject,
        file_name,
        (custodian, witness),
        pdf_signers=[custodian.person_id, witness.person_id],
    )
    return SignedDocument(signed, record)


def _split_id_of(ceremony: GenerationCeremony, number: int) -> str:
    if ceremony.split_id is None:
        raise FlowError(f"the ledger has no record of the receipt of share {number} in this ceremony yet")
    return ceremony.split_id


def issue_acknowledgement(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    number: int,
    custodian: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """Render share ``number``'s acknowledgement, sign it by its (present) custodian, record its SHA-256
    (event signed by custodian and witness). Not inside an event loop: see
    :func:`async_issue_acknowledgement`."""
    return issue_acknowledgement_for(
        ledger,
        ceremony.ceremony_id,
        _split_id_of(ceremony, number),
        number,
        custodian,
        _present(ceremony.witness),
        forms=forms,
    )


async def async_issue_acknowledgement(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    number: int,
    custodian: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """:func:`issue_acknowledgement` for code running inside an event loop (Textual)."""
    return await async_issue_acknowledgement_for(
        ledger,
        ceremony.ceremony_id,
        _split_id_of(ceremony, number),
        number,
        custodian,
        _present(ceremony.witness),
        forms=forms,
    )


# --- signing: each person in turn, on their own signature field ------------------------------------------
def signed_in_turn(pdf: bytes, signers: Sequence[tuple[PresentPerson, str]], reason: str) -> bytes:
    """``pdf`` signed by each ``(person, field name)`` in order, every signature over the one before (the
    custodian then the witness, the administrator then the witness...). Not inside an event loop: see
    :func:`async_signed_in_turn`."""
    for person, field_name in signers:
        pdf = sign_document(
            pdf,
            person.identity.private_key,
            person.identity.certificate,
            field_name=field_name,
            reason=reason,
        )
    return pdf


async def async_signed_in_turn(
    pdf: bytes, signers: Sequence[tuple[PresentPerson, str]], reason: str
) -> bytes:
    """:func:`signed_in_turn` for code running inside an event loop (Textual)."""
    for person, field_name in signers:
        pdf = await async_sign_document(
            pdf,
            person.identity.private_key,
            person.identity.certificate,
            field_name=field_name,
            reason=reason,
        )
    return pdf


# --- minutes ------------------------------------------------------------------------------------------------
def _present(person: object) -> PresentPerson:
    if not isinstance(person, PresentPerson):
        raise FlowError("documents are signed by an authenticated participant (their passphrase unlocked it)")
    return person


KIND_TITLES = {
    "generation": "Key generation",
    "recovery": "Key recovery",
    "reshare": "Key re-share",
    "retirement": "Key retirement",
    "key_block_check": "Key block check",
}


def _title(control: _Control) -> str:
    what = KIND_TITLES.get(control.kind, f"Key {control.kind}")
    return f"{what} {'rehearsal' if control.rehearsal else 'ceremony'}"


def _describe(event: Event, names: Mapping[str, str], cards: Mapping[str, int] | None = None) -> str:
    """One line of the minutes for ``event``: what happened, in the custodians' words; never a share.
    ``cards``: card file -> share number, from the ceremony's ``share.card_delivered`` events."""
    match event.record:
        case sc.CeremonyStarted() as r:
            mode = " (REHEARSAL)" if r.rehearsal else ""
            if r.kind == "generation":
                return f"Ceremony started{mode}; administrator and witness authenticated"
            text = (
                f"{KIND_TITLES.get(r.kind, r.kind)} ceremony started{mode}; "
                "administrator and witness authenticated"
            )
            if r.key_id:
                text += f"; key {r.key_id}, split {r.split_id}"
            if r.output:
                text += f"; output fixed in advance: {r.output.replace('_', ' ')}"
                if r.kek_label or r.kbpk_label:
                    text += f" under {r.kek_label or r.kbpk_label}"
            if r.kind == "reshare" and r.scheme and r.threshold and r.shares:
                scheme = _scheme_text(r.scheme, r.threshold, r.shares)
                custodians = ", ".join(names.get(c, c) for c in r.custodians or ())
                text += f"; new split {scheme} for {custodians} (reason: {r.reason})"
            return text
        case sc.CeremonyResumed() as r:
            return f"Ceremony resumed after event #{r.after_seq}; administrator and witness authenticated"
        case sc.PreflightRun() as r:
            return "Air-gap preflight recorded: " + _preflight_result(PreflightEvidence.of(r))
        case sc.CeremonyPlanned() as r:
            custodians = ", ".join(names.get(c, c) for c in r.custodians)
            scheme = _scheme_text(r.scheme, r.threshold, r.shares)
            return (
                f"Plan fixed: {r.key_type} key '{r.label}', {scheme}; custodians in share order: "
                f"{custodians}; custody rule checked (PCI DSS 3.7.6)"
            )
        case sc.KeyRegistered() as r:
            test = " (TEST key)" if r.test_key else ""
            source = (
                f" from the random generator of token {r.token_label} (serial {r.token_serial}, "
                f"{r.token_manufacturer} {r.token_model}, firmware {r.token_firmware}; PIN typed by "
                f"{names.get(r.pin_entered_by or '', r.pin_entered_by or '')})"
                if r.random_source == "token-rng"
                else ""
            )
            return f"Key generated{test}{source}; KCV {r.kcv_hex.upper()} registered"
        case sc.SplitCreated() as r:
            scheme = _scheme_text(r.scheme, r.threshold, r.shares)
            why = ""
            if r.replaces_split_id:
                why = f" replacing split {r.replaces_split_id}"
            elif r.from_split_id:
                why = " as fresh components for HSM entry"
            return f"Key split ({scheme}), split {r.split_id}{why}; every share's commitment recorded"
        case sc.ShareExposed() as r:
            if r.kind == "entered":
                return (
                    f"Share {r.share_number} of split {r.split_id} entered by its custodian; "
                    "checked, accepted"
                )
            return _exposure_text(r)
        case sc.ShareCardDelivered() as r:
            copies = "" if r.copies == 1 else f", {r.copies} copies"
            if r.ram_backed:
                where = f"the RAM folder (file {r.destination})"
            elif r.destination.startswith("/"):
                where = f"a folder on disk (file {r.destination})"
            else:
                where = f"the printer ({r.destination}{copies})"
            return f"Share {r.share_number} card delivered to {where}"
        case sc.ShareCardFailed() as r:
            return f"Share {r.share_number} card NOT delivered ({r.reason}); the failure was recorded"
        case sc.ShareCardWiped() as r:
            when = " (left by an interrupted run)" if r.leftover else " after printing"
            number = (cards or {}).get(r.file)
            which = f"Share {number} card file" if number else "Share card file"
            return f"{which} wiped{when} (overwritten and removed): {r.file}"
        case sc.ShareReceived() as r:
            how = "share card" if r.method == "card" else "custodian's own record"
            return f"Share {r.share_number} receipt signed; {how} sealed in envelope {r.envelope_serial}"
        case sc.ShareVerified() as r:
            if r.ok:
                return f"Verification round: share {r.share_number} re-entered, matches the issued share"
            return f"Verification round: share {r.share_number} re-entered, MISMATCH ({r.reason or ''})"
        case sc.EnvelopeInspected() as r:
            intact = r.seal_intact_custodian and r.seal_intact_witness
            seal = "seal intact" if intact else "seal reported BROKEN"
            serial = (
                f"serial {r.serial_read} matches the one recorded at sealing"
                if r.serial_matches
                else f"serial read {r.serial_read} but {r.serial_recorded} recorded at sealing"
            )
            return f"Envelope of share {r.share_number} inspected before opening: {serial}; {seal}"
        case sc.IncidentRecorded() as r:
            return f"INCIDENT recorded ({r.kind}): {r.what}"
        case sc.IncidentDecided() as r:
            return f"Security officer's decision on share {r.share_number}: {r.decision} ({r.reason})"
        case sc.RecoveryShareRefused() as r:
            number = _share_number(r.share_number)
            which = f"share {number}" if number else "an entry that could not be read as a share"
            return f"Refused {which}: {r.reason} (nothing of it was kept)"
        case sc.RecoveryKcvFailed() as r:
            bad = ", ".join(map(str, r.bad_shares)) or "not identified"
            offered = ", ".join(map(str, r.offered))
            return f"Rebuild FAILED the KCV check with shares {offered} (bad share: {bad}); shares wiped"
        case sc.KeyRecovered() as r:
            shares = ", ".join(map(str, r.shares))
            return f"Key rebuilt from shares {shares}; KCV {r.kcv_hex.upper()} matches the registered KCV"
        case sc.KekComponentEntered() as r:
            return f"KEK component {r.component_number} entered; KCV {r.component_kcv_hex.upper()}"
        case sc.KbpkComponentEntered() as r:
            return f"KBPK component {r.component_number} entered; KCV {r.component_kcv_hex.upper()}"
        case sc.KeyBlockExported() as r:
            summary = header_summary(recorded_header(r))
            return (
                f"Key written as a TR-31 key block under {r.kbpk_label} ({summary}); "
                f"KBPK KCV {r.kbpk_kcv_hex.upper()}, key KCV {r.key_kcv_hex.upper()}, block SHA-256 "
                f"{grouped_hex(r.block_sha256)}"
            )
        case sc.KeyBlockChecked() as r:
            verdict = {
                "verified": "VERIFIED: its MAC verifies under the KBPK and the key inside has the registered "
                f"KCV {r.key_kcv_hex.upper()}",
                "mac_failed": "REFUSED: its MAC does not verify (altered, or made under another KBPK)",
                "kcv_mismatch": f"REFUSED: it opens to another key (KCV {(r.found_kcv_hex or '').upper()}, "
                f"registered {r.key_kcv_hex.upper()}): a substitution",
            }[r.verdict]
            return (
                f"Key block received checked under {r.kbpk_label} (KBPK KCV {r.kbpk_kcv_hex.upper()}, "
                f"header {r.header}, block SHA-256 {grouped_hex(r.block_sha256)}): {verdict}"
            )
        case sc.KeyLoaded() as r:
            how = _MECHANISMS.get(r.mechanism, r.mechanism)
            return (
                f"Key loaded into token {r.token_label} (serial {r.token_serial}, {r.token_manufacturer} "
                f"{r.token_model}, firmware {r.token_firmware}) as object '{r.object_label}' by {how}; "
                f"the token's check value {r.token_check_value_hex.upper()} ({r.check_source}) matches the "
                f"registered KCV; attributes: {', '.join(r.attributes)}; the PIN typed by "
                f"{names.get(r.pin_entered_by, r.pin_entered_by)}"
            )
        case sc.KeyWrapped() as r:
            return (
                f"Key wrapped under {r.kek_label} ({r.algorithm}); KEK KCV {r.kek_kcv_hex.upper()}, "
                f"wrapped file SHA-256 {r.wrapped_sha256[:16]}..."
            )
        case sc.KeyWiped():
            return "Clear key wiped from memory"
        case sc.KeyRetired() as r:
            replaced = (
                f"; replaced by key {r.replaced_by_key_id}, so the PCI DSS 3.7.5 replacement flag is cleared"
                if r.replaced_by_key_id
                else ""
            )
            return f"Key {r.label} ({r.key_id}) retired: {r.reason}{replaced}"
        case sc.KeyQuorumLowered() as r:
            return (
                f"QUORUM LOWERED: key {r.key_id} may now be rebuilt by {r.quorum} people, decided by a "
                f"security officer and a witness: {r.reason}"
            )
        case sc.EnvelopeReturned() as r:
            seal = "seal intact" if r.seal_intact else "seal BROKEN"
            return (
                f"Envelope {r.envelope_serial} (share {r.share_number} of split {r.split_id}) returned "
                f"by {r.returned_by} for {r.disposition}; {seal}"
            )
        case sc.EnvelopeDestroyed() as r:
            return (
                f"Envelope {r.envelope_serial} (share {r.share_number} of split {r.split_id}) returned "
                f"sealed by {r.returned_by}, serial read {r.serial_read} = recorded; destroyed ({r.method}) "
                f"by {names.get(r.destroyed_by, r.destroyed_by)}, witnessed by "
                f"{names.get(r.witnessed_by, r.witnessed_by)}"
            )
        case sc.EnvelopeNotReturned() as r:
            return (
                f"INCIDENT: envelope {r.envelope_serial} (share {r.share_number} of split {r.split_id}) NOT "
                f"RETURNED: {r.reason}; the share still counts as held"
            )
        case sc.DocumentIssued() as r:
            kind = r.kind.replace("_", " ")
            return f"Issued {kind}: {r.subject} (SHA-256 {r.sha256[:16]}...)"
        case sc.SplitRetired() as r:
            return f"Split retired: {r.reason}"
        case sc.CeremonyClosed():
            return "Ceremony closed"
        case sc.CeremonyVoided() as r:
            return f"Ceremony voided: {r.reason}"
        case sc.AuthFailed() as r:
            return f"Wrong passphrase (attempt {r.attempt}) for the {r.role} role"
    return _plain_event_name(event.type)


_MECHANISMS = {
    "unwrap-0x210A": "C_UnwrapKey with CKM_AES_KEY_WRAP_PAD (0x210A)",
    "unwrap-0x210B": "C_UnwrapKey with CKM_AES_KEY_WRAP_KWP (0x210B)",
    "create": "C_CreateObject",
}


def grouped_hex(digest: str, size: int = 8) -> str:
    """A digest as printed on paper: upper case, in groups of ``size`` (a line wraps between groups)."""
    flat = digest.upper()
    return " ".join(flat[i : i + size] for i in range(0, len(flat), size))


def recorded_header(record: sc.KeyBlockExported) -> tr31.Header:
    """The header ``key.block_exported`` recorded, decoded: its clear text (optional blocks included) read
    as the start of a block of the recorded length; the recorded fields alone if that text cannot be read."""
    try:
        return tr31.inspect(record.header + "0" * max(0, record.block_length - len(record.header)))
    except KeyBlockError:
        return tr31.Header(
            record.block_version,
            record.key_usage,
            record.algorithm,
            record.mode_of_use,
            record.key_version,
            record.exportability,
        )


def _exposure_text(r: sc.ShareExposed) -> str:
    """One exposure of a share, in words: shown, printed on a card, handed over… (never the raw kind)."""
    share = f"Share {r.share_number}"
    envelope = f", envelope {r.envelope_serial}" if r.envelope_serial else ""
    match r.kind:
        case "shown":
            return f"{share} shown privately to its custodian"
        case "printed":
            where = f" on {r.printer}" if r.printer else ""
            return f"{share} printed on a share card{where} for its custodian{envelope}"
        case "assigned":
            return f"{share} assigned to its custodian{envelope}"
        case "handed":
            return f"{share} handed to its custodian{envelope}"
        case "returned":
            return f"{share} returned{envelope}"
        case "demonstrated":
            return f"{share} demonstrated by its holder{envelope}"
    return f"{share} {r.kind} ({envelope.lstrip(', ') or 'custodian'})"


def _plain_event_name(event_type: str) -> str:
    """An event type the minutes have no sentence for, in words (``share.card_failed`` -> "Share card
    failed"): the minutes never print a raw ledger type name."""
    words = event_type.replace(".", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def _preflight_result(evidence: PreflightEvidence) -> str:
    uncovered = evidence.uncovered
    if evidence.record_only and uncovered:
        return (
            f"REHEARSAL, NOT AIR-GAPPED: {len(uncovered)} finding(s) recorded without blocking "
            "(record-only rehearsal preflight)"
        )
    if uncovered:
        return f"BLOCKED: {len(uncovered)} finding(s) without an active exception"
    if evidence.relied_on:
        return f"cleared, relying on {len(evidence.relied_on)} exception(s) (PCI DSS 1.2.6)"
    return "cleared: no insecure finding"


def _findings(evidence: PreflightEvidence) -> tuple[str, ...]:
    out = [
        f"{f.verdict.upper()} {f.check}{f' {f.subject}' if f.subject else ''}: {f.summary}"
        for f in evidence.findings
        if f.verdict != "pass"
    ]
    return tuple(out) if out else evidence.uncovered


def _minute(text: str) -> str:
    """A recorded time (ISO 8601, maybe with microseconds) as people read it: ``2027-01-04 01:05 UTC``; kept
    as recorded if it is not a time."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return text
    return f"{utc(moment):%Y-%m-%d %H:%M} UTC"


def _exceptions(evidence: PreflightEvidence, names: dict[str, str]) -> tuple[PreflightException, ...]:
    return tuple(
        PreflightException(
            exception_id=e.exception_id,
            # One exception may cover several findings (also_covers): the minutes name every one.
            finding="; ".join(
                finding_text(check, subject) for check, subject in e.covered or ((e.check, e.subject),)
            ),
            justification=e.justification,
            compensating_controls=e.compensating_controls,
            approved_by=names.get(e.approved_by, e.approved_by),
            expires=_minute(e.expires),
        )
        for e in evidence.relied_on
    )


class _Cast:
    """Who took part and in which role(s), in the order they first appear in the ceremony's events."""

    def __init__(self, ledger: Ledger, control: _Control) -> None:
        self.ledger = ledger
        self.everyone = {p.person_id: p for p in people.participants(ledger)}
        self.roles: dict[str, list[str]] = {}
        self.short_role: dict[str, str] = {}
        self.add(control.administrator, ROLE_NAMES["administrator"], "administrator")
        self.add(control.witness, ROLE_NAMES["witness"], "witness")

    def add(self, person_id: str, role: str, short: str) -> None:
        if not person_id:
            return
        roles = self.roles.setdefault(person_id, [])
        if role not in roles:
            roles.append(role)
        self.short_role.setdefault(person_id, short)

    def name(self, person_id: str) -> str:
        who = self.everyone.get(person_id)
        return f"{who.name} ({who.employee_id})" if who else person_id

    def short(self, person_id: str) -> str:
        who = self.everyone.get(person_id)
        return who.name if who else person_id

    def tagged(self, person_id: str) -> str:
        return f"{self.short(person_id)} ({self.short_role.get(person_id, '-')})"

    def participants(self, control: _Control) -> tuple[Participant, ...]:
        fields = {control.administrator: "Administrator", control.witness: "Witness"}
        out = []
        for person_id, roles in self.roles.items():
            who = self.everyone.get(person_id)
            person = Person(who.name, who.employee_id, "; ".join(roles)) if who else Person(person_id, "", "")
            out.append(Participant(person, True, fields.get(person_id, "")))
        return tuple(out)


_NO_SHARE = "(presented no share)"


def _share_number(value: object) -> int | None:
    """A share number as recorded, or None when none was read (a refused entry that could not be decoded)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _cast_of(ledger: Ledger, control: _Control, events: Sequence[Event]) -> _Cast:
    cast = _Cast(ledger, control)
    custodian = ROLE_NAMES["custodian"]
    for event in events:
        match event.record:
            case sc.SplitCreated() as r:
                noun = "component" if r.from_split_id else "share"
                where = "" if control.kind == "generation" else f", new split {r.split_id}"
                for n, pid in enumerate(r.custodians or (), start=1):
                    cast.add(pid, f"{custodian} ({noun} {n} of {r.shares}{where})", "custodian")
            case sc.EnvelopeInspected() | sc.RecoveryShareRefused() | sc.ShareExposed(kind="entered") as r:
                # A share number only when one was read: never "presented share None" (issue 14).
                number = _share_number(r.share_number)
                role = f"{custodian} (presented share {number})" if number else f"{custodian} {_NO_SHARE}"
                cast.add(r.person_id, role, "custodian")
            case sc.KekComponentEntered() as r:
                part = r.component_number
                cast.add(r.person_id, f"KEK custodian (KEK component {part})", "KEK custodian")
            case sc.KbpkComponentEntered() as r:
                part = r.component_number
                cast.add(r.person_id, f"KBPK custodian (KBPK component {part})", "KBPK custodian")
            case sc.KeyLoaded() as r:
                cast.add(r.pin_entered_by, "Typed the token's PIN", "token PIN")
            case sc.IncidentDecided() if event.actors:
                cast.add(event.actors[0], "Security officer (incident decision)", "security officer")
    for roles in cast.roles.values():  # "presented no share" only for one who never presented one
        if f"{custodian} {_NO_SHARE}" in roles and any(
            r.startswith(f"{custodian} (presented share ") for r in roles
        ):
            roles.remove(f"{custodian} {_NO_SHARE}")
    for event in events:  # anyone else who signed a step is listed too: nobody signs unseen
        for pid in (*event.actors, *event.attested_by):
            if pid not in cast.roles:
                cast.add(pid, "Participant", "participant")
    return cast


def _kcvs(events: Sequence[Event], register: Register, control: _Control, names: _Cast) -> list[KcvRecord]:
    out: list[KcvRecord] = []

    def label(key_id: str) -> str:
        key = register.keys.get(key_id)
        return _key_label(key) if key else key_id

    def method(key_id: str) -> str:
        key = register.keys.get(key_id)
        return key.kcv_method if key else ""

    for event in events:
        match event.record:
            case sc.KeyRegistered() as r:
                test = TEST_MARK if r.test_key else ""
                out.append(KcvRecord(f"key {r.label}{test}", r.kcv_hex.upper(), r.kcv_method))
            case sc.KeyRecovered() as r:
                out.append(
                    KcvRecord(
                        f"key {label(r.key_id)} (rebuilt; matches the registered KCV)",
                        r.kcv_hex.upper(),
                        r.kcv_method,
                    )
                )
            case sc.SplitCreated(share_kcvs=dict() as share_kcvs) as r:
                where = "" if control.kind == "generation" else f", split {r.split_id}"
                how = r.share_kcv_method if r.share_kcv_method is not None else method(r.key_id)
                for n in sorted(share_kcvs):
                    out.append(KcvRecord(f"component {n} of {r.shares}{where}", share_kcvs[n].upper(), how))
            case sc.KekComponentEntered() as r:
                who = names.short(r.person_id)
                out.append(
                    KcvRecord(
                        f"KEK component {r.component_number} ({who})",
                        r.component_kcv_hex.upper(),
                        r.kcv_method,
                    )
                )
            case sc.KeyWrapped() as r:
                out.append(
                    KcvRecord(f"key-encryption key {r.kek_label}", r.kek_kcv_hex.upper(), r.kek_kcv_method)
                )
            case sc.KbpkComponentEntered() as r:
                who = names.short(r.person_id)
                out.append(
                    KcvRecord(
                        f"KBPK component {r.component_number} ({who})",
                        r.component_kcv_hex.upper(),
                        r.kcv_method,
                    )
                )
            case sc.KeyBlockExported() | sc.KeyBlockChecked() as r:
                out.append(
                    KcvRecord(
                        f"key block protection key {r.kbpk_label}", r.kbpk_kcv_hex.upper(), r.kbpk_kcv_method
                    )
                )
            case sc.KeyRetired() as r:
                out.append(KcvRecord(f"key {label(r.key_id)} (retired)", r.kcv_hex.upper(), method(r.key_id)))
    return out


def _envelopes(events: Sequence[Event], end: Event, names: _Cast) -> list[EnvelopeRecord]:
    records = [e.record for e in events]
    retired = {r.split_id for r in records if isinstance(r, sc.SplitRetired)}
    counts = {r.split_id: r.shares for r in records if isinstance(r, sc.SplitCreated)}
    decisions = {
        (r.split_id, r.share_number): r.decision for r in records if isinstance(r, sc.IncidentDecided)
    }
    voided = isinstance(end.record, sc.CeremonyVoided)
    out: list[EnvelopeRecord] = []
    for record in records:
        match record:
            case sc.ShareReceived() as r:
                how = "share card" if r.method == "card" else "custodian's record"
                void = voided or r.split_id in retired
                out.append(
                    EnvelopeRecord(
                        serial=r.envelope_serial,
                        custodian=names.name(r.person_id),
                        contents=f"{how}, share {r.share_number} of {counts.get(r.split_id, '?')}, "
                        f"split {r.split_id}",
                        status="void: split retired, return for destruction"
                        if void
                        else "sealed and handed to the custodian",
                    )
                )
            case sc.EnvelopeInspected() as r:
                intact = r.seal_intact_custodian and r.seal_intact_witness
                if r.serial_matches and intact:
                    status = "inspected (serial matches, seal intact) and opened for the recovery"
                else:
                    problems = []
                    if not r.serial_matches:
                        problems.append(f"recorded at sealing as {r.serial_recorded}")
                    if not intact:
                        problems.append("seal broken")
                    decision = decisions.get((r.split_id, r.share_number), "awaiting a security officer")
                    status = f"INCIDENT: {'; '.join(problems)}; decision: {decision}"
                out.append(
                    EnvelopeRecord(
                        serial=r.serial_read,
                        custodian=names.name(r.person_id),
                        contents=f"share {r.share_number}, split {r.split_id}",
                        status=status,
                    )
                )
            case sc.EnvelopeReturned() as r:
                seal = "seal intact" if r.seal_intact else "seal BROKEN: incident recorded"
                holder = r.recorded_holder
                out.append(
                    EnvelopeRecord(
                        serial=r.envelope_serial,
                        custodian=names.name(holder) if holder else "-",
                        contents=f"share {r.share_number}, split {r.split_id}",
                        status=f"returned by {r.returned_by} for {r.disposition}; {seal}",
                    )
                )
            case sc.EnvelopeDestroyed() as r:
                out.append(
                    EnvelopeRecord(
                        serial=r.envelope_serial,
                        custodian=names.name(r.recorded_holder),
                        contents=f"share {r.share_number}, split {r.split_id}",
                        status=f"returned sealed by {r.returned_by}, serial checked; DESTROYED ({r.method}) "
                        f"by {names.name(r.destroyed_by)}, witnessed by {names.name(r.witnessed_by)}",
                    )
                )
            case sc.EnvelopeNotReturned() as r:
                out.append(
                    EnvelopeRecord(
                        serial=r.envelope_serial,
                        custodian=names.name(r.recorded_holder),
                        contents=f"share {r.share_number}, split {r.split_id}",
                        status=f"NOT RETURNED (incident): {r.reason}; still held",
                    )
                )
    return out


def minutes_data_for(
    ledger: Ledger, ceremony_id: str, *, location: str = "", title: str | None = None
) -> MinutesData:
    """The minutes (DESIGN §4.7) of any ceremony — generation, recovery, re-share, retirement; completed
    or voided — from the ledger events whose record names ``ceremony_id``: kind and purpose (from
    ``ceremony.started``), participants and their roles, preflight result and exceptions relied on, every
    step with its UTC time and who performed and approved it, KCVs (never key material), envelope serials,
    incidents, outcome and the closing checkpoint (:func:`closing_checkpoint_of`).
    ``location``: where the ceremony took place; by default the one recorded at its start (recovery,
    re-share and retirement record it in ``ceremony.started``). Call once the ceremony was closed or
    voided."""
    events = ceremony_events(ledger, ceremony_id)
    control = _control(events)
    started = _need(_first(events, sc.CeremonyStarted), "the start")
    location = location.strip() or (_record(started, sc.CeremonyStarted).location or "")
    end = _ended(events)
    cast = _cast_of(ledger, control, events)
    short = {pid: cast.short(pid) for pid in cast.everyone}
    cards = {
        e.record.destination: e.record.share_number
        for e in events
        if isinstance(e.record, sc.ShareCardDelivered)
    }
    steps = []
    for event in events:
        performer = event.actors[0] if event.actors else ""
        approvers = [a for a in event.attested_by if a != performer]
        steps.append(
            MinutesStep(
                at=_time(event),
                description=_describe(event, short, cards),
                performed_by=cast.tagged(performer),
                approved_by=", ".join(cast.tagged(a) for a in approvers) or "-",
                event_id=f"#{event.seq}",
            )
        )
    preflight = _last(events, sc.PreflightRun)
    names = {pid: cast.name(pid) for pid in cast.everyone}
    if end.type == "ceremony.closed":
        outcome = "Completed" + (
            " (REHEARSAL - TEST key, not for production use)" if control.rehearsal else ""
        )
    else:
        outcome = f"Voided: {_record(end, sc.CeremonyVoided).reason}"
    evidence = PreflightEvidence.of(_record(preflight, sc.PreflightRun)) if preflight else None
    return MinutesData(
        ceremony_id=ceremony_id,
        title=title or _title(control),
        purpose=control.purpose,
        location=location or "-",
        started_at=_time(started),
        ended_at=_time(end),
        participants=cast.participants(control),
        preflight_result=_preflight_result(evidence) if evidence else "not run",
        preflight_findings=_findings(evidence) if evidence else (),
        exceptions=_exceptions(evidence, names) if evidence else (),
        steps=tuple(steps),
        kcvs=tuple(_kcvs(events, ledger_register.read(ledger), control, cast)),
        envelopes=tuple(_envelopes(events, end, cast)),
        outcome=outcome,
        closing=closing_reference(ledger, ceremony_id),
        officers=officer_fingerprints(ledger),
    )


def officer_fingerprints(ledger: Ledger) -> tuple[OfficerFingerprint, ...]:
    """Every active security officer's certificate fingerprint, grouped as people read it back: an auditor
    pins an exported bundle with it (``verify --bundle --officer-cert-sha256 "…as printed…"``)."""
    return tuple(
        OfficerFingerprint(p.name, p.employee_id, printed(p.cert_sha256))
        for p in people.participants(ledger)
        if p.active and "security_officer" in p.roles
    )


def minutes_data(
    ledger: Ledger, ceremony: GenerationCeremony, *, location: str = "", title: str | None = None
) -> MinutesData:
    """The minutes of a generation ``ceremony`` (completed or voided): :func:`minutes_data_for` its id."""
    return minutes_data_for(ledger, ceremony.ceremony_id, location=location, title=title)


def minutes_names(ceremony_id: str) -> tuple[str, str]:
    """(subject, file name) of a ceremony's minutes, as the ledger and manifests name them."""
    return f"minutes of ceremony {ceremony_id}", f"minutes-{ceremony_id}.pdf"


_MINUTES_REASON = "These minutes are a true record of the ceremony"


def _minutes_pdf(
    ledger: Ledger,
    ceremony_id: str,
    administrator: PresentPerson,
    witness: PresentPerson,
    location: str,
    title: str | None,
    forms: FormSet | None,
) -> bytes:
    _check_control(ceremony_events(ledger, ceremony_id), administrator, witness)
    data = minutes_data_for(ledger, ceremony_id, location=location, title=title)
    return render_minutes(data, forms=forms)


def _record_minutes(
    ledger: Ledger, ceremony_id: str, pdf: bytes, administrator: PresentPerson, witness: PresentPerson
) -> SignedDocument:
    subject, file_name = minutes_names(ceremony_id)
    record = record_document_for(
        ledger, ceremony_id, "minutes", sha256_of(pdf), subject, file_name, (administrator, witness)
    )
    return SignedDocument(pdf, record)


def issue_minutes_for(
    ledger: Ledger,
    ceremony_id: str,
    administrator: PresentPerson,
    witness: PresentPerson,
    *,
    location: str = "",
    title: str | None = None,
    forms: FormSet | None = None,
) -> SignedDocument:
    """The minutes of any ceremony (closed or voided), signed by its administrator then its witness (both
    present and the ones recorded at its start), their SHA-256 recorded as ``document.issued`` kind
    ``"minutes"``. Not inside an event loop: see :func:`async_issue_minutes_for`."""
    pdf = _minutes_pdf(ledger, ceremony_id, administrator, witness, location, title, forms)
    pdf = signed_in_turn(pdf, ((administrator, "Administrator"), (witness, "Witness")), _MINUTES_REASON)
    return _record_minutes(ledger, ceremony_id, pdf, administrator, witness)


async def async_issue_minutes_for(
    ledger: Ledger,
    ceremony_id: str,
    administrator: PresentPerson,
    witness: PresentPerson,
    *,
    location: str = "",
    title: str | None = None,
    forms: FormSet | None = None,
) -> SignedDocument:
    """:func:`issue_minutes_for` for code running inside an event loop (Textual)."""
    pdf = _minutes_pdf(ledger, ceremony_id, administrator, witness, location, title, forms)
    pdf = await async_signed_in_turn(
        pdf, ((administrator, "Administrator"), (witness, "Witness")), _MINUTES_REASON
    )
    return _record_minutes(ledger, ceremony_id, pdf, administrator, witness)


def issue_minutes(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    *,
    location: str = "",
    title: str | None = None,
    forms: FormSet | None = None,
) -> SignedDocument:
    """Render a generation ceremony's minutes, sign them by the administrator then the witness, record
    their SHA-256. Call after ``close()`` or ``void()``. Not inside an event loop: see
    :func:`async_issue_minutes`."""
    admin, witness = _present(ceremony.administrator), _present(ceremony.witness)
    return issue_minutes_for(
        ledger, ceremony.ceremony_id, admin, witness, location=location, title=title, forms=forms
    )


async def async_issue_minutes(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    *,
    location: str = "",
    title: str | None = None,
    forms: FormSet | None = None,
) -> SignedDocument:
    """:func:`issue_minutes` for code running inside an event loop (Textual)."""
    admin, witness = _present(ceremony.administrator), _present(ceremony.witness)
    return await async_issue_minutes_for(
        ledger, ceremony.ceremony_id, admin, witness, location=location, title=title, forms=forms
    )


# --- the ledger anchor --------------------------------------------------------------------------------------
def documents_folder(ledger: Ledger) -> Path:
    """Where the signed papers go by default: ``ceremony-documents/`` beside the ledger file."""
    return archive.documents_folder(ledger.path)


def anchor_names(ledger_id: str) -> tuple[str, str]:
    """(subject, file name) of a ledger's anchor page, as the ledger and manifests name them."""
    return f"ledger anchor of {ledger_id}", f"ledger-anchor-{ledger_id}.pdf"


def anchor_data(ledger: Ledger) -> AnchorData:
    """What the anchor page shows, from the genesis: organisation, production or rehearsal, ledger id,
    creation time, founding security officer, the anchor (grouped and on one line) and the root certificate's
    SHA-256 (grouped)."""
    genesis = people.genesis(ledger)
    anchor = people.anchor(ledger)
    return AnchorData(
        ledger_id=genesis.ledger_id,
        rehearsal=genesis.rehearsal,
        organisation=genesis.organisation,
        created=datetime.strptime(genesis.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        founder=Person(genesis.name, genesis.employee_id, "Security officer"),
        lines=tuple(anchor.grouped()),
        text=anchor.text(),
        root_cert_sha256=group(genesis.root_cert_sha256),
    )


def _anchor_prepare(ledger: Ledger, founded: Founded, forms: FormSet | None) -> tuple[bytes, str, str]:
    """Check ``founded`` is this ledger's founding, render the page; returns (unsigned PDF, subject, name)."""
    genesis = people.genesis(ledger)
    if founded.founder.person_id != genesis.person_id or founded.anchor != people.anchor(ledger):
        raise FlowError(
            f"the anchor page of ledger {genesis.ledger_id} is signed by its founder, {genesis.name}, "
            "right after the founding"
        )
    subject, file_name = anchor_names(genesis.ledger_id)
    # The page furniture names the organisation the genesis records, never a template's example name.
    forms = forms or load_forms()
    forms = replace(forms, organisation=replace(forms.organisation, name=genesis.organisation))
    return render_anchor(anchor_data(ledger), forms=forms), subject, file_name


_ANCHOR_REASON = "I founded this ledger: this is its anchor (ledger id, genesis hash, root certificate)"


def _record_anchor(
    ledger: Ledger, founded: Founded, signed: bytes, subject: str, file_name: str
) -> SignedDocument:
    # The founder alone signs: at founding nobody else is enrolled yet (the schema's rule for kind "anchor").
    founder = Attester(founded.founder.person_id, founded.identity)
    record = record_document_for(ledger, None, "anchor", sha256_of(signed), subject, file_name, (founder,))
    return SignedDocument(signed, record)


def issue_anchor(
    ledger: Ledger, founded: Founded, *, forms: FormSet | None = None, folder: Path | None = None
) -> tuple[SignedDocument, Path]:
    """The ledger anchor page (DESIGN §5): render it, sign it with the founder's (still unlocked) key, record
    its SHA-256 as ``document.issued`` kind ``"anchor"`` signed by the founder, and write it as
    ``ledger-anchor-<ledger id>.pdf`` in ``folder`` (default :func:`documents_folder`), never over an existing
    file. The record comes first: if the file cannot be written (``OSError``) the page is recorded but not
    kept, and may be issued again. Not inside an event loop: see :func:`async_issue_anchor`."""
    pdf, subject, file_name = _anchor_prepare(ledger, founded, forms)
    signed = sign_document(
        pdf,
        founded.identity.private_key,
        founded.identity.certificate,
        field_name="SecurityOfficer",
        reason=_ANCHOR_REASON,
    )
    document = _record_anchor(ledger, founded, signed, subject, file_name)
    path = archive.write_new_file((folder or documents_folder(ledger)) / file_name, signed)
    return document, path


async def async_issue_anchor(
    ledger: Ledger, founded: Founded, *, forms: FormSet | None = None, folder: Path | None = None
) -> tuple[SignedDocument, Path]:
    """:func:`issue_anchor` for code running inside an event loop (Textual)."""
    pdf, subject, file_name = _anchor_prepare(ledger, founded, forms)
    signed = await async_sign_document(
        pdf,
        founded.identity.private_key,
        founded.identity.certificate,
        field_name="SecurityOfficer",
        reason=_ANCHOR_REASON,
    )
    document = _record_anchor(ledger, founded, signed, subject, file_name)
    target = (folder or documents_folder(ledger)) / file_name
    path = await asyncio.to_thread(archive.write_new_file, target, signed)
    return document, path


# --- the destruction certificate (DESIGN §4.6) --------------------------------------------------------------
_DESTRUCTION_REASON = "We destroyed these envelopes together, under dual control"


def destruction_names(ceremony_id: str | None, first_seq: int) -> tuple[str, str, str]:
    """(subject, file name, sub-folder) of a destruction certificate: per ceremony, or per departure."""
    tag = ceremony_id or f"departure-{first_seq}"
    return f"destruction of envelopes, {tag}", f"destruction-{tag}.pdf", tag


def destruction_data(
    ledger: Ledger,
    outcomes: Sequence[Any],
    destroyed_by: PresentPerson,
    witness: PresentPerson,
    *,
    occasion: str,
    ceremony_id: str | None = None,
    location: str = "",
) -> DestructionData:
    """What the certificate shows, from the ledger: each ``envelope.destroyed`` among ``outcomes``
    (:class:`ceremony.flows.envelopes.EnvelopeOutcome`), which must have been destroyed by ``destroyed_by``
    and witnessed by ``witness``; the other outcomes are listed as not destroyed."""
    from ceremony.flows.envelopes import Outcome

    register = ledger_register.read(ledger)
    destroyed = [o for o in outcomes if o.outcome is Outcome.DESTROYED]
    if not destroyed:
        raise FlowError("no envelope was destroyed: there is nothing to certify")
    if destroyed_by.person_id == witness.person_id:
        raise FlowError("a destruction certificate is signed by two different people")
    lines: list[DestroyedEnvelopeLine] = []
    for outcome in destroyed:
        envelope = outcome.envelope
        split = register.split(envelope.split_id)
        entry = split.destroyed.get(envelope.share_number)
        if entry is None or entry.seq != outcome.seq:
            raise FlowError(f"envelope {envelope.serial} is not recorded destroyed at event #{outcome.seq}")
        record = entry.record
        if (record.destroyed_by, record.witnessed_by) != (destroyed_by.person_id, witness.person_id):
            raise FlowError(
                f"envelope {envelope.serial} was destroyed by {record.destroyed_by} and witnessed by "
                f"{record.witnessed_by}: they sign its certificate"
            )
        key = register.key(envelope.key_id)
        holder = register.people.get(record.recorded_holder)
        lines.append(
            DestroyedEnvelopeLine(
                serial=record.serial_read,
                key_label=key.label,
                key_id=key.key_id,
                kcv=key.kcv_hex.upper(),
                split_id=split.split_id,
                share_number=record.share_number,
                share_count=split.count,
                custodian=f"{holder.name} ({holder.employee_id})" if holder else record.recorded_holder,
                returned_by=record.returned_by,
                destroyed_at=entry.when,
                event_id=ledger_reference_id(entry.seq),
            )
        )
    methods = sorted({o.method for o in destroyed if o.method})
    others = [
        f"{o.envelope.serial} (share {o.envelope.share_number} of {o.envelope.split_id}): {o.outcome.value}, "
        f"incident at event #{o.incident_seq or o.seq}"
        for o in outcomes
        if o.outcome is not Outcome.DESTROYED
    ]

    def printed(person_id: str) -> Person:
        who = register.person(person_id)
        order = ("security_officer", "administrator", "witness")
        role = next((sc.ROLE_NAMES[r] for r in order if r in who.roles), "")
        return Person(who.name, who.employee_id, role.capitalize())

    genesis = people.genesis(ledger)
    last = max(o.seq for o in destroyed)
    return DestructionData(
        occasion=occasion,
        ceremony_id=ceremony_id or "",
        location=location,
        destroyed_by=printed(destroyed_by.person_id),
        witness=replace(printed(witness.person_id), role="Witness"),
        method="; ".join(methods) or "destroyed",
        envelopes=tuple(lines),
        issued_at=max(line.destroyed_at for line in lines),
        ledger=ledger_reference(ledger, last),
        rehearsal=genesis.rehearsal,
        not_destroyed=tuple(others),
    )


def _record_destruction(
    ledger: Ledger,
    ceremony_id: str | None,
    signed: bytes,
    first_seq: int,
    destroyed_by: PresentPerson,
    witness: PresentPerson,
) -> tuple[SignedDocument, str, str]:
    subject, file_name, tag = destruction_names(ceremony_id, first_seq)
    record = record_document_for(
        ledger, ceremony_id, "destruction", sha256_of(signed), subject, file_name, (destroyed_by, witness)
    )
    return SignedDocument(signed, record), file_name, tag


def issue_destruction_certificate(
    ledger: Ledger,
    outcomes: Sequence[Any],
    destroyed_by: PresentPerson,
    witness: PresentPerson,
    *,
    occasion: str,
    ceremony_id: str | None = None,
    location: str = "",
    folder: Path | None = None,
    forms: FormSet | None = None,
) -> tuple[SignedDocument, Path]:
    """The certificate of envelope destruction: render it from the ledger (:func:`destruction_data`), sign
    it by the person who destroyed the envelopes then the witness, record its SHA-256 as
    ``document.issued`` kind ``"destruction"`` signed by both, and write it (never over an existing file) in
    ``folder`` (default: ``ceremony-documents/<ceremony id or departure-N>/``). Not inside an event loop:
    see :func:`async_issue_destruction_certificate`."""
    data = destruction_data(
        ledger, outcomes, destroyed_by, witness, occasion=occasion, ceremony_id=ceremony_id, location=location
    )
    pdf = render_destruction(data, forms=forms)
    pdf = signed_in_turn(pdf, ((destroyed_by, "DestroyedBy"), (witness, "Witness")), _DESTRUCTION_REASON)
    first = min(o.seq for o in outcomes)
    document, file_name, tag = _record_destruction(ledger, ceremony_id, pdf, first, destroyed_by, witness)
    target = (folder or archive.documents_folder(ledger.path, tag)) / file_name
    return document, archive.write_new_file(target, pdf)


async def async_issue_destruction_certificate(
    ledger: Ledger,
    outcomes: Sequence[Any],
    destroyed_by: PresentPerson,
    witness: PresentPerson,
    *,
    occasion: str,
    ceremony_id: str | None = None,
    location: str = "",
    folder: Path | None = None,
    forms: FormSet | None = None,
) -> tuple[SignedDocument, Path]:
    """:func:`issue_destruction_certificate` for code running inside an event loop (Textual)."""
    data = destruction_data(
        ledger, outcomes, destroyed_by, witness, occasion=occasion, ceremony_id=ceremony_id, location=location
    )
    pdf = render_destruction(data, forms=forms)
    pdf = await async_signed_in_turn(
        pdf, ((destroyed_by, "DestroyedBy"), (witness, "Witness")), _DESTRUCTION_REASON
    )
    first = min(o.seq for o in outcomes)
    document, file_name, tag = _record_destruction(ledger, ceremony_id, pdf, first, destroyed_by, witness)
    target = (folder or archive.documents_folder(ledger.path, tag)) / file_name
    path = await asyncio.to_thread(archive.write_new_file, target, pdf)
    return document, path


# --- the key block transmittal (issue 16) -------------------------------------------------------------------
_TRANSMITTAL_REASON = "We made this key block together, under dual control"
NOT_THE_RECORDED_BLOCK = "the key block given is not the one recorded"


def key_block_transmittal_names(ceremony_id: str, key_id: str, kbpk_label: str) -> tuple[str, str]:
    """(subject, file name) of a ceremony's key block transmittal, as the ledger and manifests name them."""
    subject = f"key {key_id} as a TR-31 key block under {kbpk_label}"
    return subject[:200], f"key-block-transmittal-{ceremony_id}.pdf"


def _exported(events: Sequence[Event]) -> tuple[Event, sc.KeyBlockExported]:
    event = _need(_last(events, sc.KeyBlockExported), "a key block")
    return event, _record(event, sc.KeyBlockExported)


def _header_rows(header: tr31.Header, length: int) -> tuple[HeaderField, ...]:
    described = header.describe()
    names = (
        ("version", "Version"),
        ("key_usage", "Key usage"),
        ("algorithm", "Algorithm"),
        ("mode_of_use", "Mode of use"),
        ("key_version", "Key version"),
        ("exportability", "Exportability"),
    )
    rows: list[HeaderField] = []
    for key, name in names:
        value = described[key]
        assert isinstance(value, dict)
        rows.append(HeaderField(name, str(value["code"]), str(value["meaning"])))
        if key == "version":  # then the length, as the header writes them
            rows.append(HeaderField("Block length", f"{length:04d}", f"{length} characters, header included"))
    for block in header.blocks:
        meaning = tr31.OPTIONAL_BLOCKS.get(block.id, "not known to this program")
        rows.append(HeaderField(f"Optional block {block.id}", block.data, meaning))
    return tuple(rows)


def key_block_transmittal_data(
    ledger: Ledger,
    ceremony_id: str,
    block: str,
    administrator: _Signer,
    witness: _Signer,
) -> KeyBlockTransmittalData:
    """What the key block transmittal of ceremony ``ceremony_id`` shows, from its ``key.block_exported``
    event: ``block`` must be the block recorded there (its SHA-256 and its clear header), else
    :class:`FlowError`; ``administrator`` and ``witness`` must be the ceremony's own. Never a KBPK component
    or the key: the ledger holds neither."""
    events = ceremony_events(ledger, ceremony_id)
    control = _control(events)
    if (administrator.person_id, witness.person_id) != (control.administrator, control.witness):
        raise FlowError(
            "the key block transmittal is signed by the ceremony's own administrator and witness (the ones "
            "recorded at its start)"
        )
    event, record = _exported(events)
    text = block.strip() if isinstance(block, str) else ""
    try:
        if not text.isascii() or hashlib.sha256(text.encode("ascii")).hexdigest() != record.block_sha256:
            raise FlowError(NOT_THE_RECORDED_BLOCK)
        if text[: tr31.header_length(text)] != record.header:
            raise FlowError(NOT_THE_RECORDED_BLOCK)
        header = tr31.inspect(text)
    except KeyBlockError:
        raise FlowError(NOT_THE_RECORDED_BLOCK) from None
    register = ledger_register.read(ledger)
    key = register.key(record.key_id)
    components = []
    for number, (person_id, kcv) in enumerate(
        zip(record.kbpk_custodians, record.kbpk_component_kcvs, strict=True), start=1
    ):
        who = register.people.get(person_id)
        components.append(
            KbpkComponentLine(
                number=number,
                custodian=f"{who.name} ({who.employee_id})" if who else person_id,
                kcv=kcv.upper(),
                kcv_method=record.kbpk_component_method,
            )
        )
    return KeyBlockTransmittalData(
        ceremony_id=ceremony_id,
        key_label=_key_label(key),
        key_id=key.key_id,
        key_type=key.key_type.value,
        key_kcv=record.key_kcv_hex.upper(),
        key_kcv_method=record.key_kcv_method,
        kbpk_label=record.kbpk_label,
        kbpk_kcv=record.kbpk_kcv_hex.upper(),
        kbpk_kcv_method=record.kbpk_kcv_method,
        components=tuple(components),
        block=text,
        block_sha256=record.block_sha256,
        block_length=record.block_length,
        header=_header_rows(header, record.block_length),
        administrator=_person(ledger, control.administrator, ROLE_NAMES["administrator"]),
        witness=_person(ledger, control.witness, ROLE_NAMES["witness"]),
        issued_at=_time(event),
        ledger=ledger_reference(ledger, event.seq),
    )


def _transmittal_pdf(
    ledger: Ledger,
    ceremony_id: str,
    block: str,
    administrator: PresentPerson,
    witness: PresentPerson,
    forms: FormSet | None,
) -> tuple[bytes, str, str]:
    data = key_block_transmittal_data(ledger, ceremony_id, block, administrator, witness)
    subject, file_name = key_block_transmittal_names(ceremony_id, data.key_id, data.kbpk_label)
    return render_key_block_transmittal(data, forms=forms), subject, file_name


def _record_transmittal(
    ledger: Ledger,
    ceremony_id: str,
    signed: bytes,
    subject: str,
    file_name: str,
    administrator: PresentPerson,
    witness: PresentPerson,
) -> SignedDocument:
    record = record_document_for(
        ledger,
        ceremony_id,
        "key_block_transmittal",
        sha256_of(signed),
        subject,
        file_name,
        (administrator, witness),
    )
    return SignedDocument(signed, record)


def issue_key_block_transmittal_for(
    ledger: Ledger,
    ceremony_id: str,
    block: str,
    administrator: PresentPerson,
    witness: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """The key block transmittal of a recovery whose output is a key block (issue 16): render it from the
    ledger (:func:`key_block_transmittal_data`; ``block`` must be the one recorded), sign it by the
    administrator then the witness, record its SHA-256 as ``document.issued`` kind
    ``"key_block_transmittal"`` signed by both. The caller writes the file. Not inside an event loop: see
    :func:`async_issue_key_block_transmittal_for`."""
    pdf, subject, file_name = _transmittal_pdf(ledger, ceremony_id, block, administrator, witness, forms)
    pdf = signed_in_turn(pdf, ((administrator, "Administrator"), (witness, "Witness")), _TRANSMITTAL_REASON)
    return _record_transmittal(ledger, ceremony_id, pdf, subject, file_name, administrator, witness)


async def async_issue_key_block_transmittal_for(
    ledger: Ledger,
    ceremony_id: str,
    block: str,
    administrator: PresentPerson,
    witness: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """:func:`issue_key_block_transmittal_for` for code running inside an event loop (Textual)."""
    pdf, subject, file_name = _transmittal_pdf(ledger, ceremony_id, block, administrator, witness, forms)
    pdf = await async_signed_in_turn(
        pdf, ((administrator, "Administrator"), (witness, "Witness")), _TRANSMITTAL_REASON
    )
    return _record_transmittal(ledger, ceremony_id, pdf, subject, file_name, administrator, witness)
