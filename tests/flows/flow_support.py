"""A real ledger file with enrolled people (a light scrypt cost so tests stay quick)."""

from __future__ import annotations

from dataclasses import dataclass

from ceremony.crypto.identity import ScryptParams, enroll_identity
from ceremony.crypto.secret import SecretBytes
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger import participants
from ceremony.ledger.store import Ledger

FAST_KDF = ScryptParams(log2_n=10, r=8, p=1)


def passphrase_of(name: str) -> SecretBytes:
    return SecretBytes(f"rehearsal passphrase of {name}".encode())


@dataclass
class Cast:
    ledger: Ledger
    ids: dict[str, str]  # short name -> person id

    def present(self, name: str, role: str) -> PresentPerson:
        return Presence(self.ledger).authenticate(self.ids[name], passphrase_of(name), role)


def make_cast(tmp_path) -> Cast:
    ledger = Ledger.open(tmp_path / "ledger.sqlite3", create=True)
    ids: dict[str, str] = {}
    roster = [
        ("alice", ("administrator",)),
        ("walter", ("witness",)),
        ("sophie", ("security_officer", "witness")),
    ]
    roster += [(f"cust{i}", ("custodian",)) for i in range(1, 10)]
    for index, (name, roles) in enumerate(roster):
        cert, blob = enroll_identity(name.title(), f"E{index:04d}", passphrase_of(name), kdf=FAST_KDF)
        person = participants.enroll(
            ledger,
            name=name.title(),
            employee_id=f"E{index:04d}",
            roles=roles,
            certificate=cert,
            key_blob=blob,
        )
        ids[name] = person.person_id
    return Cast(ledger, ids)
