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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from ceremony.errors import ReportError
from ceremony.ledger import events as ev
from ceremony.ledger.checkpoint import Checkpoint, MerkleAccumulator
from ceremony.ledger.state import LedgerState
from ceremony.ledger.store import Ledger
from ceremony.policy.custody import CustodyHistory

EXCEPTION_EVENT = "preflight.exception"  # payload: ExceptionRecord.to_dict() (ceremony.flows.exceptions)
REAFFIRMED_EVENT = "custodian.reaffirmed"  # payload: person_id, officer_id, wording_sha256, ...
DOCUMENT_EVENT = "document.issued"  # payload: kind, sha256, subject
ACKNOWLEDGEMENT_KIND = "acknowledgement"


# --- the reaffirmation schedule (PCI DSS 3.7.8) ---------------------------------------------------------
class Standing(StrEnum):
    CURRENT = "current"
    DUE = "due"  # due within the warning window
    OVERDUE = "overdue"
    NONE = "never acknowledged"


@dataclass(frozen=True)
class ReaffirmationPolicy:
    """How often custodians reaffirm (PCI DSS 3.7.8 asks at least annually) and how early to warn."""

    period_days: int = 365
    warning_days: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.period_days <= 3650 or not 0 <= self.warning_days < self.period_days:
            from ceremony.errors import InputError

            raise InputError(
                "a reaffirmation period is 1 to 3650 days and the warning window shorter than the period"
            )


DEFAULT_POLICY = ReaffirmationPolicy()


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, on the same day (the last day of a shorter month): 12 months = a year."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def due_date(last: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY) -> datetime:
    """When the next reaffirmation falls due: 12 calendar months after ``last`` for the default (annual)
    period, otherwise ``period_days`` later."""
    if policy.period_days == 365:
        return add_months(last, 12)
    return last + timedelta(days=policy.period_days)


def standing(
    last: datetime | None, now: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY
) -> tuple[Standing, datetime | None]:
    """The custodian's reaffirmation standing at ``now`` and the due date (None if never acknowledged)."""
    if last is None:
        return Standing.NONE, None
    due = due_date(last, policy)
    if now >= due:
        return Standing.OVERDUE, due
    if now >= due - timedelta(days=policy.warning_days):
        return Standing.DUE, due
    return Standing.CURRENT, due


