"""Ledger events: their types, their payloads, and exactly what is hashed and signed (DESIGN §5).

**Event hash.** For the event with sequence number ``seq`` (1, 2, ...)::

    body = canonical_json({"actors": [...], "attested_by": [...], "payload": {...},
                           "time": "YYYY-MM-DDTHH:MM:SSZ", "type": "..."})
    hash = SHA-256( u32be(len(EVENT_DOMAIN)) || EVENT_DOMAIN
                 || u64be(seq)
                 || prev_hash                       (32 bytes; 32 zero bytes for event 1)
                 || u32be(len(body)) || body )

``EVENT_DOMAIN`` is ``b"ceremony.ledger.event.v1"``. Every length is prefixed, so no two different
(seq, previous hash, body) triples hash the same bytes; time, type, actors, the list of people who sign
the event and the payload are all inside ``body`` and so all covered. ``attested_by`` (sorted person ids)
is covered too: removing an attestation row is detected, not only altering one.

**Attestation.** A person's ECDSA P-256 signature (SHA-256, DER encoded) over::

    u32be(len(ATTESTATION_DOMAIN)) || ATTESTATION_DOMAIN || event hash

with ``ATTESTATION_DOMAIN = b"ceremony.ledger.attestation.v1"``, so a ledger signature can never be replayed
as a signature over a PDF or any other message signed by the same key (DESIGN §1).

**Types.** The constants below are the event types with a known payload shape, checked on write and on
verify (extra fields are allowed so flows can add context such as a ceremony id). Any other type whose name
is dotted lowercase words (``ceremony.started``, ``preflight.run``, ``document.issued``) is accepted with any
JSON-object payload, so later features need no schema change.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ceremony.errors import InputError
from ceremony.ledger.canonical import JSONObject, JSONValue, canonical_json, normalise, parse_canonical

EVENT_DOMAIN: Final = b"ceremony.ledger.event.v1"
ATTESTATION_DOMAIN: Final = b"ceremony.ledger.attestation.v1"
GENESIS_PREVIOUS_HASH: Final = bytes(32)
HASH_SIZE: Final = 32

# --- event types with a known payload -------------------------------------------------------------------
PARTICIPANT_ENROLLED: Final = "participant.enrolled"
PARTICIPANT_DEACTIVATED: Final = "participant.deactivated"
KEY_REGISTERED: Final = "key.registered"
SPLIT_CREATED: Final = "split.created"
SPLIT_RETIRED: Final = "split.retired"
SHARE_EXPOSED: Final = "share.exposed"
KEY_REPLACEMENT_CLEARED: Final = "key.replacement_cleared"
# Generic types others write; named here so counts and reports agree on spelling.
CEREMONY_STARTED: Final = "ceremony.started"

ROLES: Final = frozenset({"administrator", "custodian", "witness", "security_officer"})
EXPOSURE_KINDS: Final = frozenset({"assigned", "shown", "entered", "handed", "printed", "returned"})
SCHEMES: Final = frozenset({"shamir", "xor"})

_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_HEX = re.compile(r"[0-9a-f]+")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


class EventFormError(InputError):
    """An event type, actor list or payload is not well-formed."""


@dataclass(frozen=True)
class Attestation:
    """``person_id`` signed event ``seq``'s hash (see module docstring for the signed bytes)."""

    seq: int
    person_id: str
    signature: bytes


