"""The register: everything the ledger's records say, derived once, in one pass, from validated records
(DESIGN §5: "all state is derived once from validated records; nothing else reads raw payloads").

Every ledger read (``ledger.events()``, ``ledger.events_into(state)``) has already checked the chain, the
schema, the references, the signing rules and the signatures, so the fold below trusts what it reads: it
takes each event's typed :attr:`~ceremony.ledger.events.Event.record` (:mod:`ceremony.ledger.schema`) and
never a payload. Flows, reports, paperwork, the TUI, preflight exceptions and ``verify --document`` read this
register instead of replaying events each their own way.

What it holds, as of the last event folded:

* ``genesis`` / ``anchor`` — the ledger's identity (organisation, production or rehearsal) and its anchor;
* ``people`` — everyone ever enrolled (:class:`~ceremony.ledger.participants.Participant`), with their roles
  after every role change and their deactivation;
* ``keys`` (:class:`KeyInfo`) and ``splits`` (:class:`SplitInfo`): commitments, component KCVs, the person
  each share was issued to, envelope serials, who holds each share now, retirements (PCI DSS 3.6.1.1, 3.7.6);
* ``exceptions`` — every ``preflight.exception`` (PCI DSS 1.2.6), as recorded;
* ``documents`` — every issued document by SHA-256 (``verify --document``), and ``affirmations`` — each
  person's acknowledgements and reaffirmations (PCI DSS 3.7.8), the input of their reaffirmation due date;
* ``ceremonies`` (:class:`CeremonyInfo`) — kind, purpose, start, outcome; :meth:`Register.unfinished` lists
  those neither closed nor voided.

Typical use: ``register = read(ledger)``; or ``Register.from_events(events)``; or, inside a replay of one's
own, ``register.take(event)`` for each event.

A ledger that verifies can never make this fold fail: the schema guarantees every value it converts (key
types, schemes, 64-digit commitments). A KCV's method is text in the schema, so a KCV is kept as recorded
and made a :class:`~ceremony.crypto.kcv.KeyCheckValue` only when asked (:attr:`KeyInfo.kcv`), which refuses
a method this program cannot compute with a :class:`~ceremony.errors.LedgerError`, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.errors import InputError, LedgerError
from ceremony.ledger import events as ev
from ceremony.ledger import schema as sc
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.participants import Participant, take_person

if TYPE_CHECKING:
    from ceremony.ledger.store import Ledger

# Events after which a ceremony's key existed in memory: past these, an interrupted ceremony cannot be
# resumed, only voided (ceremony.flows.unfinished).
KEY_MATERIAL_EVENTS: Final = frozenset(
    {"key.registered", "split.created", "key.recovered", "envelope.inspected"}
)
ACKNOWLEDGEMENT: Final = "acknowledgement"
REAFFIRMATION: Final = "reaffirmation"

_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"

R = TypeVar("R", bound=sc.Record)


def ledger_time(text: str) -> datetime:
    """A ledger time (``YYYY-MM-DDTHH:MM:SSZ``, checked on every read) as an aware UTC datetime."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


# --- what a record names, whatever its type -----------------------------------------------------------------
def _text_field(record: sc.Record, name: str) -> str | None:
    value = getattr(record, name, None)
    return value if isinstance(value, str) else None


def ceremony_id_of(record: sc.Record) -> str | None:
    """The ceremony an event belongs to (its ``ceremony_id`` field), or None."""
    return _text_field(record, "ceremony_id")


def key_id_of(record: sc.Record) -> str | None:
    """The key an event names in its ``key_id`` field, or None."""
    return _text_field(record, "key_id")


def split_id_of(record: sc.Record) -> str | None:
    """The split an event names in its ``split_id`` field, or None."""
    return _text_field(record, "split_id")


def person_id_of(record: sc.Record) -> str | None:
    """The person an event names in its ``person_id`` field, or None."""
    return _text_field(record, "person_id")


def _kcv(method: str, hex_text: str, what: str) -> KeyCheckValue:
    try:
        return KeyCheckValue(method, bytes.fromhex(hex_text))
    except (ValueError, InputError):
        raise LedgerError(
            f"the KCV of {what} was recorded as {hex_text[:40].upper()} by the method {method[:40]!r}, "
            "which this program cannot compute: it cannot be checked here"
        ) from None


