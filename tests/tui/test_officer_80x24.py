"""The security officer's screens at 80x24 (issue 14): "Export to" apart from its folder, counts that
agree with their nouns ("1 key"), and no Tab stop that cannot be seen on the reports, the reaffirmation
list and the recording of a reaffirmation.

On copies of the reports' known-answer ledger (tests/reports/report_scenario.py), as in
tests/tui/test_officer_screens.py."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Select

from ceremony.ledger.store import Ledger
from ceremony.reports.export import read_report
from ceremony.reports.model import Filters, count_of
from ceremony.reports.render import to_text
from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.officer.reaffirmations import ReaffirmationsScreen, RecordReaffirmationScreen
from ceremony.tui.screens.officer.reports import ReportsScreen
from tests.tui.screen_80x24 import fully_on_screen, screen_lines, tab_through
from tests.tui.test_officer_screens import Clock, OfficerApp, settle, type_secret

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "reports"))
from report_scenario import AS_OF, Scenario, build_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("officer80") / "ledger.sqlite3")


@pytest.fixture
def ledger_path(scenario: Scenario, tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(scenario.path.read_bytes())
    return path


async def open_reports(app: CeremonyApp, pilot, ledger_path: Path) -> ReportsScreen:  # type: ignore[no-untyped-def]
    screen = ReportsScreen(ledger_path, clock=Clock(), export_folder=ledger_path.parent / "out")
    await app.push_screen(screen)
    await settle(app, pilot)
    return screen


async def test_export_to_stands_apart_from_the_folder(ledger_path: Path) -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reports(app, pilot, ledger_path)
        line = next(line for line in screen_lines(app) if "Export to" in line)
        assert re.search(r"Export to +\S", line), line  # never "Export to/tmp/…"
        assert "PDF" in line and "CSV" in line


async def test_every_tab_stop_of_the_reports_screen_can_be_seen(ledger_path: Path) -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_reports(app, pilot, ledger_path)
        assert app.focused is screen.query_one("#kind", Select)
        stops = await tab_through(pilot, app, 10)
        assert screen.query_one("#export-folder", Input) in stops
        assert screen.query_one("#export-csv", Button) in stops
        assert screen.query_one("#kind", Select) in stops  # and round again


def test_one_key_is_one_key(scenario: Scenario) -> None:
    assert [count_of(n, "key") for n in (0, 1, 2)] == ["0 keys", "1 key", "2 keys"]
    assert count_of(1, "person", "people") == "1 person" and count_of(3, "person", "people") == "3 people"
    report, _ = read_report(scenario.path, "keys", Filters(key_id=scenario.keys["K1"]), AS_OF)
    text = to_text(report, 78)
    assert "1 key (" in text and "1 keys" not in text


async def test_every_tab_stop_of_the_reaffirmations_can_be_seen(
    scenario: Scenario, ledger_path: Path
) -> None:
    with Ledger.open(ledger_path) as ledger:
        app = OfficerApp(ledger, Clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ReaffirmationsScreen)
            assert app.focused is screen.query_one(DataTable)
            stops = await tab_through(pilot, app, 4)
            assert [w.id for w in stops[:3]] == ["record", "back", "standings"]

            await pilot.press("enter")  # the first custodian (overdue)
            await pilot.pause()
            record = app.screen
            assert isinstance(record, RecordReaffirmationScreen)
            # 1. reading: the wording and "Read" are the only stops (the hidden forms are none)
            assert fully_on_screen(app, record.query_one("#read-done", Button))
            stops = await tab_through(pilot, app, 3)
            assert {w.id for w in stops} == {"wording", "read-done"}
            await pilot.click("#read-done")
            await pilot.pause()
            # 2. the custodian's form only
            stops = await tab_through(pilot, app, 3)
            assert all(record.query_one("#custodian-auth") in w.ancestors for w in stops)
            await type_secret(pilot, "test passphrase of c3")
            await pilot.press("enter")
            await settle(app, pilot)
            # 3. the officer's form only
            assert record.query_one("#officer-auth").display
            stops = await tab_through(pilot, app, 3)
            assert all(record.query_one("#officer-auth") in w.ancestors for w in stops)
            await type_secret(pilot, "test passphrase of officer")
            await pilot.press("enter")
            await settle(app, pilot)
            # 4. the path and Sign and record
            assert app.focused is record.query_one("#sign", Button)
            stops = await tab_through(pilot, app, 4)
            assert {w.id for w in stops} >= {"pdf-path", "sign"}
            await pilot.press("escape")
            await pilot.pause()
