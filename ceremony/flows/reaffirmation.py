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

The work is split like :mod:`ceremony.flows.presence`, so a UI keeps the ledger on its own thread:
:meth:`Reaffirmation.begin` checks and appends the reaffirmation (ledger), :meth:`Reaffirmation.form`
renders the form (pure, any thread), :meth:`Reaffirmation.sign_form` / :meth:`~Reaffirmation.async_sign_form`
signs it twice (pyHanko: the synchronous one outside an event loop, the async one inside Textual's), and
:meth:`Reaffirmation.settle` records the PDF's SHA-256 (ledger). :meth:`Reaffirmation.record` does all four
(CLI, demo, tests); :meth:`Reaffirmation.async_record` the same from inside an event loop.

The signed form is written with :func:`write_form` into :func:`documents_folder` (``ceremony-documents/
reaffirmations/`` beside the ledger, with the ceremonies' signed forms) unless the officer chose another
path, never over an existing file (:mod:`ceremony.documents.archive`). The ledger holds the PDF's SHA-256,
so the file can be matched to its event wherever it is kept (``ceremony verify --document``).

:func:`overdue_custodians` is what the assignment screens ask before naming a custodian for a share, so an
overdue custodian is flagged wherever they would be given one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ceremony.documents import archive
from ceremony.documents.model import HeldComponent, KnownPiece, LedgerReference, Person, ReaffirmationData
from ceremony.documents.render import render_reaffirmation
from ceremony.documents.sign import async_sign_document, sign_document
from ceremony.documents.templates import FormSet, default_forms_dir
from ceremony.errors import CustodyViolationError, DualControlError, FlowError, IdentityError, InputError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import participants as people
from ceremony.ledger.participants import Participant
from ceremony.ledger.store import Ledger
from ceremony.policy.reaffirmation import DEFAULT_POLICY, ReaffirmationPolicy, Standing, due_date, standing
from ceremony.reports.model import (
    DOCUMENT_EVENT,
    REAFFIRMED_EVENT,
    LedgerFacts,
    SplitFacts,
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


@dataclass(frozen=True)
class Reading:
    """The wording as the custodian reads it on screen; ``wording.sha256`` is what the ledger records."""

    wording: Wording
    markdown: str


@dataclass(frozen=True)
class Signers:
    """Who may sign one reaffirmation: the custodian (empty if no longer active) and the other officers."""

    custodian: tuple[Participant, ...]
    officers: tuple[Participant, ...]


@dataclass(frozen=True)
class ReaffirmationDraft:
    """A reaffirmation on record whose form is not signed yet (:meth:`Reaffirmation.begin`)."""

    event_seq: int
    data: ReaffirmationData
    custodian: PresentPerson
    officer: PresentPerson
    next_due: datetime

    def signatures(self) -> tuple[tuple[PresentPerson, str], ...]:
        """Who signs the form, in order, and in which field: the custodian first, then the officer."""
        return ((self.custodian, "Custodian"), (self.officer, "SecurityOfficer"))


_REASON = "Annual key custodian reaffirmation (PCI DSS 3.7.8)"
FORMS_FOLDER = "reaffirmations"


def documents_folder(ledger_path: Path) -> Path:
    """Default home of reaffirmation forms: beside the ledger, with the ceremonies' signed forms."""
    return archive.documents_folder(ledger_path, FORMS_FOLDER)


def default_form_path(ledger_path: Path, employee_id: str, when: datetime) -> Path:
    """``reaffirmation-<employee id>-<date>.pdf`` in :func:`documents_folder`."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", employee_id)[:40] or "custodian"
    return documents_folder(ledger_path) / f"reaffirmation-{safe}-{when.astimezone(UTC):%Y-%m-%d}.pdf"


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def readable_wording(
    wording: Wording,
    values: dict[str, str],
    holdings: tuple[HeldComponent, ...],
    knowledge: tuple[KnownPiece, ...] = (),
) -> str:
    """The form's Markdown with its layout directives turned into plain Markdown for a screen: fields as
    a list, the components held and everything ever known as lists, the signature and checkpoint blocks as
    one line. The words are the form's own (the ledger records the SHA-256 of ``wording.text``, the file as
    written)."""
    text = re.sub(r"<!--.*?-->", "", wording.text, flags=re.DOTALL)
    out: list[str] = []
    block: str | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if block is not None:
            if stripped == "@end":
                block = None
            elif block == "fields" and "|" in stripped:
                label, value = (part.strip() for part in stripped.split("|", 1))
                out.append(f"- **{label}**: {value}")
            continue
        if stripped.startswith("@fields"):
            block = "fields"
        elif stripped.startswith("@table"):
            block = "table"
            if stripped.split()[1:] == ["knowledge"]:
                out.extend(
                    f"- {k.key_label}, {k.route}: {k.mine} ({k.status}); rebuilding it takes {k.needed}"
                    for k in knowledge
                )
                if not knowledge:
                    out.append("- (no share or component ever held or seen)")
                continue
            out.extend(
                f"- {h.key_label} ({h.key_type}): share {h.share_number} of {h.share_count}, "
                f"KCV {h.kcv}, envelope {h.envelope_serial or '—'}"
                + ("" if h.status == "held" else f" ({h.status})")
                for h in holdings
            )
            if not holdings:
                out.append("- (no component held at present)")
        elif stripped.startswith("@signatures"):
            block = "signatures"
            out.append("The custodian signs first, then the security officer, each with their enrolled key.")
        elif stripped.startswith("@"):
            continue  # @checkpoint and other print-only directives
        else:
            out.append(line)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), "\n".join(out)).strip()


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
    for XOR components, never the share): every share whose envelope the ledger says they still hold —
    of an active split, or of a retired one whose envelope was not returned and destroyed yet (it still
    rebuilds the key, DESIGN §4.6)."""
    held: list[HeldComponent] = []
    for split in facts.splits.values():
        key = facts.keys.get(split.key_id)
        if key is None:
            continue
        for number, (holder, _seq) in sorted(split.holders.items()):
            if holder != person_id:
                continue
            component_kcv = split.share_kcvs.get(number)
            fate = split.fate(number)
            if split.retired_seq is not None:
                status = f"split retired {show_date(split.retired_at)}: return the envelope for destruction"
            else:
                status = "held"
            if fate is not None and fate.state == "not returned":
                status += f"; reported not returned (incident, event #{fate.seq})"
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
                    status=status,
                )
            )
    return tuple(held)


