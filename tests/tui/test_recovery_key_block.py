"""A recovery to a TR-31 key block, driven through the screens (issue 16) on a real rehearsal ledger: the
plan with its header, the preflight, the shares, the rebuild, the KBPK custodians' components, and the
block written to a file that an independent implementation (psec) opens under the KBPK the test forms
itself; and a header the standard forbids, refused on the plan screen before anything is recorded."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import psec.tr31
import pytest
from rich.console import Console
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from ceremony.crypto import tr31
from ceremony.crypto.kcv import aes_kcv
from ceremony.crypto.keys import Key, KeyType
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.screens.lifecycle.recovery_finish import FinishScreen
from ceremony.tui.screens.lifecycle.recovery_hsm import KeyBlockFileScreen
from ceremony.tui.screens.lifecycle.recovery_output import KbpkComponentScreen
from ceremony.tui.screens.lifecycle.recovery_rebuild import RebuiltScreen
from ceremony.tui.screens.lifecycle.recovery_start import RecoveryPlanScreen
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from tests.tui.gen_cast import passphrase, pick, type_into, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate
from tests.tui.screen_80x24 import fully_on_screen, screen_lines
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

KBPK_NAMES = ("cust5", "cust6", "cust7")  # three: the ZMK's quorum (3 of 4) is kept


def screen_text(app) -> str:
    return "\n".join(screen_lines(app))


def plain(widget: Static) -> str:
    """A Static's content as text, unwrapped (wide console), whatever renderable it holds."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


async def plan_key_block(
    pilot,
    app,
    ids,
    key_id: str,
    *,
    usage: str = "K0",
    mode: str | None = None,
    version: str = "D",
    key_set_id: str = "",
    kbpk_kcv: str = "",
) -> RecoveryPlanScreen:
    screen = app.screen
    assert isinstance(screen, RecoveryPlanScreen)
    await pick(pilot, screen.query_one("#key", Select), key_id)
    await type_into(pilot, screen.query_one("#purpose", Input), "Load the ZMK into payShield HSM-3")
    await pick(pilot, screen.query_one("#output", Select), "key_block")
    # The transport key's fields now speak of the KBPK; the header's fields show, the token's do not.
    assert "KBPK" in str(screen.query_one("#kek-label-label", Label).render())
    assert "KBPK" in str(screen.query_one("#kek-custodians-label", Label).render())
    assert screen.query_one("#kb-usage", Select).display and not screen.query_one("#tk-module").display
    assert not screen.query_one("#components", SelectionList).display
    await type_into(pilot, screen.query_one("#kek-label", Input), "HSM-3 KBPK")
    listing = screen.query_one("#kek-custodians", SelectionList)
    for name in KBPK_NAMES:
        listing.select(ids[name])
    if kbpk_kcv:
        await type_into(pilot, screen.query_one("#kek-kcv", Input), kbpk_kcv)
    await pick(pilot, screen.query_one("#kb-version", Select), version)
    await pick(pilot, screen.query_one("#kb-usage", Select), usage)
    if mode is not None:
        await pick(pilot, screen.query_one("#kb-mode", Select), mode)
    if key_set_id:
        await type_into(pilot, screen.query_one("#kb-ksid", Input), key_set_id)
    button = screen.query_one("#continue", Button)
    button.focus()
    button.scroll_visible(animate=False)
    await pilot.pause()
    assert fully_on_screen(app, button)
    await pilot.press("enter")
    await pilot.pause()
    return screen


