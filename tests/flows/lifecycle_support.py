"""Helpers for the recovery / re-share / retirement / departure tests: a real generation run whose shares the
custodians "wrote down", and a recovery driven with them. People are authenticated once per test (light
scrypt cost from conftest) and reused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import PresentPerson
from ceremony.flows.recovery import RecoveryCeremony, WrappedOutput


class People:
    """Authenticated participants of one test, each unlocked once."""

    def __init__(self, cast) -> None:
        self.cast = cast
        self._cache: dict[tuple[str, str], PresentPerson] = {}

    def __call__(self, name: str, role: str = "custodian") -> PresentPerson:
        if (name, role) not in self._cache:
            self._cache[(name, role)] = self.cast.present(name, role)
        return self._cache[(name, role)]

    @property
    def admin(self) -> PresentPerson:
        return self("alice", "administrator")

    @property
    def witness(self) -> PresentPerson:
        return self("walter", "witness")

    def id(self, name: str) -> str:
        return self.cast.ids[name]


@dataclass
class Generated:
    key_id: str
    split_id: str
    kcv: KeyCheckValue
    holders: dict[int, str]  # share number -> custodian short name
    texts: dict[int, bytearray] = field(default_factory=dict)  # what each custodian wrote down
    serials: dict[int, str] = field(default_factory=dict)

    def holder_of(self, number: int) -> str:
        return self.holders[number]


def generate(
    people: People,
    names: Iterable[str],
    m: int,
    label: str = "ZMK",
    cryptoperiod_days: int = 365,
    scheme: Scheme = Scheme.SHAMIR,
) -> Generated:
    names = tuple(names)
    ceremony = GenerationCeremony.start(people.cast.ledger, people.admin, people.witness, f"generate {label}")
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    spec = KeySpec(KeyType.AES_256, label, "PIN zone master key", cryptoperiod_days)
    ceremony.plan_key(spec, SplitPlan(scheme, m, tuple(people.id(n) for n in names)))
    kcv = ceremony.generate()
    assert ceremony.key_id and ceremony.split_id
    result = Generated(ceremony.key_id, ceremony.split_id, kcv, dict(enumerate(names, start=1)))
    distribute(ceremony, people, result, label)
    ceremony.wipe()
    ceremony.close()
    return result


def distribute(ceremony, people: People, result: Generated, label: str) -> None:
    """Reveal, receipt (envelope serial), verification round — for generation or re-share alike."""
    for number, name in result.holders.items():
        me = people(name)
        typed = ceremony.reveal(number, me)
        result.texts[number] = bytearray(typed.view())
        typed.wipe()
        serial = f"{label}-{result.split_id[:4]}-{number:03d}"
        ceremony.confirm_receipt(number, me, serial, "card")
        result.serials[number] = serial
        assert ceremony.verify_share(number, me, bytearray(result.texts[number]))


def open_and_enter(ceremony, people: People, gen: Generated, numbers: Iterable[int]):
    """Each custodian's envelope is inspected (serial read back, seal intact) and their share entered."""
    progress = None
    for number in numbers:
        me = people(gen.holder_of(number))
        ceremony.inspect_envelope(number, me, gen.serials[number], True, True)
        progress = ceremony.enter_share(me, bytearray(gen.texts[number]))
    return progress


def start_wrapped(people: People, gen: Generated, **kwargs) -> RecoveryCeremony:
    return RecoveryCeremony.start(
        people.cast.ledger,
        people.admin,
        people.witness,
        gen.key_id,
        WrappedOutput("HSM-2 key transport KEK"),
        "test recovery",
        **kwargs,
    )


def tampered(text: bytearray) -> bytearray:
    """The same share with one byte of its y-values changed, re-encoded so every checksum is valid: what a
    forged or damaged-then-rewritten card looks like to the codec."""
    share = decode_share(bytearray(text))
    data = bytearray(share.data.view())
    data[0] ^= 0x5A
    forged = Share(
        share.key_id,
        share.split_id,
        share.scheme,
        share.threshold,
        share.count,
        share.number,
        SecretBytes(data),
    )
    encoded = encode_share(forged)
    out = bytearray(encoded.view())
    encoded.wipe()
    return out


def new_kek() -> Key:
    return Key.generate(KeyType.AES_256)
