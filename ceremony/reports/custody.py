"""The custody report (PCI DSS 3.7.6, DESIGN §3): per key, its quorum (the fewest people who may rebuild it:
its first split's threshold, or a recorded ``key.quorum_lowered`` decision, each listed with when, the new
quorum, the reason and who signed) and the smallest coalition of people who could rebuild it over every
route — any split ever made, a wrapped file plus the components of the KEK it was wrapped under, or a TR-31
key block plus the components of its KBPK — loudly
flagged when it is below the quorum (the rule broken, e.g. by demonstrated knowledge); then per split, who
holds which share number now, who ever knew which, the envelope serials and what became of each envelope
(destroyed under dual control, returned with a broken seal, not returned, or still held).

Knowledge is cumulative: a retired split still rebuilds the same key while its envelopes exist, and someone
who left still knows what they knew, so every split ever made is listed, and the smallest coalition counts
every share not destroyed (DESIGN §4.6: only an envelope destroyed on record stops counting). ``--from``
keeps splits still active on or after that date; ``--to`` shows the ledger as it stood then; ``--person``
keeps the keys that person ever knew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceremony.policy.custody import Coalition, smallest_coalition_of_split
from ceremony.reports.model import (
    DESTROYED,
    NOT_RETURNED,
    RETURNED,
    SEAL_BROKEN,
    EnvelopeFate,
    Filters,
    KeyFacts,
    LedgerFacts,
    Report,
    Section,
    Table,
    count_of,
    iso,
    make_report,
    parse_time,
    show_date,
    show_time,
)

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
    "coalition_route",
    "quorum",
    "rule_broken",
    "envelope_status",
    "counted",
)


def route_text(facts: LedgerFacts, key: KeyFacts, coalition: Coalition) -> str:
    """How the coalition rebuilds the key, in words: a split, a wrapped file + the KEK's components, or a
    TR-31 key block + the KBPK's components."""
    if coalition.transport_id is not None:
        kind, _, rest = coalition.transport_id.partition(":")
        kcv = rest.rpartition(":")[2]
        name = "KBPK" if kind == "kbpk" else "KEK"
        what = "TR-31 key block" if kind == "kbpk" else "wrapped file"
        wraps = facts.register.keys[key.key_id].wraps if key.key_id in facts.register.keys else []
        labels = sorted(
            {w.kek_label for w in wraps if w.kind == kind and w.kek_kcv_hex.lower() == kcv.lower()}
        )
        which = f"'{labels[0]}', " if labels else ""
        return f"{what} + {name} components ({name} {which}KCV {kcv.upper()})"
    if coalition.split_id is not None:
        split = facts.splits.get(coalition.split_id)
        scheme = f" ({split.scheme_text})" if split is not None else ""
        return f"a split: {coalition.split_id}{scheme}"
    return "no route"


def envelope_status(facts: LedgerFacts, fate: EnvelopeFate | None, serial: str) -> str:
    """What became of a share's envelope, in words, with the event that recorded it."""
    if fate is None:
        return "sealed, held (counts)" if serial else "-"
    if fate.state == DESTROYED:
        who = " and ".join(facts.name_of(p) for p in fate.by)
        return f"DESTROYED {show_date(fate.time)} (#{fate.seq}) by {who}"
    if fate.state == SEAL_BROKEN:
        return f"returned, SEAL BROKEN {show_date(fate.time)}: incident (#{fate.seq}); still counts"
    if fate.state == NOT_RETURNED:
        return f"NOT RETURNED: incident (#{fate.seq}); still held, counts"
    assert fate.state == RETURNED
    return f"returned {show_date(fate.time)} (#{fate.seq}), destruction not recorded: still counts"


def counted_text(facts: LedgerFacts, key: KeyFacts) -> str:
    """How many of the key's shares (over every split) still count towards its smallest coalition."""
    issued = destroyed = retired_live = 0
    for split_id in key.split_ids:
        split = facts.splits[split_id]
        gone = {n for n, fate in split.envelope_fates.items() if fate.destroyed}
        issued += split.shares
        destroyed += len(gone)
        if split.retired_seq is not None:
            retired_live += split.shares - len(gone)
    text = f"{issued - destroyed} of {issued} shares over {count_of(len(key.split_ids), 'split')}"
    text += f" ({destroyed} destroyed on record)" if destroyed else " (none destroyed on record)"
    if retired_live:
        text += f"; {retired_live} of them belong to retired splits and still count until destroyed"
    return text


def quorum_text(facts: LedgerFacts, key: KeyFacts) -> str:
    history = facts.custody
    quorum = history.quorum(key.key_id)
    if quorum is None:
        return "-"
    lowered = history.quorum_lowerings(key.key_id)
    if lowered:
        last = lowered[-1]
        return f"{count_of(quorum, 'person', 'people')} (lowered from {last.previous} at event #{last.seq})"
    first = facts.splits.get(key.split_ids[0]) if key.split_ids else None
    origin = f" (set by its first split, event #{first.created_seq})" if first is not None else ""
    return f"{count_of(quorum, 'person', 'people')}{origin}"


