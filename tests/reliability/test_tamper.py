"""Tamper fuzz (issue 3, reliability): every mutation of a real ledger is detected by ``verify``.

The attacker owns the file: each mutation works on a copy, through its own sqlite3 connection,
dropping the append-only triggers for the edit and putting them back afterwards. Mutations: one byte
changed in each column of each event and each attestation row, one event deleted, two swapped, one
duplicated, the tail truncated, a forged tail re-chained with fresh hashes, and the whole ledger rewritten
with the attacker's own identities.

Truncation and a full rewrite (a root, a genesis and identities of the attacker's own) produce a ledger that
is internally consistent: only a paper checkpoint reveals them (DESIGN §5) — and the full rewrite also the
anchor, which names the genesis — so those runs pass the checkpoint taken before the attack. A re-chained
tail is caught by the signatures of the people who attested the rewritten events; a forged tail without
their signatures by the signing rules every event is under (ledger format 2) — both without any paper.

Default run samples the byte mutations (seeded, ~20 s budget); CEREMONY_RELIABILITY_FULL=1 tries them all.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ledger"))
from ledger_support import TestSigner

from ceremony.crypto.ledger_root import RootAuthority, create_root
from ceremony.errors import LedgerIntegrityError
from ceremony.ledger import events as ev
from ceremony.ledger.canonical import canonical_text, parse_canonical
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.participants import anchor
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

FULL = os.environ.get("CEREMONY_RELIABILITY_FULL") == "1"
EVENTS = 300
BYTE_SAMPLE = 260  # byte mutations tried in the default run
EVENT_COLUMNS = ("seq", "time", "type", "actors", "attested_by", "payload", "previous_hash", "hash")
ATTESTATION_COLUMNS = ("seq", "person_id", "signature")

Mutation = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Mutation
    with_checkpoint: bool = False


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """RAM-backed when available: hundreds of copies and commits, and fsync is not what is tested here."""
    if Path("/dev/shm").is_dir():
        folder = Path(tempfile.mkdtemp(prefix="ceremony-tamper-", dir="/dev/shm"))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("tamper")


@pytest.fixture(scope="module")
def original(workdir) -> tuple[Path, Checkpoint]:
    from ledger_support import build_sample

    sample = build_sample(workdir / "ledger.sqlite3", total_events=EVENTS)
    with Ledger.open(sample.path, read_only=True) as ledger:
        return sample.path, ledger.checkpoint()


def _flip_byte(value: object, rng: random.Random) -> object:
    if isinstance(value, int):
        return value | (1 << 20)  # an unused seq: never collides with a real one
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    i = rng.randrange(len(raw))
    changed = bytearray(raw)
    changed[i] ^= rng.choice([0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40])
    return bytes(changed) if isinstance(value, bytes) else ("TEXT", bytes(changed))


def _set(conn: sqlite3.Connection, table: str, column: str, where: str, key: tuple, value: object) -> None:
    if isinstance(value, tuple) and value[0] == "TEXT":  # possibly invalid UTF-8: store the bytes as TEXT
        conn.execute(f"UPDATE {table} SET {column} = CAST(? AS TEXT) WHERE {where}", (value[1], *key))
    else:
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (value, *key))


def byte_mutations(path: Path, rng: random.Random) -> list[Case]:
    conn = sqlite3.connect(path)
    events = conn.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY seq").fetchall()
    atts = conn.execute(
        "SELECT seq, person_id, signature FROM attestations ORDER BY seq, person_id"
    ).fetchall()
    conn.close()
    cases: list[Case] = []
    for row in events:
        for col, value in zip(EVENT_COLUMNS, row, strict=True):
            new = _flip_byte(value, rng)
            cases.append(
                Case(
                    f"event {row[0]} {col}: byte changed",
                    lambda c, col=col, seq=row[0], new=new: _set(c, "events", col, "seq = ?", (seq,), new),
                )
            )
    signers: dict[int, set[bytes]] = {}
    for seq, pid, _ in atts:
        signers.setdefault(seq, set()).add(pid.encode())
    for seq, pid, sig in atts:
        for col, value in zip(ATTESTATION_COLUMNS, (seq, pid, sig), strict=True):
            new = _flip_byte(value, rng)
            while col == "person_id" and new[1] in signers[seq]:  # type: ignore[index]
                new = _flip_byte(value, rng)  # another signer of the same event: the row would clash
            cases.append(
                Case(
                    f"attestation {seq}/{pid} {col}: byte changed",
                    lambda c, col=col, seq=seq, pid=pid, new=new: _set(
                        c, "attestations", col, "seq = ? AND person_id = ?", (seq, pid), new
                    ),
                )
            )
    return cases


def _delete(seq: int) -> Mutation:
    def run(c: sqlite3.Connection) -> None:
        c.execute("DELETE FROM attestations WHERE seq = ?", (seq,))
        c.execute("DELETE FROM events WHERE seq = ?", (seq,))

    return run


def _swap(a: int, b: int) -> Mutation:
    cols = ", ".join(EVENT_COLUMNS[1:])

    def run(c: sqlite3.Connection) -> None:
        ra = c.execute(f"SELECT {cols} FROM events WHERE seq = ?", (a,)).fetchone()
        rb = c.execute(f"SELECT {cols} FROM events WHERE seq = ?", (b,)).fetchone()
        sets = ", ".join(f"{col} = ?" for col in EVENT_COLUMNS[1:])
        c.execute(f"UPDATE events SET {sets} WHERE seq = ?", (*rb, a))
        c.execute(f"UPDATE events SET {sets} WHERE seq = ?", (*ra, b))
        c.execute("UPDATE attestations SET seq = -1 WHERE seq = ?", (a,))
        c.execute("UPDATE attestations SET seq = ? WHERE seq = ?", (a, b))
        c.execute("UPDATE attestations SET seq = ? WHERE seq = -1", (b,))

    return run


def _duplicate(seq: int, at: int) -> Mutation:
    """Insert a copy of event ``seq`` (with its attestations) as event ``at``, shifting later events up."""

    def run(c: sqlite3.Connection) -> None:
        for (s,) in c.execute("SELECT seq FROM events WHERE seq >= ? ORDER BY seq DESC", (at,)).fetchall():
            c.execute("UPDATE events SET seq = ? WHERE seq = ?", (s + 1, s))
        c.execute("UPDATE attestations SET seq = -seq - 1 WHERE seq >= ?", (at,))
        c.execute("UPDATE attestations SET seq = -seq WHERE seq < 0")
        src = seq if seq < at else seq + 1
        columns = ", ".join(EVENT_COLUMNS[1:])
        c.execute(f"INSERT INTO events SELECT ?, {columns} FROM events WHERE seq = ?", (at, src))
        c.execute(
            "INSERT INTO attestations SELECT ?, person_id, signature FROM attestations WHERE seq = ?",
            (at, src),
        )

    return run


def _truncate(keep: int) -> Mutation:
    def run(c: sqlite3.Connection) -> None:
        c.execute("DELETE FROM attestations WHERE seq > ?", (keep,))
        c.execute("DELETE FROM events WHERE seq > ?", (keep,))

    return run


def _one_second_later(time: str) -> str:
    return (datetime.fromisoformat(time[:-1]) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rechain(from_seq: int, *, keep_signatures: bool, attacker_keys: bool = False) -> Mutation:
    """Change event ``from_seq`` (its time, one second later: still a well-formed event of its type, so only
    the chain, the signatures and the paper can tell) and recompute every hash after it, so the chain is
    whole again.

    keep_signatures: the old attestations stay (and fail: they signed other hashes). Otherwise the forged
    events claim no signers (and break the signing rule of their type). attacker_keys (full rewrite from
    seq 1): the attacker makes a root of their own for the genesis, gives the founder and every enrolled
    person a key of theirs with a certificate issued by that root, and re-signs every attestation.
    """

    def run(c: sqlite3.Connection) -> None:
        rows = c.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY seq").fetchall()
        prev = ev.GENESIS_PREVIOUS_HASH if from_seq == 1 else rows[from_seq - 2][7]
        forged_keys: dict[str, TestSigner] = {}
        root: RootAuthority | None = None
        for seq, time, etype, actors, attested_by, payload, _, _ in rows[from_seq - 1 :]:
            body_payload = parse_canonical(payload)
            if seq == from_seq:
                time = _one_second_later(time)
            signers = parse_canonical(attested_by)
            if attacker_keys and etype in (ev.LEDGER_GENESIS, ev.PARTICIPANT_ENROLLED):
                if etype == ev.LEDGER_GENESIS:
                    root = create_root(
                        str(body_payload["organisation"]),
                        str(body_payload["ledger_id"]),
                        rehearsal=bool(body_payload["rehearsal"]),
                    )
                    body_payload["root_certificate_pem"] = root.certificate.public_bytes(
                        Encoding.PEM
                    ).decode()
                    body_payload["root_cert_sha256"] = ev.cert_sha256(
                        root.certificate.public_bytes(Encoding.DER)
                    )
                assert root is not None
                fake = TestSigner(str(body_payload["person_id"]), str(body_payload["name"]))
                fake.certificate = root.issue(
                    fake.key.public_key(), fake.name, str(body_payload["employee_id"])
                )
                forged_keys[fake.person_id] = fake
                body_payload["certificate_pem"] = fake.certificate.public_bytes(Encoding.PEM).decode()
                body_payload["cert_sha256"] = ev.cert_sha256(fake.certificate.public_bytes(Encoding.DER))
            if not keep_signatures and not attacker_keys:
                signers = []
                c.execute("DELETE FROM attestations WHERE seq = ?", (seq,))
            body = ev.event_body(time, etype, parse_canonical(actors), signers, body_payload)
            digest = ev.event_hash(seq, prev, body)
            c.execute(
                "UPDATE events SET time = ?, attested_by = ?, payload = ?, previous_hash = ?, hash = ? "
                "WHERE seq = ?",
                (time, canonical_text(signers), canonical_text(body_payload), prev, digest, seq),
            )
            if attacker_keys:
                for pid in signers:
                    sig = forged_keys[pid].sign(ev.attestation_message(digest))
                    c.execute(
                        "UPDATE attestations SET signature = ? WHERE seq = ? AND person_id = ?",
                        (sig, seq, pid),
                    )
            prev = digest

    return run


def _apply(original: Path, work: Path, mutate: Mutation) -> None:
    work.write_bytes(original.read_bytes())
    conn = sqlite3.connect(work, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    conn.execute("BEGIN")
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    mutate(conn)
    for _, sql in triggers:  # put the protection back so the file looks untouched
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()


def _detected(path: Path, checkpoint: Checkpoint | None) -> bool:
    try:
        verify_ledger(path, [checkpoint] if checkpoint else [])
    except LedgerIntegrityError:
        return True
    return False


def test_every_mutation_is_detected(original, workdir) -> None:
    path, checkpoint = original
    assert verify_ledger(path, [checkpoint]).events == EVENTS
    rng = random.Random(6962)
    cases = byte_mutations(path, rng)
    if not FULL:
        cases = rng.sample(cases, min(BYTE_SAMPLE, len(cases)))
    seqs = range(1, EVENTS + 1)
    picks = list(seqs) if FULL else [*sorted(rng.sample(list(seqs), 12)), 1, EVENTS]
    cases += [Case(f"event {s} deleted", _delete(s), with_checkpoint=s == EVENTS) for s in picks]
    cases += [Case(f"events {s} and {s + 7} swapped", _swap(s, s + 7)) for s in picks if s + 7 <= EVENTS]
    cases += [Case(f"event {s} duplicated", _duplicate(s, s + 1)) for s in picks if s < EVENTS]
    cases += [Case(f"event {s} appended again", _duplicate(s, EVENTS + 1)) for s in picks[:3]]
    cases += [
        Case(f"truncated to {k}", _truncate(k), with_checkpoint=True) for k in (0, 1, EVENTS // 2, EVENTS - 1)
    ]
    cases += [
        Case(f"tail re-chained from {s}, old signatures kept", _rechain(s, keep_signatures=True))
        for s in (10, EVENTS - 40)
    ]
    cases += [  # every event is signed under its rule: an unsigned tail needs no paper to be caught
        Case(f"tail re-chained from {s} unsigned", _rechain(s, keep_signatures=False))
        for s in (2, EVENTS // 2, EVENTS)
    ]
    cases.append(
        Case(
            "full rewrite with the attacker's identities",
            _rechain(1, keep_signatures=True, attacker_keys=True),
            with_checkpoint=True,
        )
    )

    missed = []
    work = workdir / "mutated.sqlite3"
    for case in cases:
        _apply(path, work, case.mutate)
        if not _detected(work, checkpoint if case.with_checkpoint else None):
            missed.append(case.name)
    print(f"\ntamper: {len(cases)} mutations tried, {len(cases) - len(missed)} detected")
    assert missed == []


def test_rewrites_pass_without_a_checkpoint_and_fail_with_one(original, workdir) -> None:
    """Why paper checkpoints and the anchor exist: these attacks leave an internally consistent ledger."""
    path, checkpoint = original
    with Ledger.open(path, read_only=True) as ledger:
        anchor_text = anchor(ledger).text()
        older = ledger.checkpoint(EVENTS - 10)
    work = workdir / "mutated.sqlite3"
    for mutate in (_truncate(EVENTS // 2), _rechain(1, keep_signatures=True, attacker_keys=True)):
        _apply(path, work, mutate)
        assert verify_ledger(work).events > 0  # undetectable without the paper
        assert _detected(work, checkpoint)
    # The full rewrite has a genesis and a root of its own: the anchor (printed at first run) sees it.
    with pytest.raises(LedgerIntegrityError, match="anchor differs") as fault:
        verify_ledger(work, anchor=anchor_text)
    assert fault.value.seq == 1
    # A truncation keeps the genesis, so the anchor still matches: only a checkpoint sees the cut.
    _apply(path, work, _truncate(EVENTS // 2))
    assert verify_ledger(work, anchor=anchor_text).anchor_checked
    # A forged tail its signers did not sign breaks the signing rules: no paper needed.
    _apply(path, work, _rechain(EVENTS - 5, keep_signatures=False))
    assert _detected(work, None)
    # An older checkpoint (before the cut) does not see a tail cut off after it...
    _apply(path, work, _truncate(EVENTS - 5))
    assert not _detected(work, older)
    # ...but catches a cut that reaches into the part it covers.
    _apply(path, work, _truncate(EVENTS - 20))
    assert _detected(work, older)
