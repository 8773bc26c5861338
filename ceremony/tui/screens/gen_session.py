"""What the generation screens share while one ceremony runs: the ledger, who is present, the flow.

A view-model only: it holds references handed from screen to screen and calls the flow
(:class:`~ceremony.flows.generation.GenerationCeremony`) for the one thing every screen may need, the
recorded cancellation. It computes nothing and writes nothing itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams
from ceremony.errors import CeremonyError
from ceremony.flows.generation import GenerationCeremony, KeySpec, Stage
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.recovery import KeyBlockOutput
from ceremony.flows.steps import GENERATION_TITLES
from ceremony.flows.turns import Next, generation_turn
from ceremony.ledger.store import Ledger
from ceremony.preflight import Coverage, Finding, PreflightReport, evidence_payload

# The steps as the room sees them in the step list: the one source is ceremony.flows.steps.
GENERATION_STEP_TITLES: tuple[str, ...] = GENERATION_TITLES
STEP_PREFLIGHT, STEP_AUTH, STEP_KEY, STEP_SPLIT = 0, 1, 2, 3
STEP_GENERATE, STEP_DISTRIBUTE, STEP_VERIFY, STEP_CLOSE = 4, 5, 6, 7

PreflightRunner = Callable[[datetime], PreflightReport]

PREFLIGHT_BLOCKED = "blocked by the air-gap preflight (PCI DSS 1.2.6)"


@dataclass
class GenerationSession:
    ledger: Ledger
    presence: Presence
    run_preflight: PreflightRunner
    kdf: ScryptParams = DEFAULT_KDF
    report: PreflightReport | None = None
    coverage: Coverage | None = None
    rehearsal_override: bool = False  # uncovered findings accepted on a rehearsal ledger
    ceremony: GenerationCeremony | None = None
    key_spec: KeySpec | None = None
    custodians: dict[int, PresentPerson] = field(default_factory=dict)  # share number -> present custodian
    # The key also sent to its HSM as a TR-31 block (issue 16): chosen with the key details, planned with
    # the split; its KBPK's custodians type their components after the verification round.
    key_block: KeyBlockOutput | None = None
    kek_entered: int = 0  # KBPK components typed (the recovery's component screen counts them here)
    helpers: list[PresentPerson] = field(default_factory=list)  # KBPK custodians, the token PIN's typer
    names: dict[str, str] = field(default_factory=dict)  # person id -> name, for the screens
    # Where share cards go: $CEREMONY_PRINTER ('lp', 'lp:NAME', a /dev/ printer device, 'ram[:FOLDER]').
    printer: str = field(default_factory=lambda: os.environ.get("CEREMONY_PRINTER", "ram"))

    preflight_accepted: bool = False  # the preflight screen was passed: administrator and witness next
    asks_purpose: ClassVar[bool] = True  # the control-authentication screen asks the ceremony's purpose
    cards_allowed: ClassVar[bool] = True  # a custodian may take a printed share card instead
    key_block_step: ClassVar[int] = STEP_CLOSE  # where the recovery's key block screens sit in this list

    @property
    def steps(self) -> tuple[str, ...]:
        return GENERATION_STEP_TITLES

    @property
    def rehearsal(self) -> bool:
        return self.ledger.info.rehearsal

    @property
    def open(self) -> bool:
        return self.ceremony is not None and self.ceremony.stage not in (Stage.CLOSED, Stage.VOIDED)

    def name_of(self, person_id: str) -> str:
        return self.names.get(person_id, person_id)

    def next_turn(self) -> Next:
        """What comes next, as the flow says (:func:`ceremony.flows.turns.generation_turn`)."""
        return generation_turn(self.ceremony, preflight_accepted=self.preflight_accepted)

    def summary(self) -> str | None:
        return None  # the purpose is typed on the control-authentication screen

    def start(self, administrator: PresentPerson, witness: PresentPerson, purpose: str) -> None:
        """Open the ceremony in the flow, then record the preflight the first screen ran. If the flow
        refuses the preflight (a finding no exception covers, on a production ledger), the ceremony is
        voided with that reason and the refusal raised, as for recovery: nothing was generated."""
        self.ceremony = GenerationCeremony.start(
            self.ledger, administrator, witness, purpose, rehearsal=self.rehearsal
        )
        self.presence.ceremony_id = self.ceremony.ceremony_id
        try:
            record_preflight(self)
        except CeremonyError:
            self.ceremony.void(PREFLIGHT_BLOCKED)
            self.ceremony = None
            raise

    # -- private distribution (the frame's distribution screens ask these) -----------------------------
    @property
    def distributor(self) -> GenerationCeremony:
        assert self.ceremony is not None, "the shares exist once the key is generated"
        return self.ceremony

    @property
    def share_count(self) -> int:
        assert self.ceremony is not None and self.ceremony.plan is not None
        return self.ceremony.plan.count

    def custodian_id(self, number: int) -> str:
        return self.distributor.custodian_of(number)

    noun: ClassVar[str] = "share"  # what the distribution screens hand out

    def joined(self, person: PresentPerson) -> None:
        """A custodian authenticated (for their share, a KBPK component or a token's PIN): locked again by
        :meth:`release`."""
        if all(person is not p for p in self.custodians.values()):
            self.helpers.append(person)

    def cancel(self, step: str) -> None:
        """Ctrl+C: the flow voids the ceremony (wiping what it holds) and records why."""
        ceremony = self.ceremony
        if ceremony is not None and ceremony.stage not in (Stage.CLOSED, Stage.VOIDED):
            ceremony.void(f"cancelled at {step}")
        self.release()

    def release(self) -> None:
        """Lock every identity that was unlocked for this ceremony."""
        people: list[PresentPerson] = [*self.custodians.values(), *self.helpers]
        if self.ceremony is not None:
            for person in (self.ceremony.administrator, self.ceremony.witness):
                if isinstance(person, PresentPerson):
                    people.append(person)
        for person in people:
            person.leave()
        self.custodians.clear()
        self.helpers.clear()


def finding_label(finding: Finding) -> str:
    return f"{finding.check}: {finding.subject or finding.summary}"


def record_preflight(session: GenerationSession) -> None:
    """Hand the preflight evidence to the flow, which records it and refuses uncovered findings — except
    on a rehearsal, where the operator chose "record and continue" (the flow's ``record_only``; it
    refuses that on a production ceremony, PCI DSS 1.2.6)."""
    ceremony, report, coverage = session.ceremony, session.report, session.coverage
    assert ceremony is not None and report is not None and coverage is not None
    uncovered = [finding_label(f) for f in coverage.uncovered]
    ceremony.record_preflight(
        evidence_payload(report, coverage), uncovered, record_only=session.rehearsal_override
    )
