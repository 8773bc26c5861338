"""A transport key formed in the room from components (issue 7 KEK, issue 16 KBPK): the plan, the custody dry
run, and the collection of its components.

A recovery's wrapped output (RFC 5649 under a KEK), its key block output (TR-31 under a KBPK) and the check
of a received key block (:mod:`ceremony.flows.keyblock_check`) all form their transport key the same way:
custodians planned in advance (at least two, never the administrator or the witness, and — since whoever
knows the transport key can open what it protects — at least the key's quorum, checked against the whole
custody history before any envelope is opened), each typing one component in hex, once; only each
component's KCV is recorded; the key is their XOR, formed in memory and wiped after use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KCVMethod, KeyCheckValue, aes_kcv, tdes_kcv
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.xor import xor_components
from ceremony.errors import (
    BelowThresholdError,
    CustodyViolationError,
    DualControlError,
    InputError,
    KCVMismatchError,
    KeyMaterialError,
)
from ceremony.flows.common import Present, distinct
from ceremony.policy.custody import CustodyHistory, transport_key_id


@dataclass(frozen=True)
class TransportPlan:
    """What a KEK (wrapped output) and a KBPK (key block output) have in common: a transport key formed from
    components its planned custodians type, its KCV known or not, its custody checked in a dry run."""

    role: str  # "kek" | "kbpk": the transport key's kind in the custody record
    name: str  # "KEK" | "KBPK", as the room reads it
    label: str
    custodians: tuple[str, ...]
    kcv_hex: str | None
    version: str = ""  # key block version (KBPK): D = AES, B = TDES

    @property
    def tdes(self) -> bool:
        return self.role == "kbpk" and self.version == "B"

    @property
    def kcv_method(self) -> str:
        return KCVMethod.TDES_ECB.value if self.tdes else KCVMethod.AES_CMAC.value

    def kcv(self, material: SecretBytes) -> KeyCheckValue:
        return tdes_kcv(material) if self.tdes else aes_kcv(material)

    def key_type(self, length: int) -> KeyType:
        if self.tdes:
            if length == 16:
                return KeyType.TDES_2KEY
            if length == 24:
                return KeyType.TDES_3KEY
            raise KeyMaterialError(f"a TDES KBPK component has 16 or 24 bytes, not {length}")
        return KeyType.for_aes_length(length)

    def planned_kcv(self) -> KeyCheckValue | None:
        if self.kcv_hex is None or not self.kcv_hex.strip():
            return None
        return KeyCheckValue.from_hex(self.kcv_method, self.kcv_hex)


def hex_secret(text: bytes | bytearray | str) -> SecretBytes:
    """Hex digits (spaces allowed) into a wipeable buffer, without building an intermediate ``bytes``."""
    digits = bytearray()
    out = bytearray()
    try:
        for char in text.encode("ascii", "replace") if isinstance(text, str) else text:
            if chr(char).isspace():
                continue
            value = int(chr(char), 16) if chr(char) in "0123456789abcdefABCDEF" else -1
            if value < 0:
                raise InputError("a key component is typed in hexadecimal digits (0-9, A-F)")
            digits.append(value)
        if len(digits) % 2:
            raise InputError(f"a key component has an even number of hex digits, not {len(digits)}")
        for i in range(0, len(digits), 2):
            out.append(digits[i] << 4 | digits[i + 1])
        return SecretBytes.adopt(out)
    except BaseException:
        out[:] = bytes(len(out))
        raise
    finally:
        digits[:] = bytes(len(digits))


def check_transport_plan(plan: TransportPlan, control: dict[str, str]) -> None:
    """At least two KEK (KBPK) custodians, distinct, none of them the administrator or the witness
    (DESIGN §1)."""
    custodians = plan.custodians
    if len(custodians) < 2:
        raise InputError(
            f"name the {plan.name} custodians in advance: at least two, each bringing one component (no "
            f"single person may know the {plan.name}, PCI DSS 3.7.6)"
        )
    for number, person in enumerate(custodians, start=1):
        if person in control:
            raise DualControlError(
                f"the {control[person]} cannot also be {plan.name} custodian {number} "
                "(DESIGN §1: control roles and custody are held by different people)"
            )
    if len(set(custodians)) != len(custodians):
        raise DualControlError(f"each {plan.name} custodian brings one component: a person is named twice")


def component_id(kcv: KeyCheckValue) -> str:
    """A KEK component's identity in the custody record: its own KCV (method and value)."""
    return f"{kcv.method}:{kcv.value.hex()}"


