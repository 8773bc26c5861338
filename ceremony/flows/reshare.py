"""Re-share / custodian replacement (DESIGN §4.4): rebuild under threshold, re-split to a new custodian set.

The key itself does not change — its KCV before and after is the same, and is returned to prove it — only
who holds it. Steps:

1. ``start`` — administrator and witness, the new split plan, the reason and where the ceremony takes
   place. The custody rule is dry-run over the whole history, the old split included, before anything is
   rebuilt (PCI DSS 3.7.6). ``record_preflight`` — the air-gap preflight, as in generation (an uncovered
   finding blocks; record-only in a rehearsal), before any envelope is inspected.
2. The recovery part, exactly as :mod:`ceremony.flows.recovery` (envelopes inspected, shares entered, KCV
   checked): ``inspect_envelope``, ``decide_incident``, ``enter_share``, ``rebuild``.
3. ``reshare`` — the new split (``split.created`` with its custodians), every m-subset verified.
4. Private distribution and the verification round, as in generation: ``reveal``, ``confirm_receipt``,
   ``verify_share``; each new custodian then signs an acknowledgement form
   (:func:`ceremony.flows.paperwork.issue_acknowledgement_for` with ``new_split_id``).
5. ``finish`` — only once every new share was verified: the old split is retired (``split.retired``), the
   key is wiped and the ceremony closed. A departure's "must be replaced" flag stays (PCI DSS 3.7.5): the
   person who left still knows a share of the old split of the same key; only a new key clears it.

The old split's envelopes (those opened here and those never brought) stay held on record until what
became of each is recorded. A re-share does not ask: ``finish`` returns them
(``ReshareResult.envelopes_to_account``) and the close screen sends the officer to the retirement
ceremony, which takes up an earlier-retired split
(:meth:`ceremony.flows.retirement.RetirementCeremony.account_for_split`) and asks about each envelope with
the same screen, the same two-person rule and the same destruction certificate as any retirement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ceremony.crypto.ids import new_id
from ceremony.crypto.kcv import KeyCheckValue
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import FlowError, InputError, KCVMismatchError
from ceremony.flows.common import (
    DemonstratedIncident,
    Present,
    Recorder,
    ShareDistribution,
    SplitPlan,
    check_split_plan,
    dry_run_split,
    read_register,
    split_created_payload,
    split_for_plan,
)
from ceremony.flows.envelopes import AffectedEnvelope, outstanding_of_splits
from ceremony.flows.recovery import EnvelopeCheck, Progress, RecoveryCeremony, ReshareOutput
from ceremony.flows.recovery import Stage as RecoveryStage
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger


class ReshareReason(StrEnum):
    DEPARTURE = "departure"  # a custodian left: the key was flagged "must be replaced" (3.7.5)
    CUSTODIAN_CHANGE = "custodian change"
    ENVELOPE_INCIDENT = "envelope incident"  # a share's envelope was found tampered with
    ROUTINE = "routine"


class Stage(StrEnum):
    RECOVERING = "recovering"
    DISTRIBUTING = "distributing"
    CLOSED = "closed"
    VOIDED = "voided"


@dataclass(frozen=True)
class ReshareResult:
    key_id: str
    old_split_id: str
    new_split_id: str
    kcv: KeyCheckValue  # the registered KCV, matched by the key before and after: the key did not change
    must_still_be_replaced: bool  # a departure's flag: a re-share never clears it (PCI DSS 3.7.5)
    # the old split's envelopes still held on record: account for them in a retirement ceremony
    # (RetirementCeremony.account_for_split), where each is destroyed under two people or an incident
    envelopes_to_account: tuple[AffectedEnvelope, ...] = ()


@dataclass
class ReshareCeremony:
    recovery: RecoveryCeremony
    plan: SplitPlan
    reason: ReshareReason
    new_split_id: str
    stage: Stage = Stage.RECOVERING
    distribution: ShareDistribution | None = None

    @classmethod
    def start(
        cls,
        ledger: Ledger,
        administrator: Present,
        witness: Present,
        key_id: str,
        plan: SplitPlan,
        reason: ReshareReason,
        purpose: str,
        *,
        split_id: str | None = None,
        check_commitments: bool = True,
        rehearsal: bool = False,
        location: str | None = None,
    ) -> ReshareCeremony:
        """Check the new plan (dual control, custody rule over the whole history) and open the recovery
        (``location``, where the ceremony takes place, recorded for the minutes). The next step is
        :meth:`record_preflight`."""
        control = {administrator.person_id: "administrator", witness.person_id: "witness"}
        check_split_plan(plan, control)
        people = {p.person_id: p for p in participants(ledger)}
        for number, person_id in enumerate(plan.custodians, start=1):
            person = people.get(person_id)
            if person is None:
                raise InputError(f"share {number}'s custodian {person_id[:20]} is not enrolled")
            if not person.active:
                raise InputError(
                    f"{person.name} ({person_id}) was deactivated at event #{person.deactivated_seq} and "
                    f"cannot receive share {number}"
                )
            if "custodian" not in person.roles:
                raise InputError(f"{person.name} ({person_id}) is not enrolled as a custodian")
        new_split = new_id()
        dry_run_split(ledger.custody(), key_id, new_split, plan)
        recovery = RecoveryCeremony._begin(
            ledger,
            administrator,
            witness,
            key_id,
            ReshareOutput(plan, reason.value),
            purpose,
            kind="reshare",
            split_id=split_id,
            check_commitments=check_commitments,
            rehearsal=rehearsal,
            location=location,
            extra={
                "reason": reason.value,
                "scheme": plan.scheme.value,
                "threshold": plan.threshold,
                "shares": plan.count,
                "custodians": list(plan.custodians),
            },
        )
        return cls(recovery, plan, reason, new_split)

    # -- the recovery part ---------------------------------------------------------------------------------
    @property
    def key_id(self) -> str:
        return self.recovery.key_id

    @property
    def old_split_id(self) -> str:
        return self.recovery.split_id

    @property
    def ceremony_id(self) -> str:
        return self.recovery.ceremony_id

    @property
    def progress(self) -> Progress:
        return self.recovery.progress

    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None:
        """The air-gap preflight, recorded as generation records it; an uncovered finding blocks (PCI DSS
        1.2.6), ``record_only`` in a rehearsal only. Required before any envelope is inspected."""
        self.recovery.record_preflight(summary, uncovered, record_only=record_only)

    def inspect_envelope(
        self,
        number: int,
        custodian: Present,
        serial_read: str,
        custodian_says_intact: bool,
        witness_says_intact: bool,
    ) -> EnvelopeCheck:
        return self.recovery.inspect_envelope(
            number, custodian, serial_read, custodian_says_intact, witness_says_intact
        )

    def decide_incident(self, number: int, security_officer: Present, decision: str, reason: str) -> None:
        self.recovery.decide_incident(number, security_officer, decision, reason)

    def enter_share(self, custodian: Present, typed: bytes | bytearray | str) -> Progress:
        return self.recovery.enter_share(custodian, typed)

    def rebuild(self) -> KeyCheckValue:
        return self.recovery.rebuild()

    # -- the new split -------------------------------------------------------------------------------------
    def reshare(self) -> KeyCheckValue:
        """Split the rebuilt key for the new custodians (custody rule checked again against the ledger as
        it is now); returns the KCV, which the new split reproduces — the key did not change."""
        if self.stage is not Stage.RECOVERING or self.recovery.stage is not RecoveryStage.REBUILT:
            raise FlowError("the key must be rebuilt (and checked against its KCV) before it is re-shared")
        rec = self.recovery
        key = rec.key_for_reshare()
        dry_run_split(rec.ledger.custody(), self.key_id, self.new_split_id, self.plan)
        split = split_for_plan(key, self.key_id, self.new_split_id, self.plan)
        try:
            if not split.key_check_value.matches(rec.key.kcv):
                raise KCVMismatchError(
                    "the re-split key does not match the registered KCV; nothing was issued"
                )
            payload = split_created_payload(self.key_id, self.new_split_id, self.plan, split)
            payload["replaces_split_id"] = self.old_split_id
            payload["reason"] = self.reason.value
            rec._record("split.created", payload, (rec.administrator, rec.witness))
        except BaseException:
            split.wipe()
            raise
        self.distribution = ShareDistribution(
            Recorder(rec.ledger, rec.ceremony_id),
            rec.witness,
            self.new_split_id,
            self.plan.custodians,
            split,
            administrator=rec.administrator,
        )
        rec.stage = RecoveryStage.OUTPUT
        self.stage = Stage.DISTRIBUTING
        return split.key_check_value

    def _dist(self) -> ShareDistribution:
        if self.stage is not Stage.DISTRIBUTING or self.distribution is None:
            raise FlowError("the new shares are distributed after the key is re-shared")
        return self.distribution

    def reveal(self, number: int, custodian: Present) -> SecretBytes:
        return self._dist().reveal(number, custodian)

    def confirm_receipt(self, number: int, custodian: Present, envelope_serial: str, method: str) -> None:
        self._dist().confirm_receipt(number, custodian, envelope_serial, method)

    def verify_share(self, number: int, custodian: Present, typed: bytes | bytearray | str) -> bool:
        return self._dist().verify_share(number, custodian, typed)

    @property
    def blocking_incident(self) -> DemonstratedIncident | None:
        """A demonstrated-knowledge incident of the new split's verification round, if one stops it."""
        return None if self.distribution is None else self.distribution.blocking_incident

    def decide_demonstrated(self, security_officer: Present, decision: str, reason: str) -> None:
        """A security officer (with the witness) decides a new custodian's demonstrated knowledge of
        another new share: "continue" (only while the custody rule holds) or "void" (then :meth:`void`:
        the new split is retired, the old one stays in force)."""
        self._dist().decide_incident(security_officer, decision, reason)

    # -- finish --------------------------------------------------------------------------------------------
    def finish(self, checkpoint_text: str | None = None) -> ReshareResult:
        """Once every new share is verified: retire the old split, clear a departure's flag, wipe, close."""
        dist = self._dist()
        missing = dist.unverified()
        if missing:
            raise FlowError(
                "the old split stays in force until every new custodian has re-entered their share; "
                "still to verify: " + ", ".join(map(str, missing))
            )
        rec = self.recovery
        signers = (rec.administrator, rec.witness)
        rec._record(
            "split.retired",
            {
                "key_id": self.key_id,
                "split_id": self.old_split_id,
                "reason": f"replaced by split {self.new_split_id} (re-share: {self.reason.value})",
            },
            signers,
        )
        # A re-share keeps the key: whoever left still knows a share of the retired split, so a departure's
        # "must be replaced" flag stays until a new key replaces this one (PCI DSS 3.7.5, DESIGN §3).
        still_flagged = self.key_id in rec.ledger.custody().flagged_keys()
        rec.finish(checkpoint_text)
        self.stage = Stage.CLOSED
        return ReshareResult(
            self.key_id,
            self.old_split_id,
            self.new_split_id,
            rec.key.kcv,
            still_flagged,
            tuple(self.envelopes_to_account()),
        )

    def envelopes_to_account(self) -> list[AffectedEnvelope]:
        """The old split's envelopes whose outcome is not yet on record (empty before the old split is
        retired: it is still in force). Record them in a retirement ceremony (``account_for_split``)."""
        register = read_register(self.recovery.ledger.events())
        split = register.splits.get(self.old_split_id)
        if split is None or not split.retired:
            return []
        return outstanding_of_splits(register, [self.old_split_id])

    def void(self, reason: str) -> None:
        """Abort: wipe everything; a new split whose shares went out is retired, the old one stays."""
        if self.stage in (Stage.CLOSED, Stage.VOIDED):
            return
        rec = self.recovery
        if self.distribution is not None:
            self.distribution.wipe()
            rec._record(
                "split.retired",
                {"split_id": self.new_split_id, "reason": "re-share voided before completion"},
                (rec.administrator, rec.witness),
            )
        rec.void(reason)
        self.stage = Stage.VOIDED
