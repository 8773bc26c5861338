"""Annual reaffirmation of key custodians (PCI DSS 4.0.1 Requirement 3.7.8, DESIGN §4.5).

Every custodian's acknowledgement falls due again 12 months after the last acknowledgement or
reaffirmation (period configurable: :class:`~ceremony.reports.model.ReaffirmationPolicy`). At ``now`` each
active custodian is *current*, *due* (within 30 days), *overdue*, or *never acknowledged* (no share yet).

Recording one, in the custodian's presence:

1. :meth:`Reaffirmation.wording` gives the responsibilities text (``forms/reaffirmation.md``, the wording
   an organisation may edit) and its SHA-256; the custodian reads it.
2. The custodian authenticates (their passphrase unlocks their key) and the security officer too; they are
   two different people (dual control, DESIGN §1).
3. :meth:`Reaffirmation.record` appends ``custodian.reaffirmed`` — person, officer, the SHA-256 of the
   wording shown, the components held now — signed by both; renders the reaffirmation form listing those
   components (never a share) with the ledger checkpoint after that event and the ledger's anchor; both sign
   the PDF (PAdES); and records the PDF's SHA-256 in a ``document.issued`` event so the paper can be matched
   to the ledger.

:func:`overdue_custodians` is what the assignment screens ask before naming a custodian for a share, so an
overdue custodian is flagged wherever they would be given one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ceremony.documents.model import HeldComponent, LedgerReference, Person, ReaffirmationData
from ceremony.documents.render import render_reaffirmation
from ceremony.documents.sign import sign_document
from ceremony.documents.templates import FormSet, default_forms_dir
from ceremony.errors import DualControlError, FlowError, IdentityError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import participants as people
from ceremony.ledger.store import Ledger
from ceremony.policy.reaffirmation import DEFAULT_POLICY, ReaffirmationPolicy, Standing, due_date, standing
from ceremony.reports.model import (
    DOCUMENT_EVENT,
    REAFFIRMED_EVENT,
    LedgerFacts,
    read_facts,
    show_date,
)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Wording:
    """The responsibilities text as shown to the custodian, and the SHA-256 recorded with their signature."""

    text: str
    sha256: str


@dataclass(frozen=True)
class CustodianStanding:
    person_id: str
    name: str
    employee_id: str
    last_affirmed: datetime | None
    last_kind: str  # "acknowledgement" | "reaffirmation" | ""
    due: datetime | None
    status: Standing


@dataclass(frozen=True)
class ReaffirmationRecord:
    """What a recorded reaffirmation produced: the two ledger events and the signed form."""

    event_seq: int
    document_seq: int
    pdf: bytes
    pdf_sha256: str
    next_due: datetime


def load_wording(forms_dir: Path | None = None) -> Wording:
    """The responsibilities text of ``forms/reaffirmation.md`` (what the custodian reads) and its hash."""
    path = (forms_dir or default_forms_dir()) / "reaffirmation.md"
    try:
        raw = path.read_bytes()
    except OSError:
        raise FlowError(f"the reaffirmation wording {path} cannot be read") from None
    return Wording(raw.decode("utf-8"), hashlib.sha256(raw).hexdigest())


def standings(
    facts: LedgerFacts, now: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY
) -> list[CustodianStanding]:
    """Every active custodian's reaffirmation standing at ``now``, most urgent first."""
    out: list[CustodianStanding] = []
    for person in facts.people.values():
        if not person.active or "custodian" not in person.roles:
            continue
        last = person.last_affirmed
        status, due = standing(last.time if last else None, now, policy)
        out.append(
            CustodianStanding(
                person.person_id,
                person.name,
                person.employee_id,
                last.time if last else None,
                last.kind if last else "",
                due,
                status,
            )
        )
    order = {Standing.OVERDUE: 0, Standing.DUE: 1, Standing.NONE: 2, Standing.CURRENT: 3}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(out, key=lambda s: (order[s.status], s.due or far, s.name))


def overdue_custodians(
    ledger: Ledger, now: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY
) -> dict[str, CustodianStanding]:
    """Person id -> standing of every active custodian whose reaffirmation is overdue at ``now``
    (PCI DSS 3.7.8). Flows show this next to a custodian before assigning them a share."""
    return {
        s.person_id: s for s in standings(read_facts(ledger), now, policy) if s.status is Standing.OVERDUE
    }


