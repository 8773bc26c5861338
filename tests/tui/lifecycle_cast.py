"""Set-up for the lifecycle screens' tests: a real rehearsal ledger with people enrolled (light KDF), keys
generated and distributed through the generation engine (``ceremony.flows.generation``), and the shares
the custodians "wrote down"; a minimal app that pushes one lifecycle screen over its home screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.screen import Screen
from textual.widgets import Select

from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.store import Ledger
from ceremony.tui.app import CeremonyApp
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from tests.tui.gen_cast import make_ledger, passphrase, pick, type_into

ROSTER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sophie", "Sophie Officer", ("security_officer",)),
    ("alice", "Alice Admin", ("administrator",)),
    ("walter", "Walter Witness", ("witness",)),
    ("cust1", "Carla One", ("custodian",)),
    ("cust2", "Chris Two", ("custodian",)),
    ("cust3", "Cora Three", ("custodian",)),
    ("cust4", "Colin Four", ("custodian",)),
    ("cust5", "Cleo Five", ("custodian",)),
    ("cust6", "Cyril Six", ("custodian",)),
    ("cust7", "Cindy Seven", ("custodian",)),
)


@dataclass
class Generated:
    key_id: str
    split_id: str
    kcv_hex: str
    label: str
    holders: dict[int, str]  # share number -> short name
    texts: dict[int, str] = field(default_factory=dict)  # what each custodian wrote down
    serials: dict[int, str] = field(default_factory=dict)


def present(ledger: Ledger, ids: dict[str, str], name: str, role: str) -> PresentPerson:
    return Presence(ledger).authenticate(ids[name], SecretBytes(passphrase(name).encode()), role)


def generate(
    ledger: Ledger,
    ids: dict[str, str],
    names: tuple[str, ...],
    m: int,
    label: str,
    cryptoperiod_days: int = 365,
) -> Generated:
    """A key generated, distributed (envelope serials recorded) and verified by the generation engine."""
    admin = present(ledger, ids, "alice", "administrator")
    witness = present(ledger, ids, "walter", "witness")
    ceremony = GenerationCeremony.start(ledger, admin, witness, f"generate {label}", rehearsal=True)
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    spec = KeySpec(KeyType.AES_256, label, "zone master key", cryptoperiod_days)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, m, tuple(ids[n] for n in names)))
    kcv = ceremony.generate()
    assert ceremony.key_id and ceremony.split_id
    result = Generated(ceremony.key_id, ceremony.split_id, kcv.hex, label, dict(enumerate(names, start=1)))
    for number, name in result.holders.items():
        me = present(ledger, ids, name, "custodian")
        typed = ceremony.reveal(number, me)
        result.texts[number] = bytes(typed.view()).decode("ascii")
        typed.wipe()
        serial = f"TE-{label}-{number:03d}"
        ceremony.confirm_receipt(number, me, serial, "card")
        result.serials[number] = serial
        assert ceremony.verify_share(number, me, bytearray(result.texts[number].encode()))
        me.leave()
    ceremony.wipe()
    ceremony.close()
    admin.leave()
    witness.leave()
    return result


def prepare(path: Path) -> dict[str, str]:
    return make_ledger(path, ROSTER)


class LifecycleApp(CeremonyApp):
    """The app with one lifecycle screen pushed over its home screen, as a menu would push it."""

    def __init__(self, first: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self._first = first

    def on_mount(self) -> None:
        self.push_screen(self._first())


async def authenticate(pilot: Any, form: AuthForm, person_id: str | None, secret: str) -> None:
    """Pick the person (when the form offers a choice), type the passphrase, Enter."""
    if person_id is not None and form.query(Select):
        await pick(pilot, form.query_one(Select), person_id)
    await type_into(pilot, form.query_one(SecretInput), secret)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.pause()
