"""The founding and enrolment forms at 80x24 (issue 14): the whole form — every field, the namesakes'
tick, Enroll and the status line — on screen at once without scrolling; a tick that shows whether it is
ticked without relying on colour; no Tab stop that cannot be seen."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Checkbox, Input, RadioButton, SelectionList, Static

from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.enroll import EnrollScreen, FoundingScreen
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import make_ledger, passphrase, wait_for
from tests.tui.lifecycle_cast import authenticate
from tests.tui.screen_80x24 import (
    fully_on_screen,
    screen_lines,
    shown_mark,
    shown_selection_marks,
    tab_through,
)
from tests.tui.test_first_run import OFFICE, app_for, fill, open_participants


async def open_enrol_form(pilot, app, ids: dict[str, str]) -> EnrollScreen:  # type: ignore[no-untyped-def]
    screen = await open_participants(pilot, app)
    await authenticate(pilot, screen.query_one("#officer", AuthForm), None, passphrase("sophie"))
    await wait_for(pilot, lambda: screen.officer is not None)
    await authenticate(pilot, screen.query_one("#second", AuthForm), ids["alice"], passphrase("alice"))
    await wait_for(pilot, lambda: not screen.query_one("#enroll", Button).disabled)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, EnrollScreen))
    await pilot.pause()
    form = app.screen
    assert isinstance(form, EnrollScreen)
    return form


async def test_the_whole_enrol_form_fits_with_a_namesake_and_the_status(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, OFFICE)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_enrol_form(pilot, app, ids)
        for field in ("#name", "#employee", "#role", "#passphrase", "#repeat", "#submit"):
            assert fully_on_screen(app, form.query_one(field)), field
        secret = passphrase("other walter")
        await fill(
            pilot,
            form,
            name="Walter Witness",
            employee="E0042",
            role="custodian",
            passphrase=secret,
            repeat=secret,
        )
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        tick = form.query_one("#different", Checkbox)
        assert app.focused is tick
        # The name typed, the namesake, the tick, Enroll and what to do: all in view together.
        for widget in (
            form.query_one("#name"),
            form.query_one("#namesake-list"),
            tick,
            form.query_one("#submit"),
        ):
            assert fully_on_screen(app, widget), widget
        status = form.query_one("#status", Static)
        assert fully_on_screen(app, status) and "different person" in str(status.render())
        assert "Enroll" in "\n".join(screen_lines(app))


async def test_the_namesake_tick_shows_whether_it_is_ticked(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, OFFICE)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_enrol_form(pilot, app, ids)
        secret = passphrase("other walter")
        await fill(
            pilot,
            form,
            name="Walter Witness",
            employee="E0042",
            role="custodian",
            passphrase=secret,
            repeat=secret,
        )
        await pilot.press("enter")
        await pilot.pause()
        tick = form.query_one("#different", Checkbox)
        assert app.focused is tick and not tick.value
        assert shown_mark(tick) == " "  # an empty box, not a grey X
        await pilot.press("space")
        await pilot.pause()
        assert tick.value and shown_mark(tick) == "X"


class Ticks(CeremonyApp):
    """Every kind of tick the screens use, one of each state, under the app's stylesheet."""

    def on_mount(self) -> None:
        self.screen.mount(
            Checkbox("off", id="off"),
            Checkbox("on", True, id="on"),
            RadioButton("radio off", id="radio-off"),
            RadioButton("radio on", True, id="radio-on"),
            SelectionList[int](("not chosen", 1), ("chosen", 2, True), id="list"),
        )


async def test_ticked_and_unticked_look_different_everywhere() -> None:
    app = Ticks()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert shown_mark(app.query_one("#off", Checkbox)) == " "
        assert shown_mark(app.query_one("#on", Checkbox)) == "X"
        assert shown_mark(app.query_one("#radio-off", RadioButton)) == " "
        assert shown_mark(app.query_one("#radio-on", RadioButton)) == "●"
        app.query_one("#off", Checkbox).focus()  # focused and unticked: still an empty box
        await pilot.pause()
        assert shown_mark(app.query_one("#off", Checkbox)) == " "
        assert shown_selection_marks(app.query_one("#list", SelectionList)) == [" ", "X"]


async def test_every_tab_stop_of_the_enrol_form_can_be_seen(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path, OFFICE)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_enrol_form(pilot, app, ids)
        assert app.focused is form.query_one("#name", Input)
        stops = await tab_through(pilot, app, 7)
        # name → employee → role → passphrase → again → Enroll → back to the name: the hidden tick is no stop
        assert [w.id for w in stops[:6]] == ["employee", "role", "passphrase", "repeat", "submit", "name"]


async def test_every_tab_stop_of_the_founding_form_can_be_seen(tmp_path: Path) -> None:
    app = app_for(tmp_path / "ledger.sqlite3")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FoundingScreen))
        await pilot.pause()
        form = app.screen
        for field in ("#organisation", "#name", "#employee", "#passphrase", "#repeat", "#submit"):
            assert fully_on_screen(app, form.query_one(field)), field
        stops = await tab_through(pilot, app, 7)
        assert [w.id for w in stops[:6]] == [
            "name",
            "employee",
            "passphrase",
            "repeat",
            "submit",
            "organisation",
        ]
