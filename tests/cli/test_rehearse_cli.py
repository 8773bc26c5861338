"""``ceremony rehearse`` as a subprocess: examples print as TOML and run; exit codes for the refusals."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ceremony.flows.rehearsal import EXAMPLES
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger

ROOT = Path(__file__).resolve().parents[2]


def _ceremony(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    command = [sys.executable, "-m", "ceremony", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd or ROOT, timeout=120)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_prints_a_complete_commented_toml_script(name: str) -> None:
    done = _ceremony("rehearse", "--example", name)
    assert done.returncode == 0, done.stderr
    script = tomllib.loads(done.stdout)
    assert {"ceremony", "participants", "key", "split", "shares"} <= set(script)
    assert done.stdout.count("\n#") >= 10  # commented, not bare


def test_example_2of3_runs_end_to_end(tmp_path: Path) -> None:
    done = _ceremony("rehearse", "--example", "2of3")
    # The light KDF keeps the test quick; it is allowed because this is a rehearsal ledger.
    script = tmp_path / "2of3.toml"
    script.write_text(done.stdout.replace('kdf = "production"', 'kdf = "fast"'))
    ledger, out = tmp_path / "rehearsal.sqlite3", tmp_path / "papers"
    done = _ceremony("rehearse", str(script), "--ledger", str(ledger), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "completed on rehearsal ledger" in done.stdout and "TEST key" in done.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert [d["kind"] for d in manifest["documents"]].count("share_card") == 3
    for doc in manifest["documents"]:
        assert hashlib.sha256((out / doc["path"]).read_bytes()).hexdigest() == doc["sha256"]
        assert doc["path"] in done.stdout
    assert verify_ledger(ledger).events > 20
    # The captured terminal output holds no share: scan each card's QR back and look for it, and for every
    # two adjacent body groups of its typed form (as typed or as printed on the card), in the output.
    printed = (done.stdout + done.stderr).encode()
    for doc in manifest["documents"]:
        if doc["kind"] == "share_card":
            (typed,) = _qr_payloads(out / doc["path"], tmp_path)
            body = typed.split(b"-")[7:]  # the first 7 groups are the public header
            pairs = [sep.join(body[i : i + 2]) for i in range(len(body) - 1) for sep in (b"-", b" ")]
            assert typed not in printed
            assert not any(pair in printed for pair in pairs)


def _qr_payloads(pdf: Path, work: Path) -> list[bytes]:
    import zxingcpp
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(work / "qr")], check=True)
    with Image.open(work / "qr.png") as image:
        return [r.bytes for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def test_global_ledger_option_works_too(tmp_path: Path) -> None:
    script = tmp_path / "s.toml"
    script.write_text(_ceremony("rehearse", "--example", "xor3").stdout.replace('"production"', '"fast"'))
    done = _ceremony(
        "--ledger", str(tmp_path / "r.sqlite3"), "rehearse", str(script), "--out", str(tmp_path / "o")
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "manifest.json").exists()


def test_production_ledger_refuses_with_exit_2(tmp_path: Path) -> None:
    ledger = tmp_path / "production.sqlite3"
    Ledger.open(ledger, create=True).close()
    script = tmp_path / "s.toml"
    script.write_text(_ceremony("rehearse", "--example", "2of3").stdout)
    done = _ceremony("rehearse", str(script), "--ledger", str(ledger), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "production ledger" in done.stderr and "3.6.1.1" in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_and_script_errors_exit_2(tmp_path: Path) -> None:
    script = tmp_path / "bad.toml"
    script.write_text('[ceremony]\npurpose = "x"\n[colour]\n')
    done = _ceremony("rehearse", str(script), "--ledger", str(tmp_path / "r"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "colour" in done.stderr
    done = _ceremony("rehearse", str(script))
    assert done.returncode == 2 and "--out" in done.stderr
    # No silent fall-back to the default (production) ledger.
    done = _ceremony("rehearse", str(script), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert done.returncode == 2 and "--ledger" in done.stderr
    done = _ceremony("rehearse", "--example", "1of1")
    assert done.returncode == 2 and "invalid choice" in done.stderr
