"""SecretInput: copy, cut and select-all never put the passphrase on the clipboard (OSC 52).

Issue 6 item 6: a stock ``Input(password=True)`` on Textual 8.2.8 copies its plaintext through OSC 52 on
select-all + copy. The control test shows that leak with the same keys, so the SecretInput tests can fail.
Dummy passphrases only.
"""

from __future__ import annotations

import base64
import unicodedata

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from ceremony.crypto.secret import SecretBytes
from ceremony.tui.app import CeremonyApp
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.widgets.secret_input import SecretInput

DUMMY_PASSPHRASE = "dummy correct horse 42"
# Every key Textual 8.2.8 binds to select-all, copy or cut in an Input or on a Screen, plus the
# habitual ctrl+a (select-all elsewhere; "home" in Textual's Input).
CLIPBOARD_KEYS = ("ctrl+a", "ctrl+shift+a", "ctrl+c", "super+c", "shift+home", "ctrl+x")


class FieldApp(App[None]):
    """A plain Textual app hosting one field: tests the widget on its own, without CeremonyApp's keys."""

    def __init__(self, field: Input) -> None:
        super().__init__()
        self.field = field
        self.messages: list[Input.Changed | Input.Submitted] = []

    def compose(self) -> ComposeResult:
        yield self.field

    def on_input_changed(self, event: Input.Changed) -> None:
        self.messages.append(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.messages.append(event)


def _record_clipboard(app: App[object], monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """Record Textual's copy_to_clipboard calls and every OSC 52 sequence written to the driver."""
    copies: list[str] = []
    osc52: list[str] = []
    original_copy = App.copy_to_clipboard

    def spy_copy(self: App[object], text: str) -> None:
        copies.append(text)
        original_copy(self, text)

    monkeypatch.setattr(App, "copy_to_clipboard", spy_copy)
    driver = app._driver
    assert driver is not None
    original_write = driver.write

    def spy_write(data: str) -> None:
        if "\x1b]52;" in data:
            osc52.append(data)
        original_write(data)

    monkeypatch.setattr(driver, "write", spy_write)
    return copies, osc52


def _osc52_payloads(osc52: list[str]) -> list[str]:
    out = []
    for data in osc52:
        encoded = data.split("\x1b]52;c;", 1)[1].split("\a", 1)[0]
        out.append(base64.b64decode(encoded).decode("utf-8"))
    return out


async def test_stock_password_input_leaks_to_clipboard_control(monkeypatch: pytest.MonkeyPatch) -> None:
    # Control: shows the leak exists on this Textual, so the tests below detect it if it comes back.
    app = FieldApp(Input(password=True))
    async with app.run_test(size=(80, 24)) as pilot:
        copies, osc52 = _record_clipboard(app, monkeypatch)
        await pilot.press(*DUMMY_PASSPHRASE)
        await pilot.press("ctrl+shift+a", "ctrl+c")
        await pilot.pause()
        assert app.clipboard == DUMMY_PASSPHRASE
        assert DUMMY_PASSPHRASE in copies
        assert DUMMY_PASSPHRASE in _osc52_payloads(osc52)


async def test_secret_input_copy_cut_select_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    field = SecretInput()
    app = FieldApp(field)
    async with app.run_test(size=(80, 24)) as pilot:
        copies, osc52 = _record_clipboard(app, monkeypatch)
        await pilot.press(*DUMMY_PASSPHRASE)
        for key in CLIPBOARD_KEYS:
            await pilot.press(key)
            assert field.selected_text == ""
        await pilot.pause()
        # Also through the actions themselves (the command palette or a keymap could call them).
        field.select_all()
        field.action_select_all()
        field.action_copy()
        field.action_cut()
        await pilot.pause()
        assert app.clipboard == ""
        assert copies == []
        assert osc52 == []
        # cut removed nothing either, and the field still holds the passphrase
        with field.value_secret() as secret:
            assert bytes(secret.view()) == DUMMY_PASSPHRASE.encode()


async def test_secret_input_inside_ceremony_app_ctrl_c_cancels_without_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class EntryScreen(CeremonyScreen[None]):
        def compose_body(self) -> ComposeResult:
            yield SecretInput(id="pass")

    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        copies, osc52 = _record_clipboard(app, monkeypatch)
        await app.push_screen(EntryScreen())
        app.screen.query_one(SecretInput).focus()
        await pilot.press(*DUMMY_PASSPHRASE, "ctrl+shift+a", "ctrl+x", "ctrl+c")
        await pilot.pause()
    assert app.return_code == 130
    assert copies == [] and osc52 == []
    assert app.clipboard == ""


async def test_secret_input_messages_withhold_the_value() -> None:
    app = FieldApp(SecretInput())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"dummy", "enter")
        await pilot.pause()
        assert [type(m) for m in app.messages][-1] is Input.Submitted
        assert len(app.messages) == 6  # five Changed, one Submitted
        assert all(m.value == "" for m in app.messages)
        assert "dummy" not in repr(app.field)


async def test_secret_input_question_mark_is_typed_not_help() -> None:
    class EntryScreen(CeremonyScreen[None]):
        def compose_body(self) -> ComposeResult:
            yield SecretInput(id="pass")

    app = CeremonyApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(EntryScreen())
        field = app.screen.query_one(SecretInput)
        field.focus()
        await pilot.press("a", "?", "b")
        await pilot.pause()
        assert isinstance(app.screen, EntryScreen)
        with field.value_secret() as secret:
            assert bytes(secret.view()) == b"a?b"


async def test_value_secret_is_nfc_utf8_and_wipe_clears() -> None:
    field = SecretInput()
    app = FieldApp(field)
    decomposed = unicodedata.normalize("NFD", "Zoë Ångström")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    async with app.run_test(size=(80, 24)) as pilot:
        field.insert_text_at_cursor(decomposed)
        await pilot.pause()
        secret = field.value_secret()
        assert isinstance(secret, SecretBytes)
        assert bytes(secret.view()) == unicodedata.normalize("NFC", decomposed).encode("utf-8")
        assert "Zo" not in repr(secret)
        secret.wipe()
        field.wipe()
        await pilot.pause()
        assert field.value == ""
        assert len(field.value_secret()) == 0
        assert field.password is True
        field.password = False  # cannot be unmasked
        assert field.password is True