async def test_recovery_to_a_key_block_from_the_screens_opens_under_the_kbpk(world, tmp_path: Path) -> None:  # noqa: F811
    ledger, ids, zmk, _ = world
    parts = [Key.generate(KeyType.AES_256) for _ in KBPK_NAMES]
    views = [bytes(part.material.view()) for part in parts]
    kbpk = bytes(a ^ b ^ c for a, b, c in zip(*views, strict=True))
    taken = tmp_path / "taken.tr31"
    taken.write_text("do not overwrite")
    out = tmp_path / "zmk.tr31"
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_key_block(
            pilot,
            app,
            ids,
            zmk.key_id,
            usage="K0",
            mode="E",
            key_set_id="00604B120F9292800000",
            kbpk_kcv=aes_kcv(kbpk).hex,
        )
        await through_preflight(pilot, app)
        await control_auth(pilot, app, ids)
        started = last(ledger, "ceremony.started")
        assert started["output"] == "key_block" and started["kbpk_label"] == "HSM-3 KBPK"
        assert "usage K0" in str(started["key_block_header"]) and "mode of use E" in str(
            started["key_block_header"]
        )
        for number in (1, 3, 4):
            await enter_share(pilot, app, ids, zmk, number)
        await rebuild(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, RebuiltScreen))
        assert str(app.screen.query_one("#continue", Button).label) == "Continue: enter the KBPK components"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KbpkComponentScreen))
        await pilot.pause()
        shown = screen_text(app)
        assert "KBPK components entered: 0 of 3" in shown and "KBPK custodian" in shown
        assert "KEK" not in shown, shown  # a key block's transport key is the KBPK, never "KEK"
        for name, part in zip(KBPK_NAMES, parts, strict=True):
            screen = app.screen
            await authenticate(
                pilot, screen.query_one("#kek-custodian", AuthForm), ids[name], passphrase(name)
            )
            await type_into(
                pilot, screen.query_one("#kek-part", SecretInput), bytes(part.material.view()).hex()
            )
            await type_into(pilot, screen.query_one("#kek-kcv", Input), aes_kcv(part.material).hex)
            await pilot.press("enter")
            await pilot.pause()
            assert "KBPK component entered" in status(app), status(app)
        assert "KEK" not in screen_text(app)
        assert "make the key block" in str(app.screen.query_one("#done", Button).label)
        assert app.focused is app.screen.query_one("#done", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyBlockFileScreen))
        screen = app.screen
        await type_into(pilot, screen.query_one("#path", Input), str(taken))
        await pilot.press("enter")
        await pilot.pause()
        assert "already exists" in status(app) and "not overwritten" in status(app)
        assert taken.read_text() == "do not overwrite"
        assert "key.block_exported" not in types(ledger)
        screen.query_one("#path", Input).value = ""
        await type_into(pilot, screen.query_one("#path", Input), str(out))
        await pilot.press("enter")
        await pilot.pause()
        result = plain(screen.query_one("#result", Static))
        block = out.read_text()
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert digest in result  # the file's SHA-256, as recorded
        assert aes_kcv(kbpk).hex in result and zmk.kcv_hex in result
        for row in ("Key usage", "K0", "Key encryption or wrapping key", "Mode of use", "Encrypt/wrap only"):
            assert row in result, row
        assert "KS block" in result and "00604B120F9292800000 (Key set identifier" in result
        assert "transmittal form" in result and "close-out" in result
        assert app.focused is screen.query_one("#continue", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FinishScreen))
        await pilot.press("enter")
        await pilot.pause()
        await wait_for(
            pilot, lambda: "Ceremony closed" in str(app.screen.query_one("#summary", Static).render())
        )
    # An independent implementation opens the block under the KBPK the custodians formed: the registered key.
    header, key = psec.tr31.unwrap(kbpk, block)
    assert aes_kcv(key).hex == zmk.kcv_hex
    assert (header.version_id, header.key_usage, header.algorithm, header.mode_of_use) == (
        "D",
        "K0",
        "A",
        "E",
    )
    assert header.exportability == "N" and header.blocks["KS"] == "00604B120F9292800000"
    exported = last(ledger, "key.block_exported")
    assert exported["block_sha256"] == digest
    assert exported["header"] == block[: tr31.header_length(block)]
    assert exported["kbpk_kcv_hex"] == aes_kcv(kbpk).value.hex()
    assert exported["key_kcv_hex"] == aes_kcv(key).value.hex()
    assert exported["kbpk_custodians"] == [ids[n] for n in KBPK_NAMES]
    assert types(ledger)[-3:] == ["key.wiped", "ceremony.closed", "document.issued"]
    assert kbpk.hex() not in block.lower()
    verify_ledger(ledger.path)


@pytest.mark.parametrize(
    ("version", "usage", "mode", "why"),
    [
        ("D", "P0", "X", "mode of use X is not allowed for key usage P0"),
        ("B", "K0", None, "an AES key cannot be carried under a TDES KBPK (version B)"),
    ],
)
async def test_a_forbidden_key_block_header_is_refused_on_the_plan_screen(
    world,  # noqa: F811
    version: str,
    usage: str,
    mode: str | None,
    why: str,
) -> None:
    ledger, ids, zmk, _ = world
    before = ledger.size()
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await plan_key_block(pilot, app, ids, zmk.key_id, version=version, usage=usage, mode=mode)
        await pilot.pause()
        assert app.screen is screen  # not on to the preflight
        text = status(app)
        assert text.startswith("✗ Key block refused"), text
        assert why in text, text
        line = screen.query_one("#status", Static)
        await pilot.pause()
        assert fully_on_screen(app, line)  # read whole, below Continue
    assert ledger.size() == before  # nothing recorded: no ceremony started


