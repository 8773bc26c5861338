"""``ceremony exception add`` as people use it (issue 14, part 2, item 3): the officer and the witness are
named by their employee ids, errors name people by name and employee id, and a subject that matches no
current finding of its check is refused (it would be recorded and cover nothing) unless it is ``*``.

Real subprocesses on a real ledger built with ``ceremony enroll``; passphrases are fed one line each on
standard input, as a script feeds them. The preflight is the real one: each test holds its own loopback
listener open, so ``net.listening`` has a finding whose subject the test knows.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.ledger import participants as people
from ceremony.ledger.store import Ledger

ROOT = Path(__file__).resolve().parents[2]


def secret(who: str) -> str:
    """A dummy test passphrase (never a real one), at least 12 characters."""
    return f"test passphrase of {who}"


def ceremony(*args: str, stdin: list[str] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("CEREMONY_LEDGER", None)
    return subprocess.run(
        [sys.executable, "-m", "ceremony", *args],
        input="".join(f"{line}\n" for line in stdin),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def person_ids(path: Path) -> dict[str, str]:
    """Employee id -> internal person id."""
    with Ledger.open(path, read_only=True) as ledger:
        return {p.employee_id: p.person_id for p in people.participants(ledger)}


def size(path: Path) -> int:
    with Ledger.open(path, read_only=True) as ledger:
        return len(list(ledger.events()))


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> Path:
    """Sophie Officer (E1001, security officer) founds it; Alice Admin (E1002) and Walter Witness (E1003)."""
    path = tmp_path_factory.mktemp("exception-ids") / "ledger.sqlite3"
    steps = [
        (
            (
                "--found",
                "--organisation",
                "Acme Payments",
                "--name",
                "Sophie Officer",
                "--employee-id",
                "E1001",
            ),
            [secret("sophie")] * 2,
        ),
        (
            (
                "--name",
                "Alice Admin",
                "--employee-id",
                "E1002",
                "--role",
                "administrator",
                "--officer",
                "E1001",
            ),
            [secret("sophie"), secret("alice"), secret("alice")],
        ),
        (
            (
                *("--name", "Walter Witness", "--employee-id", "E1003", "--role", "witness"),
                *("--officer", "E1001", "--second", "E1002"),
            ),
            [secret("sophie"), secret("alice"), secret("walter"), secret("walter")],
        ),
    ]
    for args, stdin in steps:
        done = ceremony("enroll", "--ledger", str(path), *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def ledger(office: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ledger.sqlite3"
    shutil.copyfile(office, copy)
    return copy


@pytest.fixture
def listener() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"tcp 127.0.0.1:{server.getsockname()[1]}"


def add(
    path: Path, officer: str, witness: str, check: str, subject: str, stdin: list[str] = ()
) -> subprocess.CompletedProcess[str]:
    return ceremony(
        *("exception", "add", "--ledger", str(path), "--check", check, "--subject", subject),
        *("--justification", "vendor support window", "--controls", "loopback only; cable unplugged"),
        *("--officer", officer, "--witness", witness, "--days", "7"),
        stdin=list(stdin),
    )


def last_payload(path: Path) -> dict[str, object]:
    with Ledger.open(path, read_only=True) as ledger:
        event = list(ledger.events())[-1]
    assert event.type == "preflight.exception"
    return dict(event.payload)


def test_officer_and_witness_by_employee_id(ledger: Path, listener: str) -> None:
    done = add(ledger, "E1001", "e1003", "net.listening", listener, [secret("sophie"), secret("walter")])
    assert done.returncode == 0, done.stderr
    ids = person_ids(ledger)
    payload = last_payload(ledger)
    # The record keeps the internal ids (what the signatures are checked against); people typed theirs.
    assert payload["approved_by"] == ids["E1001"] and payload["witness"] == ids["E1003"]
    assert payload["subject"] == listener
    assert "Sophie Officer (E1001)" in done.stdout and "Walter Witness (E1003)" in done.stdout
    listed = ceremony("exception", "list", "--ledger", str(ledger))
    assert listed.returncode == 0, listed.stderr
    assert "approved by Sophie Officer (E1001), witnessed by Walter Witness (E1003)" in listed.stdout


def test_internal_person_ids_still_work(ledger: Path, listener: str) -> None:
    ids = person_ids(ledger)
    done = add(
        ledger, ids["E1001"], ids["E1003"], "net.listening", listener, [secret("sophie"), secret("walter")]
    )
    assert done.returncode == 0, done.stderr
    assert last_payload(ledger)["approved_by"] == ids["E1001"]


def test_errors_name_people_by_name_and_employee_id(ledger: Path, listener: str) -> None:
    before = size(ledger)
    # Walter is no security officer: refused before anyone types a passphrase (stdin is empty).
    not_officer = add(ledger, "E1003", "E1002", "net.listening", listener)
    assert not_officer.returncode == 5, not_officer.stderr
    assert "Walter Witness (E1003) is not enrolled as security officer" in not_officer.stderr
    assert "passphrase" not in not_officer.stderr
    not_witness = add(ledger, "E1001", "E1002", "net.listening", listener)
    assert not_witness.returncode == 2
    assert "Alice Admin (E1002) is not enrolled as witness" in not_witness.stderr
    same = add(ledger, "E1001", "E1001", "net.listening", listener)
    assert same.returncode == 5
    assert "Sophie Officer (E1001) cannot both approve and witness" in same.stderr
    nobody = add(ledger, "E9999", "E1003", "net.listening", listener)
    assert nobody.returncode == 2
    assert "--officer 'E9999': nobody with that employee id is enrolled" in nobody.stderr
    assert size(ledger) == before
    for result in (not_officer, not_witness, same, nobody):
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_subject_matching_no_current_finding_is_refused(ledger: Path, listener: str) -> None:
    before = size(ledger)
    ids = person_ids(ledger)  # internal ids here: the refusal is the subject's, whoever approves
    wrong = add(
        ledger, ids["E1001"], ids["E1003"], "net.listening", "eth0", [secret("sophie"), secret("walter")]
    )
    assert wrong.returncode == 2, wrong.stdout
    message = wrong.stderr
    assert "'eth0' matches no current finding of net.listening" in message
    assert repr(listener) in message  # the refusal lists what the check shows now
    assert "'*'" in message
    assert size(ledger) == before
    # A pattern that matches a current finding is taken; '*' alone is taken on purpose for any check.
    pattern = add(
        ledger, "E1001", "E1003", "net.listening", "tcp 127.0.0.1:*", [secret("sophie"), secret("walter")]
    )
    assert pattern.returncode == 0, pattern.stderr
    every = add(ledger, "E1001", "E1003", "net.dns", "*", [secret("sophie"), secret("walter")])
    assert every.returncode == 0, every.stderr
    assert last_payload(ledger)["subject"] == "*"
