"""The custodians report (PCI DSS 3.7.8, 3.7.6): per person, their roles, every component they ever held or
saw, their acknowledgement and reaffirmation history, and their status (active or deactivated; reaffirmation
current, due within 30 days, or overdue at the report's date).

``--key`` keeps the people who ever knew that key; ``--person`` one person; ``--from``/``--to`` limit the
history lines (components first known, acknowledgements, reaffirmations) to that period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceremony.crypto.fingerprint import printed
from ceremony.policy.reaffirmation import DEFAULT_POLICY, ReaffirmationPolicy, Standing, standing
from ceremony.reports.model import (
    Filters,
    LedgerFacts,
    Report,
    Section,
    Table,
    iso,
    make_report,
    show_date,
)

KIND = "custodians"
TITLE = "Key custodians: components held, acknowledgements, reaffirmations"
BASIS = "PCI DSS 4.0.1 Req. 3.7.8 (acknowledgement, annual reaffirmation), 3.7.6 (split knowledge)"
CSV_COLUMNS = (
    "person_id",
    "name",
    "employee_id",
    "roles",
    "status",
    "reaffirmation_status",
    "reaffirmation_due",
    "item",
    "key_id",
    "split_id",
    "share_number",
    "held_now",
    "envelope_serial",
    "date",
    "seq",
    "officer_id",
    "document_sha256",
)


def reaffirmation_text(reaff: Standing, due: datetime | None) -> str:
    """One clear phrase for a custodian's reaffirmation standing (PCI DSS 3.7.8)."""
    if reaff is Standing.OVERDUE:
        return f"OVERDUE since {show_date(due)} (PCI DSS 3.7.8: reaffirm before any share is assigned)"
    if reaff is Standing.DUE:
        return f"due soon: by {show_date(due)}"
    if reaff is Standing.CURRENT:
        return f"current until {show_date(due)}"
    return "never acknowledged (no share received yet)"


def fingerprint_line(facts: LedgerFacts, person_id: str) -> str:
    """``Certificate fingerprint (SHA-256) of NAME (EMPLOYEE_ID): XXXX XXXX ...``, grouped as people read it
    back (``verify --bundle --officer-cert-sha256`` takes it as printed)."""
    person = facts.register.people[person_id]
    return (
        f"Certificate fingerprint (SHA-256) of {person.name} ({person.employee_id}): "
        f"{printed(person.cert_sha256)}"
    )


def _summary(facts: LedgerFacts, as_of: datetime, policy: ReaffirmationPolicy) -> Section:
    """Page 1: who is overdue and who is due soon for reaffirmation, and the security officers'
    certificate fingerprints (an auditor pins an exported bundle with one)."""
    overdue: list[str] = []
    due_soon: list[str] = []
    never: list[str] = []
    for person in sorted(facts.people.values(), key=lambda p: p.name):
        if "custodian" not in person.roles or not person.active:
            continue
        last = person.last_affirmed
        reaff, due = standing(last.time if last else None, as_of, policy)
        who = f"{person.name} ({person.employee_id})"
        if reaff is Standing.OVERDUE:
            overdue.append(f"{who}, since {show_date(due)}")
        elif reaff is Standing.DUE:
            due_soon.append(f"{who}, by {show_date(due)}")
        elif reaff is Standing.NONE:
            never.append(who)
    fields = [
        (f"Overdue ({len(overdue)})", "; ".join(overdue) or "nobody"),
        (f"Due within {policy.warning_days} days ({len(due_soon)})", "; ".join(due_soon) or "nobody"),
    ]
    if never:
        fields.append((f"Never acknowledged ({len(never)})", "; ".join(never)))
    officers = [
        fingerprint_line(facts, p.person_id)
        for p in facts.people.values()
        if "security_officer" in p.roles and p.active and p.person_id in facts.register.people
    ]
    if officers:
        # The whole sentence as the minutes print it: an auditor types the groups back as printed.
        fields.append(("Security officers", "\n".join(officers)))
    return Section(heading=f"Reaffirmations at {show_date(as_of)}", fields=tuple(fields))