def _numbers(noun: str, numbers: list[int]) -> str:
    """``share 2``, ``shares 1 and 3``, ``components 1, 2 and 3``."""
    if len(numbers) == 1:
        return f"{noun} {numbers[0]}"
    listed = ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"
    return f"{noun}s {listed}"


def _piece_status(facts: LedgerFacts, split: SplitFacts, number: int, person_id: str) -> str:
    """Where the person's share ``number`` of ``split`` is now, in words."""
    fate = split.fate(number)
    holder = split.holders.get(number, ("", 0))[0]
    serial = split.envelope_of(number)
    envelope = f"envelope {serial}" if serial else "its envelope"
    if fate is not None and fate.destroyed:
        return f"{envelope} destroyed {show_date(fate.time)} (event #{fate.seq}): no longer counts"
    if holder == person_id:
        if fate is not None and fate.state == "not returned":
            return f"{envelope} reported not returned (incident, event #{fate.seq}): still counts"
        if split.retired_seq is not None:
            return f"held by me, {envelope} sealed; split retired: to be returned and destroyed"
        return f"held by me, {envelope} sealed"
    if fate is not None and fate.state in ("returned", "seal broken"):
        return f"{envelope} returned {show_date(fate.time)} (event #{fate.seq}); still counts until destroyed"
    if holder:
        return f"not held by me (seen or entered only); held by {facts.name_of(holder)}"
    return "not held by me (seen or entered only)"


