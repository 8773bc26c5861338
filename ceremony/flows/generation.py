"""The key generation ceremony as a UI-agnostic state machine (DESIGN §4.2).

One object per ceremony. Each public method is one step (or one custodian's turn inside a step); it checks
that the step is allowed now and that the right people are present, writes the ledger, and returns what the
view has to show. A method returns only after its ledger events are committed: a share is handed to the
view only after the exposure that records it is in the ledger (no share released without its record).

The clear key lives only in this object's memory, in wipeable buffers, from ``generate()`` to ``wipe()``
(or ``void()``). It is never persisted: after a crash nothing can be resumed from the key onward, so an
unfinished ceremony that already generated its key can only be voided.

What generation shares with recovery and re-share (split planning and its custody dry run, the
``split.created`` record, private distribution and the verification round) lives in
:mod:`ceremony.flows.common`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ceremony.crypto import recipes
from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import DualControlError, FlowError, InputError, RehearsalMixError
from ceremony.flows.common import (
    DemonstratedIncident,
    Distribution,
    LedgerWriter,
    Present,
    Recorder,
    ShareDistribution,
    SplitPlan,
    check_ledger_kind,
    check_split_plan,
    distinct,
    dry_run_split,
    read_register,
    record_preflight_run,
    split_created_payload,
    split_for_plan,
)
from ceremony.flows.recovery import (
    KeyBlockOutput,
    KeyBlockResult,
    export_key_block,
    header_summary,
    key_block_header,
)
from ceremony.flows.transport import TransportComponents, check_transport_plan, dry_run_transport
from ceremony.flows.unfinished import Unfinished, check_resumable
from ceremony.ledger.register import KeyInfo

__all__ = ["GenerationCeremony", "KeySpec", "SplitPlan", "Stage", "TokenSource", "check_ledger_kind"]


# --- values -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class TokenSource:
    """Take the key's bytes from a PKCS#11 token's random generator (``C_GenerateRandom``; PCI PIN 5-1)
    instead of the laptop's CSPRNG: the token ``token_label`` through ``module``, its user PIN typed in the
    ceremony by ``pin_entered_by`` (never stored; the caller wipes ``pin`` afterwards)."""

    module: str
    token_label: str
    pin: SecretBytes | bytearray | str
    pin_entered_by: Present

    def __repr__(self) -> str:
        return f"TokenSource({self.module!r}, {self.token_label!r})"


def _from_token(
    spec: KeySpec, token: TokenSource, control: Sequence[Present]
) -> tuple[Key, KeyCheckValue, dict[str, Any]]:
    """A key drawn from the token's generator, its KCV, and what ``key.registered`` records of the token."""
    if token.pin_entered_by.person_id in {p.person_id for p in control}:
        raise DualControlError("the token PIN is typed by a custodian, not by the administrator or witness")
    from ceremony.hsm.pkcs11 import open_token

    with open_token(token.module, token.token_label, token.pin) as session:
        info = session.info
        key, kcv = recipes.new_key(spec.key_type, spec.length, session.random)
    return (
        key,
        kcv,
        {
            "random_source": "token-rng",
            "token_label": info.label,
            "token_serial": info.serial,
            "token_manufacturer": info.manufacturer,
            "token_model": info.model,
            "token_firmware": info.firmware,
            "pin_entered_by": token.pin_entered_by.person_id,
        },
    )


@dataclass(frozen=True)
class KeySpec:
    key_type: KeyType
    label: str
    usage: str
    cryptoperiod_days: int
    length: int | None = None  # GENERIC keys only
    replaces: str | None = None  # the key this one replaces (PCI DSS 3.7.5: only new key material clears)

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise InputError("the key needs a label (what it is called in the key inventory)")
        if not self.usage.strip():
            raise InputError("state the key's usage (e.g. 'PIN encryption zone master key')")
        if not 1 <= self.cryptoperiod_days <= 3650:
            raise InputError(
                f"a cryptoperiod is 1 to 3650 days (PCI DSS 3.6.1.4/3.7.4), not {self.cryptoperiod_days}"
            )