# --- entries ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recorded(Generic[R]):
    """One event's typed record with where and when it was recorded and who signed it."""

    seq: int
    time: str
    record: R
    actors: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()  # the people who attested (signed) the event

    @property
    def when(self) -> datetime:
        return ledger_time(self.time)


@dataclass(frozen=True)
class Receipt:
    """A custodian's signed receipt of a share sealed in a tamper-evident envelope (``share.received``)."""

    seq: int
    time: str
    person_id: str
    share_number: int
    serial: str
    method: str  # "recorded" (the custodian's own record) | "card" (a printed share card)


@dataclass
class SplitInfo:
    key_id: str
    split_id: str
    scheme: Scheme
    threshold: int
    count: int
    created_seq: int
    commitments: dict[int, bytes]
    share_kcv_hex: dict[int, str] = field(default_factory=dict)  # component KCVs, as recorded (lowercase)
    share_kcv_method: str = ""
    custodians: dict[int, str] = field(default_factory=dict)  # share number -> person it was issued to
    envelopes: dict[int, str] = field(default_factory=dict)  # share number -> serial recorded at sealing
    retired_seq: int | None = None
    retired_reason: str | None = None
    retired_time: str | None = None
    created_time: str = ""
    ceremony_id: str | None = None
    from_split_id: str | None = None  # fresh components made from this split (a recovery's output)
    replaces_split_id: str | None = None  # the split a re-share replaced
    receipts: list[Receipt] = field(default_factory=list)  # every share.received, in order
    # share number -> (holder, seq): who signed for it last (``share.received``, or an ``assigned`` /
    # ``handed`` exposure); a ``returned`` exposure, a returned or destroyed envelope ends the holding.
    holders: dict[int, tuple[str, int]] = field(default_factory=dict)
    # What became of each share's envelope (DESIGN §4.6), share number -> the event that recorded it:
    destroyed: dict[int, Recorded[sc.EnvelopeDestroyed]] = field(default_factory=dict)
    returned: dict[int, Recorded[sc.EnvelopeReturned]] = field(default_factory=dict)  # latest return
    not_returned: dict[int, Recorded[sc.EnvelopeNotReturned]] = field(default_factory=dict)  # latest

    @property
    def retired(self) -> bool:
        return self.retired_seq is not None

    def envelope_accounted(self, number: int) -> bool:
        """Whether what became of share ``number``'s envelope is recorded (destroyed, returned, missing)."""
        return number in self.destroyed or number in self.returned or number in self.not_returned

    @property
    def label(self) -> str:
        if self.scheme is Scheme.XOR:
            return f"split {self.split_id} ({self.count} XOR components)"
        return f"split {self.split_id} ({self.threshold}-of-{self.count})"

    @property
    def share_kcvs(self) -> dict[int, KeyCheckValue]:
        """The component KCVs (XOR splits) to check shares against; a :class:`LedgerError` when they were
        recorded by a method this program cannot compute."""
        return {
            number: _kcv(self.share_kcv_method, value, f"component {number} of {self.label}")
            for number, value in self.share_kcv_hex.items()
        }


@dataclass(frozen=True)
class QuorumDecision:
    """``key.quorum_lowered``: a security officer and a witness let ``quorum`` people rebuild the key."""

    seq: int
    time: str
    quorum: int
    reason: str
    coalition: tuple[str, ...]
    signed_by: tuple[str, ...]
    ceremony_id: str | None


@dataclass(frozen=True)
class WrapInfo:
    """``key.wrapped``: the key under a KEK formed from its custodians' components; or (``kind`` "kbpk") a
    TR-31 key block under a KBPK so formed — made here (``key.block_exported``) or received and verified
    here (``key_block.checked``). ``kek_*`` then name the KBPK, ``wrapped_sha256`` the block."""

    seq: int
    kek_label: str
    kek_kcv_hex: str
    kek_custodians: tuple[str, ...]
    wrapped_sha256: str
    ceremony_id: str
    kind: str = "kek"

    @property
    def route_name(self) -> str:
        """The route in words: "wrapped file + KEK components" or "TR-31 key block + KBPK components"."""
        return "TR-31 key block + KBPK components" if self.kind == "kbpk" else "wrapped file + KEK components"

    @property
    def transport_name(self) -> str:
        return "KBPK" if self.kind == "kbpk" else "KEK"