def holdings_of(facts: LedgerFacts, person_id: str) -> tuple[HeldComponent, ...]:
    """The components the person holds now, as listed on the form (KCV of the key, or of the component
    for XOR components, never the share)."""
    held: list[HeldComponent] = []
    for split, number in facts.holdings(person_id):
        key = facts.keys.get(split.key_id)
        if key is None:
            continue
        component_kcv = split.share_kcvs.get(number)
        held.append(
            HeldComponent(
                key_label=key.label,
                key_id=key.key_id,
                key_type=key.key_type,
                split_id=split.split_id,
                share_number=number,
                share_count=split.shares,
                kcv=(component_kcv or key.kcv_hex).upper(),
                kcv_method=key.kcv_method,
                envelope_serial=split.envelope_of(number),
            )
        )
    return tuple(held)


@dataclass
class Reaffirmation:
    """Records reaffirmations on one ledger; ``clock`` dates the form (the ledger's clock dates events)."""

    ledger: Ledger
    clock: Clock = _now
    policy: ReaffirmationPolicy = DEFAULT_POLICY
    forms: FormSet | None = None
    forms_dir: Path | None = None

    def wording(self) -> Wording:
        return load_wording(self.forms_dir)

    def standings(self) -> list[CustodianStanding]:
        return standings(read_facts(self.ledger), self.clock(), self.policy)

    def record(self, custodian: PresentPerson, officer: PresentPerson, shown: Wording) -> ReaffirmationRecord:
        """Record that ``custodian`` read ``shown`` and reaffirmed, co-signed by ``officer``."""
        if custodian.person_id == officer.person_id:
            raise DualControlError("the custodian and the security officer must be two different people")
        if "custodian" not in custodian.person.roles:
            raise IdentityError(f"{custodian.name} is not enrolled as a key custodian")
        if "security_officer" not in officer.person.roles:
            raise IdentityError(f"{officer.name} is not enrolled as a security officer")
        current = self.wording()
        if current.sha256 != shown.sha256:
            raise FlowError(
                "the responsibilities wording changed since it was shown; show it again before signing"
            )
        facts = read_facts(self.ledger)
        holdings = holdings_of(facts, custodian.person_id)
        now = self.clock()
        next_due = due_date(now, self.policy)
        event = self.ledger.append(
            REAFFIRMED_EVENT,
            {
                "person_id": custodian.person_id,
                "officer_id": officer.person_id,
                "wording_sha256": shown.sha256,
                "period": str(now.year),
                "next_due": show_date(next_due),
                "holdings": [{"split_id": h.split_id, "share_number": h.share_number} for h in holdings],
            },
            [custodian.person_id, officer.person_id],
            [custodian, officer],
        )
        checkpoint = self.ledger.checkpoint(event.seq)
        data = ReaffirmationData(
            custodian=Person(custodian.name, custodian.person.employee_id, "Key custodian"),
            security_officer=Person(officer.name, officer.person.employee_id, "Security officer"),
            period=str(now.year),
            holdings=holdings,
            issued_at=now,
            ledger=LedgerReference(
                str(event.seq),
                checkpoint.text(),
                checkpoint.qr_payload(),
                tuple(people.anchor(self.ledger).grouped()),
                people.genesis(self.ledger).organisation,
            ),
            next_due=show_date(next_due),
        )
        pdf = render_reaffirmation(data, forms=self.forms)
        reason = "Annual key custodian reaffirmation (PCI DSS 3.7.8)"
        for who, field in ((custodian, "Custodian"), (officer, "SecurityOfficer")):
            pdf = sign_document(
                pdf,
                who.identity.private_key,
                who.identity.certificate,
                field_name=field,
                reason=reason,
                signer_name=who.name,
            )
        digest = hashlib.sha256(pdf).hexdigest()
        document = self.ledger.append(
            DOCUMENT_EVENT,
            {
                "kind": "reaffirmation",
                "sha256": digest,
                "subject": custodian.person_id,
                "event": event.seq,
                "signed_by": [custodian.person_id, officer.person_id],
            },
            [custodian.person_id, officer.person_id],
            [custodian, officer],
        )
        return ReaffirmationRecord(event.seq, document.seq, pdf, digest, next_due)


def assignment_flags(
    ledger: Ledger,
    person_ids: list[str] | tuple[str, ...],
    now: datetime,
    policy: ReaffirmationPolicy = DEFAULT_POLICY,
) -> dict[str, str]:
    """For the people about to be named custodians of a share: person id -> a warning for each one whose
    reaffirmation is overdue (PCI DSS 3.7.8), to show next to their name on the assignment screen."""
    overdue = overdue_custodians(ledger, now, policy)
    return {
        pid: f"{overdue[pid].name}'s annual reaffirmation is overdue since {show_date(overdue[pid].due)}; "
        "a security officer records it before they are given a share"
        for pid in person_ids
        if pid in overdue
    }
