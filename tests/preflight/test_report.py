"""A whole preflight run on this machine: every check present, JSON that round-trips, the ledger payload."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta

import pytest

from ceremony.errors import PreflightError
from ceremony.preflight import (
    CHECK_IDS,
    ExceptionRecord,
    PreflightReport,
    Verdict,
    covering,
    evidence_payload,
    run_preflight,
)

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)


def test_every_check_reports_on_the_live_system():
    report = run_preflight(NOW)
    assert [c for c in CHECK_IDS if c not in {f.check for f in report.findings}] == []
    assert report.taken_at == NOW
    assert report.host == os.uname().nodename
    assert os.uname().release in report.kernel
    assert len(report.code_sha256) == 64
    for f in report.findings:
        assert f.summary
        if f.verdict is Verdict.INSECURE:
            assert f.subject and f.remedy


def test_report_json_round_trips():
    report = run_preflight(NOW)
    data = json.loads(report.to_json())
    assert data["taken_at"] == "2026-11-23T13:00:00Z"
    assert sum(data["counts"].values()) == len(report.findings)
    assert PreflightReport.from_dict(data) == report


def test_naive_time_is_refused():
    with pytest.raises(PreflightError, match="time zone"):
        run_preflight(datetime(2026, 11, 23, 13, 0))


def test_ledger_payload_names_the_exceptions_relied_on():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        subject = f"tcp 127.0.0.1:{server.getsockname()[1]}"
        report = run_preflight(NOW)
    exc = ExceptionRecord.new(
        check="net.listening",
        subject=subject,
        justification="Test harness socket.",
        compensating_controls="Exists only for the length of this test.",
        approved_by="SO00000001",
        witness="WT00000002",
        created=NOW - timedelta(hours=1),
        expires=NOW + timedelta(days=1),
    )
    coverage = covering(report.findings, [exc], NOW)
    payload = json.loads(json.dumps(evidence_payload(report, coverage)))
    assert {"check": "net.listening", "subject": subject, "exception": exc.exception_id} in payload[
        "coverage"
    ]["covered"]
    assert payload["coverage"]["exceptions_relied_on"] == [exc.to_dict()]
    assert payload["cleared"] is (not coverage.blocked)
    assert subject not in {u["subject"] for u in payload["coverage"]["uncovered"]}
