"""Pilot tests of the key generation ceremony screens, step by step, on a real rehearsal ledger.

Every test drives ``LedgerApp`` (the app ``ceremony --ledger`` runs) with keys and the widgets' own input
methods; the flow (``ceremony.flows.generation``) does the work and writes the ledger, which the tests
read back. Passphrases are dummy rehearsal ones; the keys and shares are test keys of a rehearsal ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, DataTable, Digits, Input, Select, Static

from ceremony.crypto.keys import KeyType
from ceremony.crypto.secret import SecretBytes
from ceremony.crypto.share import Scheme
from ceremony.errors import CustodyViolationError
from ceremony.flows.generation import GenerationCeremony, KeySpec, SplitPlan
from ceremony.flows.presence import Presence
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.store import Ledger
from ceremony.tui.app import EXIT_CANCELLED, LedgerApp
from ceremony.tui.screens.control_auth import ControlAuthScreen
from ceremony.tui.screens.distribution import LookAwayScreen, ReceiptScreen, ShareScreen
from ceremony.tui.screens.frame import refusal_text
from ceremony.tui.screens.gen_close import CloseScreen
from ceremony.tui.screens.gen_generate import GenerateScreen
from ceremony.tui.screens.gen_key import KeyDetailsScreen, SplitScreen
from ceremony.tui.screens.gen_preflight import PreflightScreen
from ceremony.tui.screens.gen_verify import VerifyShareScreen
from ceremony.tui.screens.main_menu import MainMenuScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from ceremony.tui.widgets.share_display import ShareDisplay
from ceremony.tui.widgets.share_groups import GroupedShareEntry
from tests.tui.gen_cast import (
    FAST_KDF,
    clear_laptop,
    make_ledger,
    networked_laptop,
    passphrase,
    pick,
    type_into,
    type_share,
    unfinished_shown,
    wait_for,
)


@pytest.fixture
def ledger_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ledger.sqlite3"
    return path, make_ledger(path)


def events(path: Path) -> list[tuple[str, dict[str, object]]]:
    with Ledger.open(path, read_only=True) as ledger:
        return [(e.type, dict(e.payload)) for e in ledger.events()]


def app_for(path: Path, preflight=networked_laptop) -> LedgerApp:
    return LedgerApp(path, kdf=FAST_KDF, preflight=preflight)


def status_text(app: LedgerApp) -> str:
    return str(app.screen.query_one("#status", Static).render())


async def authenticate(pilot, form: AuthForm, person_id: str | None, secret: str) -> None:
    if person_id is not None:
        await pick(pilot, form.query_one(Select), person_id)
    field = form.query_one(SecretInput)
    await type_into(pilot, field, secret)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.pause()


async def through_preflight(pilot, app: LedgerApp) -> None:
    assert isinstance(app.screen, MainMenuScreen)
    await pilot.press("enter")  # "New key generation ceremony" has the focus
    await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.query_one("#findings", DataTable).row_count > 0)
    override = screen.query_one("#override", Button)
    if override.display:
        assert app.focused is override
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ControlAuthScreen))


async def through_auth(pilot, app: LedgerApp, ids: dict[str, str], admin="alice", witness="walter") -> None:
    screen = app.screen
    await type_into(pilot, screen.query_one("#purpose", Input), "Rehearsal: zone master key")
    await authenticate(pilot, screen.query_one("#administrator", AuthForm), ids[admin], passphrase(admin))
    await authenticate(pilot, screen.query_one("#witness", AuthForm), ids[witness], passphrase(witness))


async def through_key_details(pilot, app: LedgerApp) -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
    screen = app.screen
    await type_into(pilot, screen.query_one("#label", Input), "ZMK-TEST-01")
    await pilot.press("enter")
    await type_into(pilot, screen.query_one("#usage", Input), "zone master key, acquirer link")
    await pilot.press("enter")
    await pilot.press("enter")  # cryptoperiod 365 (default) -> next
    await wait_for(pilot, lambda: isinstance(app.screen, SplitScreen))


async def plan_split(pilot, app: LedgerApp, custodians: list[str]) -> None:
    screen = app.screen
    for number, person_id in enumerate(custodians, start=1):
        await pick(pilot, screen.query_one(f"#share-{number}", Select), person_id)
    screen.query_one("#plan", Button).focus()
    await pilot.press("enter")
    await pilot.pause()


async def generate(pilot, app: LedgerApp) -> str:
    await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
    screen = app.screen
    await pilot.press("enter")  # Generate
    await wait_for(pilot, lambda: screen.query_one("#kcv", Digits).display)
    kcv = screen.query_one("#kcv", Digits).value
    continue_button = screen.query_one("#continue", Button)
    assert continue_button.disabled  # not before the room confirms the KCV was read aloud
    assert app.focused is screen.query_one("#read-aloud", Checkbox)
    await pilot.press("space")
    await pilot.pause()
    assert not continue_button.disabled
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, LookAwayScreen))
    return kcv


def shown_share(display: ShareDisplay) -> str:
    """The share as the custodian reads it off the screen (group numbers dropped)."""
    groups: list[str] = []
    for row in display.render().plain.split("\n"):
        words = row.split()
        groups += words[1:]  # words[0] is the group number of the row
    return "-".join(groups)


async def distribute(pilot, app: LedgerApp, names: list[str], serials: list[str]) -> list[str]:
    shares: list[str] = []
    for number, (short, serial) in enumerate(zip(names, serials, strict=True), start=1):
        await wait_for(pilot, lambda: isinstance(app.screen, LookAwayScreen))
        look = app.screen
        assert look.number == number
        assert "please look away" in str(look.query_one("#look-away", Static).render())
        await authenticate(pilot, look.query_one(AuthForm), None, passphrase(short))
        await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
        share_screen = app.screen
        display = share_screen.query_one(ShareDisplay)
        shares.append(shown_share(display))
        await pilot.press("enter")  # "I have recorded it"
        await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
        assert display.wiped and share_screen.spent
        assert not any(isinstance(s, ShareScreen) for s in app.screen_stack)  # no way back to it
        await type_into(pilot, app.screen.query_one("#serial", Input), serial)
        await pilot.press("enter")
        await pilot.pause()
    return shares


async def verify_all(pilot, app: LedgerApp, shares: list[str], first: int = 1) -> None:
    for number, share in enumerate(shares[first - 1 :], start=first):
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyShareScreen))
        assert app.screen.number == number
        await type_share(pilot, app.screen.query_one(GroupedShareEntry), share)
        await pilot.press("enter")
        await pilot.pause()
    await wait_for(pilot, lambda: isinstance(app.screen, CloseScreen))


async def close_out(pilot, app: LedgerApp) -> str:
    screen = app.screen
    await type_into(pilot, screen.query_one("#location", Input), "Training room")
    await pilot.press("enter")
    await pilot.press("enter")  # wipe and close
    await wait_for(pilot, lambda: screen.query_one("#home", Button).display, timeout=20)
    checkpoint = str(screen.query_one("#checkpoint", Static).render())
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
    return checkpoint


# --- the whole ceremony ---------------------------------------------------------------------------------
async def test_complete_2_of_3_generation(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        kcv = await generate(pilot, app)
        shares = await distribute(pilot, app, ["cust1", "cust2", "cust3"], ["TE-1", "TE-2", "TE-3"])
        await verify_all(pilot, app, shares)
        checkpoint = await close_out(pilot, app)
    recorded = events(path)
    types = [t for t, _ in recorded]
    assert types.index("ceremony.started") < types.index("preflight.run") < types.index("ceremony.planned")
    preflight = next(p for t, p in recorded if t == "preflight.run")
    assert preflight["record_only"] is True and preflight["uncovered"] == ["net.interfaces: interface eth0"]
    key = next(p for t, p in recorded if t == "key.registered")
    assert str(key["kcv_hex"]).upper() == kcv and key["test_key"] is True
    assert sorted(p["envelope_serial"] for t, p in recorded if t == "share.received") == [
        "TE-1",
        "TE-2",
        "TE-3",
    ]
    assert [p["ok"] for t, p in recorded if t == "share.verified"] == [True, True, True]
    closed = next(p for t, p in recorded if t == "ceremony.closed")
    # Printed in groups (issue 14): the same checkpoint as the one recorded, read back as shown.
    shown = checkpoint[checkpoint.index("CEREMONY-CHECKPOINT") :]
    assert Checkpoint.parse(shown) == Checkpoint.parse(str(closed["checkpoint"]))
    docs = [p["kind"] for t, p in recorded if t == "document.issued"]
    assert docs.count("acknowledgement") == 3 and docs.count("minutes") == 1
    folder = path.parent / "ceremony-documents" / str(closed["ceremony_id"])
    assert sorted(f.suffix for f in folder.iterdir()) == [".pdf"] * 4
    assert types.index("key.wiped") < types.index("ceremony.closed")
    for share in shares:  # the shares are nowhere in the ledger file
        assert share.replace("-", "").encode() not in path.read_bytes()


# --- preflight --------------------------------------------------------------------------------------------
async def test_preflight_blocks_on_a_production_ledger(tmp_path: Path) -> None:
    prod = tmp_path / "ledger.sqlite3"
    make_ledger(prod, rehearsal=False)
    before = len(events(prod))
    app = app_for(prod)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#findings", DataTable).row_count == 2)
        verdict = str(screen.query_one("#verdict", Static).render())
        assert "BLOCKED" in verdict and "exception" in verdict
        assert not screen.query_one("#override", Button).display  # no rehearsal shortcut on production
        assert screen.query_one("#continue", Button).disabled
        table = screen.query_one("#findings", DataTable)
        assert str(table.get_row_at(0)[0]) == "INSECURE" and "eth0" in str(table.get_row_at(0)[2])
        assert app.focused is screen.query_one("#again", Button)
        screen.query_one("#cancel", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
    assert len(events(prod)) == before  # nothing started, nothing recorded


async def test_clear_preflight_continues_without_override(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        screen = app.screen
        await wait_for(pilot, lambda: not screen.query_one("#continue", Button).disabled)
        assert "clear" in str(screen.query_one("#verdict", Static).render())
        assert not screen.query_one("#override", Button).display
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ControlAuthScreen))
        await through_auth(pilot, app, ids)
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
    preflight = next(p for t, p in events(path) if t == "preflight.run")
    assert preflight["blocked"] is False and preflight["uncovered"] == [] and "record_only" not in preflight


async def test_ctrl_c_before_the_ceremony_starts_records_nothing(ledger_file) -> None:
    path, _ = ledger_file
    before = len(events(path))
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        await pilot.press("f1")  # the help screen names this step and what it is for
        await pilot.pause()
        assert "Air-gap preflight" in str(app.screen.query_one(".help-section", Static).render())
        await pilot.press("escape")
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == EXIT_CANCELLED
    assert len(events(path)) == before


# --- authentication -----------------------------------------------------------------------------------------
async def test_same_person_cannot_be_administrator_and_witness(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids, admin="dual", witness="dual")
        assert isinstance(app.screen, ControlAuthScreen)
        assert "two different people" in status_text(app)
        # The right witness then gets the ceremony going.
        await authenticate(
            pilot, app.screen.query_one("#witness", AuthForm), ids["walter"], passphrase("walter")
        )
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
    started = [p for t, p in events(path) if t == "ceremony.started"]
    assert len(started) == 1


async def test_three_wrong_passphrases_lock_out(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        form = app.screen.query_one("#administrator", AuthForm)
        status = form.query_one(".auth-status", Static)
        for attempt, left in ((1, "2 tries left"), (2, "1 tries left")):
            await authenticate(
                pilot, form, ids["alice"] if attempt == 1 else None, f"wrong guess number {attempt}"
            )
            assert left in str(status.render())
        await authenticate(pilot, form, None, "wrong guess number 3")
        assert "LOCKED OUT" in str(status.render())
        await authenticate(pilot, form, None, passphrase("alice"))  # even the right one is refused now
        assert "locked out" in str(status.render()) and isinstance(app.screen, ControlAuthScreen)
        assert form.query_one(SecretInput).is_empty
        # Nobody present yet could sign the failures (DESIGN §5: nothing unsigned): they wait in memory…
        assert [t for t, _ in events(path)].count("auth.failed") == 0
        # …and the witness who authenticates next attests them.
        witness_form = app.screen.query_one("#witness", AuthForm)
        await authenticate(pilot, witness_form, ids["walter"], passphrase("walter"))
    with Ledger.open(path, read_only=True) as ledger:
        failed = [e for e in ledger.events() if e.type == "auth.failed"]
    assert [e.record.attempt for e in failed] == [1, 2, 3]
    assert {e.record.person_id for e in failed} == {ids["alice"]}
    assert {e.attested_by for e in failed} == {(ids["walter"],)}


# --- plan ---------------------------------------------------------------------------------------
async def test_a_custodian_planned_twice_is_refused_with_the_rule(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust1"]])
        assert isinstance(app.screen, SplitScreen)
        message = status_text(app)
        assert "share 1 and share 3" in message and "3.7.6" in message
        # Fixing the plan goes on.
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
    planned = [p for t, p in events(path) if t == "ceremony.planned"]
    assert len(planned) == 1 and planned[0]["custodians"] == [ids["cust1"], ids["cust2"], ids["cust3"]]


async def test_key_details_refusal_and_xor_plan(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
        app.screen.query_one("#next", Button).focus()
        await pilot.press("enter")
        assert "label" in status_text(app)  # the flow's own words
        await through_key_details(pilot, app)
        screen = app.screen
        await pick(pilot, screen.query_one("#scheme", Select), Scheme.XOR)
        assert screen.query_one("#threshold", Input).disabled
        count = screen.query_one("#count", Input)
        count.value = "2"
        await wait_for(pilot, lambda: len(screen.query(".custodian")) == 2)
        await plan_split(pilot, app, [ids["cust2"], ids["cust3"]])
        await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
    planned = next(p for t, p in events(path) if t == "ceremony.planned")
    assert planned["scheme"] == "xor" and planned["threshold"] == 2 and planned["shares"] == 2


# --- distribution and verification ------------------------------------------------------------
async def test_ctrl_c_mid_distribution_voids_and_exits_130(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await generate(pilot, app)
        await authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase("cust1"))
        await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
        display = app.screen.query_one(ShareDisplay)
        await pilot.press("escape")  # no way back from a share
        assert isinstance(app.screen, ShareScreen)
        await pilot.press("ctrl+c", "ctrl+c")  # the second confirms voiding
        await pilot.pause()
        assert display.wiped
    assert app.return_code == EXIT_CANCELLED
    recorded = events(path)
    assert [t for t, _ in recorded][-2:] == ["split.retired", "ceremony.voided"]
    assert recorded[-1][1]["reason"] == "cancelled at distribute shares"


async def test_receipt_needs_a_serial_and_verification_names_the_group(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"]])
        assert isinstance(app.screen, SplitScreen)  # 3 shares planned by default, 2 chosen
        assert "custodian of share 3" in status_text(app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await generate(pilot, app)
        shares: list[str] = []
        for number, short in enumerate(["cust1", "cust2", "cust3"], start=1):
            await authenticate(pilot, app.screen.query_one(AuthForm), None, passphrase(short))
            await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen))
            shares.append(shown_share(app.screen.query_one(ShareDisplay)))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
            if number == 1:
                await pilot.press("enter")  # no serial
                assert "serial" in status_text(app)
            if number == 2:
                await type_into(pilot, app.screen.query_one("#serial", Input), "TE-1")
                await pilot.press("enter")
                assert "already holds share 1" in status_text(app)
                app.screen.query_one("#serial", Input).value = ""
            await type_into(pilot, app.screen.query_one("#serial", Input), f"TE-{number}")
            await pilot.press("enter")
            await pilot.pause()
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyShareScreen))
        groups = shares[0].split("-")
        wrong = groups[8]
        groups[8] = wrong[:2] + ("0" if wrong[2] != "0" else "1") + wrong[3:]  # one mistyped character
        entry = app.screen.query_one(GroupedShareEntry)
        await type_share(pilot, entry, "-".join(groups))  # typing stops at the group that does not check
        await pilot.press("enter")  # nothing is handed over while group 9 is wrong
        await pilot.pause()
        assert isinstance(app.screen, VerifyShareScreen) and app.screen.number == 1
        assert "Typing error in group 9 —" in str(entry.render())
        assert entry.groups.accepted == 8  # groups 1-8 are kept
        for _ in range(5):
            await pilot.press("backspace")
        await type_share(pilot, entry, "-".join(shares[0].split("-")[8:]))  # group 9 again, then the rest
        await pilot.press("enter")
        await verify_all(pilot, app, shares, first=2)
    verified = [p["ok"] for t, p in events(path) if t == "share.verified"]
    assert verified == [True, True, True]  # the typo was caught by its group's check, before the flow


def test_error_text_names_the_forbidding_event() -> None:
    text = refusal_text(CustodyViolationError("Carla knew share 1 of this split", forbidding_seq=42)).plain
    assert "Carla knew share 1" in text and "ledger event #42" in text


# --- a restart with an unfinished ceremony ---------------------------------------------------------------
def interrupted_ceremony(path: Path, ids: dict[str, str], *, generated: bool) -> str:
    """A ceremony the flow started (and planned, and maybe generated) before the laptop 'lost power'."""

    with Ledger.open(path) as ledger:
        presence = Presence(ledger)
        admin = presence.authenticate(
            ids["alice"], SecretBytes(passphrase("alice").encode()), "administrator"
        )
        witness = presence.authenticate(ids["walter"], SecretBytes(passphrase("walter").encode()), "witness")
        ceremony = GenerationCeremony.start(ledger, admin, witness, "interrupted rehearsal", rehearsal=True)
        ceremony.record_preflight({}, [])
        ceremony.plan_key(
            KeySpec(KeyType.AES_128, "ZMK-CRASH", "test", 30),
            SplitPlan(Scheme.SHAMIR, 2, (ids["cust1"], ids["cust2"])),
        )
        if generated:
            ceremony.generate()
            ceremony.reveal(
                1, presence.authenticate(ids["cust1"], SecretBytes(passphrase("cust1").encode()), "custodian")
            ).wipe()
        return ceremony.ceremony_id


async def authenticate_pair(pilot, app) -> None:
    ids = {p.name: p.person_id for p in app.context.people()}
    await authenticate(
        pilot, app.screen.query_one("#administrator", AuthForm), ids["Alice Admin"], passphrase("alice")
    )
    await authenticate(
        pilot, app.screen.query_one("#witness", AuthForm), ids["Walter Witness"], passphrase("walter")
    )


async def test_unfinished_after_generation_can_only_be_voided(ledger_file) -> None:
    path, ids = ledger_file
    ceremony_id = interrupted_ceremony(path, ids, generated=True)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        # Shown over the menu right after the first frame (the start's checked read comes first): wait
        # until it is composed, not only pushed.
        await wait_for(pilot, lambda: unfinished_shown(app))
        text = str(app.screen.query_one("#unfinished", Static).render())
        assert ceremony_id in text and "can only be voided" in text
        assert not app.screen.query("#resume")  # no resume once a key existed
        void = app.screen.query_one("#void", Button)
        assert void.disabled  # not before administrator and witness are present
        await authenticate_pair(pilot, app)
        assert app.focused is void
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
    recorded = events(path)
    assert [t for t, _ in recorded][-2:] == ["split.retired", "ceremony.voided"]
    assert recorded[-1][1]["ceremony_id"] == ceremony_id
    assert recorded[-1][1]["reason"] == "voided after restart: interrupted (crash or power cut)"


async def test_unfinished_before_generation_resumes_from_preflight(ledger_file) -> None:
    path, ids = ledger_file
    ceremony_id = interrupted_ceremony(path, ids, generated=False)
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        # Shown over the menu right after the first frame (the start's checked read comes first): wait
        # until it is composed, not only pushed.
        await wait_for(pilot, lambda: unfinished_shown(app))
        assert "may be resumed" in str(app.screen.query_one("#unfinished", Static).render())
        await authenticate_pair(pilot, app)
        app.screen.query_one("#resume", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#override", Button).display)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
        await pilot.press("ctrl+c", "ctrl+c")  # the second confirms voiding
        await pilot.pause()
    assert app.return_code == EXIT_CANCELLED
    recorded = [(t, p) for t, p in events(path) if p.get("ceremony_id") == ceremony_id]
    assert [t for t, _ in recorded][-2:] == ["preflight.run", "ceremony.voided"]
    assert recorded[-1][1]["reason"] == "cancelled at key details"
