"""The ceremonies report (DESIGN §4.7): each ceremony's minutes from the ledger — purpose, participants and
their roles, every step with its time, who performed it and who approved it (the people who signed the
event), the preflight result and the exceptions relied on, and the outcome (closed, voided, unfinished).

Events are grouped by their ``ceremony_id``. ``--key`` keeps ceremonies that touched the key; ``--person``
those the person took part in; ``--from``/``--to`` those started in the period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def _share(facts: LedgerFacts, p: dict[str, Any]) -> str:
    return f"share {p.get('share_number')} of split {p.get('split_id')}"


def describe(facts: LedgerFacts, step: Step) -> str:
    """One line, in the participants' words, of what the event recorded (never key material)."""
    p, t, name = step.payload, step.type, facts.name_of
    who = name(str(p.get("person_id", "")))
    if t == "ceremony.started":
        return f"Ceremony started ({p.get('kind', '')}): {p.get('purpose', '')}"
    if t == "preflight.run":
        return "Preflight: " + _preflight_text(p)
    if t == "ceremony.planned":
        custodians = p.get("custodians")
        names = ", ".join(name(str(c)) for c in custodians) if isinstance(custodians, list) else ""
        return (
            f"Planned {p.get('key_type', '')} key '{p.get('label', '')}', {p.get('scheme', '')} "
            f"{p.get('threshold', '')}-of-{p.get('shares', '')}; custodians {names}"
        )
    if t == "key.registered":
        kcv = str(p.get("kcv_hex", "")).upper()
        return f"Key generated and registered, KCV {kcv} ({p.get('kcv_method', '')})"
    if t == "split.created":
        return (
            f"Split {p.get('split_id')} created ({p.get('scheme')} {p.get('threshold')}-of-{p.get('shares')})"
        )
    if t == "split.retired":
        return f"Split {p.get('split_id')} retired: {p.get('reason', '')}"
    if t == "share.exposed":
        text = _share(facts, p)
        phrase = _EXPOSURE.get(str(p.get("kind")), f"{p.get('kind')} -")
        return f"{text[:1].upper()}{text[1:]} {phrase} {who}"
    if t == "envelope.inspected":
        serial = "serial matches" if p.get("serial_matches") else "SERIAL MISMATCH"
        intact = p.get("seal_intact_custodian") and p.get("seal_intact_witness")
        return f"{who} presented envelope {p.get('serial_read', '')}: {serial}, " + (
            "seal intact" if intact else "SEAL BROKEN"
        )
    if t == "key.recovered":
        kcv = str(p.get("kcv_hex", "")).upper()
        return f"Key rebuilt from shares {p.get('shares')}, KCV {kcv} matches the registered KCV"
    if t == "key.wrapped":
        kek = str(p.get("kek_kcv_hex", "")).upper()
        return f"Key wrapped ({p.get('algorithm', '')}) under KEK '{p.get('kek_label', '')}', KEK KCV {kek}"
    if t == "key.replacement_cleared":
        return f"Replacement flag cleared: {p.get('reason', '')}"
    if t == "share.received":
        return f"{who} signed receipt of {_share(facts, p)}, envelope {p.get('envelope_serial', '')}"
    if t == "share.verified":
        ok = "matches" if p.get("ok") else f"DOES NOT match ({p.get('reason', '')})"
        return f"Verification round: {who} re-entered {_share(facts, p)}: {ok}"
    if t == "key.wiped":
        return "Clear key wiped from memory"
    if t == "ceremony.closed":
        return f"Ceremony closed: {p.get('outcome', '')}"
    if t == "ceremony.voided":
        return f"Ceremony VOIDED: {p.get('reason', '')}"
    if t == "auth.failed":
        return f"Wrong passphrase for {who} (attempt {p.get('attempt')})"
    if t == "document.issued":
        return f"Document issued: {p.get('kind', '')} for {name(str(p.get('subject', '')))}"
    readable = t.replace(".", " ").replace("_", " ")
    return readable[:1].upper() + readable[1:]


def _preflight_text(p: dict[str, Any]) -> str:
    coverage = p.get("coverage") if isinstance(p.get("coverage"), dict) else {}
    assert isinstance(coverage, dict)
    blocked = bool(p.get("blocked", coverage.get("blocked", False)))
    parts = ["BLOCKED" if blocked else "cleared"]
    report = p.get("report")
    if isinstance(report, dict) and isinstance(report.get("counts"), dict):
        counts = report["counts"]
        parts.append(", ".join(f"{counts[k]} {k}" for k in sorted(counts)))
    relied = coverage.get("exceptions_relied_on")
    if isinstance(relied, list) and relied:
        ids = [str(r.get("id", "")) for r in relied if isinstance(r, dict)]
        parts.append("exceptions relied on: " + ", ".join(ids))
    uncovered = p.get("uncovered")
    if isinstance(uncovered, list) and uncovered:
        parts.append("uncovered: " + "; ".join(str(u) for u in uncovered))
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
        holder = step.payload.get("person_id")
        if step.type.startswith("share.") and isinstance(holder, str):
            roles.setdefault(holder, "custodian")
    for person in ceremony.participants:
        if person not in roles:
            enrolled = facts.people.get(person)
            roles[person] = ", ".join(enrolled.roles) if enrolled else "participant"
    return roles


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
        preflight = [s for s in ceremony.steps if s.type == "preflight.run"]
        preflight_text = "; ".join(_preflight_text(s.payload) for s in preflight) or "not run"
        step_rows: list[tuple[str, ...]] = []
        step_records: list[dict[str, Any]] = []
        for step in ceremony.steps:
            text = describe(facts, step)
            performed = ", ".join(facts.name_of(a) for a in step.actors)
            approved = ", ".join(facts.name_of(a) for a in step.signers)
            step_rows.append((show_time(step.time), text, performed or "-", approved or "-", f"#{step.seq}"))
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
                ),
                tables=(
                    Table(
                        ("Time (UTC)", "Step", "Performed by", "Approved by (signed)", "Event"),
                        tuple(step_rows),
                        (1.3, 4.6, 1.8, 2.0, 0.6),
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
