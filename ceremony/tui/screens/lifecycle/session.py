"""What the lifecycle screens (recovery, re-share) share while one ceremony runs.

A view-model only, like the generation session: it holds the ledger, who is present and the flow object,
and hands the recorded cancellation to the flow. It computes no share and writes no ledger row itself —
:class:`~ceremony.flows.recovery.RecoveryCeremony` and :class:`~ceremony.flows.reshare.ReshareCeremony` do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ceremony.flows.common import SplitPlan
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.recovery import ComponentsOutput, RecoveryCeremony, WrappedOutput
from ceremony.flows.recovery import Stage as RecoveryStage
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.reshare import Stage as ReshareStage
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger

RECOVERY_STEPS: tuple[str, ...] = (
    "Key & output",
    "Administrator & witness",
    "Envelopes & shares",
    "Rebuild, check KCV",
    "Output",
    "Wipe & close",
)
RESHARE_STEPS: tuple[str, ...] = (
    "Key & new custodians",
    "Administrator & witness",
    "Envelopes & shares",
    "Rebuild, check KCV",
    "Distribute new shares",
    "Verification round",
    "Retire old split & close",
)
# Step indexes shared by both lists (the first four are the same steps).
STEP_PLAN, STEP_AUTH, STEP_COLLECT, STEP_REBUILD = 0, 1, 2, 3
STEP_OUTPUT, STEP_CLOSE = 4, 5  # recovery
STEP_DISTRIBUTE, STEP_VERIFY, STEP_RESHARE_CLOSE = 4, 5, 6  # re-share


@dataclass
class LifecycleSession:
    """One recovery or re-share ceremony as the screens see it."""

    ledger: Ledger
    presence: Presence
    reshare_mode: bool = False
    # Chosen on the first screen, before anyone authenticates (the output is fixed in advance, issue 7).
    key_id: str | None = None
    split_id: str | None = None  # None: the key's only active split
    purpose: str = ""
    output: ComponentsOutput | WrappedOutput | None = None
    plan: SplitPlan | None = None
    reason: ReshareReason = ReshareReason.CUSTODIAN_CHANGE
    recovery: RecoveryCeremony | None = None
    reshare: ReshareCeremony | None = None
    present: list[PresentPerson] = field(default_factory=list)  # everyone unlocked, locked again at the end
    custodians: dict[int, PresentPerson] = field(default_factory=dict)  # new share number -> custodian
    kek_entered: int = 0
    names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = {p.person_id: p.name for p in participants(self.ledger)}

    @property
    def steps(self) -> tuple[str, ...]:
        return RESHARE_STEPS if self.reshare_mode else RECOVERY_STEPS

    @property
    def rehearsal(self) -> bool:
        return self.ledger.info.rehearsal

    def name_of(self, person_id: str) -> str:
        return self.names.get(person_id, person_id)

    @property
    def ceremony(self) -> RecoveryCeremony:
        """The recovery part (the re-share's own recovery when re-sharing)."""
        if self.reshare is not None:
            return self.reshare.recovery
        assert self.recovery is not None, "the ceremony starts when administrator and witness authenticate"
        return self.recovery

    @property
    def collector(self) -> RecoveryCeremony | ReshareCeremony:
        """What takes envelopes and shares: the re-share (which records its own steps) or the recovery."""
        return self.reshare if self.reshare is not None else self.ceremony

    def start(self, administrator: PresentPerson, witness: PresentPerson) -> None:
        """Open the ceremony in the flow with what the first screen chose."""
        assert self.key_id is not None
        if self.reshare_mode:
            assert self.plan is not None
            self.reshare = ReshareCeremony.start(
                self.ledger,
                administrator,
                witness,
                self.key_id,
                self.plan,
                self.reason,
                self.purpose,
                split_id=self.split_id,
                rehearsal=self.rehearsal,
            )
        else:
            assert self.output is not None
            self.recovery = RecoveryCeremony.start(
                self.ledger,
                administrator,
                witness,
                self.key_id,
                self.output,
                self.purpose,
                split_id=self.split_id,
                rehearsal=self.rehearsal,
            )
        self.presence.ceremony_id = self.ceremony.ceremony_id
        self.present += [administrator, witness]

    def joined(self, person: PresentPerson) -> None:
        self.present.append(person)

    @property
    def open(self) -> bool:
        if self.reshare is not None:
            return self.reshare.stage not in (ReshareStage.CLOSED, ReshareStage.VOIDED)
        if self.recovery is not None:
            return self.recovery.stage not in (RecoveryStage.CLOSED, RecoveryStage.VOIDED)
        return False

    def cancel(self, step: str) -> None:
        """Ctrl+C: the flow voids the ceremony (wiping the key and every share it holds) and records why."""
        if self.open:
            reason = f"cancelled by the operator (Ctrl+C) at {step}"
            if self.reshare is not None:
                self.reshare.void(reason)
            else:
                self.ceremony.void(reason)
        self.release()

    def release(self) -> None:
        """Lock every identity unlocked for this ceremony."""
        for person in self.present:
            person.leave()
        self.present.clear()
        self.custodians.clear()
