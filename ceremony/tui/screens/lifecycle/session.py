"""What the lifecycle screens (recovery, re-share, retirement) share while one ceremony runs.

A view-model only, like the generation session: it holds the ledger, who is present, the air-gap preflight
the screens ran (:class:`PreflightGate`) and the flow object, and hands the recorded cancellation to the
flow. It computes no share and writes no ledger row itself — :class:`~ceremony.flows.recovery.
RecoveryCeremony`, :class:`~ceremony.flows.reshare.ReshareCeremony` and :class:`~ceremony.flows.retirement.
RetirementCeremony` do (the preflight too: the flow records it and refuses an uncovered finding).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from rich.text import Text

from ceremony.errors import CeremonyError
from ceremony.flows.common import SplitPlan, read_register
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.recovery import ChosenOutput, ComponentReveal, ComponentsOutput, RecoveryCeremony
from ceremony.flows.recovery import Stage as RecoveryStage
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.flows.reshare import Stage as ReshareStage
from ceremony.flows.steps import RECOVERY_TITLES, RESHARE_TITLES
from ceremony.flows.turns import Next, Turn, recovery_turn
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import Coverage, PreflightReport, evidence_payload, run_preflight
from ceremony.tui.screens.gen_session import PREFLIGHT_BLOCKED as PREFLIGHT_BLOCKED
from ceremony.tui.screens.gen_session import PreflightRunner, finding_label

# The step lists (the one source is ceremony.flows.steps).
RECOVERY_STEPS: tuple[str, ...] = RECOVERY_TITLES
RESHARE_STEPS: tuple[str, ...] = RESHARE_TITLES
# Step indexes shared by both lists (the first five are the same steps).
STEP_PLAN, STEP_PREFLIGHT, STEP_AUTH, STEP_COLLECT, STEP_REBUILD = 0, 1, 2, 3, 4
STEP_OUTPUT, STEP_CLOSE = 5, 6  # recovery
STEP_DISTRIBUTE, STEP_VERIFY, STEP_RESHARE_CLOSE = 5, 6, 7  # re-share


class _PreflightRecorder(Protocol):
    def record_preflight(
        self, summary: Mapping[str, Any], uncovered: Sequence[str], *, record_only: bool = False
    ) -> None: ...


@dataclass
class PreflightGate:
    """The air-gap preflight as a screen ran it, before anyone authenticates (as in generation): the report,
    what the ledger's exceptions covered, and whether the operator chose "record and continue" (offered on a
    rehearsal ledger only). ``accepted``: the operator went on from it. The flow records it once the
    ceremony has started, and refuses uncovered findings on a production ledger (PCI DSS 1.2.6)."""

    ledger: Ledger
    run: PreflightRunner = run_preflight
    report: PreflightReport | None = None
    coverage: Coverage | None = None
    override: bool = False
    accepted: bool = False

    @property
    def rehearsal(self) -> bool:
        return self.ledger.info.rehearsal

    def record(self, ceremony: _PreflightRecorder) -> None:
        """Hand the evidence to the flow, which records ``preflight.run`` and refuses what it must."""
        report, coverage = self.report, self.coverage
        assert report is not None and coverage is not None and self.accepted
        uncovered = [finding_label(f) for f in coverage.uncovered]
        ceremony.record_preflight(evidence_payload(report, coverage), uncovered, record_only=self.override)


@dataclass(frozen=True)
class ComponentHandout:
    """A recovery's fresh XOR components, handed out by the same screens as new shares."""

    recovery: RecoveryCeremony

    def reveal(self, number: int, custodian: PresentPerson) -> ComponentReveal:
        return self.recovery.reveal_component(number, custodian)

    def confirm_receipt(
        self, number: int, custodian: PresentPerson, envelope_serial: str, method: str
    ) -> None:
        self.recovery.confirm_component_receipt(number, custodian, envelope_serial, method)


