"""A re-share's verification round: a new custodian who types another new custodian's share has
demonstrated knowledge of it (DESIGN §3). The round stops until a security officer decides, on the same
screen as generation's (issue 14: one framework), reached through the router."""

from __future__ import annotations

from textual.widgets import Button, Input, Select, SelectionList

from ceremony.ledger.verify import verify_ledger
from ceremony.tui.screens.distribution import LookAwayScreen, ReceiptScreen, ShareScreen
from ceremony.tui.screens.gen_verify import DemonstratedIncidentScreen
from ceremony.tui.screens.lifecycle.recovery_rebuild import RebuiltScreen
from ceremony.tui.screens.lifecycle.reshare_distribute import NewShareVerifyScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.share_display import ShareDisplay
from ceremony.tui.widgets.share_groups import GroupedShareEntry
from tests.tui.gen_cast import passphrase, pick, type_into, wait_for
from tests.tui.gen_cast import type_share as type_groups
from tests.tui.lifecycle_cast import LifecycleApp, authenticate
from tests.tui.test_lifecycle_screens import (
    control_auth,
    enter_share,
    rebuild,
    reshare_screen,
    through_preflight,
    types,
)
from tests.tui.test_lifecycle_screens import world as world  # the fixture

__all__ = ["world"]


async def test_a_new_custodian_typing_another_new_share_waits_for_the_officer(world) -> None:
    ledger, ids, zmk, _ = world
    new = ("cust5", "cust6", "cust7")
    app = LifecycleApp(lambda: reshare_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
        await pick(pilot, screen.query_one("#reason", Select), "routine")
        await type_into(pilot, screen.query_one("#purpose", Input), "New custodian set")
        listing = screen.query_one("#custodians", SelectionList)
        for name in new:
            listing.select(ids[name])
        screen.query_one("#threshold", Input).value = "3"
        screen.query_one("#continue", Button).focus()
        await pilot.press("enter")
        await through_preflight(pilot, app)
        await control_auth(pilot, app, ids)
        for number in (1, 2, 4):
            await enter_share(pilot, app, ids, zmk, number)
        await rebuild(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, RebuiltScreen))
        await pilot.press("enter")
        written: list[str] = []
        for number, name in enumerate(new, start=1):
            await wait_for(pilot, lambda: isinstance(app.screen, LookAwayScreen))
            await authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase(name))
            await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
            rows = app.screen.query_one("#share", ShareDisplay).render().plain.split("\n")
            written.append("-".join(g for row in rows for g in row.split()[1:]))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
            await type_into(pilot, app.screen.query_one("#serial", Input), f"TE-NEW-{number}")
            await pilot.press("enter")
        # New custodian 1 types new share 2: demonstrated knowledge, recorded; the round stops.
        await wait_for(pilot, lambda: isinstance(app.screen, NewShareVerifyScreen))
        await type_groups(pilot, app.screen.query_one("#share-entry", GroupedShareEntry), written[1])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DemonstratedIncidentScreen))
        assert "incident.recorded" in types(ledger)
        screen = app.screen
        await authenticate(pilot, screen.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie"))
        # Two of the three new shares known to one person: the custody rule no longer holds (the key's
        # quorum is 3), so only "void" is offered.
        assert [v for _, v in screen.query_one("#decision", Select)._options if v != Select.BLANK] == ["void"]
        await type_into(pilot, screen.query_one("#reason", Input), "typed another custodian's new share")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.query_one("#close", Button).disabled)
        assert "Voided" in str(screen.query_one("#status").render())
        await pilot.press("enter")  # Close: back to where the re-share was opened
        await pilot.pause()
    decided = [e.payload for e in ledger.events() if e.type == "incident.decided"]
    assert decided and decided[-1]["decision"] == "void"
    retired = [e.payload for e in ledger.events() if e.type == "split.retired"]
    assert retired[-1]["split_id"] != zmk.split_id  # the new split is retired; the old one stays in force
    assert types(ledger)[-1] == "ceremony.voided" or "ceremony.voided" in types(ledger)[-3:]
    verify_ledger(ledger.path)
