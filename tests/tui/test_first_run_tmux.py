"""The real ``ceremony`` binary in tmux at 80x24: first run on an empty production ledger — the organisation's
name, the founding security officer, the ledger anchor on screen as on paper — then the participants screen.

Everything is keystrokes into the terminal and ``capture-pane`` reads; the passphrase is a dummy test one and
the key cost is the production one (scrypt, about half a second). The anchor is read off the screen the way
a person copies it and must parse back to the ledger's own anchor: every group of four unbroken.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from ceremony.ledger import participants as people
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.anchor import anchor_rows
from tests.tui.gen_cast import passphrase
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed")

ROW = re.compile(r"(?:[0-9A-F]{4} ){7}[0-9A-F]{4}")  # eight whole groups of four


def press(tmux: TmuxSession, *keys: str) -> None:
    """Keys at a person's pace: each one is handled (focus moved, screen switched) before the next."""
    for key in keys:
        tmux.send_keys(key)
        time.sleep(0.25)


def type_field(tmux: TmuxSession, text: str) -> None:
    """Type into the focused field and go on to the next one (Enter)."""
    tmux.type_text(text)
    press(tmux, "Enter")


def anchor_on_screen(screen: str) -> list[str]:
    """The rows inside the anchor's frame, as a person reads them off the screen."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if "CEREMONY-ANCHOR" in line)
    rows = []
    for line in lines[start:]:
        if "┃" not in line:
            break
        rows.append(line.split("┃")[1].removeprefix(" ").rstrip())  # the frame's padding: one space
    return rows


def test_first_run_founds_and_shows_the_anchor_at_80x24(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    secret = passphrase("sophie")
    with TmuxSession(cwd=tmp_path) as tmux:
        assert tmux.size() == (80, 24)
        tmux.run_ceremony("--ledger", str(path))
        tmux.wait_for_text("This ledger is empty", timeout=20)
        press(tmux, "Enter")
        screen = tmux.wait_for_text("Organisation")
        assert "Step 2 of 4" in screen
        type_field(tmux, "Acme Payments plc")
        type_field(tmux, "Sophie Officer")
        type_field(tmux, "E0001")
        type_field(tmux, secret)
        type_field(tmux, secret)  # Enter in the second passphrase field founds the ledger
        screen = tmux.wait_for_text("CEREMONY-ANCHOR", timeout=30)
        screen = tmux.wait_for_text("paper checkpoints")
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "Founded" in screen and "Acme Payments plc" in screen and "Step 3 of 4" in screen
        assert "ledger-anchor-" in screen.replace("\n", "")
        assert secret not in screen
        with Ledger.open(path, read_only=True) as ledger:
            anchor = people.anchor(ledger)
        shown = anchor_on_screen(screen)
        assert shown == anchor_rows(anchor)  # the three lines, hashes folded between groups only
        assert shown[0] == anchor.grouped()[0]
        assert all(
            ROW.fullmatch(row.removeprefix("genesis").removeprefix("root").strip()) for row in shown[1:]
        )
        assert Anchor.parse("\n".join(shown)) == anchor  # copied off the screen, it is the anchor
        press(tmux, "Enter")  # Continue: the participants
        screen = tmux.wait_for_text("Security officer: authenticate")
        assert "first enrollment after founding needs only the founding officer" in " ".join(screen.split())
        assert "Sophie Officer" in screen
        press(tmux, "C-c")
        code, _ = tmux.wait_for_exit()
    assert code == 130
    assert list((tmp_path / "ceremony-documents").glob("ledger-anchor-*.pdf"))
