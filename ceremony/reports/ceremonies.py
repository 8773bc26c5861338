"""The ceremonies report (DESIGN §4.7): each ceremony's minutes from the ledger — purpose, participants and
their roles, every step with its time and who signed it, each with their role in the ceremony (the flows
record the people acting on a step as its signers: one column, not the same names twice), the preflight
result and the exceptions relied on, and the outcome (closed, voided, unfinished).

Events are grouped by their ``ceremony_id``. ``--key`` keeps ceremonies that touched the key; ``--person``
those the person took part in; ``--from``/``--to`` those started in the period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceremony.ledger import schema as sc
from ceremony.ledger.checkpoint import Checkpoint, CheckpointFormatError
from ceremony.ledger.register import PreflightEvidence, person_id_of
from ceremony.reports.model import (
    CeremonyFacts,
    Filters,
    LedgerFacts,
    Report,
    Section,
    Step,
    Table,
    iso,
    make_report,
    show_time,
)

KIND = "ceremonies"
TITLE = "Ceremonies: minutes from the ledger"
BASIS = "PCI DSS 4.0.1 Req. 3.6.1.2, 3.7.6 (dual control, split knowledge); 1.2.6 (exceptions relied on)"
CSV_COLUMNS = (
    "ceremony_id",
    "kind",
    "purpose",
    "outcome",
    "seq",
    "time",
    "step",
    "description",
    "performed_by",
    "approved_by",
)


_EXPOSURE = {
    "shown": "shown to",
    "entered": "entered by",
    "assigned": "assigned to",
    "handed": "handed to",
    "printed": "printed for",
    "returned": "returned by",
}


def _share(number: int, split_id: str) -> str:
    return f"share {number} of split {split_id}"


def describe(facts: LedgerFacts, step: Step) -> str:
    """One line, in the participants' words, of what the event recorded (never key material)."""
    name = facts.name_of
    record = step.record
    who = name(person_id_of(record) or "")
    match record:
        case sc.CeremonyStarted() as r:
            return f"Ceremony started ({r.kind}): {r.purpose}"
        case sc.PreflightRun() as r:
            return "Preflight: " + _preflight_text(PreflightEvidence.of(r))
        case sc.CeremonyPlanned() as r:
            names = ", ".join(name(c) for c in r.custodians)
            return (
                f"Planned {r.key_type} key '{r.label}', {r.scheme} "
                f"{r.threshold}-of-{r.shares}; custodians {names}"
            )
        case sc.KeyRegistered() as r:
            text = f"Key generated and registered, KCV {r.kcv_hex.upper()} ({r.kcv_method})"
            return text + (f"; replaces key {r.replaces_key_id}" if r.replaces_key_id else "")
        case sc.KeyRetired() as r:
            text = f"Key {r.key_id} ('{r.label}') retired: {r.reason}"
            return text + (f"; replaced by key {r.replaced_by_key_id}" if r.replaced_by_key_id else "")
        case sc.SplitCreated() as r:
            return f"Split {r.split_id} created ({r.scheme} {r.threshold}-of-{r.shares})"
        case sc.SplitRetired() as r:
            return f"Split {r.split_id} retired: {r.reason}"
        case sc.ShareExposed() as r:
            text = _share(r.share_number, r.split_id)
            phrase = _EXPOSURE.get(r.kind, f"{r.kind} -")
            return f"{text[:1].upper()}{text[1:]} {phrase} {who}"
        case sc.EnvelopeInspected() as r:
            serial = "serial matches" if r.serial_matches else "SERIAL MISMATCH"
            intact = r.seal_intact_custodian and r.seal_intact_witness
            return f"{who} presented envelope {r.serial_read}: {serial}, " + (
                "seal intact" if intact else "SEAL BROKEN"
            )
        case sc.KeyRecovered() as r:
            shares = list(r.shares)
            return f"Key rebuilt from shares {shares}, KCV {r.kcv_hex.upper()} matches the registered KCV"
        case sc.KeyWrapped() as r:
            kek = r.kek_kcv_hex.upper()
            return f"Key wrapped ({r.algorithm}) under KEK '{r.kek_label}', KEK KCV {kek}"
        case sc.KeyQuorumLowered() as r:
            signed = ", ".join(name(p) for p in step.signers)
            return f"QUORUM LOWERED to {r.quorum} people for key {r.key_id}: {r.reason} (signed by {signed})"
        case sc.ShareReceived() as r:
            share = _share(r.share_number, r.split_id)
            return f"{who} signed receipt of {share}, envelope {r.envelope_serial}"
        case sc.ShareVerified() as r:
            ok = "matches" if r.ok else f"DOES NOT match ({r.reason or ''})"
            return f"Verification round: {who} re-entered {_share(r.share_number, r.split_id)}: {ok}"
        case sc.KeyWiped():
            return "Clear key wiped from memory"
        case sc.CeremonyClosed() as r:
            return f"Ceremony closed: {r.outcome}"
        case sc.CeremonyVoided() as r:
            return f"Ceremony VOIDED: {r.reason}"
        case sc.AuthFailed() as r:
            return f"Wrong passphrase for {who} (attempt {r.attempt})"
        case sc.DocumentIssued() as r:
            return f"Document issued: {r.kind} for {name(r.subject)}"
    readable = step.type.replace(".", " ").replace("_", " ")
    return readable[:1].upper() + readable[1:]