@dataclass(frozen=True)
class LoadInfo:
    """``key.loaded``: the key put into a PKCS#11 token and checked there (nobody learns it by that)."""

    seq: int
    time: str
    token_label: str
    token_serial: str
    token_manufacturer: str
    token_model: str
    token_firmware: str
    object_label: str
    mechanism: str
    check_source: str
    ceremony_id: str


@dataclass
class KeyInfo:
    key_id: str
    key_type: KeyType
    label: str
    usage: str
    kcv_hex: str  # as recorded: lowercase hex
    kcv_method: str
    cryptoperiod_days: int
    registered_seq: int
    registered_time: str
    test_key: bool
    splits: list[str] = field(default_factory=list)
    retired_seq: int | None = None
    retired_reason: str | None = None
    retired_time: str | None = None
    length: int | None = None  # bytes, when recorded
    ceremony_id: str | None = None
    wiped_seq: int | None = None
    # PCI DSS 3.7.5: the key this one replaces, the key that replaced it, and the retirement that cleared
    # a departure's flag (``key.retired`` naming the replacement).
    replaces_key_id: str | None = None
    replaced_by_key_id: str | None = None
    replacement_cleared_seq: int | None = None
    quorum_lowered: list[QuorumDecision] = field(default_factory=list)
    wraps: list[WrapInfo] = field(default_factory=list)
    loads: list[LoadInfo] = field(default_factory=list)  # into PKCS#11 tokens (key.loaded)

    @property
    def retired(self) -> bool:
        return self.retired_seq is not None

    @property
    def kcv(self) -> KeyCheckValue:
        """The registered KCV, to check a rebuilt key against; a :class:`LedgerError` when it was recorded by
        a method this program cannot compute."""
        return _kcv(self.kcv_method, self.kcv_hex, f"key {self.key_id}")

    @property
    def registered_at(self) -> datetime:
        return ledger_time(self.registered_time)

    @property
    def expires(self) -> datetime:
        """The end of the key's cryptoperiod (PCI DSS 3.6.1.4): registration plus ``cryptoperiod_days``."""
        return self.registered_at + timedelta(days=self.cryptoperiod_days)


@dataclass(frozen=True)
class Affirmation:
    """An acknowledgement (``document.issued`` of kind acknowledgement) or a reaffirmation (PCI DSS 3.7.8)."""

    seq: int
    time: datetime
    kind: str  # "acknowledgement" | "reaffirmation"
    document_sha256: str
    officer_id: str = ""
    wording_sha256: str = ""
    ceremony_id: str = ""


@dataclass
class CeremonyInfo:
    """One ceremony as its events recorded it. ``control``: the actors of its ``ceremony.started`` (the
    administrator, then the witness), or of its last ``ceremony.resumed``."""

    ceremony_id: str
    kind: str
    purpose: str
    rehearsal: bool
    started_seq: int
    started_time: str
    started: sc.CeremonyStarted
    control: tuple[str, ...]
    last_seq: int
    last_type: str  # the type of the ceremony's latest event
    outcome: str = "unfinished"  # closed | voided | unfinished
    outcome_reason: str = ""
    ended_seq: int | None = None
    ended_time: str | None = None
    key_material: bool = False  # a key existed in memory at some point (KEY_MATERIAL_EVENTS)
    splits_created: list[str] = field(default_factory=list)
    splits_retired: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.outcome != "unfinished"


