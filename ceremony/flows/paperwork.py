"""The papers of a generation ceremony, built from the ledger: share cards, acknowledgement forms, minutes.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
    administrator and the witness)."""
    if kind not in KINDS:
        raise FlowError(f"unknown document kind {kind[:30]!r} (known: {', '.join(KINDS)})")
    chosen: Sequence[Any] = signers or (ceremony.administrator, ceremony.witness)
    actors = list(dict.fromkeys(s.person_id for s in chosen))
    event = ledger.append(
        DOCUMENT_ISSUED,
        {
            "ceremony_id": ceremony.ceremony_id,
            "kind": kind,
            "sha256": sha256,
            "subject": subject,
            "file_name": file_name,
        },
        actors,
        chosen,
    )
    return DocumentRecord(kind, subject, file_name, sha256, event.seq)


# --- acknowledgement ----------------------------------------------------------------------------------------
def acknowledgement_data(ledger: Ledger, ceremony: GenerationCeremony, number: int) -> AcknowledgementData:
    """The acknowledgement of share ``number`` by its custodian, after their receipt was recorded: the
    receipt's event id and the ledger checkpoint at that event (PCI DSS 3.7.8)."""
    events = ceremony_events(ledger, ceremony.ceremony_id)
    facts = _key_facts(events)
    receipt = _need(
        _last(events, "share.received", share_number=number, split_id=facts.split_id),
        f"the receipt of share {number}",
    )
    custodian_id = str(receipt.payload["person_id"])
    return AcknowledgementData(
        ceremony_id=ceremony.ceremony_id,
        custodian=_person(ledger, custodian_id, ROLE_NAMES["custodian"]),
        key_label=facts.label,
        key_id=facts.key_id,
        key_type=facts.key_type,
        kcv=facts.kcv,
        kcv_method=facts.kcv_method,
        split_id=facts.split_id,
        scheme=facts.scheme,
        share_number=number,
        share_count=facts.count,
        issued_at=_time(receipt),
        ledger=ledger_reference(ledger, receipt.seq),
        witness=_person(ledger, ceremony.witness.person_id, ROLE_NAMES["witness"]),
    )


def _ack_names(ledger: Ledger, ceremony: GenerationCeremony, number: int) -> tuple[str, str]:
    who = people.participant(ledger, ceremony.custodian_of(number))
    subject = card_subject(ledger, ceremony, number)
    return subject, f"acknowledgement-{number:02d}-{who.employee_id}.pdf"


def _check_custodian(ceremony: GenerationCeremony, number: int, custodian: PresentPerson) -> None:
    if ceremony.custodian_of(number) != custodian.person_id:
        raise FlowError(
            f"the acknowledgement of share {number} is signed by its custodian, not by {custodian.name}"
        )


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
    _check_custodian(ceremony, number, custodian)
    pdf = render_acknowledgement(acknowledgement_data(ledger, ceremony, number), forms=forms)
    signed = sign_document(
        pdf,
        custodian.identity.private_key,
        custodian.identity.certificate,
        field_name="Custodian",
        reason="I acknowledge my responsibilities as key custodian (PCI DSS 3.7.8)",
    )
    subject, file_name = _ack_names(ledger, ceremony, number)
    record = record_document(
        ledger, ceremony, "acknowledgement", sha256_of(signed), subject, file_name,
        (custodian, _present(ceremony.witness)),
    )  # fmt: skip
    return SignedDocument(signed, record)


async def async_issue_acknowledgement(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    number: int,
    custodian: PresentPerson,
    *,
    forms: FormSet | None = None,
) -> SignedDocument:
    """:func:`issue_acknowledgement` for code running inside an event loop (Textual)."""
    _check_custodian(ceremony, number, custodian)
    pdf = render_acknowledgement(acknowledgement_data(ledger, ceremony, number), forms=forms)
    signed = await async_sign_document(
        pdf,
        custodian.identity.private_key,
        custodian.identity.certificate,
        field_name="Custodian",
        reason="I acknowledge my responsibilities as key custodian (PCI DSS 3.7.8)",
    )
    subject, file_name = _ack_names(ledger, ceremony, number)
    record = record_document(
        ledger, ceremony, "acknowledgement", sha256_of(signed), subject, file_name,
        (custodian, _present(ceremony.witness)),
    )  # fmt: skip
    return SignedDocument(signed, record)


