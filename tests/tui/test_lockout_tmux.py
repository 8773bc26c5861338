"""The lockout survives a restart, in the real terminal (tmux at 80x24, the ``ceremony`` binary).

First run: on "Custodian departure" the security officer authenticates, then Walter types three wrong
passphrases in the witness form (the officer, present, signs the failures); the program is stopped with
Ctrl+C. Second run: "Lift a lockout" lists Walter as locked out on record since the third failure, and
choosing him in its witness form says so, with who can lift it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ceremony.ledger.store import Ledger
from ceremony.tui.app import EXIT_CANCELLED
from tests.tui.gen_cast import make_ledger, passphrase
from tests.tui.test_generation_tmux import pick_option, press
from tests.tui.tmux_harness import EXIT_MARK, TmuxSession, tmux_available

pytestmark = [pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"), pytest.mark.tmux]

TO_DEPARTURE = 4  # Down presses from "New key generation ceremony" to "Custodian departure"
TO_LOCKOUTS = 8  # ... to "Lift a lockout"


def body_text(screen: str) -> str:
    """The screen's body (right of the step list) as one line: wrapped sentences read whole again."""
    rows = [line.split("│", 1)[1].strip(" ▁▂▃▄▅▆▇█") for line in screen.splitlines() if "│" in line]
    return " ".join(" ".join(rows).split())


def open_from_menu(tmux: TmuxSession, path: Path, downs: int, title: str) -> str:
    tmux.run_ceremony("--ledger", str(path))
    tmux.wait_for_text("Lift a lockout", timeout=20)
    time.sleep(0.5)  # the menu takes keys once its first choice has the focus
    press(tmux, *["Down"] * downs, "Enter")
    return tmux.wait_for(lambda screen: title in screen.splitlines()[0])


def test_a_lockout_shows_after_a_restart_in_tmux(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    with TmuxSession(cwd=tmp_path) as tmux:
        open_from_menu(tmux, path, TO_DEPARTURE, "Custodian departure")
        tmux.type_text(passphrase("sophie"))  # the only security officer: her passphrase field has the focus
        press(tmux, "Enter")
        tmux.wait_for_text("Sophie Officer is present")
        pick_option(tmux, 1)  # Walter Witness
        press(tmux, "Tab")  # on to his passphrase
        for guess, shown in (("one", "2 tries left"), ("two", "1 tries left"), ("three", "LOCKED OUT")):
            tmux.type_text(f"wrong guess number {guess}")
            press(tmux, "Enter")
            tmux.wait_for_text(shown)
        press(tmux, "C-c")  # the program stops
        code, _ = tmux.wait_for_exit()
        assert code == EXIT_CANCELLED
        tmux.type_text("clear")  # the next exit code is the only one on the screen
        press(tmux, "Enter")
        tmux.wait_for(lambda screen: EXIT_MARK not in screen.replace(f"echo {EXIT_MARK}", ""))

        with Ledger.open(path, read_only=True) as ledger:
            failed = [e for e in ledger.events() if e.type == "auth.failed"]
        assert len(failed) == 3
        seq = failed[-1].seq

        screen = open_from_menu(tmux, path, TO_LOCKOUTS, "Lift a lockout")  # the program starts again
        screen = tmux.wait_for_text(f"since event #{seq}")
        assert "Locked out on record (1)" in screen and "Walter Witness" in screen
        press(tmux, "Tab")  # from the officer's passphrase to the witness's choice
        pick_option(tmux, 1)  # Walter Witness
        screen = tmux.wait_for_text("LOCKED OUT")
        flat = body_text(screen)
        assert f"locked out on record since event #{seq}" in flat
        assert "a security officer and a witness can lift" in flat
        press(tmux, "Escape")
        tmux.wait_for_text("New key generation ceremony")
        press(tmux, "q")
        code, _ = tmux.wait_for_exit()
        assert code == 0
