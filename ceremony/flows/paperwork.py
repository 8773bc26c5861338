"""The papers of every ceremony, built from the ledger: share cards, acknowledgement forms, minutes.

Minutes (DESIGN §4.7) close every ceremony — generation, recovery, re-share, retirement, completed or voided —
and are built from the events whose payload carries its ``ceremony_id`` alone: ``minutes_data_for`` /
``issue_minutes_for(ledger, ceremony_id, administrator, witness)``. A re-share's new shares and a recovery's
fresh components get acknowledgements through ``issue_acknowledgement_for(ledger, ceremony_id, split_id,
number, custodian, witness)``. The generation-only functions below (``issue_minutes(ledger, ceremony)``
etc.) delegate to these.

The TUI and ``ceremony rehearse`` both call these; neither builds a document by hand. Every value printed
comes from the ledger events of the ceremony (what was recorded is what is printed), plus the ceremony
object for who held which role. Each issued document's SHA-256 is recorded in a ``document.issued`` event
``{ceremony_id, kind, sha256, subject, file_name}`` so a paper found later can be matched to the ledger
(``ceremony verify --document``).

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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ceremony.crypto.codec import share_text
from ceremony.crypto.secret import SecretBytes
from ceremony.documents.model import (
    AcknowledgementData,
    EnvelopeRecord,
    KcvRecord,
    LedgerReference,
    MinutesData,
    MinutesStep,
    Participant,
    Person,
    PreflightException,
    ShareCardData,
)
from ceremony.documents.render import render_acknowledgement, render_minutes, render_share_card
from ceremony.documents.sign import async_sign_document, sha256_of, sign_document
from ceremony.documents.templates import FormSet
from ceremony.errors import FlowError
from ceremony.flows.common import KeyInfo, Register, read_register
from ceremony.flows.generation import GenerationCeremony
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import participants as people
from ceremony.ledger.events import Event
from ceremony.ledger.store import Ledger

DOCUMENT_ISSUED = "document.issued"
KINDS = ("share_card", "acknowledgement", "minutes")
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

    kind: str  # "share_card" | "acknowledgement" | "minutes"
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
    """Every event of one ceremony, in ledger order."""
    return [e for e in ledger.events() if e.payload.get("ceremony_id") == ceremony_id]


def _time(event: Event) -> datetime:
    return datetime.strptime(event.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _first(events: Iterable[Event], event_type: str, **match: object) -> Event | None:
    for event in events:
        if event.type == event_type and all(event.payload.get(k) == v for k, v in match.items()):
            return event
    return None


def _last(events: Sequence[Event], event_type: str, **match: object) -> Event | None:
    return _first(reversed(events), event_type, **match)


def _need(event: Event | None, what: str) -> Event:
    if event is None:
        raise FlowError(f"the ledger has no record of {what} in this ceremony yet")
    return event


def ledger_reference(ledger: Ledger, seq: int) -> LedgerReference:
    """Event ``seq`` and the checkpoint right after it, as printed on a form (DESIGN §5)."""
    checkpoint = ledger.checkpoint(seq)
    return LedgerReference(f"#{seq}", checkpoint.text(), checkpoint.qr_payload())


def closing_checkpoint(ledger: Ledger) -> str:
    """The checkpoint text of the ledger as it stands now (pass it to ``GenerationCeremony.close``)."""
    return ledger.checkpoint().text()


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
    key = _need(_first(events, "key.registered"), "a generated key")
    split = _need(_first(events, "split.created"), "a split")
    test = bool(key.payload.get("test_key"))
    threshold, count = int(str(split.payload["threshold"])), int(str(split.payload["shares"]))
    return _KeyFacts(
        key_id=str(key.payload["key_id"]),
        key_type=str(key.payload["key_type"]),
        label=str(key.payload["label"]) + (TEST_MARK if test else ""),
        kcv=str(key.payload["kcv_hex"]).upper(),
        kcv_method=str(key.payload["kcv_method"]),
        split_id=str(split.payload["split_id"]),
        scheme=_scheme_text(str(split.payload["scheme"]), threshold, count),
        threshold=threshold,
        count=count,
        test_key=test,
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
    )


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
    ceremony_id: str,
    kind: str,
    sha256: str,
    subject: str,
    file_name: str,
    signers: Sequence[_Signer],
) -> DocumentRecord:
    """Record an issued document's SHA-256 (``document.issued``) for any ceremony, signed by ``signers``
    (minutes: the administrator and the witness; an acknowledgement: the custodian and the witness)."""
    if kind not in KINDS:
        raise FlowError(f"unknown document kind {kind[:30]!r} (known: {', '.join(KINDS)})")
    if not signers:
        raise FlowError("an issued document is recorded under the signatures of the people present")
    actors = list(dict.fromkeys(s.person_id for s in signers))
    event = ledger.append(
        DOCUMENT_ISSUED,
        {
            "ceremony_id": ceremony_id,
            "kind": kind,
            "sha256": sha256,
            "subject": subject,
            "file_name": file_name,
        },
        actors,
        signers,
    )
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
    started = _need(_first(events, "ceremony.started"), "the start")
    opened = _last(events, "ceremony.resumed") or started
    if len(opened.actors) < 2:
        raise FlowError(f"event #{opened.seq} does not name both an administrator and a witness")
    p = started.payload
    return _Control(
        administrator=opened.actors[0],
        witness=opened.actors[1],
        kind=str(p.get("kind", "generation")),
        purpose=str(p.get("purpose", "")),
        rehearsal=bool(p.get("rehearsal")),
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
    end = _last(events, "ceremony.closed") or _last(events, "ceremony.voided")
    return _need(end, "the close-out (close or void the ceremony first)")


# --- acknowledgement ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SplitFacts:
    split_id: str
    scheme: str
    threshold: int
    count: int
    custodians: tuple[str, ...]
    created: Event


def _split_facts(events: Sequence[Event], split_id: str | None) -> _SplitFacts:
    created = _first(events, "split.created", split_id=split_id) if split_id else None
    created = _need(created, f"a split {split_id or ''}".rstrip())
    p = created.payload
    threshold, count = int(str(p["threshold"])), int(str(p["shares"]))
    custodians = p.get("custodians")
    return _SplitFacts(
        split_id=str(p["split_id"]),
        scheme=_scheme_text(str(p["scheme"]), threshold, count),
        threshold=threshold,
        count=count,
        custodians=tuple(str(c) for c in custodians) if isinstance(custodians, list) else (),
        created=created,
    )


def _key_label(key: KeyInfo) -> str:
    return key.label + (TEST_MARK if key.test_key else "")


def _noun(split: _SplitFacts) -> str:
    return (
        "component"
        if split.scheme.startswith("XOR") and split.created.payload.get("from_split_id")
        else "share"
    )


def acknowledgement_data_for(
    ledger: Ledger, ceremony_id: str, split_id: str | None, number: int
) -> AcknowledgementData:
    """The acknowledgement of share ``number`` of ``split_id`` (a split this ceremony created: a generation,
    a re-share's new split, a recovery's fresh components) by its custodian (PCI DSS 3.7.8). It names the
    receipt (``share.received``) and the checkpoint at that event; a recovery's component, which has no
    sealed receipt, names the event that showed it to its custodian."""
    events = ceremony_events(ledger, ceremony_id)
    control = _control(events)
    receipt = (
        _last(events, "share.received", share_number=number, split_id=split_id)
        or _last(events, "share.exposed", share_number=number, split_id=split_id, kind="shown")
        if split_id
        else None
    )
    receipt = _need(receipt, f"the receipt of share {number}")
    split = _split_facts(events, split_id)
    key = read_register(ledger.events()).key(str(split.created.payload["key_id"]))
    return AcknowledgementData(
        ceremony_id=ceremony_id,
        custodian=_person(ledger, str(receipt.payload["person_id"]), ROLE_NAMES["custodian"]),
        key_label=_key_label(key),
        key_id=key.key_id,
        key_type=key.key_type.value,
        kcv=key.kcv.hex,
        kcv_method=str(key.kcv.method),
        split_id=split.split_id,
        scheme=split.scheme,
        share_number=number,
        share_count=split.count,
        issued_at=_time(receipt),
        ledger=ledger_reference(ledger, receipt.seq),
        witness=_person(ledger, control.witness, ROLE_NAMES["witness"]),
    )


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
    pdf, subject, file_name = _ack_prepare(ledger, ceremony_id, split_id, number, custodian, witness, forms)
    signed = sign_document(
        pdf,
        custodian.identity.private_key,
        custodian.identity.certificate,
        field_name="Custodian",
        reason=_ACK_REASON,
    )
    record = record_document_for(
        ledger, ceremony_id, "acknowledgement", sha256_of(signed), subject, file_name, (custodian, witness)
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
    pdf, subject, file_name = _ack_prepare(ledger, ceremony_id, split_id, number, custodian, witness, forms)
    signed = await async_sign_document(
        pdf,
        custodian.identity.private_key,
        custodian.identity.certificate,
        field_name="Custodian",
        reason=_ACK_REASON,
    )
    record = record_document_for(
        ledger, ceremony_id, "acknowledgement", sha256_of(signed), subject, file_name, (custodian, witness)
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
}


def _title(control: _Control) -> str:
    what = KIND_TITLES.get(control.kind, f"Key {control.kind}")
    return f"{what} {'rehearsal' if control.rehearsal else 'ceremony'}"


def _describe(event: Event, names: Mapping[str, str]) -> str:
    """One line of the minutes for ``event``: what happened, in the custodians' words; never a share."""
    p = event.payload
    number = p.get("share_number")
    match event.type:
        case "ceremony.started":
            mode = " (REHEARSAL)" if p.get("rehearsal") else ""
            kind = str(p.get("kind", "generation"))
            if kind == "generation":
                return f"Ceremony started{mode}; administrator and witness authenticated"
            text = (
                f"{KIND_TITLES.get(kind, kind)} ceremony started{mode}; "
                "administrator and witness authenticated"
            )
            if p.get("key_id"):
                text += f"; key {p.get('key_id')}, split {p.get('split_id')}"
            if p.get("output"):
                text += f"; output fixed in advance: {str(p.get('output')).replace('_', ' ')}"
                if p.get("kek_label"):
                    text += f" under {p.get('kek_label')}"
            if kind == "reshare":
                scheme = _scheme_text(str(p["scheme"]), int(str(p["threshold"])), int(str(p["shares"])))
                custodians = ", ".join(names.get(str(c), str(c)) for c in p.get("custodians", []))  # type: ignore[union-attr]
                text += f"; new split {scheme} for {custodians} (reason: {p.get('reason')})"
            return text
        case "ceremony.resumed":
            return (
                f"Ceremony resumed after event #{p.get('after_seq')}; administrator and witness authenticated"
            )
        case "preflight.run":
            return "Air-gap preflight recorded: " + _preflight_result(p)
        case "ceremony.planned":
            custodians = ", ".join(names.get(str(c), str(c)) for c in p.get("custodians", []))  # type: ignore[union-attr]
            scheme = _scheme_text(str(p["scheme"]), int(str(p["threshold"])), int(str(p["shares"])))
            return (
                f"Plan fixed: {p['key_type']} key '{p['label']}', {scheme}; custodians in share order: "
                f"{custodians}; custody rule checked (PCI DSS 3.7.6)"
            )
        case "key.registered":
            test = " (TEST key)" if p.get("test_key") else ""
            return f"Key generated{test}; KCV {str(p['kcv_hex']).upper()} registered"
        case "split.created":
            scheme = _scheme_text(str(p["scheme"]), int(str(p["threshold"])), int(str(p["shares"])))
            why = ""
            if p.get("replaces_split_id"):
                why = f" replacing split {p.get('replaces_split_id')}"
            elif p.get("from_split_id"):
                why = " as fresh components for HSM entry"
            return f"Key split ({scheme}), split {p.get('split_id')}{why}; every share's commitment recorded"
        case "share.exposed":
            if p.get("kind") == "entered":
                return (
                    f"Share {number} of split {p.get('split_id')} entered by its custodian; checked, accepted"
                )
            return f"Share {number} shown privately to its custodian"
        case "share.received":
            how = "share card" if p.get("method") == "card" else "custodian's own record"
            return f"Share {number} receipt signed; {how} sealed in envelope {p.get('envelope_serial')}"
        case "share.verified":
            if p.get("ok"):
                return f"Verification round: share {number} re-entered, matches the issued share"
            return f"Verification round: share {number} re-entered, MISMATCH ({p.get('reason', '')})"
        case "envelope.inspected":
            seal = (
                "seal intact"
                if p.get("seal_intact_custodian") and p.get("seal_intact_witness")
                else "seal reported BROKEN"
            )
            serial = (
                f"serial {p.get('serial_read')} matches the one recorded at sealing"
                if p.get("serial_matches")
                else f"serial read {p.get('serial_read')} but {p.get('serial_recorded')} recorded at sealing"
            )
            return f"Envelope of share {number} inspected before opening: {serial}; {seal}"
        case "incident.recorded":
            return f"INCIDENT recorded ({p.get('kind')}): {p.get('what')}"
        case "incident.decided":
            return f"Security officer's decision on share {number}: {p.get('decision')} ({p.get('reason')})"
        case "recovery.share_refused":
            which = f"share {number}" if number is not None else "an entry"
            return f"Refused {which}: {p.get('reason')} (nothing of it was kept)"
        case "recovery.kcv_failed":
            bad = ", ".join(map(str, p.get("bad_shares", []))) or "not identified"  # type: ignore[arg-type]
            offered = ", ".join(map(str, p.get("offered", [])))  # type: ignore[arg-type]
            return f"Rebuild FAILED the KCV check with shares {offered} (bad share: {bad}); shares wiped"
        case "key.recovered":
            shares = ", ".join(map(str, p.get("shares", [])))  # type: ignore[arg-type]
            kcv = str(p.get("kcv_hex")).upper()
            return f"Key rebuilt from shares {shares}; KCV {kcv} matches the registered KCV"
        case "kek.component_entered":
            return (
                f"KEK component {p.get('component_number')} entered; KCV "
                f"{str(p.get('component_kcv_hex')).upper()}"
            )
        case "key.wrapped":
            return (
                f"Key wrapped under {p.get('kek_label')} ({p.get('algorithm')}); KEK KCV "
                f"{str(p.get('kek_kcv_hex')).upper()}, "
                f"wrapped file SHA-256 {str(p.get('wrapped_sha256'))[:16]}..."
            )
        case "key.wiped":
            return "Clear key wiped from memory"
        case "key.retired":
            return f"Key {p.get('label')} ({p.get('key_id')}) retired: {p.get('reason')}"
        case "key.replacement_cleared":
            return f"Replacement flag cleared: {p.get('reason')}"
        case "envelope.returned":
            seal = "seal intact" if p.get("seal_intact") else "seal BROKEN"
            return (
                f"Envelope {p.get('envelope_serial')} (share {number} of split {p.get('split_id')}) returned "
                f"by {p.get('returned_by')} for {p.get('disposition', 'destruction')}; {seal}"
            )
        case "document.issued":
            kind = str(p.get("kind", "document")).replace("_", " ")
            return f"Issued {kind}: {p.get('subject')} (SHA-256 {str(p.get('sha256'))[:16]}...)"
        case "split.retired":
            return f"Split retired: {p.get('reason')}"
        case "ceremony.closed":
            return "Ceremony closed"
        case "ceremony.voided":
            return f"Ceremony voided: {p.get('reason')}"
        case "auth.failed":
            return f"Wrong passphrase (attempt {p.get('attempt')}) for the {p.get('role')} role"
    return event.type