COALITION_DEFINED = (
    "Smallest coalition: the fewest people who, pooling every share or component they hold or ever saw "
    "of one split or route (only envelopes destroyed on record no longer count), could rebuild the key; "
    "it must never be smaller than the key's quorum (PCI DSS 3.7.6)."
)


def person_text(facts: LedgerFacts, person_id: str) -> str:
    """A person's name, marked "(deactivated)" once they left (PCI DSS 3.7.5: what they knew still counts)."""
    person = facts.people.get(person_id)
    if person is not None and not person.active:
        return f"{person.name} (deactivated)"
    return facts.name_of(person_id)


def _split_groups(facts: LedgerFacts, split_id: str, size: int) -> str | None:
    """Who could rebuild the key from this split with ``size`` people, in words, when that split's smallest
    coalition has ``size`` people; None otherwise. When each knower knows one share and no share is known
    to two of them (the usual case), any ``size`` of them will do: "any 2 of these 3: ..."."""
    split = facts.splits.get(split_id)
    if split is None:
        return None
    destroyed = set(facts.custody.destroyed(split_id))
    counted = {
        person: live
        for person, numbers in facts.custody.first_exposures(split_id).items()
        if (live := set(numbers) - destroyed)
    }
    members = smallest_coalition_of_split(counted, split.threshold)
    if members is None or len(members) != size:
        return None
    numbers = [n for live in counted.values() for n in live]
    names = ", ".join(person_text(facts, p) for p in sorted(counted, key=facts.name_of))
    if all(len(live) == 1 for live in counted.values()) and len(set(numbers)) == len(numbers):
        if len(counted) == size:
            return f"all {size}: {names}"
        return f"any {size} of these {len(counted)}: {names}"
    return "for example " + ", ".join(person_text(facts, p) for p in members)


def coalition_text(facts: LedgerFacts, key: KeyFacts, coalition: Coalition) -> str:
    """The key's smallest coalition in words: its size, every route that reaches it, and for each who could
    form it — every equally small group, not one picked arbitrarily — departed people marked."""
    if coalition.size is None:
        return "nobody: no route has enough shares or components given out and not destroyed to rebuild it"
    size = coalition.size
    routes: list[str] = []
    for split_id in key.split_ids:
        groups = _split_groups(facts, split_id, size)
        if groups is not None:
            split = facts.splits[split_id]
            retired = ", retired" if split.retired_seq is not None else ""
            routes.append(f"split {split_id} ({split.scheme_text}{retired}): {groups}")
    # Transport keys (KEK/KBPK) the key was wrapped under: the people who typed one componentisation's
    # components (the engine's coalition for the route it picked is used as it is).
    info = facts.register.keys.get(key.key_id)
    chosen_kcv = (coalition.transport_id or "").rpartition(":")[2].lower()
    seen: set[tuple[str, str]] = set()
    for wrap in info.wraps if info is not None else ():
        typists = list(dict.fromkeys(wrap.kek_custodians))
        kcv = wrap.kek_kcv_hex.lower()
        if (wrap.kind, kcv) in seen or kcv == chosen_kcv or len(typists) != size:
            continue
        seen.add((wrap.kind, kcv))
        names = ", ".join(person_text(facts, p) for p in sorted(typists, key=facts.name_of))
        name = wrap.transport_name
        routes.append(
            f"{wrap.route_name} ({name} '{wrap.kek_label}', KCV {kcv.upper()}): all {size}: {names}"
        )
    if coalition.transport_id is not None or not routes:
        names = ", ".join(person_text(facts, p) for p in coalition.members)
        routes.append(f"{route_text(facts, key, coalition)}: {names}")
    head = count_of(size, "person", "people")
    if len(routes) == 1:
        return f"{head}, by {routes[0]}"
    return f"{head}, by any of {len(routes)} routes - " + "; ".join(routes)


