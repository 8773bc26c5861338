"""One closing checkpoint per ceremony (issue 14 part 2, item 2): the close-out screen, the signed minutes
(read back from the PDF with pypdf) and the ``ceremony.closed`` event show the same checkpoint, printed in
groups of eight hex digits that are never broken. A whole generation ceremony is driven with Pilot on a real
rehearsal ledger."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from textual.widgets import Button, Input, Static

from ceremony.flows import paperwork
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.store import Ledger
from ceremony.reports import build_report
from ceremony.reports.model import Filters, read_facts
from ceremony.tui.screens.auditor.auditor import AuditorApp, AuditorHomeScreen
from ceremony.tui.screens.main_menu import MainMenuScreen
from tests.tui.gen_cast import make_ledger, type_into, wait_for
from tests.tui.test_generation_screens import (
    app_for,
    distribute,
    generate,
    plan_split,
    through_auth,
    through_key_details,
    through_preflight,
    verify_all,
)

_PRINTED = re.compile(r"CEREMONY-CHECKPOINT\s+V1\s+\S+\s+\d+(?:\s+[0-9A-F]{8}){16}")


@pytest.fixture
def ledger_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "ledger.sqlite3"
    return path, make_ledger(path)


def _printed_checkpoint(text: str) -> tuple[Checkpoint, str]:
    """The one checkpoint printed in ``text`` (groups of 8 hex digits) and that printed text."""
    found = _PRINTED.findall(text)
    assert len(found) == 1, text
    return Checkpoint.parse(found[0]), found[0]


async def test_close_out_screen_minutes_and_ledger_show_the_same_checkpoint(ledger_file) -> None:
    path, ids = ledger_file
    app = app_for(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await through_preflight(pilot, app)
        await through_auth(pilot, app, ids)
        await through_key_details(pilot, app)
        await plan_split(pilot, app, [ids["cust1"], ids["cust2"], ids["cust3"]])
        await generate(pilot, app)
        shares = await distribute(pilot, app, ["cust1", "cust2", "cust3"], ["CP-1", "CP-2", "CP-3"])
        await verify_all(pilot, app, shares)
        screen = app.screen
        await type_into(pilot, screen.query_one("#location", Input), "Training room")
        await pilot.press("enter")
        await pilot.press("enter")  # wipe and close
        await wait_for(pilot, lambda: screen.query_one("#home", Button).display, timeout=20)
        shown = str(screen.query_one("#checkpoint", Static).render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainMenuScreen))
    on_screen, printed_on_screen = _printed_checkpoint(shown)
    # Three lines on screen: the name and size, then each hash as eight whole groups.
    assert [len(line.split()) for line in printed_on_screen.splitlines()] == [4, 8, 8]

    with Ledger.open(path, read_only=True) as ledger:
        closed = next(e for e in ledger.events() if e.type == "ceremony.closed")
        ceremony_id = str(closed.payload["ceremony_id"])
        recorded = Checkpoint.parse(str(closed.payload["checkpoint"]))
        assert paperwork.closing_checkpoint_of(ledger, ceremony_id) == recorded
        assert recorded == ledger.checkpoint(recorded.size)  # it is this ledger's, at that size
    minutes = path.parent / "ceremony-documents" / ceremony_id / f"minutes-{ceremony_id}.pdf"
    pdf_text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(minutes.read_bytes())).pages)
    in_minutes, printed_in_pdf = _printed_checkpoint(pdf_text)

    assert on_screen == in_minutes == recorded
    assert " ".join(printed_on_screen.split()) == " ".join(printed_in_pdf.split())
    for digest in (recorded.head_hash, recorded.merkle_root):  # every group whole in the PDF text
        for i in range(0, 64, 8):
            assert re.search(rf"\b{digest.hex().upper()[i : i + 8]}\b", pdf_text)

    # The auditor view lists the ceremony with the same closing checkpoint, the same text.
    auditor = AuditorApp(path)
    async with auditor.run_test(size=(100, 40)) as pilot:
        await auditor.workers.wait_for_complete()
        await pilot.pause()
        home = auditor.screen
        assert isinstance(home, AuditorHomeScreen)
        listed = {c.ceremony_id: c.checkpoint for c in home.closings}
        verified = str(home.query_one("#verify-result", Static).render())
    assert listed == {ceremony_id: recorded}
    assert recorded.printed() in verified
    assert f"generation {ceremony_id}, closed at #{closed.seq}" in verified

    # ... and the ceremonies report (the auditor's list of ceremonies) prints it too.
    with Ledger.open_for_reading(path) as ledger:
        report = build_report("ceremonies", read_facts(ledger), Filters(), datetime.now(UTC))
    (section,) = [s for s in report.sections if ceremony_id in s.heading]
    assert Checkpoint.parse(dict(section.fields)["Closing checkpoint"]) == recorded