def _preflight_result(p: dict[str, Any] | Any) -> str:
    uncovered = list(p.get("uncovered", []))
    if p.get("record_only") and uncovered:
        return (
            f"REHEARSAL, NOT AIR-GAPPED: {len(uncovered)} finding(s) recorded without blocking "
            "(record-only rehearsal preflight)"
        )
    if uncovered:
        return f"BLOCKED: {len(uncovered)} finding(s) without an active exception"
    relied = (
        p.get("coverage", {}).get("exceptions_relied_on", []) if isinstance(p.get("coverage"), dict) else []
    )
    if relied:
        return f"cleared, relying on {len(relied)} exception(s) (PCI DSS 1.2.6)"
    return "cleared: no insecure finding"


def _findings(p: dict[str, Any] | Any) -> tuple[str, ...]:
    report = p.get("report")
    out: list[str] = []
    if isinstance(report, dict):
        for f in report.get("findings", []):
            if isinstance(f, dict) and f.get("verdict") != "pass":
                subject = f" {f.get('subject')}" if f.get("subject") else ""
                out.append(f"{str(f.get('verdict')).upper()} {f.get('check')}{subject}: {f.get('summary')}")
    if not out:
        out = [str(u) for u in p.get("uncovered", [])]
    return tuple(out)


def _exceptions(p: dict[str, Any] | Any, names: dict[str, str]) -> tuple[PreflightException, ...]:
    coverage = p.get("coverage")
    if not isinstance(coverage, dict):
        return ()
    out = []
    for e in coverage.get("exceptions_relied_on", []):
        if isinstance(e, dict):
            out.append(
                PreflightException(
                    exception_id=str(e.get("id", "")),
                    finding=f"{e.get('check')} {e.get('subject')}",
                    justification=str(e.get("justification", "")),
                    compensating_controls=str(e.get("compensating_controls", "")),
                    approved_by=names.get(str(e.get("approved_by")), str(e.get("approved_by", ""))),
                    expires=str(e.get("expires", "")),
                )
            )
    return tuple(out)


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