# --- facts ------------------------------------------------------------------------------------------------
def parse_time(text: str) -> datetime:
    """A ledger time (``YYYY-MM-DDTHH:MM:SSZ``) as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def show_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def show_date(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class Affirmation:
    """An acknowledgement (``document.issued`` of kind acknowledgement) or a reaffirmation."""

    seq: int
    time: datetime
    kind: str  # "acknowledgement" | "reaffirmation"
    document_sha256: str
    officer_id: str = ""
    wording_sha256: str = ""
    ceremony_id: str = ""


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
    # ``handed`` exposure); a ``returned`` exposure ends the holding.
    holders: dict[int, tuple[str, int]] = field(default_factory=dict)

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
    payload: dict[str, Any]


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
        return {str(s.payload["key_id"]) for s in self.steps if isinstance(s.payload.get("key_id"), str)}

    def split_ids(self) -> set[str]:
        return {str(s.payload["split_id"]) for s in self.steps if isinstance(s.payload.get("split_id"), str)}


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
    replacement_cleared: dict[str, int] = field(default_factory=dict)
    last_time: datetime | None = None

    @property
    def checkpoint_text(self) -> str:
        return self.checkpoint.text() if self.checkpoint else f"(ledger {self.ledger_id} has no events)"

    def name_of(self, person_id: str) -> str:
        person = self.people.get(person_id)
        return person.name if person else person_id

    def flagged_keys(self) -> dict[str, int]:
        """Key id -> seq that flagged it for replacement (PCI DSS 3.7.5: a custodian who knew it left)."""
        return self.custody.flagged_keys()

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


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    return value if isinstance(value, str) else ""


def read_facts(ledger: Ledger, until: datetime | None = None) -> LedgerFacts:
    """Replay ``ledger`` once (only the events up to and including ``until``) into :class:`LedgerFacts`."""
    state = LedgerState()
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
        _take(facts, event, parse_time(event.time))
        acc.push(event.hash)
        head = event.hash
    if facts.size:
        facts.checkpoint = Checkpoint(ledger.ledger_id, facts.size, head, acc.root())
    return facts


def _bounded(ledger: Ledger, state: LedgerState, size: int) -> Iterator[ev.Event]:
    """The first ``size`` events, each admitted into ``state`` (the custody history stops there too)."""
    for event in ledger.events():
        if event.seq > size:
            return
        attestations = [(a.person_id, a.signature) for a in event.attestations]
        state.admit(event.seq, event.type, event.payload, attestations, event.hash, check_signatures=False)
        yield event


def _take(facts: LedgerFacts, event: ev.Event, when: datetime) -> None:
    """Collect one event's facts (the ledger state has already checked and taken it)."""
    facts.size = event.seq
    facts.last_time = when
    p: dict[str, Any] = dict(event.payload)
    t = event.type
    ceremony_id = _text(p, "ceremony_id")
    if ceremony_id:
        ceremony = facts.ceremonies.get(ceremony_id)
        if ceremony is None:
            ceremony = facts.ceremonies[ceremony_id] = CeremonyFacts(ceremony_id)
        ceremony.steps.append(Step(event.seq, when, t, event.actors, event.attested_by, p))
        if t == ev.CEREMONY_STARTED:
            ceremony.kind = _text(p, "kind")
            ceremony.purpose = _text(p, "purpose")
            ceremony.rehearsal = bool(p.get("rehearsal"))
        elif t == "ceremony.closed":
            ceremony.outcome = "closed"
            ceremony.outcome_reason = _text(p, "outcome")
        elif t == "ceremony.voided":
            ceremony.outcome = "voided"
            ceremony.outcome_reason = _text(p, "reason")
    if t == ev.PARTICIPANT_ENROLLED:
        roles = p.get("roles")
        facts.people[str(p["person_id"])] = PersonFacts(
            person_id=str(p["person_id"]),
            name=str(p["name"]),
            employee_id=str(p["employee_id"]),
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            enrolled_seq=event.seq,
            enrolled_at=when,
        )
    elif t == ev.PARTICIPANT_DEACTIVATED:
        person = facts.people.get(str(p["person_id"]))
        if person is not None:
            person.deactivated_seq, person.deactivated_at = event.seq, when
            person.deactivation_reason = _text(p, "reason")
    elif t == ev.KEY_REGISTERED:
        length = p.get("length")
        facts.keys[str(p["key_id"])] = KeyFacts(
            key_id=str(p["key_id"]),
            label=str(p["label"]),
            key_type=str(p["key_type"]),
            length=length if isinstance(length, int) else None,
            usage=str(p["usage"]),
            kcv_hex=str(p["kcv_hex"]),
            kcv_method=str(p["kcv_method"]),
            cryptoperiod_days=int(p["cryptoperiod_days"]),
            test_key=bool(p["test_key"]),
            registered_seq=event.seq,
            registered_at=when,
            ceremony_id=ceremony_id,
        )
    elif t == ev.SPLIT_CREATED:
        kcvs = p.get("share_kcvs")
        split = SplitFacts(
            split_id=str(p["split_id"]),
            key_id=str(p["key_id"]),
            scheme=str(p["scheme"]),
            threshold=int(p["threshold"]),
            shares=int(p["shares"]),
            created_seq=event.seq,
            created_at=when,
            ceremony_id=ceremony_id,
            share_kcvs={int(n): str(v) for n, v in kcvs.items()} if isinstance(kcvs, dict) else {},
        )
        facts.splits[split.split_id] = split
        if split.key_id in facts.keys:
            facts.keys[split.key_id].split_ids.append(split.split_id)
    elif t == ev.SPLIT_RETIRED:
        split_facts = facts.splits.get(str(p["split_id"]))
        if split_facts is not None:
            split_facts.retired_seq, split_facts.retired_at = event.seq, when
            split_facts.retired_reason = _text(p, "reason")
    elif t == ev.SHARE_EXPOSED:
        facts.exposure_times[event.seq] = when
        exposed = facts.splits.get(str(p["split_id"]))
        if exposed is not None and p["kind"] in ("assigned", "handed"):
            exposed.holders[int(p["share_number"])] = (str(p["person_id"]), event.seq)
        elif exposed is not None and p["kind"] == "returned":
            exposed.holders.pop(int(p["share_number"]), None)
        facts.exposures.append(
            Exposure(
                event.seq,
                when,
                str(p["person_id"]),
                str(p["split_id"]),
                int(p["share_number"]),
                str(p["kind"]),
            )
        )
    elif t == "share.received":
        split_facts = facts.splits.get(_text(p, "split_id"))
        if split_facts is not None and isinstance(p.get("share_number"), int):
            split_facts.holders[int(p["share_number"])] = (_text(p, "person_id"), event.seq)
            split_facts.envelopes.append(
                Envelope(
                    event.seq,
                    when,
                    _text(p, "person_id"),
                    split_facts.split_id,
                    int(p["share_number"]),
                    _text(p, "envelope_serial"),
                    _text(p, "method"),
                )
            )
    elif t == "key.wiped":
        key = facts.keys.get(_text(p, "key_id"))
        if key is not None:
            key.wiped_seq = event.seq
    elif t == "key.retired":
        key = facts.keys.get(_text(p, "key_id"))
        if key is not None:
            key.retired_seq, key.retired_at = event.seq, when
    elif t == ev.KEY_REPLACEMENT_CLEARED:
        facts.replacement_cleared[str(p["key_id"])] = event.seq
    elif t == DOCUMENT_EVENT and _text(p, "kind") == ACKNOWLEDGEMENT_KIND:
        # The custodian is the subject when it is a person id; the paperwork flow writes a readable subject
        # ("share 2 of 5 - Ann Lee (E0102)") and puts the custodian first among the actors.
        subject = _text(p, "subject")
        person = facts.people.get(subject) or (facts.people.get(event.actors[0]) if event.actors else None)
        if person is not None:
            person.affirmations.append(
                Affirmation(
                    event.seq, when, ACKNOWLEDGEMENT_KIND, _text(p, "sha256"), ceremony_id=ceremony_id
                )
            )
    elif t == DOCUMENT_EVENT and _text(p, "kind") == "reaffirmation":
        # The signed form is made after its event; its SHA-256 follows (see flows.reaffirmation).
        person = facts.people.get(_text(p, "subject"))
        if person is not None:
            person.affirmations = [
                replace(a, document_sha256=_text(p, "sha256")) if a.seq == p.get("event") else a
                for a in person.affirmations
            ]
    elif t == REAFFIRMED_EVENT:
        person = facts.people.get(_text(p, "person_id"))
        if person is not None:
            person.affirmations.append(
                Affirmation(
                    event.seq,
                    when,
                    "reaffirmation",
                    _text(p, "document_sha256"),
                    officer_id=_text(p, "officer_id"),
                    wording_sha256=_text(p, "wording_sha256"),
                )
            )
    elif t == EXCEPTION_EVENT:
        try:
            created, expires = parse_time(_text(p, "created")), parse_time(_text(p, "expires"))
        except ValueError:
            return  # a malformed record is verify's business; the report lists well-formed ones
        facts.exceptions.append(
            ExceptionFacts(
                seq=event.seq,
                time=when,
                exception_id=_text(p, "id"),
                check=_text(p, "check"),
                subject=_text(p, "subject"),
                justification=_text(p, "justification"),
                compensating_controls=_text(p, "compensating_controls"),
                approved_by=_text(p, "approved_by"),
                witness=_text(p, "witness"),
                created=created,
                expires=expires,
                signers=event.attested_by,
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

    def to_json(self) -> dict[str, Any]:
        return {
            "report": self.kind,
            "title": self.title,
            "basis": self.basis,
            "as_of": self.as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ledger_id": self.ledger_id,
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
