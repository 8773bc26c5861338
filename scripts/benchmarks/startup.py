"""Cold start to the first TUI frame (issue 9): what an operator waits for after typing ``ceremony``.

    scripts/bench startup            # median of 7 runs each (after one warm-up run)
    scripts/bench startup --quick    # median of 5
    .venv/bin/python scripts/benchmarks/startup.py --runs 15   # this group alone, 15 runs each

Both on a demo ledger (``build_demo``: a year of ceremonies, a dozen people), so the first frame is the
main menu, reached after opening the ledger and scanning it for unfinished ceremonies:

  bare   the yardstick (issue 14): a bare Textual app that paints one line, started the same way in the
         same kind of tmux pane in the same run (``.venv/bin/python BARE.py``). ``ratio_tmux_to_bare`` on the
         tmux row is ceremony's cold start over it; the target is at most 2. The tmux and bare runs
         alternate, so a machine that gets busier mid-run slows both alike.

  tmux   the real ``.venv/bin/ceremony --ledger X`` typed into a bash shell in a detached 80x24 tmux pane
         (a private tmux server); the clock runs from the Enter key to the first ``capture-pane`` that shows
         the main menu's "New key generation ceremony" (polled every 10 ms). Includes interpreter start-up,
         imports, opening the ledger and the terminal's first paint. The program is then stopped (C-c).
  pilot  a fresh ``python`` that imports ``LedgerApp`` and runs it headless with ``App.run_test`` (Pilot);
         the clock runs from ``Popen`` to the child's report that the main menu is the active screen.
         No terminal, so the difference to ``tmux`` is roughly the cost of the real terminal driver.

The OS page cache is warm (the warm-up run): "cold" means a new process, not a cold disk.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ceremony.flows.demo import build_demo  # noqa: E402

CEREMONY = ROOT / ".venv" / "bin" / "ceremony"
HOME_TEXT = "New key generation ceremony"  # a main menu button: the home screen is painted
TIMEOUT_S = 60.0
BARE_TEXT = "bare textual app ready"

_BARE_APP = f"""
from textual.app import App, ComposeResult
from textual.widgets import Static


class Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("{BARE_TEXT}")


Bare().run()
"""

_PILOT_CHILD = """
import asyncio, sys
from pathlib import Path
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.main_menu import MainMenuScreen

async def main() -> None:
    app = LedgerApp(Path(sys.argv[1]))
    async with app.run_test(size=(80, 24)) as pilot:
        while not isinstance(app.screen, MainMenuScreen):
            await pilot.pause(0.005)
        print("ready", flush=True)
        await pilot.press("ctrl+q")

asyncio.run(main())
"""


def _tmux(socket: str, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout


def tmux_once(command: str, marker: str = HOME_TEXT) -> float:
    """Seconds from Enter to ``marker`` on screen (the main menu by default), ``command`` typed into a shell
    in an 80x24 tmux pane."""
    socket = f"ceremony-bench-{uuid.uuid4().hex[:10]}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PS1": "$ ",
    }
    _tmux(socket, "new-session", "-d", "-s", "b", "-x", "80", "-y", "24", "bash --norc --noprofile", env=env)
    try:
        _tmux(socket, "set-option", "-t", "b", "status", "off", env=env)
        while not _tmux(socket, "capture-pane", "-p", "-t", "b", env=env).strip():
            time.sleep(0.01)  # the shell's prompt
        _tmux(socket, "send-keys", "-t", "b", "-l", command, env=env)
        t0 = time.perf_counter()
        _tmux(socket, "send-keys", "-t", "b", "Enter", env=env)
        while marker not in _tmux(socket, "capture-pane", "-p", "-t", "b", env=env):
            if time.perf_counter() - t0 > TIMEOUT_S:
                raise RuntimeError(f"{marker!r} never appeared in the tmux pane")
            time.sleep(0.01)
        elapsed = time.perf_counter() - t0
        _tmux(socket, "send-keys", "-t", "b", "C-q", env=env)
        return elapsed
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False, timeout=10)


def pilot_once(ledger: Path) -> float:
    """Seconds from Popen to the main menu being the active screen, headless Pilot in a new process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env = {k: v for k, v in env.items() if not k.startswith("TEXTUAL")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", _PILOT_CHILD, str(ledger)], stdout=subprocess.PIPE, env=env, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait(timeout=TIMEOUT_S)
    if line.strip() != "ready":
        raise RuntimeError("the Pilot run never reached the main menu")
    return elapsed


def _row(name: str, times: list[float], **extra: object) -> dict:
    return {
        "group": "startup",
        "name": name,
        "median_s": statistics.median(times),
        "runs": len(times),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        **extra,
    }


def run(quick: bool, runs: int | None = None) -> list[dict]:
    runs = runs or (5 if quick else 7)
    folder = Path(tempfile.mkdtemp(prefix="ceremony-bench-startup-"))
    try:
        ledger = folder / "demo.sqlite3"
        events = build_demo(ledger, start=datetime(2025, 6, 2, tzinfo=UTC)).events
        rows = []
        if shutil.which("tmux") and CEREMONY.exists():
            bare = folder / "bare_app.py"
            bare.write_text(_BARE_APP)
            ceremony_command = f"{CEREMONY} --ledger {ledger}"
            bare_command = f"{CEREMONY.parent / 'python'} {bare}"
            tmux_once(ceremony_command)  # warm-up: page cache, .pyc files
            tmux_once(bare_command, BARE_TEXT)
            times, bare_times = [], []
            for _ in range(runs):  # alternating: both see the same machine
                times.append(tmux_once(ceremony_command))
                bare_times.append(tmux_once(bare_command, BARE_TEXT))
            ratio = round(statistics.median(times) / statistics.median(bare_times), 2)
            rows.append(
                _row(
                    "cold start to main menu, real binary in tmux 80x24",
                    times,
                    ledger_events=events,
                    bare_textual_s=round(statistics.median(bare_times), 3),
                    ratio_tmux_to_bare=ratio,
                )
            )
            rows.append(_row("bare Textual app painting one line, tmux 80x24 (yardstick)", bare_times))
        pilot_once(ledger)
        times = [pilot_once(ledger) for _ in range(runs)]
        rows.append(_row("cold start to main menu, Pilot run_test (headless)", times, ledger_events=events))
        if len(rows) == 3:
            rows[0]["ratio_tmux_to_pilot"] = round(rows[0]["median_s"] / rows[2]["median_s"], 2)
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    # python scripts/benchmarks/startup.py [--quick] [--runs N]: this group alone, more runs on a busy machine
    count = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else None
    for row in run("--quick" in sys.argv, count):
        print(row)
