"""Pilot tests of "Lift a lockout" (issue 13 part 5) on a real rehearsal ledger: the lockout is read from the
ledger (a new app finds it), the auth form says so with the event that locked the person out and who can
lift it, and a security officer and a witness lift it from the main menu; the outcome is read back from the
ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, Static

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import WrongPassphraseError
from ceremony.flows.presence import MAX_ATTEMPTS, Presence
from ceremony.ledger.store import Ledger
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.officer.lockouts import LiftLockoutScreen, lift_lockout_screen
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import FAST_KDF, clear_laptop, make_ledger, passphrase, pick, type_into, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate


def secret(name: str) -> SecretBytes:
    return SecretBytes(passphrase(name).encode())


def lock_out(path: Path, ids: dict[str, str], name: str, role: str, watcher: str) -> int:
    """``name`` types three wrong passphrases while ``watcher`` (a witness) watches and signs them; the
    program then stops. Returns the ``auth.failed`` event that locked them out."""
    with Ledger.open(path) as ledger:
        presence = Presence(ledger)
        watching = presence.authenticate(ids[watcher], secret(watcher), "witness")
        for _ in range(MAX_ATTEMPTS):
            with pytest.raises(WrongPassphraseError):
                presence.authenticate(ids[name], SecretBytes(b"a wrong guess"), role)
        watching.leave()
        return ledger.size()


def lifts(path: Path) -> list[tuple[str, int, str, tuple[str, ...]]]:
    with Ledger.open(path, read_only=True) as ledger:
        return [
            (e.record.person_id, e.record.failures, e.record.reason, e.attested_by)
            for e in ledger.events()
            if e.type == "auth.lockout_lifted"
        ]


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


@pytest.fixture
def ledger_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ledger.sqlite3"
    return path, make_ledger(path)


async def test_officer_and_witness_lift_a_lockout_from_the_main_menu(ledger_file) -> None:
    path, ids = ledger_file
    seq = lock_out(path, ids, "cust1", "custodian", watcher="walter")
    app = LedgerApp(path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        target = app.screen.query_one("#lockouts", Button)
        while app.focused is not target:
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LiftLockoutScreen))
        screen = app.screen
        listed = text_of(screen, "#locked")
        assert "Carla One" in listed and f"since event #{seq}" in listed and "3 wrong passphrases" in listed
        await authenticate(pilot, screen.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie"))
        await authenticate(pilot, screen.query_one("#witness", AuthForm), ids["walter"], passphrase("walter"))
        await wait_for(pilot, lambda: screen.witness is not None)
        await pick(pilot, screen.query_one("#person", Select), ids["cust1"])
        await type_into(pilot, screen.query_one("#reason", Input), "identity confirmed in person")
        await pilot.press("enter")
        await pilot.pause()
        lifted = text_of(screen, "#lifted")
        assert "Carla One's lockout lifted" in lifted and f"#{seq + 1}" in lifted
        assert "Nobody is locked out" in text_of(screen, "#locked")
        assert screen.query_one("#lift", Button).disabled
        await pilot.press("enter")  # Done: back to the menu
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
    assert lifts(path) == [
        (
            ids["cust1"],
            MAX_ATTEMPTS,
            "identity confirmed in person",
            tuple(sorted([ids["sophie"], ids["walter"]])),
        )
    ]
    with Ledger.open(path) as ledger:  # the custodian may authenticate again
        Presence(ledger).authenticate(ids["cust1"], secret("cust1"), "custodian").leave()


async def test_the_auth_form_shows_a_lockout_on_record_and_the_lift_checks_dual_control(ledger_file) -> None:
    path, ids = ledger_file
    seq = lock_out(path, ids, "walter", "witness", watcher="dual")
    ledger = Ledger.open(path)
    app = LifecycleApp(lambda: lift_lockout_screen(ledger))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, LiftLockoutScreen))
            screen = app.screen
            # nothing to lift before both have authenticated
            screen.query_one("#lift", Button).press()
            await pilot.pause()
            assert "authenticate first" in text_of(screen, "#status")
            await authenticate(
                pilot, screen.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie")
            )
            witness = screen.query_one("#witness", AuthForm)
            await pick(pilot, witness.query_one(Select), ids["walter"])
            status = text_of(witness, ".auth-status")
            assert "LOCKED OUT" in status and f"on record since event #{seq}" in status
            assert "a security officer and a witness can lift" in status
            await authenticate(pilot, witness, None, passphrase("walter"))  # the right passphrase: refused
            assert "LOCKED OUT" in text_of(witness, ".auth-status") and screen.witness is None
            await authenticate(pilot, witness, ids["dual"], passphrase("dual"))
            await wait_for(pilot, lambda: screen.witness is not None)
            await pick(pilot, screen.query_one("#person", Select), ids["walter"])
            screen.query_one("#lift", Button).press()  # no reason given
            await pilot.pause()
            assert "state why" in text_of(screen, "#status")
            await type_into(
                pilot, screen.query_one("#reason", Input), "passphrase remembered, identity checked"
            )
            await pilot.press("enter")
            await pilot.pause()
            assert "Walter Witness's lockout lifted" in text_of(screen, "#lifted")
    finally:
        ledger.close()
    assert lifts(path) == [
        (
            ids["walter"],
            MAX_ATTEMPTS,
            "passphrase remembered, identity checked",
            tuple(sorted([ids["sophie"], ids["dual"]])),
        )
    ]
