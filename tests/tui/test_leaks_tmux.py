"""The real ``ceremony`` binary in tmux at 80x24: Textual's environment switches do nothing, the screen
fits, and the terminal is left clean on exit (issue 6 items 5 and 6).

TEXTUAL_LOG would write key events and input values to a file, TEXTUAL_SCREENSHOT(_LOCATION) would save
an SVG of the screen (and exit), TEXTUAL_PRESS would inject keys ("q" would quit the home screen), and
TEXTUAL=devtools,debug would stream logs. The control test runs a stock Textual app under the same
environment and shows each switch working there, so these tests can fail.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from tmux_harness import REPO, TmuxSession, tmux_available

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(not tmux_available(), reason="tmux not installed"),
]


def leaky_env(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    log = tmp_path / "textual.log"
    shots = tmp_path / "shots"
    shots.mkdir()
    env = {
        "TEXTUAL_LOG": str(log),
        "TEXTUAL_SCREENSHOT": "1",
        "TEXTUAL_SCREENSHOT_LOCATION": str(shots),
        "TEXTUAL_PRESS": "q",
        "TEXTUAL": "devtools,debug",
    }
    return env, log, shots


def test_stock_textual_honours_the_switches_control(tmp_path: Path) -> None:
    env, log, shots = leaky_env(tmp_path)
    with TmuxSession(env=env, cwd=tmp_path) as tmux:
        tmux.run_command(
            str(REPO / ".venv" / "bin" / "python"), "-c", "from textual.app import App; App().run()"
        )
        code, _ = tmux.wait_for_exit(timeout=15)
    assert log.exists()  # TEXTUAL_LOG wrote a log
    assert list(shots.glob("*.svg"))  # TEXTUAL_SCREENSHOT saved the screen
    assert code == 0


def test_ceremony_ignores_textual_switches_and_cancels_cleanly(tmp_path: Path) -> None:
    env, log, shots = leaky_env(tmp_path)
    with TmuxSession(env=env, cwd=tmp_path) as tmux:
        tmux.run_ceremony("--ledger", str(tmp_path / "ledger.sqlite3"))
        tmux.wait_for_text("Ledger:")
        time.sleep(1.8)  # past TEXTUAL_SCREENSHOT's one-second timer
        screen = tmux.capture()
        # Still on the home screen: "q" was not injected, no screenshot-and-exit happened.
        assert "split-knowledge key ceremonies" in screen
        assert "__ceremony_exit=" not in screen.replace("echo __ceremony_exit=", "")
        tmux.type_text("dummy")
        tmux.send_keys("F1")
        tmux.wait_for_text("Keys")
        tmux.send_keys("Escape")
        tmux.wait_for(lambda s: "Keys" not in s)
        tmux.send_keys("C-c")
        code, after = tmux.wait_for_exit()
    assert code == 130
    assert not log.exists()
    assert list(shots.iterdir()) == []
    assert not list(tmp_path.rglob("*.svg"))
    # The alternate screen is gone: nothing of the app is left in the terminal.
    assert "split-knowledge" not in after and "Ledger:" not in after


def test_home_and_help_fit_80x24_and_q_exits_0(tmp_path: Path) -> None:
    with TmuxSession(cwd=tmp_path) as tmux:
        assert tmux.size() == (80, 24)
        tmux.run_ceremony("--ledger", str(tmp_path / "ledger.sqlite3"))
        home = tmux.wait_for(lambda s: "Ledger:" in s and "Help" in s.splitlines()[-1])
        lines = home.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "Cancel" in lines[-1] and "Quit" in lines[-1]  # footer key hints
        tmux.send_keys("?")
        help_screen = tmux.wait_for_text("Screens of a ceremony")
        assert "Ctrl+C / Ctrl+Q" in help_screen
        tmux.send_keys("Escape")
        tmux.wait_for(lambda s: "Screens of a ceremony" not in s)
        tmux.send_keys("q")
        code, after = tmux.wait_for_exit()
    assert code == 0
    assert "split-knowledge" not in after


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_cancels_like_ctrl_c_and_restores_the_terminal(tmp_path: Path, signum: int) -> None:
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--ledger", str(tmp_path / "ledger.sqlite3"))
        tmux.wait_for_text("Ledger:")
        pids = tmux.program_pids()
        assert len(pids) == 1
        os.kill(pids[0], signum)
        code, after = tmux.wait_for_exit()
    assert code == 130
    assert "split-knowledge" not in after
