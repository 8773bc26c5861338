"""An unhandled exception inside the app: traceback without locals or message, exit code 1.

Textual 8.2.8 renders a Rich traceback with ``show_locals=True`` (a share in a local variable would be
printed). The dummy secret is generated per test run and reaches the crashing code through the
environment, so it cannot appear in the traceback's source lines, only through locals or the message.
The control runs the same crash in a stock Textual app and finds the secret, so the test can fail.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap

CRASHING_APP = textwrap.dedent(
    """
    import os, sys
    {app_import}

    class Crashing({base}):
        def on_mount(self) -> None:
            dummy_share = os.environ.pop("DUMMY_SHARE")
            int(dummy_share, 16)  # ValueError quoting the input, like a bad parse would

    {runner}
    """
)


def run_crash(app_import: str, base: str, runner: str) -> tuple[subprocess.CompletedProcess[str], str]:
    dummy = "ZZ" + secrets.token_hex(8).upper()  # not hex: int() fails and quotes it
    script = CRASHING_APP.format(app_import=app_import, base=base, runner=runner)
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TEXTUAL")}
    env.update(DUMMY_SHARE=dummy, COLUMNS="120", LINES="40")
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    return proc, dummy


def test_stock_textual_prints_locals_control() -> None:
    proc, dummy = run_crash(
        "from textual.app import App",
        "App",
        "app = Crashing(); app.run(headless=True); sys.exit(app.return_code or 0)",
    )
    assert dummy in proc.stdout + proc.stderr


def test_ceremony_app_crash_prints_no_locals_and_exits_1() -> None:
    proc, dummy = run_crash(
        "from ceremony.tui.app import CeremonyApp, run_app",
        "CeremonyApp",
        "sys.exit(run_app(Crashing(), headless=True))",
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert dummy not in output
    assert "ValueError" in output  # still says what kind of failure, and where
    assert "on_mount" in output
    assert "withheld" in output
