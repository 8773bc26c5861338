"""The key generation ceremony as a UI-agnostic state machine (DESIGN §4.2).

One object per ceremony. Each public method is one step (or one custodian's turn inside a step); it checks
that the step is allowed now and that the right people are present, writes the ledger, and returns what the
view has to show. A method returns only after its ledger events are committed: a share is handed to the
view only after the exposure that records it is in the ledger (no share released without its record).

The clear key lives only in this object's memory, in wipeable buffers, from ``generate()`` to ``wipe()``
(or ``void()``). It is never persisted: after a crash nothing can be resumed from the key onward, so an
unfinished ceremony that already generated its key can only be voided (see ``ceremony.flows.recovery``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from ceremony.crypto import recipes
from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.keys import Key, KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import DualControlError, FlowError, InputError, RehearsalMixError, ShareError
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord

# --- what the flow needs from the ledger and from a present person ------------------------------------------


class Present(Protocol):
    """An authenticated participant: their passphrase unlocked their key (DESIGN §1)."""

    @property
    def person_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


class RecordedEvent(Protocol):
    @property
    def seq(self) -> int: ...


class LedgerWriter(Protocol):
    def append(
        self,
        event_type: str,
        payload: Mapping[str, Any],
        actors: Sequence[str],
        signers: Sequence[Any] = (),
    ) -> Any: ...

    def custody(self) -> CustodyHistory: ...


def check_ledger_kind(ledger: object, rehearsal: bool) -> None:
    """Refuse a rehearsal on a production ledger and a production ceremony on a rehearsal ledger: test and
    production keys never share a ledger (PCI DSS 3.6.1.1). A ledger without ``info`` is not checked."""
    info = getattr(ledger, "info", None)
    marked = getattr(info, "rehearsal", None)
    if marked is None or bool(marked) == rehearsal:
        return
    if rehearsal:
        raise RehearsalMixError(
            "this is a production ledger: a rehearsal (TEST key) cannot run on it — use a separate "
            "rehearsal ledger (PCI DSS 3.6.1.1: test and production keys never mix)"
        )
    raise RehearsalMixError(
        "this is a rehearsal ledger: it holds TEST keys only, a production key cannot be generated on it — "
        "use the production ledger (PCI DSS 3.6.1.1: test and production keys never mix)"
    )


# --- values -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    key_type: KeyType
    label: str
    usage: str
    cryptoperiod_days: int
    length: int | None = None  # GENERIC keys only

    def __post_init__(self) -> None:
        if not self.label.strip():
            raise InputError("the key needs a label (what it is called in the key inventory)")
        if not self.usage.strip():
            raise InputError("state the key's usage (e.g. 'PIN encryption zone master key')")
        if not 1 <= self.cryptoperiod_days <= 3650:
            raise InputError(
                f"a cryptoperiod is 1 to 3650 days (PCI DSS 3.6.1.4/3.7.4), not {self.cryptoperiod_days}"
            )


@dataclass(frozen=True)
class SplitPlan:
    scheme: Scheme
    threshold: int
    custodians: tuple[str, ...]  # person id per share number (index 0 = share 1)

    @property
    def count(self) -> int:
        return len(self.custodians)


class Stage(StrEnum):
    STARTED = "started"
    PREFLIGHT_DONE = "preflight_done"
    PLANNED = "planned"
    GENERATED = "generated"
    WIPED = "wiped"
    CLOSED = "closed"
    VOIDED = "voided"


@dataclass
class Distribution:
    """Per share number: what has happened to it in this ceremony."""

    shown: bool = False
    envelope_serial: str | None = None
    verified: bool = False
    verify_failures: int = 0


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
    distribution: dict[int, Distribution] = field(default_factory=dict)
    _key: Key | None = None
    _split: recipes.SplitResult | None = None

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

    # -- helpers -------------------------------------------------------------------------------------------
    def _record(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        body = {"ceremony_id": self.ceremony_id, **payload}
        actors = list(dict.fromkeys(s.person_id for s in signers))
        return self.ledger.append(event_type, body, actors, signers)

    def _require(self, *stages: Stage) -> None:
        if self.stage not in stages:
            wanted = " or ".join(s.value for s in stages)
            raise FlowError(f"this step needs the ceremony to be {wanted}; it is {self.stage.value}")

    def _dual(self, *people: Present) -> None:
        ids = [p.person_id for p in people]
        if len(set(ids)) != len(ids):
            raise DualControlError("one person cannot fill two control roles in the same step")

    # -- preflight -----------------------------------------------------------------------------------------
    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None:
        """Record the preflight result; any insecure finding not covered by an active exception blocks.

        ``record_only`` (rehearsals only): a training laptop is not air-gapped, so the findings are recorded
        and the ceremony is marked ``rehearsal-not-air-gapped`` instead of blocked. Refused on a production
        ceremony, where an uncovered finding always blocks (PCI DSS 1.2.6)."""
        self._require(Stage.STARTED, Stage.PREFLIGHT_DONE)
        if record_only and not self.rehearsal:
            raise RehearsalMixError(
                "preflight findings can be recorded without blocking only in a rehearsal; "
                "a production ceremony is blocked until each finding is fixed or excepted (PCI DSS 1.2.6)"
            )
        if record_only:
            self._record(
                "preflight.run",
                {
                    **summary,
                    "uncovered": list(uncovered),
                    "blocked": False,
                    "record_only": True,
                    "air_gap": "rehearsal-not-air-gapped" if uncovered else "clear",
                },
                signers=(self.administrator, self.witness),
            )
            self.stage = Stage.PREFLIGHT_DONE
            return
        self._record(
            "preflight.run",
            {**summary, "uncovered": list(uncovered), "blocked": bool(uncovered)},
            signers=(self.administrator, self.witness),
        )
        if uncovered:
            raise FlowError(
                "preflight found insecure conditions without an active exception: "
                + ", ".join(uncovered)
                + " — fix them, or a security officer records a justified exception (PCI DSS 1.2.6)"
            )
        self.stage = Stage.PREFLIGHT_DONE

    # -- plan ----------------------------------------------------------------------------------------------
    def plan_key(self, spec: KeySpec, plan: SplitPlan) -> None:
        """Fix key type, label, usage, cryptoperiod and the custodian for each share — and check the custody
        rule and dual control before anything is generated (PCI DSS 3.7.6)."""
        self._require(Stage.PREFLIGHT_DONE, Stage.PLANNED)
        if plan.scheme is Scheme.XOR and plan.threshold != plan.count:
            raise InputError("XOR components are n-of-n: the threshold equals the number of components")
        if plan.scheme is Scheme.XOR and not 2 <= plan.count <= 9:
            raise InputError(f"XOR splits have 2 to 9 components, not {plan.count}")
        if plan.scheme is Scheme.SHAMIR and not 2 <= plan.threshold <= plan.count <= 255:
            raise InputError(f"a Shamir split needs 2 ≤ m ≤ n ≤ 255; got m={plan.threshold}, n={plan.count}")
        control = {self.administrator.person_id: "administrator", self.witness.person_id: "witness"}
        for number, person in enumerate(plan.custodians, start=1):
            if person in control:
                raise DualControlError(
                    f"the {control[person]} cannot also be the custodian of share {number} "
                    "(DESIGN §1: control roles and custody are held by different people)"
                )
        seen: dict[str, int] = {}
        for number, person in enumerate(plan.custodians, start=1):
            if person in seen:
                raise DualControlError(
                    f"{person} would hold share {seen[person]} and share {number} of the same split "
                    "(PCI DSS 3.7.6: no one may hold two components of one key)"
                )
            seen[person] = number
        # Dry run of the custody rule over the whole history with the planned split added.
        history = self.ledger.custody()
        key_id, split_id = new_id(), new_id()
        history.add_split(SplitRecord(key_id, split_id, plan.scheme.value, plan.threshold, plan.count, 0))
        for number, person in enumerate(plan.custodians, start=1):
            history.record(Exposure(0, person, split_id, number, "assigned"))
        self.key_spec, self.plan, self.key_id, self.split_id = spec, plan, key_id, split_id
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
            },
            signers=(self.administrator, self.witness),
        )
        self.stage = Stage.PLANNED

    # -- generate ------------------------------------------------------------------------------------------
    def generate(self) -> KeyCheckValue:
        """Generate the key from the OS CSPRNG, split it (every m-subset checked), record KCV and
        commitments. Needs administrator and witness (dual control)."""
        self._require(Stage.PLANNED)
        self._dual(self.administrator, self.witness)
        assert self.key_spec and self.plan and self.key_id and self.split_id
        key, kcv = recipes.new_key(self.key_spec.key_type, self.key_spec.length)
        try:
            if self.plan.scheme is Scheme.SHAMIR:
                split = recipes.split_key(
                    key, self.key_id, self.split_id, self.plan.threshold, self.plan.count
                )
            else:
                split = recipes.split_key_into_components(key, self.key_id, self.split_id, self.plan.count)
        except BaseException:
            key.wipe()
            raise
        self._key, self._split, self.kcv = key, split, kcv
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
            },
            signers,
        )
        self._record(
            "split.created",
            {
                "key_id": self.key_id,
                "split_id": self.split_id,
                "scheme": self.plan.scheme.value,
                "threshold": self.plan.threshold,
                "shares": self.plan.count,
                "commitments": {str(n): c.hex() for n, c in split.commitments.items()},
                **(
                    {
                        "share_kcvs": {str(n): k.value.hex() for n, k in split.component_kcvs.items()},
                        "share_kcv_method": kcv.method,
                    }
                    if split.component_kcvs
                    else {}
                ),
            },
            signers,
        )
        self.distribution = {n: Distribution() for n in range(1, self.plan.count + 1)}
        self.stage = Stage.GENERATED
        return kcv

    # -- distribution --------------------------------------------------------------------------------------
    def custodian_of(self, number: int) -> str:
        assert self.plan
        return self.plan.custodians[number - 1]

    def _share(self, number: int) -> Share:
        assert self._split
        return self._split.shares[number - 1]

    def _check_custodian(self, number: int, custodian: Present) -> None:
        self._require(Stage.GENERATED)
        if number not in self.distribution:
            raise InputError(f"there is no share {number} in this split")
        expected = self.custodian_of(number)
        if custodian.person_id != expected:
            raise DualControlError(f"share {number} is assigned to {expected}, not {custodian.person_id}")
        self._dual(custodian, self.witness)

    def reveal(self, number: int, custodian: Present) -> SecretBytes:
        """The custodian (authenticated, with the witness) is about to see share ``number``. The exposure
        is recorded — and checked against the custody rule by the ledger — before the typed form is
        returned. The caller shows it to that custodian alone and wipes it."""
        self._check_custodian(number, custodian)
        self._record(
            "share.exposed",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "kind": "shown",
            },
            signers=(custodian, self.witness),
        )
        self.distribution[number].shown = True
        return encode_share(self._share(number))

    def confirm_receipt(self, number: int, custodian: Present, envelope_serial: str, method: str) -> None:
        """The custodian signs receipt; the tamper-evident envelope's serial is recorded (DESIGN §4.2)."""
        self._check_custodian(number, custodian)
        if not self.distribution[number].shown:
            raise FlowError(f"share {number} has not been shown to its custodian yet")
        serial = envelope_serial.strip().upper()
        if not serial or len(serial) > 40 or not all(c.isalnum() or c in "-/" for c in serial):
            raise InputError("enter the envelope's serial number as printed (letters, digits, '-' or '/')")
        used = {d.envelope_serial: n for n, d in self.distribution.items() if d.envelope_serial}
        if serial in used and used[serial] != number:
            raise InputError(f"envelope {serial} already holds share {used[serial]}")
        if method not in ("recorded", "card"):
            raise InputError("receipt method is 'recorded' (custodian wrote it down) or 'card' (printed)")
        self._record(
            "share.received",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "envelope_serial": serial,
                "method": method,
            },
            signers=(custodian, self.witness),
        )
        self.distribution[number].envelope_serial = serial

    def verify_share(self, number: int, custodian: Present, typed: bytes | bytearray | str) -> bool:
        """Verification round: the custodian re-enters the share from what they recorded or the card; it
        must equal what was issued. A mismatch is recorded and can be retried (or the share re-issued)."""
        self._check_custodian(number, custodian)
        if self.distribution[number].envelope_serial is None:
            raise FlowError(f"share {number}'s receipt has not been signed yet")
        try:
            entered = decode_share(typed, expected_split_id=self.split_id)
        except (ShareError, InputError) as exc:
            self.distribution[number].verify_failures += 1
            self._record_verification(number, custodian, False, type(exc).__name__)
            raise
        try:
            ok = entered.number == number and entered.data == self._share(number).data
        finally:
            entered.wipe()
        if not ok:
            self.distribution[number].verify_failures += 1
        self._record_verification(number, custodian, ok, None if ok else "differs from the issued share")
        self.distribution[number].verified = self.distribution[number].verified or ok
        return ok

    def _record_verification(self, number: int, custodian: Present, ok: bool, reason: str | None) -> None:
        self._record(
            "share.verified",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "ok": ok,
                **({"reason": reason} if reason else {}),
            },
            signers=(custodian, self.witness),
        )

    # -- wipe and close ------------------------------------------------------------------------------------
    def wipe(self) -> None:
        """Wipe the clear key and every share buffer — only once every share was verified."""
        self._require(Stage.GENERATED)
        missing = [n for n, d in self.distribution.items() if not d.verified]
        if missing:
            raise FlowError(
                "the clear key is kept until every custodian has re-entered their share; still to verify: "
                + ", ".join(map(str, missing))
            )
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
        if self._split is not None:
            self._split.wipe()
            self._split = None
        if self._key is not None:
            self._key.wipe()
            self._key = None
