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

from ceremony.crypto.identity import DEFAULT_KDF, ScryptParams
from ceremony.flows.generation import GenerationCeremony, KeySpec, Stage
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.store import Ledger
from ceremony.preflight import Coverage, Finding, PreflightReport, evidence_payload

# The steps as the room sees them in the step list (the flow's own steps, in the order of the screens).
GENERATION_STEP_TITLES: tuple[str, ...] = (
    "Preflight",
    "Administrator & witness",
    "Key details",
    "Split & custodians",
    "Generate, read KCV",
    "Distribute shares",
    "Verification round",
    "Wipe & close-out",
)
STEP_PREFLIGHT, STEP_AUTH, STEP_KEY, STEP_SPLIT = 0, 1, 2, 3
STEP_GENERATE, STEP_DISTRIBUTE, STEP_VERIFY, STEP_CLOSE = 4, 5, 6, 7

PreflightRunner = Callable[[datetime], PreflightReport]


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
    names: dict[str, str] = field(default_factory=dict)  # person id -> name, for the screens
    # Where share cards go: $CEREMONY_PRINTER ('lp', 'lp:NAME', a /dev/ printer device, 'ram[:FOLDER]').
    printer: str = field(default_factory=lambda: os.environ.get("CEREMONY_PRINTER", "ram"))

    @property
    def rehearsal(self) -> bool:
        return self.ledger.info.rehearsal

    def name_of(self, person_id: str) -> str:
        return self.names.get(person_id, person_id)

    def cancel(self, step: str) -> None:
        """Ctrl+C: the flow voids the ceremony (wiping what it holds) and records why."""
        ceremony = self.ceremony
        if ceremony is not None and ceremony.stage not in (Stage.CLOSED, Stage.VOIDED):
            ceremony.void(f"cancelled at {step}")
        self.release()

    def release(self) -> None:
        """Lock every identity that was unlocked for this ceremony."""
        people: list[PresentPerson] = list(self.custodians.values())
        if self.ceremony is not None:
            for person in (self.ceremony.administrator, self.ceremony.witness):
                if isinstance(person, PresentPerson):
                    people.append(person)
        for person in people:
            person.leave()
        self.custodians.clear()


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
