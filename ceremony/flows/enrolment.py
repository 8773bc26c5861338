"""Enrolment under dual control (DESIGN §1): founding a ledger, and every later enrolment.

* **Founding** (:func:`found_ledger`, or :func:`prepare_founding`, :func:`make_founder` and
  :func:`settle_founding` split as below): on an empty ledger, the first security officer types their name,
  employee id, organisation and passphrase. A new ledger root (a P-256 CA, :mod:`ceremony.crypto.ledger_root`)
  issues their certificate; the root key is sealed to them alone; the genesis (event #1) records the ledger's
  identity, the root certificate and the founder, signed by the founder. The anchor is then printed.
* **Enrolment** (:class:`Enrolment`): a security officer and a second enrolled person, both present and
  authenticated, and the new person who types their own passphrase. The officer's key opens the root key
  (sealed to them) in memory; the root issues the new certificate; the new key is sealed under the new
  person's passphrase; the event is signed by the three (the new person's signature proves possession).
  A new security officer gets their own sealed copy of the root key.

The work is split like :mod:`ceremony.flows.presence`: :meth:`Enrolment.prepare` reads the ledger (on the
ledger's thread), :meth:`Enrolment.make_identity` is pure crypto (scrypt, about half a second: a UI runs it in
a worker), :meth:`Enrolment.settle` writes the event (on the ledger's thread again).

What a generation ceremony needs enrolled (:func:`missing_for_a_ceremony`, asked by the participants screen
and the main menu): an administrator, a witness and at least three custodians, for the smallest split the
README's ceremony makes (Shamir 2 of 3; 3 of 5 needs five).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.crypto.identity import (
    DEFAULT_KDF,
    ScryptParams,
    UnlockedIdentity,
    new_signing_key,
    seal_identity,
)
from ceremony.crypto.ids import new_id
from ceremony.crypto.ledger_root import create_root, open_root
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import DualControlError, IdentityError, InputError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import participants as people
from ceremony.ledger import schema as sc
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.participants import Participant
from ceremony.ledger.state import employee_key, name_key
from ceremony.ledger.store import Attester, Ledger

MIN_PASSPHRASE = 12  # characters; the key is also protected by scrypt's cost

ROLE_NAMES: dict[str, str] = {
    "security_officer": "Security officer",
    "administrator": "Ceremony administrator",
    "witness": "Witness",
    "custodian": "Key custodian",
}

# The splits a generation ceremony offers first (README: "2-of-3 or 3-of-5"), as (m, n).
STANDARD_SPLITS: tuple[tuple[int, int], ...] = ((2, 3), (3, 5))

# What one generation ceremony needs at the least: control roles held by different people (PCI DSS 3.6.1.2:
# split knowledge and dual control), and a custodian for each share of the smallest standard split.
NEEDED_FOR_A_CEREMONY: tuple[tuple[str, int], ...] = (
    ("administrator", 1),
    ("witness", 1),
    ("custodian", STANDARD_SPLITS[0][1]),
)


def missing_for_a_ceremony(people: Sequence[Participant]) -> list[str]:
    """What is still missing before a generation ceremony, in words: e.g. ['a witness', '1 more key
    custodian']; empty when enough people are enrolled (deactivated people do not count)."""
    out: list[str] = []
    for role, count in NEEDED_FOR_A_CEREMONY:
        have = sum(1 for p in people if p.active and role in p.roles)
        if have < count:
            label = ROLE_NAMES[role].lower()
            short = count - have
            out.append(f"a {label}" if count == 1 else f"{short} more {label}{'s' if short > 1 else ''}")
    return out


def splits_possible(people: Sequence[Participant]) -> list[tuple[int, int]]:
    """The standard splits (m, n) the active custodians are enough for: one custodian per share."""
    custodians = sum(1 for p in people if p.active and "custodian" in p.roles)
    return [(m, n) for m, n in STANDARD_SPLITS if n <= custodians]


def check_passphrase(first: SecretBytes, second: SecretBytes) -> None:
    """The passphrase rule, in one place: typed twice the same, at least :data:`MIN_PASSPHRASE` characters."""
    if first != second:
        raise InputError("the two passphrases differ; type the same passphrase twice")
    if len(bytes(first.view()).decode("utf-8", "replace")) < MIN_PASSPHRASE:
        raise InputError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")


@dataclass(frozen=True)
class Founded:
    founder: Participant
    anchor: Anchor
    identity: UnlockedIdentity


@dataclass(frozen=True)
class FoundingRequest:
    """What the founding needs from the (empty) ledger, read on its thread: the rest is pure crypto."""

    organisation: str
    ledger_id: str
    rehearsal: bool
    now: datetime  # the ledger's clock: certificates valid from the time the events say


@dataclass
class NewFounder:
    """The ledger root and the founder's key and certificate, sealed (:func:`make_founder`), not yet
    recorded: :func:`settle_founding` writes the genesis."""

    organisation: str
    person_id: str
    name: str
    employee_id: str
    roles: tuple[str, ...]
    certificate: x509.Certificate
    blob: bytes
    root_certificate: x509.Certificate
    root_blob: bytes
    identity: UnlockedIdentity


def prepare_founding(ledger: Ledger, organisation: str) -> FoundingRequest:
    """Check the ledger is empty and the organisation named (on the ledger's thread)."""
    if ledger.size():
        raise InputError(f"the ledger {ledger.path.name} is already founded (it has events)")
    organisation = organisation.strip()
    if not organisation:
        raise InputError("name the organisation whose keys this ledger records")
    return FoundingRequest(organisation, ledger.ledger_id, ledger.info.rehearsal, ledger.clock())


def make_founder(
    request: FoundingRequest,
    *,
    name: str,
    employee_id: str,
    passphrase: SecretBytes,
    kdf: ScryptParams = DEFAULT_KDF,
    roles: Sequence[str] = ("security_officer",),
) -> NewFounder:
    """Pure crypto (scrypt; a UI runs it in a worker): a new ledger root, the founder's key and certificate
    issued by it, the key sealed under ``passphrase`` (wiped) and the root key sealed to the founder."""
    try:
        root = create_root(
            request.organisation, request.ledger_id, rehearsal=request.rehearsal, now=request.now
        )
        try:
            key = new_signing_key()
            certificate = root.issue(key.public_key(), name, employee_id, now=request.now)
            blob = seal_identity(key, certificate, passphrase, kdf=kdf)
            root_blob = root.seal_for(certificate)
            root_certificate = root.certificate
        finally:
            root.close()
    finally:
        passphrase.wipe()
    return NewFounder(
        request.organisation,
        new_id(),
        name,
        employee_id,
        tuple(roles),
        certificate,
        blob,
        root_certificate,
        root_blob,
        UnlockedIdentity(certificate, key),
    )


def settle_founding(ledger: Ledger, new: NewFounder) -> Founded:
    """Write the genesis, signed by the founder (on the ledger's thread); returns the founder and anchor."""
    founder = people.found(
        ledger,
        organisation=new.organisation,
        name=new.name,
        employee_id=new.employee_id,
        certificate=new.certificate,
        key_blob=new.blob,
        root_certificate=new.root_certificate,
        root_key_blob=new.root_blob,
        founder=Attester(new.person_id, new.identity),
        roles=new.roles,
    )
    return Founded(founder, people.anchor(ledger), new.identity)


def found_ledger(
    ledger: Ledger,
    *,
    organisation: str,
    name: str,
    employee_id: str,
    passphrase: SecretBytes,
    kdf: ScryptParams = DEFAULT_KDF,
    roles: Sequence[str] = ("security_officer",),
) -> Founded:
    """Write the genesis of an empty ledger: root, founder, anchor (see module docstring); prepare, make,
    settle in one call (CLI, demo, rehearsal, tests)."""
    try:
        request = prepare_founding(ledger, organisation)
    except BaseException:
        passphrase.wipe()
        raise
    new = make_founder(
        request, name=name, employee_id=employee_id, passphrase=passphrase, kdf=kdf, roles=roles
    )
    try:
        return settle_founding(ledger, new)
    except BaseException:
        new.identity.lock()
        raise


@dataclass
class NewIdentity:
    """The new person's key and certificate (issued by the root), sealed under their passphrase."""

    person_id: str
    name: str
    employee_id: str
    roles: tuple[str, ...]
    certificate: x509.Certificate
    blob: bytes
    identity: UnlockedIdentity
    root_blob: bytes | None = None


@dataclass
class Enrolment:
    """One enrolment under dual control: officer + second person present, new person typing."""

    ledger: Ledger
    officer: PresentPerson
    second: PresentPerson | None  # None only for the first enrolment after the genesis (no one else yet)
    kdf: ScryptParams = DEFAULT_KDF
    _root_certificate: x509.Certificate | None = field(default=None, init=False)
    _root_blob: bytes = field(default=b"", init=False)
    _now: datetime | None = field(default=None, init=False)

    def prepare(
        self, name: str, employee_id: str, roles: Sequence[str], same_name_confirmed: Sequence[str] = ()
    ) -> list[Participant]:
        """Check the request against the ledger; returns the namesakes (people already enrolled under the
        same normalised name) the officer and the second signer must confirm to be different people."""
        if self.second is not None and self.officer.person_id == self.second.person_id:
            raise DualControlError("the security officer and the second person must be two different people")
        if "security_officer" not in self.officer.person.roles:
            raise DualControlError(f"{self.officer.name} is not enrolled as a security officer")
        if not roles or any(r not in sc.ROLES for r in roles):
            raise InputError(f"choose one or more roles: {', '.join(sc.ROLES)}")
        everyone = people.participants(self.ledger)
        if self.second is None and sum(1 for p in everyone if p.active) > 1:
            raise DualControlError(
                "a second enrolled person must be present and sign with the security officer (DESIGN §1)"
            )
        emp = employee_key(employee_id)
        for person in everyone:
            if employee_key(person.employee_id) == emp:
                raise IdentityError(
                    f"employee id {employee_id[:64]!r} is already enrolled ({person.name}); "
                    "an employee id is "
                    "enrolled once"
                )
        namesakes = [p for p in everyone if name_key(p.name) == name_key(name)]
        unconfirmed = {p.person_id for p in namesakes} - set(same_name_confirmed)
        if unconfirmed and same_name_confirmed:
            raise InputError("confirm every person already enrolled under this name")
        blob = self.ledger.root_key_blob(self.officer.person_id)
        if blob is None:
            raise IdentityError(
                f"no copy of the ledger root key is sealed to {self.officer.name}; another security officer "
                "must enrol this person"
            )
        self._root_blob = blob
        self._root_certificate = _root_of(self.ledger)
        self._now = self.ledger.clock()
        return namesakes

    def make_identity(
        self, name: str, employee_id: str, roles: Sequence[str], passphrase: SecretBytes
    ) -> NewIdentity:
        """Pure crypto (scrypt): the new key, its certificate issued by the root, sealed; runs off-thread."""
        if self._root_certificate is None:
            passphrase.wipe()
            raise InputError("prepare the enrolment first")
        try:
            root = open_root(self._root_blob, self._root_certificate, self.officer.identity)
            try:
                key: ec.EllipticCurvePrivateKey = new_signing_key()
                certificate = root.issue(key.public_key(), name, employee_id, now=self._now)
                blob = seal_identity(key, certificate, passphrase, kdf=self.kdf)
                root_blob = root.seal_for(certificate) if "security_officer" in roles else None
            finally:
                root.close()
        finally:
            passphrase.wipe()
        return NewIdentity(
            new_id(),
            name,
            employee_id,
            tuple(roles),
            certificate,
            blob,
            UnlockedIdentity(certificate, key),
            root_blob,
        )

    def settle(self, new: NewIdentity, same_name_confirmed: Sequence[str] = ()) -> Participant:
        """Record the enrolment, signed by the officer, the second person and the new person."""
        return people.enroll(
            self.ledger,
            name=new.name,
            employee_id=new.employee_id,
            roles=new.roles,
            certificate=new.certificate,
            key_blob=new.blob,
            signers=[
                self.officer,
                *([self.second] if self.second is not None else []),
                Attester(new.person_id, new.identity),
            ],
            person_id=new.person_id,
            root_key_blob=new.root_blob,
            same_name_confirmed=same_name_confirmed,
        )

    def enroll(
        self,
        name: str,
        employee_id: str,
        roles: Sequence[str],
        passphrase: SecretBytes,
        same_name_confirmed: Sequence[str] = (),
    ) -> Participant:
        """prepare + make_identity + settle in one call (CLI, demo, rehearsal, tests)."""
        try:
            self.prepare(name, employee_id, roles, same_name_confirmed)
        except BaseException:
            passphrase.wipe()
            raise
        new = self.make_identity(name, employee_id, roles, passphrase)
        try:
            return self.settle(new, same_name_confirmed)
        finally:
            new.identity.lock()


def _root_of(ledger: Ledger) -> x509.Certificate:
    return x509.load_pem_x509_certificate(people.genesis(ledger).root_certificate_pem.encode("ascii"))


@dataclass(frozen=True)
class Newcomer:
    """One person of a roster (a rehearsal script, the demo): their passphrase is made on demand."""

    name: str
    employee_id: str
    roles: tuple[str, ...]
    passphrase: Callable[[], SecretBytes]


def enroll_roster(
    ledger: Ledger,
    roster: Sequence[Newcomer],
    *,
    organisation: str,
    kdf: ScryptParams = DEFAULT_KDF,
    anchor_page: bool = False,
) -> dict[str, str]:
    """Enrol everyone of ``roster`` not yet enrolled (by employee id), under dual control, and return
    employee id -> person id for the whole roster.

    On an empty ledger the roster's first security officer founds it. Every enrolment is then signed by a
    security officer of the roster (authenticated with their passphrase), a second enrolled person of the
    roster and the new person — as at a real enrolment desk, only with the passphrases in a script.
    ``anchor_page``: when this call founds the ledger, the founder signs the anchor page, written next to the
    ledger (``ceremony-documents/``) like every other signed form."""
    existing = {employee_key(p.employee_id): p for p in people.participants(ledger) if p.active}
    officers = [n for n in roster if "security_officer" in n.roles]
    if not ledger.size():
        if not officers:
            raise InputError(
                "nobody in the list of participants is a security officer: one must found the ledger and "
                'enrol the others (give someone roles = ["security_officer", ...])'
            )
        founder = officers[0]
        founded = found_ledger(
            ledger,
            organisation=organisation,
            name=founder.name,
            employee_id=founder.employee_id,
            passphrase=founder.passphrase(),
            kdf=kdf,
            roles=founder.roles,
        )
        try:
            if anchor_page:
                from ceremony.flows.paperwork import issue_anchor

                issue_anchor(ledger, founded)
        finally:
            founded.identity.lock()
        existing = {employee_key(p.employee_id): p for p in people.participants(ledger) if p.active}
    ids = {
        n.employee_id: existing[employee_key(n.employee_id)].person_id
        for n in roster
        if employee_key(n.employee_id) in existing
    }
    todo = [n for n in roster if n.employee_id not in ids]
    if not todo:
        return ids
    from ceremony.flows.presence import Presence

    presence = Presence(ledger)
    officer_of_roster = next((n for n in officers if n.employee_id in ids), None)
    if officer_of_roster is None:
        raise InputError(
            "to enrol new people, the list of participants must include a security officer who is already "
            "enrolled on this ledger (with their passphrase)"
        )
    officer = presence.authenticate(
        ids[officer_of_roster.employee_id], officer_of_roster.passphrase(), "security_officer"
    )
    helper = next((n for n in roster if n.employee_id in ids and n is not officer_of_roster), None)
    second = (
        presence.authenticate(ids[helper.employee_id], helper.passphrase(), helper.roles[0])
        if helper
        else None
    )
    try:
        for newcomer in todo:
            person = Enrolment(ledger, officer, second, kdf=kdf).enroll(
                newcomer.name, newcomer.employee_id, newcomer.roles, newcomer.passphrase()
            )
            ids[newcomer.employee_id] = person.person_id
            if second is None:
                second = presence.authenticate(person.person_id, newcomer.passphrase(), newcomer.roles[0])
    finally:
        officer.leave()
        if second is not None:
            second.leave()
    return ids
