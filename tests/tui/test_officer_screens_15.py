"""Issue 15, item 7 and the TUI part of item 8: the officer's screens at 80x24.

The menu's attention lines follow what was just recorded (read again each time the menu is shown) and list
overdue reaffirmations; the key list says why a key needs attention in a visible column and opens the key's
detail on Enter; the departure screen refuses the same person as officer and witness when they authenticate;
"Verify ledger" is shown whole; the read-only view says what is true of a tampered ledger, a folder and a
missing file, with the next step.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Select, Static

from ceremony.flows.demo import DemoSummary, build_demo
from ceremony.ledger import participants
from ceremony.ledger.store import Ledger
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.auditor.auditor import AuditorApp, AuditorHomeScreen
from ceremony.tui.screens.lifecycle.departure import departure_screen
from ceremony.tui.screens.lifecycle.key_detail import KeyDetailScreen
from ceremony.tui.screens.lifecycle.key_list import KeyListScreen
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate, generate, passphrase, present
from tests.tui.screen_80x24 import fully_on_screen, screen_lines

ROSTER: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sophie", "Sophie Officer", ("security_officer", "witness")),  # an officer who may also witness
    ("olga", "Olga Officer", ("security_officer",)),
    ("alice", "Alice Admin", ("administrator",)),
    ("walter", "Walter Witness", ("witness",)),
    ("cust1", "Carla One", ("custodian",)),
    ("cust2", "Chris Two", ("custodian",)),
    ("cust3", "Cora Three", ("custodian",)),
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    return build_demo(tmp_path_factory.mktemp("demo") / "demo.sqlite3")


@pytest.fixture
def demo_copy(demo: DemoSummary, tmp_path: Path) -> Path:
    path = tmp_path / "demo.sqlite3"
    shutil.copyfile(demo.path, path)
    return path


def body(app: LifecycleApp) -> str:
    """The body's text (right of the step list) as one line, as a person reads the wrapped sentences."""
    rows = [line.split("│", 1)[1] for line in screen_lines(app) if "│" in line]
    return " ".join(" ".join(rows).split())


def shown(app: LedgerApp | AuditorApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


# --- the main menu -----------------------------------------------------------------------------------------
async def test_menu_warnings_follow_a_departure_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, ROSTER)
    with Ledger.open(path) as ledger:
        generate(ledger, ids, ("cust1", "cust2"), 2, "ZMK")
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        await pilot.pause()
        assert "must be replaced" not in shown(app, "#menu-attention")
        ledger = app.context.open()
        assert ledger is not None
        officer = present(ledger, ids, "sophie", "security_officer")
        witness = present(ledger, ids, "walter", "witness")
        # Recorded while a menu task is open (as the departure screen does), then back to the menu.
        app.screen.query_one("#keys", Button).press()
        await wait_for(pilot, lambda: isinstance(app.screen, KeyListScreen))
        participants.deactivate(
            ledger, ids["cust1"], "left", [officer.person_id, witness.person_id], [officer, witness]
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        await wait_for(pilot, lambda: "ZMK: must be replaced" in shown(app, "#menu-attention"))


async def test_menu_lists_overdue_reaffirmations(demo: DemoSummary, demo_copy: Path) -> None:
    assert demo.overdue  # the demo leaves one custodian overdue today
    app = LedgerApp(demo_copy, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "OVERDUE" in shown(app, "#menu-attention"))
        text = " ".join(shown(app, "#menu-attention").split())
        for employee in demo.overdue:
            assert f"({employee}): reaffirmation OVERDUE since" in text


async def test_verify_ledger_result_is_shown_whole_at_80x24(demo_copy: Path) -> None:
    app = LedgerApp(demo_copy, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        app.screen.query_one("#verify", Button).press()
        await wait_for(pilot, lambda: "intact" in shown(app, "#menu-status"))
        await pilot.pause()
        status = app.screen.query_one("#menu-status", Static)
        assert fully_on_screen(app, status)
        lines = screen_lines(app)
        flat = " ".join(" ".join(lines).split())
        assert "participants 12" in flat and "signatures" in flat and "; head " in flat
        assert all(len(line) <= 80 for line in lines)


# --- the key list and a key's detail -----------------------------------------------------------------------
async def test_key_list_says_why_in_a_visible_column_and_enter_opens_the_detail(demo_copy: Path) -> None:
    with Ledger.open(demo_copy) as ledger:
        app = LifecycleApp(lambda: KeyListScreen(ledger))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, KeyListScreen))
            await pilot.pause()
            lines = screen_lines(app)
            assert "3 need attention" in lines[1]
            rows = {
                label: next(line for line in lines if label in line) for label in ("ZMK-2026", "MAC-2026")
            }
            assert "MUST BE REPLACED" in rows["ZMK-2026"] and "expired 20" in rows["ZMK-2026"]
            assert "MUST BE REPLACED" in rows["MAC-2026"] and "due 20" in rows["MAC-2026"]
            table = app.screen.query_one("#keys", DataTable)
            first = table.coordinate_to_cell_key((0, 0)).row_key.value
            assert first is not None
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailScreen))
            await pilot.pause()
            flat = " ".join(" ".join(screen_lines(app)).split())
            assert first in flat  # the id in full, not its first 8 characters
            assert "KCV" in flat and "Cryptoperiod" in flat and "MUST BE REPLACED" in flat
            detail = " ".join(str(app.screen.query_one("#key-detail", Static).render()).split())
            assert "share 1: issued to" in detail and "held now by" in detail  # Page Down reads on
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, KeyListScreen))


