"""Who is present: a participant is present and authenticated when their passphrase unlocked their own
signing key (DESIGN §1). Three wrong passphrases in a row lock the person out for the rest of the
ceremony; every failure is recorded, so an auditor sees guessing.
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


@dataclass
class Presence:
    """Authentication for one ceremony: counts failures per person and records them."""

    ledger: Ledger
    ceremony_id: str | None = None
    failures: dict[str, int] = field(default_factory=dict)

    def authenticate(self, person_id: str, passphrase: SecretBytes, role: str) -> PresentPerson:
        """Unlock ``person_id``'s key with ``passphrase`` (wiped here) for ``role``.

        :raises IdentityError: not enrolled, deactivated, not enrolled for ``role``, or locked out.
        :raises WrongPassphraseError: the passphrase did not unlock the key (recorded).
        """
        try:
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
            blob, _fingerprint = stored
            try:
                identity = unlock(blob, person.certificate, passphrase)
            except WrongPassphraseError:
                count = self.failures.get(person_id, 0) + 1
                self.failures[person_id] = count
                payload: dict[str, object] = {"person_id": person_id, "attempt": count, "role": role}
                if self.ceremony_id:
                    payload["ceremony_id"] = self.ceremony_id
                self.ledger.append("auth.failed", payload, [person_id])
                left = MAX_ATTEMPTS - count
                raise WrongPassphraseError(
                    f"the passphrase did not unlock {person.name}'s key"
                    + (f" ({left} tries left)" if left else "; they are now locked out of this ceremony")
                ) from None
            self.failures.pop(person_id, None)
            return PresentPerson(person, identity)
        finally:
            passphrase.wipe()
