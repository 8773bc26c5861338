"""`ceremony token list --module PATH [--json]` as a real subprocess against a SoftHSM2 token."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hsm.softhsm import SoftToken, softhsm_token


@pytest.fixture
def soft_token(tmp_path: Path) -> Iterator[SoftToken]:
    with softhsm_token(tmp_path, label="CLI-TOKEN") as token:
        yield token


def ceremony(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_list_json(soft_token: SoftToken) -> None:
    result = ceremony("token", "list", "--module", soft_token.module, "--json", env=soft_token.env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    tokens = json.loads(result.stdout)
    mine = [t for t in tokens if t["label"] == "CLI-TOKEN"]
    assert len(mine) == 1
    assert mine[0]["manufacturer"] == "SoftHSM project"
    assert mine[0]["model"] == "SoftHSM v2"
    assert mine[0]["initialized"] is True and mine[0]["login_required"] is True
    assert len(mine[0]["serial"]) == 16
    assert set(mine[0]) == {
        "slot_id",
        "label",
        "serial",
        "manufacturer",
        "model",
        "firmware",
        "hardware",
        "library",
        "initialized",
        "login_required",
    }
    if soft_token.slot_id is not None:
        assert mine[0]["slot_id"] == soft_token.slot_id


def test_list_text(soft_token: SoftToken) -> None:
    result = ceremony("token", "list", "--module", soft_token.module, env=soft_token.env)
    assert result.returncode == 0, result.stderr
    block = next(b for b in result.stdout.split("\n\n") if "CLI-TOKEN" in b)
    lines = dict(line.split(":", 1) for line in block.splitlines())
    assert lines["label"].strip() == "CLI-TOKEN"
    assert lines["manufacturer"].strip() == "SoftHSM project"
    assert lines["initialised"].strip() == "yes"
    assert lines["login required"].strip() == "yes"
    assert {"slot", "serial", "model", "firmware", "hardware version"} <= set(lines)


@pytest.mark.parametrize("kind", ["missing", "not-a-library"])
def test_bad_module_is_one_line_exit_2(tmp_path: Path, kind: str) -> None:
    module = tmp_path / "module.so"
    if kind == "not-a-library":
        module.write_bytes(b"\x7fELF but not really")
    result = ceremony("token", "list", "--module", str(module), "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    expected = "does not exist" if kind == "missing" else "is not a PKCS#11 module"
    assert lines[0].startswith("ceremony: ") and expected in lines[0] and str(module) in lines[0]


def test_no_pin_is_asked(soft_token: SoftToken) -> None:
    # stdin closed: a prompt would fail or hang; listing needs no login.
    result = subprocess.run(
        [sys.executable, "-m", "ceremony", "token", "list", "--module", soft_token.module, "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=soft_token.env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
