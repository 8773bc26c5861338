"""The facts every report is made from, computed by replaying the ledger once (DESIGN §5, §6).

:func:`read_facts` streams the events of an open ledger (opened read-only by the caller: reports never
write) into a :class:`~ceremony.ledger.state.LedgerState` — the same rules ``verify`` and the writer use, so
the custody history here is the one the ledger enforces — and, in the same pass, collects what the reports
print: people and their acknowledgements and reaffirmations (PCI DSS 3.7.8), keys and splits (3.6.1.1),
envelope serials, every exposure (3.7.6), ceremonies and their steps, and insecure-service exceptions
(1.2.6). The checkpoint of the events read is computed in the same pass and printed on every report page.

``until`` stops the replay at the end of a moment: the ledger as it stood then ("who held what on 30 June").

Also here, because they are pure and shared by reports and the reaffirmation flow: the reaffirmation
schedule (:func:`standing`) — due 12 months after the last acknowledgement or reaffirmation (PCI DSS 3.7.8),
period configurable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ceremony.errors import ReportError
from ceremony.ledger import events as ev
from ceremony.ledger import schema as sc
from ceremony.ledger.checkpoint import Checkpoint, MerkleAccumulator
from ceremony.ledger.register import (
    ACKNOWLEDGEMENT,
    Affirmation,
    QuorumDecision,
    Register,
    SplitInfo,
    ceremony_id_of,
    key_id_of,
    split_id_of,
)
from ceremony.ledger.state import LedgerState
from ceremony.ledger.store import Ledger
from ceremony.policy.custody import CustodyHistory

EXCEPTION_EVENT = sc.PreflightException.TYPE
REAFFIRMED_EVENT = sc.CustodianReaffirmed.TYPE
DOCUMENT_EVENT = sc.DocumentIssued.TYPE
ACKNOWLEDGEMENT_KIND = ACKNOWLEDGEMENT


# --- facts ------------------------------------------------------------------------------------------------
def parse_time(text: str) -> datetime:
    """A ledger time (``YYYY-MM-DDTHH:MM:SSZ``) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def show_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def show_date(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


def count_of(count: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun agreeing: ``1 key``, ``2 keys``, ``1 person``, ``3 people`` (``plural`` when
    the plural is not the noun + "s")."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


@dataclass
class PersonFacts:
    person_id: str
    name: str
    employee_id: str
    roles: tuple[str, ...]
    enrolled_seq: int
    enrolled_at: datetime
    deactivated_seq: int | None = None
    deactivated_at: datetime | None = None
    deactivation_reason: str = ""
    affirmations: list[Affirmation] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.deactivated_seq is None

    @property
    def last_affirmed(self) -> Affirmation | None:
        return self.affirmations[-1] if self.affirmations else None


@dataclass(frozen=True)
class Exposure:
    seq: int
    time: datetime
    person_id: str
    split_id: str
    share_number: int
    kind: str


@dataclass(frozen=True)
class Envelope:
    """A share sealed in a tamper-evident envelope and received by its custodian (``share.received``)."""

    seq: int
    time: datetime
    person_id: str
    split_id: str
    share_number: int
    serial: str
    method: str


@dataclass(frozen=True)
class EnvelopeFate:
    """What became of one share's envelope: ``state`` is "destroyed" (returned sealed, serial checked,
    destroyed under dual control: the share no longer counts), "seal broken" (returned, an incident: it still
    counts), "not returned" (an incident: still counts, still held) or "returned" (an older ledger's return
    for destruction, no destruction recorded: still counts)."""

    state: str
    seq: int
    time: datetime
    serial: str
    by: tuple[str, ...] = ()  # destroyed: (destroyed by, witnessed by); otherwise who signed the record
    detail: str = ""  # method of destruction, who returned it, or why it was not returned

    @property
    def destroyed(self) -> bool:
        return self.state == DESTROYED


DESTROYED = "destroyed"
SEAL_BROKEN = "seal broken"
NOT_RETURNED = "not returned"
RETURNED = "returned"


def envelope_fates(split: SplitInfo) -> dict[int, EnvelopeFate]:
    """Each share's envelope fate from the register: a destruction wins; else the latest of a return and a
    report that it was not returned."""
    fates: dict[int, EnvelopeFate] = {}
    for number in sorted(set(split.destroyed) | set(split.returned) | set(split.not_returned)):
        gone = split.destroyed.get(number)
        if gone is not None:
            r = gone.record
            fates[number] = EnvelopeFate(
                DESTROYED,
                gone.seq,
                parse_time(gone.time),
                r.envelope_serial,
                (r.destroyed_by, r.witnessed_by),
                f"{r.method}; returned by {r.returned_by}",
            )
            continue
        back, missing = split.returned.get(number), split.not_returned.get(number)
        if back is not None and (missing is None or back.seq > missing.seq):
            b = back.record
            fates[number] = EnvelopeFate(
                RETURNED if b.seal_intact else SEAL_BROKEN,
                back.seq,
                parse_time(back.time),
                b.envelope_serial,
                back.signers,
                f"returned by {b.returned_by}",
            )
        elif missing is not None:
            fates[number] = EnvelopeFate(
                NOT_RETURNED,
                missing.seq,
                parse_time(missing.time),
                missing.record.envelope_serial,
                missing.signers,
                missing.record.reason,
            )
    return fates


@dataclass
class SplitFacts:
    split_id: str
    key_id: str
    scheme: str
    threshold: int
    shares: int
    created_seq: int
    created_at: datetime
    ceremony_id: str = ""
    share_kcvs: dict[int, str] = field(default_factory=dict)
    retired_seq: int | None = None
    retired_at: datetime | None = None
    retired_reason: str = ""
    envelopes: list[Envelope] = field(default_factory=list)
    # share number -> (holder, seq): who signed for it last (``share.received``, or an ``assigned`` /
    # ``handed`` exposure); a ``returned`` exposure, a returned or destroyed envelope ends the holding.
    holders: dict[int, tuple[str, int]] = field(default_factory=dict)
    # What became of each share's envelope (DESIGN §4.6), share number -> what the ledger recorded.
    envelope_fates: dict[int, EnvelopeFate] = field(default_factory=dict)

    def fate(self, share_number: int) -> EnvelopeFate | None:
        return self.envelope_fates.get(share_number)

    @property
    def scheme_text(self) -> str:
        if self.scheme == "xor":
            return f"XOR {self.shares} components"
        return f"Shamir {self.threshold}-of-{self.shares}"

    def envelope_of(self, share_number: int) -> str:
        """The serial of the latest envelope holding this share ("" when none was recorded)."""
        serials = [e.serial for e in self.envelopes if e.share_number == share_number]
        return serials[-1] if serials else ""


@dataclass
class KeyFacts:
    key_id: str
    label: str
    key_type: str
    length: int | None  # bytes
    usage: str
    kcv_hex: str
    kcv_method: str
    cryptoperiod_days: int
    test_key: bool
    registered_seq: int
    registered_at: datetime
    ceremony_id: str = ""
    split_ids: list[str] = field(default_factory=list)
    wiped_seq: int | None = None
    retired_seq: int | None = None  # an explicit ``key.retired`` event
    retired_at: datetime | None = None
    # PCI DSS 3.7.5: the key this one was generated to replace, and the replacement named when this one was
    # retired; DESIGN §3: every recorded ``key.quorum_lowered`` decision, oldest first.
    replaces_key_id: str | None = None
    replaced_by_key_id: str | None = None
    quorum_lowered: list[QuorumDecision] = field(default_factory=list)

    @property
    def strength_bits(self) -> int | None:
        """Effective strength (NIST SP 800-57 Part 1 Table 2): TDES 2-key 80 (deprecated), 3-key 112."""
        kind = self.key_type.upper()
        if kind.startswith("TDES"):
            return 80 if "2KEY" in kind or self.length == 16 else 112
        if kind.startswith("AES-") and kind[4:].isdigit():
            return int(kind[4:])
        return self.length * 8 if self.length is not None else None

    @property
    def expires_at(self) -> datetime:
        return self.registered_at + timedelta(days=self.cryptoperiod_days)


@dataclass(frozen=True)
class Step:
    seq: int
    time: datetime
    type: str
    actors: tuple[str, ...]
    signers: tuple[str, ...]
    record: sc.Record


@dataclass
class CeremonyFacts:
    ceremony_id: str
    kind: str = ""
    purpose: str = ""
    rehearsal: bool = False
    steps: list[Step] = field(default_factory=list)
    outcome: str = "unfinished"  # closed | voided | unfinished
    outcome_reason: str = ""

    @property
    def started_at(self) -> datetime | None:
        return self.steps[0].time if self.steps else None

    @property
    def ended_at(self) -> datetime | None:
        return self.steps[-1].time if self.steps and self.outcome != "unfinished" else None

    @property
    def participants(self) -> list[str]:
        seen: dict[str, None] = {}
        for step in self.steps:
            for person in (*step.actors, *step.signers):
                seen.setdefault(person, None)
        return list(seen)

    def key_ids(self) -> set[str]:
        return {k for s in self.steps if (k := key_id_of(s.record)) is not None}

    def split_ids(self) -> set[str]:
        return {k for s in self.steps if (k := split_id_of(s.record)) is not None}


@dataclass(frozen=True)
class ExceptionFacts:
    """One ``preflight.exception`` event (PCI DSS 1.2.6): the record as written, and who signed it."""

    seq: int
    time: datetime
    exception_id: str
    check: str
    subject: str
    justification: str
    compensating_controls: str
    approved_by: str
    witness: str
    created: datetime
    expires: datetime
    signers: tuple[str, ...]
    # Every (check, subject) it covers, the first finding first (one record may cover several: also_covers).
    covered: tuple[tuple[str, str], ...] = ()

    def active(self, now: datetime) -> bool:
        return self.created <= now < self.expires


@dataclass
class LedgerFacts:
    """Everything the reports print, as of the last event read."""

    ledger_id: str
    ledger_name: str
    rehearsal: bool
    size: int
    checkpoint: Checkpoint | None
    custody: CustodyHistory
    people: dict[str, PersonFacts] = field(default_factory=dict)
    keys: dict[str, KeyFacts] = field(default_factory=dict)
    splits: dict[str, SplitFacts] = field(default_factory=dict)
    exposures: list[Exposure] = field(default_factory=list)
    exposure_times: dict[int, datetime] = field(default_factory=dict)  # seq -> time of each exposure
    ceremonies: dict[str, CeremonyFacts] = field(default_factory=dict)
    exceptions: list[ExceptionFacts] = field(default_factory=list)
    # key id -> seq of the retirement that named its replacement (PCI DSS 3.7.5)
    replacement_cleared: dict[str, int] = field(default_factory=dict)
    last_time: datetime | None = None
    register: Register = field(default_factory=Register)  # what the facts above are derived from

    @property
    def checkpoint_text(self) -> str:
        return self.checkpoint.text() if self.checkpoint else f"(ledger {self.ledger_id} has no events)"

    def name_of(self, person_id: str) -> str:
        person = self.people.get(person_id)
        return person.name if person else person_id

    def flagged_keys(self) -> dict[str, int]:
        """Key id -> seq that flagged it for replacement (PCI DSS 3.7.5: a custodian who knew it left)."""
        return self.custody.flagged_keys()

    def replacement(self, key_id: str) -> Replacement:
        """Where the key stands on PCI DSS 3.7.5 (see :func:`replacement_state`)."""
        return replacement_state(self.custody, self.register, key_id)

    def holdings(self, person_id: str) -> list[tuple[SplitFacts, int]]:
        """(split, share number) the person holds now, over active splits."""
        out: list[tuple[SplitFacts, int]] = []
        for split in self.splits.values():
            if split.retired_seq is not None:
                continue
            for number, (holder, _seq) in sorted(split.holders.items()):
                if holder == person_id:
                    out.append((split, number))
        return out


# --- PCI DSS 3.7.5: where a key stands after a custodian who knew it left ------------------------------
NOT_FLAGGED = "none"
MUST_BE_REPLACED = "must be replaced"
MUST_STILL_BE_REPLACED = "must still be replaced"  # re-shared after the flag: the same key, still flagged
REPLACEMENT_GENERATED = "replacement generated"  # a new key names it; retiring this one clears the flag
CLEARED = "cleared"  # retired naming its replacement: the flag is cleared
RETIRED_UNREPLACED = "retired, not replaced"  # retired without a replacement: the flag was never cleared
REPLACED = "replaced"  # never flagged, retired naming a replacement
REPLACEMENT_STATES = (
    NOT_FLAGGED,
    MUST_BE_REPLACED,
    MUST_STILL_BE_REPLACED,
    REPLACEMENT_GENERATED,
    CLEARED,
    RETIRED_UNREPLACED,
    REPLACED,
)


@dataclass(frozen=True)
class Replacement:
    """A key's replacement standing (PCI DSS 3.7.5, DESIGN §3): ``state`` is one of
    :data:`REPLACEMENT_STATES`; ``text`` says it in words for the reports."""

    key_id: str
    state: str
    text: str
    flagged_seq: int | None = None  # the departure that flagged it
    reshared_seq: int | None = None  # the first split created after the flag (a re-share: keeps the flag)
    replacement: str | None = None  # the key generated to replace it (or that did)
    cleared_seq: int | None = None  # the retirement that named the replacement

    @property
    def outstanding(self) -> bool:
        """The flag is up and nothing has cleared it yet (the key is still in use)."""
        return self.state in (MUST_BE_REPLACED, MUST_STILL_BE_REPLACED, REPLACEMENT_GENERATED)


def replacement_state(custody: CustodyHistory, register: Register, key_id: str) -> Replacement:
    """Where ``key_id`` stands after a departure (PCI DSS 3.7.5), from the custody history (the flag, its
    clearing) and the register (re-shares, the replacement key, the retirement): only a new key, then the
    old key retired naming it, clears the flag; a re-share never does."""
    key = register.keys.get(key_id)
    cleared = custody.cleared().get(key_id)
    if cleared is not None:
        seq, new = cleared
        return Replacement(
            key_id, CLEARED, f"replaced by {new} (retired at event #{seq})", replacement=new, cleared_seq=seq
        )
    flagged = custody.flagged_keys().get(key_id)
    if flagged is None:
        if key is not None and key.replaced_by_key_id and key.retired_seq is not None:
            new = key.replaced_by_key_id
            text = f"replaced by {new} (retired at event #{key.retired_seq})"
            return Replacement(key_id, REPLACED, text, replacement=new, cleared_seq=key.retired_seq)
        return Replacement(key_id, NOT_FLAGGED, "")
    if key is not None and key.retired_seq is not None:
        return Replacement(
            key_id,
            RETIRED_UNREPLACED,
            f"retired at event #{key.retired_seq} without a replacement: a custodian who knew it left "
            f"(event #{flagged}) and the flag was never cleared",
            flagged_seq=flagged,
        )
    replacements = [
        k.key_id for k in register.keys.values() if k.replaces_key_id == key_id and k.retired_seq is None
    ]
    if replacements:
        new = replacements[-1]
        return Replacement(
            key_id,
            REPLACEMENT_GENERATED,
            f"replacement {new} generated; retire this key to clear (custodian left, event #{flagged})",
            flagged_seq=flagged,
            replacement=new,
        )
    later = [
        register.splits[s].created_seq
        for s in (key.splits if key is not None else [])
        if register.splits[s].created_seq > flagged and register.splits[s].replaces_split_id is not None
    ]
    if later:
        return Replacement(
            key_id,
            MUST_STILL_BE_REPLACED,
            f"re-shared (event #{later[0]}); must still be replaced: a custodian who knew it left "
            f"(event #{flagged}) still knows a share of an older split",
            flagged_seq=flagged,
            reshared_seq=later[0],
        )
    return Replacement(
        key_id,
        MUST_BE_REPLACED,
        f"must be replaced: a custodian who knew it left (event #{flagged})",
        flagged_seq=flagged,
    )


def read_facts(ledger: Ledger, until: datetime | None = None) -> LedgerFacts:
    """Replay ``ledger`` once (only the events up to and including ``until``) into :class:`LedgerFacts`: the
    register (:mod:`ceremony.ledger.register`) folds every record, and the report's own views of people,
    keys, splits, ceremonies and exceptions are made from it; each ceremony's steps and every exposure's
    time are collected in the same pass."""
    state = ledger.new_state()
    acc = MerkleAccumulator()
    head = b""
    facts = LedgerFacts(
        ledger_id=ledger.ledger_id,
        ledger_name=ledger.path.name,
        rehearsal=ledger.info.rehearsal,
        size=0,
        checkpoint=None,
        custody=state.custody,
    )
    if until is None:
        stream = ledger.events_into(state)
    else:
        # Event times are ISO 8601 UTC text, so text order is time order; seq order is authoritative.
        row = ledger.connection.execute(
            "SELECT coalesce(max(seq), 0) FROM events WHERE time <= ?", (ev.format_time(until),)
        ).fetchone()
        stream = _bounded(ledger, state, int(row[0]))
    for event in stream:
        facts.register.take(event)
        _take(facts, event, parse_time(event.time))
        acc.push(event.hash)
        head = event.hash
    if facts.size:
        facts.checkpoint = Checkpoint(ledger.ledger_id, facts.size, head, acc.root())
    _from_register(facts, facts.register)
    return facts


def _bounded(ledger: Ledger, state: LedgerState, size: int) -> Iterator[ev.Event]:
    """The first ``size`` events, each checked and admitted into ``state``; the replay stops there, so the
    custody history stops there too (nothing after event ``size`` is read)."""
    if size < 1:
        return
    for event in ledger.events_into(state):
        yield event
        if event.seq >= size:
            return


def _take(facts: LedgerFacts, event: ev.Event, when: datetime) -> None:
    """Collect what only the reports keep of one event (the register has already folded it): the steps of
    its ceremony and the time of each exposure."""
    facts.size = event.seq
    facts.last_time = when
    record = event.record
    ceremony_id = ceremony_id_of(record)
    if ceremony_id:
        ceremony = facts.ceremonies.get(ceremony_id)
        if ceremony is None:
            ceremony = facts.ceremonies[ceremony_id] = CeremonyFacts(ceremony_id)
        ceremony.steps.append(Step(event.seq, when, event.type, event.actors, event.attested_by, record))
    if isinstance(record, sc.ShareExposed):
        facts.exposure_times[event.seq] = when
        facts.exposures.append(
            Exposure(event.seq, when, record.person_id, record.split_id, record.share_number, record.kind)
        )


def _at(text: str | None) -> datetime | None:
    return None if text is None else parse_time(text)


def _from_register(facts: LedgerFacts, register: Register) -> None:
    """The reports' views of what the register holds (people, keys, splits, ceremonies, exceptions)."""
    for person in register.people.values():
        facts.people[person.person_id] = PersonFacts(
            person_id=person.person_id,
            name=person.name,
            employee_id=person.employee_id,
            roles=person.roles,
            enrolled_seq=person.enrolled_seq,
            enrolled_at=parse_time(person.enrolled_time),
            deactivated_seq=person.deactivated_seq,
            deactivated_at=_at(person.deactivated_time),
            deactivation_reason=person.deactivation_reason or "",
            affirmations=list(register.affirmations.get(person.person_id, ())),
        )
    for key in register.keys.values():
        facts.keys[key.key_id] = KeyFacts(
            key_id=key.key_id,
            label=key.label,
            key_type=key.key_type.value,
            length=key.length,
            usage=key.usage,
            kcv_hex=key.kcv_hex,
            kcv_method=key.kcv_method,
            cryptoperiod_days=key.cryptoperiod_days,
            test_key=key.test_key,
            registered_seq=key.registered_seq,
            registered_at=parse_time(key.registered_time),
            ceremony_id=key.ceremony_id or "",
            split_ids=list(key.splits),
            wiped_seq=key.wiped_seq,
            retired_seq=key.retired_seq,
            retired_at=_at(key.retired_time),
            replaces_key_id=key.replaces_key_id,
            replaced_by_key_id=key.replaced_by_key_id,
            quorum_lowered=list(key.quorum_lowered),
        )
        # The retirement that named the key's replacement (``key.retired`` with ``replaced_by_key_id``).
        if key.replacement_cleared_seq is not None:
            facts.replacement_cleared[key.key_id] = key.replacement_cleared_seq
    for split in register.splits.values():
        facts.splits[split.split_id] = SplitFacts(
            split_id=split.split_id,
            key_id=split.key_id,
            scheme=split.scheme.value,
            threshold=split.threshold,
            shares=split.count,
            created_seq=split.created_seq,
            created_at=parse_time(split.created_time),
            ceremony_id=split.ceremony_id or "",
            share_kcvs=dict(split.share_kcv_hex),
            retired_seq=split.retired_seq,
            retired_at=_at(split.retired_time),
            retired_reason=split.retired_reason or "",
            envelopes=[
                Envelope(
                    r.seq,
                    parse_time(r.time),
                    r.person_id,
                    split.split_id,
                    r.share_number,
                    r.serial,
                    r.method,
                )
                for r in split.receipts
            ],
            holders=dict(split.holders),
            envelope_fates=envelope_fates(split),
        )
    for info in register.ceremonies.values():
        ceremony = facts.ceremonies.setdefault(info.ceremony_id, CeremonyFacts(info.ceremony_id))
        ceremony.kind, ceremony.purpose, ceremony.rehearsal = info.kind, info.purpose, info.rehearsal
        ceremony.outcome, ceremony.outcome_reason = info.outcome, info.outcome_reason
    for entry in register.exceptions:
        record = entry.record
        try:
            created, expires = parse_time(record.created), parse_time(record.expires)
        except ValueError:
            continue  # a time this program cannot read: the record covers nothing and is not listed
        facts.exceptions.append(
            ExceptionFacts(
                seq=entry.seq,
                time=parse_time(entry.time),
                exception_id=record.id,
                check=record.check,
                subject=record.subject,
                justification=record.justification,
                compensating_controls=record.compensating_controls,
                approved_by=record.approved_by,
                witness=record.witness,
                created=created,
                expires=expires,
                signers=entry.signers,
                covered=record.covered,
            )
        )


# --- what a report is, whatever its format ---------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """``--key``, ``--person``, ``--from`` and ``--to`` (``until`` was already applied by the replay)."""

    key_id: str | None = None
    person_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def in_range(self, moment: datetime | None) -> bool:
        if moment is None:
            return True
        if self.since is not None and moment < self.since:
            return False
        return self.until is None or moment <= self.until

    def describe(self, facts: LedgerFacts) -> str:
        parts = []
        if self.key_id:
            key = facts.keys.get(self.key_id)
            parts.append(f"key {key.label} ({self.key_id})" if key else f"key {self.key_id}")
        if self.person_id:
            parts.append(f"person {facts.name_of(self.person_id)} ({self.person_id})")
        if self.since:
            parts.append(f"from {show_date(self.since)}")
        if self.until:
            parts.append(f"to {show_date(self.until)}")
        return ", ".join(parts) or "none (the whole ledger)"

    def to_json(self) -> dict[str, str | None]:
        return {
            "key": self.key_id,
            "person": self.person_id,
            "from": show_date(self.since) or None,
            "to": show_date(self.until) or None,
        }


@dataclass(frozen=True)
class Table:
    """Rows of text cells; ``weights`` say how to share the width between columns (text and PDF)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    weights: tuple[float, ...] = ()
    title: str = ""
    stacked_in_text: bool = False  # text output: one block per row ("Column: value"), for wide tables


@dataclass(frozen=True)
class Section:
    heading: str
    fields: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    """One report: sections for people (text, PDF), records for programs (JSON), one flat table (CSV)."""

    kind: str
    title: str
    basis: str  # the requirement the report serves, printed under the title
    as_of: datetime
    ledger_id: str
    ledger_name: str
    rehearsal: bool
    checkpoint: str
    filters: str
    filters_json: dict[str, str | None]
    sections: tuple[Section, ...]
    records: tuple[dict[str, Any], ...]
    csv_columns: tuple[str, ...]
    csv_rows: tuple[tuple[str, ...], ...]
    empty_note: str = "Nothing in the ledger matches."
    organisation: str = ""  # as the ledger's genesis records it

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.kind,
            "title": self.title,
            "basis": self.basis,
            "as_of": self.as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ledger_id": self.ledger_id,
            "organisation": self.organisation,
            "rehearsal": self.rehearsal,
            "checkpoint": self.checkpoint,
            "filters": self.filters_json,
            "records": list(self.records),
        }


def iso(moment: datetime | None) -> str:
    """Machine form for JSON and CSV (``YYYY-MM-DDTHH:MM:SSZ``; empty when unknown)."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_report(
    facts: LedgerFacts,
    filters: Filters,
    as_of: datetime,
    *,
    kind: str,
    title: str,
    basis: str,
    sections: list[Section],
    records: list[dict[str, Any]],
    csv_columns: tuple[str, ...],
    csv_rows: list[tuple[str, ...]],
) -> Report:
    return Report(
        kind=kind,
        title=title,
        basis=basis,
        as_of=as_of,
        ledger_id=facts.ledger_id,
        ledger_name=facts.ledger_name,
        rehearsal=facts.rehearsal,
        checkpoint=facts.checkpoint_text,
        filters=filters.describe(facts),
        filters_json=filters.to_json(),
        sections=tuple(sections),
        records=tuple(records),
        csv_columns=csv_columns,
        csv_rows=tuple(csv_rows),
        organisation=facts.register.genesis.organisation if facts.register.genesis else "",
    )


def parse_day(text: str | None, *, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` as the first (or, with ``end``, the last) second of that UTC day."""
    if text is None:
        return None
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise ReportError(f"{text[:20]!r} is not a date; write it as YYYY-MM-DD") from None
    moment = datetime.combine(day, time(0, 0), tzinfo=UTC)
    return moment + timedelta(days=1, seconds=-1) if end else moment