def _key_section(facts: LedgerFacts, key: KeyFacts, coalition: Coalition) -> tuple[Section, dict[str, Any]]:
    """The key's quorum, its smallest coalition over every route, the decisions that lowered the quorum,
    and its PCI DSS 3.7.5 standing."""
    history = facts.custody
    quorum = history.quorum(key.key_id)
    route = route_text(facts, key, coalition)
    fields = [
        ("Key", f"{key.label} ({key.key_id}), {key.key_type}, KCV {key.kcv_hex.upper()}"),
        ("Quorum", quorum_text(facts, key)),
        ("Smallest coalition", coalition_text(facts, key, coalition)),
        ("Shares counted", counted_text(facts, key)),
    ]
    broken = history.broken(key.key_id)
    if broken is not None:
        fields.append(
            (
                "RULE BROKEN",
                f"{count_of(broken.size or 0, 'person', 'people')} can rebuild this key, FEWER THAN ITS "
                f"QUORUM OF {max(quorum or 2, 2)} (PCI DSS 3.7.6), e.g. a share typed by someone it was not "
                "issued to (demonstrated knowledge): stop using this route and replace the key",
            )
        )
    standing = facts.replacement(key.key_id)
    if standing.state != "none":
        fields.append(("Replacement (3.7.5)", standing.text))
    if key.replaces_key_id:
        fields.append(("Replaces", f"key {key.replaces_key_id} (PCI DSS 3.7.5)"))
    decisions = [
        (
            show_time(parse_time(d.time)),
            str(d.quorum),
            d.reason,
            ", ".join(facts.name_of(p) for p in d.signed_by) + f" (#{d.seq})",
        )
        for d in key.quorum_lowered
    ]
    tables: tuple[Table, ...] = ()
    if decisions:
        tables = (
            Table(
                ("When", "New quorum", "Reason", "Signed by (event)"),
                tuple(decisions),
                (1.6, 1.0, 4.4, 3.0),
                title="Quorum lowered (key.quorum_lowered)",
            ),
        )
    section = Section(heading=f"{key.label} - key {key.key_id}", fields=tuple(fields), tables=tables)
    record = {
        "quorum": quorum,
        "quorum_lowered": [
            {
                "seq": d.seq,
                "time": d.time,
                "quorum": d.quorum,
                "reason": d.reason,
                "signed_by": list(d.signed_by),
                "coalition": list(d.coalition),
                "ceremony_id": d.ceremony_id,
            }
            for d in key.quorum_lowered
        ],
        "rule_broken": broken is not None,
        "replacement": {
            "state": standing.state,
            "text": standing.text,
            "replacement_key_id": standing.replacement,
            "cleared_seq": standing.cleared_seq,
        },
        "route": route,
    }
    return section, record


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
        key_section, key_record = _key_section(facts, key, coalition)
        sections.append(key_section)
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
                fate = split.fate(number)
                serial = split.envelope_of(number)
                status_text = envelope_status(facts, fate, serial)
                counted = fate is None or not fate.destroyed
                serials = [e.serial for e in split.envelopes if e.share_number == number]
                known_text = "; ".join(f"{facts.name_of(p)} (#{seq})" for p, seq in knew) or "-"
                holder_text = facts.name_of(holder) if holder else "-"
                if holder and holder in facts.people and not facts.people[holder].active:
                    holder_text += " (deactivated)"
                if fate is not None and fate.destroyed:
                    holder_text = "nobody (destroyed)"
                table_rows.append((str(number), holder_text, serial or "-", status_text, known_text))
                share_records.append(
                    {
                        "share_number": number,
                        "held_by": holder or None,
                        "envelope_serial": serial or None,
                        "envelopes": serials,
                        "envelope_status": fate.state if fate is not None else ("held" if serial else None),
                        "envelope_event": fate.seq if fate is not None else None,
                        "destroyed_by": list(fate.by) if fate is not None and fate.destroyed else [],
                        "counted": counted,
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
                    key_record["route"],
                    str(key_record["quorum"] or ""),
                    "yes" if key_record["rule_broken"] else "no",
                    fate.state if fate is not None else ("held" if serial else ""),
                    "yes" if counted else "no",
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
                ("Key", f"{key.label} ({key.key_id})"),
                ("Split", f"{split.split_id}: {split.scheme_text}, created {show_date(split.created_at)}"),
                ("Status", status),
            ]
            standing = key_record["replacement"]
            if key_id in flagged:
                fields.append(("Flag", str(standing["text"])))
            sections.append(
                Section(
                    heading=f"{key.label} - split {split.split_id}",
                    fields=tuple(fields),
                    tables=(
                        Table(
                            (
                                "Share",
                                "Held now by",
                                "Envelope",
                                "What became of it",
                                "Ever known by (first event)",
                            ),
                            tuple(table_rows),
                            (0.6, 1.7, 2.0, 2.5, 3.2),
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
                        "transport_id": coalition.transport_id,
                        "route": key_record["route"],
                    },
                    "quorum": key_record["quorum"],
                    "quorum_lowered": key_record["quorum_lowered"],
                    "rule_broken": key_record["rule_broken"],
                    "replacement": key_record["replacement"],
                }
            )
    if sections:
        # The definition, once, under the first key's smallest coalition (where the term is first shown).
        lead = sections[0]
        sections[0] = Section(lead.heading, lead.fields, lead.tables, (COALITION_DEFINED, *lead.notes))
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