class Stage(StrEnum):
    STARTED = "started"
    PREFLIGHT_DONE = "preflight_done"
    PLANNED = "planned"
    GENERATED = "generated"
    WIPED = "wiped"
    CLOSED = "closed"
    VOIDED = "voided"


@dataclass
class GenerationCeremony:
    ledger: LedgerWriter
    administrator: Present
    witness: Present
    purpose: str
    rehearsal: bool = False
    ceremony_id: str = field(default_factory=new_id)
    stage: Stage = Stage.STARTED
    key_spec: KeySpec | None = None
    plan: SplitPlan | None = None
    key_id: str | None = None
    split_id: str | None = None
    kcv: KeyCheckValue | None = None
    _key: Key | None = None
    _shares: ShareDistribution | None = None
    # A key that goes straight to its HSM (issue 16): a TR-31 block under a KBPK formed in the room,
    # planned with the split and made before the key is wiped.
    key_block_output: KeyBlockOutput | None = None
    key_block: KeyBlockResult | None = None
    _transport: TransportComponents | None = None

    # -- start ---------------------------------------------------------------------------------------------
    @classmethod
    def start(
        cls,
        ledger: LedgerWriter,
        administrator: Present,
        witness: Present,
        purpose: str,
        rehearsal: bool = False,
    ) -> GenerationCeremony:
        if administrator.person_id == witness.person_id:
            raise DualControlError("the administrator and the witness must be two different people")
        if not purpose.strip():
            raise InputError("state the ceremony's purpose; it is printed in the minutes")
        check_ledger_kind(ledger, rehearsal)
        ceremony = cls(ledger, administrator, witness, purpose.strip(), rehearsal)
        ceremony._record(
            "ceremony.started",
            {"kind": "generation", "purpose": ceremony.purpose, "rehearsal": rehearsal},
            signers=(administrator, witness),
        )
        return ceremony

    @classmethod
    def resume(
        cls, ledger: LedgerWriter, item: Unfinished, administrator: Present, witness: Present
    ) -> GenerationCeremony:
        """Take up an interrupted generation that never had key material, from the preflight on (a new
        preflight and plan are recorded under the same ceremony id)."""
        check_resumable(item, administrator, witness)
        check_ledger_kind(ledger, item.rehearsal)
        ceremony = cls(ledger, administrator, witness, item.purpose, item.rehearsal, item.ceremony_id)
        ceremony._record(
            "ceremony.resumed", {"after_seq": item.started_seq}, signers=(administrator, witness)
        )
        return ceremony

    # -- helpers -------------------------------------------------------------------------------------------
    def _record(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        return Recorder(self.ledger, self.ceremony_id)(event_type, payload, signers)

    @property
    def shares(self) -> ShareDistribution | None:
        """The new split being handed out (None before ``generate``): what :mod:`ceremony.flows.turns`
        reads to say whose turn it is."""
        return self._shares

    @property
    def distribution(self) -> dict[int, Distribution]:
        """Per share number: shown, envelope serial, verified (empty before ``generate``)."""
        return self._shares.state if self._shares is not None else {}

    def _require(self, *stages: Stage) -> None:
        if self.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise FlowError(f"this step needs the ceremony to be {wanted}; it is {self.stage.value}")

    def _dual(self, *people: Present) -> None:
        distinct(*people)

    # -- preflight -----------------------------------------------------------------------------------------
    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None:
        """Record the preflight result; any insecure finding not covered by an active exception blocks.

        ``record_only`` (rehearsals only): a training laptop is not air-gapped, so the findings are recorded
        and the ceremony is marked ``rehearsal-not-air-gapped`` instead of blocked. Refused on a production
        ceremony, where an uncovered finding always blocks (PCI DSS 1.2.6)."""
        self._require(Stage.STARTED, Stage.PREFLIGHT_DONE)
        record_preflight_run(
            Recorder(self.ledger, self.ceremony_id),
            (self.administrator, self.witness),
            summary,
            uncovered,
            rehearsal=self.rehearsal,
            record_only=record_only,
        )
        self.stage = Stage.PREFLIGHT_DONE

    # -- plan ----------------------------------------------------------------------------------------------
    def plan_key(self, spec: KeySpec, plan: SplitPlan, key_block: KeyBlockOutput | None = None) -> None:
        """Fix key type, label, usage, cryptoperiod and the custodian for each share — and check the custody
        rule and dual control before anything is generated (PCI DSS 3.7.6). ``key_block``: the key also
        leaves as a TR-31 block for its HSM, under a KBPK whose custodians are planned now; its header is
        checked against the standard and its route against the custody rule with the split."""
        self._require(Stage.PREFLIGHT_DONE, Stage.PLANNED)
        control = {self.administrator.person_id: "administrator", self.witness.person_id: "witness"}
        check_split_plan(plan, control)
        block_plan: dict[str, Any] = {}
        if key_block is not None:
            if not key_block.kbpk_label.strip():
                raise InputError("name the key block protection key (as the receiving HSM knows it)")
            header = key_block_header(key_block, spec.key_type)
            check_transport_plan(key_block.transport, control)
            planned_kcv = key_block.transport.planned_kcv()
            block_plan = {
                "kbpk_label": key_block.kbpk_label.strip(),
                "kbpk_custodians": list(key_block.kbpk_custodians),
                "key_block_header": header_summary(header),
                **({"kbpk_kcv_hex": planned_kcv.value.hex()} if planned_kcv is not None else {}),
            }
        if spec.replaces is not None:
            old = read_register(self.ledger.events()).keys.get(spec.replaces)
            if old is None:
                raise InputError(f"no key {spec.replaces[:20]} is registered: name the key this one replaces")
            if old.retired:
                raise InputError(
                    f"key {old.key_id} ({old.label}) was retired at event #{old.retired_seq}; "
                    "a replacement names a key still in use"
                )
            if old.test_key != self.rehearsal:
                raise RehearsalMixError("a TEST key and a production key never replace each other")
        # Dry run of the custody rule over the whole history with the planned split added.
        key_id, split_id = new_id(), new_id()
        history = self.ledger.custody()
        dry_run_split(history, key_id, split_id, plan)
        if key_block is not None:  # the block's route with the split: whoever knows the KBPK opens it
            dry_run_transport(history, key_id, key_block.transport, key_block.transport.planned_kcv())
        self.key_spec, self.plan, self.key_id, self.split_id = spec, plan, key_id, split_id
        self.key_block_output, self._transport = key_block, None
        self._record(
            "ceremony.planned",
            {
                "key_id": key_id,
                "split_id": split_id,
                "key_type": spec.key_type.value,
                "label": spec.label,
                "usage": spec.usage,
                "cryptoperiod_days": spec.cryptoperiod_days,
                "scheme": plan.scheme.value,
                "threshold": plan.threshold,
                "shares": plan.count,
                "custodians": list(plan.custodians),
                **block_plan,
            },
            signers=(self.administrator, self.witness),
        )
        self.stage = Stage.PLANNED

    # -- generate ------------------------------------------------------------------------------------------
    def generate(self, token: TokenSource | None = None) -> KeyCheckValue:
        """Generate the key from the OS CSPRNG — or, with ``token``, from a PKCS#11 token's generator (PCI
        PIN 5-1: the token's identity and firmware are recorded with the key) — split it (every m-subset
        checked), record KCV and commitments. Needs administrator and witness (dual control)."""
        self._require(Stage.PLANNED)
        self._dual(self.administrator, self.witness)
        assert self.key_spec and self.plan and self.key_id and self.split_id
        source: dict[str, Any] = {}
        if token is None:
            key, kcv = recipes.new_key(self.key_spec.key_type, self.key_spec.length)
        else:
            key, kcv, source = _from_token(self.key_spec, token, (self.administrator, self.witness))
        try:
            split = split_for_plan(key, self.key_id, self.split_id, self.plan)
        except BaseException:
            key.wipe()
            raise
        self._key, self.kcv = key, kcv
        self._shares = ShareDistribution(
            Recorder(self.ledger, self.ceremony_id),
            self.witness,
            self.split_id,
            self.plan.custodians,
            split,
            administrator=self.administrator,
        )
        signers = (self.administrator, self.witness)
        self._record(
            "key.registered",
            {
                "key_id": self.key_id,
                "key_type": self.key_spec.key_type.value,
                "length": len(key),
                "label": self.key_spec.label,
                "usage": self.key_spec.usage,
                "kcv_hex": kcv.value.hex(),
                "kcv_method": kcv.method,
                "cryptoperiod_days": self.key_spec.cryptoperiod_days,
                "test_key": self.rehearsal,
                **({"replaces_key_id": self.key_spec.replaces} if self.key_spec.replaces else {}),
                **source,
            },
            signers,
        )
        self._record(
            "split.created", split_created_payload(self.key_id, self.split_id, self.plan, split), signers
        )
        self.stage = Stage.GENERATED
        return kcv

    # -- distribution (one custodian at a time, under the witness) ----------------------------------------
    def _distributing(self) -> ShareDistribution:
        self._require(Stage.GENERATED)
        assert self._shares is not None
        return self._shares

    def custodian_of(self, number: int) -> str:
        assert self.plan
        if not 1 <= number <= self.plan.count:
            raise InputError(f"there is no share {number} in this split")
        return self.plan.custodians[number - 1]

    def reveal(self, number: int, custodian: Present) -> SecretBytes:
        """The custodian (authenticated, with the witness) is about to see share ``number``. The exposure
        is recorded — and checked against the custody rule by the ledger — before the typed form is
        returned. The caller shows it to that custodian alone and wipes it."""
        return self._distributing().reveal(number, custodian)

    def share_for_card(self, number: int, custodian: Present) -> SecretBytes:
        """The typed form of a share already shown to ``custodian``, for rendering their share card."""
        return self._distributing().share_for_card(number, custodian)

    def record(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        """Record an event of this ceremony (ceremony id added; the signers are the actors)."""
        return self._record(event_type, payload, signers)

    def confirm_receipt(self, number: int, custodian: Present, envelope_serial: str, method: str) -> None:
        """The custodian signs receipt; the tamper-evident envelope's serial is recorded (DESIGN §4.2)."""
        self._distributing().confirm_receipt(number, custodian, envelope_serial, method)

    def verify_share(self, number: int, custodian: Present, typed: bytes | bytearray | str) -> bool:
        """Verification round: the custodian re-enters the share from what they recorded or the card; it
        must equal what was issued. A mismatch is recorded and can be retried (or the share re-issued).

        A valid share of this split that is not theirs is demonstrated knowledge (DESIGN §3): recorded with
        an incident, :class:`~ceremony.errors.DemonstratedKnowledgeError` raised, and the ceremony waits for
        :meth:`decide_incident`; when the custody rule broke the generation can only be voided."""
        return self._distributing().verify_share(number, custodian, typed)

    @property
    def blocking_incident(self) -> DemonstratedIncident | None:
        """The demonstrated-knowledge incident that stops the distribution, if any."""
        return None if self._shares is None else self._shares.blocking_incident

    def decide_incident(self, security_officer: Present, decision: str, reason: str) -> None:
        """A security officer (with the witness) decides a demonstrated-knowledge incident: "continue"
        (only while the custody rule holds) or "void" (then :meth:`void`)."""
        self._distributing().decide_incident(security_officer, decision, reason)

    def decide_demonstrated(self, security_officer: Present, decision: str, reason: str) -> None:
        """The same decision under the name every distributing flow gives it (re-share too)."""
        self.decide_incident(security_officer, decision, reason)

    # -- wipe and close ------------------------------------------------------------------------------------
    # -- the key block for its HSM, when planned -----------------------------------------------------------
    def _kbpk(self) -> TransportComponents:
        if self.key_block_output is None:
            raise FlowError("no key block was planned for this key")
        if self._transport is None:
            assert self.key_id is not None
            self._transport = TransportComponents(
                self.key_block_output.transport,
                self.key_id,
                self.witness,
                (self.administrator, self.witness),
                self._record,
            )
        return self._transport

    @property
    def kek_missing(self) -> tuple[str, ...]:
        """The planned KBPK custodians whose component is still to be typed (none planned: empty)."""
        return () if self.key_block_output is None else self._kbpk().missing

    def enter_kbpk_component(
        self, custodian: Present, hex_text: bytes | bytearray | str, expected_kcv_hex: str | None = None
    ) -> KeyCheckValue:
        """A planned KBPK custodian types their component in hex, once, while the key is in memory; only its
        KCV is recorded."""
        self._require(Stage.GENERATED)
        return self._kbpk().enter(custodian, hex_text, expected_kcv_hex)

    enter_kek_component = enter_kbpk_component  # the name the recovery's component screens call

    # What the recovery's key block screens read: they serve a generation's block too (issue 16).
    @property
    def output(self) -> KeyBlockOutput | None:
        """The key block planned for the new key (None: none)."""
        return self.key_block_output

    @property
    def key(self) -> KeyInfo:
        """The new key as registered (label, type, KCV): once generated."""
        if self.key_id is None or self.stage in (Stage.STARTED, Stage.PREFLIGHT_DONE, Stage.PLANNED):
            raise FlowError("the key is registered when it is generated")
        return read_register(self.ledger.events()).key(self.key_id)

    def make_key_block(self, *, expected_kbpk_kcv_hex: str | None = None) -> KeyBlockResult:
        """The new key as a TR-31 block (:func:`~ceremony.flows.recovery.export_key_block`); once."""
        self._require(Stage.GENERATED)
        if self.key_block is not None:
            return self.key_block
        self._dual(self.administrator, self.witness)
        assert self._key is not None and self.kcv is not None and self.key_id is not None
        output = self.key_block_output
        if output is None:
            raise FlowError("no key block was planned for this key")
        self.key_block = export_key_block(
            self.ledger,
            self._key,
            self.key_id,
            self.kcv,
            output,
            self._kbpk(),
            self._record,
            (self.administrator, self.witness),
            expected_kbpk_kcv_hex=expected_kbpk_kcv_hex,
        )
        return self.key_block

    def wipe(self) -> None:
        """Wipe the clear key and every share buffer — only once every share was verified (and the key
        block made, when one was planned)."""
        self._require(Stage.GENERATED)
        missing = self._distributing().unverified()
        if missing:
            raise FlowError(
                "the clear key is kept until every custodian has re-entered their share; still to verify: "
                + ", ".join(map(str, missing))
            )
        if self.key_block_output is not None and self.key_block is None:
            raise FlowError("the clear key is kept until the planned TR-31 key block is made")
        self._dual(self.administrator, self.witness)
        self._destroy()
        self._record("key.wiped", {"key_id": self.key_id}, signers=(self.administrator, self.witness))
        self.stage = Stage.WIPED

    def close(self, checkpoint_text: str | None = None) -> None:
        self._require(Stage.WIPED)
        self._record(
            "ceremony.closed",
            {"outcome": "completed", **({"checkpoint": checkpoint_text} if checkpoint_text else {})},
            signers=(self.administrator, self.witness),
        )
        self.stage = Stage.CLOSED

    def void(self, reason: str) -> None:
        """Abort: wipe everything held in memory and record why. A split whose shares went out is
        retired, so its shares are refused by every later flow."""
        if self.stage in (Stage.CLOSED, Stage.VOIDED):
            return
        self._destroy()
        if self.stage is Stage.GENERATED and self.split_id:
            self._record(
                "split.retired",
                {"split_id": self.split_id, "reason": "ceremony voided before completion"},
                signers=(self.administrator, self.witness),
            )
        self._record(
            "ceremony.voided", {"reason": reason or "voided"}, signers=(self.administrator, self.witness)
        )
        self.stage = Stage.VOIDED

    def _destroy(self) -> None:
        if self._transport is not None:
            self._transport.wipe()
        if self._shares is not None:
            self._shares.wipe()  # the share buffers; who got what (``distribution``) stays for the minutes
        if self._key is not None:
            self._key.wipe()
            self._key = None
