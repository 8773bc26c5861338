"""The recovery (reconstruction) ceremony as a UI-agnostic state machine (DESIGN §4.3).

One object per ceremony; each public method is one step or one custodian's turn, checks that it is allowed
now and by whom, writes the ledger and returns what the view (or a rehearsal script) shows:

1. ``start`` — administrator and witness (neither ever knew the key, DESIGN §1) name the key and the output,
   chosen in advance and recorded: fresh XOR components for an HSM, a file wrapped under a KEK (RFC 5649),
   or a hand-over to a re-share (:mod:`ceremony.flows.reshare`); and where the ceremony takes place.
   ``record_preflight`` — the air-gap preflight, as in generation: an uncovered finding blocks (record-only
   in a rehearsal); nothing below happens before it.
2. ``inspect_envelope`` — before an envelope is opened its serial is read back and compared with the one
   recorded at sealing, and custodian and witness each state whether the seal is intact. A mismatch or a
   broken seal is an incident (PCI PIN 9-2/9-4); that share is refused unless a security officer records a
   decision (``decide_incident``).
3. ``enter_share`` — each custodian types (or scans) their share: it must be of this key and split, not of a
   retired split, not a duplicate, and match its commitment; the entry is an exposure in the ledger.
4. ``rebuild`` — once ``m`` are in, combine and check the registered KCV. A failure resets progress; with
   more than ``m`` offered the bad share is named.
5. The output step (``make_components`` + ``reveal_component`` + ``confirm_component_receipt`` for each
   component, or ``wrap``), then ``finish`` wipes the key.

The clear key exists only in this object's memory, in wipeable buffers, between ``rebuild`` and
``finish``/``void``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ceremony.crypto import recipes, tr31
from ceremony.crypto.codec import decode_share, vault_hex
from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue, kcv_by_method
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.shamir import check_commitment
from ceremony.crypto.share import Scheme, Share
from ceremony.crypto.wrap import WrappedKey, wrap_key
from ceremony.crypto.xor import component_kcv
from ceremony.errors import (
    BadShareError,
    BelowThresholdError,
    CeremonyError,
    DualControlError,
    DuplicateShareError,
    EnvelopeIncidentError,
    FlowError,
    ForeignShareError,
    InputError,
    KCVMismatchError,
    KeyBlockError,
    LedgerError,
    RehearsalMixError,
    RetiredKeyError,
    RetiredShareError,
    ShareError,
)
from ceremony.flows.common import (
    DemonstratedIncident,
    LedgerWriter,
    Present,
    Recorder,
    ShareDistribution,
    SplitPlan,
    ceremony_location,
    check_control_never_knew,
    check_ledger_kind,
    check_split_plan,
    decide_demonstrated,
    demonstrated_error,
    distinct,
    dry_run_split,
    normalise_serial,
    read_register,
    record_demonstrated,
    record_preflight_run,
    require_security_officer,
    split_created_payload,
    split_for_plan,
)
from ceremony.flows.transport import (
    TransportComponents,
    TransportPlan,
    check_transport_plan,
    dry_run_transport,
)
from ceremony.ledger.register import KeyInfo, Register, SplitInfo
from ceremony.ledger.store import Ledger
from ceremony.policy.custody import CustodyHistory

if TYPE_CHECKING:
    from ceremony.hsm.pkcs11 import LoadedKey, TokenInfo

# --- the output, chosen before any share is entered -----------------------------------------------------


class OutputKind(StrEnum):
    COMPONENTS = "components"  # fresh XOR components, each to its own custodian, for HSM entry
    WRAPPED = "wrapped"  # wrapped under a KEK (RFC 5649) into a file
    KEY_BLOCK = "key_block"  # a TR-31 / X9.143 key block under a KBPK formed from components
    TOKEN = "token"  # noqa: S105 - an output kind: loaded into a PKCS#11 token (an HSM), checked there
    RESHARE = "reshare"  # handed straight to a re-share


@dataclass(frozen=True)
class ComponentsOutput:
    """Fresh XOR components of the same key; ``custodians[i]`` receives component ``i + 1``."""

    custodians: tuple[str, ...]
    kind: OutputKind = OutputKind.COMPONENTS


@dataclass(frozen=True)
class WrappedOutput:
    """Wrapped under a KEK named ``kek_label`` (e.g. "HSM-2 key transport KEK"), formed from the components
    its custodians type: ``kek_custodians`` (at least two, distinct, neither the administrator nor the
    witness) are planned in advance, in component order, and checked in a dry run of the custody rule before
    any envelope is opened: whoever knows the KEK rebuilds the key from the file (DESIGN §3).
    ``kek_kcv_hex``: the KEK's KCV when the custodians know it (an existing KEK): the dry run then counts
    everything already known of that KEK, and the KEK formed is checked against it."""

    kek_label: str
    kek_custodians: tuple[str, ...] = ()
    kek_kcv_hex: str | None = None
    kind: OutputKind = OutputKind.WRAPPED

    @property
    def transport(self) -> TransportPlan:
        return TransportPlan("kek", "KEK", self.kek_label, self.kek_custodians, self.kek_kcv_hex)


@dataclass(frozen=True)
class KeyBlockOutput:
    """A TR-31 / ANSI X9.143 key block (issue 16) for an HSM import (payShield, AWS Payment Cryptography):
    the key under a key block protection key named ``kbpk_label``, formed — as a KEK is — from components
    typed by ``kbpk_custodians`` (planned in advance, checked in the custody dry run: whoever knows the
    KBPK rebuilds the key from the block). ``version`` D: AES KBPK, B: TDES KBPK. The header binds the
    key: ``key_usage`` (e.g. K0, B0, P0, D0, M3, C0, E0), ``mode_of_use``, ``key_version``,
    ``exportability``; ``key_set_id`` fills the KS optional block when given. ``kbpk_kcv_hex``: the KBPK's
    KCV as the custodians bring it; the KBPK formed is checked against it before anything is written."""

    kbpk_label: str
    kbpk_custodians: tuple[str, ...] = ()
    kbpk_kcv_hex: str | None = None
    version: str = "D"
    key_usage: str = "K0"
    mode_of_use: str = "B"
    key_version: str = "00"
    exportability: str = "N"
    key_set_id: str = ""
    kind: OutputKind = OutputKind.KEY_BLOCK

    # the shared transport-key plan (see TransportPlan)
    @property
    def transport(self) -> TransportPlan:
        return TransportPlan(
            "kbpk", "KBPK", self.kbpk_label, self.kbpk_custodians, self.kbpk_kcv_hex, self.version
        )


@dataclass(frozen=True)
class TokenOutput:
    """Loaded into the PKCS#11 token labelled ``token_label`` through the module ``module`` (issue 16): by
    ``C_UnwrapKey`` (``mechanism`` "unwrap-0x210A" or "unwrap-0x210B", RFC 5649 with padding) or
    ``C_CreateObject`` ("create"), as a sensitive, non-extractable object labelled ``object_label`` with
    attributes fitting ``key_usage`` (a TR-31 usage code). The token's own check value is compared with the
    registered KCV before the ceremony may close. Nobody learns the key by it: the custody record is
    unchanged. The user PIN is typed in the ceremony, never stored."""

    module: str
    token_label: str
    object_label: str
    key_usage: str = ""
    mechanism: str = "unwrap-0x210A"
    kind: OutputKind = OutputKind.TOKEN


@dataclass(frozen=True)
class ReshareOutput:
    """Handed to a re-share (:class:`ceremony.flows.reshare.ReshareCeremony` builds this)."""

    plan: SplitPlan
    reason: str
    kind: OutputKind = OutputKind.RESHARE


RecoveryOutput = ComponentsOutput | WrappedOutput | KeyBlockOutput | TokenOutput | ReshareOutput
# The outputs a recovery is started with (a re-share builds its own).
ChosenOutput = ComponentsOutput | WrappedOutput | KeyBlockOutput | TokenOutput
TransportOutput = WrappedOutput | KeyBlockOutput


@dataclass(frozen=True)
class KeyBlockResult:
    """A key block made by a recovery: the block's text (to be written to a file and printed on the
    transmittal form), its header, the KBPK's KCV, the key's KCV, the block's SHA-256 and each KBPK
    component's KCV in component order. No key material: the block is encrypted."""

    block: str
    header: tr31.Header
    kbpk_kcv: KeyCheckValue
    key_kcv: KeyCheckValue
    sha256: str
    component_kcvs: tuple[KeyCheckValue, ...]


