"""Usage errors never echo a value, and key material typed as an argument is called exposed (issue 13 part 6).

The real ``ceremony`` executable runs as a subprocess; stdout and stderr together must not contain the value
(nor its first or last 8 characters), must name the option, must keep exit code 2 (usage), and must carry
the "treat this key as exposed" warning exactly when the value looks like key material. Reading a key on
stdin goes through one preallocated buffer that is wiped on every path.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
from pathlib import Path

import pytest

from ceremony.cli import looks_like_key_material, safe_usage_message
from ceremony.commands.kcv import MAX_INPUT, _read_stdin, parse_hex_key
from ceremony.crypto.secret import SecretTooLongError, read_bounded
from ceremony.errors import InputError

CEREMONY = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "ceremony"
HEX_KEY = "00112233445566778899AABBCCDDEEFF"
B64_KEY = "q83vASNFZ4mrze8BI0VniQ+/x2Jt4Bc="
B32_SHARE = "K7Q2M-9XZ4P-RT5WA-3HJ8D-LN6VC"
WARNING = "treat this key as exposed"


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CEREMONY), *args], input=stdin.decode(), capture_output=True, text=True, timeout=30
    )


def assert_not_echoed(result: subprocess.CompletedProcess[str], value: str) -> None:
    shown = result.stdout + result.stderr
    for part in (value, value[:8], value[-8:], value.lower(), repr(value)):
        assert part not in shown, shown


@pytest.mark.parametrize(
    ("args", "value", "option"),
    [
        (("kcv", "--alg", HEX_KEY), HEX_KEY, "--alg"),
        (("kcv", f"--alg={HEX_KEY}"), HEX_KEY, "--alg"),
        (("kcv", "--alg", "aes", f"--key={HEX_KEY}"), HEX_KEY, "--key"),
        (("kcv", "--alg", "aes", "--key", HEX_KEY), HEX_KEY, "--key"),
        (("kcv", "--alg", HEX_KEY.lower()), HEX_KEY.lower(), "--alg"),
        (("kcv", "--alg", "00:11:22:33:44:55:66:77:88:99"), "00:11:22:33:44:55:66:77:88:99", "--alg"),
        (("kcv", "--alg", B64_KEY), B64_KEY, "--alg"),
        (("share", "inspect", f"--raw={B32_SHARE}"), B32_SHARE, "--raw"),
        (("share", "inspect", "--raw", f"--share={B64_KEY}"), B64_KEY, "--share"),
        (("share", B32_SHARE), B32_SHARE, "ACTION"),
        (("share", "inspect", B32_SHARE), B32_SHARE, "unrecognized"),
    ],
)
def test_key_material_in_a_usage_error_is_not_echoed_and_is_called_exposed(
    args: tuple[str, ...], value: str, option: str
) -> None:
    result = run(*args)
    assert result.returncode == 2, result.stderr
    assert_not_echoed(result, value)
    assert option in result.stderr
    assert WARNING in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "value", "message"),
    [
        (("kcv", "--alg", "bogus"), "bogus", "invalid choice"),
        (("kcv", "--alg", "rsa-2048"), "rsa-2048", "choose from aes, tdes, generic"),
        (("share", "inspect", "--raw=yes"), "yes", "--raw"),
        (("kcv", "--alg", "aes", "--verbose=loud"), "loud", "--verbose"),
        (("share", "inspekt"), "inspekt", "invalid choice"),
    ],
)
def test_other_bad_values_are_not_echoed_either_and_not_called_exposed(
    args: tuple[str, ...], value: str, message: str
) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert value not in result.stdout + result.stderr
    assert message in result.stderr
    assert WARNING not in result.stderr


def test_errors_without_a_value_are_unchanged() -> None:
    missing = run("kcv")
    assert missing.returncode == 2 and "the following arguments are required: --alg" in missing.stderr
    bare = run("share", "inspect", "--expect-split")
    assert bare.returncode == 2 and "--expect-split: expected one argument" in bare.stderr
    for result in (missing, bare):
        assert WARNING not in result.stderr


def test_a_key_after_valid_options_is_still_refused_by_kcv_itself() -> None:
    result = run("kcv", "--alg", "aes", HEX_KEY)
    assert result.returncode == 2
    assert_not_echoed(result, HEX_KEY)
    assert "treat that key as exposed" in result.stderr


def test_message_rewriting_keeps_names_and_drops_values() -> None:
    argv = ["kcv", "--alg", HEX_KEY]
    message = safe_usage_message(
        f"argument --alg: invalid choice: '{HEX_KEY}' (choose from 'aes', 'tdes', 'generic')", argv
    )
    assert HEX_KEY not in message and "--alg" in message and "aes, tdes, generic" in message
    generic = safe_usage_message(f"something new about {HEX_KEY} and '{HEX_KEY}'", argv)
    assert HEX_KEY not in generic


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HEX_KEY, True),
        ("0011 2233 4455 6677", True),
        (B64_KEY, True),
        (B32_SHARE, True),
        ("aes", False),
        ("/tmp/ledger.sqlite3", False),
        ("7K3M9Q2XPB", False),  # a split id: 10 characters, not a secret
        ("TE-004711", False),
        ("interrupted-by-a-power-cut", False),
    ],
)
def test_what_looks_like_key_material(value: str, expected: bool) -> None:
    assert looks_like_key_material(value) is expected


# --- reading the key on stdin: one fixed buffer, wiped ------------------------------------------------------
def test_stdin_is_read_whole_into_a_scratch_buffer_that_is_wiped() -> None:
    scratch = bytearray(MAX_INPUT + 1)
    typed = b"FA36 E442 78DB 3AB5\nF298 F9F7 DA8F 1F88\n"
    with _read_stdin(io.BytesIO(typed), scratch=scratch) as text:
        assert bytes(text.view()) == typed
        assert len(text) == len(typed)
        with parse_hex_key(text) as key:
            assert key.view().hex().upper() == "FA36E44278DB3AB5F298F9F7DA8F1F88"
    assert scratch == bytearray(MAX_INPUT + 1)


def test_stdin_from_a_pipe_in_small_writes_is_read_to_the_end() -> None:
    read_end, write_end = os.pipe()
    payload = b"0123456789abcdef" * 8

    def writer() -> None:
        for i in range(0, len(payload), 7):
            os.write(write_end, payload[i : i + 7])
        os.close(write_end)

    thread = threading.Thread(target=writer)
    thread.start()
    scratch = bytearray(MAX_INPUT + 1)
    try:
        with open(read_end, "rb") as stream, _read_stdin(stream, scratch=scratch) as text:
            assert bytes(text.view()) == payload
    finally:
        thread.join()
    assert scratch == bytearray(MAX_INPUT + 1)


def test_input_of_exactly_the_limit_is_accepted() -> None:
    with _read_stdin(io.BytesIO(b"a" * MAX_INPUT)) as text:
        assert len(text) == MAX_INPUT


@pytest.mark.parametrize("extra", [1, 100, 10_000])
def test_over_long_input_is_refused_and_the_buffer_wiped(extra: int) -> None:
    read_end, write_end = os.pipe()
    payload = b"f" * (MAX_INPUT + extra)
    thread = threading.Thread(target=lambda: (os.write(write_end, payload), os.close(write_end)))
    thread.start()
    scratch = bytearray(MAX_INPUT + 1)
    try:
        with open(read_end, "rb") as stream, pytest.raises(InputError, match=f"more than {MAX_INPUT}"):
            _read_stdin(stream, scratch=scratch)
    finally:
        thread.join(timeout=5)
    assert scratch == bytearray(MAX_INPUT + 1)


def test_read_bounded_refuses_a_scratch_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="limit \\+ 1"):
        read_bounded(io.BytesIO(b"x"), 8, scratch=bytearray(8))
    with pytest.raises(SecretTooLongError):
        read_bounded(io.BytesIO(b"x" * 9), 8)


def test_over_long_stdin_through_the_cli_is_refused() -> None:
    result = run("kcv", "--alg", "aes", stdin=b"0" * (MAX_INPUT + 1))
    assert result.returncode == 2 and f"more than {MAX_INPUT}" in result.stderr
    ok = run("kcv", "--alg", "aes", stdin=b"FA36E44278DB3AB5F298F9F7DA8F1F88\n")
    assert ok.returncode == 0 and ok.stdout == "D77F007724\n"
