"""`ceremony kcv --alg aes|tdes|generic` as a custodian runs it: a real subprocess, the key on stdin.

Expected KCVs come from ``tests/vectors/kcv_vectors.json`` (derived with openssl, see
``tests/vectors/generate_vectors.py``), including DESIGN §2's FA36E44278DB3AB5F298F9F7DA8F1F88 → D77F007724.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "kcv_vectors.json").read_text())["vectors"]
ALG = {"AES": "aes", "TDE": "tdes", "GEN": "generic"}
DESIGN_KEY = "FA36E44278DB3AB5F298F9F7DA8F1F88"


def kcv(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ceremony", "kcv", *args],
        input=stdin,
        capture_output=True,
        timeout=30,
    )


def _assert_key_not_shown(result: subprocess.CompletedProcess[bytes], key_hex: str) -> None:
    out = (result.stdout + result.stderr).decode(errors="replace").upper().replace(" ", "")
    assert key_hex.upper()[:8] not in out
    assert key_hex.upper()[-8:] not in out


def test_design_vector() -> None:
    result = kcv(f"{DESIGN_KEY}\n".encode(), "--alg", "aes")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"D77F007724\n"
    assert result.stderr == b""


@pytest.mark.parametrize("vector", VECTORS[::3], ids=lambda v: v["name"])
def test_vectors(vector: dict[str, str]) -> None:
    result = kcv(vector["key"].lower().encode(), "--alg", ALG[vector["key_type"][:3]])
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == vector["kcv"]


def test_whitespace_and_case_are_ignored() -> None:
    typed = b"  0123 4567 89ab cdef\n\tFEDC BA98 7654 3210  \r\n"
    result = kcv(typed, "--alg", "tdes")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"08D7B4\n"


@pytest.mark.parametrize(
    ("stdin", "alg", "message"),
    [
        (b"FA36E44278DB3AB5F298F9F7DA8F1F8G", "aes", b"character 32 is not a hexadecimal digit"),
        (b"FA36E44278DB3AB5F298F9F7DA8F1F8", "aes", b"odd number"),
        (b"FA36E44278DB3AB5F298F9F7DA8F", "aes", b"an AES key has 16, 24 or 32 bytes"),
        (b"FA36E44278DB3AB5F298F9F7DA8F1F88FA36E442", "tdes", b"a TDES key has 16 or 24 bytes"),
        (b"", "aes", b"no key on standard input"),
        (b"  \n", "tdes", b"no key on standard input"),
        (b"0" * 5000, "aes", b"more than"),
    ],
)
def test_bad_input_one_line_no_traceback_no_echo(stdin: bytes, alg: str, message: bytes) -> None:
    result = kcv(stdin, "--alg", alg)
    assert result.returncode == 2
    assert result.stdout == b""
    assert message in result.stderr
    assert result.stderr.count(b"\n") == 1
    assert b"Traceback" not in result.stderr
    if len(stdin.strip()) >= 16:
        _assert_key_not_shown(result, stdin.decode(errors="replace").strip()[:32])


def test_key_on_the_command_line_is_refused_and_not_echoed() -> None:
    result = kcv(b"", "--alg", "aes", DESIGN_KEY)
    assert result.returncode == 2
    assert b"never on the command line" in result.stderr
    _assert_key_not_shown(result, DESIGN_KEY)


def test_alg_is_required() -> None:
    result = kcv(DESIGN_KEY.encode())
    assert result.returncode == 2
    assert b"--alg" in result.stderr


def test_typing_on_a_terminal_is_not_echoed() -> None:
    """On a terminal the key is read with echo off: nothing typed comes back on the screen."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "ceremony", "kcv", "--alg", "aes"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    try:
        assert process.stderr is not None
        prompt = b""
        deadline = time.monotonic() + 20
        while b"not shown" not in prompt and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 1)
            if ready:
                prompt += os.read(process.stderr.fileno(), 100)
        assert b"not shown" in prompt
        os.write(controller, f"{DESIGN_KEY}\n".encode())
        stdout, _ = process.communicate(timeout=20)
        assert stdout == b"D77F007724\n"
        echoed = b""
        while select.select([controller], [], [], 0.2)[0]:
            try:
                chunk = os.read(controller, 1024)
            except OSError:
                break
            if not chunk:
                break
            echoed += chunk
        assert DESIGN_KEY.encode()[:8] not in echoed
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