# --- minutes ------------------------------------------------------------------------------------------------
def _present(person: object) -> PresentPerson:
    if not isinstance(person, PresentPerson):
        raise FlowError("documents are signed by an authenticated participant (their passphrase unlocked it)")
    return person


def _describe(event: Event, names: dict[str, str]) -> str:
    p = event.payload
    number = p.get("share_number")
    match event.type:
        case "ceremony.started":
            mode = " (REHEARSAL)" if p.get("rehearsal") else ""
            return f"Ceremony started{mode}; administrator and witness authenticated"
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
            return f"Key split ({scheme}); every share's commitment recorded"
        case "share.exposed":
            return f"Share {number} shown privately to its custodian"
        case "share.received":
            how = "share card" if p.get("method") == "card" else "custodian's own record"
            return f"Share {number} receipt signed; {how} sealed in envelope {p.get('envelope_serial')}"
        case "share.verified":
            if p.get("ok"):
                return f"Verification round: share {number} re-entered, matches the issued share"
            return f"Verification round: share {number} re-entered, MISMATCH ({p.get('reason', '')})"
        case "key.wiped":
            return "Clear key wiped from memory"
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


def minutes_data(
    ledger: Ledger, ceremony: GenerationCeremony, *, location: str = "", title: str | None = None
) -> MinutesData:
    """The minutes of ``ceremony`` (completed or voided) from its ledger events: purpose, participants and
    roles, preflight result and exceptions relied on, every step with its UTC time and who performed and
    approved it, KCVs, envelope serials, outcome and the closing checkpoint (the checkpoint after the
    ``ceremony.closed``/``ceremony.voided`` event). Call after ``close()`` or ``void()``."""
    events = ceremony_events(ledger, ceremony.ceremony_id)
    started = _need(_first(events, "ceremony.started"), "the start")
    end = _last(events, "ceremony.closed") or _last(events, "ceremony.voided")
    end = _need(end, "the close-out (close or void the ceremony first)")
    admin_id, witness_id = ceremony.administrator.person_id, ceremony.witness.person_id
    custodians = ceremony.plan.custodians if ceremony.plan else ()
    everyone = {p.person_id: p for p in people.participants(ledger)}
    role_of = {admin_id: "administrator", witness_id: "witness"}
    names = {pid: f"{p.name} ({p.employee_id})" for pid, p in everyone.items()}
    short = {pid: p.name for pid, p in everyone.items()}
    participants = [
        Participant(_person(ledger, admin_id, ROLE_NAMES["administrator"]), True, "Administrator"),
        Participant(_person(ledger, witness_id, ROLE_NAMES["witness"]), True, "Witness"),
    ]
    count = len(custodians)
    for number, pid in enumerate(custodians, start=1):
        role_of.setdefault(pid, "custodian")
        role = f"{ROLE_NAMES['custodian']} (share {number} of {count})"
        participants.append(Participant(_person(ledger, pid, role), True, ""))
    steps = []
    for event in events:
        performer = event.actors[0] if event.actors else ""
        approvers = [a for a in event.attested_by if a != performer]
        steps.append(
            MinutesStep(
                at=_time(event),
                description=_describe(event, short),
                performed_by=f"{short.get(performer, performer)} ({role_of.get(performer, '-')})",
                approved_by=", ".join(f"{short.get(a, a)} ({role_of.get(a, '-')})" for a in approvers) or "-",
                event_id=f"#{event.seq}",
            )
        )
    preflight = _last(events, "preflight.run")
    kcvs: list[KcvRecord] = []
    envelopes: list[EnvelopeRecord] = []
    key = _first(events, "key.registered")
    if key is not None:
        facts = _key_facts(events)
        kcvs.append(KcvRecord(f"key {facts.label}", facts.kcv, facts.kcv_method))
        split = _need(_first(events, "split.created"), "a split")
        share_kcvs = split.payload.get("share_kcvs")
        if isinstance(share_kcvs, dict):
            for n in sorted(share_kcvs, key=int):
                kcvs.append(
                    KcvRecord(f"component {n} of {facts.count}", str(share_kcvs[n]).upper(), facts.kcv_method)
                )
        for event in events:
            if event.type == "share.received" and event.payload.get("split_id") == facts.split_id:
                share_no = event.payload["share_number"]
                how = "share card" if event.payload.get("method") == "card" else "custodian's record"
                envelopes.append(
                    EnvelopeRecord(
                        serial=str(event.payload["envelope_serial"]),
                        custodian=names.get(str(event.payload["person_id"]), ""),
                        contents=f"{how}, share {share_no} of {facts.count}, split {facts.split_id}",
                        status="sealed and handed to the custodian"
                        if end.type == "ceremony.closed"
                        else "void: split retired, return for destruction",
                    )
                )
    if end.type == "ceremony.closed":
        outcome = "Completed" + (
            " (REHEARSAL - TEST key, not for production use)" if ceremony.rehearsal else ""
        )
    else:
        outcome = f"Voided: {end.payload.get('reason', '')}"
    return MinutesData(
        ceremony_id=ceremony.ceremony_id,
        title=title or ("Key generation rehearsal" if ceremony.rehearsal else "Key generation ceremony"),
        purpose=ceremony.purpose,
        location=location or "-",
        started_at=_time(started),
        ended_at=_time(end),
        participants=tuple(participants),
        preflight_result=_preflight_result(preflight.payload) if preflight else "not run",
        preflight_findings=_findings(preflight.payload) if preflight else (),
        exceptions=_exceptions(preflight.payload, names) if preflight else (),
        steps=tuple(steps),
        kcvs=tuple(kcvs),
        envelopes=tuple(envelopes),
        outcome=outcome,
        closing=ledger_reference(ledger, end.seq),
    )