# --- the register -------------------------------------------------------------------------------------------
@dataclass
class Register:
    """Everything the ledger's records say, as of event ``size`` (see the module docstring)."""

    genesis: sc.Genesis | None = None
    anchor: Anchor | None = None
    people: dict[str, Participant] = field(default_factory=dict)
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    splits: dict[str, SplitInfo] = field(default_factory=dict)
    exceptions: list[Recorded[sc.PreflightException]] = field(default_factory=list)
    documents: dict[str, Recorded[sc.DocumentIssued]] = field(default_factory=dict)  # sha256 -> first issue
    affirmations: dict[str, list[Affirmation]] = field(default_factory=dict)  # person id -> oldest first
    ceremonies: dict[str, CeremonyInfo] = field(default_factory=dict)  # in the order they started
    returned_envelopes: dict[str, int] = field(default_factory=dict)  # serial -> envelope.returned seq
    destroyed_envelopes: dict[str, int] = field(default_factory=dict)  # serial -> envelope.destroyed seq
    size: int = 0
    last_time: str | None = None

    @classmethod
    def from_events(cls, events: Iterable[ev.Event]) -> Register:
        """Fold ``events`` (e.g. ``ledger.events()``), oldest first, into a register."""
        register = cls()
        for event in events:
            register.take(event)
        return register

    # --- lookups ----------------------------------------------------------------------------------------
    def key(self, key_id: str) -> KeyInfo:
        info = self.keys.get(key_id)
        if info is None:
            raise LedgerError(f"key {key_id} is not registered in this ledger")
        return info

    def split(self, split_id: str) -> SplitInfo:
        info = self.splits.get(split_id)
        if info is None:
            raise LedgerError(f"split {split_id} is not recorded in this ledger")
        return info

    def person(self, person_id: str) -> Participant:
        who = self.people.get(person_id)
        if who is None:
            raise LedgerError(f"{person_id} is not an enrolled participant of this ledger.")
        return who

    def ceremony(self, ceremony_id: str) -> CeremonyInfo:
        info = self.ceremonies.get(ceremony_id)
        if info is None:
            raise LedgerError(f"ceremony {ceremony_id} was never started in this ledger")
        return info

    def active_splits(self, key_id: str) -> list[SplitInfo]:
        return [self.splits[s] for s in self.key(key_id).splits if not self.splits[s].retired]

    def split_of_serial(self, serial: str) -> tuple[SplitInfo, int] | None:
        for info in self.splits.values():
            for number, recorded in info.envelopes.items():
                if recorded == serial:
                    return info, number
        return None

    def document(self, sha256: str) -> Recorded[sc.DocumentIssued] | None:
        """The event that issued a document with this SHA-256 (lowercase hex), or None."""
        return self.documents.get(sha256)

    def unfinished(self) -> list[CeremonyInfo]:
        """Every started ceremony neither closed nor voided, oldest first."""
        return [c for c in self.ceremonies.values() if not c.finished]

    # --- the fold ---------------------------------------------------------------------------------------
    def take(self, event: ev.Event) -> None:
        """Fold one event (the next one, in seq order) into the register."""
        record = event.record
        self.size, self.last_time = event.seq, event.time
        if isinstance(record, sc.Genesis):
            self.genesis = record
            self.anchor = Anchor(record.ledger_id, event.hash, record.root_cert_sha256)
        take_person(self.people, event)
        self._take_ceremony(event, record)
        if isinstance(record, sc.KeyRegistered):
            self.keys[record.key_id] = KeyInfo(
                key_id=record.key_id,
                key_type=KeyType(record.key_type),
                label=record.label,
                usage=record.usage,
                kcv_hex=record.kcv_hex,
                kcv_method=record.kcv_method,
                cryptoperiod_days=record.cryptoperiod_days,
                registered_seq=event.seq,
                registered_time=event.time,
                test_key=record.test_key,
                length=record.length,
                ceremony_id=record.ceremony_id,
                replaces_key_id=record.replaces_key_id,
            )
        elif isinstance(record, sc.SplitCreated):
            self._take_split(event, record)
        elif isinstance(record, sc.SplitRetired):
            split = self.splits.get(record.split_id)
            if split is not None and split.retired_seq is None:
                split.retired_seq, split.retired_reason = event.seq, record.reason
                split.retired_time = event.time
        elif isinstance(record, sc.KeyRetired):
            key = self.keys.get(record.key_id)
            if key is not None and key.retired_seq is None:
                key.retired_seq, key.retired_reason, key.retired_time = event.seq, record.reason, event.time
                if record.replaced_by_key_id is not None:
                    key.replaced_by_key_id = record.replaced_by_key_id
                    key.replacement_cleared_seq = event.seq
        elif isinstance(record, sc.KeyQuorumLowered):
            lowered = self.keys.get(record.key_id)
            if lowered is not None:
                lowered.quorum_lowered.append(
                    QuorumDecision(
                        event.seq,
                        event.time,
                        record.quorum,
                        record.reason,
                        tuple(record.coalition or ()),
                        tuple(event.attested_by),
                        record.ceremony_id,
                    )
                )
        elif isinstance(record, sc.KeyWrapped):
            wrapped = self.keys.get(record.key_id)
            if wrapped is not None:
                wrapped.wraps.append(
                    WrapInfo(
                        event.seq,
                        record.kek_label,
                        record.kek_kcv_hex,
                        tuple(record.kek_custodians),
                        record.wrapped_sha256,
                        record.ceremony_id,
                    )
                )
        elif isinstance(record, sc.KeyBlockExported | sc.KeyBlockChecked):
            blocked = self.keys.get(record.key_id)
            if blocked is not None and getattr(record, "verdict", "verified") == "verified":
                blocked.wraps.append(
                    WrapInfo(
                        event.seq,
                        record.kbpk_label,
                        record.kbpk_kcv_hex,
                        tuple(record.kbpk_custodians),
                        record.block_sha256,
                        record.ceremony_id,
                        "kbpk",
                    )
                )
        elif isinstance(record, sc.KeyLoaded):
            loaded = self.keys.get(record.key_id)
            if loaded is not None:
                loaded.loads.append(
                    LoadInfo(
                        event.seq,
                        event.time,
                        record.token_label,
                        record.token_serial,
                        record.token_manufacturer,
                        record.token_model,
                        record.token_firmware,
                        record.object_label,
                        record.mechanism,
                        record.check_source,
                        record.ceremony_id,
                    )
                )
        elif isinstance(record, sc.KeyWiped):
            wiped = self.keys.get(record.key_id)  # may name a key generated but never registered
            if wiped is not None:
                wiped.wiped_seq = event.seq
        elif isinstance(record, sc.ShareReceived):
            received = self.splits.get(record.split_id)
            if received is not None:
                number = record.share_number
                received.envelopes[number] = record.envelope_serial
                received.custodians[number] = record.person_id
                received.holders[number] = (record.person_id, event.seq)
                received.receipts.append(
                    Receipt(
                        event.seq, event.time, record.person_id, number, record.envelope_serial, record.method
                    )
                )
        elif isinstance(record, sc.ShareExposed):
            exposed = self.splits.get(record.split_id)
            if exposed is not None:
                number = record.share_number
                if record.kind == "shown":
                    exposed.custodians.setdefault(number, record.person_id)
                if record.kind in ("assigned", "handed"):
                    exposed.holders[number] = (record.person_id, event.seq)
                elif record.kind == "returned":
                    exposed.holders.pop(number, None)
        elif isinstance(record, sc.EnvelopeReturned):
            self.returned_envelopes.setdefault(record.envelope_serial, event.seq)
            back = self.splits.get(record.split_id)
            if back is not None:
                back.returned[record.share_number] = self._recorded(event, record)
                back.holders.pop(record.share_number, None)
        elif isinstance(record, sc.EnvelopeDestroyed):
            self.destroyed_envelopes.setdefault(record.envelope_serial, event.seq)
            gone = self.splits.get(record.split_id)
            if gone is not None:
                gone.destroyed.setdefault(record.share_number, self._recorded(event, record))
                gone.holders.pop(record.share_number, None)
        elif isinstance(record, sc.EnvelopeNotReturned):
            missing = self.splits.get(record.split_id)
            if missing is not None:
                missing.not_returned[record.share_number] = self._recorded(event, record)
        elif isinstance(record, sc.PreflightException):
            self.exceptions.append(Recorded(event.seq, event.time, record, event.actors, event.attested_by))
        elif isinstance(record, sc.DocumentIssued):
            self._take_document(event, record)
        elif isinstance(record, sc.CustodianReaffirmed):
            if record.person_id in self.people:
                self.affirmations.setdefault(record.person_id, []).append(
                    Affirmation(
                        event.seq,
                        ledger_time(event.time),
                        REAFFIRMATION,
                        "",  # the signed form is made after this event; its SHA-256 follows
                        officer_id=record.officer_id,
                        wording_sha256=record.wording_sha256,
                    )
                )

    @staticmethod
    def _recorded(event: ev.Event, record: R) -> Recorded[R]:
        return Recorded(event.seq, event.time, record, event.actors, event.attested_by)

    def _take_split(self, event: ev.Event, record: sc.SplitCreated) -> None:
        key = self.keys.get(record.key_id)
        if record.share_kcv_method is not None:
            method = record.share_kcv_method
        else:
            method = key.kcv_method if key is not None else ""
        info = SplitInfo(
            key_id=record.key_id,
            split_id=record.split_id,
            scheme=Scheme(record.scheme),
            threshold=record.threshold,
            count=record.shares,
            created_seq=event.seq,
            commitments={n: bytes.fromhex(digest) for n, digest in record.commitments.items()},
            share_kcv_hex=dict(record.share_kcvs or {}),
            share_kcv_method=method,
            custodians=dict(enumerate(record.custodians or (), start=1)),
            created_time=event.time,
            ceremony_id=record.ceremony_id,
            from_split_id=record.from_split_id,
            replaces_split_id=record.replaces_split_id,
        )
        self.splits[info.split_id] = info
        if key is not None:
            key.splits.append(info.split_id)

    def _take_document(self, event: ev.Event, record: sc.DocumentIssued) -> None:
        self.documents.setdefault(
            record.sha256, Recorded(event.seq, event.time, record, event.actors, event.attested_by)
        )
        if record.kind == ACKNOWLEDGEMENT:
            # The custodian is the subject when it is a person id; the paperwork flow writes a readable
            # subject ("share 2 of 5 - Ann Lee (E0102)") and puts the custodian first among the actors.
            person = record.subject if record.subject in self.people else None
            if person is None and event.actors and event.actors[0] in self.people:
                person = event.actors[0]
            if person is not None:
                self.affirmations.setdefault(person, []).append(
                    Affirmation(
                        event.seq,
                        ledger_time(event.time),
                        ACKNOWLEDGEMENT,
                        record.sha256,
                        ceremony_id=record.ceremony_id or "",
                    )
                )
        elif record.kind == REAFFIRMATION and record.subject in self.affirmations:
            # The signed reaffirmation form is made after its event (``event``): its SHA-256 follows.
            self.affirmations[record.subject] = [
                replace(a, document_sha256=record.sha256) if a.seq == record.event else a
                for a in self.affirmations[record.subject]
            ]

    def _take_ceremony(self, event: ev.Event, record: sc.Record) -> None:
        ceremony_id = ceremony_id_of(record)
        if ceremony_id is None:
            return
        if isinstance(record, sc.CeremonyStarted):
            self.ceremonies[ceremony_id] = CeremonyInfo(
                ceremony_id=ceremony_id,
                kind=record.kind,
                purpose=record.purpose,
                rehearsal=record.rehearsal,
                started_seq=event.seq,
                started_time=event.time,
                started=record,
                control=event.actors,
                last_seq=event.seq,
                last_type=event.type,
            )
            return
        info = self.ceremonies.get(ceremony_id)
        if info is None:  # a verified ledger names only ceremonies that started
            return
        info.last_seq, info.last_type = event.seq, event.type
        if event.type in KEY_MATERIAL_EVENTS:
            info.key_material = True
        if isinstance(record, sc.CeremonyResumed):
            info.control = event.actors
        elif isinstance(record, sc.CeremonyClosed):
            info.outcome, info.outcome_reason = "closed", record.outcome
            info.ended_seq, info.ended_time = event.seq, event.time
        elif isinstance(record, sc.CeremonyVoided):
            info.outcome, info.outcome_reason = "voided", record.reason
            info.ended_seq, info.ended_time = event.seq, event.time
        elif isinstance(record, sc.SplitCreated):
            info.splits_created.append(record.split_id)
        elif isinstance(record, sc.SplitRetired):
            info.splits_retired.append(record.split_id)


