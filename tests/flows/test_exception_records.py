"""PCI DSS 1.2.6 exceptions recorded in a real ledger and applied by the real preflight."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from flow_support import passphrase_of

from ceremony.errors import DualControlError
from ceremony.flows.exceptions import exceptions_in_force, ledger_exceptions, record_exception
from ceremony.ledger.verify import verify_ledger
from ceremony.preflight.exceptions import ExceptionRecord


def _listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def _preflight(ledger_path):
    out = subprocess.run(
        [sys.executable, "-m", "ceremony", "preflight", "--json", "--ledger", str(ledger_path)],
        capture_output=True,
        text=True,
        env=dict(os.environ, CEREMONY_LEDGER=str(ledger_path)),
    )
    return json.loads(out.stdout)


def _record(check, subject, officer, witness, created, days):
    return ExceptionRecord.new(
        check=check,
        subject=subject,
        justification="ceremony laptop runs a local print spooler",
        compensating_controls="loopback only; laptop has no network interface up; sealed ports",
        approved_by=officer.person_id,
        witness=witness.person_id,
        created=created,
        expires=created + timedelta(days=days),
    )


def test_exception_covers_a_finding_and_expires(cast):
    sock = _listener()
    try:
        subject = f"tcp 127.0.0.1:{sock.getsockname()[1]}"
        officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
        now = datetime.now(UTC)
        active = _record("net.listening", subject, officer, witness, now - timedelta(days=1), 30)
        record_exception(cast.ledger, active, officer, witness)
        report = _preflight(cast.ledger.path)
        covered = {(c["check"], c["subject"]) for c in report["coverage"]["covered"]}
        assert ("net.listening", subject) in covered
        assert exceptions_in_force(cast.ledger, now) == (active,)
        # the same exception, seen 31 days later, covers nothing
        assert exceptions_in_force(cast.ledger, now + timedelta(days=31)) == ()
    finally:
        sock.close()
    assert verify_ledger(cast.ledger.path).events == len(list(cast.ledger.events()))


def test_expired_exception_does_not_cover(cast):
    sock = _listener()
    try:
        subject = f"tcp 127.0.0.1:{sock.getsockname()[1]}"
        officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
        old = _record("net.listening", subject, officer, witness, datetime.now(UTC) - timedelta(days=40), 30)
        record_exception(cast.ledger, old, officer, witness)
        report = _preflight(cast.ledger.path)
        uncovered = {(c["check"], c["subject"]) for c in report["coverage"]["uncovered"]}
        assert ("net.listening", subject) in uncovered
        assert report["coverage"]["blocked"] is True
    finally:
        sock.close()


def test_officer_must_be_the_approver(cast):
    officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
    record = _record("net.listening", "*", witness, officer, datetime.now(UTC), 10)
    with pytest.raises(DualControlError):
        record_exception(cast.ledger, record, officer, witness)
    assert ledger_exceptions(cast.ledger) == ()


def test_cli_add_and_list(cast):
    cast.ledger.close()
    path = cast.ledger.path
    officer_pass, witness_pass = passphrase_of("sophie"), passphrase_of("walter")  # alive while copied
    stdin = bytes(officer_pass.view()) + b"\n" + bytes(witness_pass.view()) + b"\n"
    add = subprocess.run(
        [
            sys.executable,
            "-m",
            "ceremony",
            "exception",
            "add",
            "--ledger",
            str(path),
            "--check",
            "net.routes",
            "--subject",
            "*",
            "--justification",
            "vendor support window",
            "--controls",
            "cable unplugged",
            "--officer",
            cast.ids["sophie"],
            "--witness",
            cast.ids["walter"],
            "--days",
            "7",
        ],
        input=stdin,
        capture_output=True,
    )
    assert add.returncode == 0, add.stderr
    assert b"recorded at event #" in add.stdout
    assert b"rehearsal passphrase" not in add.stdout + add.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "ceremony", "exception", "list", "--ledger", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    (entry,) = json.loads(listed.stdout)
    assert entry["check"] == "net.routes" and entry["active"] is True
    wrong = subprocess.run(
        [
            sys.executable,
            "-m",
            "ceremony",
            "exception",
            "add",
            "--ledger",
            str(path),
            "--check",
            "net.routes",
            "--subject",
            "*",
            "--justification",
            "j",
            "--controls",
            "c",
            "--officer",
            cast.ids["sophie"],
            "--witness",
            cast.ids["walter"],
        ],
        input=b"not the passphrase\nnope\n",
        capture_output=True,
        text=False,
    )
    assert wrong.returncode == 2
    assert wrong.stderr.decode().count("\n") == 1 and b"Traceback" not in wrong.stderr
