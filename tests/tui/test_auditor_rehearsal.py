"""Issue 15, item 3: the read-only auditor view says REHEARSAL, as the main menu does, when the ledger is a
rehearsal ledger — on screen at 80x24 — and says production otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from ceremony.crypto.identity import ScryptParams
from ceremony.crypto.secret import SecretBytes
from ceremony.flows.enrolment import found_ledger
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.auditor.auditor import AuditorApp
from tests.tui.screen_80x24 import fully_on_screen, screen_lines


def _founded(path: Path, rehearsal: bool) -> Path:
    with Ledger.open(path, create=True, rehearsal=rehearsal) as ledger:
        founded = found_ledger(
            ledger,
            organisation="Example Payments Ltd",
            name="Sophie Laurent",
            employee_id="E1004",
            passphrase=SecretBytes(b"a passphrase of twelve+"),
            kdf=ScryptParams(log2_n=10, r=8, p=1),
        )
        founded.identity.lock()
    return path


@pytest.mark.parametrize("rehearsal", [True, False])
async def test_read_only_view_shows_rehearsal_at_80x24(tmp_path: Path, rehearsal: bool) -> None:
    path = _founded(tmp_path / "ledger.sqlite3", rehearsal)
    app = AuditorApp(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        banner = app.screen.query_one("#auditor-banner", Static)
        assert fully_on_screen(app, banner)
        screen = "\n".join(screen_lines(app))
        assert ("REHEARSAL ledger (TEST keys only)" in screen) is rehearsal
        assert ("Production ledger" in screen) is not rehearsal
        assert "LEDGER INTACT" in screen