@pytest.mark.parametrize("output", ["key_block", "token"])
async def test_the_hsm_outputs_fields_read_whole_at_80x24(world, output: str) -> None:  # noqa: F811
    """Each field of the two HSM outputs is labelled in one line that is read whole; the other outputs'
    fields are hidden; each choice offered fits its field (no option cut at 80x24)."""
    from textual.widgets._select import SelectCurrent

    from tests.tui.test_ceremony_80x24 import shown

    ledger, _ids, zmk, _ = world
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
        await pick(pilot, screen.query_one("#output", Select), output)
        mine, other = ("kb", "tk") if output == "key_block" else ("tk", "kb")
        assert all(w.display for w in screen.query(f".{mine}-field"))
        assert not any(w.display for w in screen.query(f".{other}-field"))
        labels = [label for label in screen.query(Label) if label.display]
        assert len(labels) >= 8
        for label in labels:
            label.scroll_visible(animate=False)
            await pilot.pause()
            text = str(label.render())
            assert "KEK" not in text
            assert shown(app, text), f"label cut: {text!r}"
            assert label.size.width >= len(text), f"label wraps: {text!r}"
        for select in screen.query(f".{mine}-field").filter("Select"):
            room = select.query_one(SelectCurrent).content_region.width
            long = [str(prompt) for prompt, _ in select._options if len(str(prompt)) + 2 > room]
            if select.id in ("kb-usage", "tk-usage"):  # a few EMV usages' meanings take two lines
                long = [text for text in long if not text.startswith("E")]
            assert not long, (select.id, room, long)


async def type_kbpk_components(pilot, app, ids, parts: list[bytes]) -> None:
    """Each KBPK custodian authenticates and types their component (no component KCV: the KBPK's decides)."""
    for name, part in zip(KBPK_NAMES, parts, strict=True):
        screen = app.screen
        await authenticate(pilot, screen.query_one("#kek-custodian", AuthForm), ids[name], passphrase(name))
        await type_into(pilot, screen.query_one("#kek-part", SecretInput), part.hex())
        await pilot.press("enter")
        await pilot.pause()
        assert "KBPK component entered" in status(app), status(app)


async def test_a_mistyped_kbpk_component_is_caught_by_the_kbpk_kcv_and_typed_again(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    """One custodian mistypes their component: the KBPK formed does not have the KCV planned, no block is
    made, every component is forgotten and typed again — the ceremony goes on instead of being voided."""
    ledger, ids, zmk, _ = world
    parts = [os.urandom(32) for _ in KBPK_NAMES]  # TEST components
    kbpk = bytes(a ^ b ^ c for a, b, c in zip(*parts, strict=True))
    mistyped = [bytes([parts[0][0] ^ 1]) + parts[0][1:], *parts[1:]]
    out = tmp_path / "zmk-again.tr31"
    entered_before = types(ledger).count("kbpk.component_entered")
    app = LifecycleApp(lambda: recovery_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_key_block(pilot, app, ids, zmk.key_id, kbpk_kcv=aes_kcv(kbpk).hex)
        await through_preflight(pilot, app)
        await control_auth(pilot, app, ids)
        for number in (1, 3, 4):
            await enter_share(pilot, app, ids, zmk, number)
        await rebuild(pilot, app)
        await wait_for(pilot, lambda: isinstance(app.screen, RebuiltScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KbpkComponentScreen))
        await type_kbpk_components(pilot, app, ids, mistyped)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyBlockFileScreen))
        await type_into(pilot, app.screen.query_one("#path", Input), str(out))
        await pilot.press("enter")
        await pilot.pause()
        assert "KCV mismatch" in status(app) and "typed again" in status(app), status(app)
        assert not out.exists() and "key.block_exported" not in types(ledger)
        again = app.screen.query_one("#again", Button)
        assert again.display and app.focused is again
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KbpkComponentScreen))
        await pilot.pause()
        assert "KBPK components entered: 0 of 3" in screen_text(app)
        await type_kbpk_components(pilot, app, ids, parts)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyBlockFileScreen))
        await type_into(pilot, app.screen.query_one("#path", Input), str(out))
        await pilot.press("enter")
        await pilot.pause()
        assert out.exists(), status(app)
    _, key = psec.tr31.unwrap(kbpk, out.read_text())
    assert aes_kcv(key).hex == zmk.kcv_hex
    # both rounds are on record: three components refused by the KBPK's KCV, three that formed it
    assert types(ledger).count("kbpk.component_entered") - entered_before == 6