def knowledge_of(facts: LedgerFacts, person_id: str) -> tuple[KnownPiece, ...]:
    """Every share or component of every key the ledger records the person was ever given, shown or
    entered, one row per key and route (each split, retired ones included; each transport key the key was
    wrapped under whose component they typed): what the reaffirmation's custody statement is about."""
    rows: list[KnownPiece] = []
    demonstrated = {
        (e.split_id, e.share_number): e.seq
        for e in facts.exposures
        if e.person_id == person_id and e.kind == "demonstrated"
    }
    for key in facts.keys.values():
        for split_id in key.split_ids:
            split = facts.splits.get(split_id)
            if split is None:
                continue
            mine = facts.custody.first_exposures(split_id).get(person_id, {})
            if not mine:
                continue
            numbers = sorted(mine)
            noun = "component" if split.scheme == "xor" else "share"
            text = _numbers(noun, numbers)
            typed = [n for n in numbers if (split_id, n) in demonstrated]
            if typed:
                text += "; " + ", ".join(
                    f"{noun} {n} typed though not issued to me (event #{demonstrated[(split_id, n)]})"
                    for n in typed
                )
            retired = f", retired {show_date(split.retired_at)}" if split.retired_seq is not None else ""
            if split.scheme == "xor":
                needed = f"all {split.shares} components of this split"
            else:
                needed = f"{split.threshold} different shares of this split"
            first = min(mine.values())
            rows.append(
                KnownPiece(
                    key_label=key.label,
                    key_id=key.key_id,
                    route=f"split {split_id} ({split.scheme_text}{retired})",
                    mine=text,
                    needed=needed,
                    status="; ".join(_piece_status(facts, split, n, person_id) for n in numbers),
                    first_known=f"{show_date(facts.exposure_times.get(first))} (event #{first})",
                )
            )
        info = facts.register.keys.get(key.key_id)
        for wrap in info.wraps if info is not None else ():
            parts = [i for i, who in enumerate(wrap.kek_custodians, start=1) if who == person_id]
            if not parts:
                continue
            when = facts.ceremonies.get(wrap.ceremony_id)
            day = show_date(when.started_at) if when is not None else ""
            name = wrap.transport_name
            under = "its TR-31 key block was made under" if wrap.kind == "kbpk" else "it was wrapped under"
            carrier = "the key block" if wrap.kind == "kbpk" else "the wrapped file"
            rows.append(
                KnownPiece(
                    key_label=key.label,
                    key_id=key.key_id,
                    route=f"{name} '{wrap.kek_label}' (KCV {wrap.kek_kcv_hex.upper()}) {under}",
                    mine=_numbers(f"{name} component", parts),
                    needed=f"{carrier} and all {len(wrap.kek_custodians)} {name} components",
                    status="typed in a ceremony; not held by me",
                    first_known=f"{day} (event #{wrap.seq})".strip(),
                )
            )
    return tuple(rows)


