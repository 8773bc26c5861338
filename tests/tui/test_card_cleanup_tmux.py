"""The real ``ceremony`` binary in tmux: a share card printed to the RAM folder is overwritten and removed
when the run is cancelled with Ctrl+C or ended with SIGTERM (issue 13 part 6).

``$CEREMONY_PRINTER=ram:DIR`` points the card at a fresh folder in /dev/shm. The ceremony is driven by
keystrokes to share 1, "Print a share card instead", an envelope serial and Enter: the card file is there.
Then Ctrl+C (a key in the terminal), or ``kill -TERM`` on the ceremony process; the folder must be empty
once it has exited, and the ledger must say the card was wiped (signed while the custodian and the witness
were still present).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ceremony.ledger.store import Ledger
from tests.tui.gen_cast import make_ledger, passphrase
from tests.tui.test_generation_tmux import pick_option, press
from tests.tui.tmux_harness import TmuxSession, tmux_available

pytestmark = pytest.mark.skipif(not tmux_available(), reason="tmux is not installed")


@pytest.fixture
def ram() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ceremony-tmux-card-", dir="/dev/shm"))
    yield folder
    for leftover in folder.iterdir():
        leftover.unlink()
    folder.rmdir()


def type_and_enter(tmux: TmuxSession, text: str) -> None:
    """Type into the focused field, wait until it is on screen, then Enter (and let the focus move on)."""
    tmux.type_text(text)
    tmux.wait_for_text(text)
    press(tmux, "Enter")
    time.sleep(0.3)


def to_printed_card(tmux: TmuxSession, ledger: Path, ram: Path) -> Path:
    """Keystrokes from the main menu to share 1's card written in ``ram``; returns the card file."""
    tmux.run_ceremony("--ledger", str(ledger))
    tmux.wait_for_text("New key generation ceremony", timeout=20)
    press(tmux, "Enter")
    tmux.wait_for(lambda s: "Preflight clear" in s or "Record and continue" in s)
    press(tmux, "Enter")
    tmux.wait_for_text("Purpose of this ceremony")
    type_and_enter(tmux, "Card cleanup in tmux")
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
    type_and_enter(tmux, "ZMK-CARD-TMUX")
    type_and_enter(tmux, "zone master key")
    press(tmux, "Enter")
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
    tmux.wait_for_text("Share 1 of 3")
    tmux.type_text(passphrase("cust1"))
    press(tmux, "Enter")
    tmux.wait_for_text("Print a share card instead")
    press(tmux, "Tab")  # from "I have recorded it" to "Print a share card instead"
    press(tmux, "Enter")
    tmux.wait_for_text("Envelope serial number")
    assert list(ram.iterdir()) == []
    tmux.type_text("TE-CARD-01")
    press(tmux, "Enter")
    tmux.wait_for_text("(RAM)", timeout=30)
    (card,) = list(ram.iterdir())
    assert card.name.startswith("share-card-") and card.read_bytes().startswith(b"%PDF")
    return card


def card_events(ledger: Path) -> list[tuple[str, dict[str, object]]]:
    with Ledger.open(ledger, read_only=True) as opened:
        return [
            (e.type, e.payload)
            for e in opened.events()
            if e.type in ("share.card_delivered", "share.card_wiped", "ceremony.voided")
        ]


def check_wiped_and_recorded(ledger: Path, ram: Path, card: Path) -> None:
    assert list(ram.iterdir()) == []
    recorded = card_events(ledger)
    assert [t for t, _ in recorded] == ["share.card_delivered", "share.card_wiped", "ceremony.voided"]
    assert recorded[1][1]["file"] == str(card) and not recorded[1][1].get("leftover")


def test_ctrl_c_wipes_the_card_file(tmp_path: Path, ram: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    make_ledger(ledger)
    with TmuxSession(cwd=tmp_path, env={"CEREMONY_PRINTER": f"ram:{ram}"}) as tmux:
        card = to_printed_card(tmux, ledger, ram)
        tmux.send_keys("C-c")  # one Ctrl+C only asks (issue 14): the card file is still there
        tmux.wait_for_text("Cancel the ceremony?")
        assert card.exists()
        tmux.send_keys("C-c")  # the second confirms: voided, the card file wiped
        code, _ = tmux.wait_for_exit(timeout=20)
    assert code == 130
    check_wiped_and_recorded(ledger, ram, card)


def test_sigterm_wipes_the_card_file(tmp_path: Path, ram: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    make_ledger(ledger)
    with TmuxSession(cwd=tmp_path, env={"CEREMONY_PRINTER": f"ram:{ram}"}) as tmux:
        card = to_printed_card(tmux, ledger, ram)
        (pid,) = tmux.program_pids()
        os.kill(pid, signal.SIGTERM)
        code, _ = tmux.wait_for_exit(timeout=20)
    assert code == 130  # the app's recorded-cancel path, as for Ctrl+C
    check_wiped_and_recorded(ledger, ram, card)
