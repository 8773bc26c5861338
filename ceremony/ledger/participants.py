"""Participants as the ledger records them: the genesis's founder, enrolments, role changes, deactivations
(DESIGN §1).

* :func:`found` appends event #1, ``ledger.genesis``: the ledger's identity and root certificate and the
  founding security officer, who signs it; their encrypted key goes to the ``keystore`` table and the root
  key, sealed to them, to ``root_keys`` (both outside the hash chain; see :mod:`ceremony.ledger.store`).
* :func:`enroll` appends ``participant.enrolled`` signed by a security officer, a second enrolled person and
  the new person (proof of possession), with the encrypted key (and, for a new security officer, the root
  key sealed to them) in the same transaction. The certificate must be issued by the ledger's root.
* :func:`change_roles` and :func:`deactivate`: signed by a security officer and a witness; nothing is ever
  deleted. A deactivation flags every key the person ever knew for replacement (PCI DSS 3.7.5).
* :func:`participants` lists everyone ever enrolled, from the typed records.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.crypto.ids import new_id
from ceremony.errors import LedgerError
from ceremony.ledger import events as ev
from ceremony.ledger import schema as sc
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.replay import replayed
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
    enrolled_time: str = ""  # the ledger time of the enrolment (or genesis) event
    deactivated_time: str | None = None
    deactivation_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.deactivated_seq is None

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode("ascii"))


def _pem_and_fingerprint(certificate: x509.Certificate) -> tuple[str, str]:
    return (
        certificate.public_bytes(Encoding.PEM).decode("ascii"),
        hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest(),
    )


def _store_keys(person_id: str, fingerprint: str, key_blob: bytes, root_key_blob: bytes | None) -> object:
    blob = bytes(key_blob)

    def store(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO keystore (person_id, blob, cert_sha256) VALUES (?, ?, ?)",
            (person_id, blob, fingerprint),
        )
        if root_key_blob is not None:
            conn.execute(
                "INSERT INTO root_keys (person_id, blob) VALUES (?, ?)", (person_id, bytes(root_key_blob))
            )

    return store


def found(
    ledger: Ledger,
    *,
    organisation: str,
    name: str,
    employee_id: str,
    certificate: x509.Certificate,
    key_blob: bytes,
    root_certificate: x509.Certificate,
    root_key_blob: bytes,
    founder: Signer,
    roles: Sequence[str] = ("security_officer",),
) -> Participant:
    """Write the genesis (event #1) of an empty ledger, signed by its founding security officer."""
    pem, fingerprint = _pem_and_fingerprint(certificate)
    root_pem, root_fingerprint = _pem_and_fingerprint(root_certificate)
    payload = {
        "ledger_id": ledger.info.ledger_id,
        "rehearsal": ledger.info.rehearsal,
        "format_version": sc.FORMAT_VERSION,
        "created": ev.format_time(ledger.clock()),
        "organisation": organisation,
        "root_certificate_pem": root_pem,
        "root_cert_sha256": root_fingerprint,
        "person_id": founder.person_id,
        "name": name,
        "employee_id": employee_id,
        "roles": list(roles),
        "certificate_pem": pem,
        "cert_sha256": fingerprint,
    }
    event = ledger._append(
        ev.LEDGER_GENESIS,
        payload,
        [founder.person_id],
        [founder],
        _store_keys(founder.person_id, fingerprint, key_blob, root_key_blob),  # type: ignore[arg-type]
    )
    return _from_record(event.record, event.seq, event.time)


def enroll(
    ledger: Ledger,
    *,
    name: str,
    employee_id: str,
    roles: Sequence[str],
    certificate: x509.Certificate,
    key_blob: bytes,
    signers: Sequence[Signer],
    person_id: str | None = None,
    root_key_blob: bytes | None = None,
    same_name_confirmed: Sequence[str] = (),
) -> Participant:
    """Record a new participant (and their encrypted key) in one transaction; returns them as recorded.

    ``signers``: the security officer, the second enrolled person and the new person (whose ``person_id``
    is taken from the signer with no enrolment yet when ``person_id`` is not given)."""
    person_id = person_id or new_id()
    pem, fingerprint = _pem_and_fingerprint(certificate)
    payload: dict[str, object] = {
        "person_id": person_id,
        "name": name,
        "employee_id": employee_id,
        "roles": list(roles),
        "certificate_pem": pem,
        "cert_sha256": fingerprint,
    }
    if same_name_confirmed:
        payload["same_name_confirmed"] = sorted(same_name_confirmed)
    event = ledger._append(
        ev.PARTICIPANT_ENROLLED,
        payload,
        [s.person_id for s in signers],
        signers,
        _store_keys(person_id, fingerprint, key_blob, root_key_blob),  # type: ignore[arg-type]
    )
    return _from_record(event.record, event.seq, event.time)


def deactivate(
    ledger: Ledger, person_id: str, reason: str, actors: Sequence[str], signers: Sequence[Signer] = ()
) -> ev.Event:
    """Record that the person left. Their history stays; keys they knew get flagged (PCI DSS 3.7.5)."""
    return ledger.append(
        ev.PARTICIPANT_DEACTIVATED, {"person_id": person_id, "reason": reason}, actors, signers
    )


def change_roles(
    ledger: Ledger, person_id: str, roles: Sequence[str], reason: str, signers: Sequence[Signer]
) -> ev.Event:
    """Record a person's new set of roles (a security officer and a witness sign)."""
    return ledger.append(
        "participant.roles_changed",
        {"person_id": person_id, "roles": list(roles), "reason": reason},
        [s.person_id for s in signers],
        signers,
    )


def _from_record(record: sc.Record, seq: int, time: str) -> Participant:
    assert isinstance(record, sc.Enrolment)
    return Participant(
        person_id=record.person_id,
        name=record.name,
        employee_id=record.employee_id,
        roles=record.roles,
        certificate_pem=record.certificate_pem,
        cert_sha256=record.cert_sha256,
        enrolled_seq=seq,
        enrolled_time=time,
    )


def take_person(people: dict[str, Participant], event: ev.Event) -> None:
    """One step of the people fold: an enrolment (or the genesis) adds a person, a role change replaces their
    roles, a deactivation marks them; any other event changes nothing. Used by :func:`people_from` and by
    :class:`~ceremony.ledger.register.Register`."""
    record = event.record
    if isinstance(record, sc.Enrolment):
        people[record.person_id] = _from_record(record, event.seq, event.time)
    elif isinstance(record, sc.ParticipantDeactivated):
        people[record.person_id] = replace(
            people[record.person_id],
            deactivated_seq=event.seq,
            deactivated_time=event.time,
            deactivation_reason=record.reason,
        )
    elif isinstance(record, sc.ParticipantRolesChanged):
        people[record.person_id] = replace(people[record.person_id], roles=record.roles)


def people_from(events: Iterable[ev.Event]) -> list[Participant]:
    """Everyone ever enrolled in ``events`` (typed records), with roles and deactivation as recorded."""
    people: dict[str, Participant] = {}
    for event in events:
        take_person(people, event)
    return list(people.values())


def participants(ledger: Ledger) -> list[Participant]:
    """Everyone ever enrolled, in enrollment order, with their deactivation event if any (from the one
    checked read of the ledger's current head, :func:`~ceremony.ledger.replay.replayed`)."""
    return list(replayed(ledger).register.people.values())


def participant(ledger: Ledger, person_id: str) -> Participant:
    for person in participants(ledger):
        if person.person_id == person_id:
            return person
    raise LedgerError(f"{person_id} is not an enrolled participant of this ledger.")


def genesis(ledger: Ledger) -> sc.Genesis:
    """The ledger's genesis record (its identity, organisation, root certificate and founder)."""
    for event in ledger.events():
        record = event.record
        assert isinstance(record, sc.Genesis)
        return record
    raise LedgerError(f"The ledger {ledger.path.name} has no genesis yet: it was never founded.")


def anchor(ledger: Ledger) -> Anchor:
    """The ledger's anchor (id, genesis hash, root certificate SHA-256), for paper and ``verify --anchor``."""
    for event in ledger.events():
        record = event.record
        assert isinstance(record, sc.Genesis)
        return Anchor(record.ledger_id, event.hash, record.root_cert_sha256)
    raise LedgerError(f"The ledger {ledger.path.name} has no genesis yet: it was never founded.")
