"""The verification round in a real terminal (tmux, 80x24): a custodian mistypes one group, the screen names
that group, shows only that group in clear, and Backspace plus the one group retyped completes the round.

The way to the verification round is test_generation_tmux's (a rehearsal ledger, the real binary); only the
round itself differs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from ceremony.crypto.ids import ALPHABET
from ceremony.ledger.store import Ledger
from tests.tui.gen_cast import make_ledger, passphrase
from tests.tui.test_generation_tmux import pick_option, press, share_on_screen
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed")


def to_verification_round(tmux: TmuxSession, path: Path) -> list[str]:
    """Drive a 2-of-3 generation up to the verification round; the shares as the custodians copied them."""
    tmux.run_ceremony("--ledger", str(path))
    tmux.wait_for_text("New key generation ceremony", timeout=20)
    press(tmux, "Enter")
    tmux.wait_for(lambda s: "Preflight clear" in s or "Record and continue" in s)
    press(tmux, "Enter")
    tmux.wait_for_text("Purpose of this ceremony")
    tmux.type_text("Verification round with a typo")
    press(tmux, "Enter")
    pick_option(tmux, 1)  # Alice Admin
    press(tmux, "Tab")  # on to her passphrase
    tmux.type_text(passphrase("alice"))
    press(tmux, "Enter")
    tmux.wait_for_text("Alice Admin is present")
    pick_option(tmux, 1)  # Walter Witness
    press(tmux, "Tab")
    tmux.type_text(passphrase("walter"))
    press(tmux, "Enter")
    tmux.wait_for_text("Cryptoperiod (days)")
    tmux.type_text("ZMK-TYPO-01")
    press(tmux, "Enter")
    time.sleep(0.5)  # the focus moves on to the usage field
    tmux.type_text("zone master key")
    press(tmux, "Enter", "Enter")
    tmux.wait_for_text("Choose the custodian")
    press(tmux, "Tab", "Tab", "Tab")
    for option in (1, 2, 3):
        pick_option(tmux, option)
        press(tmux, "Tab")
    press(tmux, "Enter")
    tmux.wait_for_text("Generate the key")
    press(tmux, "Enter")
    tmux.wait_for_text("read it aloud")
    press(tmux, "Space")
    press(tmux, "Enter")
    shares: list[str] = []
    for number, short in enumerate(["cust1", "cust2", "cust3"], start=1):
        tmux.wait_for_text(f"Share {number} of 3")
        tmux.type_text(passphrase(short))
        press(tmux, "Enter")
        shares.append(share_on_screen(tmux.wait_for_text("I have recorded it")))
        press(tmux, "Enter")
        tmux.wait_for_text("Envelope serial number")
        tmux.type_text(f"TE-{number:04d}")
        press(tmux, "Enter")
    return shares


def test_a_typo_in_the_verification_round_is_corrected_in_its_group_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    with TmuxSession(cwd=tmp_path) as tmux:
        shares = to_verification_round(tmux, path)
        groups = shares[0].split("-")
        wrong = groups[11][:3] + ALPHABET[(ALPHABET.index(groups[11][3]) + 5) % 32] + groups[11][4:]
        tmux.wait_for_text("Verification: share 1 of 3")
        tmux.type_text("-".join(groups[:11]))
        tmux.type_text(wrong.lower())  # as typed on a laptop keyboard
        screen = tmux.wait_for_text("Typing error in group 12")
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert screen.count("•••••✓") == 11
        assert wrong in screen and not any(g in screen for g in groups if g != wrong)
        tmux.type_text(groups[12])  # refused: group 12 is corrected first
        press(tmux, "Enter")
        assert "Verification: share 1 of 3" in tmux.capture()
        press(tmux, *["BSpace"] * 2)
        tmux.type_text(groups[11][3:])
        tmux.wait_for(lambda s: s.count("•••••✓") == 12 and "Typing error" not in s)
        tmux.type_text("-".join(groups[12:]))
        press(tmux, "Enter")
        for number, share in enumerate(shares[1:], start=2):
            tmux.wait_for_text(f"Verification: share {number} of 3")
            tmux.type_text(share)
            press(tmux, "Enter")
        tmux.wait_for_text("Place of the ceremony")
        after = tmux.capture()
        tmux.send_keys("C-c")
    assert not any(g in after for share in shares for g in share.split("-")[7:])
    with Ledger.open(path, read_only=True) as ledger:
        verified = [e.payload["ok"] for e in ledger.events() if e.type == "share.verified"]
    assert verified == [True, True, True]
    assert re.fullmatch(r"[0-9A-Z]{2,5}", wrong)