def dry_run_transport(
    history: CustodyHistory,
    key_id: str,
    plan: TransportPlan,
    kek_kcv: KeyCheckValue | None,
    components: Sequence[str] | None = None,
    *,
    refused: str | None = None,
) -> None:
    """The custody rule with the planned wrap added (on the caller's copy of the history): whoever knows the
    transport key's components rebuilds the key from the file or block, so they may not number fewer than
    the key's quorum. Placeholder component ids (and transport id, when the transport key's KCV is not known
    yet) before the components are typed; with ``kek_kcv`` what was already known of it counts too.
    ``refused``: what the refusal names ("The key block check"; default: the recovery output)."""
    tag = new_id()
    transport = (
        transport_key_id(plan.role, kek_kcv.method, kek_kcv.value.hex())
        if kek_kcv is not None
        else f"{plan.role}:planned:{tag}"
    )
    custodians = plan.custodians
    parts = components or [f"planned:{tag}:{n}" for n in range(1, len(custodians) + 1)]
    try:
        history.check_wrap(key_id, transport, tuple(zip(custodians, parts, strict=True)), seq=0)
    except CustodyViolationError as exc:
        what = f"the {plan.name} planned" if kek_kcv is None else f"{plan.name} {kek_kcv.hex}"
        output = refused or ("The wrapped output" if plan.role == "kek" else "The key block output")
        text = str(exc).replace("After event #0, ", "").replace(f"transport key {transport}", what)
        raise CustodyViolationError(
            f"{output} is refused: {text[:1].lower()}{text[1:]}", forbidding_seq=exc.forbidding_seq
        ) from None


@dataclass
class TransportComponents:
    """The components of one transport key as its planned custodians type them (in memory, wipeable).
    ``record(event_type, payload, signers)`` writes the ledger (the ceremony's recorder)."""

    plan: TransportPlan
    key_id: str
    witness: Present
    control: tuple[Present, ...]
    record: Callable[[str, dict[str, Any], Sequence[Present]], Any]
    _parts: list[tuple[str, SecretBytes]] = field(default_factory=list)
    kcvs: dict[str, KeyCheckValue] = field(default_factory=dict)  # custodian -> component KCV

    def enter(
        self, custodian: Present, hex_text: bytes | bytearray | str, expected_kcv_hex: str | None = None
    ) -> KeyCheckValue:
        """A planned custodian types their component in hex, once; only its KCV is recorded
        (``kek.component_entered`` / ``kbpk.component_entered``, signed by the custodian and the witness).
        ``expected_kcv_hex``: the component's KCV from the custodian's form, checked at once."""
        plan = self.plan
        for person in self.control:
            distinct(custodian, person)
        if custodian.person_id not in plan.custodians:
            raise DualControlError(
                f"{custodian.person_id} is not one of the {plan.name} custodians named at the start "
                f"({', '.join(plan.custodians)}); only they type its components"
            )
        if custodian.person_id in self.kcvs:
            raise DualControlError(f"{custodian.person_id} already entered a {plan.name} component")
        part = hex_secret(hex_text)
        try:
            plan.key_type(len(part))  # a component of the right length for the transport key
            kcv = plan.kcv(part)
            if expected_kcv_hex is not None and not kcv.matches(
                KeyCheckValue.from_hex(kcv.method, expected_kcv_hex)
            ):
                raise KCVMismatchError(
                    f"the {plan.name} component entered has KCV {kcv.hex}, "
                    f"not {expected_kcv_hex.strip().upper()[:10]}"
                )
            if self._parts and len(self._parts[0][1]) != len(part):
                raise InputError(
                    f"this {plan.name} component has {len(part)} bytes; the first one had "
                    f"{len(self._parts[0][1])}"
                )
        except BaseException:
            part.wipe()
            raise
        self.record(
            f"{plan.role}.component_entered",
            {
                "key_id": self.key_id,
                "person_id": custodian.person_id,
                "component_number": plan.custodians.index(custodian.person_id) + 1,
                "component_kcv_hex": kcv.value.hex(),
                "kcv_method": kcv.method,
            },
            (custodian, self.witness),
        )
        self._parts.append((custodian.person_id, part))
        self.kcvs[custodian.person_id] = kcv
        return kcv

    @property
    def missing(self) -> tuple[str, ...]:
        """The planned custodians whose component is still to be typed."""
        return tuple(p for p in self.plan.custodians if p not in self.kcvs)

    def form(self) -> Key:
        """The transport key: XOR of every planned custodian's component, in plan order (caller wipes)."""
        if self.missing:
            raise BelowThresholdError(
                f"{len(self.kcvs)} of {len(self.plan.custodians)} {self.plan.name} components entered; "
                f"still to enter: {', '.join(self.missing)}"
            )
        by_person = dict(self._parts)
        parts = [by_person[person] for person in self.plan.custodians]
        return xor_components(parts, self.plan.key_type(len(parts[0])))

    def component_kcvs(self) -> tuple[list[KeyCheckValue], str]:
        """Each component's KCV in plan order, and their (one) method."""
        kcvs = [self.kcvs[person] for person in self.plan.custodians]
        methods = {kcv.method for kcv in kcvs}
        assert len(methods) == 1
        return kcvs, methods.pop()

    def component_ids(self) -> list[str]:
        return [component_id(kcv) for kcv in self.component_kcvs()[0]]

    def wipe(self) -> None:
        for _, part in self._parts:
            part.wipe()
        self._parts.clear()

    def forget(self) -> None:
        """Every component forgotten (wiped), to be typed again — e.g. a transport key that is not the one
        expected. What was recorded stays recorded."""
        self.wipe()
        self.kcvs.clear()
