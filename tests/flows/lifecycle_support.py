"""Helpers for the recovery / re-share / retirement / departure tests: a real generation run whose shares the
custodians "wrote down", and a recovery driven with them. People are authenticated once per test (light
scrypt cost from conftest) and reused. Every ceremony the helpers open records a clear air-gap preflight
first (``CLEAR``), as the flows require before any envelope is inspected or anything retired."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.crypto.wrap import WrappedKey
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import PresentPerson
from ceremony.flows.recovery import ComponentsOutput, RecoveryCeremony, WrappedOutput
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.retirement import RetirementCeremony

# A preflight summary as the ledger records it, with nothing insecure found (the machine is not read).
CLEAR = {"taken_at": "2026-11-23T00:00:00Z"}


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
    replaces: str | None = None,
    rehearsal: bool = False,
) -> Generated:
    names = tuple(names)
    ceremony = GenerationCeremony.start(
        people.cast.ledger, people.admin, people.witness, f"generate {label}", rehearsal=rehearsal
    )
    ceremony.record_preflight(CLEAR, uncovered=[])
    spec = KeySpec(KeyType.AES_256, label, "PIN zone master key", cryptoperiod_days, replaces=replaces)
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


# Three KEK custodians: a key of quorum 3 may be wrapped under their KEK without lowering its quorum.
KEK_CUSTODIANS = ("cust7", "cust8", "cust9")


def start_wrapped(
    people: People,
    gen: Generated,
    kek_custodians: Iterable[str] = KEK_CUSTODIANS,
    kek_kcv_hex: str | None = None,
    **kwargs,
) -> RecoveryCeremony:
    """A recovery whose output is the key wrapped under a KEK typed in components by ``kek_custodians``
    (short names), planned at the start; its clear preflight recorded."""
    output = WrappedOutput(
        "HSM-2 key transport KEK", tuple(people.id(n) for n in kek_custodians), kek_kcv_hex
    )
    return start_recovery(people, gen.key_id, output, **kwargs)


def start_recovery(
    people: People,
    key_id: str,
    output: ComponentsOutput | WrappedOutput,
    purpose: str = "test recovery",
    **kwargs,
) -> RecoveryCeremony:
    """A recovery started by Alice (administrator) and Walter (witness), its clear preflight recorded."""
    ceremony = RecoveryCeremony.start(
        people.cast.ledger, people.admin, people.witness, key_id, output, purpose, **kwargs
    )
    ceremony.record_preflight(CLEAR, uncovered=[])
    return ceremony


def start_components(people: People, gen: Generated, names: Iterable[str], **kwargs) -> RecoveryCeremony:
    """A recovery whose output is fresh XOR components, one for each of ``names`` in order."""
    output = ComponentsOutput(tuple(people.id(n) for n in names))
    return start_recovery(people, gen.key_id, output, "HSM load", **kwargs)


def receive_components(ceremony: RecoveryCeremony, people: People, names: Iterable[str], label: str) -> None:
    """Each component shown to its custodian, who seals their record in an envelope and signs its receipt."""
    for number, name in enumerate(names, start=1):
        ceremony.reveal_component(number, people(name)).wipe()
        ceremony.confirm_component_receipt(number, people(name), f"{label}-C{number:02d}", "recorded")


def start_reshare(
    people: People,
    key_id: str,
    plan: SplitPlan,
    reason: ReshareReason = ReshareReason.CUSTODIAN_CHANGE,
    purpose: str = "custodian rotation",
    **kwargs,
) -> ReshareCeremony:
    """A re-share started by Alice and Walter, its clear preflight recorded."""
    ceremony = ReshareCeremony.start(
        people.cast.ledger, people.admin, people.witness, key_id, plan, reason, purpose, **kwargs
    )
    ceremony.record_preflight(CLEAR, uncovered=[])
    return ceremony


def start_retirement(people: People, purpose: str = "end of life", **kwargs) -> RetirementCeremony:
    """A retirement started by Alice and Walter, its clear preflight recorded."""
    ceremony = RetirementCeremony.start(people.cast.ledger, people.admin, people.witness, purpose, **kwargs)
    ceremony.record_preflight(CLEAR, uncovered=[])
    return ceremony


def kek_parts(count: int, seed: int = 0) -> list[bytearray]:
    """``count`` AES-256 KEK components (deterministic per seed: the same KEK in every call)."""
    return [bytearray(((seed * 31 + n * 7 + i) % 256) for i in range(32)) for n in range(1, count + 1)]


def wrap_components(
    ceremony: RecoveryCeremony, people: People, parts: list[bytearray] | None = None
) -> tuple[WrappedKey, Key]:
    """Each planned KEK custodian types their component (hex), then the key is wrapped; returns the wrapped
    key and the KEK (the XOR of the parts) to unwrap it with."""
    custodians = ceremony.output.kek_custodians  # type: ignore[union-attr]
    parts = parts if parts is not None else kek_parts(len(custodians))
    names = {v: k for k, v in people.cast.ids.items()}
    for person, part in zip(custodians, parts, strict=True):
        ceremony.enter_kek_component(people(names[person]), bytearray(part.hex().encode()))
    wrapped = ceremony.wrap()
    kek = bytearray(32)
    for part in parts:
        kek = bytearray(a ^ b for a, b in zip(kek, part, strict=True))
    return wrapped, Key(KeyType.AES_256, SecretBytes(kek))


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
