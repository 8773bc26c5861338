"""A real ledger file with enrolled people (a light scrypt cost so tests stay quick)."""

from __future__ import annotations

from dataclasses import dataclass

from ceremony.crypto.identity import ScryptParams
from ceremony.crypto.secret import SecretBytes
from ceremony.flows.enrolment import Enrolment, found_ledger
from ceremony.flows.presence import Presence, PresentPerson
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


ORGANISATION = "Example Payments Ltd"


def make_cast(tmp_path, rehearsal: bool = False) -> Cast:
    """A founded ledger (Sophie, security officer and witness, founds it) and everyone a ceremony needs,
    each enrolled under dual control: Sophie as officer, Alice (once enrolled) as the second signer."""
    ledger = Ledger.open(tmp_path / "ledger.sqlite3", create=True, rehearsal=rehearsal)
    ids: dict[str, str] = {}
    founded = found_ledger(
        ledger,
        organisation=ORGANISATION,
        name="Sophie",
        employee_id="E0002",
        passphrase=passphrase_of("sophie"),
        kdf=FAST_KDF,
        roles=("security_officer", "witness"),
    )
    founded.identity.lock()
    ids["sophie"] = founded.founder.person_id
    presence = Presence(ledger)
    officer = presence.authenticate(ids["sophie"], passphrase_of("sophie"), "security_officer")
    roster = [("alice", ("administrator",)), ("walter", ("witness",))]
    roster += [(f"cust{i}", ("custodian",)) for i in range(1, 10)]
    second = None
    for name, roles in roster:
        index = 0 if name == "alice" else 1 if name == "walter" else 2 + int(name[4:])
        person = Enrolment(ledger, officer, second, kdf=FAST_KDF).enroll(
            name.title(), f"E{index:04d}", roles, passphrase_of(name)
        )
        ids[name] = person.person_id
        if second is None:
            second = presence.authenticate(person.person_id, passphrase_of(name), "administrator")
    officer.leave()
    if second is not None:
        second.leave()
    return Cast(ledger, ids)
