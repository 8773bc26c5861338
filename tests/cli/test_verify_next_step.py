"""Issue 15: verify's errors name the next step, and a rehearsal ledger says so wherever verify reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ceremony(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
    )


def test_a_folder_given_as_ledger_points_to_bundle(tmp_path: Path) -> None:
    done = _ceremony("verify", "--ledger", str(tmp_path))
    assert done.returncode == 2
    assert "is a folder" in done.stderr and f"use --bundle {tmp_path}" in done.stderr


def test_a_folder_without_manifest_says_what_a_bundle_holds_and_how_to_make_one(tmp_path: Path) -> None:
    done = _ceremony("verify", "--bundle", str(tmp_path))
    assert done.returncode == 2
    assert "manifest.json" in done.stderr and "ledger.sqlite3" in done.stderr
    assert "ceremony export" in done.stderr and "--officer" in done.stderr


def test_a_missing_ledger_says_how_to_found_one_and_where_the_default_is(tmp_path: Path) -> None:
    done = _ceremony("verify", "--ledger", str(tmp_path / "nothing.sqlite3"))
    assert done.returncode == 2
    assert "scripts/run" in done.stderr and "first run" in done.stderr
    assert "$CEREMONY_LEDGER" in done.stderr


def test_a_fingerprint_without_a_bundle_is_a_usage_error(tmp_path: Path) -> None:
    done = _ceremony("verify", "--ledger", str(tmp_path / "x.sqlite3"), "--officer-cert-sha256", "ab" * 32)
    assert done.returncode == 2 and "--bundle" in done.stderr


def test_verify_document_on_a_rehearsal_ledger_says_rehearsal(tmp_path: Path) -> None:
    example = _ceremony("rehearse", "--example", "2of3")
    script = tmp_path / "2of3.toml"
    script.write_text(example.stdout.replace('kdf = "production"', 'kdf = "fast"'))
    ledger, papers = tmp_path / "r.sqlite3", tmp_path / "papers"
    assert _ceremony("rehearse", str(script), "--ledger", str(ledger), "--out", str(papers)).returncode == 0
    minutes = next(papers.glob("minutes-*.pdf"))
    text = _ceremony("verify", "--ledger", str(ledger), "--document", str(minutes))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("REHEARSAL:")
    assert "ceremony None" not in text.stdout
    plain = _ceremony("verify", "--ledger", str(ledger))
    assert plain.stdout.startswith("REHEARSAL:")
    data = json.loads(
        _ceremony("verify", "--ledger", str(ledger), "--document", str(minutes), "--format", "json").stdout
    )
    assert data["ledger"]["rehearsal"] is True
    assert data["document"]["ceremony_id"] not in ("None", "")