class Stage(StrEnum):
    STARTED = "started"  # started; the air-gap preflight is recorded before any envelope is inspected
    COLLECTING = "collecting"  # envelopes inspected, shares entered
    REBUILT = "rebuilt"  # key rebuilt and checked against the registered KCV
    OUTPUT = "output"  # output made (components split created, or key wrapped)
    CLOSED = "closed"
    VOIDED = "voided"


@dataclass
class EnvelopeCheck:
    """The inspection of one envelope before it was opened."""

    share_number: int
    serial_read: str
    serial_recorded: str
    seal_intact: bool
    inspected_seq: int
    incident_seq: int | None = None
    decision: str | None = None  # "accept" or "refuse", by a security officer

    @property
    def serial_matches(self) -> bool:
        return self.serial_read == self.serial_recorded

    @property
    def accepted(self) -> bool:
        if self.incident_seq is None:
            return True
        return self.decision == "accept"


@dataclass(frozen=True)
class Progress:
    """Shares entered so far; ``text`` is what the screen shows ("2 of 3")."""

    entered: tuple[int, ...]
    needed: int
    total: int

    @property
    def count(self) -> int:
        return len(self.entered)

    @property
    def ready(self) -> bool:
        return self.count >= self.needed

    @property
    def text(self) -> str:
        return f"{self.count} of {self.needed}"


@dataclass(frozen=True, eq=False, repr=False)
class ComponentReveal:
    """One fresh component for one custodian: typed form, hex (as HSMs take it), and its own KCV."""

    number: int
    typed: SecretBytes
    hex: SecretBytes
    kcv: KeyCheckValue

    def wipe(self) -> None:
        self.typed.wipe()
        self.hex.wipe()

    def __repr__(self) -> str:
        return f"ComponentReveal(number={self.number}, kcv={self.kcv.hex})"


# --- a transport key (KEK, KBPK): planned custodians, checked in a dry run -------------------------------


def key_block_header(output: KeyBlockOutput, key_type: KeyType) -> tr31.Header:
    """The TR-31 header the output asks for, for a key of ``key_type``; refused (:class:`KeyBlockError`)
    when the standard forbids it — checked at the start, before any envelope is opened, and again when the
    block is made."""
    if key_type.is_aes:
        algorithm = "A"
    elif key_type.is_tdes:
        algorithm = "T"
    else:
        raise KeyBlockError(f"a {key_type.value} key has no TR-31 algorithm here (AES and TDES keys only)")
    blocks = (tr31.OptionalBlock("KS", output.key_set_id.strip()),) if output.key_set_id.strip() else ()
    header = tr31.Header(
        output.version,
        output.key_usage.strip().upper(),
        algorithm,
        output.mode_of_use.strip().upper(),
        output.key_version.strip() or "00",
        output.exportability.strip().upper(),
        blocks,
    )
    if output.version not in tr31.VERSIONS:
        raise KeyBlockError(f"a ceremony issues key blocks of version B or D, not {output.version!r}")
    tr31.check_issuable(header, key_type.fixed_length or 0)
    return header


TOKEN_MECHANISMS = ("unwrap-0x210A", "unwrap-0x210B", "create")


def _check_token_plan(output: TokenOutput, key: KeyInfo) -> None:
    """A token output names its module, token and object, with a mechanism this program offers, for a key
    a token takes (AES or TDES) — refused at the start, before any envelope is opened."""
    if not output.module.strip():
        raise InputError("name the PKCS#11 module (the HSM vendor's library file)")
    if not output.token_label.strip():
        raise InputError("name the token (its label, as `ceremony token list` shows it)")
    if not output.object_label.strip():
        raise InputError("name the key as the token will label it")
    if output.mechanism not in TOKEN_MECHANISMS:
        raise InputError(
            f"the key goes into a token by {', '.join(TOKEN_MECHANISMS)}, not {output.mechanism[:30]!r}"
        )
    if not (key.key_type.is_aes or key.key_type.is_tdes):
        raise InputError(f"a {key.key_type.value} key is not loaded into a token here (AES and TDES keys)")


def header_summary(header: tr31.Header) -> str:
    """One line naming what a key block binds, as the minutes and the start record print it."""
    blocks = "".join(f", {b.id} {b.data}" for b in header.blocks)
    return (
        f"TR-31 version {header.version}, usage {header.key_usage}, algorithm {header.algorithm}, mode of "
        f"use {header.mode_of_use}, key version {header.key_version}, exportability "
        f"{header.exportability}{blocks}"
    )


