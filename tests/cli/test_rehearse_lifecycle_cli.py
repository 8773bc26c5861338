"""``ceremony rehearse`` for recovery, re-share and retirement scripts, as a subprocess: the examples print
as complete commented TOML; a recovery reports each share against the script (exit 0 when all went as
expected, 1 when not); after a retirement the old shares are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ceremony.flows.rehearsal import LIFECYCLE_EXAMPLES
from ceremony.ledger.verify import verify_ledger

ROOT = Path(__file__).resolve().parents[2]


def _ceremony(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    command = [sys.executable, "-m", "ceremony", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=120)


def _example(name: str, folder: Path) -> Path:
    done = _ceremony("rehearse", "--example", name)
    assert done.returncode == 0, done.stderr
    path = folder / f"{name}.toml"
    path.write_text(done.stdout.replace('kdf = "production"', 'kdf = "fast"'))
    return path


@pytest.mark.parametrize("name", LIFECYCLE_EXAMPLES)
def test_lifecycle_example_prints_a_complete_commented_script(name: str) -> None:
    done = _ceremony("rehearse", "--example", name)
    assert done.returncode == 0, done.stderr
    script = tomllib.loads(done.stdout)
    assert script["ceremony"]["kind"] in ("recovery", "reshare", "retirement")
    assert script["ceremony"]["shares_from"] == "papers"
    assert {"ceremony", "participants"} <= set(script)
    assert done.stdout.count("\n#") >= 10  # commented, not bare


def test_recover_then_retire_then_old_shares_refused(tmp_path: Path) -> None:
    ledger = tmp_path / "rehearsal.sqlite3"
    # The generation rehearsal the recovery takes its shares from, run in tmp_path so "papers" resolves.
    done = _ceremony(
        "rehearse", str(_example("3of5", tmp_path)), "--ledger", str(ledger), "--out", "papers", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr

    recover = _example("recover-3of5", tmp_path)
    done = _ceremony("rehearse", str(recover), "--ledger", str(ledger), "--out", "recovery", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "refused: duplicate" in done.stdout and "refused: envelope incident" in done.stdout
    assert "Everything as the script expected: yes" in done.stdout
    manifest = json.loads((tmp_path / "recovery" / "manifest.json").read_text())
    (wrapped,) = [d for d in manifest["documents"] if d["kind"] != "minutes"]
    assert wrapped["kind"] == "wrapped_key" and wrapped["path"] in done.stdout
    assert manifest["outcome"] == "completed" and manifest["as_expected"] is True

    # --shares-from overrides the script; a step that does not go as expected gives exit code 1.
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(recover.read_text().replace('expect = "refused: duplicate"', 'expect = "accepted"'))
    done = _ceremony(
        "rehearse", str(wrong), "--ledger", str(ledger), "--out", str(tmp_path / "wrong"),
        "--shares-from", str(tmp_path / "papers"),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT AS EXPECTED (expected accepted)" in done.stdout

    retire = _example("retire", tmp_path)
    done = _ceremony("rehearse", str(retire), "--ledger", str(ledger), "--out", "retired", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "envelope TE-2026-0004" in done.stdout and "incident recorded" in done.stdout

    # The same recovery script now does not go as expected: the key is retired, nothing starts.
    done = _ceremony("rehearse", str(recover), "--ledger", str(ledger), "--out", "late", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refused: retired" in done.stdout
    late = tmp_path / "late.toml"
    late.write_text(recover.read_text().replace('expect = "completed"', 'expect = "refused: retired"', 1))
    done = _ceremony("rehearse", str(late), "--ledger", str(ledger), "--out", "late2", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert verify_ledger(ledger).keys == 1


def test_a_lifecycle_script_needs_an_existing_rehearsal_ledger(tmp_path: Path) -> None:
    recover = _example("recover-3of5", tmp_path)
    done = _ceremony(
        "rehearse", str(recover), "--ledger", str(tmp_path / "none.sqlite3"), "--out", "x", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "manifest.json" in done.stderr or "does not exist" in done.stderr
    assert not (tmp_path / "none.sqlite3").exists()
