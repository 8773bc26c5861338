"""Who is present: a participant is present and authenticated when their passphrase unlocked their own
signing key (DESIGN §1). Three wrong passphrases in a row lock the person out for the rest of the
ceremony; every failure is recorded, so an auditor sees guessing.

A failure record (``auth.failed``) is signed like every event (DESIGN §5): by someone already present in
this ceremony (the administrator or witness watching), or — when nobody is present yet — it waits in memory
and is signed by the next person who authenticates (the one who failed, once they succeed, or anyone else).
A failure no one present ever signs is not recorded: the file must hold nothing unsigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ceremony.crypto.identity import UnlockedIdentity, unlock
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import IdentityError, WrongPassphraseError
from ceremony.ledger.participants import Participant, participant
from ceremony.ledger.store import Ledger

MAX_ATTEMPTS = 3


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
    """Authentication for one ceremony: counts failures per person and records them."""

    ledger: Ledger
    ceremony_id: str | None = None
    failures: dict[str, int] = field(default_factory=dict)
    present: list[PresentPerson] = field(default_factory=list)
    pending: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def authenticate(self, person_id: str, passphrase: SecretBytes, role: str) -> PresentPerson:
        """Unlock ``person_id``'s key with ``passphrase`` (wiped here) for ``role``.

        :raises IdentityError: not enrolled, deactivated, not enrolled for ``role``, or locked out.
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
        person = participant(self.ledger, person_id)
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
        if self.failures.get(person_id, 0) >= MAX_ATTEMPTS:
            raise IdentityError(
                f"{person.name} is locked out of this ceremony after {MAX_ATTEMPTS} wrong passphrases; "
                "a security officer must investigate before they take part again"
            )
        stored = self.ledger.key_blob(person_id)
        if stored is None:
            raise IdentityError(f"no signing key is stored for {person.name} on this ledger")
        return Candidate(person, role, stored[0])

    def settle(self, candidate: Candidate, outcome: UnlockedIdentity | WrongPassphraseError) -> PresentPerson:
        """Turn the unlock's outcome into a present person, or record the failure and raise it."""
        person = candidate.person
        if isinstance(outcome, UnlockedIdentity):
            self.failures.pop(person.person_id, None)
            present = PresentPerson(person, outcome)
            self.present.append(present)
            self._flush(present)
            return present
        count = self.failures.get(person.person_id, 0) + 1
        self.failures[person.person_id] = count
        payload: dict[str, object] = {"person_id": person.person_id, "attempt": count, "role": candidate.role}
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
            + (f" ({left} tries left)" if left else "; they are now locked out of this ceremony")
        )

    def _flush(self, signer: PresentPerson) -> None:
        """Record the failures waiting for a signer, attested by ``signer`` (present and authenticated)."""
        while self.pending:
            person_id, payload = self.pending[0]
            self.ledger.append("auth.failed", payload, [person_id], [signer])
            self.pending.pop(0)