# --- departure: one person, one role -----------------------------------------------------------------------
async def test_departure_refuses_the_officer_as_witness_when_they_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, ROSTER)
    with Ledger.open(path) as ledger:
        # The officer first: the witness list no longer offers her.
        app = LifecycleApp(lambda: departure_screen(ledger))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            officer = screen.query_one("#officer", AuthForm)
            await authenticate(pilot, officer, ids["sophie"], passphrase("sophie"))
            await wait_for(pilot, lambda: screen.officer is not None)  # type: ignore[attr-defined]
            offered = [
                value for _, value in screen.query_one("#witness", AuthForm).query_one(Select)._options
            ]
            assert ids["sophie"] not in offered and ids["walter"] in offered
        # The witness first (she may witness), then the same person as officer: refused on the spot.
        app = LifecycleApp(lambda: departure_screen(ledger))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            witness = screen.query_one("#witness", AuthForm)
            await authenticate(pilot, witness, ids["sophie"], passphrase("sophie"))
            await wait_for(pilot, lambda: screen.witness is not None)  # type: ignore[attr-defined]
            await authenticate(
                pilot, screen.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie")
            )
            await wait_for(pilot, lambda: "dual control" in body(app))
            assert screen.officer is None  # type: ignore[attr-defined]
            assert screen.step_list is not None and screen.step_list.current == 0  # type: ignore[attr-defined]
            flat = body(app)
            assert "Sophie Officer is already the witness: dual control needs two different people" in flat
    # The only security officer there is: never offered as the witness at all.
    path = tmp_path / "one-officer.sqlite3"
    ids = make_ledger(path, tuple(r for r in ROSTER if r[0] != "olga"))
    with Ledger.open(path) as ledger:
        app = LifecycleApp(lambda: departure_screen(ledger))
        async with app.run_test(size=(80, 24)) as pilot:
            assert list(app.screen.query_one("#witness", AuthForm).people) == [ids["walter"]]


# --- the read-only view ------------------------------------------------------------------------------------
def tamper(path: Path) -> int:
    """One event's signature swapped for another's (triggers dropped, edited, put back); its seq."""
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
    return int(seq)


async def auditor_text(path: Path) -> tuple[str, bool]:
    app = AuditorApp(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "verified", False))
        await pilot.pause()
        home = app.screen
        assert isinstance(home, AuditorHomeScreen)
        box = home.query_one("#verify-result", Static)
        assert fully_on_screen(app, box)
        text = " ".join(str(box.render()).split())
        return text, home.query_one("#reports", Button).disabled


async def test_read_only_view_of_a_tampered_ledger_says_what_is_true(demo_copy: Path) -> None:
    seq = tamper(demo_copy)
    text, reports_disabled = await auditor_text(demo_copy)
    assert f"LEDGER FAULT at event #{seq}" in text
    assert "for investigation" not in text  # never promised, never shown
    assert "No report is shown" in text and reports_disabled


async def test_read_only_view_of_a_folder_names_the_bundle_command(demo_copy: Path) -> None:
    bundle = demo_copy.parent / "bundle"
    bundle.mkdir()
    shutil.copyfile(demo_copy, bundle / "ledger.sqlite3")
    text, _ = await auditor_text(bundle)
    assert "A FOLDER, NOT A LEDGER FILE" in text
    assert f"ceremony verify --bundle {bundle}" in text
    assert f"ceremony --read-only --ledger {bundle / 'ledger.sqlite3'}" in text


async def test_read_only_view_of_a_missing_file_says_how_to_found_one(tmp_path: Path) -> None:
    path = tmp_path / "nothing.sqlite3"
    text, reports_disabled = await auditor_text(path)
    assert "NO LEDGER HERE" in text and "A ledger is founded on first run" in text and reports_disabled
    assert list(tmp_path.iterdir()) == []
