"""What the ledger's history implies, replayed event by event: the one set of rules for writer and verifier.

The writer (:mod:`ceremony.ledger.store`) asks :meth:`LedgerState.admit` before it appends, so a refused
event never reaches the file; ``ceremony verify`` (:mod:`ceremony.ledger.verify`) replays the same method over
the stored history, so whatever the writer would have refused is a fault when found in the file.

For every event, in this order, before anything changes:

1. **Schema** (:mod:`ceremony.ledger.schema`): a known type, a closed payload whose every field passes its
   check. Event #1 is the ``ledger.genesis`` and no other event is; the genesis must name this file's
   ledger id, kind (production or rehearsal) and format.
2. **References**: every person, key, split and ceremony a field names exists at that point (people active
   where the field says so); every id a field introduces is new.
3. **The type's own rules**: enrolment (new person id, employee id and public key; a certificate issued by
   the ledger's root whose subject is the enrolled name and employee id; a namesake confirmed on record),
   the kind of key on this kind of ledger (PCI DSS 3.6.1.1), the custody rule (PCI DSS 3.7.6).
4. **The signing rule**: every signer is enrolled and active (the person an enrolment or genesis enrols
   signs as proof of possession); the signers fill the rule's slots with the roles they hold *at this
   sequence number*; the people the rule names from the payload signed; the actors are among the signers.
5. **Signatures**: each verifies against the signer's enrolled certificate (skipped by plain reading;
   ``verify`` and the writer check them).

Memory is the people (public key, roles), the key, split and ceremony ids and the custody history: it does
not grow with the number of events of other kinds.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ceremony.errors import (
    DuplicateEnrollmentError,
    EventFormError,
    EventReferenceError,
    IdentityError,
    RehearsalMixError,
    SignatureError,
    SigningRuleError,
)
from ceremony.ledger import events as ev
from ceremony.ledger import schema as sc
from ceremony.ledger.canonical import JSONObject
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord, transport_key_id

_SIGNATURE = ec.ECDSA(hashes.SHA256())


class UnknownParticipantError(IdentityError):
    """An event names a person who is not enrolled, or no longer active."""


def employee_key(employee_id: str) -> str:
    """How employee ids are compared: NFC, trimmed, case-folded ("E-042 " and "e-042" are one person)."""
    return unicodedata.normalize("NFC", employee_id).strip().casefold()


def name_key(name: str) -> str:
    """How names are compared for namesakes: NFC, case-folded, inner white space collapsed."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


@dataclass
class Person:
    person_id: str
    employee_id: str
    public_key: ec.EllipticCurvePublicKey
    enrolled_seq: int
    roles: frozenset[str] = frozenset()
    deactivated_seq: int | None = None


def load_certificate(pem: str, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise IdentityError(f"the {what} is not a readable PEM X.509 certificate") from None


def _p256(cert: x509.Certificate, what: str) -> ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IdentityError(f"the {what} must hold an ECDSA P-256 key (DESIGN §1)")
    return key


def load_enrolled_certificate(record: sc.Enrolment) -> tuple[x509.Certificate, ec.EllipticCurvePublicKey]:
    """The certificate of an enrolment (or genesis founder) and its P-256 key, after checking its
    fingerprint and that its subject is the enrolled name and employee id."""
    cert = load_certificate(record.certificate_pem, "enrolled certificate")
    if hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest() != record.cert_sha256:
        raise IdentityError("the enrolled certificate does not match its recorded SHA-256 fingerprint")
    key = _p256(cert, "enrolled certificate")
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    serials = cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    if [a.value for a in names] != [record.name] or [a.value for a in serials] != [record.employee_id]:
        raise IdentityError("the enrolled certificate is not issued to the enrolled name and employee id")
    return cert, key


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).digest()


class SignatureSink:
    """Where :meth:`LedgerState.admit` hands signatures to check later (``verify`` checks them on other
    threads while it parses the next events; see :mod:`ceremony.ledger.verify`)."""

    def put(
        self,
        seq: int,
        event_type: str,
        person_id: str,
        key: ec.EllipticCurvePublicKey,
        signature: bytes,
        message: bytes,
    ) -> None:
        raise NotImplementedError


