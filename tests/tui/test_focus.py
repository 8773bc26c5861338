"""Focus at 80x24 (issue 14 Part 2.4): no invisible Tab stops, and nothing moves the focus by itself.

For each screen the issue names (the air-gap preflight of generation and of a recovery, generation's
"Generate the key" and recovery's "Key rebuilt" with their large KCV, the envelope screens, the auditor's
home and the reports) Tab is pressed through one full cycle. Every widget that takes the focus must be on
screen whole, and must look different focused than not: the screen is rendered with it focused and again
with nothing focused, and the widget's own cells must differ (a table with no rows, a body with nothing to
scroll or a hidden button would take the Tab press and show nothing for it).

Choosing a person in an :class:`AuthForm` leaves the focus on the list; Tab then goes to the passphrase.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, DataTable, Digits, Input, Select, SelectionList

from ceremony.ledger.store import Ledger
from ceremony.preflight import PreflightReport
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.auditor.auditor import AuditorApp, AuditorHomeScreen
from ceremony.tui.screens.control_auth import ControlAuthScreen
from ceremony.tui.screens.control_auth import ControlAuthScreen as RecoveryAuthScreen
from ceremony.tui.screens.distribution import LookAwayScreen, ReceiptScreen, ShareScreen
from ceremony.tui.screens.gen_generate import GenerateScreen
from ceremony.tui.screens.gen_preflight import PreflightScreen
from ceremony.tui.screens.lifecycle.preflight import LifecyclePreflightScreen
from ceremony.tui.screens.lifecycle.recovery_custodian import CustodianScreen
from ceremony.tui.screens.lifecycle.recovery_envelope import EnvelopeScreen
from ceremony.tui.screens.lifecycle.recovery_rebuild import RebuiltScreen
from ceremony.tui.screens.officer.reports import ReportsScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from tests.tui import test_generation_screens as gen
from tests.tui import test_lifecycle_screens as rec
from tests.tui.gen_cast import (
    FAST_KDF,
    clear_laptop,
    make_ledger,
    networked_laptop,
    passphrase,
    pick,
    type_into,
    wait_for,
)
from tests.tui.lifecycle_cast import LifecycleApp, generate, prepare

SIZE = (80, 24)


def cells(pilot: Pilot[object], region: Region) -> list[str]:
    """The rendered cells of ``region`` (text and style), as the terminal would show them."""
    strips = pilot.app.screen._compositor.render_strips()
    return [
        "".join(f"{segment.text}{segment.style!r}" for segment in strip.crop(region.x, region.right))
        for strip in strips[region.y : region.bottom]
    ]


async def check_focused(pilot: Pilot[object], where: str) -> Widget:
    """The focused widget is displayed, on screen whole, and shows that it has the focus."""
    app = pilot.app
    widget = app.focused
    assert widget is not None, f"{where}: Tab left nothing focused"
    name = f"{where}: {type(widget).__name__}#{widget.id}"
    assert widget.display and widget.visible, f"{name} is hidden"
    geometry = app.screen.find_widget(widget)
    shown = geometry.region.intersection(geometry.clip)
    assert shown.area > 0, f"{name} is not on screen"
    assert shown == geometry.region, f"{name} is cut off: {geometry.region} shows only {shown}"
    assert app.screen.region.contains_region(shown), f"{name} is outside the screen"
    focused = cells(pilot, shown)
    app.set_focus(None, scroll_visible=False)
    await pilot.pause()
    await pilot.pause()
    unfocused = cells(pilot, shown)
    app.set_focus(widget, scroll_visible=False)
    await pilot.pause()
    await pilot.pause()
    assert focused != unfocused, f"{name} takes the focus but shows nothing for it"
    return widget


async def tab_cycle(pilot: Pilot[object], where: str) -> list[str]:
    """Tab through one full cycle (back to the first widget focused), checking each stop; the stops'
    names (``Type#id``)."""
    stops: list[Widget] = []
    for _ in range(40):
        await pilot.press("tab")
        await pilot.pause()
        await pilot.pause()
        widget = await check_focused(pilot, where)
        if stops and widget is stops[0]:
            return [f"{type(w).__name__}#{w.id}" for w in stops]
        stops.append(widget)
    raise AssertionError(f"{where}: Tab never came back to {stops[0]!r}")


# --- generation ---------------------------------------------------------------------------------------


async def test_generation_preflight_and_kcv_screens_have_no_invisible_tab_stop(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        screen = app.screen
        await wait_for(pilot, lambda: not screen.query_one("#continue", Button).disabled)
        stops = await tab_cycle(pilot, "preflight, clear")
        assert "DataTable#findings" in stops and "Button#override" not in stops
        screen.query_one("#continue", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ControlAuthScreen))
        await gen.through_auth(pilot, app, ids)
        await gen.through_key_details(pilot, app)
        await gen.plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
        screen = app.screen
        # The random source (issue 16: the laptop's CSPRNG or a token's generator) is chosen before Generate.
        assert sorted(await tab_cycle(pilot, "generate, before")) == ["Button#generate", "Select#source"]
        screen.query_one("#generate", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.query_one("#kcv", Digits).display)
        assert await tab_cycle(pilot, "generate, KCV shown") == ["Checkbox#read-aloud"]
        await pilot.press("space")
        await pilot.pause()
        stops = await tab_cycle(pilot, "generate, KCV read")
        assert sorted(stops) == ["Button#continue", "Checkbox#read-aloud"]
        screen.query_one("#continue", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LookAwayScreen))
        await gen.authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase("cust1"))
        await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
        await pilot.press("enter")  # "I have recorded it"
        await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
        stops = await tab_cycle(pilot, "envelope serial")
        assert "Input#serial" in stops


