"""The typed event schema: one frozen record class per event type, its payload fields and its signing rule
(DESIGN §5: every event is signed under its rule).

Each class names its ``TYPE``, declares its payload fields (with the check each value must pass) and its
:class:`SigningRule`: which roles must sign, how many distinct people, which people named in the payload
must be among the signers, and whether the actors must be. :func:`parse` turns a stored ``(type, payload)``
into its record or raises :class:`~ceremony.errors.EventFormError` (an unknown type raises
:class:`~ceremony.errors.UnknownEventTypeError`); nothing outside this module reads a raw payload.

A payload is closed: a field the class does not declare is refused, so no reader can be fed a value that
the schema never checked. Fields that name something in history carry a *reference kind* (a person who
must be enrolled, a key or split that must be registered, a ceremony that must have started, or an id that
must be new); :class:`~ceremony.ledger.state.LedgerState` checks those against history at that point, and
checks the signing rule against the roles each signer held at that sequence number.

The writer (:mod:`ceremony.ledger.store`) and ``ceremony verify`` use the same classes and the same state,
so what the writer would refuse is a fault when found in a file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import permutations
from typing import Any, ClassVar, Final, Self

from ceremony.errors import EventFormError, UnknownEventTypeError
from ceremony.ledger.canonical import JSONObject, JSONValue

# --- vocabularies ------------------------------------------------------------------------------------------
ROLES: Final = ("security_officer", "administrator", "witness", "custodian")
ROLE_NAMES: Final = {
    "security_officer": "security officer",
    "administrator": "ceremony administrator",
    "witness": "witness",
    "custodian": "key custodian",
}
# "demonstrated": the person typed a share that was not theirs (DESIGN §3: knowledge shown is knowledge).
EXPOSURE_KINDS: Final = ("assigned", "shown", "entered", "handed", "printed", "returned", "demonstrated")
SCHEMES: Final = ("shamir", "xor")
KEY_TYPES: Final = ("AES-128", "AES-192", "AES-256", "TDES-2KEY", "TDES-3KEY", "GENERIC")
CEREMONY_KINDS: Final = ("generation", "recovery", "reshare", "retirement", "key_block_check")
DOCUMENT_KINDS: Final = (
    "share_card",
    "acknowledgement",
    "minutes",
    "reaffirmation",
    "anchor",
    "transmittal",
    "destruction",
    "key_block_transmittal",
)
# How each key check value was computed (ceremony.crypto.kcv.KCVMethod; X9.24-1 / PCI PIN) and how many
# bytes of the computed block it keeps: a recorded KCV can always be recomputed and compared.
KCV_METHODS: Final = {"AES-CMAC-X9.24": 5, "TDES-ECB-X9.24": 3, "HMAC-SHA256-ZERO-BLOCK": 5}
FORMAT_VERSION: Final = 2

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_HEX = re.compile(r"[0-9a-f]+")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


# --- field checks ------------------------------------------------------------------------------------------
Check = Callable[[str, object], object]


def _text(max_len: int = 500) -> Check:
    def check(name: str, value: object) -> object:
        if not isinstance(value, str) or not value.strip() or len(value) > max_len:
            raise EventFormError(f"field {name!r} must be non-empty text of at most {max_len} characters")
        return value

    return check


def _any_text(max_len: int = 500) -> Check:
    def check(name: str, value: object) -> object:
        if not isinstance(value, str) or len(value) > max_len:
            raise EventFormError(f"field {name!r} must be text of at most {max_len} characters")
        return value

    return check


def _ident(name: str, value: object) -> object:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise EventFormError(f"field {name!r} must be an id (letters, digits, '.', '_', ':', '-')")
    return value


def _int(low: int, high: int) -> Check:
    def check(name: str, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise EventFormError(f"field {name!r} must be a whole number from {low} to {high}")
        return value

    return check


def _bool(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise EventFormError(f"field {name!r} must be true or false")
    return value


def _hex(length: int | None = None, max_len: int = 128) -> Check:
    def check(name: str, value: object) -> object:
        if (
            not isinstance(value, str)
            or not _HEX.fullmatch(value)
            or (length is not None and len(value) != length)
            or len(value) > max_len
        ):
            size = f"{length} " if length else ""
            raise EventFormError(f"field {name!r} must be {size}lowercase hex digits")
        return value

    return check


def _time(name: str, value: object) -> object:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise EventFormError(f"field {name!r} must be a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
    return value


def _choice(*choices: str) -> Check:
    allowed = frozenset(choices)

    def check(name: str, value: object) -> object:
        if not isinstance(value, str) or value not in allowed:
            raise EventFormError(f"field {name!r} must be one of {', '.join(choices)}")
        return value

    return check


def _list(item: Check, *, max_items: int = 255, unique: bool = False, non_empty: bool = False) -> Check:
    def check(name: str, value: object) -> object:
        if not isinstance(value, list) or len(value) > max_items or (non_empty and not value):
            raise EventFormError(f"field {name!r} must be a list of at most {max_items} items")
        out = tuple(item(f"{name}[{i}]", v) for i, v in enumerate(value))
        if unique and len(set(out)) != len(out):
            raise EventFormError(f"field {name!r} names the same item twice")
        return out

    return check


def _roles(name: str, value: object) -> object:
    roles = _list(_choice(*ROLES), max_items=len(ROLES), unique=True, non_empty=True)(name, value)
    assert isinstance(roles, tuple)
    return roles


def _numbered_hex(length: int | None = None) -> Check:
    """An object mapping share numbers "1".."n" to hex digests/KCVs (checked against n by the record)."""
    item = _hex(length)

    def check(name: str, value: object) -> object:
        if not isinstance(value, dict) or not value or len(value) > 255:
            raise EventFormError(f"field {name!r} must map share numbers to hex values")
        out: dict[int, str] = {}
        for key, v in value.items():
            if not (isinstance(key, str) and key.isdigit() and key == str(int(key)) and 1 <= int(key) <= 255):
                raise EventFormError(f"field {name!r} has {key[:8]!r}, which is not a share number")
            out[int(key)] = str(item(f"{name}[{key}]", v))
        return out

    return check


def _object(name: str, value: object) -> object:
    """A JSON object kept as recorded (preflight evidence: the report and what covered it)."""
    if not isinstance(value, dict):
        raise EventFormError(f"field {name!r} must be a JSON object")
    return value


def _holding(name: str, value: object) -> object:
    if not isinstance(value, dict) or set(value) != {"split_id", "share_number"}:
        raise EventFormError(f"field {name!r} must name a split_id and a share_number")
    _ident(f"{name}.split_id", value["split_id"])
    _int(1, 255)(f"{name}.share_number", value["share_number"])
    return value


def _check_subjects(name: str, value: object) -> object:
    """A non-empty list of {"check", "subject"} objects (the findings a preflight exception also covers)."""
    if not isinstance(value, list) or not value or len(value) > 64:
        raise EventFormError(f"field {name!r} must list from 1 to 64 findings")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"check", "subject"}:
            raise EventFormError(f"field {name}[{i}] must name a check and a subject")
        _text(64)(f"{name}[{i}].check", item["check"])
        _text(200)(f"{name}[{i}].subject", item["subject"])
        out.append({"check": item["check"], "subject": item["subject"]})
    return tuple(out)


# --- reference kinds: what a field must name at that point in history --------------------------------------
PERSON: Final = "person"  # an enrolled person, active at that point
ANY_PERSON: Final = "any_person"  # an enrolled person, active or deactivated since
NEW_PERSON: Final = "new_person"
KEY: Final = "key"
NEW_KEY: Final = "new_key"
SPLIT: Final = "split"
NEW_SPLIT: Final = "new_split"
CEREMONY: Final = "ceremony"
NEW_CEREMONY: Final = "new_ceremony"


def field(
    check: Check, *, optional: bool = False, ref: str | None = None, many: bool = False
) -> Any:  # dataclasses.field's own type
    """A payload field: its check, whether it may be absent, and what it must name in history."""
    meta = {"check": check, "optional": optional, "ref": ref, "many": many}
    if optional:
        return dataclasses.field(default=None, metadata=meta)
    return dataclasses.field(metadata=meta)


def person(*, optional: bool = False, active: bool = True) -> Any:
    return field(_ident, optional=optional, ref=PERSON if active else ANY_PERSON)


def people(*, optional: bool = False, active: bool = True, non_empty: bool = False) -> Any:
    return field(
        _list(_ident, unique=True, non_empty=non_empty),
        optional=optional,
        ref=PERSON if active else ANY_PERSON,
        many=True,
    )


def ceremony(*, optional: bool = False, new: bool = False) -> Any:
    return field(_ident, optional=optional, ref=NEW_CEREMONY if new else CEREMONY)


def key(*, optional: bool = False, new: bool = False) -> Any:
    return field(_ident, optional=optional, ref=NEW_KEY if new else KEY)


def split(*, optional: bool = False, new: bool = False) -> Any:
    return field(_ident, optional=optional, ref=NEW_SPLIT if new else SPLIT)


def ident(*, optional: bool = False) -> Any:
    return field(_ident, optional=optional)


def text(max_len: int = 500, *, optional: bool = False) -> Any:
    return field(_text(max_len), optional=optional)


def number(low: int, high: int, *, optional: bool = False) -> Any:
    return field(_int(low, high), optional=optional)


def flag(*, optional: bool = False) -> Any:
    return field(_bool, optional=optional)


def hexa(length: int | None = None, *, optional: bool = False) -> Any:
    return field(_hex(length), optional=optional)


def one_of(*choices: str, optional: bool = False) -> Any:
    return field(_choice(*choices), optional=optional)


def kcv_how(*, optional: bool = False) -> Any:
    return one_of(*KCV_METHODS, optional=optional)


def _kcv_length(kcv_hex: str, method: str) -> None:
    size = KCV_METHODS[method]
    if len(kcv_hex) != 2 * size:
        raise EventFormError(f"a {method} key check value is {size} bytes ({2 * size} hex digits)")


def numbered(length: int | None = None, *, optional: bool = False) -> Any:
    return field(_numbered_hex(length), optional=optional)


def evidence(*, optional: bool = False) -> Any:
    return field(_object, optional=optional)


def texts(max_len: int = 500, *, optional: bool = False) -> Any:
    return field(_list(_text(max_len)), optional=optional)


# --- signing rules -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """One signer a rule needs: a person holding one of ``roles`` (any enrolled person when empty), or the
    person the payload field ``person_field`` names (who must also hold one of ``roles``, if given)."""

    roles: frozenset[str] = frozenset()
    person_field: str | None = None

    def describe(self) -> str:
        who = " or ".join(ROLE_NAMES[r] for r in sorted(self.roles)) if self.roles else "enrolled person"
        if self.person_field:
            return f"the {who} named in {self.person_field!r}"
        return f"a {who}" if who[0] not in "aeiou" else f"an {who}"


def role(*names: str, person_field: str | None = None) -> Slot:
    return Slot(frozenset(names), person_field)


@dataclass(frozen=True)
class SigningRule:
    """Who must sign an event: one distinct signer per slot; ``actors_sign``: every actor is a signer."""

    slots: tuple[Slot, ...]
    actors_sign: bool = True

    @property
    def min_signers(self) -> int:
        return max(1, len(self.slots))

    def describe(self) -> str:
        parts = [s.describe() for s in self.slots] or ["one enrolled person"]
        words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        distinct = f" ({len(parts)} different people)" if len(parts) > 1 else ""
        return f"signed by {words}{distinct}"

    def unmet(
        self,
        signers: Sequence[str],
        roles_of: Callable[[str], frozenset[str]],
        named: Mapping[str, str],
    ) -> str | None:
        """Why ``signers`` do not satisfy the rule, or None. ``named`` maps payload fields to person ids."""
        if len(set(signers)) < self.min_signers:
            return f"needs {self.min_signers} different signers, has {len(set(signers))}"
        for slot in self.slots:
            if slot.person_field is not None:
                wanted = named.get(slot.person_field)
                if wanted is None or wanted not in signers:
                    return f"the person named in {slot.person_field!r} ({wanted}) did not sign"
        # Small sets (≤ 4 slots, a handful of signers): try every assignment of distinct signers to slots.
        for chosen in permutations(signers, len(self.slots)):
            if all(
                self._fits(slot, who, roles_of, named) for slot, who in zip(self.slots, chosen, strict=True)
            ):
                return None
        return "no assignment of the signers fills every role it needs"

    @staticmethod
    def _fits(
        slot: Slot, who: str, roles_of: Callable[[str], frozenset[str]], named: Mapping[str, str]
    ) -> bool:
        if slot.person_field is not None and named.get(slot.person_field) != who:
            return False
        return not slot.roles or bool(slot.roles & roles_of(who))


CONTROL: Final = SigningRule((role("administrator"), role("witness")))
OFFICER_AND_WITNESS: Final = SigningRule((role("security_officer"), role("witness")))
CUSTODIAN_AND_WITNESS: Final = SigningRule((role("custodian", person_field="person_id"), role("witness")))
CUSTODIAN_ON_CARD: Final = SigningRule((role("custodian"), role("witness")))


# --- records -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldSpec:
    name: str
    check: Check
    optional: bool
    ref: str | None
    many: bool


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of every event record: ``TYPE``, ``RULE``, the declared fields, parsing and writing."""

    TYPE: ClassVar[str] = ""
    RULE: ClassVar[SigningRule] = CONTROL
    FIELDS: ClassVar[tuple[FieldSpec, ...]] = ()
    _NAMES: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_payload(cls, payload: Mapping[str, JSONValue]) -> Self:
        """The record for a payload, every field checked; unknown fields refused."""
        extra = payload.keys() - cls._NAMES
        if extra:
            raise EventFormError(f"{cls.TYPE} has no field {sorted(extra)[0][:40]!r}")
        values: dict[str, object] = {}
        for spec in cls.FIELDS:
            value = payload.get(spec.name)
            if value is None:
                if not spec.optional:
                    raise EventFormError(f"{cls.TYPE} needs field {spec.name!r}")
                continue
            values[spec.name] = spec.check(spec.name, value)
        record = cls(**values)
        record.validate()
        return record

    def validate(self) -> None:
        """Cross-field checks of a record (override where fields depend on each other)."""

    def to_payload(self) -> JSONObject:
        out: JSONObject = {}
        for spec in self.FIELDS:
            value = getattr(self, spec.name)
            if value is None:
                continue
            out[spec.name] = _to_json(value)
        return out

    def rule(self) -> SigningRule:
        return self.RULE

    def references(self) -> Iterable[tuple[str, str, str]]:
        """(reference kind, field name, id) for every field that names something in history."""
        for spec in self.FIELDS:
            if spec.ref is None:
                continue
            value = getattr(self, spec.name)
            if value is None:
                continue
            if spec.many:
                for item in value:
                    yield spec.ref, spec.name, str(item)
            else:
                yield spec.ref, spec.name, str(value)

    def named_people(self) -> dict[str, str]:
        """Payload fields that name one person (for rules whose slot names a field)."""
        return {
            spec.name: str(getattr(self, spec.name))
            for spec in self.FIELDS
            if spec.ref in (PERSON, ANY_PERSON, NEW_PERSON) and not spec.many and getattr(self, spec.name)
        }


