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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

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


# --- naming people and records on a command line (issue 15: ids people know) -----------------------------
LIST_PEOPLE_HINT = "`ceremony report custodians` lists everyone enrolled, with their employee ids"


class Someone(Protocol):
    """What :func:`find_person` needs of a person: a :class:`Participant` or a report's person."""

    @property
    def person_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def employee_id(self) -> str: ...

    @property
    def active(self) -> bool: ...


P = TypeVar("P", bound=Someone)


def who(person: Someone) -> str:
    """A person as people know them: ``Sophie Laurent (E1004)``."""
    return f"{person.name} ({person.employee_id})"


def find_person(everyone: Iterable[P], given: str, option: str = "") -> P:
    """The person ``given`` names: their employee id (compared as the ledger compares them: trimmed,
    case-folded) or their internal person id. Refused (:class:`~ceremony.errors.InputError`) when nobody,
    or two different people, answer to it; a reused employee id prefers its active holder."""
    from ceremony.errors import InputError
    from ceremony.ledger.state import employee_key

    text = given.strip()
    key = employee_key(text)
    people = list(everyone)
    by_employee = [p for p in people if employee_key(p.employee_id) == key]
    if len(by_employee) > 1:  # the ledger refuses a reused employee id; prefer the active holder anyway
        by_employee = [p for p in by_employee if p.active] or by_employee
    by_person = [p for p in people if p.person_id == text]
    found = {p.person_id: p for p in [*by_employee, *by_person]}
    named = f"{option} {text[:64]!r}" if option else repr(text[:64])
    if not found:
        raise InputError(
            f"{named}: nobody with that employee id is enrolled on this ledger, and no person has that "
            f"person id; {LIST_PEOPLE_HINT}"
        )
    if len(found) > 1:
        listed = " and ".join(
            f"{who(p)}, person id {p.person_id}" for p in sorted(found.values(), key=lambda p: p.person_id)
        )
        raise InputError(f"{named} names two people, {listed}; give the employee id")
    return next(iter(found.values()))


def resolve_person(ledger: Ledger, given: str, option: str = "") -> Participant:
    """:func:`find_person` among everyone ever enrolled on ``ledger``."""
    return find_person(participants(ledger), given, option)


def find_by_prefix(
    given: str,
    ids: Iterable[str],
    what: str,
    option: str = "",
    describe: Callable[[str], str] | None = None,
) -> str:
    """The one id of ``ids`` that ``given`` names: the whole id or any unique beginning of it, as screens
    and reports show ids cut short (``KBZK5X1Q`` for ``KBZK5X1Q7M``); any case, spaces ignored. Refused
    (:class:`~ceremony.errors.InputError`) when none or several match; the message names the candidates.
    ``describe``: an optional ``id -> str`` callable adding what each matching id is (a key's label)."""
    from ceremony.errors import InputError

    text = "".join(given.split())
    named = f"{option} {text[:64]!r}" if option else repr(text[:64])
    candidates = list(dict.fromkeys(ids))
    exact = [i for i in candidates if i == text or i.upper() == text.upper()]
    if len(exact) == 1:
        return exact[0]
    matches = [i for i in candidates if text and i.upper().startswith(text.upper())]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"{named}: the ledger has no {what} whose id is or begins with that")

    def shown(i: str) -> str:
        extra = describe(i) if describe is not None else ""
        return f"{i} ({extra})" if extra else i

    listed = ", ".join(shown(i) for i in sorted(matches)[:6]) + (" …" if len(matches) > 6 else "")
    raise InputError(f"{named} could be {len(matches)} {what}s: {listed}; give more characters of the id")