def read(ledger: Ledger) -> Register:
    """The register of ``ledger`` as it stands (one checked pass over its events)."""
    return Register.from_events(ledger.events())


# --- the evidence a preflight recorded ----------------------------------------------------------------------
@dataclass(frozen=True)
class ReliedException:
    """An exception a preflight relied on, as its evidence copied it (PCI DSS 1.2.6)."""

    exception_id: str
    check: str
    subject: str
    justification: str
    compensating_controls: str
    approved_by: str
    expires: str
    # Every (check, subject) the exception covers, the first finding first: one record may cover several
    # findings (``also_covers``, as :attr:`ceremony.ledger.schema.PreflightException.covered`).
    covered: tuple[tuple[str, str], ...] = ()


def _covered(copied: dict[object, object]) -> tuple[tuple[str, str], ...]:
    """The findings an exception copied into preflight evidence covers: its own, then ``also_covers``."""
    first = (_str(copied.get("check")), _str(copied.get("subject")))
    more = copied.get("also_covers")
    rest = tuple(
        (_str(c.get("check")), _str(c.get("subject")))
        for c in (more if isinstance(more, list) else [])
        if isinstance(c, dict)
    )
    return (first, *rest)


@dataclass(frozen=True)
class FindingNote:
    """One finding of the preflight report kept as evidence."""

    verdict: str
    check: str
    subject: str
    summary: str


