"""The auditor view: verify's result first, every report browsable, and the ledger file left untouched.

Real ledgers: the reports' known-answer ledger (tests/reports/report_scenario.py, frozen clock, light KDF)
and an attacker's copy of it with one signature swapped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from textual.widgets import Button, Input, Select, Static

from ceremony.errors import LedgerIntegrityError
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.reports import KINDS, build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.reports.render import to_csv, to_text
from ceremony.tui.screens.auditor.auditor import AuditorApp, AuditorHomeScreen, run_auditor_tui
from ceremony.tui.screens.officer.reports import ReportsScreen

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
from report_scenario import AS_OF, Scenario, build_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("auditor") / "ledger.sqlite3")


@pytest.fixture
def ledger_copy(scenario: Scenario, tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    path = folder / "ledger.sqlite3"
    path.write_bytes(scenario.path.read_bytes())
    return path


def fingerprint(path: Path) -> tuple[str, int, list[str]]:
    """SHA-256, mtime (ns) and the folder listing: any write, journal or WAL file would change one."""
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        path.stat().st_mtime_ns,
        sorted(p.name for p in path.parent.iterdir()),
    )


def shown(widget: Static) -> str:
    return str(widget.render())


async def settle(app: AuditorApp, pilot: object) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


@pytest.fixture
def attacker_copy(scenario: Scenario, tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A copy whose event 20 carries another event's signature (triggers dropped, edited, put back)."""
    path = tmp_path / "tampered.sqlite3"
    path.write_bytes(scenario.path.read_bytes())
    conn = sqlite3.connect(path, isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    seq, person_id = conn.execute(
        "SELECT seq, person_id FROM attestations WHERE seq >= 20 ORDER BY seq LIMIT 1"
    ).fetchone()
    other = conn.execute("SELECT signature FROM attestations WHERE seq < ? LIMIT 1", (seq,)).fetchone()[0]
    conn.execute(
        "UPDATE attestations SET signature = ? WHERE seq = ? AND person_id = ?", (other, seq, person_id)
    )
    for _, sql in triggers:
        conn.execute(sql)
    conn.close()
    yield path, seq


async def test_verify_first_then_every_report_and_the_ledger_is_untouched(
    ledger_copy: Path, tmp_path: Path
) -> None:
    with Ledger.open_for_reading(ledger_copy) as ledger:
        facts = read_facts(ledger)
    expected_checkpoint = verify_ledger(ledger_copy).checkpoint()
    assert expected_checkpoint is not None
    before = fingerprint(ledger_copy)
    out = tmp_path / "exports"

    app = AuditorApp(ledger_copy, clock=lambda: AS_OF, export_folder=out)
    app.animation_level = "none"  # scrolling jumps: the keys are pressed, not watched
    async with app.run_test(size=(80, 24)) as pilot:
        # verify's result is the first thing on screen, before any report
        home = app.screen
        assert isinstance(home, AuditorHomeScreen)
        await settle(app, pilot)
        result = shown(home.query_one("#verify-result", Static))
        assert "LEDGER INTACT" in result and "LEDGER FAULT" not in result
        # Printed in groups (issue 14): the ledger's checkpoint now, as the auditor reads it off the screen.
        assert expected_checkpoint.printed() in result
        assert not home.query_one("#reports", Button).disabled

        await pilot.press("r")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReportsScreen)
        for kind in KINDS:
            screen.query_one("#kind", Select).value = kind
            await settle(app, pilot)
            assert screen.shown is not None
            width = screen.shown.width
            assert width <= screen.query_one("#report-view").scrollable_content_region.width
            want = to_text(build_report(kind, facts, Filters(), AS_OF), width)
            assert shown(screen.query_one("#report-text", Static)).rstrip() == want.rstrip()
            screen.query_one("#report-view").focus()
            await pilot.press("pagedown", "end", "home")
            assert screen.shown is not None and screen.shown.report.kind == kind
            for line in want.splitlines():
                assert len(line) <= width  # fits the view at 80 columns

        # filters: a key, a person and a date range, exactly as the engine applies them
        k1, c1 = next(iter(facts.keys)), next(p for p, f in facts.people.items() if f.name == "C1")
        screen.query_one("#kind", Select).value = "custodians"
        screen.query_one("#key-filter", Select).value = k1
        screen.query_one("#person-filter", Select).value = c1
        screen.query_one("#since", Input).value = "2025-03-01"
        screen.query_one("#until", Input).value = "2026-03-04"
        await settle(app, pilot)
        report = screen.shown.report if screen.shown else None
        assert report is not None and report.filters_json == {
            "key": k1,
            "person": c1,
            "from": "2025-03-01",
            "to": "2026-03-04",
        }
        assert "C1" in shown(screen.query_one("#report-text", Static))

        # export, CSV and PDF, into the chosen folder (never beside the ledger)
        await pilot.press("f3")
        await settle(app, pilot)
        csv_path = screen.last_export
        assert csv_path is not None and csv_path.parent == out and csv_path.suffix == ".csv"
        assert list(csv.reader(io.StringIO(csv_path.read_text("utf-8")))) == list(
            csv.reader(io.StringIO(to_csv(report)))
        )
        await pilot.press("f2")
        await settle(app, pilot)
        pdf_path = screen.last_export
        assert pdf_path is not None and pdf_path.suffix == ".pdf"
        pdf_text = "".join(page.extract_text() for page in PdfReader(pdf_path).pages)
        assert "Key custodians" in pdf_text and report.checkpoint.split()[2] in pdf_text
        await pilot.press("f3")  # a second export never overwrites the first
        await settle(app, pilot)
        assert screen.last_export == csv_path.with_name(csv_path.stem + "-2.csv")
        assert csv_path.read_bytes() == screen.last_export.read_bytes()

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AuditorHomeScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert fingerprint(ledger_copy) == before  # byte-identical, same mtime, no journal/WAL/SHM


async def test_tampered_ledger_shows_the_fault_first_in_red(attacker_copy: tuple[Path, int]) -> None:
    path, seq = attacker_copy
    with pytest.raises(LedgerIntegrityError) as fault:
        verify_ledger(path)
    assert fault.value.seq == seq
    before = fingerprint(path)
    app = AuditorApp(path, clock=lambda: AS_OF)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        home = app.screen
        assert isinstance(home, AuditorHomeScreen)
        box = home.query_one("#verify-result", Static)
        content = box.render()
        text = str(content)
        assert f"LEDGER FAULT at event #{seq}" in text and "LEDGER INTACT" not in text
        assert str(fault.value) in text.replace("\n", " ") or str(fault.value) in text
        first_line_styles = {str(span.style) for span in getattr(content, "spans", [])}
        assert any("red" in style for style in first_line_styles)
        assert box.has_class("-fault")
        # no report is built from a ledger that does not verify, and the screen says so (issue 15)
        assert "No report is shown" in text.replace("\n", " ")
        assert home.query_one("#reports", Button).disabled
        await pilot.press("r")
        await settle(app, pilot)
        assert app.screen is home
    assert fingerprint(path) == before


async def test_no_ledger_there_says_so_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite3"
    app = AuditorApp(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        home = app.screen
        assert isinstance(home, AuditorHomeScreen)
        assert "NO LEDGER HERE" in shown(home.query_one("#verify-result", Static))  # with the next step
        assert home.query_one("#reports", Button).disabled
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is home
    assert list(tmp_path.iterdir()) == []


def test_run_auditor_tui_is_the_read_only_entry_point() -> None:
    assert run_auditor_tui.__annotations__["ledger_path"] in ("Path", Path)
    assert run_auditor_tui.__annotations__["return"] in ("int", int)
