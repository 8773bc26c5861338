"""Who is present: a participant is present and authenticated when their passphrase unlocked their own
signing key (DESIGN §1). Three wrong passphrases in a row lock the person out; every failure is recorded,
so an auditor sees guessing.

The lockout is read from the ledger (:mod:`ceremony.policy.lockout`): the failures on record since the
person's last success on record (an event they signed) or the last lift, plus the failures this
:class:`Presence` still holds unsigned. A restart of the program therefore does not reset it; only a
security officer and a witness lift it (``auth.lockout_lifted``, :mod:`ceremony.flows.lockout`). A success
not yet on record does not reset the count either: it resets once the person signs an event.

A failure record (``auth.failed``) is signed like every event (DESIGN §5): by someone already present in
this ceremony (the administrator or witness watching), or — when nobody is present yet — it waits in memory
and is signed by the next person who authenticates (the one who failed, once they succeed, or anyone else).
A failure no one present ever signs is not recorded: the file must hold nothing unsigned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ceremony.crypto.identity import UnlockedIdentity, unlock
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import IdentityError, LedgerError, WrongPassphraseError
from ceremony.ledger.events import Event
from ceremony.ledger.participants import Participant, take_person
from ceremony.ledger.store import Ledger
from ceremony.policy.lockout import MAX_ATTEMPTS, Lockouts, Standing, lockouts

__all__ = ["MAX_ATTEMPTS", "Attempts", "Candidate", "LockedOutError", "Presence", "PresentPerson"]

LIFT_HINT = "a security officer and a witness can lift the lockout"


class LockedOutError(IdentityError):
    """The person is locked out after :data:`MAX_ATTEMPTS` wrong passphrases (``seq``: the ``auth.failed``
    event that locked them out on record; None while the failures still wait for a signer)."""

    def __init__(self, message: str, person_id: str, seq: int | None) -> None:
        super().__init__(message)
        self.person_id = person_id
        self.seq = seq


@dataclass(frozen=True)
class Attempts:
    """A person's wrong passphrases as this presence sees them: on record, plus those waiting for a signer."""

    recorded: Standing
    pending: int = 0

    @property
    def person_id(self) -> str:
        return self.recorded.person_id

    @property
    def count(self) -> int:
        return self.recorded.count + self.pending

    @property
    def locked(self) -> bool:
        return self.recorded.locked or self.count >= MAX_ATTEMPTS

    @property
    def locked_seq(self) -> int | None:
        """The event that locked the person out on record (None: not locked, or not on record yet)."""
        return self.recorded.locked_seq

    def describe(self, name: str) -> str:
        """Why ``name`` is refused (only meaningful when :attr:`locked`)."""
        if self.locked_seq is not None:
            return (
                f"{name} is locked out on record since event #{self.locked_seq} "
                f"({MAX_ATTEMPTS} wrong passphrases in a row); {LIFT_HINT}"
            )
        return (
            f"{name} is locked out after {MAX_ATTEMPTS} wrong passphrases in a row (the failures go on "
            f"record when someone present signs them); {LIFT_HINT}"
        )


@dataclass(eq=False)
class PresentPerson:
    """An enrolled participant whose key is unlocked: signs ledger attestations and PDFs."""

    person: Participant
    identity: UnlockedIdentity

    @property
    def person_id(self) -> str:
        return self.person.person_id

    @property
    def name(self) -> str:
        return self.person.name

    def sign(self, data: bytes) -> bytes:
        return self.identity.sign(data)

    def leave(self) -> None:
        self.identity.lock()

    def __repr__(self) -> str:
        return f"PresentPerson({self.person_id!r}, {self.name!r})"


@dataclass(eq=False)
class Candidate:
    """Someone about to authenticate: checked against the ledger, their encrypted key fetched.

    :meth:`unlock` is pure crypto (scrypt + AES-GCM, ~0.5 s) and touches no ledger, so a UI may run it in a
    worker thread; the ledger reads before and the record after stay on the ledger's own thread.
    """

    person: Participant
    role: str
    blob: bytes
    recorded: Standing | None = None  # the person's lockout standing on record when prepared

    def unlock(self, passphrase: SecretBytes) -> UnlockedIdentity | WrongPassphraseError:
        """The unlocked key, or the wrong-passphrase error (returned, for :meth:`Presence.settle`)."""
        try:
            return unlock(self.blob, self.person.certificate, passphrase)
        except WrongPassphraseError as error:
            return error
        finally:
            passphrase.wipe()


