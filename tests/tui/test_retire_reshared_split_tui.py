"""A re-share retires its old split without asking about that split's envelopes (issue 15, item 5): the
retirement screen offers the already-retired split ("Envelopes of retired split …"), retires nothing, and
asks about each of its envelopes with the same per-envelope UI, at 80x24; the destruction certificate and
the minutes follow, and the custody report shows the old split destroyed."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, Static

from ceremony.crypto.share import Scheme
from ceremony.flows.common import SplitPlan
from ceremony.flows.reshare import ReshareCeremony, ReshareReason
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.screens.lifecycle import retire_screen as _retire_screen
from ceremony.tui.screens.lifecycle.recovery_finish import old_envelopes_line
from ceremony.tui.screens.lifecycle.retire import targets
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import clear_laptop, passphrase, pick, type_into, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate, generate, prepare, present
from tests.tui.test_envelope_destruction_tui import custody_shares, events, on_screen, status


@pytest.fixture
def reshared(tmp_path: Path):
    """A rehearsal ledger whose 2-of-2 PVK (cust1, cust2) was re-shared to cust3, cust4 by the flow."""
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    ledger = Ledger.open(path)
    pvk = generate(ledger, ids, ("cust1", "cust2"), 2, "PVK")
    admin = present(ledger, ids, "alice", "administrator")
    witness = present(ledger, ids, "walter", "witness")
    plan = SplitPlan(Scheme.SHAMIR, 2, (ids["cust3"], ids["cust4"]))
    ceremony = ReshareCeremony.start(
        ledger, admin, witness, pvk.key_id, plan, ReshareReason.ROUTINE, "rotate", rehearsal=True
    )
    ceremony.record_preflight({"taken_at": "2026-11-23T00:00:00Z"}, uncovered=[])
    for number in (1, 2):
        me = present(ledger, ids, pvk.holders[number], "custodian")
        ceremony.inspect_envelope(number, me, pvk.serials[number], True, True)
        ceremony.enter_share(me, bytearray(pvk.texts[number].encode()))
        me.leave()
    ceremony.rebuild()
    ceremony.reshare()
    for number, name in ((1, "cust3"), (2, "cust4")):
        me = present(ledger, ids, name, "custodian")
        typed = ceremony.reveal(number, me)
        text = bytearray(typed.view())
        typed.wipe()
        ceremony.confirm_receipt(number, me, f"TE-NEW-{number:03d}", "card")
        assert ceremony.verify_share(number, me, text)
        me.leave()
    result = ceremony.finish()
    admin.leave()
    witness.leave()
    assert [e.serial for e in result.envelopes_to_account] == [pvk.serials[1], pvk.serials[2]]
    yield ledger, ids, pvk, result
    ledger.close()


async def test_the_retirement_screen_takes_up_a_reshared_split(reshared) -> None:
    ledger, ids, pvk, result = reshared
    assert "2 envelope(s)" in old_envelopes_line(len(result.envelopes_to_account))  # the re-share's close
    offered = dict((value, label) for label, value in targets(ledger))
    assert f"envelopes:{pvk.split_id}" in offered and "(2 held)" in offered[f"envelopes:{pvk.split_id}"]
    app = LifecycleApp(lambda: _retire_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        button = screen.query_one("#preflight-continue", Button)
        await wait_for(pilot, lambda: not button.disabled)
        button.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Preflight accepted" in status(app))
        await type_into(pilot, screen.query_one("#purpose", Input), "Destroy the old PVK split's envelopes")
        await type_into(pilot, screen.query_one("#location", Input), "Vault room 2")
        await authenticate(
            pilot, screen.query_one("#administrator", AuthForm), ids["alice"], passphrase("alice")
        )
        await authenticate(pilot, screen.query_one("#witness", AuthForm), ids["walter"], passphrase("walter"))
        # No reason is needed: nothing is retired.
        await pick(pilot, screen.query_one("#target", Select), f"envelopes:{pvk.split_id}")
        screen.query_one("#retire", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "taken up: 2 envelope(s)" in str(screen.query_one("#done-list", Static).render())
        ask = str(screen.query_one("#envelope-ask", Static).render())
        assert "2 envelope(s) to account for" in ask and pvk.serials[1] in ask and "retired" in ask
        assert app.focused is screen.query_one("#serial", Input) and on_screen(app, "#serial")
        for number, who in ((1, "Cust One"), (2, "Cust Two")):
            assert screen.query_one("#which", Select).value == pvk.serials[number]
            screen.query_one("#serial", Input).value = ""
            await type_into(pilot, screen.query_one("#serial", Input), pvk.serials[number])
            await type_into(pilot, screen.query_one("#returned-by", Input), who)
            await pilot.press("enter")
            await pilot.pause()
            assert f"{pvk.serials[number]} (share {number}): serial checked, DESTROYED" in str(
                screen.query_one("#done-list", Static).render()
            )
            screen.query_one("#returned-by", Input).value = ""
        assert app.focused is screen.query_one("#close", Button) and on_screen(app, "#close")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "closed" in status(app), timeout=30)
        assert "Destruction certificate" in status(app)
        # Nothing of that split is offered any more.
        assert f"envelopes:{pvk.split_id}" not in dict((v, k) for k, v in targets(ledger))

    retired = [e for e in events(ledger, "split.retired") if e["split_id"] == pvk.split_id]
    assert len(retired) == 1  # retired by the re-share only
    assert [d["envelope_serial"] for d in events(ledger, "envelope.destroyed")] == [
        pvk.serials[1],
        pvk.serials[2],
    ]
    assert [d["kind"] for d in events(ledger, "document.issued")].count("destruction") == 1
    shares = custody_shares(ledger)
    assert shares[(pvk.split_id, 1)]["envelope_status"] == "destroyed"
    assert shares[(pvk.split_id, 2)]["envelope_status"] == "destroyed"
    assert shares[(result.new_split_id, 1)]["counted"] is True
    verify_ledger(ledger.path)
