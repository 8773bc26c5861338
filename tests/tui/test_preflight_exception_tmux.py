"""Recording a preflight exception from the blocked preflight, in the real terminal (tmux at 80x24, the
``ceremony`` binary, the real air-gap checks).

On a production ledger a networked test machine is blocked (an interface up, a route, a listener); the
preflight offers "Record an exception…". The first two findings are ticked with the space bar, the
justification and the controls typed, the security officer and the witness authenticate, and the exception
is recorded: one ``preflight.exception`` event covering both, and the preflight, run again, shows them
excepted. (A machine whose preflight is clear has nothing to except: the test is skipped there.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ceremony.ledger.store import Ledger
from tests.tui.gen_cast import make_ledger, passphrase
from tests.tui.test_generation_tmux import press
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = [pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"), pytest.mark.tmux]


def choose(tmux: TmuxSession, downs: int, listed: tuple[str, ...]) -> None:
    """Open the focused person list and choose option ``downs`` (1 = the first person). The open list
    reaches the bottom row here, over the footer, so it is recognised by the people it lists (``listed``:
    names only an open list shows together)."""
    time.sleep(0.3)  # the Select has just been given the focus
    tmux.send_keys("Enter")
    tmux.wait_for(lambda s: all(name in s for name in listed))
    time.sleep(0.3)  # the overlay takes keys once it has the focus
    for _ in range(downs):
        tmux.send_keys("Down")
    time.sleep(0.2)
    tmux.send_keys("Enter")
    tmux.wait_for(lambda s: not all(name in s for name in listed))
    time.sleep(0.2)


def test_an_exception_is_recorded_from_the_blocked_preflight_in_tmux(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path, rehearsal=False)
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--ledger", str(path))
        tmux.wait_for_text("New key generation ceremony", timeout=20)
        time.sleep(0.5)  # the menu takes keys once its first choice has the focus
        press(tmux, "Enter")
        screen = tmux.wait_for(lambda s: "Preflight clear" in s or "Record an exception…" in s, timeout=30)
        if "Preflight clear" in screen:
            pytest.skip("this machine's preflight is clear: there is nothing to record an exception for")
        assert "BLOCKED" in screen and "Record an exception…" in screen.split("BLOCKED", 1)[1]
        press(tmux, "BTab")  # Shift+Tab: from "Run again" back to "Record an exception…"
        press(tmux, "Enter")
        screen = tmux.wait_for_text("Tick what the exception covers")
        assert "Record a preflight exception" in screen.splitlines()[0]
        press(tmux, "space", "Down", "space")  # the first two findings
        press(tmux, "Tab")
        tmux.type_text("HSM vendor window closes today")
        press(tmux, "Tab")
        tmux.type_text("Cable unplugged and sealed; witness watches")
        press(tmux, "Tab", "Tab")  # days (30) -> the security officer's choice
        choose(tmux, 1, ("Sophie Officer", "Alice Admin"))  # security officers come first
        press(tmux, "Tab")  # on to her passphrase
        tmux.type_text(passphrase("sophie"))
        press(tmux, "Enter")
        tmux.wait_for_text("Sophie Officer is present")
        choose(tmux, 1, ("Walter Witness", "Dana Both"))  # Walter Witness
        press(tmux, "Tab")
        tmux.type_text(passphrase("walter"))
        press(tmux, "Enter")
        tmux.wait_for_text("Walter Witness is present")
        time.sleep(0.5)  # the focus moves on to "Record the exception" once both are present
        press(tmux, "Enter")
        screen = tmux.wait_for(lambda s: "Air-gap preflight" in s.splitlines()[0] and "excepted" in s)
        assert screen.count("excepted") >= 2
        press(tmux, "q")
        press(tmux, "C-c")
        tmux.wait_for_exit()
    with Ledger.open(path, read_only=True) as ledger:
        recorded = [e for e in ledger.events() if e.type == "preflight.exception"]
    assert len(recorded) == 1
    payload = recorded[0].payload
    assert len(payload["also_covers"]) == 1  # two findings, one record
    assert payload["justification"] == "HSM vendor window closes today"
    assert "rehearsal passphrase" not in str(payload)