@dataclass
class LifecycleSession:
    """One recovery or re-share ceremony as the screens see it."""

    ledger: Ledger
    presence: Presence
    reshare_mode: bool = False
    run_preflight: PreflightRunner = run_preflight
    # Chosen on the first screen, before anyone authenticates (the output is fixed in advance, issue 7).
    key_id: str | None = None
    split_id: str | None = None  # None: the key's only active split
    purpose: str = ""
    location: str = ""  # where the ceremony takes place (recorded at its start, printed in the minutes)
    output: ChosenOutput | None = None  # components, wrapped (KEK), key block (KBPK) or token
    plan: SplitPlan | None = None
    reason: ReshareReason = ReshareReason.CUSTODIAN_CHANGE
    recovery: RecoveryCeremony | None = None
    reshare: ReshareCeremony | None = None
    present: list[PresentPerson] = field(default_factory=list)  # everyone unlocked, locked again at the end
    custodians: dict[int, PresentPerson] = field(default_factory=dict)  # new share number -> custodian
    kek_entered: int = 0
    names: dict[str, str] = field(default_factory=dict)
    preflight: PreflightGate = field(init=False)

    def __post_init__(self) -> None:
        self.names = {p.person_id: p.name for p in participants(self.ledger)}
        self.preflight = PreflightGate(self.ledger, self.run_preflight)

    @property
    def steps(self) -> tuple[str, ...]:
        return RESHARE_STEPS if self.reshare_mode else RECOVERY_STEPS

    asks_purpose: ClassVar[bool] = False  # the purpose was stated with the key and output
    cards_allowed: ClassVar[bool] = False  # a re-share's new shares are written down (no card printing)

    @property
    def rehearsal(self) -> bool:
        return self.ledger.info.rehearsal

    def name_of(self, person_id: str) -> str:
        return self.names.get(person_id, person_id)

    def next_turn(self) -> Next:
        """What comes next, as the flow says (:func:`ceremony.flows.turns.recovery_turn`); before the
        ceremony starts: the plan, the preflight, then administrator and witness."""
        if self.recovery is None and self.reshare is None:
            if self.key_id is None:
                return Next(Turn.PLAN)
            return Next(Turn.CONTROL_AUTH) if self.preflight.accepted else Next(Turn.PREFLIGHT)
        return recovery_turn(self.ceremony, self.reshare)

    def summary(self) -> str | None:
        """The key and the purpose, shown above the control authentication."""
        key = read_register(self.ledger.events()).keys.get(self.key_id or "")
        label = f"{key.label} ({key.key_id[:8]}, KCV {key.kcv.hex})" if key else ""
        return f"{label} — {self.purpose}"

    # -- private distribution: a re-share's new split, or a recovery's fresh components ---------------
    @property
    def noun(self) -> str:
        return "share" if self.reshare_mode else "component"

    @property
    def distributor(self) -> ReshareCeremony | ComponentHandout:
        if self.reshare is not None:
            return self.reshare
        assert isinstance(self.output, ComponentsOutput), "only components are handed out by a recovery"
        return ComponentHandout(self.ceremony)

    @property
    def share_count(self) -> int:
        return len(self._receivers())

    def custodian_id(self, number: int) -> str:
        return self._receivers()[number - 1]

    def _receivers(self) -> tuple[str, ...]:
        if self.reshare_mode:
            assert self.plan is not None
            return tuple(self.plan.custodians)
        assert isinstance(self.output, ComponentsOutput)
        return tuple(self.output.custodians)

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

    def start(self, administrator: PresentPerson, witness: PresentPerson, purpose: str = "") -> None:
        """Open the ceremony in the flow with what the first screen chose, then record the preflight the
        preflight screen ran. If the flow refuses the preflight (a finding no exception covers, on a
        production ledger), the ceremony is voided with that reason and the refusal raised: nothing of the
        key was touched."""
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
                location=self.location or None,
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
                location=self.location or None,
            )
        self.presence.ceremony_id = self.ceremony.ceremony_id
        self.present += [administrator, witness]
        flow: RecoveryCeremony | ReshareCeremony = self.reshare if self.reshare is not None else self.ceremony
        try:
            self.preflight.record(flow)
        except CeremonyError:
            flow.void(PREFLIGHT_BLOCKED)
            self.recovery = self.reshare = None
            raise

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


def progress_line(session: LifecycleSession) -> Text:
    """How many shares are in, and which: the line above the custodians' forms."""
    progress = session.collector.progress
    text = Text(f"Shares entered: {progress.text}", style="bold")
    if progress.entered:
        text.append(f"   (share {', '.join(map(str, progress.entered))})", style="dim")
    if progress.ready:
        text.append("   ready to rebuild", style="bold green")
    return text
