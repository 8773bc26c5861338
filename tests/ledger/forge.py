"""The attacker's (or a careless insider's) way to write an event: straight into the SQLite file with the
project's own hashing code, bypassing the writer's rules. Used by the forgery and rule property tests."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ceremony.ledger import events as ev
from ceremony.ledger.canonical import canonical_text, normalise

TIME = "2026-12-04T12:00:00Z"


def raw_append(
    path: Path,
    event_type: str,
    payload: dict[str, Any],
    actors: Sequence[str] = (),
    sign_with: Sequence[tuple[str, Callable[[bytes], bytes]]] = (),
    attestations: Sequence[tuple[str, bytes]] = (),
) -> int:
    """Append one event with the chain computed as the writer would, signed by ``sign_with`` (person id,
    signing function) plus any raw ``attestations`` rows; nothing checked. Returns its seq."""
    conn = sqlite3.connect(path)
    try:
        seq, previous = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq += 1
        body_payload = normalise(payload)
        signers = sorted({p for p, _ in attestations} | {p for p, _ in sign_with})
        body = ev.event_body(TIME, event_type, list(actors), signers, body_payload)
        digest = ev.event_hash(seq, previous, body)
        rows = list(attestations) + [(p, sign(ev.attestation_message(digest))) for p, sign in sign_with]
        conn.execute(
            "INSERT INTO events (seq, time, type, actors, attested_by, payload, previous_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                TIME,
                event_type,
                canonical_text(list(actors)),
                canonical_text(signers),
                canonical_text(body_payload),
                previous,
                digest,
            ),
        )
        conn.executemany(
            "INSERT INTO attestations (seq, person_id, signature) VALUES (?, ?, ?)",
            [(seq, p, s) for p, s in sorted(rows)],
        )
        conn.commit()
        return seq
    finally:
        conn.close()