def closing_checkpoint_text(ceremony: CeremonyFacts) -> str:
    """The ceremony's closing checkpoint as printed in its minutes and shown at its close-out (issue 14):
    the one its ``ceremony.closed`` event records, its hashes in groups of eight; "" when none is recorded
    (voided or unfinished: its minutes print the ledger as it stood just before the void)."""
    for step in reversed(ceremony.steps):
        if isinstance(step.record, sc.CeremonyClosed) and step.record.checkpoint:
            try:
                return " ".join(Checkpoint.parse(step.record.checkpoint).grouped())
            except CheckpointFormatError:
                return step.record.checkpoint
    return ""


def _preflight_text(evidence: PreflightEvidence) -> str:
    parts = ["BLOCKED" if evidence.blocked else "cleared"]
    if evidence.counts is not None:
        parts.append(", ".join(f"{n} {verdict}" for verdict, n in evidence.counts))
    if evidence.relied_on:
        parts.append("exceptions relied on: " + ", ".join(e.exception_id for e in evidence.relied_on))
    if evidence.uncovered:
        parts.append("uncovered: " + "; ".join(evidence.uncovered))
    return "; ".join(parts)


def roles_in(facts: LedgerFacts, ceremony: CeremonyFacts) -> dict[str, str]:
    """Person -> role in this ceremony: the start event is signed by the administrator and the witness
    (in that order of actors, as the flows record it); custodians are the people shares went to."""
    roles: dict[str, str] = {}
    start = next((s for s in ceremony.steps if s.type == "ceremony.started"), None)
    if start is not None:
        for person, role in zip(start.actors, ("administrator", "witness"), strict=False):
            roles[person] = role
    for step in ceremony.steps:
        holder = person_id_of(step.record)
        if step.type.startswith("share.") and holder is not None:
            roles.setdefault(holder, "custodian")
    for person in ceremony.participants:
        if person not in roles:
            enrolled = facts.people.get(person)
            roles[person] = ", ".join(enrolled.roles) if enrolled else "participant"
    return roles


def signed_by_text(facts: LedgerFacts, step: Step, roles: dict[str, str]) -> str:
    """Who signed the event, each with their role in the ceremony (the people it names first); anyone the
    event names who did not sign it is said so. One column: the flows record the people who act on a step
    as its signers, so "performed by" and "approved by" would name the same people twice."""
    order = [
        *(a for a in step.actors if a in step.signers),
        *(s for s in step.signers if s not in step.actors),
    ]
    signed = ", ".join(f"{facts.name_of(p)} ({roles.get(p, 'participant')})" for p in dict.fromkeys(order))
    unsigned = [a for a in dict.fromkeys(step.actors) if a not in step.signers]
    if unsigned:
        names = ", ".join(facts.name_of(p) for p in unsigned)
        signed = f"{signed}; concerns {names} (did not sign)" if signed else f"concerns {names} (unsigned)"
    return signed or "-"