def build(
    facts: LedgerFacts, filters: Filters, as_of: datetime, policy: ReaffirmationPolicy = DEFAULT_POLICY
) -> Report:
    sections: list[Section] = []
    records: list[dict[str, Any]] = []
    rows: list[tuple[str, ...]] = []
    key_people = facts.custody.people_who_knew(filters.key_id) if filters.key_id else None
    for person in facts.people.values():
        if filters.person_id and person.person_id != filters.person_id:
            continue
        if key_people is not None and person.person_id not in key_people:
            continue
        last = person.last_affirmed
        if "custodian" in person.roles and person.active:
            reaff, due = standing(last.time if last else None, as_of, policy)
            reaff_text = reaffirmation_text(reaff, due)
        else:
            reaff, due = None, None
            reaff_text = (
                "not applicable (" + ("deactivated" if not person.active else "not a custodian") + ")"
            )
        status = (
            "active"
            if person.active
            else f"deactivated {show_date(person.deactivated_at)} (event #{person.deactivated_seq}): "
            f"{person.deactivation_reason}"
        )
        base = (
            person.person_id,
            person.name,
            person.employee_id,
            " ".join(person.roles),
            "active" if person.active else "deactivated",
            reaff.value if reaff else "",
            show_date(due),
        )
        # Components: every share this person ever knew, with what happened to it.
        components: list[dict[str, Any]] = []
        comp_rows: list[tuple[str, ...]] = []
        for split in facts.splits.values():
            if filters.key_id and split.key_id != filters.key_id:
                continue
            first = facts.custody.first_exposures(split.split_id).get(person.person_id, {})
            holders = {n: who for n, (who, _) in split.holders.items()}
            for number, seq in sorted(first.items()):
                when = facts.exposure_times.get(seq)
                if not filters.in_range(when):
                    continue
                key = facts.keys.get(split.key_id)
                held = holders.get(number) == person.person_id and split.retired_seq is None
                serial = next(
                    (
                        e.serial
                        for e in reversed(split.envelopes)
                        if e.share_number == number and e.person_id == person.person_id
                    ),
                    "",
                )
                label = key.label if key else split.key_id
                comp_rows.append(
                    (
                        label,
                        f"{split.split_id} ({split.scheme_text})",
                        str(number),
                        f"{show_date(when)} (#{seq})",
                        "yes" if held else ("split retired" if split.retired_seq is not None else "no"),
                        serial or "-",
                    )
                )
                components.append(
                    {
                        "key_id": split.key_id,
                        "split_id": split.split_id,
                        "share_number": number,
                        "first_known_seq": seq,
                        "held_now": held,
                        "envelope_serial": serial or None,
                    }
                )
                rows.append(
                    (
                        *base,
                        "component",
                        split.key_id,
                        split.split_id,
                        str(number),
                        "yes" if held else "no",
                        serial,
                        iso(when),
                        str(seq),
                        "",
                        "",
                    )
                )
        history_rows: list[tuple[str, ...]] = []
        history: list[dict[str, Any]] = []
        for aff in person.affirmations:
            if not filters.in_range(aff.time):
                continue
            officer = facts.name_of(aff.officer_id) if aff.officer_id else "-"
            history_rows.append(
                (show_date(aff.time), aff.kind, officer, (aff.document_sha256 or "-")[:16], f"#{aff.seq}")
            )
            history.append(
                {
                    "kind": aff.kind,
                    "time": iso(aff.time),
                    "seq": aff.seq,
                    "officer_id": aff.officer_id or None,
                    "document_sha256": aff.document_sha256 or None,
                    "wording_sha256": aff.wording_sha256 or None,
                }
            )
            rows.append(
                (
                    *base,
                    aff.kind,
                    "",
                    "",
                    "",
                    "",
                    "",
                    iso(aff.time),
                    str(aff.seq),
                    aff.officer_id,
                    aff.document_sha256,
                )
            )
        if not components and not history:
            rows.append((*base, "", "", "", "", "", "", "", "", "", ""))
        tables = [
            table
            for table in (
                Table(
                    ("Key", "Split", "Share", "First known", "Held now", "Envelope"),
                    tuple(comp_rows),
                    (2.2, 2.6, 0.6, 1.6, 1.1, 1.4),
                    title="Components ever known",
                ),
                Table(
                    ("Date", "Kind", "Security officer", "Document SHA-256", "Event"),
                    tuple(history_rows),
                    (1.2, 1.6, 2.2, 2.0, 0.8),
                    title="Acknowledgements and reaffirmations",
                ),
            )
            if table.rows
        ]
        fields = [
            ("Person id", person.person_id),
            ("Roles", ", ".join(person.roles)),
            ("Enrolled", f"{show_date(person.enrolled_at)} (event #{person.enrolled_seq})"),
            ("Status", status),
            ("Reaffirmation", reaff_text),
        ]
        if "security_officer" in person.roles and person.person_id in facts.register.people:
            cert = facts.register.people[person.person_id].cert_sha256
            fields.append(("Certificate fingerprint (SHA-256)", printed(cert)))
        sections.append(
            Section(
                heading=f"{person.name} ({person.employee_id})",
                fields=tuple(fields),
                tables=tuple(tables),
                notes=() if tables else ("Never knew a share or component; no acknowledgement recorded.",),
            )
        )
        records.append(
            {
                "person_id": person.person_id,
                "name": person.name,
                "employee_id": person.employee_id,
                "roles": list(person.roles),
                "active": person.active,
                "enrolled_seq": person.enrolled_seq,
                "deactivated_seq": person.deactivated_seq,
                "deactivation_reason": person.deactivation_reason or None,
                "reaffirmation": {"status": reaff.value if reaff else None, "due": show_date(due) or None},
                "components": components,
                "affirmations": history,
            }
        )
    if sections and not filters.person_id:
        sections.insert(0, _summary(facts, as_of, policy))
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