def export_key_block(
    ledger: LedgerWriter,
    key: Key,
    key_id: str,
    registered_kcv: KeyCheckValue,
    output: KeyBlockOutput,
    components: TransportComponents,
    record: Callable[[str, dict[str, Any], Sequence[Present]], Any],
    signers: Sequence[Present],
    *,
    expected_kbpk_kcv_hex: str | None = None,
) -> KeyBlockResult:
    """``key`` as a TR-31 block under the KBPK formed by XOR of every planned custodian's component (a
    recovery's rebuilt key, or a generation's new key going straight to its HSM). The KBPK's KCV is checked
    against the one the custodians brought, the custody rule again with the real component KCVs, and the
    block is opened again here (MAC verified, the key's KCV compared with the registered one) before
    ``key.block_exported`` records its header, the KBPK's KCV, the key's KCV and the block's SHA-256 —
    never the KBPK, which is wiped."""
    plan = output.transport
    header = key_block_header(output, key.key_type)
    kbpk = components.form()
    try:
        kbpk_kcv = plan.kcv(kbpk.material)
        expected = expected_kbpk_kcv_hex or output.kbpk_kcv_hex
        if expected is not None and not kbpk_kcv.matches(KeyCheckValue.from_hex(kbpk_kcv.method, expected)):
            components.forget()  # typed again, each by its custodian: a wrong component is not kept
            raise KCVMismatchError(
                f"the key block protection key has KCV {kbpk_kcv.hex}, not the "
                f"{expected.strip().upper()[:10]} expected: no key block was made; every KBPK component "
                "is to be typed again"
            )
        tr31.check_issuable(header, len(key), len(kbpk))
        block = tr31.wrap(kbpk.material, header, key.material)
        # Read back before it is recorded: the block opens under this KBPK to the registered key.
        _, inner = tr31.unwrap(kbpk.material, block)
        try:
            if not kcv_by_method(registered_kcv.method, inner).matches(registered_kcv):
                raise KCVMismatchError("the key block does not open to the registered key; nothing written")
        finally:
            inner.wipe()
    finally:
        kbpk.wipe()
    kcvs, method = components.component_kcvs()
    dry_run_transport(ledger.custody(), key_id, plan, kbpk_kcv, components.component_ids())
    digest = hashlib.sha256(block.encode("ascii")).hexdigest()
    record(
        "key.block_exported",
        {
            "key_id": key_id,
            "key_kcv_hex": registered_kcv.value.hex(),
            "key_kcv_method": registered_kcv.method,
            "kbpk_label": output.kbpk_label.strip(),
            "kbpk_source": "components",
            "kbpk_kcv_hex": kbpk_kcv.value.hex(),
            "kbpk_kcv_method": kbpk_kcv.method,
            "kbpk_custodians": list(plan.custodians),
            "kbpk_component_kcvs": [kcv.value.hex() for kcv in kcvs],
            "kbpk_component_method": method,
            "block_version": header.version,
            "key_usage": header.key_usage,
            "algorithm": header.algorithm,
            "mode_of_use": header.mode_of_use,
            "key_version": header.key_version,
            "exportability": header.exportability,
            "header": block[: tr31.header_length(block)],
            "block_length": len(block),
            "block_sha256": digest,
        },
        signers,
    )
    return KeyBlockResult(block, header, kbpk_kcv, registered_kcv, digest, tuple(kcvs))


def dry_run_output(history: CustodyHistory, key_id: str, output: RecoveryOutput) -> None:
    """The custody dry run of a planned output on ``history`` (a copy: ``ledger.custody()``), before any
    envelope is opened: fresh XOR components are a new split of the key; a wrapped file or a key block
    plus the transport key's components a new route to it; either refused (:class:`CustodyViolationError`,
    naming who could rebuild the key) when fewer people than the key's quorum could rebuild it. A token
    load gives the key to nobody. A view may call it while the output is being chosen;
    :meth:`RecoveryCeremony.start` calls it again."""
    if isinstance(output, ComponentsOutput):
        plan = SplitPlan(Scheme.XOR, len(output.custodians), output.custodians)
        dry_run_split(history, key_id, new_id(), plan)
    elif isinstance(output, WrappedOutput | KeyBlockOutput):
        transport = output.transport
        if len(transport.custodians) < 2:
            raise InputError(f"name at least two {transport.name} custodians, each bringing one component")
        dry_run_transport(history, key_id, transport, transport.planned_kcv())


def planned_holders(output: RecoveryOutput) -> tuple[str, ...]:
    """Who the planned output hands the key to: the component custodians, or the KEK / KBPK custodians."""
    if isinstance(output, ComponentsOutput):
        return output.custodians
    if isinstance(output, WrappedOutput | KeyBlockOutput):
        return output.transport.custodians
    return ()


