"""The main menu's warnings follow a departure without a restart (issue 15), in the real terminal (tmux at
80x24, the ``ceremony`` binary): the menu shows no "must be replaced"; a security officer and a witness
record that a custodian who holds a share of ZMK leaves; back on the menu, ZMK must be replaced.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ceremony.ledger.store import Ledger
from tests.tui.gen_cast import make_ledger, passphrase
from tests.tui.lifecycle_cast import generate
from tests.tui.test_generation_tmux import pick_option, press
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = [pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"), pytest.mark.tmux]

TO_DEPARTURE = 4  # Down presses from "New key generation ceremony" to "Custodian departure"
CARLA = 5  # Carla One (cust1) in the list of people: Sophie, Alice, Walter, Dana, Carla...


def test_departure_warning_appears_on_the_menu_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    with Ledger.open(path) as ledger:
        generate(ledger, ids, ("cust1", "cust2"), 2, "ZMK")
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--ledger", str(path))
        tmux.wait_for_text("Lift a lockout", timeout=20)
        time.sleep(1.0)  # the menu takes keys once its first choice has the focus; attention after the frame
        assert "must be replaced" not in tmux.wait_for_text("Lift a lockout")
        press(tmux, *["Down"] * TO_DEPARTURE, "Enter")
        tmux.wait_for(lambda s: "Custodian departure" in s.splitlines()[0])
        tmux.type_text(passphrase("sophie"))  # the only security officer: her passphrase field has the focus
        press(tmux, "Enter")
        tmux.wait_for_text("Sophie Officer is present")
        pick_option(tmux, 1)  # Walter Witness
        press(tmux, "Tab")  # on to his passphrase
        tmux.type_text(passphrase("walter"))
        press(tmux, "Enter")
        tmux.wait_for_text("Walter Witness is present")
        pick_option(tmux, CARLA)
        press(tmux, "Tab")  # on to the reason
        tmux.type_text("left the company")
        press(tmux, "Enter")
        tmux.wait_for_text("deactivated")
        press(tmux, "Tab", "Tab", "Tab", "Tab", "Enter")  # serial → … → Done: the envelope is asked about
        tmux.wait_for_text("not accounted for")
        press(tmux, "Enter")  # Done again: it stays held on record
        screen = tmux.wait_for_text("ZMK: must be replaced", timeout=15)  # the same run, back on the menu
        assert "Lift a lockout" in screen
        press(tmux, "q")
        code, _ = tmux.wait_for_exit()
    assert code == 0
