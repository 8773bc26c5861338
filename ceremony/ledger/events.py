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

**Types.** Every event type, its payload fields and who must sign it are defined once, in
:mod:`ceremony.ledger.schema`; an unknown type or a payload off its schema is refused on write and on
verify. The constants below name the types the ledger layer itself reads.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from ceremony.errors import EventFormError
from ceremony.ledger.canonical import JSONObject, JSONValue, canonical_json, normalise, parse_canonical

if TYPE_CHECKING:
    from ceremony.ledger.schema import Record

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
KEY_QUORUM_LOWERED: Final = "key.quorum_lowered"
# Generic types others write; named here so counts and reports agree on spelling.
CEREMONY_STARTED: Final = "ceremony.started"

LEDGER_GENESIS: Final = "ledger.genesis"

_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


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
        """The raw payload: for the ledger layer and export only; everyone else reads :attr:`record`."""
        value = parse_canonical(self.payload_json)
        assert isinstance(value, dict)
        return value

    @cached_property
    def record(self) -> Record:
        """The event's typed record (:mod:`ceremony.ledger.schema`), parsed and checked."""
        from ceremony.ledger.schema import parse

        return parse(self.type, self.payload)

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


# --- payloads ----------------------------------------------------------------------------------------------
def check_payload(event_type: str, payload: JSONValue) -> None:
    """Refuse an unknown type, or a payload that is not exactly its type's schema (:mod:`.schema`)."""
    from ceremony.ledger.schema import parse

    check_type_name(event_type)
    parse(event_type, payload)


def prepare_payload(event_type: str, payload: Mapping[str, object]) -> JSONObject:
    """Normalise (NFC, canonical types) and check a payload before it is written."""
    value = normalise(payload)
    check_payload(event_type, value)
    assert isinstance(value, dict)
    return value