def _cast_of(ledger: Ledger, control: _Control, events: Sequence[Event]) -> _Cast:
    cast = _Cast(ledger, control)
    custodian = ROLE_NAMES["custodian"]
    for event in events:
        p = event.payload
        number = p.get("share_number")
        match event.type:
            case "split.created":
                count, sid = int(str(p["shares"])), str(p["split_id"])
                noun = "component" if p.get("from_split_id") else "share"
                where = "" if control.kind == "generation" else f", new split {sid}"
                for n, pid in enumerate(p.get("custodians", []), start=1):  # type: ignore[arg-type]
                    cast.add(str(pid), f"{custodian} ({noun} {n} of {count}{where})", "custodian")
            case "envelope.inspected" | "recovery.share_refused":
                cast.add(str(p.get("person_id", "")), f"{custodian} (presented share {number})", "custodian")
            case "share.exposed" if p.get("kind") == "entered":
                cast.add(str(p.get("person_id", "")), f"{custodian} (presented share {number})", "custodian")
            case "kek.component_entered":
                part = p.get("component_number")
                cast.add(
                    str(p.get("person_id", "")), f"KEK custodian (KEK component {part})", "KEK custodian"
                )
            case "incident.decided" if event.actors:
                cast.add(event.actors[0], "Security officer (incident decision)", "security officer")
    for event in events:  # anyone else who signed a step is listed too: nobody signs unseen
        for pid in (*event.actors, *event.attested_by):
            if pid not in cast.roles:
                cast.add(pid, "Participant", "participant")
    return cast


