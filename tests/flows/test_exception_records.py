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

from ceremony.errors import DualControlError, EventFormError, ExceptionRecordError
from ceremony.flows.exceptions import (
    exceptions_in_force,
    ledger_exceptions,
    record_exception,
    record_findings_exception,
)
from ceremony.ledger import register
from ceremony.ledger.schema import PreflightException
from ceremony.ledger.verify import verify_ledger
from ceremony.preflight import Finding, Verdict, covering
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


# --- one exception covering several ticked findings (issue 14 part 2.3) -----------------------------------
LAPTOP = (
    Finding("net.listening", "Listening sockets", Verdict.INSECURE, "cupsd", subject="tcp 0.0.0.0:631"),
    Finding("net.listening", "Listening sockets", Verdict.INSECURE, "sshd", subject="tcp 0.0.0.0:22"),
    Finding("net.interfaces", "Network interfaces", Verdict.INSECURE, "eth0 up", subject="interface eth0"),
    Finding("mem.swap", "Swap", Verdict.UNKNOWN, "could not check: /proc/swaps does not exist"),
    Finding("mem.coredump", "Core dumps", Verdict.PASS, "core dumps off"),
)


def _ticked(cast, ticked, officer, witness, days=14, now=None):
    return record_findings_exception(
        cast.ledger,
        ticked,
        current=LAPTOP,
        justification="HSM vendor window today; ports close only after the firmware update",
        compensating_controls="cable unplugged and sealed; witness watches the ports throughout",
        days=days,
        officer=officer,
        witness=witness,
        now=now or datetime.now(UTC),
    )


def test_one_exception_covers_the_ticked_findings_with_one_event(cast):
    officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
    before = len(list(cast.ledger.events()))
    now = datetime.now(UTC)
    ticked = (LAPTOP[0], LAPTOP[2], LAPTOP[3])
    record, seq = _ticked(cast, ticked, officer, witness, now=now)
    events = list(cast.ledger.events())
    assert len(events) == before + 1  # one event, signed by both
    event = events[-1]
    assert event.seq == seq and event.type == "preflight.exception"
    assert event.payload["also_covers"] == [
        {"check": "net.interfaces", "subject": "interface eth0"},
        {"check": "mem.swap", "subject": "*"},
    ]
    (entry,) = register.read(cast.ledger).exceptions
    assert entry.record.covered == record.covered and set(entry.signers) == {
        cast.ids["sophie"],
        cast.ids["walter"],
    }
    assert ledger_exceptions(cast.ledger) == (record,)
    coverage = covering(LAPTOP, exceptions_in_force(cast.ledger, now), now + timedelta(minutes=1))
    assert {c.finding for c in coverage.covered} == set(ticked)
    assert coverage.uncovered == (LAPTOP[1],)  # sshd was not ticked: still blocks
    assert verify_ledger(cast.ledger.path).events == len(events)


def test_one_ticked_finding_is_written_as_every_record_before(cast):
    officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
    _ticked(cast, (LAPTOP[1],), officer, witness)
    payload = list(cast.ledger.events())[-1].payload
    assert "also_covers" not in payload and payload["subject"] == "tcp 0.0.0.0:22"


def test_an_old_record_without_also_covers_reads_as_one_finding():
    old = {
        "id": "EXC0000001",
        "check": "net.listening",
        "subject": "tcp 127.0.0.1:*",
        "justification": "print spooler",
        "compensating_controls": "loopback only",
        "approved_by": "SO00000001",
        "witness": "WT00000002",
        "created": "2026-11-01T09:00:00Z",
        "expires": "2026-12-01T09:00:00Z",
    }
    record = PreflightException.from_payload(old)
    assert record.also_covers is None and record.covered == (("net.listening", "tcp 127.0.0.1:*"),)
    assert record.to_payload() == old
    with pytest.raises(EventFormError, match="same check and subject twice"):
        PreflightException.from_payload(
            dict(old, also_covers=[{"check": "net.listening", "subject": "tcp 127.0.0.1:*"}])
        )
    for bad in ([], [{"check": "mem.swap"}], [{"check": "mem.swap", "subject": ""}], "mem.swap"):
        with pytest.raises(EventFormError, match="also_covers"):
            PreflightException.from_payload(dict(old, also_covers=bad))


def test_a_ticked_exception_is_refused_before_anything_is_written(cast):
    officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
    admin = cast.present("alice", "administrator")
    before = len(list(cast.ledger.events()))
    with pytest.raises(DualControlError, match="not enrolled as a security officer"):
        _ticked(cast, LAPTOP[:2], admin, witness)
    with pytest.raises(DualControlError, match="two control roles"):
        _ticked(cast, LAPTOP[:2], officer, officer)
    with pytest.raises(ExceptionRecordError, match="tick at least one"):
        _ticked(cast, (), officer, witness)
    with pytest.raises(ExceptionRecordError, match="not a finding the preflight shows now"):
        _ticked(cast, (LAPTOP[4],), officer, witness)  # a pass needs no cover
    gone = Finding("net.listening", "Listening sockets", Verdict.INSECURE, "", subject="tcp 0.0.0.0:8080")
    with pytest.raises(ExceptionRecordError, match="not a finding the preflight shows now"):
        _ticked(cast, (gone,), officer, witness)
    for days in (0, 91):
        with pytest.raises(ExceptionRecordError, match="from 1 to 90 days"):
            _ticked(cast, LAPTOP[:1], officer, witness, days=days)
    assert len(list(cast.ledger.events())) == before


def test_cli_list_shows_every_finding_one_exception_covers(cast):
    officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
    record, _ = _ticked(cast, (LAPTOP[0], LAPTOP[3]), officer, witness)
    cast.ledger.close()
    listing = [sys.executable, "-m", "ceremony", "exception", "list", "--ledger", str(cast.ledger.path)]
    text = subprocess.run(listing, capture_output=True, text=True, check=True).stdout
    assert f"active  {record.exception_id} net.listening 'tcp 0.0.0.0:631'; mem.swap '*' until" in text
    (entry,) = json.loads(
        subprocess.run([*listing, "--format", "json"], capture_output=True, text=True, check=True).stdout
    )
    assert entry["also_covers"] == [{"check": "mem.swap", "subject": "*"}] and entry["active"] is True
