"""The main menu reaches every ceremony and register screen, keyboard only, within 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.tui.app import LedgerApp
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, wait_for

ENTRIES = [
    ("recover", "Recovery: key and output"),
    ("reshare", "Re-share: key and new custodians"),
    ("retire", "Retire a key or split"),
    ("departure", "Custodian departure"),
    ("keys", "Keys"),
    ("reaffirmations", "Reaffirmations"),
    ("reports", "Reports"),
]


@pytest.mark.parametrize(("button", "title"), ENTRIES)
async def test_each_lifecycle_entry_opens_its_screen(tmp_path: Path, button, title) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        # every choice is visible at 80x24 without scrolling
        menu = app.screen.query_one("#menu")
        assert menu.region.bottom <= 23
        target = app.screen.query_one(f"#{button}")
        while app.focused is not target:
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "TITLE", None) == title)
        assert app.screen.TITLE == title


def test_read_only_auditor_view_in_tmux_leaves_the_ledger_untouched(tmp_path: Path) -> None:
    """`ceremony --read-only --ledger PATH` on the real terminal: verify's result first, nothing written."""
    import hashlib

    from tests.tui.tmux_harness import TmuxSession, tmux_available

    if not tmux_available():
        pytest.fail("tmux is missing: scripts/test installs it")
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--read-only", "--ledger", str(path))
        screen = tmux.wait_for_text("INTACT")
        assert "FAULT" not in screen
        tmux.send_keys("q")
        code, _ = tmux.wait_for_exit()
    assert code == 0
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.sqlite3"]
