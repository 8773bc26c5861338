"""A generation for an HSM, driven through the screens (issue 16) on a real rehearsal ledger: the key's bytes
drawn from a real SoftHSM2 token's generator (PCI PIN 5-1) — a wrong PIN refused first, the PIN nowhere on
the screen or in the ledger — and a new key sent straight to its HSM as a TR-31 key block that an
independent implementation (psec) opens under the KBPK the test forms itself; and a key block header the
standard forbids, refused on the key details screen before anything is planned."""

from __future__ import annotations

import io
import os
from pathlib import Path

import psec.tr31
import pytest
from rich.console import Console
from textual.widgets import Button, Checkbox, Digits, Input, Select, SelectionList, Static

from ceremony.crypto import tr31
from ceremony.crypto.kcv import aes_kcv
from ceremony.hsm.pkcs11 import list_tokens
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.gen_close import CloseScreen
from ceremony.tui.screens.gen_generate import TOKEN, GenerateScreen
from ceremony.tui.screens.gen_key import KeyDetailsScreen, SplitScreen
from ceremony.tui.screens.gen_verify import VerifyShareScreen
from ceremony.tui.screens.lifecycle.recovery_hsm import KeyBlockFileScreen
from ceremony.tui.screens.lifecycle.recovery_output import KbpkComponentScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from ceremony.tui.widgets.share_groups import GroupedShareEntry
from tests.hsm.softhsm import softhsm_token
from tests.tui.gen_cast import ROSTER, make_ledger, passphrase, pick, type_into, type_share, wait_for
from tests.tui.screen_80x24 import fully_on_screen, screen_lines
from tests.tui.test_generation_screens import (
    app_for,
    authenticate,
    close_out,
    distribute,
    plan_split,
    status_text,
    through_auth,
    through_preflight,
)

PIN = "135790"
WRONG_PIN = "864202"
KBPK_NAMES = ("cust4", "cust5")  # two custodians who hold no share of the new key
HSM_ROSTER = (*ROSTER, ("cust4", "Cleo Four", ("custodian",)), ("cust5", "Cyril Five", ("custodian",)))
SHARE_NAMES = ["cust1", "cust2", "cust3"]


@pytest.fixture
def hsm_ledger(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ledger.sqlite3"
    return path, make_ledger(path, HSM_ROSTER)


def events(path: Path) -> list[tuple[str, dict[str, object]]]:
    with Ledger.open(path, read_only=True) as ledger:
        return [(e.type, dict(e.payload)) for e in ledger.events()]


def last(path: Path, kind: str) -> dict[str, object]:
    return next(payload for event_type, payload in reversed(events(path)) if event_type == kind)


def plain(widget: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def screen_text(app: LedgerApp) -> str:
    return "\n".join(screen_lines(app))


# --- drivers (also used to look at each screen at 80x24) ----------------------------------------------
async def key_details(pilot, app: LedgerApp) -> KeyDetailsScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, KeyDetailsScreen))
    screen = app.screen
    assert isinstance(screen, KeyDetailsScreen)
    await type_into(pilot, screen.query_one("#label", Input), "ZMK-HSM-TEST")
    await type_into(pilot, screen.query_one("#usage", Input), "zone master key for HSM-3")
    return screen


async def plan_key_block(
    pilot,
    app: LedgerApp,
    ids: dict[str, str],
    *,
    kbpk_kcv: str = "",
    version: str = "D",
    usage: str = "K0",
    mode: str | None = None,
    key_set_id: str = "",
) -> KeyDetailsScreen:
    """Key details with the key block ticked and filled in; Next is pressed."""
    screen = await key_details(pilot, app)
    assert not screen.query_one("#kbpk-label", Input).display  # hidden until ticked
    box = screen.query_one("#key-block", Checkbox)
    box.focus()
    await pilot.press("space")
    await pilot.pause()
    assert box.value and screen.query_one("#kbpk-label", Input).display
    assert screen.query_one("#kb-usage", Select).display
    await type_into(pilot, screen.query_one("#kbpk-label", Input), "HSM-3 KBPK")
    listing = screen.query_one("#kbpk-custodians", SelectionList)
    offered = {str(listing.get_option_at_index(i).value) for i in range(listing.option_count)}
    assert ids["alice"] not in offered and ids["walter"] not in offered  # never administrator or witness
    for name in KBPK_NAMES:
        listing.select(ids[name])
    if kbpk_kcv:
        await type_into(pilot, screen.query_one("#kbpk-kcv", Input), kbpk_kcv)
    await pick(pilot, screen.query_one("#kb-version", Select), version)
    await pick(pilot, screen.query_one("#kb-usage", Select), usage)
    if mode is not None:
        await pick(pilot, screen.query_one("#kb-mode", Select), mode)
    if key_set_id:
        await type_into(pilot, screen.query_one("#kb-ksid", Input), key_set_id)
    button = screen.query_one("#next", Button)
    button.focus()
    button.scroll_visible(animate=False)
    await pilot.pause()
    assert fully_on_screen(app, button)
    await pilot.press("enter")
    await pilot.pause()
    return screen


