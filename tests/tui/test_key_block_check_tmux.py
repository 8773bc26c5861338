"""The key block check in the real terminal (issue 16): the ``ceremony`` binary in tmux at 80x24, from the
main menu to the plan screen, where the block's file is read on Enter — a malformed file refused by name,
then a real TR-31 block whose header is shown decoded, as the room reads it off the pane. (The whole
ceremony, verdicts included, is driven by Pilot in ``test_key_block_check.py``.)"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ceremony.crypto import tr31
from ceremony.ledger.store import Ledger
from tests.tui.lifecycle_cast import generate, prepare
from tests.tui.test_generation_tmux import pick_option, press
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = [pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"), pytest.mark.tmux]

TO_KEY_BLOCK_CHECK = 5  # Down presses from "New key generation ceremony" to "Check a received key block"


def test_the_key_block_check_reads_a_block_file_in_tmux(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    with Ledger.open(path) as ledger:
        generate(ledger, ids, ("cust1", "cust2", "cust3"), 2, "ZMK")
    bad = tmp_path / "bad.tr31"
    bad.write_text("D0112K0AB00N0000not a key block")
    good = tmp_path / "zmk.tr31"
    good.write_text(tr31.wrap(os.urandom(32), tr31.Header("D", "B0", "A", "X", "07", "N"), os.urandom(32)))
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--ledger", str(path))
        tmux.wait_for_text("Check a received key block", timeout=20)
        time.sleep(0.5)  # the menu takes keys once its first choice has the focus
        press(tmux, *["Down"] * TO_KEY_BLOCK_CHECK, "Enter")
        tmux.wait_for_text("Key the block carries")
        pick_option(tmux, 1)  # the ZMK
        press(tmux, "Tab")
        tmux.type_text(str(bad))
        press(tmux, "Enter")
        screen = tmux.wait_for(lambda s: "✗" in s)
        assert "length" in screen.lower() or "key block" in screen.lower(), screen
        press(tmux, "End", *["BSpace"] * len(str(bad)))  # the path field keeps the focus: emptied
        time.sleep(0.5)
        tmux.type_text(str(good))
        time.sleep(0.5)  # the whole path in the field before Enter reads it
        press(tmux, "Enter")
        screen = tmux.wait_for_text("B0")
        lines = screen.rstrip("\n").splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        for text in ("Key usage", "Base derivation key", "Mode of use", "Key version"):
            assert text in screen, (text, screen)
        press(tmux, "C-c")
        tmux.wait_for_exit()
