"""The participants screen at 80x24 (issue 14): every column of the table shown whole, Enroll on screen
without scrolling, the "enough people" line agreeing with the README (three custodians for a 2-of-3), and
no Tab stop that cannot be seen."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, DataTable

from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.participants import ParticipantsScreen
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, wait_for
from tests.tui.screen_80x24 import fully_on_screen, screen_lines, tab_through

# Seven people, one with a long name and two roles: the widest table a small team makes.
CROWD = (
    ("sophie", "Sophie Officer", ("security_officer",)),
    ("alice", "Alice Admin", ("administrator",)),
    ("walter", "Walter Witness", ("witness",)),
    ("dual", "Dana Both-Hetherington", ("administrator", "witness")),
    ("cust1", "Carla One", ("custodian",)),
    ("cust2", "Chris Two", ("custodian",)),
    ("cust3", "Cora Three", ("custodian",)),
)

TWO_CUSTODIANS = CROWD[:3] + CROWD[4:6]


def app_for(path: Path) -> LedgerApp:
    return LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)


async def test_the_table_shows_every_column_whole_and_enroll_is_on_screen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, CROWD)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#participants", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        await pilot.pause()
        screen = app.screen
        lines = screen_lines(app)
        header = next(line for line in lines if line.lstrip().startswith("Name"))
        assert "Status" in header.split(), header  # never "Stat" cut by the edge
        for row in (line for line in lines if "E000" in line and "(E000" not in line):
            assert "active" in row.split(), row  # never "acti"
        dana = next(line for line in lines if "E0003" in line)
        assert "Administrator, Witness" in dana
        assert screen.query_one("#people", DataTable).row_count == 7
        # Enroll and Done are on screen, below both sign-in forms, without scrolling.
        assert fully_on_screen(app, screen.query_one("#enroll", Button))
        assert fully_on_screen(app, screen.query_one("#done", Button))
        assert screen.query_one("#body").scroll_offset.y == 0


async def test_two_custodians_are_not_enough_three_make_a_2_of_3(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, TWO_CUSTODIANS)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#participants", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert "A ceremony still needs: 1 more key custodian." in text
        assert "Enough people" not in text


async def test_enough_names_the_splits_the_custodians_can_hold(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, CROWD)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#participants", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        await pilot.pause()
        assert "✓ Enough people are enrolled for a 2-of-3 ceremony." in "\n".join(screen_lines(app))


async def test_every_tab_stop_can_be_seen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, CROWD)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#participants", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        await pilot.pause()
        first = app.focused
        stops = await tab_through(pilot, app, 8)
        assert first in stops  # round the screen and back: the officer's passphrase field
        assert app.screen.query_one("#people", DataTable) in stops


async def test_each_officer_fingerprint_is_shown_as_printed_for_the_auditor(tmp_path: Path) -> None:
    """Issue 15, item 2: the participants screen prints every security officer's certificate fingerprint
    in the grouped form that ``verify --bundle --officer-cert-sha256`` takes as printed (Page Down)."""
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding

    from ceremony.crypto.fingerprint import parse_fingerprint
    from ceremony.ledger.participants import participants
    from ceremony.ledger.store import Ledger

    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, CROWD)
    with Ledger.open(path, read_only=True) as ledger:
        sophie = next(p for p in participants(ledger) if p.name == "Sophie Officer")
    expected = hashlib.sha256(sophie.certificate.public_bytes(Encoding.DER)).hexdigest()
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#participants", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ParticipantsScreen))
        await pilot.pause()
        shown = str(app.screen.query_one("#fingerprints").render())
        assert "Sophie Officer (E0000)" in shown and "Alice Admin" not in shown
        printed_text = shown.split("):", 1)[1]
        assert parse_fingerprint(printed_text) == expected  # read back exactly as printed
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        assert any("Certificate fingerprint (SHA-256) of Sophie" in line for line in screen_lines(app))