async def choose_token(pilot, app: LedgerApp, module: str, label: str) -> GenerateScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
    screen = app.screen
    assert isinstance(screen, GenerateScreen)
    assert not screen.query_one("#tk-module", Input).display  # the laptop's CSPRNG is the default
    await pick(pilot, screen.query_one("#source", Select), TOKEN)
    field = screen.query_one("#tk-module", Input)
    assert field.display
    field.value = ""
    await type_into(pilot, field, module)
    screen.query_one("#tk-list", Button).focus()
    await pilot.press("enter")
    await pilot.pause()
    assert screen.query_one("#tk-token", Select).value == label  # the only initialised token: chosen
    return screen


async def verify_round(pilot, app: LedgerApp, shares: list[str]) -> None:
    for number, share in enumerate(shares, start=1):
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyShareScreen))
        assert app.screen.number == number
        await type_share(pilot, app.screen.query_one(GroupedShareEntry), share)
        await pilot.press("enter")
        await pilot.pause()


async def read_aloud(pilot, app: LedgerApp) -> None:
    screen = app.screen
    assert app.focused is screen.query_one("#read-aloud", Checkbox)
    await pilot.press("space")
    await pilot.pause()
    await pilot.press("enter")


# --- a key from a token's generator --------------------------------------------------------------------
async def test_a_key_from_a_softhsm_tokens_generator(hsm_ledger, tmp_path: Path) -> None:
    path, ids = hsm_ledger
    with softhsm_token(tmp_path, label="RNG-TEST", pin=PIN) as token:
        (info,) = [t for t in list_tokens(token.module) if t.initialized]
        app = app_for(path)
        async with app.run_test(size=(80, 24)) as pilot:
            await through_preflight(pilot, app)
            await through_auth(pilot, app, ids)
            await key_details(pilot, app)
            app.screen.query_one("#next", Button).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, SplitScreen))
            await plan_split(pilot, app, [ids[n] for n in SHARE_NAMES])
            screen = await choose_token(pilot, app, token.module, "RNG-TEST")
            form = screen.query_one("#pin-custodian", AuthForm)
            assert app.focused in form.query("*")  # the only token chosen: the PIN's custodian is next
            offered = set(form.people)
            assert ids["alice"] not in offered and ids["walter"] not in offered
            await authenticate(pilot, form, ids["cust4"], passphrase("cust4"))
            pin = screen.query_one("#pin", SecretInput)
            assert app.focused is pin
            # A wrong PIN: refused by name, nothing generated, the PIN nowhere on the screen.
            await type_into(pilot, pin, WRONG_PIN)
            await pilot.press("enter")
            await pilot.pause()
            refused = status_text(app)
            assert refused.startswith("✗ Token refused") and "CKR_PIN_INCORRECT" in refused, refused
            assert "Type the PIN again" in refused and WRONG_PIN not in refused
            assert WRONG_PIN not in screen_text(app)
            assert pin.value == "" and app.focused is pin  # wiped after use, typed again
            assert "key.registered" not in [t for t, _ in events(path)]
            await type_into(pilot, pin, PIN)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.query_one("#kcv", Digits).display)
            assert pin.value == ""
            source = plain(screen.query_one("#source-line", Static))
            for text in ("token RNG-TEST", f"serial {info.serial}", info.model, info.firmware, "Cleo Four"):
                assert text in source, (text, source)
            assert PIN not in screen_text(app) and PIN not in status_text(app)
            assert not screen.query_one("#source", Select).display  # the choice is made: its result shows
            kcv = screen.query_one("#kcv", Digits).value
            await read_aloud(pilot, app)
            shares = await distribute(pilot, app, SHARE_NAMES, ["TE-1", "TE-2", "TE-3"])
            await verify_round(pilot, app, shares)
            await wait_for(pilot, lambda: isinstance(app.screen, CloseScreen))
            await close_out(pilot, app)
    registered = last(path, "key.registered")
    assert registered["random_source"] == "token-rng"
    assert registered["token_serial"] == info.serial and registered["token_label"] == "RNG-TEST"
    assert registered["token_model"] == info.model and registered["token_firmware"] == info.firmware
    assert registered["pin_entered_by"] == ids["cust4"]
    assert str(registered["kcv_hex"]).upper() == kcv
    for _, payload in events(path):
        assert PIN not in str(payload) and WRONG_PIN not in str(payload)
    verify_ledger(path)