def _kcvs(events: Sequence[Event], register: Register, control: _Control, names: _Cast) -> list[KcvRecord]:
    out: list[KcvRecord] = []

    def label(key_id: object) -> str:
        key = register.keys.get(str(key_id))
        return _key_label(key) if key else str(key_id)

    def method(key_id: object) -> str:
        key = register.keys.get(str(key_id))
        return str(key.kcv.method) if key else ""

    for event in events:
        p = event.payload
        match event.type:
            case "key.registered":
                test = TEST_MARK if p.get("test_key") else ""
                out.append(
                    KcvRecord(f"key {p['label']}{test}", str(p["kcv_hex"]).upper(), str(p["kcv_method"]))
                )
            case "key.recovered":
                out.append(
                    KcvRecord(
                        f"key {label(p.get('key_id'))} (rebuilt; matches the registered KCV)",
                        str(p["kcv_hex"]).upper(),
                        str(p.get("kcv_method", method(p.get("key_id")))),
                    )
                )
            case "split.created" if isinstance(p.get("share_kcvs"), dict):
                share_kcvs: dict[str, Any] = p["share_kcvs"]  # type: ignore[assignment]
                count = int(str(p["shares"]))
                where = "" if control.kind == "generation" else f", split {p['split_id']}"
                how = str(p.get("share_kcv_method", method(p.get("key_id"))))
                for n in sorted(share_kcvs, key=int):
                    out.append(KcvRecord(f"component {n} of {count}{where}", str(share_kcvs[n]).upper(), how))
            case "kek.component_entered":
                who = names.short(str(p.get("person_id", "")))
                out.append(
                    KcvRecord(
                        f"KEK component {p.get('component_number')} ({who})",
                        str(p["component_kcv_hex"]).upper(),
                        str(p.get("kcv_method", "")),
                    )
                )
            case "key.wrapped":
                out.append(
                    KcvRecord(
                        f"key-encryption key {p.get('kek_label')}",
                        str(p["kek_kcv_hex"]).upper(),
                        str(p.get("kek_kcv_method", "")),
                    )
                )
            case "key.retired":
                out.append(
                    KcvRecord(
                        f"key {label(p.get('key_id'))} (retired)",
                        str(p["kcv_hex"]).upper(),
                        method(p.get("key_id")),
                    )
                )
    return out


