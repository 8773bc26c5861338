"""Participants as the ledger records them: enrollment and deactivation events (DESIGN §1).

* :func:`enroll` appends ``participant.enrolled`` (name, employee id, roles, the X.509 certificate in PEM and
  its DER SHA-256) and, in the same transaction, stores the passphrase-encrypted private key in the
  ``keystore`` table (outside the hash chain; see :mod:`ceremony.ledger.store`). An employee id already
  enrolled — active or deactivated — is refused with :class:`DuplicateEnrollmentError`.
* :func:`deactivate` appends ``participant.deactivated``; nothing is ever deleted. The custody rule then flags
  every key the person ever had knowledge of for replacement (PCI DSS 3.7.5).
* :func:`participants` lists everyone ever enrolled, replayed from the events.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.crypto.ids import new_id
from ceremony.errors import LedgerError
from ceremony.ledger import events as ev
from ceremony.ledger.store import Ledger, Signer


@dataclass(frozen=True)
class Participant:
    person_id: str
    name: str
    employee_id: str
    roles: tuple[str, ...]
    certificate_pem: str
    cert_sha256: str
    enrolled_seq: int
    deactivated_seq: int | None = None

    @property
    def active(self) -> bool:
        return self.deactivated_seq is None

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))


def enroll(
    ledger: Ledger,
    *,
    name: str,
    employee_id: str,
    roles: Sequence[str],
    certificate: x509.Certificate,
    key_blob: bytes,
    actors: Sequence[str] = (),
    signers: Sequence[Signer] = (),
    person_id: str | None = None,
) -> Participant:
    """Record a new participant (and their encrypted key) in one transaction; returns them as recorded."""
    person_id = person_id or new_id()
    fingerprint = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    pem = certificate.public_bytes(Encoding.PEM).decode("ascii")
    blob = bytes(key_blob)

    def store_key(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO keystore (person_id, blob, cert_sha256) VALUES (?, ?, ?)",
            (person_id, blob, fingerprint),
        )

    event = ledger._append(
        ev.PARTICIPANT_ENROLLED,
        {
            "person_id": person_id,
            "name": name,
            "employee_id": employee_id,
            "roles": list(roles),
            "certificate_pem": pem,
            "cert_sha256": fingerprint,
        },
        list(actors) or [person_id],
        signers,
        store_key,
    )
    return _from_event(event)


def deactivate(
    ledger: Ledger, person_id: str, reason: str, actors: Sequence[str], signers: Sequence[Signer] = ()
) -> ev.Event:
    """Record that the person left or changed role. Their history stays; keys they knew get flagged."""
    return ledger.append(
        ev.PARTICIPANT_DEACTIVATED, {"person_id": person_id, "reason": reason}, actors, signers
    )


def _from_event(event: ev.Event) -> Participant:
    p = event.payload
    roles = p["roles"]
    assert isinstance(roles, list)
    return Participant(
        person_id=str(p["person_id"]),
        name=str(p["name"]),
        employee_id=str(p["employee_id"]),
        roles=tuple(str(r) for r in roles),
        certificate_pem=str(p["certificate_pem"]),
        cert_sha256=str(p["cert_sha256"]),
        enrolled_seq=event.seq,
    )


def participants(ledger: Ledger) -> list[Participant]:
    """Everyone ever enrolled, in enrollment order, with their deactivation event if any."""
    people: dict[str, Participant] = {}
    for event in ledger.events():
        if event.type == ev.PARTICIPANT_ENROLLED:
            person = _from_event(event)
            people[person.person_id] = person
        elif event.type == ev.PARTICIPANT_DEACTIVATED:
            person_id = str(event.payload["person_id"])
            old = people[person_id]
            people[person_id] = Participant(
                old.person_id,
                old.name,
                old.employee_id,
                old.roles,
                old.certificate_pem,
                old.cert_sha256,
                old.enrolled_seq,
                event.seq,
            )
    return list(people.values())


def participant(ledger: Ledger, person_id: str) -> Participant:
    for person in participants(ledger):
        if person.person_id == person_id:
            return person
    raise LedgerError(f"{person_id} is not an enrolled participant of this ledger.")
