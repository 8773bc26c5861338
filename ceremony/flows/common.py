"""What the ceremonies share: who is present, the key register read back from the ledger, split planning
with its custody dry run, and private distribution of new shares (DESIGN §4.2–4.6).

Generation, recovery, re-share and retirement all need the same few things, kept here once:

* :class:`Present` / :class:`LedgerWriter` — what a flow needs of a person and of the ledger;
* :class:`Recorder` — writes one ceremony's events (ceremony id in every payload, signers as actors);
* :func:`read_register` — the register (:mod:`ceremony.ledger.register`): keys, splits, envelopes and
  retirements as the ledger recorded them;
* :func:`check_split_plan` / :func:`dry_run_split` — dual control and the custody rule (PCI DSS 3.7.6)
  checked over the whole history before anything is generated;
* :func:`split_for_plan` / :func:`split_created_payload` — the split and what ``split.created`` records;
* :class:`ShareDistribution` — reveal each share to its own custodian (exposure recorded first), receipt
  with the envelope serial, and the verification round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ceremony.crypto import recipes
from ceremony.crypto.codec import decode_share, encode_share
from ceremony.crypto.keys import Key
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.errors import (
    DualControlError,
    FlowError,
    InputError,
    RehearsalMixError,
    ShareError,
)
from ceremony.ledger.events import Event
from ceremony.ledger.register import Register
from ceremony.policy.custody import CustodyHistory, Exposure, SplitRecord

# --- what a flow needs from a present person and from the ledger -----------------------------------------


class Present(Protocol):
    """An authenticated participant: their passphrase unlocked their key (DESIGN §1)."""

    @property
    def person_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


class LedgerWriter(Protocol):
    def append(
        self,
        event_type: str,
        payload: Mapping[str, Any],
        actors: Sequence[str],
        signers: Sequence[Any] = (),
    ) -> Any: ...

    def custody(self) -> CustodyHistory: ...

    def events(self) -> Iterable[Any]: ...


@dataclass
class Recorder:
    """Writes one ceremony's events: the ceremony id goes into every payload, the signers are the actors."""

    ledger: LedgerWriter
    ceremony_id: str

    def __call__(self, event_type: str, payload: Mapping[str, Any], signers: Sequence[Present]) -> Any:
        body = {"ceremony_id": self.ceremony_id, **payload}
        actors = list(dict.fromkeys(s.person_id for s in signers))
        return self.ledger.append(event_type, body, actors, signers)


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


def distinct(*people: Present) -> None:
    """Dual control (DESIGN §1): one person never fills two control roles in one step."""
    ids = [p.person_id for p in people]
    if len(set(ids)) != len(ids):
        raise DualControlError("one person cannot fill two control roles in the same step")


# --- the key register, read back from the ledger --------------------------------------------------------


def read_register(events: Iterable[Event]) -> Register:
    """Keys, splits, people, ceremonies... as the ledger recorded them (pass ``ledger.events()``); the
    register of :mod:`ceremony.ledger.register`, kept under this name for its callers."""
    return Register.from_events(events)


# --- planning a split -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitPlan:
    scheme: Scheme
    threshold: int
    custodians: tuple[str, ...]  # person id per share number (index 0 = share 1)

    @property
    def count(self) -> int:
        return len(self.custodians)


def check_split_plan(plan: SplitPlan, control: Mapping[str, str]) -> None:
    """Scheme limits, control roles not custodians, one share per custodian (PCI DSS 3.7.6).

    ``control`` maps the person id of each control role present (administrator, witness) to its name.
    """
    if plan.scheme is Scheme.XOR and plan.threshold != plan.count:
        raise InputError("XOR components are n-of-n: the threshold equals the number of components")
    if plan.scheme is Scheme.XOR and not 2 <= plan.count <= 9:
        raise InputError(f"XOR splits have 2 to 9 components, not {plan.count}")
    if plan.scheme is Scheme.SHAMIR and not 2 <= plan.threshold <= plan.count <= 255:
        raise InputError(f"a Shamir split needs 2 ≤ m ≤ n ≤ 255; got m={plan.threshold}, n={plan.count}")
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


def dry_run_split(history: CustodyHistory, key_id: str, split_id: str, plan: SplitPlan) -> None:
    """The custody rule over the whole history (old splits of the key included) with the planned split
    added and each share assigned; raises :class:`CustodyViolationError` naming the forbidding event."""
    history.add_split(SplitRecord(key_id, split_id, plan.scheme.value, plan.threshold, plan.count, 0))
    for number, person in enumerate(plan.custodians, start=1):
        history.record(Exposure(0, person, split_id, number, "assigned"))


def split_for_plan(key: Key, key_id: str, split_id: str, plan: SplitPlan) -> recipes.SplitResult:
    if plan.scheme is Scheme.SHAMIR:
        return recipes.split_key(key, key_id, split_id, plan.threshold, plan.count)
    return recipes.split_key_into_components(key, key_id, split_id, plan.count)


