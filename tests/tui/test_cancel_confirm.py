"""Part 2.6: one accidental Ctrl+C never voids a ceremony; a second confirms; SIGTERM does not ask."""

from __future__ import annotations

from ceremony.tui.app import CONFIRM_SECONDS, EXIT_CANCELLED
from ceremony.tui.screens.gen_key import KeyDetailsScreen
from tests.tui.gen_cast import wait_for
from tests.tui.test_generation_screens import app_for, events, through_auth, through_preflight
from tests.tui.test_generation_screens import ledger_file as ledger_file  # the fixture

__all__ = ["ledger_file"]


async def test_one_ctrl_c_asks_and_voids_nothing(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, KeyDetailsScreen)
        assert any("Cancel the ceremony?" in (n.title or "") for n in app._notifications)
        assert "ceremony.voided" not in [t for t, _ in events(path)]
        app._cancel_armed_at -= CONFIRM_SECONDS + 1  # the moment passes: a later Ctrl+C asks again
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and "ceremony.voided" not in [t for t, _ in events(path)]
        await pilot.press("ctrl+c")  # the confirmation
        await pilot.pause()
    assert app.return_code == EXIT_CANCELLED
    voided = [p for t, p in events(path) if t == "ceremony.voided"]
    assert len(voided) == 1 and "key details" in str(voided[0]["reason"])


async def test_sigterm_voids_at_once(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
        app._cancel_from_signal()  # what the loop's SIGTERM handler calls
        await pilot.pause()
        await pilot.pause()
    assert app.return_code == EXIT_CANCELLED
    assert [t for t, _ in events(path)].count("ceremony.voided") == 1


async def test_outside_a_ceremony_one_ctrl_c_leaves(ledger_file) -> None:
    path, _ = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == EXIT_CANCELLED
