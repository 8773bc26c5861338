"""Checking a TR-31 key block received from elsewhere, in a ceremony (issue 16; PCI DSS 3.7.7).

A key block arrives (from a key distribution host, a vendor, another site's HSM) claiming to carry a key of
this ledger. Before it is trusted, the key block protection key's custodians type their components in the
room and the tool opens the block: the MAC must verify under the KBPK they formed (the header — usage,
mode of use, exportability — was not altered) and the key inside must have the registered KCV (it is the
key the register names, not a substitute). The key is never shown; the KBPK exists only in memory between
the last component and the verdict.

1. ``start`` — administrator and witness (neither ever knew the key) name the registered key, the block
   (its header is read; nothing is vouched for yet) and the KBPK's custodians, planned and checked in the
   custody dry run as for a recovery's KBPK: whoever knows the KBPK can open the block, so they may not
   number fewer than the key's quorum (DESIGN §3). Recorded as ``ceremony.started`` kind
   ``key_block_check`` with the block's SHA-256.
2. ``record_preflight`` — the air-gap preflight, as in every ceremony.
3. ``enter_kbpk_component`` — each planned custodian types their component (hex) once: only its KCV is
   recorded (``kbpk.component_entered``), and the caller shows it for the custodian to compare.
4. ``check`` — the verdict, recorded either way (``key_block.checked``): ``verified``, ``mac_failed`` (the
   block or its header was altered, or the KBPK is not the one it was made under) or ``kcv_mismatch``
   (the block opens, but to another key — a substitution). Only a verified block becomes a custody route to
   the key (the KBPK's custodians now hold it, with the block).
5. ``close`` / ``void``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ceremony.crypto import tr31
from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue, kcv_by_method
from ceremony.errors import (
    FlowError,
    InputError,
    KCVMismatchError,
    KeyBlockError,
    LedgerError,
    RehearsalMixError,
    RetiredKeyError,
)
from ceremony.flows.common import (
    Present,
    Recorder,
    ceremony_location,
    check_control_never_knew,
    check_ledger_kind,
    distinct,
    read_register,
    record_preflight_run,
)
from ceremony.flows.recovery import KeyBlockOutput, header_summary
from ceremony.flows.transport import (
    TransportComponents,
    TransportPlan,
    check_transport_plan,
    dry_run_transport,
)
from ceremony.ledger.register import KeyInfo
from ceremony.ledger.store import Ledger

MAX_BLOCK = 9999
CHECK_REFUSED = "The key block check"  # how a custody refusal names this ceremony


class Stage(StrEnum):
    STARTED = "started"  # the preflight comes first
    OPEN = "open"  # components being typed
    CHECKED = "checked"  # the verdict is recorded
    CLOSED = "closed"
    VOIDED = "voided"


class Verdict(StrEnum):
    VERIFIED = "verified"  # the MAC verifies and the key inside has the registered KCV
    MAC_FAILED = "mac_failed"  # altered, or made under another KBPK
    KCV_MISMATCH = "kcv_mismatch"  # opens, but to another key: a substitution (PCI DSS 3.7.7)


@dataclass(frozen=True)
class CheckResult:
    """The verdict and what it was checked against. ``found_kcv``: the KCV of the key inside the block
    (only when the MAC verified); never the key."""

    verdict: Verdict
    header: tr31.Header
    kbpk_kcv: KeyCheckValue
    registered_kcv: KeyCheckValue
    found_kcv: KeyCheckValue | None
    sha256: str

    @property
    def verified(self) -> bool:
        return self.verdict is Verdict.VERIFIED


@dataclass
class KeyBlockCheck:
    ledger: Ledger
    administrator: Present
    witness: Present
    purpose: str
    key: KeyInfo
    block: str
    header: tr31.Header
    plan: TransportPlan
    rehearsal: bool = False
    ceremony_id: str = field(default_factory=new_id)
    stage: Stage = Stage.STARTED
    result: CheckResult | None = None
    _components: TransportComponents | None = None

    @classmethod
    def start(
        cls,
        ledger: Ledger,
        administrator: Present,
        witness: Present,
        key_id: str,
        block: str,
        kbpk_label: str,
        kbpk_custodians: Sequence[str],
        purpose: str,
        *,
        kbpk_kcv_hex: str | None = None,
        rehearsal: bool = False,
        location: str | None = None,
    ) -> KeyBlockCheck:
        distinct(administrator, witness)
        if not purpose.strip():
            raise InputError("state the ceremony's purpose; it is printed in the minutes")
        if not kbpk_label.strip():
            raise InputError("name the key block protection key (as the sending system knows it)")
        where = ceremony_location(location)
        check_ledger_kind(ledger, rehearsal)
        text = "".join(block.split())
        if not text:
            raise InputError("no key block was given")
        if len(text) > MAX_BLOCK:
            raise InputError(f"more than {MAX_BLOCK} characters: that is not one key block")
        header = tr31.inspect(text)  # its structure; nothing vouched for before the MAC
        if header.version not in tr31.VERSIONS:
            raise KeyBlockError(f"a key block of version {header.version} is not opened here (only B and D)")
        register = read_register(ledger.events())
        try:
            key = register.key(key_id)
        except LedgerError:
            raise InputError(f"no key {key_id[:20]} is registered in this ledger") from None
        if key.test_key != rehearsal:
            raise RehearsalMixError(
                f"key {key_id} is a {'TEST' if key.test_key else 'production'} key: its key blocks are "
                f"checked only in a {'rehearsal' if key.test_key else 'production ceremony'}"
            )
        if key.retired:
            raise RetiredKeyError(f"key {key_id} ({key.label}) was retired at event #{key.retired_seq}")
        history = ledger.custody()
        check_control_never_knew(history, key_id, administrator, witness)
        plan = TransportPlan(
            "kbpk", "KBPK", kbpk_label.strip(), tuple(kbpk_custodians), kbpk_kcv_hex, header.version
        )
        control = {administrator.person_id: "administrator", witness.person_id: "witness"}
        check_transport_plan(plan, control)
        dry_run_transport(history, key_id, plan, plan.planned_kcv(), refused=CHECK_REFUSED)
        planned_kcv = plan.planned_kcv()
        ceremony = cls(ledger, administrator, witness, purpose.strip(), key, text, header, plan, rehearsal)
        digest = hashlib.sha256(text.encode("ascii")).hexdigest()
        ceremony._record(
            "ceremony.started",
            {
                "kind": "key_block_check",
                "purpose": ceremony.purpose,
                "rehearsal": rehearsal,
                **where,
                "key_id": key_id,
                "kbpk_label": plan.label,
                "kbpk_custodians": list(plan.custodians),
                **({"kbpk_kcv_hex": planned_kcv.value.hex()} if planned_kcv is not None else {}),
                "key_block_header": header_summary(header),
                "key_block_sha256": digest,
            },
            (administrator, witness),
        )
        return ceremony

    @property
    def key_id(self) -> str:
        return self.key.key_id

    def _record(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        return Recorder(self.ledger, self.ceremony_id)(event_type, payload, signers)

    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None:
        """The air-gap preflight (as every ceremony records it); no component is typed before it."""
        if self.stage is not Stage.STARTED:
            raise FlowError("the preflight is recorded before any KBPK component is typed")
        record_preflight_run(
            Recorder(self.ledger, self.ceremony_id),
            (self.administrator, self.witness),
            summary,
            uncovered,
            rehearsal=self.rehearsal,
            record_only=record_only,
        )
        self.stage = Stage.OPEN

    @property
    def components(self) -> TransportComponents:
        if self._components is None:
            self._components = TransportComponents(
                self.plan, self.key_id, self.witness, (self.administrator, self.witness), self._record
            )
        return self._components

    @property
    def missing(self) -> tuple[str, ...]:
        """The planned KBPK custodians whose component is still to be typed."""
        return self.components.missing

    def enter_kbpk_component(
        self, custodian: Present, hex_text: bytes | bytearray | str, expected_kcv_hex: str | None = None
    ) -> KeyCheckValue:
        """A planned KBPK custodian types their component in hex, once; only its KCV is recorded."""
        if self.stage is Stage.STARTED:
            raise FlowError("run the air-gap preflight first: no component is typed before it")
        if self.stage is not Stage.OPEN:
            raise FlowError(f"this key block check is {self.stage.value}")
        return self.components.enter(custodian, hex_text, expected_kcv_hex)

    # -- what the recovery's KBPK component screen reads (the terminal UI shows this check's components on
    # -- that same screen): the KBPK planned, the custodians still to type, and the entry itself.
    @property
    def output(self) -> KeyBlockOutput:
        """The KBPK and the received block's header in the shape of a key block output, whose ``transport``
        is this check's plan (name "KBPK", its custodians). Nothing is made from it."""
        h = self.header
        return KeyBlockOutput(
            self.plan.label,
            self.plan.custodians,
            self.plan.kcv_hex,
            version=h.version,
            key_usage=h.key_usage,
            mode_of_use=h.mode_of_use,
            key_version=h.key_version,
            exportability=h.exportability,
        )

    @property
    def kek_missing(self) -> tuple[str, ...]:
        return self.missing

    def enter_kek_component(
        self, custodian: Present, hex_text: bytes | bytearray | str, expected_kcv_hex: str | None = None
    ) -> KeyCheckValue:
        return self.enter_kbpk_component(custodian, hex_text, expected_kcv_hex)

    def check(self) -> CheckResult:
        """Open the block under the KBPK the custodians formed and record the verdict (every verdict is
        recorded: a failed check is evidence). The KBPK is wiped whatever happens; the key is never
        returned. A KBPK whose KCV differs from the one planned is refused before the block is opened."""
        if self.stage is not Stage.OPEN:
            raise FlowError(f"this key block check is {self.stage.value}, not open")
        components = self.components
        kbpk = components.form()
        found: KeyCheckValue | None = None
        try:
            kbpk_kcv = self.plan.kcv(kbpk.material)
            planned = self.plan.planned_kcv()
            if planned is not None and not kbpk_kcv.matches(planned):
                raise KCVMismatchError(
                    f"the KBPK formed has KCV {kbpk_kcv.hex}, not the {planned.hex} expected: the block was "
                    "not opened; the components can be typed again"
                )
            try:
                _, inner = tr31.unwrap(kbpk.material, self.block)
            except KeyBlockError:
                verdict = Verdict.MAC_FAILED
            else:
                try:
                    found = kcv_by_method(self.key.kcv_method, inner)
                finally:
                    inner.wipe()
                verdict = Verdict.VERIFIED if found.matches(self.key.kcv) else Verdict.KCV_MISMATCH
        except KCVMismatchError:
            components.forget()
            raise
        finally:
            kbpk.wipe()
        kcvs, method = components.component_kcvs()
        if verdict is Verdict.VERIFIED:
            # From now on the KBPK's custodians hold a route to the key (with the block): the custody rule
            # decides, on the ledger as it is now, with the real components.
            dry_run_transport(
                self.ledger.custody(),
                self.key_id,
                self.plan,
                kbpk_kcv,
                components.component_ids(),
                refused=CHECK_REFUSED,
            )
        digest = hashlib.sha256(self.block.encode("ascii")).hexdigest()
        self._record(
            "key_block.checked",
            {
                "key_id": self.key_id,
                "verdict": verdict.value,
                "key_kcv_hex": self.key.kcv.value.hex(),
                "key_kcv_method": self.key.kcv.method,
                **({"found_kcv_hex": found.value.hex()} if found is not None else {}),
                "kbpk_label": self.plan.label,
                "kbpk_source": "components",
                "kbpk_kcv_hex": kbpk_kcv.value.hex(),
                "kbpk_kcv_method": kbpk_kcv.method,
                "kbpk_custodians": list(self.plan.custodians),
                "kbpk_component_kcvs": [k.value.hex() for k in kcvs],
                "kbpk_component_method": method,
                "block_version": self.header.version,
                "header": self.block[: tr31.header_length(self.block)],
                "block_length": len(self.block),
                "block_sha256": digest,
            },
            (self.administrator, self.witness),
        )
        components.wipe()
        self.result = CheckResult(verdict, self.header, kbpk_kcv, self.key.kcv, found, digest)
        self.stage = Stage.CHECKED
        return self.result

    def close(self, checkpoint_text: str | None = None) -> None:
        if self.stage is not Stage.CHECKED:
            raise FlowError("the key block is checked before the ceremony closes")
        self._record(
            "ceremony.closed",
            {"outcome": "completed", **({"checkpoint": checkpoint_text} if checkpoint_text else {})},
            (self.administrator, self.witness),
        )
        self.stage = Stage.CLOSED

    def void(self, reason: str) -> None:
        if self.stage in (Stage.CLOSED, Stage.VOIDED):
            return
        if self._components is not None:
            self._components.wipe()
        self._record("ceremony.voided", {"reason": reason or "voided"}, (self.administrator, self.witness))
        self.stage = Stage.VOIDED
