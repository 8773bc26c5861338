"""The ceremony screens at 80x24 as a person reads them (issue 14, 2.8): a refusal read whole beside the plan
it refuses, a disabled button that says why, labels and hints never cut at the body's edge, and the share
card's printer named in words. Each test drives the real screens on a real rehearsal ledger and reads the
rendered screen (:func:`tests.tui.screen_80x24.screen_lines`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Digits, Input, Label, Select, SelectionList, Static
from textual.widgets._select import SelectCurrent

from ceremony.errors import CustodyViolationError
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.distribution import CardScreen, ShareScreen
from ceremony.tui.screens.gen_generate import GenerateScreen
from ceremony.tui.screens.gen_key import SplitScreen
from ceremony.tui.screens.lifecycle.recovery_incident import (
    DECISIONS,
    DEMONSTRATED_CONTINUE,
    DEMONSTRATED_VOID,
    IncidentScreen,
)
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import make_ledger, passphrase, pick, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, generate, prepare
from tests.tui.screen_80x24 import fully_on_screen, screen_lines
from tests.tui.test_generation_screens import (
    app_for,
    authenticate,
    plan_split,
    through_auth,
    through_key_details,
    through_preflight,
)
from tests.tui.test_lifecycle_screens import (
    FOUR,
    control_auth,
    custodian_in,
    inspect,
    plan_recovery,
    recovery_screen,
)

_FRAME = str.maketrans("", "", "▁▂▃▄▅▆▇█▊▎▔▏▐▌")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Ledger, dict[str, str], object]]:
    """A rehearsal ledger with a 3-of-4 ZMK (cust1-4), as tests/tui/test_lifecycle_screens.py has it."""
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    ledger = Ledger.open(path)
    yield ledger, ids, generate(ledger, ids, FOUR, 3, "ZMK")
    ledger.close()


def body_text(app) -> str:
    """The screen's text right of the step list, frames and scrollbars dropped, lines joined by a space
    (a wrapped sentence reads as one)."""
    rows = [line.split("│", 1)[-1] for line in screen_lines(app)[1:-1]]
    return " ".join(" ".join(rows).translate(_FRAME).split())


def shown(app, sentence: str) -> bool:
    return " ".join(sentence.split()) in body_text(app)


async def test_a_split_knowledge_refusal_reads_whole_beside_the_plan(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    refusal = (
        "Carla One already knew share 1 of split 01JF8ZC4 of key 01JF8ZB1 (event #17); nobody may ever "
        "know two shares of one split (PCI DSS 3.7.6)"
    )

    def refuse(*_args: object) -> None:  # the custody engine's answer for a history that forbids the plan
        raise CustodyViolationError(refusal, forbidding_seq=17)

    monkeypatch.setattr("ceremony.flows.generation.dry_run_split", refuse)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        assert isinstance(app.screen, SplitScreen)
        await pilot.pause()
        screen = app.screen
        # The first frame already shows the whole refusal, with the plan it refuses still on screen.
        assert shown(app, f"✗ Split knowledge — {refusal}")
        assert shown(app, "Forbidden by ledger event #17.")
        status = screen.query_one("#status", Static)
        assert fully_on_screen(app, status)
        for selector in ("#scheme", "#share-1", "#share-2", "#share-3", "#plan"):
            assert fully_on_screen(app, screen.query_one(selector)), selector


async def test_continue_to_distribution_says_why_it_waits(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
        screen = app.screen
        why = screen.query_one("#continue-why", Static)
        await pilot.pause()
        assert screen.query_one("#continue", Button).disabled
        assert shown(app, "Generate the key first") and fully_on_screen(app, why)
        await pilot.press("enter")  # Generate
        await wait_for(pilot, lambda: screen.query_one("#kcv", Digits).display)
        await pilot.pause()
        assert screen.query_one("#continue", Button).disabled
        assert shown(app, "Tick that the KCV was read aloud (Space) to continue.")
        assert fully_on_screen(app, why)
        await pilot.press("space")
        await pilot.pause()
        assert not screen.query_one("#continue", Button).disabled
        assert "Tick that the KCV" not in body_text(app)


async def test_the_card_screen_says_where_the_card_goes_in_words(tmp_path: Path, monkeypatch) -> None:
    ram = Path(tempfile.mkdtemp(dir="/dev/shm"))
    monkeypatch.setenv("CEREMONY_PRINTER", f"ram:{ram}")
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = app_for(path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await through_preflight(pilot, app)
            await through_auth(pilot, app, ids)
            await through_key_details(pilot, app)
            await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
            await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen.query_one("#kcv", Digits).display)
            await pilot.press("space")
            await pilot.pause()
            await pilot.press("enter")
            await authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase("cust1"))
            await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
            app.screen.query_one("#card", Button).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
            await pilot.pause()
            assert shown(app, f"The card goes to a RAM folder ({ram}), for printing then wiping.")
            assert "sent to: ram" not in body_text(app)
    finally:
        for leftover in ram.iterdir():
            leftover.unlink()
        ram.rmdir()


async def test_recovery_plan_labels_read_whole(world) -> None:
    ledger, _ids, zmk = world
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
        for output in ("components", "wrapped"):
            await pick(pilot, screen.query_one("#output", Select), output)
            labels = [label for label in screen.query(Label) if label.display]
            assert any("custodians" in str(label.render()) for label in labels)
            for label in labels:
                label.scroll_visible(animate=False)
                await pilot.pause()
                text = str(label.render())
                assert shown(app, text), f"label cut: {text!r}"
                assert label.size.width >= len(text), f"label wraps: {text!r}"
        assert screen.query_one("#kek-custodians", SelectionList).display


async def test_incident_reason_hint_and_decisions_read_whole(world) -> None:
    ledger, ids, zmk = world
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_recovery(pilot, app, zmk.key_id, wrapped=True)
        await control_auth(pilot, app, ids)
        await custodian_in(pilot, app, ids, "cust1")
        await inspect(pilot, app, "TE-999999")
        await wait_for(pilot, lambda: isinstance(app.screen, IncidentScreen))
        screen = app.screen
        reason = screen.query_one("#reason", Input)
        reason.scroll_visible(animate=False)
        await pilot.pause()
        assert fully_on_screen(app, reason)
        assert shown(app, reason.placeholder), f"hint cut: {reason.placeholder!r}"
        # Every decision an officer may be offered (envelope or demonstrated knowledge) fits its field.
        room = screen.query_one("#decision", Select).query_one(SelectCurrent).content_region.width
        for label, _ in (*DECISIONS, DEMONSTRATED_CONTINUE, DEMONSTRATED_VOID):
            assert len(label) + 2 <= room, f"decision cut: {label!r}"  # + the ▼ and its gap
