"""``ceremony report`` and ``ceremony demo`` on the demo ledger: the story it tells, and the auditor's
read-only guarantee (the ledger file is byte-identical, same mtime, after every report in every format)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from ceremony.commands import demo as demo_command
from ceremony.commands import report as report_command
from ceremony.commands import verify as verify_command
from ceremony.errors import InputError, ReportError
from ceremony.flows.demo import DemoSummary, build_demo
from ceremony.flows.reaffirmation import overdue_custodians, standings
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.policy.reaffirmation import Standing
from ceremony.reports import KINDS
from ceremony.reports.model import (
    read_facts,
)
from ceremony.reports.render import FORMATS

START = datetime(2025, 6, 2, tzinfo=UTC)


def run(*argv: str) -> int:
    """Parse and run one subcommand the way ``ceremony.cli`` does (its COMMANDS list is the lead's)."""
    parser = argparse.ArgumentParser(prog="ceremony")
    parser.add_argument("--ledger")
    sub = parser.add_subparsers(dest="command")
    for module in (report_command, verify_command, demo_command):
        module.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.sqlite3", start=START)


def _fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_size


def test_demo_ledger_tells_the_story(demo: DemoSummary) -> None:
    assert verify_ledger(demo.path).events == demo.events
    with Ledger.open_for_reading(demo.path) as ledger:
        assert ledger.info.rehearsal
        facts = read_facts(ledger)
        overdue = overdue_custodians(ledger, demo.end)
    by_employee = {p.employee_id: p for p in facts.people.values()}
    assert len(facts.people) == 12
    assert {k.key_type for k in facts.keys.values()} >= {"AES-256", "TDES-3KEY", "GENERIC", "AES-128"}
    assert {s.scheme_text for s in facts.splits.values()} >= {
        "Shamir 2-of-3",
        "Shamir 3-of-5",
        "XOR 3 components",
    }
    assert all(k.test_key for k in facts.keys.values())
    assert {by_employee[e].person_id for e in demo.overdue} == set(overdue)
    soon = {s.person_id for s in standings(facts, demo.end) if s.status is Standing.DUE}
    assert {by_employee[e].person_id for e in demo.due_soon} == soon
    assert all(not by_employee[e].active for e in demo.departed)
    departed_keys = {
        split.key_id
        for split in facts.splits.values()
        if any(
            by_employee[e].person_id in facts.custody.first_exposures(split.split_id) for e in demo.departed
        )
    }
    zmk = demo.keys["ZMK-2026 acquirer zone master key"]
    mac = demo.keys["MAC-2026 settlement file HMAC key"]
    pek = demo.keys["PEK-2026 terminal PIN encryption key"]
    assert departed_keys == {zmk, mac}  # by a share or component of one of their splits
    flagged = set(facts.flagged_keys())
    # Every key the departed custodian knew by any route is flagged: the ZMK and the MAC key by a share, the
    # PEK because Jonas typed a component of the KEK it was wrapped under. The ZMK's re-share kept the flag:
    # only a new key clears it (PCI DSS 3.7.5).
    assert flagged == {zmk, mac, pek}
    outcomes = {(c.kind, c.outcome) for c in facts.ceremonies.values()}
    assert ("generation", "voided") in outcomes and ("generation", "closed") in outcomes
    assert demo.recovery == (("recovery", "closed") in outcomes)
    assert demo.reshare == (("reshare", "closed") in outcomes)
    assert sorted(e.active(demo.end) for e in facts.exceptions) == [False, True]
    assert sum(1 for p in facts.people.values() for a in p.affirmations if a.kind == "reaffirmation") == 5


def test_every_report_in_every_format_leaves_the_ledger_untouched(demo: DemoSummary, tmp_path: Path) -> None:
    before = _fingerprint(demo.path)
    for kind in KINDS:
        for fmt in FORMATS:
            out = tmp_path / f"{kind}.{fmt}"
            assert run("report", kind, "--ledger", str(demo.path), "--format", fmt, "--out", str(out)) == 0
            assert out.stat().st_size > 0
    assert run("verify", "--ledger", str(demo.path)) == 0
    assert _fingerprint(demo.path) == before
    # No journal, no -wal; the demo's own signed papers (the anchor page) sit in ceremony-documents/.
    assert sorted(p.name for p in demo.path.parent.iterdir()) == ["ceremony-documents", demo.path.name]
    data = json.loads((tmp_path / "keys.json").read_text())
    assert data["rehearsal"] is True and len(data["records"]) == len(demo.keys)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "keys.csv").read_text())))
    assert {r["label"] for r in rows} == set(demo.keys)
    assert "page 1 of" in PdfReader(tmp_path / "custody.pdf").pages[0].extract_text()


def test_report_to_standard_output(demo: DemoSummary, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    person = demo.people[demo.overdue[0]]
    assert (
        run("report", "custodians", "--ledger", str(demo.path), "--format", "json", "--person", person) == 0
    )
    data = json.loads(capfdbinary.readouterr().out)
    assert [r["person_id"] for r in data["records"]] == [person]


def test_read_only_ledger_file_can_be_reported(demo: DemoSummary, tmp_path: Path) -> None:
    copy = tmp_path / "ro.sqlite3"
    copy.write_bytes(demo.path.read_bytes())
    os.chmod(copy, 0o444)
    out = tmp_path / "o.txt"
    assert run("report", "keys", "--ledger", str(copy), "--out", str(out)) == 0
    assert "Key inventory" in out.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--format", "pdf"), "needs --out"),
        (("--from", "2025-13-01"), "not a date"),
        (("--from", "2026-02-01", "--to", "2026-01-01"), "after --to"),
        (("--key", "NOSUCHKEY"), "no key"),
        (("--person", "NOSUCHPERSON"), "no person"),
    ],
)
def test_refusals_name_the_problem(demo: DemoSummary, argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ReportError, match=message):
        run("report", "custody", "--ledger", str(demo.path), *argv)


def test_demo_refuses_an_existing_file(demo: DemoSummary) -> None:
    with pytest.raises(InputError, match="already exists"):
        run("demo", "--ledger", str(demo.path))
