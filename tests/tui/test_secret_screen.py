"""SecretScreen and ShareDisplay: no selection, no screenshot, no devtools, no way back, wiped buffers.

Dummy share text only (random-looking groups made up for the test, not a real share).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.app import ComposeResult
from textual.widgets import Static

from ceremony.errors import ScreenCaptureRefusedError
from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.help import HelpScreen
from ceremony.tui.screens.home import HomeScreen
from ceremony.tui.screens.secret_screen import SecretScreen
from ceremony.tui.widgets.secret_input import SecretInput
from ceremony.tui.widgets.share_display import ShareDisplay

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"


def dummy_lines(rows: int = 2, groups: int = 9, size: int = 5) -> list[bytearray]:
    """Deterministic dummy groups (not a share): row r, group g -> rotating alphabet."""
    lines = []
    for r in range(rows):
        words = []
        for g in range(groups):
            start = (r * groups + g) * 3
            words.append("".join(ALPHABET[(start + i) % len(ALPHABET)] for i in range(size)))
        lines.append(bytearray(" ".join(words), "ascii"))
    return lines


class RevealScreen(SecretScreen[None]):
    TITLE = "Share for one custodian"

    def __init__(self, lines: list[bytearray]) -> None:
        super().__init__(steps=("Preflight", "Participants", "Distribute", "Verify"), current_step=2)
        self.lines = lines

    def compose_body(self) -> ComposeResult:
        yield ShareDisplay(self.lines, caption="Share 1 of 3")
        yield SecretInput(id="confirm")


class NextScreen(CeremonyScreen[None]):
    TITLE = "Next"

    def compose_body(self) -> ComposeResult:
        yield Static("next step", id="next")


def all_zero(lines: list[bytearray]) -> bool:
    return all(not any(line) for line in lines)


async def test_share_display_fits_nine_groups_of_five_in_80_columns() -> None:
    lines = dummy_lines(rows=2, groups=9, size=5)
    expected_groups = [g for line in lines for g in line.decode().split()]
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(RevealScreen(lines))
        await pilot.pause()
        display = app.screen.query_one(ShareDisplay)
        assert display.region.right <= 80
        rendered = display.render().plain.splitlines()
        rows = [row for row in rendered if row.strip()]
        assert len(rows) == 2  # each line of nine groups stays on one row
        width = display.content_size.width
        assert all(len(row) <= width for row in rows)
        assert [g for row in rows for g in row.split()[1:]] == expected_groups
        assert rows[0].split()[0] == "1" and rows[1].split()[0] == "10"  # group numbers
        assert "  " in rows[0].split("  ", 1)[1]  # at least two spaces between groups
        assert app.screen.sub_title == "Step 3 of 4"  # progress shown in the header instead


async def test_secret_screen_disallows_selection_and_screenshots(tmp_path: Path) -> None:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(RevealScreen(dummy_lines()))
        await pilot.pause()
        screen = app.screen
        assert screen.allow_select is False
        assert app.screen.query_one(ShareDisplay).allow_select is False
        assert app.screen.query_one(SecretInput).allow_select is False
        with pytest.raises(ScreenCaptureRefusedError):
            app.save_screenshot(path=str(tmp_path))
        app.action_screenshot(path=str(tmp_path))
        assert app.deliver_screenshot(path=str(tmp_path)) is None
        await pilot.pause(0.3)
        assert list(tmp_path.iterdir()) == []


def test_devtools_stay_off_whatever_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL", "devtools,debug")
    app = CeremonyApp()
    assert app.devtools is None
    assert "devtools" not in app.features and "debug" not in app.features


async def test_leave_replaces_the_screen_and_wipes_the_share() -> None:
    lines = dummy_lines()
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        reveal = RevealScreen(lines)
        await app.push_screen(reveal)
        await pilot.pause()
        app.screen.query_one(SecretInput).insert_text_at_cursor("dummy")
        reveal.leave(NextScreen())
        await pilot.pause()
        assert isinstance(app.screen, NextScreen)
        assert all(not isinstance(s, SecretScreen) for s in app.screen_stack)
        assert all_zero(lines)
        app.pop_screen()  # "back"
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_covering_with_a_full_screen_wipes_and_back_skips_it() -> None:
    lines = dummy_lines()
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(RevealScreen(lines))
        await pilot.pause()
        await app.push_screen(NextScreen())  # a flow mistake: pushing instead of leave()
        await pilot.pause()
        assert all_zero(lines)
        app.pop_screen()  # "back" must not show the share again
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_help_overlay_keeps_the_share_and_returns_to_it() -> None:
    lines = dummy_lines()
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(RevealScreen(lines))
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert not all_zero(lines)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RevealScreen)
        assert not app.screen.query_one(ShareDisplay).wiped


async def test_dismiss_wipes_on_unmount() -> None:
    lines = dummy_lines()
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = RevealScreen(lines)
        await app.push_screen(screen)
        await pilot.pause()
        await screen.dismiss(None)
        await pilot.pause()
        assert all_zero(lines)
        assert isinstance(app.screen, HomeScreen)


async def test_ctrl_c_on_secret_screen_wipes_and_exits_130() -> None:
    lines = dummy_lines()
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(RevealScreen(lines))
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 130
    assert all_zero(lines)


def test_share_display_wipe_is_idempotent_without_mounting() -> None:
    lines = dummy_lines(rows=1)
    display = ShareDisplay(lines)
    assert display.group_count == 9
    display.wipe()
    display.wipe()
    assert all_zero(lines) and display.wiped
    assert "wiped" in display.render().plain
    assert os.environ.get("TEXTUAL_LOG") is None


async def test_share_display_wipes_itself_when_removed_from_any_screen() -> None:
    lines = dummy_lines(rows=1)

    class PlainScreen(CeremonyScreen[None]):
        def compose_body(self) -> ComposeResult:
            yield ShareDisplay(lines)

    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(PlainScreen())
        await pilot.pause()
        assert not all_zero(lines)
        await app.screen.query_one(ShareDisplay).remove()
        await pilot.pause()
        assert all_zero(lines)
