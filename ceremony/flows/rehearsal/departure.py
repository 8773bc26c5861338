"""A custodian's departure rehearsed (PCI DSS 3.7.5): ``[ceremony] kind = "departure"`` — a security officer
and a witness record that a person left custody (:func:`ceremony.flows.departure.record_departure`); every
key they ever knew is flagged "must be replaced"."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ceremony.errors import DualControlError, IdentityError, InputError
from ceremony.flows import paperwork
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.rehearsal.expect import outcome_matches, reason_of
from ceremony.flows.rehearsal.report import departure_report, prepare_out_dir, write_manifest
from ceremony.flows.rehearsal.room import authenticate, enroll, open_rehearsal_ledger
from ceremony.flows.rehearsal.script import DepartureScript


@dataclass(frozen=True)
class DepartureResult:
    person_id: str
    employee_id: str
    name: str
    seq: int | None  # the participant.deactivated event (None when refused)
    keys: tuple[str, ...]  # every key they ever knew, now flagged "must be replaced"
    outcome: str  # "completed" | "refused: REASON"
    expected_outcome: str
    message: str
    out_dir: Path
    kind: str = "departure"

    @property
    def as_expected(self) -> bool:
        return outcome_matches(self.outcome, self.expected_outcome)


def run_departure(script: DepartureScript, ledger_path: Path, out_dir: Path) -> DepartureResult:
    """Record that ``script.leaving`` left custody, on the rehearsal ledger ``ledger_path`` (which must
    exist: the person was enrolled there); writes ``report.txt`` and ``manifest.json`` into ``out_dir``."""
    from ceremony.flows.departure import record_departure

    ledger_path = Path(ledger_path)
    if not ledger_path.exists():
        raise InputError(
            f"{ledger_path} does not exist: give the rehearsal ledger the person was enrolled on"
        )
    ledger = open_rehearsal_ledger(ledger_path)
    try:
        prepare_out_dir(Path(out_dir))
        ids = enroll(ledger, script)
        presence = Presence(ledger)
        who = script.person(script.leaving)
        seq: int | None = None
        keys: tuple[str, ...] = ()
        present: list[PresentPerson] = []
        try:
            officer = authenticate(presence, script, ids, script.security_officer, "security_officer")
            present.append(officer)
            witness = authenticate(presence, script, ids, script.witness, "witness")
            present.append(witness)
            departure = record_departure(ledger, ids[script.leaving], script.reason, officer, witness)
            seq, keys, outcome, message = departure.seq, departure.keys, "completed", ""
        except (DualControlError, IdentityError, InputError) as exc:
            reason = reason_of(exc, at_start=True)
            outcome, message = f"refused: {reason}", str(exc)
        finally:
            for person in present:
                person.leave()
        result = DepartureResult(
            ids.get(script.leaving, ""),
            who.employee_id,
            who.name,
            seq,
            keys,
            outcome,
            script.expect,
            message,
            Path(out_dir),
        )
        (Path(out_dir) / "report.txt").write_text(departure_report(result), encoding="utf-8")
        manifest = {
            "rehearsal": True,
            "kind": "departure",
            "ledger_id": ledger.ledger_id,
            "person_id": result.person_id,
            "employee_id": result.employee_id,
            "deactivated_seq": seq,
            "flagged_keys": list(keys),
            "outcome": outcome,
            "expected_outcome": script.expect,
            "as_expected": result.as_expected,
            "closing_checkpoint": paperwork.closing_checkpoint(ledger),
        }
        write_manifest(Path(out_dir), manifest)
        return result
    finally:
        ledger.close()
