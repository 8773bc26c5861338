"""``ceremony keyblock inspect`` (issue 16 item 1): a block on stdin, its header as JSON, no key material;
one line and exit 2 on a malformed block; and it stays a light command (no Textual, no document stack)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_light_imports import heavy, run_ceremony

# TR-31:2018 Annex A.7.3.2 (tests/vectors/tr31_vectors.json): a BDK with a KS block.
A732 = (
    "B0104B0TX12S0100KS1800604B120F9292800000BB68BE8680A400D9191AD4ECE45B6E6C0D21C4738A52190E248719E24B433627"
)
KEY = "E8BC63E5479455E26577F715D587FE68"


def keyblock(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ceremony", "keyblock", "inspect"],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def test_header_decoded_as_json() -> None:
    result = keyblock(A732.encode() + b"\n")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["block_length"] == 104
    assert out["version"] == {"code": "B", "meaning": "TDES key derivation binding (TDES KBPK)"}
    assert out["key_usage"]["code"] == "B0"
    assert out["key_usage"]["meaning"] == "Base derivation key (BDK)"
    assert out["algorithm"]["code"] == "T"
    assert out["mode_of_use"]["code"] == "X"
    assert out["key_version"] == {"code": "12", "meaning": "key version 12"}
    assert out["exportability"]["code"] == "S"
    assert out["optional_blocks"] == [
        {"id": "KS", "meaning": "Key set identifier (DUKPT)", "data": "00604B120F9292800000"}
    ]
    # Neither the key nor the encrypted part is printed.
    assert KEY.encode() not in result.stdout.upper()
    assert A732[40:].encode() not in result.stdout


@pytest.mark.parametrize(
    ("stdin", "words"),
    [
        (b"", b"no key block"),
        (b"D0020P0AE00E0000\n", b"the header gives a length of 20; the block has 16"),
        (b"Z0016P0AE00E0000", b"version"),
        (b"\xff\xfe", b"not ASCII"),
        (b"D" * 10100, b"more than 9999 characters"),
    ],
)
def test_malformed_block_one_line_exit_2(stdin: bytes, words: bytes) -> None:
    result = keyblock(stdin)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.count(b"\n") == 1
    assert result.stderr.startswith(b"ceremony: ")
    assert words in result.stderr


def test_keyblock_inspect_imports_nothing_heavy(tmp_path: Path) -> None:
    result, modules = run_ceremony(tmp_path, ["keyblock", "inspect"], A732.encode())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["key_usage"]["code"] == "B0"
    assert heavy(modules) == []
