"""A whole key path in one script, on one rehearsal ledger (PCI DSS 3.7.5): ``[ceremony] kind = "sequence"``.

Several scripts — generation, departure, recovery, re-share, retirement — played in order, each
``[[stages]]`` entry written as its own script (its [ceremony] settings at the top of the stage, its sections
as sub-tables), sharing the participants. A generation stage's ``name`` is the key's name for later stages
(``key = "NAME"``: whose cards are presented, the latest re-share's cards once re-shared; ``replaces =
"NAME"``; ``replaced_by = "NAME"``), and each stage's ``flags`` says where each named key must stand
afterwards, checked against the ledger: "none", "must be replaced", "must still be replaced" (re-shared after
the flag: the same key), "replacement generated", "cleared" (retired naming its replacement), "retired, not
replaced".
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceremony.flows import paperwork
from ceremony.flows.common import read_register
from ceremony.flows.rehearsal.departure import run_departure
from ceremony.flows.rehearsal.expect import outcome_matches
from ceremony.flows.rehearsal.generation import run_rehearsal
from ceremony.flows.rehearsal.lifecycle import run_lifecycle
from ceremony.flows.rehearsal.report import (
    departure_report,
    lifecycle_report,
    prepare_out_dir,
    sequence_report,
    write_manifest,
)
from ceremony.flows.rehearsal.script import (
    DepartureScript,
    RehearsalScript,
    SequenceScript,
    SequenceStage,
)
from ceremony.ledger.store import Ledger


@dataclass(frozen=True)
class FlagCheck:
    """Where a named key stands after a stage (PCI DSS 3.7.5), read from the ledger, against the script."""

    name: str
    key_id: str
    expected: str
    actual: str
    text: str

    @property
    def as_expected(self) -> bool:
        return self.expected == self.actual


@dataclass(frozen=True)
class StageOutcome:
    index: int
    kind: str
    name: str
    outcome: str
    expected: str
    ceremony_id: str
    key_id: str
    out_dir: Path
    flags: tuple[FlagCheck, ...]
    details: str  # the stage's own report (lifecycle report, departure report, generation summary)
    steps_as_expected: bool = True

    @property
    def as_expected(self) -> bool:
        return (
            outcome_matches(self.outcome, self.expected)
            and self.steps_as_expected
            and all(f.as_expected for f in self.flags)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.index,
            "kind": self.kind,
            "name": self.name,
            "outcome": self.outcome,
            "expected": self.expected,
            "ceremony_id": self.ceremony_id,
            "key_id": self.key_id,
            "folder": self.out_dir.name,
            "flags": [
                {
                    "key": f.name,
                    "key_id": f.key_id,
                    "expected": f.expected,
                    "actual": f.actual,
                    "text": f.text,
                }
                for f in self.flags
            ],
            "as_expected": self.as_expected,
        }


@dataclass(frozen=True)
class SequenceResult:
    ledger_id: str
    stages: tuple[StageOutcome, ...]
    planned: int  # stages in the script (a stage that went otherwise than expected stops the run)
    keys: dict[str, str]  # key name -> key id
    closing_checkpoint: str
    out_dir: Path
    seconds: float
    kind: str = "sequence"

    @property
    def as_expected(self) -> bool:
        return len(self.stages) == self.planned and all(s.as_expected for s in self.stages)


def _flag_checks(ledger_path: Path, stage: SequenceStage, keys: Mapping[str, str]) -> tuple[FlagCheck, ...]:
    from ceremony.reports.model import replacement_state

    if not stage.flags:
        return ()
    with Ledger.open(ledger_path, read_only=True) as ledger:
        history, register = ledger.custody(), read_register(ledger.events())
        checks = []
        for name, expected in stage.flags:
            standing = replacement_state(history, register, keys[name])
            checks.append(FlagCheck(name, keys[name], expected, standing.state, standing.text))
    return tuple(checks)


def run_sequence(
    script: SequenceScript, ledger_path: Path, out_dir: Path, *, base: Path | None = None
) -> SequenceResult:
    """Play every stage in order on the rehearsal ledger ``ledger_path`` (created by a first generation
    stage if absent), each into its own folder ``out_dir/NN-KIND[-NAME]``; after each stage the named keys'
    flags are read from the ledger and checked against the stage's ``flags``. A stage whose outcome differs
    from what the script expected stops the run (later stages depend on it). Writes ``report.txt`` and
    ``manifest.json`` into ``out_dir``."""
    started = time.perf_counter()
    base = Path.cwd() if base is None else Path(base)
    out_dir, ledger_path = Path(out_dir), Path(ledger_path)
    prepare_out_dir(out_dir)
    keys: dict[str, str] = {}  # key name -> key id
    cards: dict[str, Path] = {}  # key name -> the folder holding its current share cards
    outcomes: list[StageOutcome] = []
    for stage in script.stages:
        folder = out_dir / (f"{stage.index:02d}-{stage.kind}" + (f"-{stage.name}" if stage.name else ""))
        if isinstance(stage.script, RehearsalScript):
            made = run_rehearsal(stage.script, ledger_path, folder, base=base, refs=keys)
            keys[stage.name], cards[stage.name] = made.key_id, folder
            summary = f"TEST key {made.key_id}: KCV {made.kcv}, split {made.split_id}"
            replaces = stage.script.replaces
            if replaces:
                summary += f"; replaces key {keys[replaces]} ({replaces})"
            done = StageOutcome(
                stage.index,
                stage.kind,
                stage.name,
                "completed",
                "completed",
                made.ceremony_id,
                made.key_id,
                folder,
                _flag_checks(ledger_path, stage, keys),
                summary + "\n",
            )
        elif isinstance(stage.script, DepartureScript):
            left = run_departure(stage.script, ledger_path, folder)
            done = StageOutcome(
                stage.index,
                stage.kind,
                "",
                left.outcome,
                left.expected_outcome,
                "",
                "",
                folder,
                _flag_checks(ledger_path, stage, keys),
                departure_report(left),
            )
        else:
            life = run_lifecycle(
                stage.script, ledger_path, folder, shares_from=cards[stage.key], base=base, refs=keys
            )
            if stage.kind == "reshare" and life.outcome == "completed":
                cards[stage.key] = folder  # the new cards are the ones presented from now on
            done = StageOutcome(
                stage.index,
                stage.kind,
                stage.key,
                life.outcome,
                life.expected_outcome,
                life.ceremony_id,
                life.key_id,
                folder,
                _flag_checks(ledger_path, stage, keys),
                lifecycle_report(life),
                all(s.as_expected for s in life.steps),
            )
        outcomes.append(done)
        if not outcome_matches(done.outcome, done.expected):
            break
    with Ledger.open(ledger_path, read_only=True) as ledger:
        closing, ledger_id = paperwork.closing_checkpoint(ledger), ledger.ledger_id
    result = SequenceResult(
        ledger_id,
        tuple(outcomes),
        len(script.stages),
        dict(keys),
        closing,
        out_dir,
        time.perf_counter() - started,
    )
    (out_dir / "report.txt").write_text(sequence_report(result), encoding="utf-8")
    manifest = {
        "rehearsal": True,
        "kind": "sequence",
        "purpose": script.purpose,
        "ledger_id": ledger_id,
        "keys": result.keys,
        "stages": [s.as_dict() for s in outcomes],
        "as_expected": result.as_expected,
        "closing_checkpoint": closing,
    }
    write_manifest(out_dir, manifest)
    return result
