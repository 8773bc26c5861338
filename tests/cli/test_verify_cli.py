"""``ceremony verify`` and ``ceremony export`` from the command line: exit codes, summaries, JSON, anchors,
copies."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ledger"))
from ledger_support import build_sample, write_row

from ceremony.cli import main
from ceremony.ledger.participants import anchor
from ceremony.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return build_sample(tmp_path_factory.mktemp("cli") / "ledger.sqlite3", total_events=60)


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args], capture_output=True, text=True, env=env, cwd=cwd or ROOT
    )


def test_intact_ledger_exits_0_with_one_line(sample, capsys) -> None:
    with Ledger.open(sample.path, read_only=True) as ledger:
        checkpoint = ledger.checkpoint(30).text()
    assert main(["verify", "--ledger", str(sample.path), "--checkpoint", checkpoint]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "intact: events 60, ceremonies 1, keys 1" in out[0] and "checkpoints matched 1" in out[0]


def test_global_ledger_option_and_environment(sample, capsys, monkeypatch) -> None:
    assert main(["--ledger", str(sample.path), "verify"]) == 0
    monkeypatch.setenv("CEREMONY_LEDGER", str(sample.path))
    assert main(["verify", "--format", "json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    report = json.loads(lines[-1])
    assert report["ok"] is True and report["events"] == 60 and report["keys_to_replace"] == ["KEY0000001"]
    assert report["checkpoint"].startswith("CEREMONY-CHECKPOINT V1 ")


def test_tampered_ledger_exits_4_naming_the_event(sample, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(sample.path.read_bytes())
    conn = sqlite3.connect(bad)
    (trigger,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_no_update'").fetchone()
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET time = '2026-03-01T09:00:01Z' WHERE seq = 17")
    conn.execute(trigger)
    conn.commit()
    (stored_type,) = conn.execute("SELECT type FROM events WHERE seq = 17").fetchone()
    conn.close()
    assert main(["verify", "--ledger", str(bad)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("ceremony: Event #17: its hash does not match its contents")
    assert main(["verify", "--ledger", str(bad), "--format", "json"]) == 4
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"ok", "ledger", "seq", "type", "rule", "error"}
    assert report["ok"] is False and report["ledger"] == str(bad) and report["seq"] == 17
    assert report["type"] in (None, stored_type) and report["rule"] is None  # no signing rule is at fault
    assert "Event #17" in report["error"]


def test_event_signed_against_its_rule_exits_4_naming_type_and_rule(sample, tmp_path, capsys) -> None:
    """Appended by hand, correctly chained, signed by the custodian alone: the rule wants a witness too."""
    bad = tmp_path / "unwitnessed.sqlite3"
    bad.write_bytes(sample.path.read_bytes())
    carl = sample.people[1]
    conn = sqlite3.connect(bad, isolation_level=None)
    seq, prev = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    payload = {
        "ceremony_id": "CER0000001",
        "person_id": carl.person_id,
        "split_id": "SPL0000001",
        "share_number": 1,
        "ok": True,
    }
    conn.execute("BEGIN")
    write_row(
        conn, seq + 1, prev, "2026-03-02T09:00:00Z", "share.verified", payload, [carl.person_id], [carl]
    )
    conn.execute("COMMIT")
    conn.close()
    assert main(["verify", "--ledger", str(bad), "--format", "json"]) == 4
    report = json.loads(capsys.readouterr().out)
    assert report["seq"] == seq + 1 and report["type"] == "share.verified"
    assert "witness" in report["rule"] and "key custodian named in 'person_id'" in report["rule"]
    assert f"Event #{seq + 1}" in report["error"] and "2 different signers" in report["error"]


def test_anchor_given_on_the_command_line(sample, tmp_path, capsys) -> None:
    with Ledger.open(sample.path, read_only=True) as ledger:
        mine = anchor(ledger)
    printed = "\n".join(mine.grouped())  # as on paper: three lines, hashes in groups of four
    assert main(["verify", "--ledger", str(sample.path), "--anchor", printed]) == 0
    assert "anchor matched" in capsys.readouterr().out
    assert (
        main(["verify", "--ledger", str(sample.path), "--anchor", mine.text().lower(), "--format", "json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["anchor_checked"] is True and report["anchor"] == mine.text()

    other = build_sample(tmp_path / "other.sqlite3", total_events=12)
    with Ledger.open(other.path, read_only=True) as ledger:
        theirs = anchor(ledger).text()
    assert main(["verify", "--ledger", str(sample.path), "--anchor", theirs]) == 4
    err = capsys.readouterr().err
    assert err.startswith("ceremony: Event #1: this ledger's anchor differs from the one given")
    assert main(["verify", "--ledger", str(sample.path), "--anchor", "CEREMONY-ANCHOR V1 nonsense"]) == 2
    assert "anchor" in capsys.readouterr().err


def test_truncated_ledger_caught_by_checkpoint(sample, tmp_path, capsys) -> None:
    with Ledger.open(sample.path, read_only=True) as ledger:
        checkpoint = ledger.checkpoint().text()
    cut = tmp_path / "cut.sqlite3"
    cut.write_bytes(sample.path.read_bytes())
    conn = sqlite3.connect(cut)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE name LIKE '%_no_delete'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("DELETE FROM attestations WHERE seq > 50")
    conn.execute("DELETE FROM events WHERE seq > 50")
    for _, sql in triggers:
        conn.execute(sql)
    conn.commit()
    conn.close()
    assert main(["verify", "--ledger", str(cut)]) == 0  # consistent on its own...
    capsys.readouterr()
    assert (
        main(["verify", "--ledger", str(cut), "--checkpoint", checkpoint]) == 4
    )  # ...but not with the paper
    assert "truncated" in capsys.readouterr().err


def test_bad_checkpoint_text_and_missing_ledger_exit_2(sample, tmp_path, capsys) -> None:
    assert (
        main(["verify", "--ledger", str(sample.path), "--checkpoint", "CEREMONY-CHECKPOINT V1 nonsense"]) == 2
    )
    assert main(["verify", "--ledger", str(tmp_path / "none.sqlite3")]) == 2
    assert not (tmp_path / "none.sqlite3").exists()
    err = capsys.readouterr().err
    assert "A checkpoint reads" in err and "There is no ledger" in err


def test_export_copy_verifies_in_another_process_after_the_original_is_gone(sample, tmp_path) -> None:
    original = tmp_path / "ledger.sqlite3"
    original.write_bytes(sample.path.read_bytes())
    out = tmp_path / "bundle"
    exported = _run("export", "--ledger", str(original), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Exported 60 events" in exported.stdout
    checkpoint = (out / "checkpoint.txt").read_text().strip()
    original.unlink()
    moved = tmp_path / "elsewhere"
    (out).rename(moved)
    verified = _run("verify", "--ledger", str(moved / "ledger.sqlite3"), "--checkpoint", checkpoint)
    assert verified.returncode == 0, verified.stderr
    assert "intact: events 60" in verified.stdout and "checkpoints matched 1" in verified.stdout
    assert sorted(p.name for p in moved.iterdir()) == [
        "anchor.txt",
        "checkpoint.txt",
        "events.jsonl",
        "ledger.sqlite3",
        "reports",
        "root.pem",
    ]
    anchor_line = (moved / "anchor.txt").read_text().splitlines()[0]
    verified = _run("verify", "--ledger", str(moved / "ledger.sqlite3"), "--anchor", anchor_line)
    assert verified.returncode == 0 and "anchor matched" in verified.stdout, verified.stderr
