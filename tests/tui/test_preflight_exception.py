"""Recording a PCI DSS 1.2.6 exception from a blocked preflight (issue 14 part 2.3), driven with Pilot at
80x24 on real production ledgers: tick findings, justification, controls, days, security officer and witness
→ one ``preflight.exception`` event covering exactly the ticked findings, and the preflight runs again.
Someone who is not a security officer is refused by name; cancelling writes nothing. The findings table
scrolls so that every finding can be reached."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, SelectionList, Static

from ceremony.ledger.store import Ledger
from ceremony.preflight import Finding, PreflightReport, Verdict
from ceremony.tui.app import LedgerApp
from ceremony.tui.screens.control_auth import ControlAuthScreen
from ceremony.tui.screens.gen_preflight import PreflightScreen
from ceremony.tui.screens.lifecycle import recovery_screen
from ceremony.tui.screens.lifecycle.preflight import LifecyclePreflightScreen
from ceremony.tui.screens.preflight_exception import PreflightExceptionScreen
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import FAST_KDF, make_ledger, passphrase, report_of, type_into, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate

ETH0 = Finding("net.interfaces", "Network interfaces", Verdict.INSECURE, "eth0 up", subject="interface eth0")
SSH = Finding("net.listening", "Listening sockets", Verdict.INSECURE, "sshd", subject="tcp 0.0.0.0:22")
SWAP = Finding("mem.swap", "Swap", Verdict.UNKNOWN, "could not check: /proc/swaps does not exist")
CORE = Finding("mem.coredump", "Core dumps", Verdict.PASS, "core dumps off")


def three_findings(now: datetime) -> PreflightReport:
    return report_of(now, ETH0, SSH, SWAP, CORE)


def two_findings(now: datetime) -> PreflightReport:
    return report_of(now, ETH0, SWAP, CORE)


def many_findings(now: datetime) -> PreflightReport:
    ports = [
        Finding("net.listening", "Listening sockets", Verdict.INSECURE, "", subject=f"tcp 0.0.0.0:{p}")
        for p in range(8000, 8030)
    ]
    return report_of(now, CORE, *ports, ETH0)


@pytest.fixture
def production(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ledger.sqlite3"
    return path, make_ledger(path, rehearsal=False)


def events(path: Path) -> list[tuple[str, dict[str, object]]]:
    with Ledger.open(path, read_only=True) as ledger:
        return [(e.type, dict(e.payload)) for e in ledger.events()]


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def blocked_generation(pilot, app: LedgerApp, rows: int) -> PreflightScreen:
    await pilot.press("enter")  # "New key generation ceremony"
    await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
    screen = app.screen
    assert isinstance(screen, PreflightScreen)
    await wait_for(pilot, lambda: screen.query_one("#findings", DataTable).row_count == rows)
    await wait_for(pilot, lambda: "BLOCKED" in text_of(app, "#verdict"))
    return screen


async def open_exception(pilot, app, button: Button) -> PreflightExceptionScreen:
    assert button.display and str(button.label) == "Record an exception…"
    button.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, PreflightExceptionScreen))
    screen = app.screen
    assert isinstance(screen, PreflightExceptionScreen)
    return screen


async def tick(pilot, screen: PreflightExceptionScreen, *rows: int) -> None:
    """Tick rows of the findings list with the keyboard (Down to the row, space)."""
    listing = screen.query_one("#ticked", SelectionList)
    listing.focus()
    listing.highlighted = 0
    await pilot.pause()
    at = 0
    for row in sorted(rows):
        for _ in range(row - at):
            await pilot.press("down")
        at = row
        await pilot.press("space")
    await pilot.pause()


async def fill(pilot, screen: PreflightExceptionScreen, days: str = "14") -> None:
    await type_into(pilot, screen.query_one("#justification", Input), "HSM vendor window closes today")
    await type_into(
        pilot, screen.query_one("#controls", Input), "Cable unplugged and sealed; witness watches"
    )
    days_field = screen.query_one("#days", Input)
    days_field.value = ""
    await type_into(pilot, days_field, days)


async def two_people(pilot, screen: PreflightExceptionScreen, ids: dict[str, str], officer="sophie") -> None:
    form = screen.query_one("#officer", AuthForm)
    await authenticate(pilot, form, ids[officer], passphrase(officer))
    await wait_for(pilot, lambda: screen.officer is not None)
    witness = screen.query_one("#witness", AuthForm)
    await authenticate(pilot, witness, ids["walter"], passphrase("walter"))
    await wait_for(pilot, lambda: screen.witness is not None)


async def test_blocked_generation_records_one_exception_for_two_ticked_findings_and_goes_on(production):
    path, ids = production
    before = events(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=two_findings)
    async with app.run_test(size=(80, 24)) as pilot:
        preflight = await blocked_generation(pilot, app, rows=3)
        verdict = text_of(app, "#verdict")
        assert "BLOCKED: 2 finding(s)" in verdict and "Record an exception…" in verdict
        assert preflight.query_one("#continue", Button).disabled
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        listing = screen.query_one("#ticked", SelectionList)
        assert listing.option_count == 2 and app.focused is listing  # only what blocks, nothing ticked yet
        assert listing.selected == []
        await tick(pilot, screen, 0, 1)
        await fill(pilot, screen)
        await two_people(pilot, screen, ids)
        assert app.focused is screen.query_one("#record", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        await wait_for(pilot, lambda: "Preflight clear" in text_of(app, "#verdict"))
        table = preflight.query_one("#findings", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["excepted", "excepted", "pass"]
        assert not preflight.query_one("#except", Button).display
        cont = preflight.query_one("#continue", Button)
        assert not cont.disabled and app.focused is cont
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ControlAuthScreen))
    added = events(path)[len(before) :]
    assert [t for t, _ in added] == ["preflight.exception"]  # one event covers both
    payload = added[0][1]
    assert (payload["check"], payload["subject"]) == ("net.interfaces", "interface eth0")
    assert payload["also_covers"] == [{"check": "mem.swap", "subject": "*"}]
    assert payload["approved_by"] == ids["sophie"] and payload["witness"] == ids["walter"]
    assert payload["justification"] == "HSM vendor window closes today"


async def test_an_exception_covers_only_the_ticked_findings(production):
    path, ids = production
    app = LedgerApp(path, kdf=FAST_KDF, preflight=three_findings)
    async with app.run_test(size=(80, 24)) as pilot:
        preflight = await blocked_generation(pilot, app, rows=4)
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        await tick(pilot, screen, 0, 2)  # eth0 and swap; not ssh
        await fill(pilot, screen)
        await two_people(pilot, screen, ids)
        screen.query_one("#record", Button).press()
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        await wait_for(pilot, lambda: "BLOCKED: 1 finding(s)" in text_of(app, "#verdict"))
        table = preflight.query_one("#findings", DataTable)
        status = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[0]) for i in range(4)}
        assert status["interface eth0"] == "excepted" and status["tcp 0.0.0.0:22"] == "INSECURE"
        assert preflight.query_one("#except", Button).display  # the one left may get its own
        assert preflight.query_one("#continue", Button).disabled
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        assert screen.query_one("#ticked", SelectionList).option_count == 1  # only the uncovered one
        screen.query_one("#cancel", Button).press()
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))


async def test_someone_not_a_security_officer_is_refused_by_name(production):
    path, ids = production
    before = events(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=two_findings)
    async with app.run_test(size=(80, 24)) as pilot:
        preflight = await blocked_generation(pilot, app, rows=3)
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        await tick(pilot, screen, 0)
        await fill(pilot, screen)
        form = screen.query_one("#officer", AuthForm)
        await authenticate(pilot, form, ids["walter"], passphrase("walter"))
        status = str(form.query_one(".auth-status", Static).render())
        assert "Walter Witness" in status and "is not enrolled as security officer" in status
        assert screen.officer is None
        screen.query_one("#record", Button).press()
        await pilot.pause()
        assert "security officer and the witness authenticate first" in text_of(app, "#status")
        # The flow refuses too (PCI DSS 1.2.6 needs a security officer), should a form let one through.
        screen.officer = screen.presence.authenticate(
            ids["alice"], _secret(passphrase("alice")), "administrator"
        )
        witness = screen.query_one("#witness", AuthForm)
        await authenticate(pilot, witness, ids["walter"], passphrase("walter"))
        await wait_for(pilot, lambda: screen.witness is not None)
        screen.query_one("#record", Button).press()
        await pilot.pause()
        refusal = text_of(app, "#status")
        assert "Alice Admin (E0001) is not enrolled as a security officer" in refusal
        assert isinstance(app.screen, PreflightExceptionScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
    assert events(path) == before


def _secret(text: str):
    from ceremony.crypto.secret import SecretBytes

    return SecretBytes(text.encode())


async def test_cancel_returns_to_the_blocked_preflight_without_recording(production):
    path, ids = production
    before = events(path)
    app = LedgerApp(path, kdf=FAST_KDF, preflight=two_findings)
    async with app.run_test(size=(80, 24)) as pilot:
        preflight = await blocked_generation(pilot, app, rows=3)
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        await tick(pilot, screen, 0, 1)
        await fill(pilot, screen)
        await two_people(pilot, screen, ids)
        screen.query_one("#cancel", Button).press()
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
        await pilot.pause()
        assert "BLOCKED: 2 finding(s)" in text_of(app, "#verdict")
        assert preflight.query_one("#continue", Button).disabled
        assert screen.officer is None and screen.witness is None  # their keys are locked again
        # Escape, with nothing filled in, goes back too.
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PreflightScreen))
    assert events(path) == before


async def test_the_form_says_what_is_missing(production):
    path, _ = production
    app = LedgerApp(path, kdf=FAST_KDF, preflight=two_findings)
    async with app.run_test(size=(80, 24)) as pilot:
        preflight = await blocked_generation(pilot, app, rows=3)
        screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
        record = screen.query_one("#record", Button)
        record.press()
        await pilot.pause()
        assert "Tick at least one finding" in text_of(app, "#status")
        await tick(pilot, screen, 1)
        record.press()
        await pilot.pause()
        assert "business justification" in text_of(app, "#status")
        await fill(pilot, screen, days="91")
        record.press()
        await pilot.pause()
        assert "from 1 to 90 days" in text_of(app, "#status")


async def test_the_findings_table_scrolls_to_every_finding_at_80x24(production):
    path, _ = production
    app = LedgerApp(path, kdf=FAST_KDF, preflight=many_findings)
    async with app.run_test(size=(80, 24)) as pilot:
        preflight = await blocked_generation(pilot, app, rows=32)
        table = preflight.query_one("#findings", DataTable)
        # What blocks comes first: the pass is last, below the 31 uncovered findings.
        assert str(table.get_row_at(0)[0]) == "INSECURE" and str(table.get_row_at(31)[0]) == "pass"
        assert table.size.height < 32  # it does not fit: the table scrolls
        buttons = [preflight.query_one(f"#{b}", Button) for b in ("except", "again", "cancel")]
        assert all(b.region.bottom <= app.screen.size.height - 1 for b in buttons)  # above the footer
        table.focus()
        await pilot.press("pagedown")
        await pilot.pause()
        assert 0 < table.cursor_row < 31 and table.scroll_y > 0
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert table.cursor_row == 31 and table.scroll_y == table.max_scroll_y > 0  # the last one in view
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert table.cursor_row == 0 and table.scroll_y == 0


async def test_a_blocked_recovery_records_an_exception_from_its_preflight(tmp_path: Path):
    from tests.tui.test_lifecycle_preflight_tui import _ledger, plan_components

    ledger, ids, key_id = _ledger(tmp_path / "production.sqlite3", rehearsal=False)
    try:
        app = LifecycleApp(lambda: recovery_screen(ledger, run_preflight=two_findings))
        async with app.run_test(size=(80, 24)) as pilot:
            await plan_components(pilot, app, ids, key_id)
            preflight = app.screen
            await wait_for(pilot, lambda: "BLOCKED" in text_of(app, "#verdict"))
            assert "Record an exception…" in text_of(app, "#verdict")
            screen = await open_exception(pilot, app, preflight.query_one("#except", Button))
            await tick(pilot, screen, 0, 1)
            await fill(pilot, screen)
            form = screen.query_one("#officer", AuthForm)
            await authenticate(pilot, form, ids["sophie"], passphrase("sophie"))
            await wait_for(pilot, lambda: screen.officer is not None)
            await authenticate(
                pilot, screen.query_one("#witness", AuthForm), ids["walter"], passphrase("walter")
            )
            await wait_for(pilot, lambda: screen.witness is not None)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, LifecyclePreflightScreen))
            await wait_for(pilot, lambda: "Preflight clear" in text_of(app, "#verdict"))
            assert not preflight.query_one("#preflight-continue", Button).disabled
        recorded = [e for e in ledger.events() if e.type == "preflight.exception"]
        assert len(recorded) == 1 and recorded[0].payload["also_covers"] == [
            {"check": "mem.swap", "subject": "*"}
        ]
    finally:
        ledger.close()
