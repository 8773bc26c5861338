"""Pilot tests of issue 13's screens on real rehearsal ledgers: the recovery plan's custody dry run refusing a
wrap under a KEK of two components (the key's quorum is 3), the quorum decision a security officer and a
witness record from there, and a demonstrated share in the generation's verification round."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, SelectionList, Static

from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.screens.gen_verify import DemonstratedIncidentScreen, VerifyShareScreen
from ceremony.tui.screens.lifecycle import recovery_screen
from ceremony.tui.screens.lifecycle.quorum_decision import QuorumDecisionScreen
from ceremony.tui.screens.lifecycle.recovery_start import RecoveryPlanScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.share_groups import GroupedShareEntry
from tests.tui.gen_cast import make_ledger, passphrase, pick, type_into, type_share, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate, generate, prepare
from tests.tui.test_generation_screens import (
    app_for,
    distribute,
    plan_split,
    through_auth,
    through_key_details,
    through_preflight,
)
from tests.tui.test_generation_screens import generate as generate_on_screen

FOUR = ("cust1", "cust2", "cust3", "cust4")


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


def events(ledger: Ledger, event_type: str) -> list:
    return [e for e in ledger.events() if e.type == event_type]


@pytest.fixture
def world(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    ledger = Ledger.open(path)
    zmk = generate(ledger, ids, FOUR, 3, "ZMK")
    yield ledger, ids, zmk
    ledger.close()


async def test_a_kek_of_two_components_is_refused_until_officer_and_witness_lower_the_quorum(world) -> None:
    ledger, ids, zmk = world
    started = len(events(ledger, "ceremony.started"))
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, RecoveryPlanScreen)
        await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
        await type_into(pilot, screen.query_one("#purpose", Input), "Load the ZMK into HSM-2")
        await pick(pilot, screen.query_one("#output", Select), "wrapped")
        await type_into(pilot, screen.query_one("#kek-label", Input), "HSM-2 transport KEK")
        listing = screen.query_one("#kek-custodians", SelectionList)
        offered = {str(listing.get_option_at_index(i).value) for i in range(listing.option_count)}
        # Eligible people only: custodians, never the administrator, the witness or the officer.
        assert offered == {ids[f"cust{n}"] for n in range(1, 8)}
        listing.select(ids["cust5"])
        listing.select(ids["cust6"])
        assert not screen.query_one("#quorum", Button).display
        screen.query_one("#continue", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        # Refused by the dry run, before anyone authenticates: the coalition is named.
        assert isinstance(app.screen, RecoveryPlanScreen)
        text = status(app)
        assert "2 people" in text and "quorum of 3" in text
        assert "Cleo Five" in text and "Cyril Six" in text  # by name, as the room knows them
        assert ids["cust5"] not in text
        assert len(events(ledger, "ceremony.started")) == started  # nothing started, nothing opened
        quorum = screen.query_one("#quorum", Button)
        assert quorum.display
        quorum.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, QuorumDecisionScreen))
        decision = app.screen
        assert "quorum of 3" in str(decision.query_one("#refusal", Static).render())
        # Without both people the decision is not recorded.
        decision.query_one("#decide", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "authenticate first" in status(app)
        await authenticate(
            pilot, decision.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie")
        )
        await authenticate(
            pilot, decision.query_one("#quorum-witness", AuthForm), ids["walter"], passphrase("walter")
        )
        await type_into(pilot, decision.query_one("#reason", Input), "HSM-2 takes two KEK components only")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RecoveryPlanScreen))
        (lowered,) = events(ledger, "key.quorum_lowered")
        assert lowered.payload["quorum"] == 2 and lowered.payload["key_id"] == zmk.key_id
        assert lowered.payload["coalition"] == [ids["cust5"], ids["cust6"]]
        assert set(lowered.actors) == {ids["sophie"], ids["walter"]}
        assert f"event #{lowered.seq}" in status(app) and not screen.query_one("#quorum", Button).display
        # Now the plan passes the dry run: the ceremony moves on to its next step.
        screen.query_one("#continue", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RecoveryPlanScreen))
    assert ledger.custody().quorum(zmk.key_id) == 2
    verify_ledger(ledger.path)


async def test_a_share_typed_by_another_custodian_in_the_verification_round(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ids = make_ledger(path)
    app = app_for(path)
    async with app.run_test(size=(100, 40)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await generate_on_screen(pilot, app)
        shares = await distribute(pilot, app, ["cust1", "cust2", "cust3"], ["TE-1", "TE-2", "TE-3"])
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyShareScreen))
        assert app.screen.number == 1
        # Carla (share 1) types Chris's share 2: she has shown she knows it.
        await type_share(pilot, app.screen.query_one(GroupedShareEntry), shares[1])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DemonstratedIncidentScreen))
        screen = app.screen
        shown = str(screen.query_one("#incident", Static).render())
        assert "DEMONSTRATED KNOWLEDGE" in shown and "Carla One" in shown and "share 2" in shown
        choice = screen.query_one("#decision", Select)
        assert [value for _, value in choice._options if value != Select.BLANK] == ["void"]  # rule broken
        await authenticate(pilot, screen.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie"))
        await type_into(pilot, screen.query_one("#reason", Input), "Carla knows two shares: new key")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not screen.query_one("#close", Button).disabled)
        assert "Voided: the new split is retired" in status(app)
    with Ledger.open(path, read_only=True) as ledger:
        exposure = [e for e in ledger.events() if e.type == "share.exposed"][-1].payload
        assert (exposure["kind"], exposure["person_id"], exposure["share_number"]) == (
            "demonstrated",
            ids["cust1"],
            2,
        )
        incident = events(ledger, "incident.recorded")[-1]
        decided = events(ledger, "incident.decided")[-1].payload
        assert incident.payload["kind"] == "demonstrated_knowledge"
        assert decided["incident_seq"] == incident.seq and decided["decision"] == "void"
        assert events(ledger, "ceremony.voided")
        assert ledger.custody().broken(incident.payload["key_id"]) is not None
    verify_ledger(path)