def _envelopes(events: Sequence[Event], end: Event, names: _Cast) -> list[EnvelopeRecord]:
    retired = {str(e.payload.get("split_id")) for e in events if e.type == "split.retired"}
    counts = {
        str(e.payload["split_id"]): int(str(e.payload["shares"])) for e in events if e.type == "split.created"
    }
    decisions = {
        (str(e.payload.get("split_id")), e.payload.get("share_number")): str(e.payload.get("decision"))
        for e in events
        if e.type == "incident.decided"
    }
    out: list[EnvelopeRecord] = []
    for event in events:
        p = event.payload
        number, sid = p.get("share_number"), str(p.get("split_id"))
        match event.type:
            case "share.received":
                how = "share card" if p.get("method") == "card" else "custodian's record"
                void = end.type == "ceremony.voided" or sid in retired
                out.append(
                    EnvelopeRecord(
                        serial=str(p["envelope_serial"]),
                        custodian=names.name(str(p.get("person_id", ""))),
                        contents=f"{how}, share {number} of {counts.get(sid, '?')}, split {sid}",
                        status="void: split retired, return for destruction"
                        if void
                        else "sealed and handed to the custodian",
                    )
                )
            case "envelope.inspected":
                intact = bool(p.get("seal_intact_custodian") and p.get("seal_intact_witness"))
                if p.get("serial_matches") and intact:
                    status = "inspected (serial matches, seal intact) and opened for the recovery"
                else:
                    problems = []
                    if not p.get("serial_matches"):
                        problems.append(f"recorded at sealing as {p.get('serial_recorded')}")
                    if not intact:
                        problems.append("seal broken")
                    decision = decisions.get((sid, number), "awaiting a security officer")
                    status = f"INCIDENT: {'; '.join(problems)}; decision: {decision}"
                out.append(
                    EnvelopeRecord(
                        serial=str(p.get("serial_read")),
                        custodian=names.name(str(p.get("person_id", ""))),
                        contents=f"share {number}, split {sid}",
                        status=status,
                    )
                )
            case "envelope.returned":
                seal = "seal intact" if p.get("seal_intact") else "seal BROKEN: incident recorded"
                holder = str(p.get("recorded_holder", ""))
                out.append(
                    EnvelopeRecord(
                        serial=str(p["envelope_serial"]),
                        custodian=names.name(holder) if holder else "-",
                        contents=f"share {number}, split {sid}",
                        status=f"returned by {p.get('returned_by')} for "
                        f"{p.get('disposition', 'destruction')}; {seal}",
                    )
                )
    return out


