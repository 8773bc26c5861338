"""A recovery into a PKCS#11 token, driven through the screens (issue 16) on a real rehearsal ledger and a
real SoftHSM2 token: the token listed from its module on the plan screen, the shares, the rebuild, a
custodian's PIN — a wrong one refused first, without the PIN in what is shown — then the right one; the
ledger's ``key.loaded`` names the token's serial, and the key is found in the token by python-pkcs11
directly, sensitive and not extractable."""

from __future__ import annotations

import io
from pathlib import Path

import pkcs11
from rich.console import Console
from textual.widgets import Button, Input, Select, Static

from ceremony.hsm.pkcs11 import list_tokens
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.screens.lifecycle.recovery_finish import FinishScreen
from ceremony.tui.screens.lifecycle.recovery_hsm import TokenLoadScreen
from ceremony.tui.screens.lifecycle.recovery_rebuild import RebuiltScreen
from ceremony.tui.screens.lifecycle.recovery_start import RecoveryPlanScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from tests.hsm.softhsm import softhsm_token
from tests.tui.gen_cast import passphrase, pick, type_into, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate
from tests.tui.screen_80x24 import screen_lines
from tests.tui.test_lifecycle_screens import (
    control_auth,
    enter_share,
    last,
    rebuild,
    recovery_screen,
    status,
    through_preflight,
    types,
    world,  # noqa: F401 - the fixture
)

PIN = "246810"
WRONG_PIN = "975319"
OBJECT = "ZMK 2026 (HSM-3)"


def plain(widget: Static) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def test_recovery_into_a_softhsm_token_from_the_screens(world, tmp_path: Path) -> None:  # noqa: F811
    ledger, ids, zmk, _ = world
    with softhsm_token(tmp_path, label="HSM-3 TEST", pin=PIN) as token:
        (info,) = [t for t in list_tokens(token.module) if t.initialized]
        app = LifecycleApp(lambda: recovery_screen(ledger))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.screen
            assert isinstance(screen, RecoveryPlanScreen)
            await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
            await type_into(pilot, screen.query_one("#purpose", Input), "Load the ZMK into HSM-3")
            await pick(pilot, screen.query_one("#output", Select), "token")
            assert screen.query_one("#tk-module", Input).display
            assert not screen.query_one("#kek-label", Input).display
            assert not screen.query_one("#kb-usage", Select).display
            module = screen.query_one("#tk-module", Input)
            module.value = ""
            await type_into(pilot, module, token.module)
            screen.query_one("#tk-list", Button).focus()
            await pilot.press("enter")
            await pilot.pause()
            choice = screen.query_one("#tk-token", Select)
            assert choice.value == "HSM-3 TEST"  # the only initialised token: chosen
            await type_into(pilot, screen.query_one("#tk-object", Input), OBJECT)
            await pick(pilot, screen.query_one("#tk-usage", Select), "K0")
            await pick(pilot, screen.query_one("#tk-mechanism", Select), "unwrap-0x210A")
            screen.query_one("#continue", Button).focus()
            await pilot.press("enter")
            await pilot.pause()
            await through_preflight(pilot, app)
            await control_auth(pilot, app, ids)
            started = last(ledger, "ceremony.started")
            assert started["output"] == "token" and started["token_label"] == "HSM-3 TEST"
            for number in (1, 3, 4):
                await enter_share(pilot, app, ids, zmk, number)
            await rebuild(pilot, app)
            await wait_for(pilot, lambda: isinstance(app.screen, RebuiltScreen))
            assert (
                str(app.screen.query_one("#continue", Button).label)
                == "Continue: load the key into the token"
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, TokenLoadScreen))
            screen = app.screen
            form = screen.query_one("#pin-custodian", AuthForm)
            offered = set(form.people)
            assert ids["alice"] not in offered and ids["walter"] not in offered  # never admin or witness
            assert ids["cust5"] in offered
            await authenticate(pilot, form, ids["cust5"], passphrase("cust5"))
            pin = screen.query_one("#pin", SecretInput)
            assert app.focused is pin
            # A wrong PIN: refused by name, nothing loaded, the PIN nowhere on the screen or in the ledger.
            await type_into(pilot, pin, WRONG_PIN)
            await pilot.press("enter")
            await pilot.pause()
            refused = status(app)
            assert refused.startswith("✗ Token refused") and "CKR_PIN_INCORRECT" in refused, refused
            assert WRONG_PIN not in refused and PIN not in refused
            assert WRONG_PIN not in "\n".join(screen_lines(app))
            assert pin.value == ""  # wiped after use
            assert "key.loaded" not in types(ledger)
            # The right PIN, typed again by the same custodian.
            await type_into(pilot, pin, PIN)
            await pilot.press("enter")
            await pilot.pause()
            shown = plain(screen.query_one("#result", Static))
            assert pin.value == ""
            for text in (
                f"HSM-3 TEST, serial {info.serial}",
                info.manufacturer,
                info.model,
                info.firmware,
                OBJECT,
                "unwrap-0x210A",
                "matches the registered KCV",
                zmk.kcv_hex,
                "sensitive yes, extractable no",
                "Cleo Five",  # who typed the PIN
            ):
                assert text in shown, (text, shown)
            assert PIN not in shown and PIN not in status(app)
            assert app.focused is screen.query_one("#continue", Button)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, FinishScreen))
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: "Ceremony closed" in str(app.screen.query_one("#summary", Static).render())
            )
        loaded = last(ledger, "key.loaded")
        assert loaded["token_serial"] == info.serial and loaded["token_label"] == "HSM-3 TEST"
        assert loaded["object_label"] == OBJECT and loaded["pin_entered_by"] == ids["cust5"]
        assert loaded["mechanism"] == "unwrap-0x210A"
        assert str(loaded["token_check_value_hex"]).upper() in shown  # the token's own check value, shown
        assert str(loaded["check_source"]) in shown
        for event in ledger.events():
            assert PIN not in str(dict(event.payload)) and WRONG_PIN not in str(dict(event.payload))
        # The key is in the token, as python-pkcs11 itself finds it: sensitive, not extractable.
        lib = pkcs11.lib(token.module)
        with lib.get_token(token_label="HSM-3 TEST").open(user_pin=PIN) as session:
            key = session.get_key(label=OBJECT)
            assert key[pkcs11.Attribute.TOKEN] is True
            assert key[pkcs11.Attribute.SENSITIVE] is True
            assert key[pkcs11.Attribute.EXTRACTABLE] is False
            assert key[pkcs11.Attribute.ID].hex().upper() == str(loaded["object_id_hex"]).upper()
    assert types(ledger)[-3:] == ["key.wiped", "ceremony.closed", "document.issued"]
    verify_ledger(ledger.path)