# --- a key block for its HSM ---------------------------------------------------------------------------
async def test_a_new_key_sent_as_a_key_block_opens_under_the_kbpk(hsm_ledger, tmp_path: Path) -> None:
    path, ids = hsm_ledger
    parts = [os.urandom(32) for _ in KBPK_NAMES]  # TEST components
    kbpk = bytes(a ^ b for a, b in zip(*parts, strict=True))
    out = tmp_path / "zmk.tr31"
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await plan_key_block(
            pilot, app, ids, kbpk_kcv=aes_kcv(kbpk).hex, mode="E", key_set_id="00604B120F9292800000"
        )
        await wait_for(pilot, lambda: isinstance(app.screen, SplitScreen))
        await plan_split(pilot, app, [ids[n] for n in SHARE_NAMES])
        planned = last(path, "ceremony.planned")
        assert planned["kbpk_label"] == "HSM-3 KBPK"
        assert planned["kbpk_custodians"] == [ids[n] for n in KBPK_NAMES]
        assert "usage K0" in str(planned["key_block_header"]) and "mode of use E" in str(
            planned["key_block_header"]
        )
        await wait_for(pilot, lambda: isinstance(app.screen, GenerateScreen))
        await pilot.press("enter")  # Generate, from the laptop's CSPRNG
        await wait_for(pilot, lambda: app.screen.query_one("#kcv", Digits).display)
        await read_aloud(pilot, app)
        shares = await distribute(pilot, app, SHARE_NAMES, ["TE-1", "TE-2", "TE-3"])
        await verify_round(pilot, app, shares)
        # Every share verified: the KBPK's custodians type their components, before the wipe.
        await wait_for(pilot, lambda: isinstance(app.screen, KbpkComponentScreen))
        await pilot.pause()
        assert "KBPK components entered: 0 of 2" in screen_text(app)
        assert "KEK" not in screen_text(app)
        for name, part in zip(KBPK_NAMES, parts, strict=True):
            screen = app.screen
            await authenticate(
                pilot, screen.query_one("#kek-custodian", AuthForm), ids[name], passphrase(name)
            )
            await type_into(pilot, screen.query_one("#kek-part", SecretInput), part.hex())
            await pilot.press("enter")
            await pilot.pause()
            assert "KBPK component entered" in status_text(app), status_text(app)
        assert app.focused is app.screen.query_one("#done", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyBlockFileScreen))
        screen = app.screen
        assert "ZMK-HSM-TEST under KBPK HSM-3 KBPK" in plain(screen.query_one("#kb-title", Static))
        await type_into(pilot, screen.query_one("#path", Input), str(out))
        await pilot.press("enter")
        await pilot.pause()
        result = plain(screen.query_one("#result", Static))
        assert aes_kcv(kbpk).hex in result and "transmittal form" in result, result
        assert app.focused is screen.query_one("#continue", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CloseScreen))
        await close_out(pilot, app)
    block = out.read_text()
    header, key = psec.tr31.unwrap(kbpk, block)
    registered = last(path, "key.registered")
    assert aes_kcv(key).value.hex() == registered["kcv_hex"]  # the registered key, as psec opens it
    assert (header.version_id, header.key_usage, header.mode_of_use) == ("D", "K0", "E")
    assert header.blocks["KS"] == "00604B120F9292800000"
    exported = last(path, "key.block_exported")
    assert exported["header"] == block[: tr31.header_length(block)]
    assert exported["kbpk_kcv_hex"] == aes_kcv(kbpk).value.hex()
    kinds = [payload.get("kind") for event_type, payload in events(path) if event_type == "document.issued"]
    assert "key_block_transmittal" in kinds and "minutes" in kinds
    order = [t for t, _ in events(path)]
    assert order.index("key.block_exported") < order.index("key.wiped") < order.index("ceremony.closed")
    verify_ledger(path)


@pytest.mark.parametrize(
    ("version", "usage", "mode", "why"),
    [
        ("D", "P0", "X", "mode of use X is not allowed for key usage P0"),
        ("B", "K0", None, "an AES key cannot be carried under a TDES KBPK (version B)"),
    ],
)
async def test_a_forbidden_key_block_header_is_refused_on_the_key_details_screen(
    hsm_ledger, version: str, usage: str, mode: str | None, why: str
) -> None:
    path, ids = hsm_ledger
    app = app_for(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        screen = await plan_key_block(pilot, app, ids, version=version, usage=usage, mode=mode)
        await pilot.pause()
        assert app.screen is screen  # not on to the split
        text = status_text(app)
        assert text.startswith("✗ Key block refused"), text
        assert why in text, text
        assert fully_on_screen(app, screen.query_one("#status", Static))  # read whole, below Next
    assert "ceremony.planned" not in [t for t, _ in events(path)]