def rebuildable_alone(facts: LedgerFacts, person_id: str) -> list[str]:
    """The keys still in use that the person could rebuild alone by some route, as the custody engine
    counts knowledge (every share known and not destroyed; every component typed), in words. Empty while
    the custody rule holds for them (PCI DSS 3.7.6: no single person reaches a key's quorum)."""
    found: list[str] = []
    for key in facts.keys.values():
        if key.retired_seq is not None:
            continue
        for split_id in key.split_ids:
            split = facts.splits.get(split_id)
            if split is None:
                continue
            mine = set(facts.custody.first_exposures(split_id).get(person_id, {}))
            counted = mine - set(facts.custody.destroyed(split_id))
            if len(counted) >= split.threshold:
                found.append(f"key {key.label} ({key.key_id}) from split {split_id}")
        info = facts.register.keys.get(key.key_id)
        for wrap in info.wraps if info is not None else ():
            if wrap.kek_custodians and set(wrap.kek_custodians) == {person_id}:
                found.append(f"key {key.label} ({key.key_id}) from {wrap.transport_name} '{wrap.kek_label}'")
    return found


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

    def reading(self, custodian: CustodianStanding) -> Reading:
        """What ``custodian`` reads before signing: the wording (its hash goes on record) laid out for a
        screen, with their name, the dates and the components they hold now filled in."""
        wording = self.wording()
        facts = read_facts(self.ledger)
        holdings = holdings_of(facts, custodian.person_id)
        knowledge = knowledge_of(facts, custodian.person_id)
        now = self.clock()
        values = {
            "period": str(now.year),
            "custodian_name": custodian.name,
            "custodian_employee_id": custodian.employee_id,
            "custodian_role": "Key custodian",
            "date": show_date(now),
            "next_due": show_date(due_date(now, self.policy)),
            "component_count": str(len(holdings)),
        }
        return Reading(wording, readable_wording(wording, values, holdings, knowledge))

    def signers(self, person_id: str) -> Signers:
        """Who may sign a reaffirmation of ``person_id``: that custodian (if active) and every other active
        security officer (dual control: the officer is another person)."""
        active = [p for p in people.participants(self.ledger) if p.active]
        return Signers(
            tuple(p for p in active if p.person_id == person_id),
            tuple(p for p in active if "security_officer" in p.roles and p.person_id != person_id),
        )

    def default_form_path(self, employee_id: str) -> Path:
        """Where the signed form goes unless the officer chooses another path."""
        return default_form_path(self.ledger.path, employee_id, self.clock())

    def begin(self, custodian: PresentPerson, officer: PresentPerson, shown: Wording) -> ReaffirmationDraft:
        """Check and append ``custodian.reaffirmed`` (``custodian`` read ``shown``, ``officer`` co-signs),
        signed by both; returns what the form needs. On the ledger's thread."""
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
        alone = rebuildable_alone(facts, custodian.person_id)
        if alone:
            # The form states that nothing the custodian knows rebuilds a key alone (PCI DSS 3.7.6): it
            # would be untrue. The key must be replaced (and the old one retired) first.
            raise CustodyViolationError(
                f"the ledger records that {custodian.name} alone knows enough to rebuild "
                + "; ".join(alone)
                + " (the custody rule is broken for them, PCI DSS 3.7.6); the reaffirmation would be "
                "untrue: replace the key and retire it, then record the reaffirmation",
                forbidding_seq=None,
            )
        holdings = holdings_of(facts, custodian.person_id)
        knowledge = knowledge_of(facts, custodian.person_id)
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
                rehearsal=self.ledger.info.rehearsal,  # the REHEARSAL mark on every page (issue 15)
            ),
            next_due=show_date(next_due),
            knowledge=knowledge,
        )
        return ReaffirmationDraft(event.seq, data, custodian, officer, next_due)

    def form(self, draft: ReaffirmationDraft) -> bytes:
        """The unsigned form (pure: any thread)."""
        return render_reaffirmation(draft.data, forms=self.forms)

    def sign_form(self, draft: ReaffirmationDraft, pdf: bytes) -> bytes:
        """The custodian signs the form, then the officer (pyHanko; not inside a running event loop)."""
        for who, field_name in draft.signatures():
            pdf = sign_document(
                pdf,
                who.identity.private_key,
                who.identity.certificate,
                field_name=field_name,
                reason=_REASON,
                signer_name=who.name,
            )
        return pdf

    async def async_sign_form(self, draft: ReaffirmationDraft, pdf: bytes) -> bytes:
        """:meth:`sign_form` from inside an event loop (Textual)."""
        for who, field_name in draft.signatures():
            pdf = await async_sign_document(
                pdf,
                who.identity.private_key,
                who.identity.certificate,
                field_name=field_name,
                reason=_REASON,
                signer_name=who.name,
            )
        return pdf

    def settle(self, draft: ReaffirmationDraft, signed: bytes) -> ReaffirmationRecord:
        """Record the signed form's SHA-256 (``document.issued``), signed by both. On the ledger's thread."""
        digest = hashlib.sha256(signed).hexdigest()
        custodian, officer = draft.custodian, draft.officer
        document = self.ledger.append(
            DOCUMENT_EVENT,
            {
                "kind": "reaffirmation",
                "sha256": digest,
                "subject": custodian.person_id,
                "event": draft.event_seq,
                "signed_by": [custodian.person_id, officer.person_id],
            },
            [custodian.person_id, officer.person_id],
            [custodian, officer],
        )
        return ReaffirmationRecord(draft.event_seq, document.seq, signed, digest, draft.next_due)

    def record(self, custodian: PresentPerson, officer: PresentPerson, shown: Wording) -> ReaffirmationRecord:
        """Record that ``custodian`` read ``shown`` and reaffirmed, co-signed by ``officer``: begin, form,
        sign, settle in one call (not inside a running event loop: see :meth:`async_record`)."""
        draft = self.begin(custodian, officer, shown)
        return self.settle(draft, self.sign_form(draft, self.form(draft)))

    async def async_record(
        self, custodian: PresentPerson, officer: PresentPerson, shown: Wording
    ) -> ReaffirmationRecord:
        """:meth:`record` inside an event loop: the ledger on the loop's thread, the form in a thread."""
        return await self.async_finish(self.begin(custodian, officer, shown))

    async def async_finish(self, draft: ReaffirmationDraft) -> ReaffirmationRecord:
        """After :meth:`begin`: render (in a thread), sign (awaited), settle (on the loop's thread). Called
        again with the same draft if the form failed: the reaffirmation is not recorded twice."""
        pdf = await asyncio.to_thread(self.form, draft)
        return self.settle(draft, await self.async_sign_form(draft, pdf))


def write_form(record: ReaffirmationRecord, target: Path) -> Path:
    """Write the signed form to ``target`` (or ``target-2.pdf``… if the name is taken; never over a file);
    returns the path written. Raises :class:`OSError` if it cannot be written (the event is recorded)."""
    if not target.name or target.suffix.lower() != ".pdf":
        raise InputError("give a file name ending in .pdf for the signed form")
    return archive.write_new_file(target, record.pdf)


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
