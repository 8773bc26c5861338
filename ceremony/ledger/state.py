"""What the ledger's history implies, replayed event by event: the one set of rules for writer and verifier.

The writer (:mod:`ceremony.ledger.store`) asks :meth:`LedgerState.admit` before it appends, so a refused
event never reaches the file; ``ceremony verify`` (:mod:`ceremony.ledger.verify`) replays the same method over
the stored history, so whatever the writer would have refused is a fault when found in the file.

Rules checked here, beyond each payload's shape:

* ``participant.enrolled``: the person id and the employee id (compared after NFC, trimming and case folding)
  are new; the certificate parses, holds an ECDSA P-256 key and its DER SHA-256 equals ``cert_sha256``.
  Deactivated people stay in the history; their employee id can never be enrolled again.
* ``participant.deactivated``: the person is enrolled and still active; feeds the custody rule (3.7.5 flag).
* ``key.registered``: a key id is registered once. ``split.created``: the key is registered; fed to the
  custody rule. ``split.retired`` and ``key.replacement_cleared``: fed to the custody rule.
* ``share.exposed``: the person is enrolled and active (for ``returned``: enrolled, possibly deactivated
  since — a person who left may still hand back an envelope), and the custody rule (PCI DSS 3.7.6) allows it.
* Attestations: each signer is enrolled (possibly by this very event, which proves key possession) and
  active, and the signature over the event hash verifies against their enrolled certificate.

Memory is the person -> public key map, the key ids and the custody history: it does not grow with the
number of events of other kinds.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.errors import (
    DuplicateEnrollmentError,
    IdentityError,
    LedgerError,
    RehearsalMixError,
    SignatureError,
)
from ceremony.ledger import events as ev
from ceremony.ledger.canonical import JSONObject

try:  # The custody rule lives in ceremony.policy; the ledger replays it (DESIGN §3).
    from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord
except ImportError:  # pragma: no cover - only while the policy package is being built
    CustodyHistory = None  # type: ignore[assignment,misc]


class UnknownParticipantError(IdentityError):
    """An event names a person who is not enrolled, or no longer active."""


class UnknownKeyError(LedgerError):
    """An event names a key that was never registered, or registers one twice."""


def _int(payload: JSONObject, name: str) -> int:
    value = payload[name]
    assert isinstance(value, int)  # check_payload ran first
    return value


def employee_key(employee_id: str) -> str:
    """How employee ids are compared: NFC, trimmed, case-folded ("E-042 " and "e-042" are one person)."""
    return unicodedata.normalize("NFC", employee_id).strip().casefold()


@dataclass
class Person:
    person_id: str
    employee_id: str
    public_key: ec.EllipticCurvePublicKey
    enrolled_seq: int
    deactivated_seq: int | None = None


def load_enrolled_certificate(payload: Mapping[str, object]) -> ec.EllipticCurvePublicKey:
    """The P-256 public key of a ``participant.enrolled`` payload, after checking its fingerprint."""
    pem = payload["certificate_pem"]
    assert isinstance(pem, str)
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise IdentityError("The enrolled certificate is not a readable PEM X.509 certificate.") from None
    if hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest() != payload["cert_sha256"]:
        raise IdentityError("The enrolled certificate does not match its recorded SHA-256 fingerprint.")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IdentityError("An enrolled certificate must hold an ECDSA P-256 key (DESIGN §1).")
    return key


@dataclass
class LedgerState:
    """Everything verify and the writer need to judge the next event (see module docstring)."""

    people: dict[str, Person] = field(default_factory=dict)
    employees: dict[str, str] = field(default_factory=dict)  # employee_key -> person_id
    keys: set[str] = field(default_factory=set)
    splits: int = 0
    ceremonies: int = 0
    attestations: int = 0
    last_seq: int = 0
    last_hash: bytes = ev.GENESIS_PREVIOUS_HASH
    # The ledger's kind, when known: a rehearsal ledger holds only TEST keys and a production ledger none
    # (PCI DSS 3.6.1.1). None: not checked (plain reading).
    rehearsal: bool | None = None
    _custody: CustodyHistory | None = None

    @property
    def custody(self) -> CustodyHistory:
        if self._custody is None:
            if CustodyHistory is None:  # pragma: no cover
                raise LedgerError(
                    "The custody rule (ceremony.policy.custody.CustodyHistory) is not available in this "
                    "build, so exposures can be neither written nor verified."
                )
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

    def admit(
        self,
        seq: int,
        event_type: str,
        payload: JSONObject,
        attestations: Sequence[tuple[str, bytes]],
        event_hash: bytes,
        *,
        check_signatures: bool = True,
    ) -> None:
        """Check event ``seq`` against history and, if allowed, take it into the state.

        Every check happens before any change, so a refusal leaves the state as it was. Raises the specific
        error (DuplicateEnrollmentError, CustodyViolationError, SignatureError, ...).
        """
        ev.check_payload(event_type, payload)
        new_person: Person | None = None
        t = event_type
        if t == ev.PARTICIPANT_ENROLLED:
            person_id = str(payload["person_id"])
            emp = employee_key(str(payload["employee_id"]))
            if person_id in self.people:
                raise DuplicateEnrollmentError(
                    f"Person {person_id} was already enrolled "
                    f"at event #{self.people[person_id].enrolled_seq}."
                )
            if emp in self.employees:
                earlier = self.people[self.employees[emp]]
                raise DuplicateEnrollmentError(
                    f"Employee id {str(payload['employee_id'])[:64]!r} is already enrolled "
                    f"as {earlier.person_id} "
                    f"(event #{earlier.enrolled_seq}); an employee id is enrolled once."
                )
            key = load_enrolled_certificate(payload)
            new_person = Person(person_id, str(payload["employee_id"]), key, seq)
        elif t == ev.PARTICIPANT_DEACTIVATED:
            self.active(str(payload["person_id"]), seq, "Person")
        elif t == ev.KEY_REGISTERED:
            if payload["key_id"] in self.keys:
                raise UnknownKeyError(f"Key {payload['key_id']} is already registered.")
            test_key = payload.get("test_key") is True
            if self.rehearsal is not None and test_key != self.rehearsal:
                raise RehearsalMixError(
                    f"Key {payload['key_id']} is "
                    + (
                        "a TEST key on a production ledger"
                        if test_key
                        else "a production key on a rehearsal ledger"
                    )
                    + "; test and production keys never share a ledger (PCI DSS 3.6.1.1)."
                )
        elif t == ev.SPLIT_CREATED:
            if payload["key_id"] not in self.keys:
                raise UnknownKeyError(f"Split of key {payload['key_id']}, which was never registered.")
        elif t == ev.SHARE_EXPOSED:
            if payload["kind"] == "returned":
                # Someone who left may still hand back an envelope: record it, they must only be known.
                if payload["person_id"] not in self.people:
                    raise UnknownParticipantError(f"Custodian {payload['person_id']} was never enrolled.")
            else:
                self.active(str(payload["person_id"]), seq, "Custodian")
            self.custody.check(self._exposure(seq, payload))
        elif t in (ev.SPLIT_RETIRED,):
            self.custody.split(str(payload["split_id"]))  # raises if unknown

        for person_id, signature in attestations:
            if new_person is not None and person_id == new_person.person_id:
                signer = new_person
            else:
                signer = self.active(person_id, seq, "Signer")
            if check_signatures:
                try:
                    signer.public_key.verify(
                        signature, ev.attestation_message(event_hash), ec.ECDSA(hashes.SHA256())
                    )
                except InvalidSignature:
                    raise SignatureError(
                        f"The attestation of {person_id} does not verify against their enrolled certificate."
                    ) from None

        # --- from here on: changes only ------------------------------------------------------------------
        if new_person is not None:
            self.people[new_person.person_id] = new_person
            self.employees[employee_key(new_person.employee_id)] = new_person.person_id
        elif t == ev.PARTICIPANT_DEACTIVATED:
            self.people[str(payload["person_id"])].deactivated_seq = seq
            self.custody.deactivate(str(payload["person_id"]), seq)
        elif t == ev.KEY_REGISTERED:
            self.keys.add(str(payload["key_id"]))
        elif t == ev.SPLIT_CREATED:
            scheme: Literal["shamir", "xor"] = "xor" if payload["scheme"] == "xor" else "shamir"
            self.custody.add_split(
                SplitRecord(
                    key_id=str(payload["key_id"]),
                    split_id=str(payload["split_id"]),
                    scheme=scheme,
                    threshold=_int(payload, "threshold"),
                    shares=_int(payload, "shares"),
                    seq=seq,
                )
            )
            self.splits += 1
        elif t == ev.SPLIT_RETIRED:
            self.custody.retire_split(str(payload["split_id"]), seq)
        elif t == ev.SHARE_EXPOSED:
            self.custody.record(self._exposure(seq, payload))
        elif t == ev.KEY_REPLACEMENT_CLEARED:
            self.custody.clear_replacement_flag(str(payload["key_id"]), seq)
        elif t == ev.CEREMONY_STARTED:
            self.ceremonies += 1
        self.attestations += len(attestations)
        self.last_seq = seq
        self.last_hash = event_hash

    @staticmethod
    def _exposure(seq: int, payload: JSONObject) -> Exposure:
        kind = payload["kind"]
        assert isinstance(kind, str) and kind in ev.EXPOSURE_KINDS
        return Exposure(
            seq=seq,
            person_id=str(payload["person_id"]),
            split_id=str(payload["split_id"]),
            share_number=_int(payload, "share_number"),
            kind=kind,  # type: ignore[arg-type]
        )
