"""The custody report (PCI DSS 3.7.6, DESIGN §3): per key and split, who holds which share number now, who
ever knew which, the envelope serials, and the smallest coalition of people who could rebuild the key.

Knowledge is cumulative: a retired split still rebuilds the same key, and someone who left still knows
what they knew, so every split ever made is listed (``--from`` keeps splits still active on or after that
date; ``--to`` shows the ledger as it stood then). ``--person`` keeps the keys that person ever knew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceremony.reports.model import Filters, LedgerFacts, Report, Section, Table, iso, make_report, show_date

KIND = "custody"
TITLE = "Key custody: who holds and who ever knew each share"
BASIS = "PCI DSS 4.0.1 Req. 3.7.6 (split knowledge), 3.7.5 (replacement when a custodian leaves)"
CSV_COLUMNS = (
    "key_id",
    "key_label",
    "split_id",
    "scheme",
    "threshold",
    "shares",
    "split_status",
    "share_number",
    "person_id",
    "person_name",
    "held_now",
    "first_known_seq",
    "first_known_at",
    "envelope_serial",
    "coalition_size",
    "coalition_members",
)


def build(facts: LedgerFacts, filters: Filters, as_of: datetime) -> Report:
    sections: list[Section] = []
    records: list[dict[str, Any]] = []
    rows: list[tuple[str, ...]] = []
    flagged = facts.flagged_keys()
    for key_id in facts.custody.keys():
        key = facts.keys.get(key_id)
        if key is None or (filters.key_id and key_id != filters.key_id):
            continue
        if filters.person_id and filters.person_id not in facts.custody.people_who_knew(key_id):
            continue
        coalition = facts.custody.smallest_coalition(key_id)
        coalition_names = ", ".join(facts.name_of(p) for p in coalition.members)
        coalition_text = (
            f"{coalition.size} people: {coalition_names} (split {coalition.split_id})"
            if coalition.size is not None
            else "nobody: not enough shares were ever given out to rebuild it"
        )
        for split_id in key.split_ids:
            split = facts.splits[split_id]
            if (
                split.retired_at is not None
                and filters.since is not None
                and split.retired_at < filters.since
            ):
                continue
            status = (
                f"retired {show_date(split.retired_at)} (event #{split.retired_seq}): {split.retired_reason}"
                if split.retired_seq is not None
                else "active"
            )
            holders = {n: who for n, (who, _) in split.holders.items()}
            first = facts.custody.first_exposures(split_id)
            table_rows: list[tuple[str, ...]] = []
            share_records: list[dict[str, Any]] = []
            for number in range(1, split.shares + 1):
                knew = sorted(
                    ((person, seqs[number]) for person, seqs in first.items() if number in seqs),
                    key=lambda item: item[1],
                )
                holder = holders.get(number, "")
                serial = split.envelope_of(number)
                serials = [e.serial for e in split.envelopes if e.share_number == number]
                known_text = "; ".join(f"{facts.name_of(p)} (#{seq})" for p, seq in knew) or "-"
                holder_text = facts.name_of(holder) if holder else "-"
                if holder and holder in facts.people and not facts.people[holder].active:
                    holder_text += " (deactivated)"
                table_rows.append((str(number), holder_text, serial or "-", known_text))
                share_records.append(
                    {
                        "share_number": number,
                        "held_by": holder or None,
                        "envelope_serial": serial or None,
                        "envelopes": serials,
                        "known_by": [
                            {"person_id": p, "name": facts.name_of(p), "first_seq": seq} for p, seq in knew
                        ],
                    }
                )
                common = (
                    key_id,
                    key.label,
                    split_id,
                    split.scheme,
                    str(split.threshold),
                    str(split.shares),
                    "retired" if split.retired_seq is not None else "active",
                    str(number),
                )
                tail = (
                    str(coalition.size if coalition.size is not None else ""),
                    " ".join(coalition.members),
                )
                if not knew:
                    rows.append((*common, "", "", "no", "", "", serial, *tail))
                for person, seq in knew:
                    rows.append(
                        (
                            *common,
                            person,
                            facts.name_of(person),
                            "yes" if person == holder else "no",
                            str(seq),
                            iso(facts.exposure_times.get(seq)),
                            serial,
                            *tail,
                        )
                    )
            fields = [
                ("Key", f"{key.label} ({key.key_id}), {key.key_type}, KCV {key.kcv_hex.upper()}"),
                ("Split", f"{split.split_id}: {split.scheme_text}, created {show_date(split.created_at)}"),
                ("Status", status),
                ("Smallest coalition", coalition_text),
            ]
            if key_id in flagged:
                fields.append(
                    ("Flag", f"must be replaced: a custodian who knew it left (event #{flagged[key_id]})")
                )
            sections.append(
                Section(
                    heading=f"{key.label} - split {split.split_id}",
                    fields=tuple(fields),
                    tables=(
                        Table(
                            ("Share", "Held now by", "Envelope", "Ever known by (first event)"),
                            tuple(table_rows),
                            (0.7, 2.2, 1.6, 5.5),
                        ),
                    ),
                )
            )
            records.append(
                {
                    "key_id": key_id,
                    "key_label": key.label,
                    "split_id": split_id,
                    "scheme": split.scheme,
                    "threshold": split.threshold,
                    "shares": split.shares,
                    "status": "retired" if split.retired_seq is not None else "active",
                    "retired_seq": split.retired_seq,
                    "must_be_replaced": key_id in flagged,
                    "share_records": share_records,
                    "smallest_coalition": {
                        "size": coalition.size,
                        "members": list(coalition.members),
                        "split_id": coalition.split_id,
                    },
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