def _to_json(value: object) -> JSONValue:
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    assert value is None or isinstance(value, (bool, int, str, list))
    return value


REGISTRY: dict[str, type[Record]] = {}


def event(type_name: str, rule: SigningRule | None = None) -> Callable[[type[Record]], type[Record]]:
    """Class decorator: register a record class for ``type_name`` and collect its field specs."""

    def register(cls: type[Record]) -> type[Record]:
        if type_name in REGISTRY:
            raise RuntimeError(f"event type {type_name} defined twice")
        specs = tuple(
            FieldSpec(
                f.name, f.metadata["check"], f.metadata["optional"], f.metadata["ref"], f.metadata["many"]
            )
            for f in dataclasses.fields(cls)
        )
        cls.TYPE = type_name
        if rule is not None:
            cls.RULE = rule
        cls.FIELDS = specs
        cls._NAMES = frozenset(s.name for s in specs)
        REGISTRY[type_name] = cls
        return cls

    return register


def record_class(event_type: str) -> type[Record]:
    cls = REGISTRY.get(event_type)
    if cls is None:
        raise UnknownEventTypeError(f"{str(event_type)[:64]!r} is not an event type this ledger knows")
    return cls


def parse(event_type: str, payload: JSONValue) -> Record:
    """The typed record of one event: unknown type, missing/extra/invalid field all raise."""
    cls = record_class(event_type)
    if not isinstance(payload, dict):
        raise EventFormError("an event payload must be a JSON object")
    return cls.from_payload(payload)


