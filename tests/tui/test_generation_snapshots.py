"""Snapshots (pytest-textual-snapshot) of the main first-run and generation screens at 80x24.

Reviewed as PNG before being accepted. No real secret is on any of them: the share screen shows a DUMMY
share (fixed bytes 00 01 02 ..., fixed ids) of a rehearsal ledger; the passphrases are dummy rehearsal ones
and never on screen anyway. Paths shown are fixed so the pictures do not depend on the machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from ceremony.crypto.codec import encode_share
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme, Share
from ceremony.flows.generation import GenerationCeremony, SplitPlan
from ceremony.flows.presence import Presence
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.distribution import ShareScreen
from ceremony.tui.screens.gen_session import GenerationSession
from ceremony.tui.widgets.share_display import share_rows
from tests.tui.gen_cast import FAST_KDF, make_ledger, networked_laptop, passphrase, wait_for

FIXED = Path("/tmp/ceremony-snapshots")  # shown on screen: must be the same on every run
SIZE = (80, 24)


@pytest.fixture
def fixed_ledger() -> Path:
    shutil.rmtree(FIXED, ignore_errors=True)
    path = FIXED / "ledger.sqlite3"
    make_ledger(path)
    yield path
    shutil.rmtree(FIXED, ignore_errors=True)


def test_first_run_80x24(snap_compare: Any) -> None:
    app = LedgerApp(Path("/var/lib/ceremony/empty-ledger.sqlite3"), kdf=FAST_KDF)
    assert snap_compare(app, terminal_size=SIZE)


def test_main_menu_80x24(snap_compare: Any, fixed_ledger: Path) -> None:
    assert snap_compare(LedgerApp(fixed_ledger, kdf=FAST_KDF), terminal_size=SIZE)


def test_preflight_blocked_on_rehearsal_80x24(snap_compare: Any, fixed_ledger: Path) -> None:
    async def to_preflight(pilot: Any) -> None:
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "PreflightScreen")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#override").display)

    app = LedgerApp(fixed_ledger, kdf=FAST_KDF, preflight=networked_laptop)
    assert snap_compare(app, terminal_size=SIZE, run_before=to_preflight)


def test_administrator_and_witness_80x24(snap_compare: Any, fixed_ledger: Path) -> None:
    async def to_auth(pilot: Any) -> None:
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "PreflightScreen")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#override").display)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ControlAuthScreen")

    app = LedgerApp(fixed_ledger, kdf=FAST_KDF, preflight=networked_laptop)
    assert snap_compare(app, terminal_size=SIZE, run_before=to_auth)


def test_share_screen_with_a_dummy_share_80x24(snap_compare: Any, fixed_ledger: Path) -> None:
    async def show_dummy_share(pilot: Any) -> None:
        app = pilot.app
        ledger = app.context.open()
        presence = Presence(ledger)
        people = {p.name: p.person_id for p in app.context.people()}
        admin = presence.authenticate(
            people["Alice Admin"], SecretBytes(passphrase("alice").encode()), "administrator"
        )
        witness = presence.authenticate(
            people["Walter Witness"], SecretBytes(passphrase("walter").encode()), "witness"
        )
        # Not started through the flow: only the plan is read by the share screen. DUMMY share bytes.
        ceremony = GenerationCeremony(ledger, admin, witness, "snapshot", rehearsal=True)
        ceremony.plan = SplitPlan(Scheme.SHAMIR, 2, ("A", "B", "C"))
        session = GenerationSession(ledger, presence, networked_laptop, FAST_KDF, ceremony=ceremony)
        dummy = Share("KEY0000001", "SPT0000001", Scheme.SHAMIR, 2, 3, 1, SecretBytes(bytes(range(33))))
        await app.push_screen(ShareScreen(session, 1, "Carla One", share_rows(encode_share(dummy))))
        await pilot.pause()

    app = LedgerApp(fixed_ledger, kdf=FAST_KDF)
    assert snap_compare(app, terminal_size=SIZE, run_before=show_dummy_share)
