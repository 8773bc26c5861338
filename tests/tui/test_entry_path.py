"""Every way into the TUI goes through the TEXTUAL* scrub, even when Textual was imported first.

``ceremony.cli`` hardens the process before importing Textual; ``ceremony.tui`` scrubs again on import
and resets Textual's switches, for entry paths that skip the CLI (a test, ``python -c``, a future
``ceremony rehearse`` importing the app directly).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Imports Textual *before* ceremony.tui, with the switches set, then runs the app headless, presses keys
# and quits. Exit code and leftovers tell whether TEXTUAL_LOG / TEXTUAL_SCREENSHOT took effect
# (run_test brings its own pilot, so TEXTUAL_PRESS is exercised by the tmux test on the real binary).
SCRIPT = """
import os, sys, asyncio
import textual.app  # deliberately first: textual.constants has read TEXTUAL_* already
from ceremony.tui.app import CeremonyApp

async def drive() -> int:
    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("d", "u", "m", "m", "y")
        await pilot.pause(1.5)  # past TEXTUAL_SCREENSHOT's one-second timer
        assert app.is_running, "something (an injected q, a screenshot timer) ended the app"
        await pilot.press("q")
    return app.return_code

print("SCRUBBED" if not any(k.upper().startswith("TEXTUAL") for k in os.environ) else "LEFT")
sys.exit(asyncio.run(drive()))
"""


def test_switches_are_off_even_if_textual_was_imported_first(tmp_path: Path) -> None:
    log = tmp_path / "textual.log"
    shots = tmp_path / "shots"
    shots.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TEXTUAL")}
    env.update(
        TEXTUAL_LOG=str(log),
        TEXTUAL_SCREENSHOT="1",
        TEXTUAL_SCREENSHOT_LOCATION=str(shots),
        TEXTUAL_PRESS="q",
        TEXTUAL="devtools",
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SCRUBBED" in proc.stdout
    assert not log.exists()
    assert list(shots.iterdir()) == []
    assert not list(tmp_path.glob("*.svg"))