async def test_a_preflight_still_running_offers_no_empty_table(tmp_path: Path) -> None:
    """While the checks run, the findings table is empty: it is no Tab stop until it has rows."""
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, rehearsal=False)
    release = threading.Event()

    def slow_networked_laptop(now: datetime) -> PreflightReport:
        release.wait(10)
        return networked_laptop(now)

    app = LedgerApp(path, kdf=FAST_KDF, preflight=slow_networked_laptop)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        screen = app.screen
        stops = await tab_cycle(pilot, "preflight, running")
        assert "DataTable#findings" not in stops
        release.set()
        await wait_for(pilot, lambda: screen.query_one("#findings", DataTable).row_count > 0)
        await pilot.pause()
        stops = await tab_cycle(pilot, "preflight, blocked")
        assert "DataTable#findings" in stops and "Button#except" in stops
        assert "Button#continue" not in stops  # disabled: blocked on a production ledger


# --- recovery -----------------------------------------------------------------------------------------


async def test_recovery_preflight_envelope_and_kcv_screens_have_no_invisible_tab_stop(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    with Ledger.open(path) as ledger:
        zmk = generate(ledger, ids, ("cust1", "cust2", "cust3"), 2, "ZMK")
        app = LifecycleApp(lambda: rec.recovery_screen(ledger))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.screen
            await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
            await type_into(pilot, screen.query_one("#purpose", Input), "Reload the ZMK into HSM-2")
            await pick(pilot, screen.query_one("#output", Select), "components")
            listing: SelectionList[str] = screen.query_one("#components", SelectionList)
            for index in (3, 4):  # two custodians who hold no share of it
                listing.select(listing.get_option_at_index(index).value)
            screen.query_one("#continue", Button).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, LifecyclePreflightScreen))
            screen = app.screen
            await wait_for(pilot, lambda: not screen.query_one("#preflight-continue", Button).disabled)
            stops = await tab_cycle(pilot, "recovery preflight")
            assert "DataTable#findings" in stops
            screen.query_one("#preflight-continue", Button).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, RecoveryAuthScreen))
            await rec.control_auth(pilot, app, ids)
            await tab_cycle(pilot, "envelopes and shares")
            for number in (1, 2):
                await rec.custodian_in(pilot, app, ids, zmk.holders[number])
                await wait_for(pilot, lambda: isinstance(app.screen, EnvelopeScreen))
                if number == 1:
                    stops = await tab_cycle(pilot, "envelope")
                    assert "Input#serial" in stops and "Button#record" in stops
                await rec.inspect(pilot, app, zmk.serials[number])
                await rec.type_share(pilot, app, zmk.texts[number])
                await wait_for(pilot, lambda: isinstance(app.screen, CustodianScreen))
            await rec.rebuild(pilot, app)
            await wait_for(pilot, lambda: isinstance(app.screen, RebuiltScreen))
            assert await tab_cycle(pilot, "key rebuilt") == ["Button#continue"]


async def test_choosing_a_name_leaves_the_focus_on_the_list(tmp_path: Path) -> None:
    """On "Envelopes and shares" a custodian chooses their name with the keys: the focus stays on the
    list, and Tab goes on to the passphrase field (a newcomer presses Tab after choosing)."""
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    with Ledger.open(path) as ledger:
        zmk = generate(ledger, ids, ("cust1", "cust2", "cust3"), 2, "ZMK")
        app = LifecycleApp(lambda: rec.recovery_screen(ledger))
        async with app.run_test(size=SIZE) as pilot:
            await rec.plan_recovery(
                pilot, app, zmk.key_id, wrapped=False, components=(ids["cust4"], ids["cust5"])
            )
            await rec.control_auth(pilot, app, ids)
            await wait_for(pilot, lambda: isinstance(app.screen, CustodianScreen))
            form = app.screen.query_one("#custodian", AuthForm)
            select = form.query_one(Select)
            select.focus()
            await pilot.pause()
            await pilot.press("enter")  # open the list
            await pilot.pause()
            await pilot.press("down", "enter")  # the first person
            await pilot.pause()
            await pilot.pause()
            assert form.person_id is not None
            assert app.focused is select
            await pilot.press("tab")
            await pilot.pause()
            assert app.focused is form.query_one(SecretInput)
            await check_focused(pilot, "passphrase after Tab")


# --- auditor and reports ------------------------------------------------------------------------------


async def test_auditor_home_and_reports_have_no_invisible_tab_stop(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    with Ledger.open(path) as ledger:
        generate(ledger, ids, ("cust1", "cust2", "cust3"), 2, "ZMK")
    app = AuditorApp(path, export_folder=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AuditorHomeScreen) and app.screen.verified)
        assert sorted(await tab_cycle(pilot, "auditor home")) == ["Button#quit", "Button#reports"]
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportsScreen) and app.screen.shown is not None)
        screen = app.screen
        for kind in ("custody", "exceptions"):
            screen.query_one("#kind", Select).value = kind
            await wait_for(pilot, lambda k=kind: screen.shown is not None and screen.shown.report.kind == k)
            await pilot.pause()
            stops = await tab_cycle(pilot, f"report {kind}")
            assert "Select#kind" in stops and "Button#export-pdf" in stops
