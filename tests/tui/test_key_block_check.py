"""Checking a TR-31 key block received from elsewhere (issue 16), driven through the screens on a real
rehearsal ledger: the registered ZMK is rebuilt here from the shares its custodians wrote down and put in a
block under a KBPK whose components the test holds; the screens open it under the KBPK the custodians type.
Verified from the main menu to the minutes; a tampered block and a block of another key refused and
recorded; a KBPK of too few custodians refused by the custody rule on the plan screen; a KBPK that is not
the one planned typed again; unreadable block files refused by name; Ctrl+C voids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, SelectionList, Static

from ceremony.crypto import tr31
from ceremony.crypto.codec import decode_share
from ceremony.crypto.kcv import aes_kcv
from ceremony.crypto.keys import KeyType
from ceremony.crypto.recipes import recover_key
from ceremony.flows.common import read_register
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.tui.app import EXIT_CANCELLED, LedgerApp
from ceremony.tui.screens.control_auth import ControlAuthScreen
from ceremony.tui.screens.lifecycle.keyblock_check import (
    CheckCloseScreen,
    CheckKbpkComponentScreen,
    KeyBlockPlanScreen,
    VerdictScreen,
    key_block_check_screen,
)
from ceremony.tui.screens.lifecycle.preflight import LifecyclePreflightScreen
from ceremony.tui.screens.lifecycle.quorum_decision import QuorumDecisionScreen
from tests.tui.gen_cast import FAST_KDF, clear_laptop, passphrase, pick, type_into, wait_for
from tests.tui.lifecycle_cast import Generated, LifecycleApp, authenticate
from tests.tui.screen_80x24 import fully_on_screen
from tests.tui.test_lifecycle_screens import (
    last,
    status,
    types,
    world,  # noqa: F401 - the fixture
)
from tests.tui.test_recovery_key_block import KBPK_NAMES, plain, screen_text, type_kbpk_components

SHOTS = Path(os.environ.get("KBC_SHOTS", ""))  # screenshots of each screen at 80x24, when asked for


def shoot(app, name: str) -> None:
    if str(SHOTS) not in ("", "."):
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / f"{name}.svg").write_text(app.export_screenshot())


def kbpk_parts() -> tuple[list[bytes], bytes]:
    parts = [os.urandom(32) for _ in KBPK_NAMES]  # TEST components
    return parts, bytes(a ^ b ^ c for a, b, c in zip(*parts, strict=True))


def zmk_bytes(ledger: Ledger, zmk: Generated) -> bytes:
    """The registered ZMK, rebuilt from three of the shares its custodians wrote down."""
    kcv = read_register(ledger.events()).key(zmk.key_id).kcv
    key = recover_key([decode_share(zmk.texts[n]) for n in (1, 3, 4)], KeyType.AES_256, kcv)
    try:
        return bytes(key.material.view())
    finally:
        key.wipe()


def block_file(tmp_path: Path, kbpk: bytes, key: bytes, name: str = "received.tr31") -> Path:
    path = tmp_path / name
    path.write_text(tr31.wrap(kbpk, tr31.Header("D", "K0", "A", "B"), key) + "\n", encoding="ascii")
    return path


async def plan_check(pilot, app, ids, key_id: str, path: Path, names=KBPK_NAMES, kbpk_kcv: str = "") -> None:
    await wait_for(pilot, lambda: isinstance(app.screen, KeyBlockPlanScreen))
    screen = app.screen
    await pick(pilot, screen.query_one("#key", Select), key_id)
    await type_into(pilot, screen.query_one("#block-path", Input), str(path))
    await pilot.press("enter")  # read: the header is shown, nothing else of the block
    header = screen.query_one("#kb-header", Static)
    assert header.display
    shown = plain(header)
    assert "K0" in shown and "Key encryption or wrapping key" in shown and "Mode of use" in shown, shown
    rest = path.read_text().strip()[tr31.header_length(path.read_text().strip()) :]
    assert rest[:16] not in shown and rest[-16:] not in shown  # not the encrypted key, not the MAC
    header.scroll_visible(animate=False, top=True)
    await pilot.pause()
    shoot(app, "2-plan-read")
    await type_into(pilot, screen.query_one("#purpose", Input), "Check the ZMK block sent by HSM-3")
    await type_into(pilot, screen.query_one("#location", Input), "Vault room 2")
    await type_into(pilot, screen.query_one("#kbpk-label", Input), "HSM-3 KBPK")
    listing = screen.query_one("#kbpk-custodians", SelectionList)
    for name in names:
        listing.select(ids[name])
    if kbpk_kcv:
        await type_into(pilot, screen.query_one("#kbpk-kcv", Input), kbpk_kcv)
    button = screen.query_one("#continue", Button)
    button.focus()
    button.scroll_visible(animate=False)
    await pilot.pause()
    assert fully_on_screen(app, button)
    await pilot.press("enter")
    await pilot.pause()


async def to_verdict(pilot, app, ids, parts: list[bytes]) -> VerdictScreen:
    """Preflight, administrator and witness, the KBPK's components; then on the verdict screen."""
    await wait_for(pilot, lambda: isinstance(app.screen, LifecyclePreflightScreen))
    screen = app.screen
    await wait_for(pilot, lambda: not screen.query_one("#preflight-continue", Button).disabled)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ControlAuthScreen))
    shoot(app, "3-control-auth")
    screen = app.screen
    await authenticate(pilot, screen.query_one("#administrator"), ids["alice"], passphrase("alice"))
    await authenticate(pilot, screen.query_one("#witness"), ids["walter"], passphrase("walter"))
    await wait_for(pilot, lambda: isinstance(app.screen, CheckKbpkComponentScreen))
    await pilot.pause()
    shown = screen_text(app)
    assert "KBPK components entered: 0 of 3" in shown and "KEK" not in shown, shown
    shoot(app, "4-components")
    await type_kbpk_components(pilot, app, ids, parts)
    assert "check the key block" in str(app.screen.query_one("#done", Button).label)
    assert app.focused is app.screen.query_one("#done", Button)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
    await pilot.pause()
    shoot(app, "5-verdict-before")
    assert app.focused is app.screen.query_one("#check", Button)
    return app.screen


