"""The main menu reaches every ceremony and register screen, keyboard only, within 80x24."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.tui.app import LedgerApp
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, wait_for

ENTRIES = [
    ("recover", "Recovery: key and output"),
    ("reshare", "Re-share: key and new custodians"),
    ("retire", "Retire a key or split"),
    ("departure", "Custodian departure"),
    ("keyblock", "Check a received key block"),
    ("keys", "Keys"),
    ("reaffirmations", "Reaffirmations"),
    ("reports", "Reports"),
]


@pytest.mark.parametrize(("button", "title"), ENTRIES)
async def test_each_lifecycle_entry_opens_its_screen(tmp_path: Path, button, title) -> None:
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        # every choice is visible at 80x24 without scrolling
        menu = app.screen.query_one("#menu")
        assert menu.region.bottom <= 23
        target = app.screen.query_one(f"#{button}")
        while app.focused is not target:
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "TITLE", None) == title)
        assert app.screen.TITLE == title


def test_read_only_auditor_view_in_tmux_leaves_the_ledger_untouched(tmp_path: Path) -> None:
    """`ceremony --read-only --ledger PATH` on the real terminal: verify's result first, nothing written."""
    import hashlib

    from tests.tui.tmux_harness import TmuxSession, tmux_available

    if not tmux_available():
        pytest.fail("tmux is missing: scripts/test installs it")
    path = tmp_path / "ledger.sqlite3"
    make_ledger(path)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    with TmuxSession(cwd=tmp_path) as tmux:
        tmux.run_ceremony("--read-only", "--ledger", str(path))
        screen = tmux.wait_for_text("INTACT")
        assert "FAULT" not in screen
        tmux.send_keys("q")
        code, _ = tmux.wait_for_exit()
    assert code == 0
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.sqlite3"]


def test_start_screen_lists_keys_due_expired_and_to_replace(tmp_path: Path) -> None:
    """PCI DSS 3.7.4/3.7.5: at start, expired and soon-due cryptoperiods and must-be-replaced keys."""
    from datetime import UTC, datetime, timedelta

    from ceremony.crypto.keys import KeyType
    from ceremony.crypto.share import Scheme
    from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
    from ceremony.flows.presence import Presence
    from ceremony.ledger import participants
    from ceremony.ledger.store import Ledger
    from ceremony.tui.screens.main_menu import attention_text
    from tests.tui.gen_cast import passphrase

    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    with Ledger.open(path) as ledger:
        presence = Presence(ledger)

        def present(name: str, role: str):
            from ceremony.crypto.secret import SecretBytes

            return presence.authenticate(ids[name], SecretBytes(passphrase(name).encode()), role)

        for label, days in (("SHORT-LIVED", 30), ("LONG-LIVED", 3000)):
            ceremony = GenerationCeremony.start(
                ledger, present("alice", "administrator"), present("walter", "witness"), "t", rehearsal=True
            )
            ceremony.record_preflight({}, [], record_only=True)
            spec = KeySpec(KeyType.AES_128, label, "test", days)
            ceremony.plan_key(spec, SplitPlan(Scheme.SHAMIR, 2, (ids["cust1"], ids["cust2"])))
            ceremony.generate()
            ceremony.reveal(1, present("cust1", "custodian")).wipe()  # cust1 now knows share 1
            ceremony.void("enough for the register")
        assert "SHORT-LIVED: cryptoperiod ends in" in attention_text(ledger).plain
        assert "LONG-LIVED" not in attention_text(ledger).plain
        later = datetime.now(UTC) + timedelta(days=40)
        assert "SHORT-LIVED: cryptoperiod EXPIRED" in attention_text(ledger, later).plain
        officer, witness = present("sophie", "security_officer"), present("walter", "witness")
        signers = [officer, witness]
        actors = [s.person_id for s in signers]
        participants.deactivate(ledger, ids["cust1"], "left the company", actors, signers)
        assert "must be replaced" in attention_text(ledger).plain