# --- the ledger and its people -----------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Enrolment(Record):
    """What the ledger records of a person when they are enrolled (also the founder, in the genesis)."""

    person_id: str = field(_ident, ref=NEW_PERSON)
    name: str = text(64)
    employee_id: str = text(64)
    roles: tuple[str, ...] = field(_roles)
    certificate_pem: str = text(20_000)
    cert_sha256: str = hexa(64)


@event("ledger.genesis", SigningRule((role("security_officer", person_field="person_id"),)))
@dataclass(frozen=True, kw_only=True)
class Genesis(Enrolment):
    """Event #1: the ledger's identity, its root certificate, and the founding security officer, who signs
    it (proof that they hold their key). The anchor printed on paper is (ledger id, this event's hash, the
    root certificate's SHA-256)."""

    ledger_id: str = ident()
    rehearsal: bool = flag()
    format_version: int = number(1, 1000)
    created: str = field(_time)
    organisation: str = text(200)
    root_certificate_pem: str = text(20_000)
    root_cert_sha256: str = hexa(64)

    def validate(self) -> None:
        if "security_officer" not in self.roles:
            raise EventFormError("the founder named in the genesis must be a security officer")


# The enrolment right after the genesis, when the founder is the only person enrolled (see state.py).
FIRST_ENROLMENT: Final = SigningRule((role("security_officer"), role(person_field="person_id")))