async def read_verdict(pilot, app) -> str:
    await pilot.press("enter")  # Check the key block
    await pilot.pause()
    word, verdict = app.screen.query_one("#verdict-word", Static), app.screen.query_one("#verdict", Static)
    assert word.display and verdict.display, status(app)
    assert not app.screen.query_one("#check", Button).display  # checked once: the verdict takes its place
    await pilot.pause()
    assert fully_on_screen(app, word) and fully_on_screen(app, app.screen.query_one("#continue", Button))
    return plain(word) + plain(verdict)


async def close_out(pilot, app) -> str:
    cont = app.screen.query_one("#continue", Button)
    assert app.focused is cont and not cont.disabled
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckCloseScreen))
    await pilot.press("enter")
    await wait_for(pilot, lambda: "Ceremony closed" in plain(app.screen.query_one("#summary", Static)))
    return plain(app.screen.query_one("#summary", Static))


async def test_a_received_block_of_the_registered_key_is_verified_from_the_main_menu(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger, ids, zmk, _ = world
    parts, kbpk = kbpk_parts()
    path = block_file(tmp_path, kbpk, zmk_bytes(ledger, zmk))
    app = LedgerApp(ledger.path, kdf=FAST_KDF, preflight=clear_laptop)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
        assert app.screen.query_one("#menu").region.bottom <= 23  # still every choice at 80x24
        target = app.screen.query_one("#keyblock", Button)
        assert str(target.label) == "Check a received key block"
        while app.focused is not target:
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyBlockPlanScreen))
        shoot(app, "1-plan-empty")
        await plan_check(pilot, app, ids, zmk.key_id, path, kbpk_kcv=aes_kcv(kbpk).hex)
        await to_verdict(pilot, app, ids, parts)
        started = last(ledger, "ceremony.started")
        assert started["kind"] == "key_block_check" and started["kbpk_label"] == "HSM-3 KBPK"
        assert started["location"] == "Vault room 2"
        text = await read_verdict(pilot, app)
        shoot(app, "6-verdict-verified")
        assert "VERIFIED" in text and "REFUSED" not in text, text
        assert aes_kcv(kbpk).hex in text and zmk.kcv_hex in text, text
        summary = await close_out(pilot, app)
        shoot(app, "7-closed")
        assert "Signed papers (1)" in summary and "not issued" not in summary, summary
        await pilot.press("enter")  # Done
        await wait_for(pilot, lambda: app.screen.id == "main-menu")
    checked = last(ledger, "key_block.checked")
    assert checked["verdict"] == "verified" and checked["key_id"] == zmk.key_id
    assert checked["found_kcv_hex"] == checked["key_kcv_hex"] == aes_kcv(zmk_bytes(ledger, zmk)).value.hex()
    assert checked["kbpk_kcv_hex"] == aes_kcv(kbpk).value.hex()
    assert checked["kbpk_custodians"] == [ids[n] for n in KBPK_NAMES]
    assert types(ledger)[-2:] == ["ceremony.closed", "document.issued"]
    minutes = list((ledger.path.parent / "ceremony-documents").rglob("*.pdf"))
    assert len(minutes) == 1 and "minutes" in minutes[0].name, minutes
    verify_ledger(ledger.path)