@dataclass(frozen=True)
class Event:
    """One committed ledger event. ``payload_json``/``actors`` are stored in canonical form."""

    seq: int
    time: str
    type: str
    actors: tuple[str, ...]
    attested_by: tuple[str, ...]
    payload_json: str
    previous_hash: bytes
    hash: bytes
    attestations: tuple[Attestation, ...] = ()

    @property
    def payload(self) -> JSONObject:
        value = parse_canonical(self.payload_json)
        assert isinstance(value, dict)
        return value

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines form used by export (hashes and signatures in lowercase hex)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "type": self.type,
            "actors": list(self.actors),
            "attested_by": list(self.attested_by),
            "payload": self.payload,
            "previous_hash": self.previous_hash.hex(),
            "hash": self.hash.hex(),
            "attestations": [
                {"person_id": a.person_id, "signature": a.signature.hex()} for a in self.attestations
            ],
        }


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z``, whole seconds (order is given by seq, not by time)."""
    if moment.tzinfo is None:
        raise EventFormError("The ledger clock must give timezone-aware times.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_time(text: str) -> None:
    if not _TIME.fullmatch(text):
        raise EventFormError("The event time is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SSZ).")
    try:
        datetime.fromisoformat(text[:-1])
    except ValueError:
        raise EventFormError("The event time is not a real date and time.") from None


def check_type_name(event_type: str) -> None:
    if not isinstance(event_type, str) or not _TYPE_NAME.fullmatch(event_type) or len(event_type) > 64:
        raise EventFormError(
            f"{str(event_type)[:40]!r} is not an event type "
            "(dotted lowercase words, e.g. 'ceremony.started')."
        )


def check_person_ids(ids: Sequence[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for person in ids:
        if not isinstance(person, str) or not _ID.fullmatch(person):
            raise EventFormError(f"The {what} list holds {str(person)[:20]!r}, which is not a person id.")
        out.append(person)
    if len(set(out)) != len(out):
        raise EventFormError(f"The {what} list names the same person twice.")
    return tuple(out)


def event_body(
    time: str, event_type: str, actors: Sequence[str], attested_by: Sequence[str], payload: JSONValue
) -> bytes:
    return canonical_json(
        {
            "actors": list(actors),
            "attested_by": list(attested_by),
            "payload": payload,
            "time": time,
            "type": event_type,
        }
    )


def event_body_from_canonical(
    time: str, event_type: str, actors_json: str, attested_by_json: str, payload_json: str
) -> bytes:
    """:func:`event_body` assembled from parts already in canonical text form (as stored and checked by
    :func:`~ceremony.ledger.canonical.parse_canonical`); ``time`` and ``type`` must have passed
    :func:`check_time` / :func:`check_type_name` (plain ASCII). The keys below are in sorted order."""
    return (
        f'{{"actors":{actors_json},"attested_by":{attested_by_json},"payload":{payload_json},'
        f'"time":"{time}","type":"{event_type}"}}'
    ).encode()


def _prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def event_hash(seq: int, previous_hash: bytes, body: bytes) -> bytes:
    if len(previous_hash) != HASH_SIZE:
        raise EventFormError("A previous hash is 32 bytes.")
    digest = hashlib.sha256(_prefixed(EVENT_DOMAIN))
    digest.update(struct.pack(">Q", seq))
    digest.update(previous_hash)
    digest.update(_prefixed(body))
    return digest.digest()


def attestation_message(hash_of_event: bytes) -> bytes:
    """The bytes a participant signs to attest an event."""
    return _prefixed(ATTESTATION_DOMAIN) + hash_of_event


def cert_sha256(certificate_der: bytes) -> str:
    return hashlib.sha256(certificate_der).hexdigest()


# --- payload shapes -------------------------------------------------------------------------------------
def _text(payload: Mapping[str, JSONValue], name: str, *, max_len: int = 500) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise EventFormError(f"Field {name!r} must be non-empty text of at most {max_len} characters.")
    return value


def _ident(payload: Mapping[str, JSONValue], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise EventFormError(f"Field {name!r} must be an id (letters, digits, '.', '_', ':', '-').")
    return value


def _int(payload: Mapping[str, JSONValue], name: str, low: int, high: int) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EventFormError(f"Field {name!r} must be a whole number from {low} to {high}.")
    return value


def _hex(payload: Mapping[str, JSONValue], name: str, length: int | None = None) -> str:
    value = payload.get(name)
    if (
        not isinstance(value, str)
        or not _HEX.fullmatch(value)
        or (length is not None and len(value) != length)
    ):
        size = f"{length} " if length else ""
        raise EventFormError(f"Field {name!r} must be {size}lowercase hex digits.")
    return value


def _choice(payload: Mapping[str, JSONValue], name: str, choices: frozenset[str]) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or value not in choices:
        raise EventFormError(f"Field {name!r} must be one of {', '.join(sorted(choices))}.")
    return value


def _enrolled(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "person_id")
    _text(p, "name")
    _text(p, "employee_id", max_len=64)
    roles = p.get("roles")
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
        raise EventFormError(f"Field 'roles' must list one or more of {', '.join(sorted(ROLES))}.")
    if len(set(map(str, roles))) != len(roles):
        raise EventFormError("Field 'roles' names a role twice.")
    _text(p, "certificate_pem", max_len=20_000)
    _hex(p, "cert_sha256", 64)


def _deactivated(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "person_id")
    _text(p, "reason")


def _key_registered(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "key_id")
    _text(p, "key_type", max_len=64)
    _text(p, "label")
    _text(p, "usage")
    _hex(p, "kcv_hex")
    _text(p, "kcv_method", max_len=64)
    _int(p, "cryptoperiod_days", 1, 36_500)
    if not isinstance(p.get("test_key"), bool):
        raise EventFormError("Field 'test_key' must be true or false.")


def _split_created(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "key_id")
    _ident(p, "split_id")
    scheme = _choice(p, "scheme", SCHEMES)
    shares = _int(p, "shares", 2, 255)
    threshold = _int(p, "threshold", 2, shares)
    if scheme == "xor" and threshold != shares:
        raise EventFormError("An XOR split needs every component: threshold must equal shares.")
    numbers = {str(n) for n in range(1, shares + 1)}
    commitments = p.get("commitments")
    if not isinstance(commitments, dict) or set(commitments) != numbers:
        raise EventFormError(f"Field 'commitments' must map each share number 1..{shares} to a digest.")
    for number in commitments:
        _hex(commitments, number, 64)
    kcvs = p.get("share_kcvs")
    if kcvs is not None:
        if not isinstance(kcvs, dict) or set(kcvs) != numbers:
            raise EventFormError(f"Field 'share_kcvs' must map each component number 1..{shares} to a KCV.")
        for number in kcvs:
            _hex(kcvs, number)


def _split_retired(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "split_id")
    _text(p, "reason")


def _share_exposed(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "person_id")
    _ident(p, "split_id")
    _int(p, "share_number", 1, 255)
    _choice(p, "kind", EXPOSURE_KINDS)


def _replacement_cleared(p: Mapping[str, JSONValue]) -> None:
    _ident(p, "key_id")


PAYLOAD_CHECKS: Final = {
    PARTICIPANT_ENROLLED: _enrolled,
    PARTICIPANT_DEACTIVATED: _deactivated,
    KEY_REGISTERED: _key_registered,
    SPLIT_CREATED: _split_created,
    SPLIT_RETIRED: _split_retired,
    SHARE_EXPOSED: _share_exposed,
    KEY_REPLACEMENT_CLEARED: _replacement_cleared,
}


def check_payload(event_type: str, payload: JSONValue) -> None:
    """Refuse a payload that is not a JSON object, or not of the known shape for ``event_type``."""
    check_type_name(event_type)
    if not isinstance(payload, dict):
        raise EventFormError("An event payload must be a JSON object.")
    check = PAYLOAD_CHECKS.get(event_type)
    if check is not None:
        check(payload)


def prepare_payload(event_type: str, payload: Mapping[str, object]) -> JSONObject:
    """Normalise (NFC, canonical types) and check a payload before it is written."""
    value = normalise(payload)
    check_payload(event_type, value)
    assert isinstance(value, dict)
    return value