def split_created_payload(
    key_id: str, split_id: str, plan: SplitPlan, split: recipes.SplitResult
) -> dict[str, Any]:
    """What ``split.created`` records: parameters, custodians, commitments, component KCVs (never shares)."""
    return {
        "key_id": key_id,
        "split_id": split_id,
        "scheme": plan.scheme.value,
        "threshold": plan.threshold,
        "shares": plan.count,
        "custodians": list(plan.custodians),
        "commitments": {str(n): c.hex() for n, c in split.commitments.items()},
        **(
            {
                "share_kcvs": {str(n): k.value.hex() for n, k in split.component_kcvs.items()},
                "share_kcv_method": split.key_check_value.method,
            }
            if split.component_kcvs
            else {}
        ),
    }


# --- private distribution of a new split ----------------------------------------------------------------


@dataclass
class Distribution:
    """Per share number: what has happened to it in this ceremony."""

    shown: bool = False
    envelope_serial: str | None = None
    verified: bool = False
    verify_failures: int = 0


def normalise_serial(text: str) -> str:
    serial = text.strip().upper()
    if not serial or len(serial) > 40 or not all(c.isalnum() or c in "-/" for c in serial):
        raise InputError("enter the envelope's serial number as printed (letters, digits, '-' or '/')")
    return serial


@dataclass
class ShareDistribution:
    """Distributes the shares of one new split, one custodian at a time, under the witness (DESIGN §4.2).

    A share is returned to the view only after the exposure that records it is committed; the ledger
    refuses an exposure that breaks the custody rule (PCI DSS 3.7.6).
    """

    record: Recorder
    witness: Present
    split_id: str
    custodians: tuple[str, ...]
    split: recipes.SplitResult
    state: dict[int, Distribution] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state = {n: Distribution() for n in range(1, len(self.custodians) + 1)}

    def custodian_of(self, number: int) -> str:
        if number not in self.state:
            raise InputError(f"there is no share {number} in this split")
        return self.custodians[number - 1]

    def _share(self, number: int) -> Share:
        return self.split.shares[number - 1]

    def _check(self, number: int, custodian: Present) -> None:
        expected = self.custodian_of(number)
        if custodian.person_id != expected:
            raise DualControlError(f"share {number} is assigned to {expected}, not {custodian.person_id}")
        distinct(custodian, self.witness)

    def reveal(self, number: int, custodian: Present) -> SecretBytes:
        """Record the exposure (``shown``), then return the typed form for that custodian alone."""
        self._check(number, custodian)
        self.record(
            "share.exposed",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "kind": "shown",
            },
            (custodian, self.witness),
        )
        self.state[number].shown = True
        return encode_share(self._share(number))

    def share_for_card(self, number: int, custodian: Present) -> SecretBytes:
        """The typed form again, for that custodian's share card — only after it was shown to them (its
        exposure is already recorded); the card's own printing is recorded by the caller."""
        self._check(number, custodian)
        if not self.state[number].shown:
            raise FlowError(f"share {number} has not been shown to its custodian yet")
        return encode_share(self._share(number))

    def confirm_receipt(self, number: int, custodian: Present, envelope_serial: str, method: str) -> None:
        """The custodian signs receipt; the tamper-evident envelope's serial is recorded."""
        self._check(number, custodian)
        if not self.state[number].shown:
            raise FlowError(f"share {number} has not been shown to its custodian yet")
        serial = normalise_serial(envelope_serial)
        used = {d.envelope_serial: n for n, d in self.state.items() if d.envelope_serial}
        if serial in used and used[serial] != number:
            raise InputError(f"envelope {serial} already holds share {used[serial]}")
        if method not in ("recorded", "card"):
            raise InputError("receipt method is 'recorded' (custodian wrote it down) or 'card' (printed)")
        self.record(
            "share.received",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "envelope_serial": serial,
                "method": method,
            },
            (custodian, self.witness),
        )
        self.state[number].envelope_serial = serial

    def verify_share(self, number: int, custodian: Present, typed: bytes | bytearray | str) -> bool:
        """Verification round: the re-entered share must equal the one issued; each try is recorded."""
        self._check(number, custodian)
        if self.state[number].envelope_serial is None:
            raise FlowError(f"share {number}'s receipt has not been signed yet")
        try:
            entered = decode_share(typed, expected_split_id=self.split_id)
        except (ShareError, InputError) as exc:
            self.state[number].verify_failures += 1
            self._record_verification(number, custodian, False, type(exc).__name__)
            raise
        try:
            ok = entered.number == number and entered.data == self._share(number).data
        finally:
            entered.wipe()
        if not ok:
            self.state[number].verify_failures += 1
        self._record_verification(number, custodian, ok, None if ok else "differs from the issued share")
        self.state[number].verified = self.state[number].verified or ok
        return ok

    def _record_verification(self, number: int, custodian: Present, ok: bool, reason: str | None) -> None:
        self.record(
            "share.verified",
            {
                "person_id": custodian.person_id,
                "split_id": self.split_id,
                "share_number": number,
                "ok": ok,
                **({"reason": reason} if reason else {}),
            },
            (custodian, self.witness),
        )

    def unverified(self) -> list[int]:
        return [n for n, d in self.state.items() if not d.verified]

    def wipe(self) -> None:
        self.split.wipe()
