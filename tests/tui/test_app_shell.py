"""The app shell: help, step list, command palette without Screenshot, cancel hook and exit codes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Footer, Static

from ceremony.tui.app import CeremonyApp, run_tui
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.help import HelpScreen
from ceremony.tui.screens.home import HomeScreen
from ceremony.tui.widgets.step_list import CURRENT_MARK, DONE_MARK, PENDING_MARK, StepList

STEPS = ("Preflight", "Participants", "Key details", "Split", "Generate", "Distribute")


class StepScreen(CeremonyScreen[None]):
    TITLE = "Key details"
    HELP = "Choose the key type, label, usage and cryptoperiod."

    def __init__(self, calls: list[str], label: str, *, fail: bool = False) -> None:
        super().__init__(steps=STEPS, current_step=2)
        self.calls = calls
        self.label = label
        self.fail = fail

    def compose_body(self) -> ComposeResult:
        yield Static("body", id="body-text")

    def on_cancel_requested(self) -> None:
        self.calls.append(self.label)
        if self.fail:
            raise RuntimeError("the ledger refused the cancellation record")


def plain(renderable: object) -> str:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def _palette_options(app: App[object], pilot: Pilot[object], query: str) -> list[str]:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)
    await pilot.pause(0.5)
    results = app.screen.query_one(CommandList)
    return [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]


async def test_home_screen_and_plain_quit(tmp_path: Path) -> None:
    app = CeremonyApp(ledger=tmp_path / "ledger.sqlite3")
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, HomeScreen)
        text = app.screen.query_one("#welcome", Static).render()
        assert "ledger.sqlite3" in str(text)
        footer_keys = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"ctrl+c", "f1", "q"} <= footer_keys
        assert app.screen.query(Footer)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("key", ["f1", "question_mark"])
async def test_help_lists_keys_and_what_the_screen_does(key: str) -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(StepScreen([], "a"))
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(plain(w.content) for w in app.screen.query(Static))
        assert "Key details" in text and "cryptoperiod" in text
        assert "Ctrl+C" in text and "cancel" in text
        assert "Ctrl+P" in text
        assert "Home" in text  # the screen guide
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen)


async def test_palette_is_enabled_but_has_no_screenshot_command() -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Quit" in titles and "Theme" in titles
        assert not any("screenshot" in t.lower() for t in titles)
        options = await _palette_options(app, pilot, "screen")
        assert not any("screenshot" in o.lower() for o in options)
        await pilot.press("escape")


async def test_stock_palette_offers_screenshot_control() -> None:
    # Control: Textual's own palette offers it, so the test above can fail.
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        options = await _palette_options(app, pilot, "screen")
        assert any("screenshot" in o.lower() for o in options)


@pytest.mark.parametrize("key", ["ctrl+c", "ctrl+q"])
async def test_cancel_calls_every_screen_hook_top_first_and_exits_130(key: str) -> None:
    calls: list[str] = []
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(StepScreen(calls, "lower"))
        await app.push_screen(StepScreen(calls, "upper"))
        await pilot.press(key)
        await pilot.pause()
    assert calls == ["upper", "lower"]
    assert app.return_code == 130


async def test_palette_quit_is_a_recorded_cancel() -> None:
    calls: list[str] = []
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(StepScreen(calls, "step"))
        await app.action_quit()
        await pilot.pause()
    assert calls == ["step"]
    assert app.return_code == 130


async def test_app_level_hook_override_is_awaited() -> None:
    recorded: list[str] = []

    class FlowApp(CeremonyApp):
        async def on_cancel_requested(self) -> None:
            recorded.append("flow cancelled")
            await super().on_cancel_requested()

    app = FlowApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert recorded == ["flow cancelled"]
    assert app.return_code == 130


async def test_a_failing_cancel_hook_is_an_internal_error_not_a_clean_exit() -> None:
    app = CeremonyApp()
    with pytest.raises(RuntimeError):
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(StepScreen([], "step", fail=True))
            await pilot.press("ctrl+c")
            await pilot.pause()
    assert app.return_code == 1


async def test_step_list_shows_marks_and_progress() -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(StepScreen([], "a"))
        await pilot.pause()
        steps = app.screen.query_one(StepList)
        assert steps.region.width == 26 and steps.region.height <= 24
        lines = steps.render().plain.splitlines()
        assert lines[0] == "Step 3 of 6"
        assert lines[1:] == [
            f"{DONE_MARK} Preflight",
            f"{DONE_MARK} Participants",
            f"{CURRENT_MARK} Key details",
            f"{PENDING_MARK} Split",
            f"{PENDING_MARK} Generate",
            f"{PENDING_MARK} Distribute",
        ]
        steps.advance()
        await pilot.pause()
        assert steps.render().plain.splitlines()[4] == f"{CURRENT_MARK} Split"
        steps.current = 99
        assert steps.finished and steps.render().plain.startswith("All 6 steps done")
        steps.current = -3
        assert steps.current == 0
    with pytest.raises(ValueError):
        StepList([])


def test_run_tui_keeps_its_signature() -> None:
    import inspect

    signature = inspect.signature(run_tui)
    assert list(signature.parameters) == ["ledger"]
