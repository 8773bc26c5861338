"""A recovery to a TR-31 key block in the real terminal (issue 16): tmux at 80x24, keystrokes in,
``capture-pane`` out.

As in ``test_lifecycle_tmux.py``, a tiny script runs a ``CeremonyApp`` with :func:`recovery_screen` pushed
over its home screen through ``ceremony.tui.app.run_app``. The plan chooses the key block output (the KBPK's
name and custodians, the header left at its defaults: version D, K0, mode B, key version 00, N), the
custodians type their shares, the two KBPK custodians their components — the KBPK screen is read from the
pane, as the room sees it — and the block is written to a file that psec opens to the registered key.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import psec.tr31
import pytest

from ceremony.crypto.kcv import aes_kcv
from ceremony.crypto.keys import Key, KeyType
from ceremony.ledger.store import Ledger
from tests.tui.gen_cast import passphrase
from tests.tui.lifecycle_cast import generate, prepare
from tests.tui.test_generation_tmux import pick_option
from tests.tui.test_lifecycle_tmux import SCRIPT
from tests.tui.tmux_harness import REPO, TmuxSession, tmux_available

pytestmark = [pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"), pytest.mark.tmux]


def settle() -> None:
    time.sleep(0.3)


def test_recovery_to_a_key_block_in_tmux(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    with Ledger.open(path) as ledger:
        zmk = generate(ledger, ids, ("cust1", "cust2", "cust3"), 2, "ZMK")
    parts = [Key.generate(KeyType.AES_256) for _ in range(2)]
    kbpk = bytes(a ^ b for a, b in zip(parts[0].material.view(), parts[1].material.view(), strict=True))
    script = tmp_path / "recovery_app.py"
    script.write_text(SCRIPT)
    out = tmp_path / "zmk.tr31"
    python = str(REPO / ".venv" / "bin" / "python")
    with TmuxSession(cwd=REPO) as tmux:
        tmux.run_command(python, str(script), str(path))
        tmux.wait_for_text("Key to rebuild", timeout=20)
        pick_option(tmux, 1)  # the ZMK
        settle()
        tmux.send_keys("Tab", "Tab")  # past its split (the only one, chosen already) to the purpose
        settle()
        tmux.type_text("Load the ZMK into payShield HSM-3")
        tmux.send_keys("Enter")  # -> place of the ceremony
        settle()
        tmux.type_text("Vault room 2")
        tmux.send_keys("Enter")  # -> output
        pick_option(tmux, 2)  # components, wrapped, *key block*, token
        screen = tmux.wait_for_text("KBPK name")
        assert "TR-31 key block" in screen and "KEK" not in screen
        tmux.send_keys("Tab")
        settle()
        tmux.type_text("HSM-3 KBPK")
        settle()
        tmux.send_keys("Tab")  # into the KBPK custodians list, on its first name
        settle()
        tmux.send_keys("Down", "Down", "Down", "Down")
        settle()
        tmux.send_keys("space")  # cust5, planned
        settle()
        tmux.send_keys("Down")
        settle()
        tmux.send_keys("space")  # cust6, planned
        settle()
        # Past the KBPK's KCV and the header's six fields (left at their defaults) to Continue.
        for _ in range(8):
            tmux.send_keys("Tab")
            time.sleep(0.15)
        screen = tmux.wait_for_text("Continue: air-gap preflight")
        assert "Key set id" in screen  # the header's last field, just above
        settle()
        tmux.send_keys("Enter")
        tmux.wait_for(lambda s: "Preflight clear" in s or "BLOCKED" in s, timeout=30)
        settle()
        tmux.send_keys("Enter")  # Continue, or "Record and continue (rehearsal only)": it has the focus
        tmux.wait_for_text("Ceremony administrator")
        settle()
        tmux.type_text(passphrase("alice"))
        tmux.send_keys("Enter")
        tmux.wait_for_text("Alice Admin is present")
        settle()
        tmux.type_text(passphrase("walter"))
        tmux.send_keys("Enter")
        for count, number in enumerate((1, 3)):
            tmux.wait_for_text(f"Shares entered: {count} of 2")
            pick_option(tmux, number - count)
            tmux.send_keys("Tab")
            settle()
            tmux.type_text(passphrase(zmk.holders[number]))
            tmux.send_keys("Enter")
            tmux.wait_for_text("do NOT open the envelope")
            tmux.type_text(zmk.serials[number])
            tmux.send_keys("Enter")
            pick_option(tmux, 1)  # yes, intact
            tmux.send_keys("Tab")
            pick_option(tmux, 1)  # witness: yes, intact
            tmux.send_keys("Tab", "Enter")
            tmux.wait_for_text("please look away")
            tmux.type_text(zmk.texts[number])
            groups = zmk.texts[number].split("-")
            tmux.wait_for(lambda s, g=groups: f"typing group {len(g)}" in s and g[-1] in s)
            tmux.send_keys("Enter")
        tmux.wait_for_text("2 of 2")
        settle()
        tmux.send_keys("Enter")  # Rebuild the key now
        screen = tmux.wait_for_text("KCV matches the register")
        assert "Continue: enter the KBPK components" in screen
        tmux.send_keys("Enter")
        # The KBPK screen as the room reads it: the KBPK named everywhere, never "KEK"; whole at 80x24.
        screen = tmux.wait_for_text("KBPK components entered: 0 of 2")
        lines = screen.rstrip("\n").splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "KBPK components" in lines[0]  # the title, with "Step 6 of 7"
        for text in (
            "Everyone except the KBPK custodian typing, please look away.",
            "waiting: Cleo Five, Cyril Six",
            "KBPK custodian",
            "KBPK component (hex digits, spaces allowed)",
            "All KBPK components entered: make the key block",
        ):
            assert text in screen, (text, screen)
        assert "KEK" not in screen
        for entered, (name, part) in enumerate((("cust5", parts[0]), ("cust6", parts[1]))):
            tmux.wait_for_text(f"KBPK components entered: {entered} of 2")
            settle()
            if entered == 0:
                pick_option(tmux, 1)
                tmux.send_keys("Tab")
                settle()
            tmux.type_text(passphrase(name))
            tmux.send_keys("Enter")
            tmux.wait_for_text("is present and authenticated")
            settle()
            hex_text = bytes(part.material.view()).hex()
            tmux.type_text(hex_text)
            screen = tmux.capture()
            assert hex_text[:16] not in screen  # masked while typed
            tmux.send_keys("Enter")
            tmux.wait_for_text(f"KCV {aes_kcv(part.material).hex}")
        settle()
        tmux.send_keys("Enter")  # Done: make the key block
        tmux.wait_for_text("Output file path")
        tmux.type_text(str(out))
        tmux.send_keys("Enter")
        # Continue takes the focus and the body scrolls to it: the figures and the close-out note show.
        screen = tmux.wait_for(lambda s: "SHA-256" in s and "transmittal form" in s and "Continue" in s)
        lines = screen.rstrip("\n").splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert digest[:30] in screen
        tmux.send_keys("Enter")  # Continue: wipe and close
        tmux.wait_for_text("Wipe the key and close")
        tmux.send_keys("Enter")
        tmux.wait_for_text("Ceremony closed")
        tmux.send_keys("Enter")  # Done: back to the home screen
        tmux.wait_for_text("This laptop will walk")
        tmux.send_keys("q")
        code, after = tmux.wait_for_exit(timeout=15)
    assert code == 0
    assert bytes(parts[0].material.view()).hex()[:16] not in after
    header, key = psec.tr31.unwrap(kbpk, out.read_text())
    assert aes_kcv(key).hex == zmk.kcv_hex
    assert (header.version_id, header.key_usage, header.mode_of_use, header.exportability) == (
        "D",
        "K0",
        "B",
        "N",
    )
    with Ledger.open(path, read_only=True) as ledger:
        recorded = [(e.type, dict(e.payload)) for e in ledger.events()]
    exported = [p for t, p in recorded if t == "key.block_exported"][-1]
    assert exported["block_sha256"] == digest
    assert [t for t, _ in recorded][-3:] == ["key.wiped", "ceremony.closed", "document.issued"]
