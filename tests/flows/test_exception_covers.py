"""One PCI DSS 1.2.6 exception covering several findings (``also_covers``), on a real ledger: the exceptions
report (rows, JSON records, CSV) and the signed minutes of a ceremony whose preflight relied on it name every
finding it covers, not only the first."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from lifecycle_support import People
from pypdf import PdfReader

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.flows import paperwork
from ceremony.flows.exceptions import exceptions_in_force, record_findings_exception
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.preflight import Finding, PreflightReport, Verdict, covering
from ceremony.preflight.report import evidence_payload
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import to_csv, to_text

LAPTOP = (
    Finding("net.listening", "Listening sockets", Verdict.INSECURE, "cupsd", subject="tcp 0.0.0.0:631"),
    Finding("net.interfaces", "Network interfaces", Verdict.INSECURE, "eth0 up", subject="interface eth0"),
    Finding("mem.coredump", "Core dumps", Verdict.PASS, "core dumps off"),
)
COVERED = (("net.listening", "tcp 0.0.0.0:631"), ("net.interfaces", "interface eth0"))


def _record_exception(cast, now: datetime) -> str:
    officer, witness = cast.present("sophie", "security_officer"), cast.present("walter", "witness")
    record, _ = record_findings_exception(
        cast.ledger,
        LAPTOP[:2],
        current=LAPTOP,
        justification="HSM vendor window today; ports close only after the firmware update",
        compensating_controls="cable unplugged and sealed; witness watches the ports throughout",
        days=14,
        officer=officer,
        witness=witness,
        now=now,
    )
    assert record.covered == COVERED
    return record.exception_id


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages))


def test_the_exceptions_report_lists_every_finding_one_exception_covers(cast) -> None:
    exception_id = _record_exception(cast, datetime.now(UTC))
    facts = read_facts(cast.ledger, None)
    report = build_report("exceptions", facts, Filters(), datetime.now(UTC) + timedelta(minutes=1))
    (record,) = report.records
    assert record["covered"] == [{"check": c, "subject": s} for c, s in COVERED]
    # The CSV has a row per finding covered, so a subject is found directly.
    rows = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [(r["exception_id"], r["check"], r["subject"]) for r in rows] == [
        (exception_id, c, s) for c, s in COVERED
    ]
    assert {r["status"] for r in rows} == {"active"}
    text = to_text(report)
    for check, subject in COVERED:
        assert f"{check}: {subject}" in text  # the wording of reports.exceptions.finding_text


def test_the_minutes_name_every_finding_the_relied_exception_covers(cast) -> None:
    now = datetime.now(UTC)
    exception_id = _record_exception(cast, now)
    people = People(cast)
    # The preflight the ceremony records: both insecure findings, covered by the one exception.
    report = PreflightReport(now, "ceremony-laptop", "Linux test", "", LAPTOP)
    coverage = covering(LAPTOP, exceptions_in_force(cast.ledger, now), now + timedelta(minutes=1))
    assert not coverage.uncovered
    ceremony = GenerationCeremony.start(cast.ledger, people.admin, people.witness, "relied exception")
    ceremony.record_preflight(evidence_payload(report, coverage), uncovered=[])
    custodians = ("cust1", "cust2", "cust3")
    spec = KeySpec(KeyType.AES_256, "ZMK exception", "PIN zone master key", 365)
    ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, tuple(people.id(n) for n in custodians)))
    ceremony.generate()
    for number, name in enumerate(custodians, start=1):
        me = people(name)
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        typed.wipe()
        ceremony.confirm_receipt(number, me, f"EXC-{number:05d}", "recorded")
        assert ceremony.verify_share(number, me, text)
    ceremony.wipe()
    ceremony.close(paperwork.closing_checkpoint(cast.ledger))
    data = paperwork.minutes_data_for(cast.ledger, ceremony.ceremony_id)
    (relied,) = data.exceptions
    assert relied.exception_id == exception_id
    assert relied.finding == "net.listening: tcp 0.0.0.0:631; net.interfaces: interface eth0"
    flat = _text(paperwork.issue_minutes(cast.ledger, ceremony).pdf)
    assert exception_id in flat
    for check, subject in COVERED:
        assert f"{check}: {subject}" in flat, flat
