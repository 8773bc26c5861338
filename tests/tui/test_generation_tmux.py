"""The real ``ceremony`` binary in tmux at 80x24 through a complete 2-of-3 generation ceremony.

The ledger is prepared in the test (a rehearsal ledger, people enrolled with the light KDF and dummy
rehearsal passphrases); everything else is keystrokes into the terminal and ``capture-pane`` reads. The
share groups are read off the screen the way a custodian would copy them, then typed back in the
verification round. The preflight is the real one (on a networked test machine it blocks, and the
rehearsal ledger offers "record and continue").
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from ceremony.ledger.store import Ledger
from tests.tui.gen_cast import make_ledger, passphrase
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed")

GROUP = re.compile(r"^[0-9A-Z]{1,5}$")


def share_on_screen(screen: str) -> str:
    """The groups inside the share frame, in order, as a custodian copies them (row numbers dropped)."""
    groups: list[str] = []
    for line in screen.splitlines():
        if "┃" not in line:
            continue
        words = line.replace("┃", " ").split()
        if len(words) >= 2 and words[0].isdigit() and all(GROUP.match(w) for w in words[1:]):
            groups += words[1:]
    return "-".join(groups)


def press(tmux: TmuxSession, *keys: str) -> None:
    """Keys at a person's pace: each one is handled (focus moved, screen switched) before the next."""
    for key in keys:
        tmux.send_keys(key)
        time.sleep(0.25)


def pick_option(tmux: TmuxSession, downs: int) -> None:
    """Open the focused Select, move to option ``downs`` (1 = first person; 0 is the prompt), choose it."""
    time.sleep(0.3)  # the Select has just been given the focus
    tmux.send_keys("Enter")
    tmux.wait_for_text("Dismiss menu")
    time.sleep(0.3)  # the overlay takes keys once it has the focus
    for _ in range(downs):
        tmux.send_keys("Down")
    time.sleep(0.2)
    tmux.send_keys("Enter")
    tmux.wait_for(lambda s: "Dismiss menu" not in s)
    time.sleep(0.2)


def test_complete_2_of_3_generation_in_tmux(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    custodians = ["cust1", "cust2", "cust3"]
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--ledger", str(path))
        tmux.wait_for_text("New key generation ceremony", timeout=20)
        press(tmux, "Enter")
        screen = tmux.wait_for(lambda s: "Preflight clear" in s or "Record and continue" in s)
        assert "Step 1 of 8" in screen
        press(tmux, "Enter")  # Continue, or (networked machine) record and continue: focused either way
        tmux.wait_for_text("Purpose of this ceremony")
        tmux.type_text("Rehearsal 2-of-3 in tmux")
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
        tmux.type_text("ZMK-TMUX-01")
        press(tmux, "Enter")
        tmux.type_text("zone master key")
        press(tmux, "Enter", "Enter")
        tmux.wait_for_text("Choose the custodian")
        press(tmux, "Tab", "Tab", "Tab")  # scheme -> m -> n -> custodian of share 1
        for option in (1, 2, 3):
            pick_option(tmux, option)
            press(tmux, "Tab")
        press(tmux, "Enter")  # "Check and record the plan" has the focus
        tmux.wait_for_text("Generate the key")
        press(tmux, "Enter")
        screen = tmux.wait_for_text("read it aloud")
        kcv = re.search(r"KCV ((?:[0-9A-F]{2} ){4}[0-9A-F]{2})", screen)
        assert kcv is not None
        press(tmux, "Space")
        press(tmux, "Enter")
        shares: list[str] = []
        for number, short in enumerate(custodians, start=1):
            screen = tmux.wait_for_text(f"Share {number} of 3")
            assert "please look away" in screen
            tmux.type_text(passphrase(short))
            press(tmux, "Enter")
            screen = tmux.wait_for_text("I have recorded it")
            lines = screen.splitlines()
            assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
            shares.append(share_on_screen(screen))
            assert len(shares[-1].split("-")) > 10
            press(tmux, "Enter")
            screen = tmux.wait_for_text("Envelope serial number")
            assert shares[-1].split("-")[8] not in screen  # wiped from the screen
            tmux.type_text(f"TE-{number:04d}")
            press(tmux, "Enter")
        for number, share in enumerate(shares, start=1):
            tmux.wait_for_text(f"Verification: share {number} of 3")
            tmux.type_text(share)
            press(tmux, "Enter")
        tmux.wait_for_text("Place of the ceremony")
        tmux.type_text("Test room")
        press(tmux, "Enter", "Enter")
        screen = tmux.wait_for_text("Ceremony closed", timeout=30)
        press(tmux, "Enter")
        tmux.wait_for_text("New key generation ceremony")
        press(tmux, "q")
        code, after = tmux.wait_for_exit()
    assert code == 0
    assert not any(share.split("-")[8] in after for share in shares)  # terminal left clean
    with Ledger.open(path, read_only=True) as ledger:
        recorded = [(e.type, e.payload) for e in ledger.events()]
    key = next(p for t, p in recorded if t == "key.registered")
    assert kcv.group(1).replace(" ", "") == str(key["kcv_hex"]).upper()
    assert [p["ok"] for t, p in recorded if t == "share.verified"] == [True, True, True]
    assert [t for t, _ in recorded][-1] == "document.issued"  # the minutes, after ceremony.closed
    assert "ceremony.closed" in [t for t, _ in recorded]