@dataclass
class Presence:
    """Authentication for one ceremony: refuses people locked out, records every failure."""

    ledger: Ledger
    ceremony_id: str | None = None
    present: list[PresentPerson] = field(default_factory=list)
    pending: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def lockouts(self) -> Lockouts:
        """Everyone's lockout standing on record (one pass over the ledger)."""
        return lockouts(self.ledger.events())

    def attempts(self, person_id: str, recorded: Lockouts | None = None) -> Attempts:
        """``person_id``'s failures: on record (``recorded``, else read now) and waiting for a signer."""
        book = recorded if recorded is not None else self.lockouts()
        return Attempts(book.of(person_id), self._pending_of(person_id))

    def locked_out(self, person_id: str) -> Attempts | None:
        """``person_id``'s attempts when they are locked out, else None."""
        attempts = self.attempts(person_id)
        return attempts if attempts.locked else None

    def _pending_of(self, person_id: str) -> int:
        return sum(1 for who, _ in self.pending if who == person_id)

    def authenticate(self, person_id: str, passphrase: SecretBytes, role: str) -> PresentPerson:
        """Unlock ``person_id``'s key with ``passphrase`` (wiped here) for ``role``.

        :raises IdentityError: not enrolled, deactivated, not enrolled for ``role``, or locked out
            (:class:`LockedOutError`).
        :raises WrongPassphraseError: the passphrase did not unlock the key (recorded).
        """
        try:
            candidate = self.prepare(person_id, role)
        except BaseException:
            passphrase.wipe()
            raise
        return self.settle(candidate, candidate.unlock(passphrase))

    def prepare(self, person_id: str, role: str) -> Candidate:
        """Check that ``person_id`` may authenticate for ``role`` now, and fetch their encrypted key."""
        people: dict[str, Participant] = {}

        def read() -> Iterator[Event]:  # one pass over the ledger: the people and the lockouts
            for event in self.ledger.events():
                take_person(people, event)
                yield event

        book = lockouts(read())
        person = people.get(person_id)
        if person is None:
            raise LedgerError(f"{person_id} is not an enrolled participant of this ledger.")
        if not person.active:
            raise IdentityError(
                f"{person.name} ({person_id}) was deactivated at event #{person.deactivated_seq} "
                "and cannot take part in a ceremony"
            )
        if role not in person.roles:
            raise IdentityError(
                f"{person.name} ({person_id}) is not enrolled as {role.replace('_', ' ')} "
                f"(enrolled as {', '.join(r.replace('_', ' ') for r in person.roles)})"
            )
        attempts = self.attempts(person_id, book)
        if attempts.locked:
            raise LockedOutError(attempts.describe(person.name), person_id, attempts.locked_seq)
        stored = self.ledger.key_blob(person_id)
        if stored is None:
            raise IdentityError(f"no signing key is stored for {person.name} on this ledger")
        return Candidate(person, role, stored[0], attempts.recorded)

    def settle(self, candidate: Candidate, outcome: UnlockedIdentity | WrongPassphraseError) -> PresentPerson:
        """Turn the unlock's outcome into a present person, or record the failure and raise it."""
        person = candidate.person
        if isinstance(outcome, UnlockedIdentity):
            present = PresentPerson(person, outcome)
            self.present.append(present)
            self._flush(present)  # their own failures too: signed by them, the count restarts on record
            return present
        recorded = candidate.recorded
        if recorded is None:
            recorded = self.lockouts().of(person.person_id)
        count = recorded.count + self._pending_of(person.person_id) + 1
        payload: dict[str, object] = {
            "person_id": person.person_id,
            "attempt": min(count, 1000),
            "role": candidate.role,
        }
        if self.ceremony_id:
            payload["ceremony_id"] = self.ceremony_id
        self.pending.append((person.person_id, payload))
        observer = next(
            (p for p in self.present if not p.identity.locked and p.person_id != person.person_id), None
        )
        if observer is not None:
            self._flush(observer)
        left = MAX_ATTEMPTS - count
        raise WrongPassphraseError(
            f"the passphrase did not unlock {person.name}'s key"
            + (f" ({left} tries left)" if left > 0 else f"; they are now locked out ({LIFT_HINT})")
        )

    def _flush(self, signer: PresentPerson) -> None:
        """Record the failures waiting for a signer, attested by ``signer`` (present and authenticated)."""
        while self.pending:
            person_id, payload = self.pending[0]
            self.ledger.append("auth.failed", payload, [person_id], [signer])
            self.pending.pop(0)