def build(facts: LedgerFacts, filters: Filters, as_of: datetime) -> Report:
    sections: list[Section] = []
    records: list[dict[str, Any]] = []
    rows: list[tuple[str, ...]] = []
    for ceremony in facts.ceremonies.values():
        if filters.key_id and filters.key_id not in ceremony.key_ids():
            split_keys = {facts.splits[s].key_id for s in ceremony.split_ids() if s in facts.splits}
            if filters.key_id not in split_keys:
                continue
        if filters.person_id and filters.person_id not in ceremony.participants:
            continue
        if not filters.in_range(ceremony.started_at):
            continue
        roles = roles_in(facts, ceremony)
        preflight = [s.record for s in ceremony.steps if isinstance(s.record, sc.PreflightRun)]
        preflight_text = "; ".join(_preflight_text(PreflightEvidence.of(r)) for r in preflight) or "not run"
        step_rows: list[tuple[str, ...]] = []
        step_records: list[dict[str, Any]] = []
        for step in ceremony.steps:
            text = describe(facts, step)
            step_rows.append((show_time(step.time), text, signed_by_text(facts, step, roles), f"#{step.seq}"))
            step_records.append(
                {
                    "seq": step.seq,
                    "time": iso(step.time),
                    "type": step.type,
                    "description": text,
                    "actors": list(step.actors),
                    "signers": list(step.signers),
                }
            )
            rows.append(
                (
                    ceremony.ceremony_id,
                    ceremony.kind,
                    ceremony.purpose,
                    ceremony.outcome,
                    str(step.seq),
                    iso(step.time),
                    step.type,
                    text,
                    " ".join(step.actors),
                    " ".join(step.signers),
                )
            )
        outcome = ceremony.outcome + (f": {ceremony.outcome_reason}" if ceremony.outcome_reason else "")
        closing = closing_checkpoint_text(ceremony)
        participants = "; ".join(f"{facts.name_of(p)} ({r})" for p, r in roles.items())
        sections.append(
            Section(
                heading=f"{ceremony.kind or 'ceremony'} {ceremony.ceremony_id}"
                + (" (rehearsal)" if ceremony.rehearsal else ""),
                fields=(
                    ("Purpose", ceremony.purpose or "-"),
                    ("Started", show_time(ceremony.started_at)),
                    ("Ended", show_time(ceremony.ended_at) or "-"),
                    ("Outcome", outcome),
                    ("Participants", participants or "-"),
                    ("Preflight", preflight_text),
                    ("Closing checkpoint", closing or "-"),
                ),
                tables=(
                    Table(
                        ("Time (UTC)", "Step", "Signed by (role in this ceremony)", "Event"),
                        tuple(step_rows),
                        (1.3, 4.8, 3.4, 0.6),
                    ),
                ),
            )
        )
        records.append(
            {
                "ceremony_id": ceremony.ceremony_id,
                "kind": ceremony.kind,
                "purpose": ceremony.purpose,
                "rehearsal": ceremony.rehearsal,
                "started": iso(ceremony.started_at),
                "ended": iso(ceremony.ended_at) or None,
                "outcome": ceremony.outcome,
                "outcome_reason": ceremony.outcome_reason or None,
                "participants": [{"person_id": p, "role": r} for p, r in roles.items()],
                "preflight": preflight_text,
                "closing_checkpoint": closing or None,
                "steps": step_records,
            }
        )
    return make_report(
        facts,
        filters,
        as_of,
        kind=KIND,
        title=TITLE,
        basis=BASIS,
        sections=sections,
        records=records,
        csv_columns=CSV_COLUMNS,
        csv_rows=rows,
    )