@event(
    "participant.enrolled",
    SigningRule((role("security_officer"), role(), role(person_field="person_id"))),
)
@dataclass(frozen=True, kw_only=True)
class ParticipantEnrolled(Enrolment):
    """A new participant, signed by a security officer, a second enrolled person and the new person (proof
    of possession). ``same_name_confirmed``: the people already enrolled under the same normalised name whom
    the signers confirm, on record, to be different people (DESIGN §1)."""

    same_name_confirmed: tuple[str, ...] | None = people(optional=True, active=False)


@event("participant.deactivated", OFFICER_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class ParticipantDeactivated(Record):
    person_id: str = person()
    reason: str = text()


@event("participant.roles_changed", OFFICER_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class ParticipantRolesChanged(Record):
    person_id: str = person()
    roles: tuple[str, ...] = field(_roles)
    reason: str = text()


@event("auth.failed", SigningRule((role(),), actors_sign=False))
@dataclass(frozen=True, kw_only=True)
class AuthFailed(Record):
    """A wrong passphrase, attested by someone present (never by the person who failed alone)."""

    person_id: str = person(active=False)
    attempt: int = number(1, 1000)
    role: str = one_of(*ROLES)
    ceremony_id: str | None = ceremony(optional=True)


@event("auth.lockout_lifted", OFFICER_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class AuthLockoutLifted(Record):
    """A security officer and a witness lift the lockout that recorded failures put on a person."""

    person_id: str = person()
    failures: int = number(1, 1000)  # recorded failures the lockout counted
    reason: str = text()


# --- ceremonies --------------------------------------------------------------------------------------------
@event("ceremony.started")
@dataclass(frozen=True, kw_only=True)
class CeremonyStarted(Record):
    ceremony_id: str = ceremony(new=True)
    kind: str = one_of(*CEREMONY_KINDS)
    purpose: str = text()
    rehearsal: bool = flag()
    location: str | None = text(200, optional=True)
    key_id: str | None = key(optional=True)
    split_id: str | None = split(optional=True)
    output: str | None = text(64, optional=True)
    check_commitments: bool | None = flag(optional=True)
    kek_label: str | None = text(200, optional=True)
    kek_custodians: tuple[str, ...] | None = people(optional=True)  # planned, checked in a dry run
    kek_kcv_hex: str | None = hexa(optional=True)  # the KEK's KCV the custodians bring, when known
    # a key block output (issue 16): the KBPK planned, as for a KEK, and the header the block will carry
    kbpk_label: str | None = text(200, optional=True)
    kbpk_custodians: tuple[str, ...] | None = people(optional=True)
    kbpk_kcv_hex: str | None = hexa(optional=True)
    key_block_header: str | None = text(2000, optional=True)
    key_block_sha256: str | None = hexa(64, optional=True)  # a key block check: the block received
    # a token output (issue 16): where the key goes and how; the PIN is never recorded
    token_module: str | None = text(500, optional=True)
    token_label: str | None = text(64, optional=True)
    token_object_label: str | None = text(200, optional=True)
    token_mechanism: str | None = one_of("unwrap-0x210A", "unwrap-0x210B", "create", optional=True)
    custodians: tuple[str, ...] | None = people(optional=True)
    component_custodians: tuple[str, ...] | None = people(optional=True)
    reason: str | None = text(optional=True)
    scheme: str | None = one_of(*SCHEMES, optional=True)
    shares: int | None = number(2, 255, optional=True)
    threshold: int | None = number(2, 255, optional=True)


@event("ceremony.planned")
@dataclass(frozen=True, kw_only=True)
class CeremonyPlanned(Record):
    ceremony_id: str = ceremony()
    key_id: str = ident()
    split_id: str = ident()
    key_type: str = one_of(*KEY_TYPES)
    label: str = text()
    usage: str = text()
    cryptoperiod_days: int = number(1, 36_500)
    scheme: str = one_of(*SCHEMES)
    shares: int = number(2, 255)
    threshold: int = number(2, 255)
    custodians: tuple[str, ...] = people()
    # the key also leaves as a TR-31 block for its HSM (issue 16): the KBPK planned and the header
    kbpk_label: str | None = text(200, optional=True)
    kbpk_custodians: tuple[str, ...] | None = people(optional=True)
    kbpk_kcv_hex: str | None = hexa(optional=True)
    key_block_header: str | None = text(2000, optional=True)


@event("ceremony.resumed")
@dataclass(frozen=True, kw_only=True)
class CeremonyResumed(Record):
    ceremony_id: str = ceremony()
    after_seq: int = number(1, 2**53 - 1)


@event("ceremony.voided")
@dataclass(frozen=True, kw_only=True)
class CeremonyVoided(Record):
    ceremony_id: str = ceremony()
    reason: str = text()
    after_restart: bool | None = flag(optional=True)


@event("ceremony.closed")
@dataclass(frozen=True, kw_only=True)
class CeremonyClosed(Record):
    ceremony_id: str = ceremony()
    outcome: str = text(200)
    checkpoint: str | None = text(400, optional=True)
    envelopes_returned: tuple[str, ...] | None = texts(200, optional=True)
    retired_keys: tuple[str, ...] | None = field(_list(_ident), optional=True, ref=KEY, many=True)
    retired_splits: tuple[str, ...] | None = field(_list(_ident), optional=True, ref=SPLIT, many=True)


@event("preflight.run")
@dataclass(frozen=True, kw_only=True)
class PreflightRun(Record):
    ceremony_id: str = ceremony()
    blocked: bool = flag()
    uncovered: tuple[str, ...] = texts(1000)
    cleared: bool | None = flag(optional=True)
    coverage: object = evidence(optional=True)
    report: object = evidence(optional=True)
    air_gap: str | None = text(64, optional=True)
    record_only: bool | None = flag(optional=True)
    simulated: bool | None = flag(optional=True)
    taken_at: str | None = text(64, optional=True)


@event(
    "preflight.exception",
    SigningRule(
        (role("security_officer", person_field="approved_by"), role("witness", person_field="witness"))
    ),
)
@dataclass(frozen=True, kw_only=True)
class PreflightException(Record):
    """A PCI DSS 1.2.6 exception: a security officer and a different witness sign it."""

    id: str = ident()
    check: str = text(64)  # the preflight check's name, e.g. net.listening
    subject: str = text(200)
    justification: str = text(2000)
    compensating_controls: str = text(2000)
    approved_by: str = person()
    witness: str = person()
    created: str = text(64)
    expires: str = text(64)
    # The further findings one record covers ({"check", "subject"} each), when the officer ticked several on
    # the preflight screen; absent for one finding, as in every record written before.
    also_covers: tuple[dict[str, str], ...] | None = field(_check_subjects, optional=True)

    @property
    def covered(self) -> tuple[tuple[str, str], ...]:
        """Every (check, subject) the exception covers, the first one first."""
        more = tuple((c["check"], c["subject"]) for c in self.also_covers or ())
        return ((self.check, self.subject), *more)

    def validate(self) -> None:
        if len(set(self.covered)) != len(self.covered):
            raise EventFormError("a preflight exception names the same check and subject twice")


# --- keys and splits ---------------------------------------------------------------------------------------
@event("key.registered")
@dataclass(frozen=True, kw_only=True)
class KeyRegistered(Record):
    ceremony_id: str = ceremony()
    key_id: str = key(new=True)
    key_type: str = one_of(*KEY_TYPES)
    label: str = text()
    usage: str = text()
    kcv_hex: str = hexa()
    kcv_method: str = kcv_how()
    cryptoperiod_days: int = number(1, 36_500)
    test_key: bool = flag()
    length: int | None = number(1, 1024, optional=True)
    replaces_key_id: str | None = key(optional=True)  # new key material replacing this key (PCI DSS 3.7.5)
    # Where the key's bytes came from (issue 16, PCI PIN 5-1): absent or "laptop-csprng" (the OS CSPRNG),
    # or "token-rng" (a PKCS#11 token's generator, C_GenerateRandom), with the token's identity.
    random_source: str | None = one_of("laptop-csprng", "token-rng", optional=True)
    token_label: str | None = text(64, optional=True)
    token_serial: str | None = text(64, optional=True)
    token_manufacturer: str | None = text(64, optional=True)
    token_model: str | None = text(64, optional=True)
    token_firmware: str | None = text(16, optional=True)
    pin_entered_by: str | None = person(optional=True)

    def validate(self) -> None:
        _kcv_length(self.kcv_hex, self.kcv_method)
        named = (self.token_label, self.token_serial, self.token_manufacturer, self.token_model)
        if self.random_source == "token-rng" and (None in named or self.token_firmware is None):
            raise EventFormError("a key drawn from a token's generator names the token and its firmware")
        if self.random_source != "token-rng" and any(v is not None for v in (*named, self.pin_entered_by)):
            raise EventFormError("token fields are recorded only for a key drawn from a token's generator")


@event("split.created")
@dataclass(frozen=True, kw_only=True)
class SplitCreated(Record):
    ceremony_id: str = ceremony()
    key_id: str = key()
    split_id: str = split(new=True)
    scheme: str = one_of(*SCHEMES)
    shares: int = number(2, 255)
    threshold: int = number(2, 255)
    commitments: dict[int, str] = numbered(64)  # noqa: RUF009 - a field spec, like the others
    custodians: tuple[str, ...] | None = people(optional=True)
    share_kcvs: dict[int, str] | None = numbered(optional=True)  # noqa: RUF009 - a field spec
    share_kcv_method: str | None = kcv_how(optional=True)
    reason: str | None = text(optional=True)
    purpose: str | None = text(optional=True)
    replaces_split_id: str | None = split(optional=True)
    from_split_id: str | None = split(optional=True)

    def validate(self) -> None:
        if self.threshold > self.shares:
            raise EventFormError("a split's threshold cannot exceed its number of shares")
        if self.scheme == "xor" and self.threshold != self.shares:
            raise EventFormError("an XOR split needs every component: threshold must equal shares")
        numbers = set(range(1, self.shares + 1))
        if set(self.commitments) != numbers:
            raise EventFormError(
                f"field 'commitments' must map each share number 1..{self.shares} to a digest"
            )
        if self.share_kcvs is not None and set(self.share_kcvs) != numbers:
            raise EventFormError(f"field 'share_kcvs' must map each component 1..{self.shares} to a KCV")
        if self.custodians is not None and len(self.custodians) != self.shares:
            raise EventFormError("field 'custodians' must name one custodian per share")


@event("split.retired")
@dataclass(frozen=True, kw_only=True)
class SplitRetired(Record):
    ceremony_id: str | None = ceremony(optional=True)
    split_id: str = split()
    key_id: str | None = key(optional=True)
    reason: str = text()


@event("key.wiped")
@dataclass(frozen=True, kw_only=True)
class KeyWiped(Record):
    ceremony_id: str = ceremony()
    key_id: str = ident()  # may name a key generated but never registered (voided before)


@event("key.recovered")
@dataclass(frozen=True, kw_only=True)
class KeyRecovered(Record):
    ceremony_id: str = ceremony()
    key_id: str = key()
    split_id: str = split()
    kcv_hex: str = hexa()
    kcv_method: str = kcv_how()
    shares: tuple[int, ...] = field(_list(_int(1, 255), unique=True, non_empty=True))


@event("recovery.kcv_failed")
@dataclass(frozen=True, kw_only=True)
class RecoveryKcvFailed(Record):
    ceremony_id: str = ceremony()
    key_id: str = key()
    split_id: str = split()
    offered: tuple[int, ...] = field(_list(_int(1, 255)))
    bad_shares: tuple[int, ...] = field(_list(_int(1, 255)))
    reason: str = text()


@event("key.wrapped")
@dataclass(frozen=True, kw_only=True)
class KeyWrapped(Record):
    ceremony_id: str = ceremony()
    key_id: str = key()
    algorithm: str = text(64)
    key_kcv_hex: str = hexa()
    kek_label: str = text(200)
    kek_source: str = text(64)
    kek_kcv_hex: str = hexa()
    kek_kcv_method: str = kcv_how()
    kek_custodians: tuple[str, ...] = people()
    kek_component_kcvs: tuple[str, ...] = field(
        _list(_hex(None), non_empty=True)
    )  # each custodian's component KCV, in the same order
    kek_component_method: str = kcv_how()
    wrapped_length: int = number(1, 1 << 20)
    wrapped_sha256: str = hexa(64)

    def validate(self) -> None:
        if self.kek_source != "components":
            raise EventFormError("a KEK is formed from components its custodians type, never supplied whole")
        if len(self.kek_custodians) < 2 or len(set(self.kek_custodians)) != len(self.kek_custodians):
            raise EventFormError("a KEK needs at least two components from different custodians")
        if len(self.kek_component_kcvs) != len(self.kek_custodians):
            raise EventFormError("field 'kek_component_kcvs' must give one KCV per KEK custodian")
        for kcv in self.kek_component_kcvs:
            _kcv_length(kcv, self.kek_component_method)
        _kcv_length(self.kek_kcv_hex, self.kek_kcv_method)


@event("kek.component_entered", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class KekComponentEntered(Record):
    ceremony_id: str = ceremony()
    key_id: str = key()
    person_id: str = person()
    component_number: int = number(1, 255)
    component_kcv_hex: str = hexa()
    kcv_method: str = kcv_how()


@event("kbpk.component_entered", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class KbpkComponentEntered(Record):
    """A key block protection key's component typed by its custodian (issue 16): only its KCV is kept."""

    ceremony_id: str = ceremony()
    key_id: str = key()
    person_id: str = person()
    component_number: int = number(1, 255)
    component_kcv_hex: str = hexa()
    kcv_method: str = kcv_how()


TR31_VERSIONS = ("B", "D")


@dataclass(frozen=True, kw_only=True)
class _KeyBlockRecord(Record):
    """What a key block made here and a key block checked here both record: the key's KCV, the KBPK (formed
    from components its custodians typed: label, KCV, each component's KCV), the block's clear header,
    length and SHA-256. Not an event type itself."""

    ceremony_id: str = ceremony()
    key_id: str = key()
    key_kcv_hex: str = hexa()
    key_kcv_method: str = kcv_how()
    kbpk_label: str = text(200)
    kbpk_source: str = text(64)
    kbpk_kcv_hex: str = hexa()
    kbpk_kcv_method: str = kcv_how()
    kbpk_custodians: tuple[str, ...] = people()
    kbpk_component_kcvs: tuple[str, ...] = field(_list(_hex(None), non_empty=True))
    kbpk_component_method: str = kcv_how()
    block_version: str = one_of(*TR31_VERSIONS)
    header: str = text(2000)  # the block's clear header as written, optional blocks included
    block_length: int = number(16, 9999)
    block_sha256: str = hexa(64)

    def validate(self) -> None:
        if self.kbpk_source != "components":
            raise EventFormError("a KBPK is formed from components its custodians type, never supplied whole")
        if len(self.kbpk_custodians) < 2 or len(set(self.kbpk_custodians)) != len(self.kbpk_custodians):
            raise EventFormError("a KBPK needs at least two components from different custodians")
        if len(self.kbpk_component_kcvs) != len(self.kbpk_custodians):
            raise EventFormError("field 'kbpk_component_kcvs' must give one KCV per KBPK custodian")
        for kcv in self.kbpk_component_kcvs:
            _kcv_length(kcv, self.kbpk_component_method)
        _kcv_length(self.kbpk_kcv_hex, self.kbpk_kcv_method)
        _kcv_length(self.key_kcv_hex, self.key_kcv_method)
        if not self.header.startswith(self.block_version):
            raise EventFormError("field 'header' must begin with the block's version")


@event("key.block_exported")
@dataclass(frozen=True, kw_only=True)
class KeyBlockExported(_KeyBlockRecord):
    """The key written as a TR-31 / X9.143 key block under a KBPK formed from its custodians' components:
    the header's fields as well (what the block binds)."""

    key_usage: str = text(2)
    algorithm: str = text(1)
    mode_of_use: str = text(1)
    key_version: str = text(2)
    exportability: str = text(1)


@event("key_block.checked")
@dataclass(frozen=True, kw_only=True)
class KeyBlockChecked(_KeyBlockRecord):
    """A key block received from elsewhere, opened in a ceremony under the KBPK its custodians formed: the
    verdict (``verified``: the MAC verifies and the key inside has the registered KCV; ``mac_failed``;
    ``kcv_mismatch``: it opens to another key, ``found_kcv_hex``). Only a verified block is a custody route
    to the key (the KBPK's custodians hold it with the block)."""

    verdict: str = one_of("verified", "mac_failed", "kcv_mismatch")
    found_kcv_hex: str | None = hexa(optional=True)

    def validate(self) -> None:
        super().validate()
        if (self.found_kcv_hex is None) != (self.verdict == "mac_failed"):
            raise EventFormError("the KCV found is recorded exactly when the block opened (its MAC verified)")


@event("key.loaded")
@dataclass(frozen=True, kw_only=True)
class KeyLoaded(Record):
    """The key put into a PKCS#11 token (an HSM) and checked there: the token's own check value compared
    with the registered KCV before the ceremony may close (PCI PIN 15/16). Nobody learns the key by it; the
    PIN is typed by ``pin_entered_by`` and never recorded."""

    ceremony_id: str = ceremony()
    key_id: str = key()
    key_kcv_hex: str = hexa()
    key_kcv_method: str = kcv_how()
    token_label: str = text(64)
    token_serial: str = text(64)
    token_manufacturer: str = text(64)
    token_model: str = text(64)
    token_firmware: str = text(16)
    token_hardware: str = text(16, optional=True)
    library: str = text(200, optional=True)
    object_label: str = text(200)
    object_id_hex: str = hexa()
    key_usage: str = text(2, optional=True)
    mechanism: str = one_of("unwrap-0x210A", "unwrap-0x210B", "create")
    # how the token's check value was computed (see ceremony.hsm.pkcs11): in the token with the registered
    # method (cmac/ecb), the token's CKA_CHECK_VALUE, or a test wrap done by the token (a wrap-only KEK)
    check_source: str = one_of("token-cmac", "token-ecb", "cka-check-value", "token-wrap")
    token_check_value_hex: str = hexa()
    attributes: tuple[str, ...] = texts(64)  # the key's boolean attributes read back that are true
    pin_entered_by: str = person()

    def validate(self) -> None:
        _kcv_length(self.key_kcv_hex, self.key_kcv_method)
        if "sensitive" not in self.attributes or "extractable" in self.attributes:
            raise EventFormError("a loaded key is recorded sensitive and not extractable, or not at all")


@event("key.retired")
@dataclass(frozen=True, kw_only=True)
class KeyRetired(Record):
    ceremony_id: str = ceremony()
    key_id: str = key()
    label: str = text()
    kcv_hex: str = hexa()
    reason: str = text()
    # The key registered to replace it: retiring it then clears a departure's flag (PCI DSS 3.7.5).
    replaced_by_key_id: str | None = key(optional=True)


@event("key.quorum_lowered", OFFICER_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class KeyQuorumLowered(Record):
    """A security officer and a witness decide that ``quorum`` people (at least 2) may rebuild the key —
    fewer than its quorum until now (DESIGN §3). Shown in the custody and keys reports and the minutes."""

    ceremony_id: str | None = ceremony(optional=True)
    key_id: str = key()
    quorum: int = number(2, 255)
    reason: str = text(2000)
    coalition: tuple[str, ...] | None = people(optional=True)  # who will then be able to rebuild it


# --- shares, envelopes, incidents --------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ShareEvent(Record):
    ceremony_id: str = ceremony()
    split_id: str = split()
    share_number: int = number(1, 255)


@dataclass(frozen=True, kw_only=True)
class CustodianShareEvent(ShareEvent):
    person_id: str = person()


@event("share.exposed", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class ShareExposed(CustodianShareEvent):
    """A person was given, shown or entered a share (the custody rule's input, PCI DSS 3.7.6). A returned
    envelope may come from someone who has left since: then the administrator and the witness sign."""

    ceremony_id: str | None = ceremony(optional=True)  # type: ignore[assignment]
    person_id: str = person(active=False)
    kind: str = one_of(*EXPOSURE_KINDS)
    envelope_serial: str | None = text(40, optional=True)
    printer: str | None = text(200, optional=True)

    def rule(self) -> SigningRule:
        # A returned envelope may come from someone who has left; demonstrated knowledge is recorded
        # whether or not the person who typed it agrees: the administrator and the witness sign both.
        return CONTROL if self.kind in ("returned", "demonstrated") else CUSTODIAN_AND_WITNESS


@event("share.received", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class ShareReceived(CustodianShareEvent):
    envelope_serial: str = text(40)
    method: str = one_of("recorded", "card")


@event("share.verified", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class ShareVerified(CustodianShareEvent):
    ok: bool = flag()
    reason: str | None = text(optional=True)


@event("share.card_delivered", CUSTODIAN_ON_CARD)
@dataclass(frozen=True, kw_only=True)
class ShareCardDelivered(ShareEvent):
    copies: int = number(1, 10)
    destination: str = text(200)
    ram_backed: bool = flag()


@event("share.card_failed", CUSTODIAN_ON_CARD)
@dataclass(frozen=True, kw_only=True)
class ShareCardFailed(ShareEvent):
    reason: str = text()


@event("share.card_wiped", CUSTODIAN_ON_CARD)
@dataclass(frozen=True, kw_only=True)
class ShareCardWiped(Record):
    """A share card's file in the RAM folder was overwritten and removed. ``leftover``: found at start, left
    by an interrupted run; recorded when the administrator and the witness resume or void its ceremony."""

    ceremony_id: str = ceremony()
    split_id: str = split()
    file: str = text(500)
    leftover: bool | None = flag(optional=True)

    def rule(self) -> SigningRule:
        return CONTROL if self.leftover else CUSTODIAN_ON_CARD


@event("envelope.inspected", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class EnvelopeInspected(CustodianShareEvent):
    key_id: str = key()
    serial_read: str = field(_any_text(40))
    serial_recorded: str = field(_any_text(40))
    serial_matches: bool = flag()
    seal_intact_custodian: bool = flag()
    seal_intact_witness: bool = flag()


# What became of a sealed envelope when its split is retired or its holder leaves (DESIGN §4.6; PCI PIN:
# returned components are destroyed under dual control, with a record). Each share's envelope ends in one of:
# destroyed (``envelope.destroyed``), returned with its seal broken (``envelope.returned``, seal_intact
# false: an incident), or not returned (``envelope.not_returned``: an incident, the share stays held). Only a
# destroyed share stops counting towards a key's smallest coalition (ceremony.policy.custody).
# ``ceremony_id`` is absent when a departure (no ceremony) records it; a security officer or an
# administrator signs with a witness.
ENVELOPE_CONTROL: Final = SigningRule((role("security_officer", "administrator"), role("witness")))
ENVELOPE_DESTRUCTION: Final = SigningRule(
    (
        role("security_officer", "administrator", person_field="destroyed_by"),
        role("witness", person_field="witnessed_by"),
    )
)


@event("envelope.returned", ENVELOPE_CONTROL)
@dataclass(frozen=True, kw_only=True)
class EnvelopeReturned(ShareEvent):
    """An envelope handed back. Since the destruction record (``envelope.destroyed``) this records a return
    with a broken seal (an incident: the share may have been copied, it still counts); older ledgers also
    hold intact returns "for destruction" that were never recorded as destroyed. The rule was
    administrator + witness: a security officer + witness (a departure) is accepted too."""

    ceremony_id: str | None = ceremony(optional=True)  # type: ignore[assignment]
    key_id: str = key()
    envelope_serial: str = field(_any_text(40))
    recorded_holder: str = person(active=False)
    returned_by: str = text(200)
    seal_intact: bool = flag()
    disposition: str = text(200)


@event("envelope.destroyed", ENVELOPE_DESTRUCTION)
@dataclass(frozen=True, kw_only=True)
class EnvelopeDestroyed(ShareEvent):
    """A sealed envelope returned and destroyed under dual control: ``destroyed_by`` (a security officer or
    an administrator) and ``witnessed_by`` (a witness), two different people, both sign. The serial read
    from the envelope must be the one recorded at sealing; from this event the share no longer counts
    towards the key's smallest coalition and nobody holds it."""

    ceremony_id: str | None = ceremony(optional=True)  # type: ignore[assignment]
    key_id: str = key()
    envelope_serial: str = field(_any_text(40))  # as recorded at sealing (share.received)
    serial_read: str = field(_any_text(40))  # as read from the envelope before it was destroyed
    recorded_holder: str = person(active=False)
    returned_by: str = text(200)
    destroyed_by: str = person()
    witnessed_by: str = person()
    method: str = text(200)

    def validate(self) -> None:
        if self.serial_read != self.envelope_serial:
            raise EventFormError(
                f"envelope {self.serial_read[:40]!r} was read, {self.envelope_serial[:40]!r} recorded: "
                "only the envelope recorded at sealing is destroyed on record"
            )
        if self.destroyed_by == self.witnessed_by:
            raise EventFormError("an envelope is destroyed by one person and witnessed by another")


@event("envelope.not_returned", ENVELOPE_CONTROL)
@dataclass(frozen=True, kw_only=True)
class EnvelopeNotReturned(ShareEvent):
    """An envelope that was asked for and not handed back (an incident): its share stays counted, held by
    its recorded holder."""

    ceremony_id: str | None = ceremony(optional=True)  # type: ignore[assignment]
    key_id: str = key()
    envelope_serial: str = field(_any_text(40))
    recorded_holder: str = person(active=False)
    reason: str = text(2000)


@event("incident.recorded", SigningRule((role("administrator", "custodian"), role("witness"))))
@dataclass(frozen=True, kw_only=True)
class IncidentRecorded(ShareEvent):
    key_id: str = key()
    kind: str = text(64)
    what: str = text(2000)
    inspection_seq: int | None = number(1, 2**53 - 1, optional=True)


@event("incident.decided", OFFICER_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class IncidentDecided(ShareEvent):
    key_id: str = key()
    incident_seq: int = number(1, 2**53 - 1)
    decision: str = text(64)
    reason: str = text(2000)


@event("recovery.share_refused", CUSTODIAN_AND_WITNESS)
@dataclass(frozen=True, kw_only=True)
class RecoveryShareRefused(Record):
    """A refused share entry. An entry that could not be read as a share has no header: its number and
    the key and split it names are absent (they were required before, and such refusals went unrecorded)."""

    ceremony_id: str = ceremony()
    person_id: str = person()
    split_id: str = split()
    reason: str = text()
    share_number: int | None = number(0, 255, optional=True)
    entered_key_id: str | None = field(_any_text(64), optional=True)
    entered_split_id: str | None = field(_any_text(64), optional=True)


# --- paper -------------------------------------------------------------------------------------------------
@event(
    "custodian.reaffirmed",
    SigningRule(
        (role("custodian", person_field="person_id"), role("security_officer", person_field="officer_id"))
    ),
)
@dataclass(frozen=True, kw_only=True)
class CustodianReaffirmed(Record):
    person_id: str = person()
    officer_id: str = person()
    wording_sha256: str = hexa(64)
    period: str = text(16)
    next_due: str = text(32)
    holdings: tuple[dict[str, object], ...] = field(_list(_holding))


@event("document.issued")
@dataclass(frozen=True, kw_only=True)
class DocumentIssued(Record):
    """An issued document's SHA-256. ``signed_by``: the people whose signatures the PDF carries (none for a
    sealed share card) — each of them signs this event too, so a signed document can only be recorded by the
    people who signed it; and at least two different people sign every document record, except the ledger
    anchor (kind ``anchor``), issued at founding by the founding security officer alone."""

    kind: str = one_of(*DOCUMENT_KINDS)
    sha256: str = hexa(64)
    subject: str = text(200)
    signed_by: tuple[str, ...] = people()
    file_name: str | None = text(255, optional=True)
    ceremony_id: str | None = ceremony(optional=True)
    event: int | None = number(1, 2**53 - 1, optional=True)

    def validate(self) -> None:
        if self.kind == "anchor" and len(self.signed_by) != 1:
            raise EventFormError(
                "an anchor document is signed by exactly one person, the founding security officer "
                f"(signed_by names {len(self.signed_by)})"
            )

    def rule(self) -> SigningRule:
        if self.kind == "anchor":
            # Issued at founding, when the founder is the only person enrolled: one signer, who is the
            # security officer whose signature the PDF carries (DESIGN §5: genesis and anchor).
            return SigningRule((role("security_officer", person_field="signed_by[0]"),))
        named = tuple(Slot(person_field=f"signed_by[{i}]") for i in range(len(self.signed_by)))
        return SigningRule(named + (Slot(),) * max(0, 2 - len(named)))

    def named_people(self) -> dict[str, str]:
        return {f"signed_by[{i}]": who for i, who in enumerate(self.signed_by)}


EVENT_TYPES: Final = frozenset(REGISTRY)

__all__ = [
    "EVENT_TYPES",
    "REGISTRY",
    "Record",
    "SigningRule",
    "Slot",
    "parse",
    "record_class",
]
