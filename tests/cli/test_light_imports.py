"""Issue 14: the quick commands stay quick. ``ceremony --version``, ``ceremony kcv`` and ``ceremony share
inspect`` import neither Textual nor the document stack (pyHanko, reportlab, qrcode): registering the
subcommands must not import what a command needs only when it runs.

Each case runs the real CLI (``python -m ceremony``, hardening and all) in a subprocess through a small
wrapper that writes, at interpreter exit, which top-level packages were imported. Modules, not time: the
timing target lives in the startup benchmark (scripts/benchmarks/startup.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyshamir
import pytest

from ceremony.crypto.codec import encode_share, share_lines
from ceremony.crypto.ids import new_id
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share

HEAVY = ("textual", "pyhanko", "reportlab", "qrcode", "PIL", "aiohttp")

_WRAPPER = """
import atexit, json, runpy, sys
report = sys.argv[1]

def _write() -> None:
    with open(report, "w") as out:
        json.dump(sorted({name.split(".")[0] for name in sys.modules}), out)

atexit.register(_write)
sys.argv = ["ceremony", *sys.argv[2:]]
runpy.run_module("ceremony", run_name="__main__", alter_sys=True)
"""


def run_ceremony(
    tmp_path: Path, args: list[str], stdin: bytes = b""
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Run ``ceremony ARGS`` for real; its result and the top-level packages it had imported at exit."""
    report = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(report), *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env=env,
    )
    modules = set(json.loads(report.read_text()))
    assert "ceremony" in modules  # the wrapper ran the CLI
    return result, modules


def heavy(modules: set[str]) -> list[str]:
    return sorted(modules.intersection(HEAVY))


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    result, modules = run_ceremony(tmp_path, ["--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"ceremony ")
    assert heavy(modules) == []


def test_kcv_imports_nothing_heavy(tmp_path: Path) -> None:
    from ceremony.crypto.kcv import aes_kcv

    result, modules = run_ceremony(tmp_path, ["kcv", "--alg", "aes"], b"00" * 16 + b"\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == aes_kcv(SecretBytes(bytes(16))).hex
    assert heavy(modules) == []


def test_share_inspect_imports_nothing_heavy(tmp_path: Path) -> None:
    parts = pyshamir.split(os.urandom(32), 5, 3)
    share = Share(new_id(), new_id(), Scheme.SHAMIR, 3, 5, 4, SecretBytes(parts[3]))
    encoded = encode_share(share)
    card = b"\n".join(line.view().tobytes() for _, line in share_lines(encoded)) + b"\n"
    result, modules = run_ceremony(tmp_path, ["share", "inspect"], card)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["number"] == 4
    assert heavy(modules) == []


def test_usage_error_imports_nothing_heavy(tmp_path: Path) -> None:
    # The whole parser tree is built to report a usage error: every subcommand is registered, none loaded.
    result, modules = run_ceremony(tmp_path, ["report", "no-such-report"])
    assert result.returncode == 2
    assert heavy(modules) == []


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check above can fail: a command that does need the document stack shows up in the report."""
    result, modules = run_ceremony(tmp_path, ["rehearse", "--example", "3of5"])
    assert result.returncode == 0, result.stderr
    assert "pyhanko" in heavy(modules)


def test_choices_registered_without_importing_match_the_real_ones() -> None:
    """report and rehearse declare their choices without importing the modules they come from."""
    from ceremony.commands import rehearse, report
    from ceremony.flows.rehearsal import ALL_EXAMPLES
    from ceremony.reports import KINDS
    from ceremony.reports.render import FORMATS

    assert report.KIND_NAMES == tuple(KINDS)
    assert report.FORMAT_NAMES == tuple(FORMATS)
    assert rehearse.ALL_EXAMPLES == tuple(ALL_EXAMPLES)


@pytest.mark.parametrize("module", ["ceremony.tui.app", "ceremony.tui.screens.main_menu"])
def test_the_main_menu_does_not_load_the_document_stack(module: str) -> None:
    """Cold start to the main menu: PDFs (reportlab, pyHanko, qrcode) are loaded when a screen needs them."""
    probe = f"import json, sys, {module}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True, env=env
    ).stdout
    loaded = set(json.loads(out))
    assert "textual" in loaded
    assert sorted(loaded.intersection({"pyhanko", "reportlab", "qrcode", "PIL", "aiohttp"})) == []