@dataclass(frozen=True)
class PreflightEvidence:
    """What a ``preflight.run`` recorded, read once: the schema keeps its report and coverage as the JSON
    objects the preflight wrote (:func:`ceremony.preflight.evidence_payload`), so this reader takes only what
    has the expected shape and ignores the rest."""

    blocked: bool
    uncovered: tuple[str, ...]
    record_only: bool
    relied_on: tuple[ReliedException, ...]
    counts: tuple[tuple[str, str], ...] | None  # (verdict, how many) from the report, by verdict; None: none
    findings: tuple[FindingNote, ...]

    @classmethod
    def of(cls, record: sc.PreflightRun) -> PreflightEvidence:
        coverage = record.coverage if isinstance(record.coverage, dict) else {}
        report = record.report if isinstance(record.report, dict) else {}
        relied = coverage.get("exceptions_relied_on")
        found = report.get("findings")
        counts = report.get("counts")
        return cls(
            blocked=record.blocked,
            uncovered=record.uncovered,
            record_only=bool(record.record_only),
            relied_on=tuple(
                ReliedException(
                    exception_id=_str(e.get("id")),
                    check=_str(e.get("check")),
                    subject=_str(e.get("subject")),
                    justification=_str(e.get("justification")),
                    compensating_controls=_str(e.get("compensating_controls")),
                    approved_by=_str(e.get("approved_by")),
                    expires=_str(e.get("expires")),
                    covered=_covered(e),
                )
                for e in (relied if isinstance(relied, list) else [])
                if isinstance(e, dict)
            ),
            counts=tuple((str(k), f"{counts[k]}") for k in sorted(counts))
            if isinstance(counts, dict)
            else None,
            findings=tuple(
                FindingNote(
                    _str(f.get("verdict")),
                    _str(f.get("check")),
                    _str(f.get("subject")),
                    _str(f.get("summary")),
                )
                for f in (found if isinstance(found, list) else [])
                if isinstance(f, dict)
            ),
        )


def _str(value: object) -> str:
    return "" if value is None else str(value)


__all__ = [
    "KEY_MATERIAL_EVENTS",
    "Affirmation",
    "CeremonyInfo",
    "FindingNote",
    "KeyInfo",
    "PreflightEvidence",
    "Receipt",
    "Recorded",
    "Register",
    "ReliedException",
    "SplitInfo",
    "ceremony_id_of",
    "key_id_of",
    "ledger_time",
    "person_id_of",
    "read",
    "split_id_of",
]
