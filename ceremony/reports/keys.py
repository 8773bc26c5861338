"""The key inventory that PCI DSS 3.6.1.1 asks service providers to document: for each key, its label,
type and strength, usage, KCV (with its method), creation, cryptoperiod and expiry (3.6.1.4/3.7.4), split
scheme, status, and flags: must be replaced (a custodian who knew it left, 3.7.5) — "re-shared; must still be
replaced" after a re-share (the same key), "replacement <id> generated; retire this key to clear" once a new
key names it, "replaced by <id> (retired at event #n)" once cleared —, the quorum when a recorded decision
lowered it (DESIGN §3), cryptoperiod over, test key (made in a rehearsal).

``--key`` one key; ``--person`` the keys that person ever knew; ``--from``/``--to`` keys created then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ceremony.reports.model import (
    CLEARED,
    MUST_BE_REPLACED,
    MUST_STILL_BE_REPLACED,
    REPLACED,
    REPLACEMENT_GENERATED,
    RETIRED_UNREPLACED,
    Filters,
    KeyFacts,
    LedgerFacts,
    Report,
    Section,
    Table,
    count_of,
    iso,
    make_report,
    show_date,
)

KIND = "keys"
TITLE = "Key inventory"
BASIS = "PCI DSS 4.0.1 Req. 3.6.1.1 (documented key inventory), 3.6.1.4 / 3.7.4 (cryptoperiods)"
CSV_COLUMNS = (
    "key_id",
    "label",
    "key_type",
    "strength_bits",
    "usage",
    "kcv",
    "kcv_method",
    "created",
    "cryptoperiod_days",
    "expires",
    "split_scheme",
    "split_id",
    "status",
    "must_be_replaced",
    "replacement_state",
    "replacement_key_id",
    "replaces_key_id",
    "quorum",
    "quorum_lowered",
    "cryptoperiod_over",
    "test_key",
)


def key_status(facts: LedgerFacts, key: KeyFacts) -> str:
    """``active`` while a split of the key is active and it was not retired; otherwise ``retired``."""
    if key.retired_seq is not None:
        return "retired"
    active = [s for s in key.split_ids if facts.splits[s].retired_seq is None]
    return "active" if active else "retired"


def current_split(facts: LedgerFacts, key: KeyFacts) -> str:
    active = [s for s in key.split_ids if facts.splits[s].retired_seq is None]
    return (active or key.split_ids or [""])[-1]


def build(facts: LedgerFacts, filters: Filters, as_of: datetime) -> Report:
    flagged = facts.flagged_keys()
    table_rows: list[tuple[str, ...]] = []
    records: list[dict[str, Any]] = []
    rows: list[tuple[str, ...]] = []
    for key in facts.keys.values():
        if filters.key_id and key.key_id != filters.key_id:
            continue
        if filters.person_id and filters.person_id not in facts.custody.people_who_knew(key.key_id):
            continue
        if not filters.in_range(key.registered_at):
            continue
        status = key_status(facts, key)
        split_id = current_split(facts, key)
        split = facts.splits.get(split_id)
        scheme = split.scheme_text if split else "not split"
        standing = facts.replacement(key.key_id)
        must_replace = key.key_id in flagged and status == "active"
        expired = as_of >= key.expires_at
        quorum = facts.custody.quorum(key.key_id) if key.split_ids else None
        flags = []
        if standing.state == MUST_BE_REPLACED:
            flags.append(f"MUST BE REPLACED (custodian left, #{standing.flagged_seq})")
        elif standing.state == MUST_STILL_BE_REPLACED:
            flags.append(f"RE-SHARED; MUST STILL BE REPLACED (custodian left, #{standing.flagged_seq})")
        elif standing.state == REPLACEMENT_GENERATED:
            flags.append(f"REPLACEMENT {standing.replacement} GENERATED; RETIRE THIS KEY TO CLEAR")
        elif standing.state in (CLEARED, REPLACED):
            flags.append(f"replaced by {standing.replacement} (retired at event #{standing.cleared_seq})")
        elif standing.state == RETIRED_UNREPLACED:
            flags.append(f"retired without a replacement; flag never cleared (#{standing.flagged_seq})")
        if key.replaces_key_id:
            flags.append(f"replaces {key.replaces_key_id}")
        if key.quorum_lowered and quorum is not None:
            flags.append(f"quorum lowered to {quorum} (#{key.quorum_lowered[-1].seq})")
        if expired and status == "active":
            flags.append("CRYPTOPERIOD OVER")
        if key.test_key:
            flags.append("TEST KEY")
        bits = key.strength_bits
        table_rows.append(
            (
                f"{key.label}\n{key.key_id}",
                f"{key.key_type}\n{bits} bits" if bits else key.key_type,
                key.usage,
                f"{key.kcv_hex.upper()}\n{key.kcv_method}",
                show_date(key.registered_at),
                f"{key.cryptoperiod_days} d\nto {show_date(key.expires_at)}",
                f"{scheme}\n{split_id}" if split_id else scheme,
                status,
                "\n".join(flags) or "-",
            )
        )
        records.append(
            {
                "key_id": key.key_id,
                "label": key.label,
                "key_type": key.key_type,
                "strength_bits": bits,
                "usage": key.usage,
                "kcv": key.kcv_hex.upper(),
                "kcv_method": key.kcv_method,
                "created": iso(key.registered_at),
                "created_seq": key.registered_seq,
                "cryptoperiod_days": key.cryptoperiod_days,
                "expires": iso(key.expires_at),
                "split_scheme": scheme,
                "split_id": split_id or None,
                "splits": list(key.split_ids),
                "status": status,
                "must_be_replaced": must_replace,
                "replacement": {
                    "state": standing.state,
                    "text": standing.text,
                    "replacement_key_id": standing.replacement,
                    "flagged_seq": standing.flagged_seq,
                    "cleared_seq": standing.cleared_seq,
                },
                "replaces_key_id": key.replaces_key_id,
                "replaced_by_key_id": key.replaced_by_key_id,
                "quorum": quorum,
                "quorum_lowered": [
                    {"seq": d.seq, "time": d.time, "quorum": d.quorum, "reason": d.reason}
                    for d in key.quorum_lowered
                ],
                "cryptoperiod_over": expired,
                "test_key": key.test_key,
            }
        )
        rows.append(
            (
                key.key_id,
                key.label,
                key.key_type,
                str(bits or ""),
                key.usage,
                key.kcv_hex.upper(),
                key.kcv_method,
                iso(key.registered_at),
                str(key.cryptoperiod_days),
                iso(key.expires_at),
                scheme,
                split_id,
                status,
                "yes" if must_replace else "no",
                standing.state,
                standing.replacement or "",
                key.replaces_key_id or "",
                str(quorum or ""),
                "yes" if key.quorum_lowered else "no",
                "yes" if expired else "no",
                "yes" if key.test_key else "no",
            )
        )
    active = sum(1 for r in records if r["status"] == "active")
    section = Section(
        heading=f"{count_of(len(records), 'key')} ({active} active)",
        tables=(
            Table(
                ("Key", "Type", "Usage", "KCV", "Created", "Cryptoperiod", "Split", "Status", "Flags"),
                tuple(table_rows),
                (2.0, 1.1, 1.6, 1.7, 1.0, 1.1, 1.7, 0.8, 1.9),
                stacked_in_text=True,
            ),
        ),
        notes=(
            "Strength in bits of security (NIST SP 800-57 Part 1, Table 2): TDES double length 80, triple "
            "length 112; AES as its key size.",
        ),
    )
    return make_report(
        facts,
        filters,
        as_of,
        kind=KIND,
        title=TITLE,
        basis=BASIS,
        sections=[section] if records else [],
        records=records,
        csv_columns=CSV_COLUMNS,
        csv_rows=rows,
    )