@dataclass
class LedgerState:
    """Everything verify and the writer need to judge the next event (see module docstring)."""

    people: dict[str, Person] = field(default_factory=dict)
    employees: dict[str, str] = field(default_factory=dict)  # employee_key -> person_id
    names: dict[str, list[str]] = field(default_factory=dict)  # name_key -> person ids
    public_keys: dict[bytes, str] = field(default_factory=dict)  # SPKI SHA-256 -> person_id
    keys: set[str] = field(default_factory=set)
    ceremony_ids: set[str] = field(default_factory=set)
    splits: int = 0
    ceremonies: int = 0
    attestations: int = 0
    last_seq: int = 0
    last_hash: bytes = ev.GENESIS_PREVIOUS_HASH
    # The ledger's identity from the file's cache (meta table), when known: the genesis must agree with it.
    # rehearsal None: not checked (plain reading of a file whose kind is not asked).
    rehearsal: bool | None = None
    ledger_id: str | None = None
    genesis: sc.Genesis | None = None
    genesis_hash: bytes | None = None
    root_certificate: x509.Certificate | None = None
    _custody: CustodyHistory | None = None
    _rules_passed: set[object] = field(default_factory=set)

    @property
    def custody(self) -> CustodyHistory:
        if self._custody is None:
            self._custody = CustodyHistory()
        return self._custody

    def active(self, person_id: str, seq: int, what: str) -> Person:
        person = self.people.get(person_id)
        if person is None:
            raise UnknownParticipantError(f"{what} {person_id} is not an enrolled participant.")
        if person.deactivated_seq is not None:
            raise UnknownParticipantError(
                f"{what} {person_id} was deactivated at event #{person.deactivated_seq}."
            )
        return person

    def active_people(self) -> int:
        return sum(1 for p in self.people.values() if p.deactivated_seq is None)

    def roles_of(self, person_id: str) -> frozenset[str]:
        person = self.people.get(person_id)
        return person.roles if person is not None else frozenset()

    # --- the checks ------------------------------------------------------------------------------------
    def admit(
        self,
        seq: int,
        event_type: str,
        payload: JSONObject,
        attestations: Sequence[tuple[str, bytes]],
        event_hash: bytes,
        *,
        actors: Sequence[str] = (),
        check_signatures: bool | SignatureSink = True,
    ) -> sc.Record:
        """Check event ``seq`` against history and, if allowed, take it into the state; return its record.

        Every check happens before any change, so a refusal leaves the state as it was. Raises the specific
        error (EventFormError, SigningRuleError, CustodyViolationError, SignatureError, ...).
        """
        record = sc.parse(event_type, payload)
        if (seq == 1) != isinstance(record, sc.Genesis):
            if seq == 1:
                raise EventFormError(
                    f"the first event of a ledger is its ledger.genesis, not {event_type} "
                    "(a ledger of an earlier format, or one whose beginning was removed)"
                )
            raise EventFormError("a ledger has one genesis, at event #1")
        new_person: Person | None = None
        new_cert: x509.Certificate | None = None
        if isinstance(record, sc.Enrolment):
            new_cert, new_person = self._check_enrolment(seq, record)
        self._check_references(seq, record, new_person)
        exposure: Exposure | None = None
        if isinstance(record, sc.KeyRegistered):
            if self.rehearsal is not None and record.test_key != self.rehearsal:
                raise RehearsalMixError(
                    f"Key {record.key_id} is "
                    + (
                        "a TEST key on a production ledger"
                        if record.test_key
                        else "a production key on a rehearsal ledger"
                    )
                    + "; test and production keys never share a ledger (PCI DSS 3.6.1.1)."
                )
            if record.replaces_key_id is not None:
                self.custody.check_replacement(record.key_id, record.replaces_key_id, seq)
        elif isinstance(record, sc.CeremonyStarted):
            if self.rehearsal is not None and record.rehearsal != self.rehearsal:
                raise RehearsalMixError(
                    f"Ceremony {record.ceremony_id} says it is "
                    + ("a rehearsal" if record.rehearsal else "a production ceremony")
                    + " but the ledger is "
                    + ("a rehearsal ledger" if self.rehearsal else "a production ledger")
                    + " (PCI DSS 3.6.1.1: test and production never mix)."
                )
        elif isinstance(record, sc.ShareExposed):
            exposure = Exposure(
                seq=seq,
                person_id=record.person_id,
                split_id=record.split_id,
                share_number=record.share_number,
                kind=record.kind,  # type: ignore[arg-type]
            )
            if record.kind != "returned":
                self.active(record.person_id, seq, "Custodian")
            if record.kind != "demonstrated":  # knowledge shown is a fact: recorded, never refused
                self.custody.check(exposure)
        elif isinstance(record, sc.SplitRetired):
            self.custody.split(record.split_id)  # raises if unknown
        elif isinstance(record, sc.SplitCreated):
            self.custody.check_split(_split_record(record, seq))
        elif isinstance(record, sc.KeyQuorumLowered):
            self.custody.check_lower_quorum(record.key_id, record.quorum, seq)
        elif isinstance(record, sc.KeyWrapped | sc.KeyBlockExported) or _verified_block(record):
            assert isinstance(record, sc.KeyWrapped | sc.KeyBlockExported | sc.KeyBlockChecked)
            self.custody.check_wrap(record.key_id, _transport(record), _kek_components(record), seq)
        elif isinstance(record, sc.KeyRetired):
            self.custody.check_retire_key(record.key_id, record.replaced_by_key_id, seq)
        elif isinstance(record, sc.EnvelopeDestroyed):
            self.custody.check_destroy(record.split_id, record.share_number, seq, record.key_id)

        self._check_rule(seq, record, attestations, actors, new_person)
        if isinstance(check_signatures, SignatureSink):
            message = ev.attestation_message(event_hash)
            for person_id, signature in attestations:
                signer = (
                    new_person if new_person and person_id == new_person.person_id else self.people[person_id]
                )
                check_signatures.put(seq, record.TYPE, person_id, signer.public_key, signature, message)
        elif check_signatures:
            message = ev.attestation_message(event_hash)
            for person_id, signature in attestations:
                signer = (
                    new_person if new_person and person_id == new_person.person_id else self.people[person_id]
                )
                try:
                    signer.public_key.verify(signature, message, _SIGNATURE)
                except InvalidSignature:
                    raise SignatureError(
                        f"The attestation of {person_id} does not verify against their enrolled certificate."
                    ) from None

        # --- from here on: changes only ------------------------------------------------------------------
        self._apply(seq, record, new_person, new_cert, exposure, event_hash)
        self.attestations += len(attestations)
        self.last_seq = seq
        self.last_hash = event_hash
        return record

    def _check_enrolment(self, seq: int, record: sc.Enrolment) -> tuple[x509.Certificate, Person]:
        from ceremony.crypto.ledger_root import check_issued_by, check_root

        if isinstance(record, sc.Genesis):
            if record.format_version != sc.FORMAT_VERSION:
                raise EventFormError(
                    f"the genesis names ledger format {record.format_version}; this program writes and "
                    f"reads format {sc.FORMAT_VERSION}"
                )
            if self.ledger_id is not None and record.ledger_id != self.ledger_id:
                raise EventFormError(
                    f"the genesis is of ledger {record.ledger_id}, but the file says it is ledger "
                    f"{self.ledger_id} (the file's label was changed)"
                )
            if self.rehearsal is not None and record.rehearsal != self.rehearsal:
                raise EventFormError(
                    "the genesis says the ledger is "
                    + ("a rehearsal" if record.rehearsal else "production")
                    + " but the file says otherwise (the file's label was changed)"
                )
            root = load_certificate(record.root_certificate_pem, "root certificate")
            if hashlib.sha256(root.public_bytes(Encoding.DER)).hexdigest() != record.root_cert_sha256:
                raise IdentityError("the root certificate does not match its recorded SHA-256 fingerprint")
            check_root(root)
        else:
            assert self.root_certificate is not None  # seq 1 is the genesis (checked first)
            root = self.root_certificate
            if record.person_id in self.people:
                raise DuplicateEnrollmentError(
                    f"Person {record.person_id} was already enrolled at event "
                    f"#{self.people[record.person_id].enrolled_seq}."
                )
        emp = employee_key(record.employee_id)
        if emp in self.employees:
            earlier = self.people[self.employees[emp]]
            raise DuplicateEnrollmentError(
                f"Employee id {record.employee_id[:64]!r} is already enrolled as {earlier.person_id} "
                f"(event #{earlier.enrolled_seq}); an employee id is enrolled once."
            )
        cert, key = load_enrolled_certificate(record)
        check_issued_by(cert, root)
        spki = _spki(key)
        if spki in self.public_keys:
            raise DuplicateEnrollmentError(
                f"This public key is already enrolled for {self.public_keys[spki]}: one key, one person."
            )
        namesakes = sorted(self.names.get(name_key(record.name), ()))
        if isinstance(record, sc.ParticipantEnrolled):
            confirmed = sorted(record.same_name_confirmed or ())
            if confirmed != namesakes:
                if namesakes:
                    raise DuplicateEnrollmentError(
                        f"{record.name[:64]!r} is already enrolled as {', '.join(namesakes)} under another "
                        "employee id: the security officer and the second signer must confirm, on record, "
                        "that this is a different person (same_name_confirmed)."
                    )
                raise EventFormError("same_name_confirmed names people who do not share this name")
        return cert, Person(record.person_id, record.employee_id, key, seq, frozenset(record.roles))

    def _check_references(self, seq: int, record: sc.Record, new_person: Person | None) -> None:
        splits = self.custody
        for kind, name, value in record.references():
            problem: str | None = None
            if kind in (sc.PERSON, sc.ANY_PERSON):
                person = self.people.get(value)
                if person is None and not (new_person and value == new_person.person_id):
                    problem = f"names {value}, who is not an enrolled participant"
                elif person is not None and kind == sc.PERSON and person.deactivated_seq is not None:
                    problem = f"names {value}, who was deactivated at event #{person.deactivated_seq}"
            elif kind == sc.NEW_PERSON:
                if value in self.people:
                    problem = f"enrols {value}, who is already enrolled"
            elif kind == sc.KEY:
                if value not in self.keys:
                    problem = f"names key {value}, which was never registered"
            elif kind == sc.NEW_KEY:
                if value in self.keys:
                    problem = f"registers key {value}, which is already registered"
            elif kind == sc.SPLIT:
                if not splits.has_split(value):
                    problem = f"names split {value}, which was never created"
            elif kind == sc.NEW_SPLIT:
                if splits.has_split(value):
                    problem = f"creates split {value}, which already exists"
            elif kind == sc.CEREMONY:
                if value not in self.ceremony_ids:
                    problem = f"names ceremony {value}, which was never started"
            elif kind == sc.NEW_CEREMONY and value in self.ceremony_ids:
                problem = f"starts ceremony {value}, which was already started"
            if problem:
                if kind in (sc.PERSON, sc.ANY_PERSON):
                    raise UnknownParticipantError(f"field {name!r} {problem}.")
                raise EventReferenceError(f"field {name!r} {problem}.")

    def _check_rule(
        self,
        seq: int,
        record: sc.Record,
        attestations: Sequence[tuple[str, bytes]],
        actors: Sequence[str],
        new_person: Person | None,
    ) -> None:
        rule = record.rule()
        if isinstance(record, sc.ParticipantEnrolled) and self.active_people() == 1:
            # Right after the genesis only the founder is enrolled: there is no second person yet, so the
            # founder and the new person sign; from the next enrolment on, three people do.
            rule = sc.FIRST_ENROLMENT
        signers = [person_id for person_id, _ in attestations]
        for person_id in signers:
            if new_person is not None and person_id == new_person.person_id:
                continue
            self.active(person_id, seq, "Signer")

        def roles_of(person_id: str) -> frozenset[str]:
            if new_person is not None and person_id == new_person.person_id:
                # The new person proves possession; they never fill a role slot of their own enrolment
                # except the one that names them (and, for the genesis, the founding officer's).
                return new_person.roles if isinstance(record, sc.Genesis) else frozenset()
            return self.roles_of(person_id)

        named = record.named_people()
        # The same rule, signers and named people pass again until someone's enrolment, roles or
        # deactivation changes (then the memo is cleared): verify does not redo the role matching of
        # thousands of alike events.
        memo_key = (rule, tuple(signers), tuple(sorted(named.items()))) if new_person is None else None
        why = None if memo_key in self._rules_passed else rule.unmet(signers, roles_of, named)
        if why is None and memo_key is not None:
            self._rules_passed.add(memo_key)
        if why is not None:
            raise SigningRuleError(f"{record.TYPE} must be {rule.describe()}; {why}.", rule=rule.describe())
        if rule.actors_sign:
            missing = [a for a in actors if a not in signers]
            if missing:
                raise SigningRuleError(
                    f"{record.TYPE}: actor {missing[0]} did not sign it (the actors of this event sign it).",
                    rule=rule.describe(),
                )
        for actor in actors:
            if actor not in self.people and not (new_person and actor == new_person.person_id):
                raise EventReferenceError(f"actor {actor} is not an enrolled participant.")

    def _apply(
        self,
        seq: int,
        record: sc.Record,
        new_person: Person | None,
        new_cert: x509.Certificate | None,
        exposure: Exposure | None,
        event_hash: bytes,
    ) -> None:
        if isinstance(record, (sc.Enrolment, sc.ParticipantDeactivated, sc.ParticipantRolesChanged)):
            self._rules_passed.clear()
        if new_person is not None:
            assert isinstance(record, sc.Enrolment)
            self.people[new_person.person_id] = new_person
            self.employees[employee_key(new_person.employee_id)] = new_person.person_id
            self.names.setdefault(name_key(record.name), []).append(new_person.person_id)
            self.public_keys[_spki(new_person.public_key)] = new_person.person_id
            if isinstance(record, sc.Genesis):
                self.genesis = record
                self.genesis_hash = event_hash
                self.root_certificate = load_certificate(record.root_certificate_pem, "root certificate")
                self.ledger_id = record.ledger_id
                self.rehearsal = record.rehearsal
        elif isinstance(record, sc.ParticipantDeactivated):
            self.people[record.person_id].deactivated_seq = seq
            self.custody.deactivate(record.person_id, seq)
        elif isinstance(record, sc.ParticipantRolesChanged):
            self.people[record.person_id].roles = frozenset(record.roles)
        elif isinstance(record, sc.KeyRegistered):
            self.keys.add(record.key_id)
            if record.replaces_key_id is not None:
                self.custody.register_replacement(record.key_id, record.replaces_key_id, seq)
        elif isinstance(record, sc.SplitCreated):
            self.custody.add_split(_split_record(record, seq))
            self.splits += 1
        elif isinstance(record, sc.SplitRetired):
            self.custody.retire_split(record.split_id, seq)
        elif exposure is not None:
            self.custody.record(exposure)
        elif isinstance(record, sc.KeyQuorumLowered):
            self.custody.lower_quorum(record.key_id, record.quorum, seq)
        elif isinstance(record, sc.KeyWrapped | sc.KeyBlockExported) or _verified_block(record):
            assert isinstance(record, sc.KeyWrapped | sc.KeyBlockExported | sc.KeyBlockChecked)
            self.custody.add_wrap(record.key_id, _transport(record), _kek_components(record), seq)
        elif isinstance(record, sc.KeyRetired):
            self.custody.retire_key(record.key_id, seq, record.replaced_by_key_id)
        elif isinstance(record, sc.EnvelopeDestroyed):
            self.custody.destroy_share(record.split_id, record.share_number, seq, record.key_id)
        elif isinstance(record, sc.CeremonyStarted):
            self.ceremony_ids.add(record.ceremony_id)
            self.ceremonies += 1


