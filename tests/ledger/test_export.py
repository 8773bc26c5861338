"""Export: backup-API copy without the keystore or the sealed root keys, JSON Lines of events, checkpoint,
root certificate and anchor; the source is untouched."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from ledger_support import build_sample

from ceremony.errors import LedgerError
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.export import export_ledger
from ceremony.ledger.participants import anchor, genesis
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample(tmp_path_factory.mktemp("export") / "ledger.sqlite3", total_events=80)


def test_export_bundle_verifies_and_holds_no_private_keys(sample, tmp_path) -> None:
    before = hashlib.sha256(sample.path.read_bytes()).hexdigest()
    out = tmp_path / "bundle"
    result = export_ledger(sample.path, out)
    assert hashlib.sha256(sample.path.read_bytes()).hexdigest() == before
    assert result.events == sample.events
    assert sorted(p.name for p in out.iterdir()) == [
        "anchor.txt",
        "checkpoint.txt",
        "events.jsonl",
        "ledger.sqlite3",
        "root.pem",
    ]

    copy = out / "ledger.sqlite3"
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT count(*) FROM keystore").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM root_keys").fetchone()[0] == 0
    conn.close()
    data = copy.read_bytes()
    for p in sample.people:  # not even in freed pages
        assert b"encrypted-key-blob-of-" + p.person_id.encode() not in data
        assert b"root-key-sealed-to-" + p.person_id.encode() not in data
    original_data = sample.path.read_bytes()  # the scans above can fail
    assert b"encrypted-key-blob-of-" in original_data and b"root-key-sealed-to-" in original_data

    with Ledger.open(sample.path, read_only=True) as ledger:
        expected_anchor, recorded = anchor(ledger), genesis(ledger)
    assert (out / "root.pem").read_text(encoding="ascii") == recorded.root_certificate_pem
    anchor_text = (out / "anchor.txt").read_text(encoding="ascii")
    assert anchor_text.splitlines()[0] == expected_anchor.text()
    assert Anchor.parse(anchor_text.split("\n\n", 1)[1]) == expected_anchor  # the grouped form, as printed

    checkpoint = Checkpoint.parse((out / "checkpoint.txt").read_text())
    original = verify_ledger(sample.path)
    copied = verify_ledger(copy, [checkpoint], anchor=anchor_text.splitlines()[0])
    assert copied.head_hash == original.head_hash and copied.ledger_id == original.ledger_id
    assert copied.anchor_checked
    assert checkpoint == original.checkpoint()


def test_events_jsonl_has_one_complete_event_per_line(sample, tmp_path) -> None:
    export_ledger(sample.path, tmp_path / "b")
    lines = (tmp_path / "b" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == sample.events
    with Ledger.open(sample.path, read_only=True) as ledger:
        stored = list(ledger.events())
    previous = "00" * 32
    for line, event in zip(lines, stored, strict=True):
        record = json.loads(line)
        assert record["seq"] == event.seq and record["hash"] == event.hash.hex()
        assert record["previous_hash"] == previous
        assert record["payload"] == event.payload and record["type"] == event.type
        assert [a["person_id"] for a in record["attestations"]] == list(event.attested_by)
        assert [bytes.fromhex(a["signature"]) for a in record["attestations"]] == [
            a.signature for a in event.attestations
        ]
        previous = record["hash"]
    assert sum(1 for line in lines if json.loads(line)["attestations"]) > sample.events // 5


def test_export_never_overwrites(sample, tmp_path) -> None:
    export_ledger(sample.path, tmp_path / "b")
    with pytest.raises(LedgerError, match="already exists"):
        export_ledger(sample.path, tmp_path / "b")
