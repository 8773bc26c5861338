"""The retirement and departure screens ask about each envelope (issue 15, item 5), at 80x24: destroyed under
dual control with the serial checked, returned with a broken seal, or not returned; the destruction
certificate is issued, signed by the two people, and the custody report shows destroyed vs still held."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from textual.widgets import Button, Input, Select, Static

from ceremony.flows.envelopes import Outcome
from ceremony.ledger.register import read
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import verify_ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.tui.screens.lifecycle import departure_screen
from ceremony.tui.screens.lifecycle import retire_screen as _retire_screen
from ceremony.tui.widgets.auth_form import AuthForm
from tests.tui.gen_cast import clear_laptop, passphrase, pick, type_into, wait_for
from tests.tui.lifecycle_cast import LifecycleApp, authenticate, generate, prepare

FOUR = ("cust1", "cust2", "cust3", "cust4")


@pytest.fixture
def world(tmp_path: Path):
    """A rehearsal ledger with a 3-of-4 ZMK (cust1-4) and a 2-of-2 PVK (cust1, cust2)."""
    path = tmp_path / "ledger.sqlite3"
    ids = prepare(path)
    ledger = Ledger.open(path)
    zmk = generate(ledger, ids, FOUR, 3, "ZMK")
    pvk = generate(ledger, ids, ("cust1", "cust2"), 2, "PVK")
    yield ledger, ids, zmk, pvk
    ledger.close()


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


def events(ledger: Ledger, event_type: str) -> list[dict[str, object]]:
    return [dict(e.payload) for e in ledger.events() if e.type == event_type]


def on_screen(app, widget_id: str) -> bool:
    """The widget is visible inside the 80x24 terminal (scrolled into view)."""
    region = app.screen.query_one(widget_id).region
    return region.width > 0 and region.height > 0 and region.y >= 0 and region.bottom <= 24


def custody_shares(ledger: Ledger) -> dict[tuple[str, int], dict[str, object]]:
    report = build_report("custody", read_facts(ledger), Filters(), datetime.now(UTC))
    return {(r["split_id"], s["share_number"]): s for r in report.records for s in r["share_records"]}


def signatures(path: Path) -> str:
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout


async def test_retirement_asks_about_each_envelope_and_issues_the_certificate(world) -> None:
    ledger, ids, _zmk, pvk = world
    app = LifecycleApp(lambda: _retire_screen(ledger, run_preflight=clear_laptop))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        button = screen.query_one("#preflight-continue", Button)
        await wait_for(pilot, lambda: not button.disabled)
        button.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Preflight accepted" in status(app))
        await type_into(pilot, screen.query_one("#purpose", Input), "PVK replaced")
        await type_into(pilot, screen.query_one("#location", Input), "Vault room 2")
        await authenticate(
            pilot, screen.query_one("#administrator", AuthForm), ids["alice"], passphrase("alice")
        )
        await authenticate(pilot, screen.query_one("#witness", AuthForm), ids["walter"], passphrase("walter"))
        await pick(pilot, screen.query_one("#target", Select), f"key:{pvk.key_id}")
        await pick(pilot, screen.query_one("#reason", Select), "replaced")
        screen.query_one("#retire", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        # Asked about the first envelope, by name, and the serial field is focused and visible at 80x24.
        ask = str(screen.query_one("#envelope-ask", Static).render())
        assert "2 envelope(s) to account for" in ask and pvk.serials[1] in ask
        assert app.focused is screen.query_one("#serial", Input) and on_screen(app, "#serial")
        # Another envelope's serial is not this one: refused, nothing destroyed.
        await type_into(pilot, screen.query_one("#serial", Input), pvk.serials[2])
        await type_into(pilot, screen.query_one("#returned-by", Input), "Carla One")
        await pilot.press("enter")
        await pilot.pause()
        assert f"the envelope reads {pvk.serials[2]}" in status(app) and not events(
            ledger, "envelope.destroyed"
        )
        screen.query_one("#serial", Input).value = ""
        await type_into(pilot, screen.query_one("#serial", Input), pvk.serials[1].lower())
        await pilot.press("enter")
        await pilot.pause()
        assert "DESTROYED" in str(screen.query_one("#done-list", Static).render())
        # The next envelope is asked: its seal is broken.
        assert screen.query_one("#which", Select).value == pvk.serials[2]
        await pick(pilot, screen.query_one("#outcome", Select), Outcome.SEAL_BROKEN.value)
        await type_into(pilot, screen.query_one("#returned-by", Input), "Chris Two")
        await type_into(pilot, screen.query_one("#envelope-note", Input), "tape lifted")
        await pilot.press("enter")
        await pilot.pause()
        assert "incident" in str(screen.query_one("#done-list", Static).render())
        assert "accounted for" in str(screen.query_one("#envelope-ask", Static).render())
        assert app.focused is screen.query_one("#close", Button) and on_screen(app, "#close")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "closed" in status(app), timeout=30)
        assert "Destruction certificate" in status(app)

    destroyed = events(ledger, "envelope.destroyed")
    assert [d["envelope_serial"] for d in destroyed] == [pvk.serials[1]]
    assert (destroyed[0]["destroyed_by"], destroyed[0]["witnessed_by"]) == (ids["alice"], ids["walter"])
    assert [r["seal_intact"] for r in events(ledger, "envelope.returned")] == [False]
    issued = [d for d in events(ledger, "document.issued") if d["kind"] == "destruction"]
    assert len(issued) == 1 and issued[0]["signed_by"] == [ids["alice"], ids["walter"]]
    folder = ledger.path.parent / "ceremony-documents" / str(issued[0]["ceremony_id"])
    pdf = folder / str(issued[0]["file_name"])
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert pvk.serials[1] in text and "REHEARSAL" in text and "Vault room 2" in text
    assert pvk.serials[2] in text and "broken seal" in text
    assert signatures(pdf).count("Signature is Valid") == 2
    shares = custody_shares(ledger)
    assert shares[(pvk.split_id, 1)]["envelope_status"] == "destroyed"
    assert shares[(pvk.split_id, 2)]["envelope_status"] == "seal broken"
    assert shares[(pvk.split_id, 2)]["counted"] is True and shares[(pvk.split_id, 2)]["held_by"] is None
    verify_ledger(ledger.path)


async def test_departure_asks_about_each_envelope_the_person_held(world) -> None:
    ledger, ids, zmk, pvk = world
    app = LifecycleApp(lambda: departure_screen(ledger))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await authenticate(pilot, screen.query_one("#officer", AuthForm), ids["sophie"], passphrase("sophie"))
        await authenticate(pilot, screen.query_one("#witness", AuthForm), ids["walter"], passphrase("walter"))
        await pick(pilot, screen.query_one("#person", Select), ids["cust2"])
        await type_into(pilot, screen.query_one("#reason", Input), "left the company")
        await pilot.press("enter")
        await pilot.pause()
        ask = str(screen.query_one("#envelope-ask", Static).render())
        assert "2 envelope(s) to account for" in ask and zmk.serials[2] in ask
        assert app.focused is screen.query_one("#serial", Input) and on_screen(app, "#serial")
        # The ZMK envelope (3-of-4: three others remain) is destroyed.
        await type_into(pilot, screen.query_one("#serial", Input), zmk.serials[2])
        await type_into(pilot, screen.query_one("#returned-by", Input), "Chris Two, last day")
        await pilot.press("enter")
        await pilot.pause()
        assert "DESTROYED" in status(app)
        # The PVK envelope (2-of-2, still in force) cannot be destroyed: the key could not be recovered.
        assert screen.query_one("#which", Select).value == pvk.serials[2]
        await type_into(pilot, screen.query_one("#serial", Input), pvk.serials[2])
        await pilot.press("enter")
        await pilot.pause()
        assert "fewer than its threshold" in status(app)
        await pick(pilot, screen.query_one("#outcome", Select), Outcome.NOT_RETURNED.value)
        await type_into(pilot, screen.query_one("#envelope-note", Input), "kept it; HR chasing")
        await pilot.press("enter")
        await pilot.pause()
        assert "not returned" in status(app)
        assert app.focused is screen.query_one("#done", Button) and on_screen(app, "#done")
        await pilot.press("enter")  # Done: the certificate is issued, signed by both
        await wait_for(pilot, lambda: "Destruction certificate" in status(app), timeout=30)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, type(screen))

    destroyed = events(ledger, "envelope.destroyed")
    assert [d["envelope_serial"] for d in destroyed] == [zmk.serials[2]]
    assert "ceremony_id" not in destroyed[0]
    assert (destroyed[0]["destroyed_by"], destroyed[0]["witnessed_by"]) == (ids["sophie"], ids["walter"])
    missing = events(ledger, "envelope.not_returned")
    assert [m["envelope_serial"] for m in missing] == [pvk.serials[2]]
    issued = [d for d in events(ledger, "document.issued") if d["kind"] == "destruction"]
    assert len(issued) == 1 and issued[0]["signed_by"] == [ids["sophie"], ids["walter"]]
    pdfs = list((ledger.path.parent / "ceremony-documents").glob("departure-*/destruction-*.pdf"))
    assert len(pdfs) == 1 and signatures(pdfs[0]).count("Signature is Valid") == 2
    text = "".join(p.extract_text() for p in PdfReader(pdfs[0]).pages)
    assert zmk.serials[2] in text and "Departure of" in text and pvk.serials[2] in text
    # The custody report: ZMK share 2 destroyed (nobody holds it); PVK share 2 still held by who left.
    register = read(ledger)
    assert register.split(pvk.split_id).holders[2][0] == ids["cust2"]
    shares = custody_shares(ledger)
    assert shares[(zmk.split_id, 2)]["envelope_status"] == "destroyed"
    assert shares[(zmk.split_id, 2)]["held_by"] is None
    assert shares[(pvk.split_id, 2)]["envelope_status"] == "not returned"
    assert shares[(pvk.split_id, 2)]["held_by"] == ids["cust2"]
    verify_ledger(ledger.path)