async def test_a_tampered_block_is_refused_mac_failed_and_recorded(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger, ids, zmk, _ = world
    parts, kbpk = kbpk_parts()
    block = tr31.wrap(kbpk, tr31.Header("D", "K0", "A", "B"), zmk_bytes(ledger, zmk))
    path = tmp_path / "tampered.tr31"
    path.write_text(block[:-1] + ("0" if block[-1] != "0" else "1"))  # one MAC digit changed
    app = LifecycleApp(lambda: key_block_check_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_check(pilot, app, ids, zmk.key_id, path)
        await to_verdict(pilot, app, ids, parts)
        text = await read_verdict(pilot, app)
        shoot(app, "6-verdict-mac-failed")
        assert "REFUSED" in text and "MAC does not verify" in text and "altered" in text, text
        assert "VERIFIED" not in text
        await close_out(pilot, app)
    checked = last(ledger, "key_block.checked")
    assert checked["verdict"] == "mac_failed" and "found_kcv_hex" not in checked
    assert types(ledger)[-2:] == ["ceremony.closed", "document.issued"]


async def test_a_block_of_another_key_is_refused_as_a_substitution(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger, ids, zmk, _ = world
    parts, kbpk = kbpk_parts()
    other = os.urandom(32)
    path = block_file(tmp_path, kbpk, other)
    app = LifecycleApp(lambda: key_block_check_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_check(pilot, app, ids, zmk.key_id, path)
        await to_verdict(pilot, app, ids, parts)
        text = await read_verdict(pilot, app)
        shoot(app, "6-verdict-kcv-mismatch")
        assert "REFUSED" in text and "ANOTHER key" in text and "3.7.7" in text, text
        assert aes_kcv(other).hex in text and zmk.kcv_hex in text, text  # found vs registered
        await close_out(pilot, app)
    checked = last(ledger, "key_block.checked")
    assert checked["verdict"] == "kcv_mismatch"
    assert checked["found_kcv_hex"] == aes_kcv(other).value.hex() != checked["key_kcv_hex"]


async def test_two_kbpk_custodians_for_a_3_of_4_key_are_refused_on_the_plan(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger, ids, zmk, _ = world
    _, kbpk = kbpk_parts()
    path = block_file(tmp_path, kbpk, zmk_bytes(ledger, zmk))
    before = ledger.size()
    app = LifecycleApp(lambda: key_block_check_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_check(pilot, app, ids, zmk.key_id, path, names=("cust5", "cust6"))
        await pilot.pause()
        assert isinstance(app.screen, KeyBlockPlanScreen)  # not on to the preflight
        text = status(app)
        assert text.startswith("✗ Split knowledge"), text
        assert "Cleo Five" in text and "Cyril Six" in text and "quorum decision" in text, text
        screen = app.screen
        quorum = screen.query_one("#quorum", Button)
        assert quorum.display
        await pilot.pause()
        assert fully_on_screen(app, screen.query_one("#status", Static))
        shoot(app, "2-plan-custody-refused")
        assert ledger.size() == before  # nothing recorded
        # A security officer and a witness may decide, on record, that these two may hold the KBPK.
        quorum.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, QuorumDecisionScreen))
        decision = app.screen
        await authenticate(pilot, decision.query_one("#officer"), ids["sophie"], passphrase("sophie"))
        await authenticate(pilot, decision.query_one("#quorum-witness"), ids["walter"], passphrase("walter"))
        await type_into(pilot, decision.query_one("#reason", Input), "HSM-3 takes a KBPK of two components")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        lowered = last(ledger, "key.quorum_lowered")
        assert lowered["quorum"] == 2 and lowered["coalition"] == [ids["cust5"], ids["cust6"]]
        assert "Quorum decision recorded" in status(app) and not quorum.display
        screen.query_one("#continue", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LifecyclePreflightScreen))


async def test_a_kbpk_not_the_one_planned_is_typed_again(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger, ids, zmk, _ = world
    parts, kbpk = kbpk_parts()
    path = block_file(tmp_path, kbpk, zmk_bytes(ledger, zmk))
    mistyped = [bytes([parts[0][0] ^ 1]) + parts[0][1:], *parts[1:]]
    app = LifecycleApp(lambda: key_block_check_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_check(pilot, app, ids, zmk.key_id, path, kbpk_kcv=aes_kcv(kbpk).hex)
        await to_verdict(pilot, app, ids, mistyped)
        await pilot.press("enter")
        await pilot.pause()
        assert "KCV mismatch" in status(app) and "typed again" in status(app), status(app)
        assert not app.screen.query_one("#verdict", Static).display
        assert "key_block.checked" not in types(ledger)
        again = app.screen.query_one("#again", Button)
        assert again.display and app.focused is again
        shoot(app, "5-verdict-kbpk-mismatch")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckKbpkComponentScreen))
        await pilot.pause()
        assert "KBPK components entered: 0 of 3" in screen_text(app)
        await type_kbpk_components(pilot, app, ids, parts)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VerdictScreen))
        assert "VERIFIED" in await read_verdict(pilot, app)
    assert last(ledger, "key_block.checked")["verdict"] == "verified"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "cannot be read"),
        ("D0112K0AE00E0000" + "é" * 10, "not ASCII"),
        ("A" * 12000, "more than one key block"),
        ("", "is empty"),
        ("not a key block", "Key block"),
    ],
    ids=["missing", "not-ascii", "too-long", "empty", "malformed"],
)
async def test_an_unusable_block_file_is_refused_by_name(
    world,  # noqa: F811
    tmp_path: Path,
    content,
    why,
) -> None:
    ledger, _ids, zmk, _ = world
    path = tmp_path / "block.txt"
    if content is not None:
        path.write_bytes(content.encode("utf-8"))
    before = ledger.size()
    app = LifecycleApp(lambda: key_block_check_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await pick(pilot, screen.query_one("#key", Select), zmk.key_id)
        await type_into(pilot, screen.query_one("#block-path", Input), str(path))
        await pilot.press("enter")
        await pilot.pause()
        assert why in status(app) and status(app).startswith("✗"), status(app)
        assert not screen.query_one("#kb-header", Static).display  # nothing of the file is shown
    assert ledger.size() == before


async def test_ctrl_c_voids_the_check_with_the_reason_recorded(
    world,  # noqa: F811
    tmp_path: Path,
) -> None:
    ledger, ids, zmk, _ = world
    parts, kbpk = kbpk_parts()
    path = block_file(tmp_path, kbpk, zmk_bytes(ledger, zmk))
    app = LifecycleApp(lambda: key_block_check_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        await plan_check(pilot, app, ids, zmk.key_id, path)
        await to_verdict(pilot, app, ids, parts)
        await pilot.press("ctrl+c", "ctrl+c")
        await pilot.pause()
    assert app.return_code == EXIT_CANCELLED
    voided = last(ledger, "ceremony.voided")
    assert "cancelled" in str(voided["reason"]) and "check the key block" in str(voided["reason"])
    assert "key_block.checked" not in types(ledger)