def minutes_data_for(
    ledger: Ledger, ceremony_id: str, *, location: str = "", title: str | None = None
) -> MinutesData:
    """The minutes (DESIGN §4.7) of any ceremony — generation, recovery, re-share, retirement; completed
    or voided — from the ledger events whose payload carries ``ceremony_id``: kind and purpose (from
    ``ceremony.started``), participants and their roles, preflight result and exceptions relied on, every
    step with its UTC time and who performed and approved it, KCVs (never key material), envelope serials,
    incidents, outcome and the closing checkpoint (the checkpoint after ``ceremony.closed``/``voided``).
    Call once the ceremony was closed or voided."""
    events = ceremony_events(ledger, ceremony_id)
    control = _control(events)
    started = _need(_first(events, "ceremony.started"), "the start")
    end = _ended(events)
    cast = _cast_of(ledger, control, events)
    short = {pid: cast.short(pid) for pid in cast.everyone}
    steps = []
    for event in events:
        performer = event.actors[0] if event.actors else ""
        approvers = [a for a in event.attested_by if a != performer]
        steps.append(
            MinutesStep(
                at=_time(event),
                description=_describe(event, short),
                performed_by=cast.tagged(performer),
                approved_by=", ".join(cast.tagged(a) for a in approvers) or "-",
                event_id=f"#{event.seq}",
            )
        )
    preflight = _last(events, "preflight.run")
    names = {pid: cast.name(pid) for pid in cast.everyone}
    if end.type == "ceremony.closed":
        outcome = "Completed" + (
            " (REHEARSAL - TEST key, not for production use)" if control.rehearsal else ""
        )
    else:
        outcome = f"Voided: {end.payload.get('reason', '')}"
    return MinutesData(
        ceremony_id=ceremony_id,
        title=title or _title(control),
        purpose=control.purpose,
        location=location or "-",
        started_at=_time(started),
        ended_at=_time(end),
        participants=cast.participants(control),
        preflight_result=_preflight_result(preflight.payload) if preflight else "not run",
        preflight_findings=_findings(preflight.payload) if preflight else (),
        exceptions=_exceptions(preflight.payload, names) if preflight else (),
        steps=tuple(steps),
        kcvs=tuple(_kcvs(events, read_register(ledger.events()), control, cast)),
        envelopes=tuple(_envelopes(events, end, cast)),
        outcome=outcome,
        closing=ledger_reference(ledger, end.seq),
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
    for person, field_name in ((administrator, "Administrator"), (witness, "Witness")):
        pdf = sign_document(
            pdf,
            person.identity.private_key,
            person.identity.certificate,
            field_name=field_name,
            reason=_MINUTES_REASON,
        )
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
    for person, field_name in ((administrator, "Administrator"), (witness, "Witness")):
        pdf = await async_sign_document(
            pdf,
            person.identity.private_key,
            person.identity.certificate,
            field_name=field_name,
            reason=_MINUTES_REASON,
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
