"""The security officer's screens: reaffirmation standings, recording one in the custodian's presence
(PCI DSS 3.7.8), and the reports screen's filters.

On copies of the reports' known-answer ledger (tests/reports/report_scenario.py), read "as of" day 368:
C3 is overdue (acknowledged day 0, due day 365), C4 and C5 are due within 30 days (due day 370), C1 is
current (reaffirmed day 330), C2 left on day 100 and is no longer listed.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from ceremony.documents.templates import default_forms_dir
from ceremony.flows.reaffirmation import default_form_path
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.reports.model import DOCUMENT_EVENT, REAFFIRMED_EVENT
from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.officer.reaffirmations import ReaffirmationsScreen, RecordReaffirmationScreen
from ceremony.tui.screens.officer.reports import ReportsScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
from report_scenario import AS_OF, Scenario, build_scenario


class Clock:
    """AS_OF, one second later at each reading (the ledger wants its events in time order)."""

    def __init__(self) -> None:
        self.now = AS_OF

    def __call__(self):  # type: ignore[no-untyped-def]
        moment = self.now
        self.now += timedelta(seconds=1)
        return moment


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("officer") / "ledger.sqlite3")


@pytest.fixture
def ledger_path(scenario: Scenario, tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(scenario.path.read_bytes())
    return path


class OfficerApp(CeremonyApp):
    """The shell with the officer's ledger open, the way the main menu hands it to the screen."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        super().__init__(ledger=ledger.path)
        self.opened = ledger
        self.clock = clock

    def on_mount(self) -> None:
        self.push_screen(ReaffirmationsScreen(self.opened, clock=self.clock))

    def compose(self) -> ComposeResult:
        yield from ()


async def type_secret(pilot: Pilot[object], words: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in words))


async def settle(app: App[object], pilot: Pilot[object]) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def rows(screen: ReaffirmationsScreen) -> list[tuple[str, str]]:
    table = screen.query_one(DataTable)
    return [(str(table.get_row_at(i)[1]), str(table.get_row_at(i)[0])) for i in range(table.row_count)]


async def test_standings_overdue_first_in_red(scenario: Scenario, ledger_path: Path) -> None:
    with Ledger.open(ledger_path) as ledger:
        app = OfficerApp(ledger, Clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ReaffirmationsScreen)
            listed = rows(screen)
            assert listed[0] == ("C3", "OVERDUE")
            assert sorted(listed[1:3]) == [("C4", "due ≤ 30 days"), ("C5", "due ≤ 30 days")]
            assert listed[3] == ("C1", "current")
            assert "C2" not in {name for name, _ in listed}  # left on day 100
            status_cell = screen.query_one(DataTable).get_row_at(0)[0]
            assert isinstance(status_cell, Text) and "red" in str(status_cell.style)
            due_cell = screen.query_one(DataTable).get_row_at(0)[4]
            assert str(due_cell) == "2026-03-01"  # day 365
            summary = str(screen.query_one("#reaffirm-summary", Static).render())
            assert "1 overdue" in summary and "2 due within 30 days" in summary and "1 current" in summary