@dataclass
class RecoveryCeremony:
    ledger: Ledger
    administrator: Present
    witness: Present
    purpose: str
    key: KeyInfo
    split: SplitInfo
    output: RecoveryOutput
    check_commitments: bool = True
    rehearsal: bool = False
    ceremony_id: str = field(default_factory=new_id)
    stage: Stage = Stage.STARTED
    envelopes: dict[int, EnvelopeCheck] = field(default_factory=dict)
    kcv_failures: int = 0
    wrapped: WrappedKey | None = None
    key_block: KeyBlockResult | None = None
    loaded: LoadedKey | None = None
    component_split_id: str | None = None
    _entered: dict[int, tuple[Share, str]] = field(default_factory=dict)  # number -> (share, who entered)
    _key: Key | None = None
    _components: ShareDistribution | None = None
    _transport: TransportComponents | None = None  # the KEK's / KBPK's components, as typed
    demonstrated: list[DemonstratedIncident] = field(default_factory=list)

    # -- start ---------------------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        ledger: Ledger,
        administrator: Present,
        witness: Present,
        key_id: str,
        output: ChosenOutput,
        purpose: str,
        *,
        split_id: str | None = None,
        check_commitments: bool = True,
        rehearsal: bool = False,
        location: str | None = None,
    ) -> RecoveryCeremony:
        """Open a recovery of ``key_id`` with its output fixed in advance (recorded in ``ceremony.started``,
        with ``location``, where the ceremony takes place, printed in the minutes). The next step is
        :meth:`record_preflight`: no envelope is inspected before it.

        ``check_commitments=False`` skips the per-share commitment check at entry (shares are then only
        judged by the KCV after combining); it is recorded, for rehearsing the KCV path.
        """
        return cls._begin(
            ledger,
            administrator,
            witness,
            key_id,
            output,
            purpose,
            kind="recovery",
            split_id=split_id,
            check_commitments=check_commitments,
            rehearsal=rehearsal,
            location=location,
        )

    @classmethod
    def _begin(
        cls,
        ledger: Ledger,
        administrator: Present,
        witness: Present,
        key_id: str,
        output: RecoveryOutput,
        purpose: str,
        *,
        kind: str,
        split_id: str | None,
        check_commitments: bool,
        rehearsal: bool,
        extra: dict[str, Any] | None = None,
        location: str | None = None,
    ) -> RecoveryCeremony:
        distinct(administrator, witness)
        if not purpose.strip():
            raise InputError("state the ceremony's purpose; it is printed in the minutes")
        where = ceremony_location(location)
        register = read_register(ledger.events())
        try:
            key = register.key(key_id)
        except LedgerError:
            raise InputError(f"no key {key_id[:20]} is registered in this ledger") from None
        check_ledger_kind(ledger, rehearsal)
        if key.test_key != rehearsal:
            raise RehearsalMixError(
                f"key {key_id} is a {'TEST' if key.test_key else 'production'} key: it is recovered only "
                f"in a {'rehearsal' if key.test_key else 'production ceremony'} (PCI DSS 3.6.1.1)"
            )
        if key.retired:
            raise RetiredKeyError(
                f"key {key_id} ({key.label}) was retired at event #{key.retired_seq} "
                f"({key.retired_reason}); it is not rebuilt again"
            )
        split = cls._choose_split(register, key, split_id)
        # A KCV recorded by a method this program cannot compute is refused now, before any envelope opens.
        _ = key.kcv, split.share_kcvs
        history = ledger.custody()
        check_control_never_knew(history, key_id, administrator, witness)
        control = {administrator.person_id: "administrator", witness.person_id: "witness"}
        planned: dict[str, Any] = {}
        if isinstance(output, ComponentsOutput):
            plan = SplitPlan(Scheme.XOR, len(output.custodians), output.custodians)
            check_split_plan(plan, control)
            dry_run_output(history, key_id, output)
            planned = {"component_custodians": list(output.custodians)}
        elif isinstance(output, WrappedOutput):
            if not output.kek_label.strip():
                raise InputError("name the key-encryption key (as the receiving system knows it)")
            kek_kcv = output.transport.planned_kcv()
            check_transport_plan(output.transport, control)
            dry_run_output(history, key_id, output)
            planned = {"kek_label": output.kek_label.strip(), "kek_custodians": list(output.kek_custodians)}
            if kek_kcv is not None:
                planned["kek_kcv_hex"] = kek_kcv.value.hex()
        elif isinstance(output, KeyBlockOutput):
            if not output.kbpk_label.strip():
                raise InputError("name the key block protection key (as the receiving HSM knows it)")
            header = key_block_header(output, key.key_type)  # refused now, before any envelope opens
            kbpk_kcv = output.transport.planned_kcv()
            check_transport_plan(output.transport, control)
            dry_run_output(history, key_id, output)
            planned = {
                "kbpk_label": output.kbpk_label.strip(),
                "kbpk_custodians": list(output.kbpk_custodians),
                "key_block_header": header_summary(header),
            }
            if kbpk_kcv is not None:
                planned["kbpk_kcv_hex"] = kbpk_kcv.value.hex()
        elif isinstance(output, TokenOutput):
            _check_token_plan(output, key)
            planned = {
                "token_module": output.module.strip(),
                "token_label": output.token_label.strip(),
                "token_object_label": output.object_label.strip(),
                "token_mechanism": output.mechanism,
            }
        ceremony = cls(
            ledger,
            administrator,
            witness,
            purpose.strip(),
            key,
            split,
            output,
            check_commitments=check_commitments,
            rehearsal=rehearsal,
        )
        ceremony._record(
            "ceremony.started",
            {
                "kind": kind,
                "purpose": ceremony.purpose,
                "rehearsal": rehearsal,
                **where,
                "key_id": key_id,
                "split_id": split.split_id,
                "output": output.kind.value,
                "check_commitments": check_commitments,
                **planned,
                **(extra or {}),
            },
            (administrator, witness),
        )
        return ceremony

    @staticmethod
    def _choose_split(register: Register, key: KeyInfo, split_id: str | None) -> SplitInfo:
        if split_id is not None:
            try:
                split = register.split(split_id)
            except LedgerError:
                raise InputError(f"no split {split_id[:20]} is recorded in this ledger") from None
            if split.key_id != key.key_id:
                raise ForeignShareError(
                    f"split {split_id} belongs to key {split.key_id}, not key {key.key_id}"
                )
            if split.retired:
                raise RetiredKeyError(
                    f"{split.label} of key {key.key_id} was retired at event #{split.retired_seq} "
                    f"({split.retired_reason}); its shares are refused"
                )
            return split
        active = register.active_splits(key.key_id)
        if not active:
            raise RetiredKeyError(
                f"key {key.key_id} ({key.label}) has no active split left to rebuild it from"
            )
        if len(active) > 1:
            raise FlowError(
                f"key {key.key_id} has {len(active)} active splits: "
                + ", ".join(s.label for s in active)
                + "; say which one is being recovered"
            )
        return active[0]

    # -- helpers -------------------------------------------------------------------------------------------
    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def split_id(self) -> str:
        return self.split.split_id

    def _record(self, event_type: str, payload: dict[str, Any], signers: Sequence[Present]) -> Any:
        return Recorder(self.ledger, self.ceremony_id)(event_type, payload, signers)

    def _require(self, *stages: Stage) -> None:
        if self.stage not in stages:
            if self.stage is Stage.STARTED:
                raise FlowError(
                    "run the air-gap preflight first: no envelope is inspected and no share entered before "
                    "a clear preflight is recorded (DESIGN §4.1, PCI DSS 1.2.6)"
                )
            wanted = " or ".join(s.value for s in stages)
            raise FlowError(f"this step needs the ceremony to be {wanted}; it is {self.stage.value}")

    def _number(self, number: int) -> int:
        if not 1 <= number <= self.split.count:
            raise InputError(f"{self.split.label} has shares 1 to {self.split.count}, not {number}")
        return number

    def _check_holder(self, number: int, custodian: Present) -> None:
        """The registered holder of the share, or whoever the ledger says holds it now."""
        allowed = {self.split.custodians.get(number)}
        allowed.add(self.ledger.custody().holders(self.split_id).get(number))
        allowed.discard(None)
        if custodian.person_id not in allowed:
            holders = ", ".join(sorted(p for p in allowed if p)) or "nobody on record"
            raise DualControlError(f"share {number} is held by {holders}, not {custodian.person_id}")
        distinct(custodian, self.witness)
        distinct(custodian, self.administrator)

    @property
    def progress(self) -> Progress:
        return Progress(tuple(sorted(self._entered)), self.split.threshold, self.split.count)

    # -- preflight -----------------------------------------------------------------------------------------
    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None:
        """Record the air-gap preflight, as generation does (:func:`~ceremony.flows.common.
        record_preflight_run`): a finding no active exception covers blocks the ceremony (recorded, then
        :class:`FlowError`); ``record_only`` records the findings without blocking, in a rehearsal only.
        Required before any envelope is inspected or share entered; it may be run again (after fixing a
        finding) until the first envelope is inspected."""
        if self.stage is Stage.COLLECTING and (self.envelopes or self._entered):
            raise FlowError("the preflight is recorded before the first envelope is inspected, not after")
        self._require(Stage.STARTED, Stage.COLLECTING)
        self.stage = Stage.STARTED
        record_preflight_run(
            Recorder(self.ledger, self.ceremony_id),
            (self.administrator, self.witness),
            summary,
            uncovered,
            rehearsal=self.rehearsal,
            record_only=record_only,
        )
        self.stage = Stage.COLLECTING

    # -- envelopes -----------------------------------------------------------------------------------------
    def inspect_envelope(
        self,
        number: int,
        custodian: Present,
        serial_read: str,
        custodian_says_intact: bool,
        witness_says_intact: bool,
    ) -> EnvelopeCheck:
        """Before opening: the serial read back and both statements about the seal are recorded. A
        mismatch or a broken seal is recorded as an incident and the share is refused (PCI PIN 9-2/9-4)
        until a security officer decides (:meth:`decide_incident`)."""
        self._require(Stage.COLLECTING)
        self._number(number)
        self._check_holder(number, custodian)
        recorded = self.split.envelopes.get(number)
        if recorded is None:
            raise FlowError(
                f"no envelope was recorded for share {number} at sealing; there is none to inspect"
            )
        if number in self._entered:
            raise FlowError(f"share {number} was already entered; its envelope was opened before")
        if number in self.envelopes:
            # Once inspected, the finding stands: a second reading cannot overrule an incident.
            earlier = self.envelopes[number].inspected_seq
            raise FlowError(f"the envelope of share {number} was already inspected (event #{earlier})")
        serial = normalise_serial(serial_read)
        intact = custodian_says_intact and witness_says_intact
        common = {"key_id": self.key_id, "split_id": self.split_id, "share_number": number}
        event = self._record(
            "envelope.inspected",
            {
                **common,
                "person_id": custodian.person_id,
                "serial_read": serial,
                "serial_recorded": recorded,
                "serial_matches": serial == recorded,
                "seal_intact_custodian": custodian_says_intact,
                "seal_intact_witness": witness_says_intact,
            },
            (custodian, self.witness),
        )
        check = EnvelopeCheck(number, serial, recorded, intact, event.seq)
        if not (check.serial_matches and intact):
            what = []
            if not check.serial_matches:
                what.append(f"serial read {serial} but {recorded} was recorded at sealing")
            if not custodian_says_intact:
                what.append("the custodian reports the seal broken")
            if not witness_says_intact:
                what.append("the witness reports the seal broken")
            incident = self._record(
                "incident.recorded",
                {**common, "kind": "envelope", "what": "; ".join(what), "inspection_seq": event.seq},
                (custodian, self.witness),
            )
            check.incident_seq = incident.seq
        self.envelopes[number] = check
        return check

    def decide_incident(self, number: int, security_officer: Present, decision: str, reason: str) -> None:
        """A security officer (authenticated, enrolled as such) accepts or refuses the share whose envelope
        raised an incident. Refusing is the PCI PIN answer to confirmed tampering: the set is replaced."""
        self._require(Stage.COLLECTING)
        check = self.envelopes.get(self._number(number))
        if check is None or check.incident_seq is None:
            raise FlowError(f"there is no open envelope incident for share {number}")
        if decision not in ("accept", "refuse"):
            raise InputError("the decision is 'accept' (use the share) or 'refuse' (it stays refused)")
        if not reason.strip():
            raise InputError("record the reason for the decision; it goes into the minutes")
        require_security_officer(self.ledger, security_officer)
        distinct(security_officer, self.witness)
        if security_officer.person_id == self.split.custodians.get(number):
            raise DualControlError("the custodian of the share cannot decide about their own envelope")
        self._record(
            "incident.decided",
            {
                "key_id": self.key_id,
                "split_id": self.split_id,
                "share_number": number,
                "incident_seq": check.incident_seq,
                "decision": decision,
                "reason": reason.strip(),
            },
            (security_officer, self.witness),
        )
        check.decision = decision

    # -- share entry ---------------------------------------------------------------------------------------
    def enter_share(self, custodian: Present, typed: bytes | bytearray | str) -> Progress:
        """A custodian enters their share (typed form or QR payload text). Checked at once; recorded as an
        exposure (``entered``); returns the progress ("k of m").

        A valid share of this key typed by someone who never knew it — a share of this split held by
        another custodian, or a share of another split of the key (checked against that split's
        commitments) — is demonstrated knowledge (DESIGN §3): the exposure (kind "demonstrated") and an
        incident are recorded, :class:`DemonstratedKnowledgeError` is raised, and every further entry is
        refused until a security officer decides (:meth:`decide_demonstrated`) — for good if the custody
        rule broke."""
        self._require(Stage.COLLECTING)
        blocking = self.blocking_incident
        if blocking is not None:
            refusal = blocking.refusal()
            self._refused(custodian, None, refusal)
            raise refusal
        try:
            share = decode_share(typed)
        except CeremonyError as exc:
            self._refused(custodian, None, exc)
            raise
        try:
            self._admit(share, custodian)
        except CeremonyError as exc:
            share.wipe()
            self._refused(custodian, share, exc)
            raise
        except BaseException:
            share.wipe()
            raise
        self._record(
            "share.exposed",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": share.number,
                "kind": "entered",
            },
            (custodian, self.witness),
        )
        self._entered[share.number] = (share, custodian.person_id)
        return self.progress

    @property
    def blocking_incident(self) -> DemonstratedIncident | None:
        """The demonstrated-knowledge incident that stops this recovery (undecided, decided "void", or the
        custody rule broke), if any."""
        return next((i for i in self.demonstrated if i.blocks), None)

    def decide_demonstrated(self, security_officer: Present, decision: str, reason: str) -> None:
        """A security officer (enrolled as such, not the person who typed) and the witness decide the open
        demonstrated-knowledge incident: "continue" (only while the key's custody rule holds) or "void"."""
        self._require(Stage.COLLECTING)
        incident = next((i for i in self.demonstrated if i.decision is None), None)
        if incident is None:
            raise FlowError("there is no open demonstrated-knowledge incident to decide")
        record = Recorder(self.ledger, self.ceremony_id)
        decide_demonstrated(record, incident, security_officer, self.witness, decision, reason)

    def _check_demonstrated(self, share: Share, custodian: Present, register: Register) -> None:
        """Record demonstrated knowledge and raise if ``share`` is a genuine share of this key (it matches
        its split's recorded commitment) that ``custodian`` neither holds nor ever knew."""
        if share.key_id != self.key_id:
            return
        split = register.splits.get(share.split_id)
        if split is None or split.key_id != self.key_id:
            return
        if (share.scheme, share.threshold, share.count) != (split.scheme, split.threshold, split.count):
            return
        commitment = split.commitments.get(share.number)
        if commitment is None:
            return
        try:
            check_commitment(share, commitment)
        except ShareError:
            return  # not the share issued under that number: a typo or a forgery, not knowledge
        custody = self.ledger.custody()
        holders = {split.custodians.get(share.number), custody.holders(split.split_id).get(share.number)}
        if share.split_id == self.split_id and custodian.person_id in holders:
            return  # their own share: the usual checks follow
        if share.number in custody.first_exposures(split.split_id).get(custodian.person_id, {}):
            return  # they knew it already (an old card of theirs): nothing new is learnt
        holder = ", ".join(sorted(p for p in holders if p)) or "nobody on record"
        incident = record_demonstrated(
            Recorder(self.ledger, self.ceremony_id),
            self.administrator,
            self.witness,
            custodian.person_id,
            self.key_id,
            split.split_id,
            share.number,
            f"in recovery ceremony {self.ceremony_id} of {self.split.label} (held by {holder})",
        )
        self.demonstrated.append(incident)
        raise demonstrated_error(incident)

    def _admit(self, share: Share, custodian: Present) -> None:
        register = read_register(self.ledger.events())  # retirements since start count too
        self._check_demonstrated(share, custodian, register)
        own = register.splits.get(share.split_id)
        if own is not None and own.retired:
            raise RetiredShareError(
                f"{share.label} is from {own.label} of key {share.key_id}, retired at event "
                f"#{own.retired_seq} ({own.retired_reason}): shares of a retired split are refused"
            )
        key = register.keys.get(share.key_id)
        if key is not None and key.retired:
            raise RetiredShareError(
                f"{share.label} is of key {share.key_id} ({key.label}), retired at event #{key.retired_seq} "
                f"({key.retired_reason}): its shares are refused"
            )
        if share.key_id != self.key_id:
            other = f" ({key.label})" if key is not None else ""
            raise ForeignShareError(
                f"this is {share.label} of key {share.key_id}{other}, not of key {self.key_id} "
                f"({self.key.label}) being recovered"
            )
        if share.split_id != self.split_id:
            raise ForeignShareError(
                f"this is {share.label} of split {share.split_id}, not of {self.split.label} being recovered"
            )
        if (share.scheme, share.threshold, share.count) != (
            self.split.scheme,
            self.split.threshold,
            self.split.count,
        ):
            raise ForeignShareError(f"{share.label} does not have the parameters of {self.split.label}")
        self._number(share.number)
        self._check_holder(share.number, custodian)
        if share.number in self.split.envelopes:
            check = self.envelopes.get(share.number)
            if check is None:
                raise FlowError(
                    f"inspect the envelope of share {share.number} first: its serial is read back and its "
                    "seal checked before it is opened (PCI PIN 9-2)"
                )
            if not check.accepted:
                state = "refused by the security officer" if check.decision else "awaiting a security officer"
                raise EnvelopeIncidentError(
                    f"the envelope of share {share.number} raised an incident (event #{check.incident_seq}), "
                    f"{state}: the share is refused"
                )
        if share.number in self._entered:
            raise DuplicateShareError(
                f"share {share.number} was already entered (by {self._entered[share.number][1]})"
            )
        if self.check_commitments:
            check_commitment(share, self.split.commitments[share.number])
            if share.number in self.split.share_kcvs:
                expected = self.split.share_kcvs[share.number]
                if not component_kcv(share, self.key.key_type).matches(expected):
                    raise BadShareError(
                        f"component {share.number} does not have its recorded KCV {expected.hex}",
                        (share.number,),
                    )

    def _refused(self, custodian: Present, share: Share | None, exc: CeremonyError) -> None:
        """Every refused entry is recorded (the header fields only, never the share bytes)."""
        about: dict[str, Any] = {}
        if share is not None:
            about = {
                "entered_key_id": share.key_id,
                "entered_split_id": share.split_id,
                "share_number": share.number,
            }
        try:
            self._record(
                "recovery.share_refused",
                {
                    "person_id": custodian.person_id,
                    "split_id": self.split_id,
                    "reason": type(exc).__name__,
                    **about,
                },
                (custodian, self.witness),
            )
        except CeremonyError:
            # The ledger would not take the refusal signed by this person (e.g. deactivated): the original
            # refusal is still raised to the caller; nothing about the share was recorded.
            pass

    # -- rebuild -------------------------------------------------------------------------------------------
    def rebuild(self) -> KeyCheckValue:
        """Combine the shares entered (at least m) and check the registered KCV (administrator + witness).

        On a KCV failure progress is reset (the entered shares are wiped); when more than m were offered the
        bad share(s) are named in :class:`BadShareError`. Both outcomes are recorded.
        """
        self._require(Stage.COLLECTING)
        blocking = self.blocking_incident
        if blocking is not None:
            raise blocking.refusal()
        progress = self.progress
        if not progress.ready:
            raise BelowThresholdError(
                f"{progress.text} shares entered; {self.split.label} needs "
                f"{self.split.threshold} to rebuild the key"
            )
        distinct(self.administrator, self.witness)
        shares = [share for share, _ in self._entered.values()]
        commitments = self.split.commitments if self.check_commitments else None
        try:
            key = recipes.recover_key(shares, self.key.key_type, self.key.kcv, commitments)
        except (ShareError, KCVMismatchError) as exc:
            bad = list(getattr(exc, "share_numbers", ()))
            self._record(
                "recovery.kcv_failed",
                {
                    "key_id": self.key_id,
                    "split_id": self.split_id,
                    "offered": list(progress.entered),
                    "bad_shares": bad,
                    "reason": type(exc).__name__,
                },
                (self.administrator, self.witness),
            )
            self.kcv_failures += 1
            self._wipe_entered()
            raise
        self._key = key
        self._record(
            "key.recovered",
            {
                "key_id": self.key_id,
                "split_id": self.split_id,
                "kcv_hex": self.key.kcv.value.hex(),
                "kcv_method": self.key.kcv.method,
                "shares": list(progress.entered),
            },
            (self.administrator, self.witness),
        )
        self._wipe_entered()
        self.stage = Stage.REBUILT
        return self.key.kcv

    def _wipe_entered(self) -> None:
        for share, _ in self._entered.values():
            share.wipe()
        self._entered.clear()

    # -- output (a): fresh XOR components ------------------------------------------------------------------
    def make_components(self) -> KeyCheckValue:
        """Split the rebuilt key into fresh XOR components (recorded as ``split.created`` with custodians,
        custody rule checked over the whole history first); returns the key's KCV, unchanged."""
        self._require(Stage.REBUILT)
        if not isinstance(self.output, ComponentsOutput):
            raise FlowError(f"this recovery's output was chosen as {self.output.kind.value}, not components")
        assert self._key is not None
        plan = SplitPlan(Scheme.XOR, len(self.output.custodians), self.output.custodians)
        split_id = new_id()
        dry_run_split(self.ledger.custody(), self.key_id, split_id, plan)
        split = split_for_plan(self._key, self.key_id, split_id, plan)
        try:
            if not split.key_check_value.matches(self.key.kcv):
                raise KCVMismatchError(
                    "the components do not add up to the registered key; nothing was shown"
                )
            payload = split_created_payload(self.key_id, split_id, plan, split)
            payload["purpose"] = "HSM entry by components (recovery output)"
            payload["from_split_id"] = self.split_id
            self._record("split.created", payload, (self.administrator, self.witness))
        except BaseException:
            split.wipe()
            raise
        record = Recorder(self.ledger, self.ceremony_id)
        self._components = ShareDistribution(record, self.witness, split_id, plan.custodians, split)
        self.component_split_id = split_id
        self.stage = Stage.OUTPUT
        return self.key.kcv

    def reveal_component(self, number: int, custodian: Present) -> ComponentReveal:
        """Component ``number`` for its own custodian only; the exposure is recorded before it is returned.
        The caller shows it to that custodian alone, then wipes it."""
        self._require(Stage.OUTPUT)
        if self._components is None:
            raise FlowError("this recovery's output is not XOR components")
        typed = self._components.reveal(number, custodian)
        share = self._components.split.shares[number - 1]
        return ComponentReveal(number, typed, vault_hex(share), self._components.split.component_kcvs[number])

    # -- output (b): wrapped under a KEK; (c) a key block under a KBPK -----------------------------------
    def enter_kek_component(
        self, custodian: Present, hex_text: bytes | bytearray | str, expected_kcv_hex: str | None = None
    ) -> KeyCheckValue:
        """A planned KEK (or, for a key block, KBPK) custodian — named at the start, checked in the dry run —
        types their component in hex, once; only its KCV is recorded, never the component. The caller shows
        the KCV to the custodian, who confirms it against the one they brought (``expected_kcv_hex``)."""
        self._require(Stage.REBUILT)
        return self._components_of_transport().enter(custodian, hex_text, expected_kcv_hex)

    enter_kbpk_component = enter_kek_component

    def _transport_output(self) -> TransportOutput:
        if not isinstance(self.output, WrappedOutput | KeyBlockOutput):
            raise FlowError(
                f"this recovery's output was chosen as {self.output.kind.value}, "
                "not a wrapped key or a key block"
            )
        return self.output

    def _wrapped_output(self) -> WrappedOutput:
        if not isinstance(self.output, WrappedOutput):
            raise FlowError(
                f"this recovery's output was chosen as {self.output.kind.value}, not a wrapped key"
            )
        return self.output

    def _components_of_transport(self) -> TransportComponents:
        if self._transport is None:
            self._transport = TransportComponents(
                self._transport_output().transport,
                self.key_id,
                self.witness,
                (self.administrator, self.witness),
                self._record,
            )
        return self._transport

    @property
    def kek_missing(self) -> tuple[str, ...]:
        """The planned KEK (KBPK) custodians whose component is still to be typed."""
        if not isinstance(self.output, WrappedOutput | KeyBlockOutput):
            return ()
        return self._components_of_transport().missing

    def wrap(self, *, expected_kek_kcv_hex: str | None = None) -> WrappedKey:
        """Wrap the rebuilt key (RFC 5649) under the KEK formed by XOR of every planned custodian's component
        — there is no single supplied KEK. The custody rule is checked again with the real component KCVs
        (the ledger refuses a wrap below the key's quorum) before anything is returned to be written. Records
        the KEK's KCV, each component's KCV and the blob's SHA-256 — never the KEK. The caller writes
        ``blob`` to a file."""
        self._require(Stage.REBUILT)
        output = self._wrapped_output()
        assert self._key is not None
        distinct(self.administrator, self.witness)
        components = self._components_of_transport()
        kek = components.form()
        try:
            wrapped = wrap_key(kek, self._key)
        finally:
            kek.wipe()
        expected = expected_kek_kcv_hex or output.kek_kcv_hex
        if expected is not None and not wrapped.kek_kcv.matches(
            KeyCheckValue.from_hex(wrapped.kek_kcv.method, expected)
        ):
            components.forget()  # typed again, each by its custodian: a wrong component is not kept
            raise KCVMismatchError(
                f"the key-encryption key has KCV {wrapped.kek_kcv.hex}, not the "
                f"{expected.strip().upper()[:10]} expected: nothing was wrapped; every KEK component is to "
                "be typed again"
            )
        kcvs, method = components.component_kcvs()
        # Again, on the ledger as it is now, with the real KEK and components: refused before any file.
        dry_run_transport(
            self.ledger.custody(), self.key_id, output.transport, wrapped.kek_kcv, components.component_ids()
        )
        self._record(
            "key.wrapped",
            {
                "key_id": self.key_id,
                "algorithm": wrapped.algorithm,
                "kek_label": output.kek_label,
                "kek_kcv_hex": wrapped.kek_kcv.value.hex(),
                "kek_kcv_method": wrapped.kek_kcv.method,
                "kek_source": "components",
                "kek_custodians": list(output.kek_custodians),
                "kek_component_kcvs": [kcv.value.hex() for kcv in kcvs],
                "kek_component_method": method,
                "key_kcv_hex": wrapped.key_kcv.value.hex(),
                "wrapped_sha256": wrapped.sha256,
                "wrapped_length": len(wrapped.blob),
            },
            (self.administrator, self.witness),
        )
        self.wrapped = wrapped
        self.stage = Stage.OUTPUT
        return wrapped

    def make_key_block(self, *, expected_kbpk_kcv_hex: str | None = None) -> KeyBlockResult:
        """The rebuilt key as a TR-31 block (:func:`export_key_block`); the caller writes ``block`` to a
        file and the close-out prints its transmittal form."""
        self._require(Stage.REBUILT)
        output = self.output
        if not isinstance(output, KeyBlockOutput):
            raise FlowError(f"this recovery's output was chosen as {output.kind.value}, not a key block")
        assert self._key is not None
        distinct(self.administrator, self.witness)
        self.key_block = export_key_block(
            self.ledger,
            self._key,
            self.key_id,
            self.key.kcv,
            output,
            self._components_of_transport(),
            self._record,
            (self.administrator, self.witness),
            expected_kbpk_kcv_hex=expected_kbpk_kcv_hex,
        )
        self.stage = Stage.OUTPUT
        return self.key_block

    # -- output (d): loaded into a PKCS#11 token -----------------------------------------------------------
    def load_into_token(self, pin: SecretBytes | bytearray | str, pin_entered_by: Present) -> LoadedKey:
        """Put the rebuilt key into the token the output names, by the mechanism chosen, as a sensitive and
        non-extractable object; the token's own check value must match the registered KCV (else the object
        is removed and nothing is recorded). Records ``key.loaded`` with the token's label, serial,
        manufacturer, model and firmware. ``pin`` is typed by ``pin_entered_by`` (a person present, never
        the administrator or witness); it is used once and never recorded. Nobody learns the key by it."""
        self._require(Stage.REBUILT)
        output = self.output
        if not isinstance(output, TokenOutput):
            raise FlowError(f"this recovery's output was chosen as {output.kind.value}, not a token")
        assert self._key is not None
        distinct(self.administrator, self.witness)
        distinct(pin_entered_by, self.administrator)
        distinct(pin_entered_by, self.witness)
        from ceremony.hsm.pkcs11 import Mechanism, open_token

        with open_token(output.module, output.token_label, pin) as session:
            loaded = session.load_key(
                self._key.material,
                self.key.key_type,
                label=output.object_label.strip(),
                usage=output.key_usage.strip().upper(),
                mechanism=Mechanism(output.mechanism),
                registered_kcv=self.key.kcv,
            )
            info = session.info
            try:
                self._record_loaded(output, loaded, info, pin_entered_by)
            except BaseException:
                # Not recorded, so not kept: a key in the token that the ledger does not account for
                # would be a key nobody can answer for.
                session.remove_key(loaded.label)
                raise
        self.loaded = loaded
        self.stage = Stage.OUTPUT
        return loaded

    def _record_loaded(self, output: TokenOutput, loaded: LoadedKey, info: TokenInfo, by: Present) -> None:
        self._record(
            "key.loaded",
            {
                "key_id": self.key_id,
                "key_kcv_hex": self.key.kcv.value.hex(),
                "key_kcv_method": self.key.kcv.method,
                "token_label": info.label,
                "token_serial": info.serial,
                "token_manufacturer": info.manufacturer,
                "token_model": info.model,
                "token_firmware": info.firmware,
                "token_hardware": info.hardware,
                "library": info.library,
                "object_label": loaded.label,
                "object_id_hex": loaded.key_id_hex.lower(),
                **({"key_usage": output.key_usage.strip().upper()} if output.key_usage.strip() else {}),
                "mechanism": loaded.mechanism.value,
                "check_source": loaded.check_source,
                "token_check_value_hex": loaded.token_value_hex.lower(),
                "attributes": sorted(name for name, on in loaded.attributes.items() if on is True),
                "pin_entered_by": by.person_id,
            },
            (self.administrator, self.witness),
        )

    # -- output (c): hand-over to a re-share ---------------------------------------------------------------
    def key_for_reshare(self) -> Key:
        """The rebuilt key, lent to the re-share of this same ceremony (it stays owned, and wiped, here)."""
        self._require(Stage.REBUILT, Stage.OUTPUT)
        if not isinstance(self.output, ReshareOutput) or self._key is None:
            raise FlowError("this recovery's output is not a re-share")
        return self._key

    # -- the components' receipts --------------------------------------------------------------------------
    def confirm_component_receipt(
        self, number: int, custodian: Present, envelope_serial: str, method: str = "recorded"
    ) -> None:
        """Component ``number``'s custodian, after it was shown to them, signs its receipt with the witness:
        their record of it (``recorded``) or its card (``card``) sealed in a tamper-evident envelope whose
        serial is recorded (``share.received``, as for a generated share). The register then names them as
        its holder (the custody report's "Held now by") and its envelope is inspected at the next recovery."""
        self._require(Stage.OUTPUT)
        if self._components is None:
            raise FlowError("this recovery's output is not XOR components")
        self._components.confirm_receipt(number, custodian, envelope_serial, method)

    @property
    def component_distribution(self) -> ShareDistribution | None:
        """The fresh components being handed out (components output, after ``make_components``)."""
        return self._components

    @property
    def component_receipts(self) -> dict[int, str | None]:
        """Per fresh component: the envelope serial its custodian signed for (None while unsigned)."""
        if self._components is None:
            return {}
        return {n: d.envelope_serial for n, d in self._components.state.items()}

    # -- finish --------------------------------------------------------------------------------------------
    def finish(self, checkpoint_text: str | None = None) -> None:
        """Wipe the clear key (and every component) once the output is complete — for components: each
        shown to its custodian and its receipt signed — and close the ceremony."""
        if isinstance(self.output, ComponentsOutput):
            self._require(Stage.OUTPUT)
            assert self._components is not None
            unseen = [n for n, d in self._components.state.items() if not d.shown]
            if unseen:
                raise FlowError(
                    "the key is kept until every component was shown to its custodian; still to show: "
                    + ", ".join(map(str, unseen))
                )
            unsigned = [n for n, serial in self.component_receipts.items() if serial is None]
            if unsigned:
                raise FlowError(
                    "the key is kept until every component's custodian has signed its receipt (envelope "
                    "serial recorded); still to sign: " + ", ".join(map(str, unsigned))
                )
        elif isinstance(self.output, WrappedOutput | KeyBlockOutput | TokenOutput):
            self._require(Stage.OUTPUT)
        else:
            self._require(Stage.REBUILT, Stage.OUTPUT)
        distinct(self.administrator, self.witness)
        self._destroy()
        self._record("key.wiped", {"key_id": self.key_id}, (self.administrator, self.witness))
        self._record(
            "ceremony.closed",
            {"outcome": "completed", **({"checkpoint": checkpoint_text} if checkpoint_text else {})},
            (self.administrator, self.witness),
        )
        self.stage = Stage.CLOSED

    def void(self, reason: str) -> None:
        """Abort: wipe everything and record why. Components already created are retired, so they are
        refused by every later flow."""
        if self.stage in (Stage.CLOSED, Stage.VOIDED):
            return
        self._destroy()
        if self.component_split_id is not None:
            self._record(
                "split.retired",
                {"split_id": self.component_split_id, "reason": "recovery voided before completion"},
                (self.administrator, self.witness),
            )
        self._record("ceremony.voided", {"reason": reason or "voided"}, (self.administrator, self.witness))
        self.stage = Stage.VOIDED

    def _destroy(self) -> None:
        self._wipe_entered()
        if self._components is not None:
            self._components.wipe()
        if self._transport is not None:
            self._transport.wipe()
        if self._key is not None:
            self._key.wipe()
            self._key = None
