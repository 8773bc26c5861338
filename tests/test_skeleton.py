import os
import subprocess
import sys

from ceremony import __version__
from ceremony.hardening import scrub_textual_environment


def test_version_command():
    out = subprocess.run(
        [sys.executable, "-m", "ceremony", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"ceremony {__version__}"


def test_textual_env_is_scrubbed():
    env = {"TEXTUAL_LOG": "/tmp/x", "textual_press": "a", "PATH": "/bin"}
    removed = scrub_textual_environment(env)
    assert sorted(removed) == ["TEXTUAL_LOG", "textual_press"]
    assert env == {"PATH": "/bin"}


def test_cli_process_is_hardened():
    """The real executable path hardens itself: its own preflight sees core dumps off and non-dumpable."""
    import json

    env = dict(os.environ, TEXTUAL_LOG="/tmp/leak.log")
    out = subprocess.run(
        [sys.executable, "-m", "ceremony", "preflight", "--json"], capture_output=True, text=True, env=env
    )
    report = json.loads(out.stdout)
    verdicts = {f["check"]: f["verdict"] for f in report["report"]["findings"]}
    assert verdicts["proc.hardening"] == "pass"


async def test_minimal_tui_says_what_it_will_do(tmp_path):
    from ceremony.tui.app import CeremonyApp

    app = CeremonyApp(ledger=tmp_path / "l.sqlite3")
    async with app.run_test(size=(80, 24)) as pilot:
        text = str(app.query_one("#welcome").render())
        assert "split-knowledge" in text
        await pilot.press("q")
    assert app.return_code == 0