async def test_record_a_reaffirmation_signed_by_both(scenario: Scenario, ledger_path: Path) -> None:
    wording_sha = hashlib.sha256((default_forms_dir() / "reaffirmation.md").read_bytes()).hexdigest()
    c3, officer = scenario.ids["c3"], scenario.ids["officer"]
    blocked = ledger_path.parent / "not-a-folder"
    blocked.write_text("a file where the officer typed a folder")
    with Ledger.open(ledger_path) as ledger:
        before = ledger.checkpoint().size
        clock = Clock()
        app = OfficerApp(ledger, clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, ReaffirmationsScreen)
            await pilot.press("enter")  # C3, first row: overdue
            await pilot.pause()
            record = app.screen
            assert isinstance(record, RecordReaffirmationScreen)
            assert record.standing.person_id == c3

            # 1. the custodian reads the responsibilities, with what they hold
            wording = record.wording_markdown
            assert "## Responsibilities reaffirmed" in wording and "I will report at once" in wording
            assert scenario.envelopes[("K1", 3)] in wording and "{" not in wording
            assert record.query_one("#wording").display
            await pilot.click("#read-done")
            await pilot.pause()

            # 2. the custodian signs: a wrong passphrase first (recorded, tries left), then theirs
            custodian_form = record.query_one("#custodian-auth", AuthForm)
            assert custodian_form.display and not record.query_one("#wording").display
            await type_secret(pilot, "not my passphrase")
            await pilot.press("enter")
            await settle(app, pilot)
            assert "2 tries left" in str(custodian_form.query_one(".auth-status", Static).render())
            assert record.custodian is None
            await type_secret(pilot, "test passphrase of c3")
            await pilot.press("enter")
            await settle(app, pilot)
            assert record.custodian is not None and record.custodian.person_id == c3

            # 3. the security officer co-signs
            assert record.query_one("#officer-auth", AuthForm).display
            await type_secret(pilot, "test passphrase of officer")
            await pilot.press("enter")
            await settle(app, pilot)
            assert record.officer is not None and record.officer.person_id == officer

            # 4. the path: default beside the ledger; first one that cannot be written
            path_field = record.query_one("#pdf-path", Input)
            assert Path(path_field.value) == default_form_path(ledger_path, "T005", AS_OF)
            path_field.value = str(blocked / "form.pdf")
            await pilot.click("#sign")
            await settle(app, pilot)
            status = str(record.query_one("#record-status", Static).render())
            assert "could not be written" in status and record.record is not None
            assert str(record.query_one("#sign", Button).label) == "Write the form"
            target = ledger_path.parent / "forms" / "c3.pdf"
            path_field.value = str(target)
            await pilot.click("#sign")
            await settle(app, pilot)
            assert record.written == target and target.exists()
            seq = record.record.event_seq
            await pilot.click("#done")
            await pilot.pause()
            # back on the list: C3 is current now
            assert isinstance(app.screen, ReaffirmationsScreen)
            assert ("C3", "current") in rows(app.screen)
            assert f"#{seq}" in str(app.screen.query_one("#reaffirm-status", Static).render())

        # the ledger: one reaffirmation by both, one document whose hash is the written file's
        events = [e for e in ledger.events() if e.seq > before]
        reaffirmed = [e for e in events if e.type == REAFFIRMED_EVENT]
        documents = [e for e in events if e.type == DOCUMENT_EVENT]
        assert [e.type for e in events].count("auth.failed") == 1
        assert len(reaffirmed) == 1 and len(documents) == 1
        event = reaffirmed[0]
        assert event.seq == seq
        assert sorted(event.attested_by) == sorted([c3, officer])
        payload = event.payload
        assert payload["person_id"] == c3 and payload["officer_id"] == officer
        assert payload["wording_sha256"] == wording_sha
        doc = documents[0].payload
        assert doc["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert verify_ledger(ledger_path).events == seq + 1  # every signature checks
    signatures = [
        f for f in PdfReader(target).get_fields().values() if f.get("/FT") == "/Sig" and f.get("/V")
    ]
    assert len(signatures) == 2


async def test_escape_before_signing_records_nothing(scenario: Scenario, ledger_path: Path) -> None:
    with Ledger.open(ledger_path) as ledger:
        before = ledger.checkpoint().size
        app = OfficerApp(ledger, Clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("down", "enter")
            await pilot.pause()
            assert isinstance(app.screen, RecordReaffirmationScreen)
            await pilot.click("#read-done")
            await pilot.pause()
            assert app.screen.query_one("#custodian-auth SecretInput", SecretInput).has_focus
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, ReaffirmationsScreen)
        assert ledger.checkpoint().size == before


async def test_reports_screen_refuses_a_bad_date_and_keeps_the_report(ledger_path: Path) -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = ReportsScreen(ledger_path, clock=Clock(), export_folder=ledger_path.parent / "out")
        await app.push_screen(screen)
        await settle(app, pilot)
        assert screen.shown is not None and screen.shown.report.kind == "custody"
        shown_before = screen.shown
        screen.query_one("#since", Input).value = "2025-13-01"
        await settle(app, pilot)
        assert "not a date" in str(screen.query_one("#report-status", Static).render())
        assert screen.shown is shown_before
        screen.query_one("#since", Input).value = "2026-01-01"
        screen.query_one("#until", Input).value = "2025-01-01"
        await settle(app, pilot)
        assert "'From' is after 'To'" in str(screen.query_one("#report-status", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReportsScreen)