def _split_record(record: sc.SplitCreated, seq: int) -> SplitRecord:
    scheme: Literal["shamir", "xor"] = "xor" if record.scheme == "xor" else "shamir"
    return SplitRecord(
        key_id=record.key_id,
        split_id=record.split_id,
        scheme=scheme,
        threshold=record.threshold,
        shares=record.shares,
        seq=seq,
    )


def _verified_block(record: object) -> bool:
    """A key block checked in a ceremony and found good: its KBPK's custodians now hold a route to the key."""
    return isinstance(record, sc.KeyBlockChecked) and record.verdict == "verified"


_Route = sc.KeyWrapped | sc.KeyBlockExported | sc.KeyBlockChecked


def _transport(record: _Route) -> str:
    """The transport key a wrap (KEK) or a key block (KBPK) puts the key under, named by its KCV."""
    if isinstance(record, sc.KeyBlockExported | sc.KeyBlockChecked):
        return transport_key_id("kbpk", record.kbpk_kcv_method, record.kbpk_kcv_hex)
    return transport_key_id("kek", record.kek_kcv_method, record.kek_kcv_hex)


def _kek_components(record: _Route) -> tuple[tuple[str, str], ...]:
    """Who typed which component of that transport key (each component named by its own KCV)."""
    if isinstance(record, sc.KeyBlockExported | sc.KeyBlockChecked):
        method, people, kcvs = (
            record.kbpk_component_method,
            record.kbpk_custodians,
            record.kbpk_component_kcvs,
        )
    else:
        method, people, kcvs = record.kek_component_method, record.kek_custodians, record.kek_component_kcvs
    return tuple((person, f"{method}:{kcv.lower()}") for person, kcv in zip(people, kcvs, strict=True))
