"""`ceremony share inspect` as a custodian runs it: a real subprocess, the share on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyshamir
import pytest

from ceremony.crypto.codec import HEADER_GROUPS, encode_share, share_lines
from ceremony.crypto.ids import new_id
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share


def inspect(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ceremony", "share", "inspect", *args],
        input=stdin,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture(scope="module")
def share() -> Share:
    parts = pyshamir.split(os.urandom(32), 5, 3)
    return Share(new_id(), new_id(), Scheme.SHAMIR, 3, 5, 4, SecretBytes(parts[3]))


@pytest.fixture(scope="module")
def card_text(share: Share) -> bytes:
    """The share as printed on the card: lines of space-separated groups."""
    encoded = encode_share(share)
    return b"\n".join(line.view().tobytes() for _, line in share_lines(encoded)) + b"\n"


def typed_form(share: Share) -> bytes:
    # Keep the SecretBytes alive while copying: it wipes itself when collected.
    encoded = encode_share(share)
    return encoded.view().tobytes()


def _secret_forms(share: Share) -> list[bytes]:
    raw = share.data.view().tobytes()
    typed = typed_form(share)
    # full five-character body groups (a short last group can turn up by chance in any text)
    body_groups = [g for g in typed.split(b"-")[HEADER_GROUPS:] if len(g) == 5]
    return [raw.hex().encode(), raw.hex().upper().encode(), *body_groups]


def test_prints_header_only(share: Share, card_text: bytes) -> None:
    out = inspect(card_text)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc == {
        "format_version": 1,
        "scheme": "shamir",
        "key_id": share.key_id,
        "split_id": share.split_id,
        "threshold": 3,
        "count": 5,
        "number": 4,
        "share_bytes": 33,
        "group_checks": "ok",
        "whole_share_checksum": "ok",
    }
    assert not any(s in out.stdout + out.stderr for s in _secret_forms(share))


def test_qr_payload_and_lowercase_dashes_are_the_same_share(share: Share) -> None:
    qr_payload = typed_form(share)
    assert json.loads(inspect(qr_payload).stdout)["split_id"] == share.split_id
    assert json.loads(inspect(qr_payload.lower() + b"\r\n").stdout)["number"] == 4


def test_raw_adds_vault_hex(share: Share, card_text: bytes) -> None:
    out = inspect(card_text, "--raw")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["vault_hex"] == share.data.view().tobytes().hex()


def test_typo_names_the_group_in_one_line(share: Share, card_text: bytes) -> None:
    chars = bytearray(card_text.replace(b" ", b"").replace(b"\n", b""))
    pos = 5 * 11 + 2  # third character of group 12
    chars[pos] = ord("0") if chars[pos] != ord("0") else ord("1")
    out = inspect(bytes(chars))
    assert out.returncode == 2
    assert out.stdout == b""
    assert out.stderr.decode().strip().splitlines() == [
        "ceremony: Typing error in group 12 — a character in it is mistyped or two are swapped "
        "(or a group before it was skipped or typed twice)"
    ]
    assert b"Traceback" not in out.stderr
    assert not any(s in out.stderr for s in [*_secret_forms(share), bytes(chars[55:60])])


def test_transposition_is_caught(card_text: bytes) -> None:
    chars = bytearray(card_text.replace(b" ", b"").replace(b"\n", b""))
    i = next(i for i in range(40, 44) if chars[i] != chars[i + 1])  # inside group 9
    chars[i], chars[i + 1] = chars[i + 1], chars[i]
    out = inspect(bytes(chars))
    assert out.returncode == 2 and b"group 9 " in out.stderr


def test_share_of_another_split_is_named(share: Share, card_text: bytes) -> None:
    other = new_id()
    out = inspect(card_text, "--expect-split", other)
    assert out.returncode == 2
    line = out.stderr.decode().strip()
    assert f"of split {share.split_id}" in line and f"not a share of split {other}" in line
    assert inspect(card_text, "--expect-split", share.split_id).returncode == 0


@pytest.mark.parametrize(
    ("stdin", "message"),
    [(b"", "7 groups"), (b"???", "group 1 contains a character"), (b"\xff" * 5000, "more than 4096")],
)
def test_garbage_is_one_clear_line(stdin: bytes, message: str) -> None:
    out = inspect(stdin)
    assert out.returncode == 2
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("ceremony: ")


def test_typing_at_a_terminal_is_not_echoed(share: Share, card_text: bytes) -> None:
    """At a real terminal (a pty), the share typed in must not be echoed back to the screen."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI with the pty as its terminal
        os.execv(sys.executable, [sys.executable, "-m", "ceremony", "share", "inspect"])
    screen = b""

    def read_until(marker: bytes, timeout: float = 20) -> None:
        nonlocal screen
        while marker not in screen:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                raise AssertionError(f"no {marker!r} on the terminal; saw {screen!r}")
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            screen += chunk

    read_until(b"not shown")
    typed = card_text.replace(b"\n", b"\r")  # what the Enter key sends
    os.write(fd, typed + b"\x04")
    read_until(b"}")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b'"split_id": "' + share.split_id.encode() + b'"' in screen
    assert not any(s in screen for s in _secret_forms(share))
