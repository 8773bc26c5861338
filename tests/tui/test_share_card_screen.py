"""Distribution with a printed share card: to a RAM folder, recorded, wiped after printing."""

from __future__ import annotations

import tempfile
from pathlib import Path

from textual.widgets import Button, Input

from ceremony.tui.screens.distribution import CardScreen, LookAwayScreen, ReceiptScreen, ShareScreen
from ceremony.tui.screens.gen_verify import VerifyShareScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.share_display import ShareDisplay
from tests.tui.gen_cast import make_ledger, passphrase, type_into, wait_for
from tests.tui.test_generation_screens import (
    app_for,
    authenticate,
    events,
    generate,
    plan_split,
    shown_share,
    through_auth,
    through_key_details,
    through_preflight,
)


async def test_first_custodian_takes_a_printed_card(tmp_path: Path, monkeypatch) -> None:
    ram = Path(tempfile.mkdtemp(dir="/dev/shm"))
    monkeypatch.setenv("CEREMONY_PRINTER", f"ram:{ram}")
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await generate(pilot, app)
        await authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase("cust1"))
        await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
        first = shown_share(app.screen.query_one(ShareDisplay))
        app.screen.query_one("#card", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CardScreen))
        card_screen = app.screen
        assert not any(isinstance(s, ShareScreen) for s in app.screen_stack)
        await type_into(pilot, card_screen.query_one("#serial", Input), "TE-CARD-1")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not card_screen.query_one("#printed", Button).disabled)
        (card,) = list(ram.iterdir())
        assert card.read_bytes().startswith(b"%PDF")
        assert app.focused is card_screen.query_one("#printed", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LookAwayScreen))
        assert list(ram.iterdir()) == []  # overwritten and deleted after printing
        others = []
        for number, short in ((2, "cust2"), (3, "cust3")):
            await wait_for(pilot, lambda: isinstance(app.screen, LookAwayScreen))
            await authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase(short))
            await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
            others.append(shown_share(app.screen.query_one(ShareDisplay)))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
            await type_into(pilot, app.screen.query_one("#serial", Input), f"TE-{number}")
            await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyShareScreen))
        assert first not in others
    recorded = events(path)
    printed = [p for t, p in recorded if t == "share.exposed" and p["kind"] == "printed"]
    assert [(p["share_number"], p["envelope_serial"]) for p in printed] == [(1, "TE-CARD-1")]
    receipts = {p["share_number"]: p["method"] for t, p in recorded if t == "share.received"}
    assert receipts == {1: "card", 2: "recorded", 3: "recorded"}
    assert any(t == "share.card_wiped" for t, _ in recorded)
