"""verify checks signatures on worker threads while it parses (ceremony.ledger.verify.ParallelSignatures):
the first fault it names must still be the first event at fault, whichever kind of fault comes first."""

from __future__ import annotations

import sqlite3

import pytest
from ledger_support import build_sample

from ceremony.errors import LedgerIntegrityError
from ceremony.ledger.store import PROTECTION_TRIGGERS
from ceremony.ledger.verify import ParallelSignatures, verify_ledger


def _edit(path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(path)
    triggers = [
        s
        for n, s in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        if n in PROTECTION_TRIGGERS
    ]
    for name in PROTECTION_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute(sql, params)
    for statement in triggers:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _flip_signature(path, seq: int) -> None:
    conn = sqlite3.connect(path)
    person, signature = conn.execute(
        "SELECT person_id, signature FROM attestations WHERE seq = ? ORDER BY person_id LIMIT 1", (seq,)
    ).fetchone()
    conn.close()
    bad = bytearray(signature)
    bad[-3] ^= 0x01
    _edit(
        path, "UPDATE attestations SET signature = ? WHERE seq = ? AND person_id = ?", bytes(bad), seq, person
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample(tmp_path_factory.mktemp("par") / "ledger.sqlite3", total_events=1200)


@pytest.mark.parametrize("bad_seq", [20, 600, 1199])
def test_a_bad_signature_anywhere_is_named_by_its_event(sample, tmp_path, bad_seq) -> None:
    path = tmp_path / "l.sqlite3"
    path.write_bytes(sample.path.read_bytes())
    _flip_signature(path, bad_seq)
    with pytest.raises(LedgerIntegrityError, match=f"Event #{bad_seq}:.*does not verify") as caught:
        verify_ledger(path)
    assert caught.value.seq == bad_seq


def test_an_earlier_bad_signature_wins_over_a_later_structural_fault(sample, tmp_path) -> None:
    """Event #300's signature is bad and event #900's payload is altered: the bad signature is checked
    on a worker thread after the parser already reached #900 — yet #300 is named."""
    path = tmp_path / "l.sqlite3"
    path.write_bytes(sample.path.read_bytes())
    _flip_signature(path, 300)
    _edit(path, "UPDATE events SET payload = replace(payload, '\"ok\":true', '\"ok\":false') WHERE seq = 900")
    with pytest.raises(LedgerIntegrityError) as caught:
        verify_ledger(path)
    assert caught.value.seq == 300


def test_a_structural_fault_before_a_bad_signature_is_named_first(sample, tmp_path) -> None:
    path = tmp_path / "l.sqlite3"
    path.write_bytes(sample.path.read_bytes())
    _flip_signature(path, 900)
    _edit(path, "UPDATE events SET payload = replace(payload, '\"ok\":true', '\"ok\":false') WHERE seq = 300")
    with pytest.raises(LedgerIntegrityError, match="Event #300: its hash does not match") as caught:
        verify_ledger(path)
    assert caught.value.seq == 300


def test_the_pipeline_keeps_a_bounded_number_of_batches_in_flight() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    good = key.sign(b"m", ec.ECDSA(hashes.SHA256()))
    sink = ParallelSignatures(workers=2, batch=4, max_pending=2)
    try:
        for seq in range(1, 200):
            sink.put(
                seq,
                "share.verified",
                "P",
                key.public_key(),
                good if seq != 150 else good[:-1] + b"\x00",
                b"m",
            )
            assert len(sink._pending) <= 2
        assert sink.first_bad_before(100) is None
        assert sink.first_bad_before(None) == (150, "share.verified", "P")
    finally:
        sink.close()


def test_an_open_ledger_cut_short_and_rewritten_behind_the_program_is_a_fault(sample, tmp_path) -> None:
    """Reads check each signature once per process; a file shortened while open must not let unchecked
    events through (the prefix is only trusted while its last checked event is still there)."""
    from ceremony.ledger.store import Ledger

    path = tmp_path / "l.sqlite3"
    path.write_bytes(sample.path.read_bytes())
    with Ledger.open(path, read_only=True) as ledger:
        assert sum(1 for _ in ledger.events()) == sample.events  # every signature checked once
        _edit(path, "DELETE FROM attestations WHERE seq > 100")
        _edit(path, "DELETE FROM events WHERE seq > 100")
        with pytest.raises(LedgerIntegrityError, match="cut short while open"):
            list(ledger.events())