def _minutes_names(ceremony: GenerationCeremony, data: MinutesData) -> tuple[str, str]:
    subject = f"minutes of ceremony {ceremony.ceremony_id}"
    return subject, f"minutes-{ceremony.ceremony_id}.pdf"


def issue_minutes(
    ledger: Ledger,
    ceremony: GenerationCeremony,
    *,
    location: str = "",
    title: str | None = None,
    forms: FormSet | None = None,
) -> SignedDocument:
    """Render the minutes, sign them by the administrator then the witness, record their SHA-256. Call
    after ``close()`` or ``void()``. Not inside an event loop: see :func:`async_issue_minutes`."""
    admin, witness = _present(ceremony.administrator), _present(ceremony.witness)
    data = minutes_data(ledger, ceremony, location=location, title=title)
    pdf = render_minutes(data, forms=forms)
    for person, field in ((admin, "Administrator"), (witness, "Witness")):
        pdf = sign_document(
            pdf,
            person.identity.private_key,
            person.identity.certificate,
            field_name=field,
            reason="These minutes are a true record of the ceremony",
        )
    subject, file_name = _minutes_names(ceremony, data)
    record = record_document(ledger, ceremony, "minutes", sha256_of(pdf), subject, file_name)
    return SignedDocument(pdf, record)


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
    data = minutes_data(ledger, ceremony, location=location, title=title)
    pdf = render_minutes(data, forms=forms)
    for person, field in ((admin, "Administrator"), (witness, "Witness")):
        pdf = await async_sign_document(
            pdf,
            person.identity.private_key,
            person.identity.certificate,
            field_name=field,
            reason="These minutes are a true record of the ceremony",
        )
    subject, file_name = _minutes_names(ceremony, data)
    record = record_document(ledger, ceremony, "minutes", sha256_of(pdf), subject, file_name)
    return SignedDocument(pdf, record)
