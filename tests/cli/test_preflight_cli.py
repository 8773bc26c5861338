"""`ceremony preflight` as a custodian runs it: table, --json, --exceptions, exit codes (0 / 6 / 2 / 5).

The machine is shared with other test runs, so the tests never assume what else is listening: each holds
its own loopback socket open, which is insecure and uncovered unless the test's exceptions cover it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ceremony.preflight import CHECK_IDS

REPO = Path(__file__).resolve().parents[2]
EXIT_BLOCKED = 6


def preflight(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "ceremony", "preflight", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


@pytest.fixture
def listener() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"tcp 127.0.0.1:{server.getsockname()[1]}"


def exception(check: str, subject: str, created: datetime, expires: datetime, n: int = 0) -> dict[str, str]:
    return {
        "id": f"EXC{n:07d}",
        "check": check,
        "subject": subject,
        "justification": "Test laboratory machine; the ceremony does not run here.",
        "compensating_controls": "No key material on this machine.",
        "approved_by": "SO00000001",
        "witness": "WT00000002",
        "created": created.isoformat().replace("+00:00", "Z"),
        "expires": expires.isoformat().replace("+00:00", "Z"),
    }


def write_exceptions(tmp_path: Path, records: list[dict[str, str]]) -> Path:
    path = tmp_path / "exceptions.json"
    path.write_text(json.dumps(records))
    return path


def test_table_fits_80_columns_and_blocks_on_an_uncovered_listener(listener):
    out = preflight()
    assert out.returncode == EXIT_BLOCKED, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.split() == ["VERDICT", "CHECK", "SUMMARY"] for line in lines)
    verdicts = {"pass", "INSECURE", "UNKNOWN", "excepted"}
    rows = {line.split()[1] for line in lines if line.split()[:1] and line.split()[0] in verdicts}
    assert set(CHECK_IDS) <= rows
    detail = out.stdout.split(f"net.listening  {listener}\n", 1)[1].split("\n\n", 1)[0]
    assert "NOT COVERED" in detail
    assert "remedy:" in detail
    assert out.stdout.rstrip().rsplit("\n\n", 1)[1].startswith("BLOCKED: ")


def test_json_output_parses_and_matches_exit_code(listener):
    out = preflight("--json")
    assert out.returncode == EXIT_BLOCKED, out.stderr
    data = json.loads(out.stdout)
    findings = data["report"]["findings"]
    assert {f["check"] for f in findings} >= set(CHECK_IDS)
    ours = [f for f in findings if f["subject"] == listener]
    assert [f["verdict"] for f in ours] == ["insecure"]
    assert f"pid {os.getpid()} (" in ours[0]["summary"]
    assert data["coverage"]["blocked"] is True
    assert data["cleared"] is False
    assert {"check": "net.listening", "subject": listener, "verdict": "insecure"} in data["coverage"][
        "uncovered"
    ]
    assert len(data["report"]["code_sha256"]) == 64


def test_active_exceptions_clear_the_preflight(listener, tmp_path):
    now = datetime.now(UTC)
    created, expires = now - timedelta(hours=1), now + timedelta(days=30)
    # One exact record for our socket, and "*" for every check so that whatever else this shared machine
    # shows is covered too.
    records = [exception("net.listening", listener, created, expires + timedelta(days=1), 0)]
    records += [exception(check, "*", created, expires, n) for n, check in enumerate(CHECK_IDS, start=1)]
    path = write_exceptions(tmp_path, records)
    out = preflight("--exceptions", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "CLEAR:" in out.stdout
    detail = out.stdout.split(f"net.listening  {listener}\n", 1)[1].split("\n\n", 1)[0]
    assert "covered by exception EXC0000000" in detail  # the longest-lived matching record
    assert max(len(line) for line in out.stdout.splitlines()) <= 80
    data = json.loads(preflight("--json", "--exceptions", str(path)).stdout)
    assert {"check": "net.listening", "subject": listener, "exception": "EXC0000000"} in data["coverage"][
        "covered"
    ]
    assert data["cleared"] is True


def test_expired_exceptions_cover_nothing(listener, tmp_path):
    now = datetime.now(UTC)
    created, expires = now - timedelta(days=60), now - timedelta(seconds=1)
    records = [exception(check, "*", created, expires, n) for n, check in enumerate(CHECK_IDS)]
    path = write_exceptions(tmp_path, records)
    out = preflight("--exceptions", str(path))
    assert out.returncode == EXIT_BLOCKED
    assert "is not active" in out.stdout
    data = json.loads(preflight("--json", "--exceptions", str(path)).stdout)
    assert data["coverage"]["covered"] == []
    assert "EXC0000001" in data["coverage"]["exceptions_expired"]  # net.listening's record


def test_invalid_exception_file_exits_2(tmp_path):
    now = datetime.now(UTC)
    bad = exception("net.listening", "*", now, now + timedelta(days=200))
    out = preflight("--exceptions", str(write_exceptions(tmp_path, [bad])))
    assert out.returncode == 2
    assert "at most 90 days" in out.stderr
    assert out.stdout == ""
    missing = preflight("--exceptions", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "cannot read the exceptions file" in missing.stderr


def test_officer_witnessing_own_exception_exits_5(tmp_path):
    now = datetime.now(UTC)
    record = exception("net.listening", "*", now, now + timedelta(days=1))
    record["witness"] = record["approved_by"]
    out = preflight("--exceptions", str(write_exceptions(tmp_path, [record])))
    assert out.returncode == 5
    assert "cannot also be the witness" in out.stderr


def test_in_a_clean_network_namespace_the_network_checks_pass():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    name = f"pfc{secrets.token_hex(4)}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        out = preflight("--json", prefix=("ip", "netns", "exec", name))
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    data = json.loads(out.stdout)
    network = [f for f in data["report"]["findings"] if f["check"].startswith("net.")]
    assert {f["check"] for f in network} == {"net.interfaces", "net.listening", "net.routes", "net.dns"}
    assert {f["verdict"] for f in network} == {"pass"}
    assert out.returncode == (EXIT_BLOCKED if data["coverage"]["blocked"] else 0)
    hardening = [f for f in data["report"]["findings"] if f["check"] == "proc.hardening"]
    assert [f["verdict"] for f in hardening] == ["pass"]  # the CLI hardens itself before anything else
