"""The auditor view (``ceremony --read-only``): a ledger, usually a copy, opened without the power to
change it.

No passphrase is asked and nothing is written to the ledger: every read goes through
:meth:`Ledger.open_for_reading` on a worker thread (``verify_ledger``, then each report) and the connection
is closed at once; this app never holds a writable connection and offers no screen that records anything.
(The one write SQLite itself may do: if the file carries the journal of a write interrupted by a crash,
``open_for_reading`` first lets SQLite roll it back, as any program opening it would; give the auditor a
clean copy.)

The first thing shown is ``verify``'s result (DESIGN §5): the intact summary with the ledger's checkpoint now
and each ended ceremony's closing checkpoint — the same value its close-out screen showed and its minutes
print, to compare with the paper — or the first bad event in red, so no report is read before the auditor
knows whether the ledger can be trusted. The reports
(:class:`~ceremony.tui.screens.officer.reports.ReportsScreen`) follow on a ledger that verifies; a faulty one
gets none (each report replays the checked ledger and would stop at the same fault), only the fault and what
to ask for next. A folder or a missing file is named as such, with the command to use instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from ceremony.errors import CeremonyError, LedgerIntegrityError, LedgerNotFoundError
from ceremony.ledger.checkpoint import Checkpoint
from ceremony.ledger.export import LEDGER_NAME
from ceremony.ledger.store import Ledger
from ceremony.ledger.verify import VerifyResult, verify_ledger
from ceremony.reports.model import count_of
from ceremony.tui.app import CeremonyApp, run_app
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.officer.reports import OFFICER_CSS

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Closing:
    """One ended ceremony and its closing checkpoint (the one its minutes print)."""

    kind: str
    ceremony_id: str
    outcome: str  # "closed" | "voided"
    end_seq: int
    checkpoint: Checkpoint


def closings(ledger_path: Path) -> list[Closing]:
    """Every ended ceremony of the ledger with :func:`~ceremony.flows.paperwork.closing_checkpoint_of`: the
    value its close-out screen showed and its minutes print (issue 14), in ledger order. Read-only."""
    from ceremony.flows import paperwork  # the documents stack: loaded on the worker thread only

    kinds: dict[str, str] = {}
    ended: dict[str, tuple[str, int]] = {}
    with Ledger.open_for_reading(ledger_path) as ledger:
        for event in ledger.events():
            ceremony_id = event.payload.get("ceremony_id")
            if not isinstance(ceremony_id, str):
                continue
            if event.type == "ceremony.started":
                kinds[ceremony_id] = str(event.payload.get("kind") or "ceremony")
            elif event.type in ("ceremony.closed", "ceremony.voided"):
                ended[ceremony_id] = (event.type.removeprefix("ceremony."), event.seq)
        return [
            Closing(
                kinds.get(cid, "ceremony"), cid, outcome, seq, paperwork.closing_checkpoint_of(ledger, cid)
            )
            for cid, (outcome, seq) in sorted(ended.items(), key=lambda item: item[1][1])
        ]


def intact_text(result: VerifyResult, ended: Sequence[Closing] = ()) -> Text:
    text = Text()
    text.append("✓ LEDGER INTACT\n", style="bold green")
    text.append(
        f"Every hash link and signature checked: {count_of(result.events, 'event')}, "
        f"{count_of(result.attestations, 'signature')}; "
        f"{count_of(result.ceremonies, 'ceremony', 'ceremonies')}, "
        f"{count_of(result.keys, 'key')}, {count_of(result.splits, 'split')}, "
        f"{count_of(result.participants, 'participant')} ({result.active_participants} active).\n"
    )
    checkpoint = result.checkpoint()
    if checkpoint is not None:
        text.append("The whole ledger now (newer than any paper):\n", style="bold")
        text.append(checkpoint.printed() + "\n")
    if ended:
        text.append("Closing checkpoint of each ceremony (compare with its signed minutes):\n", style="bold")
        for closing in ended:
            text.append(f"{closing.kind} {closing.ceremony_id}, {closing.outcome} at #{closing.end_seq}:\n")
            text.append(closing.checkpoint.printed() + "\n", style="bold")
    if result.flagged_keys:
        text.append(
            f"Keys that must be replaced (a custodian who knew them left, PCI DSS 3.7.5): "
            f"{', '.join(result.flagged_keys)}",
            style="bold yellow",
        )
    return text


REHEARSAL_BANNER = "REHEARSAL ledger (TEST keys only): not a production ledger"


def ledger_is_rehearsal(ledger_path: Path) -> bool | None:
    """Whether the file says it is a rehearsal ledger (read-only; None: it cannot be read). ``verify``'s
    result then gives the signed genesis's word, which is what the banner keeps."""
    try:
        with Ledger.open_for_reading(ledger_path) as ledger:
            return ledger.info.rehearsal
    except CeremonyError:
        return None


def banner_text(ledger_path: Path, rehearsal: bool | None) -> Text:
    """The top of the auditor view: read-only, which file, and — as the main menu says it — whether the
    ledger is a rehearsal (issue 15: a rehearsal ledger never looks like production to the auditor)."""
    text = Text.from_markup(
        f"[b]READ-ONLY[/b] auditor view of [b]{escape(str(ledger_path))}[/b]\n"
        "No passphrase is needed and nothing is written to this ledger."
    )
    if rehearsal:
        text.append("\n" + REHEARSAL_BANNER, style="bold reverse yellow")
    elif rehearsal is not None:
        text.append("\nProduction ledger", style="bold")
    return text


def _missing(path: Path) -> str:
    """The CLI's words for a ledger that is not there: how one is founded, where the default lives."""
    from ceremony.commands import existing_ledger

    try:
        existing_ledger(path)
    except CeremonyError as error:
        return str(error)
    return f"There is no ledger at {path}."


def fault_text(error: CeremonyError, ledger_path: Path | None = None) -> Text:
    """What the auditor is told when the ledger cannot be trusted or read, with the next step (issue 15)."""
    seq = getattr(error, "seq", None)
    where = f" at event #{seq}" if seq else ""
    text = Text()
    if isinstance(error, LedgerNotFoundError):
        text.append("✗ NO LEDGER HERE\n", style="bold red")
        text.append(_missing(ledger_path) if ledger_path is not None else str(error), style="red")
        return text
    if ledger_path is not None and ledger_path.is_dir():
        text.append("✗ A FOLDER, NOT A LEDGER FILE\n", style="bold red")
        text.append(f"{ledger_path} is a folder; the ledger is one file.\n", style="red")
        inside = ledger_path / LEDGER_NAME
        if inside.is_file():
            text.append(
                f"It looks like an exported bundle: check it with `ceremony verify --bundle {ledger_path}`, "
                f"then open its ledger copy: `ceremony --read-only --ledger {inside}`.",
                style="bold",
            )
        else:
            text.append(f"Give the ledger file: `ceremony --read-only --ledger {ledger_path}/FILE`.", "bold")
        return text
    text.append(f"✗ LEDGER FAULT{where}\n", style="bold red")
    text.append(str(error) + "\n", style="red")
    if isinstance(error, LedgerIntegrityError):
        text.append(
            "The ledger was changed after it was written, or damaged. No report is shown: reports are "
            "built only from a ledger that verifies. Ask for the copy that matches the checkpoints of the "
            "signed minutes and the ledger anchor, and check it with `ceremony verify --checkpoint … "
            "--anchor …`.",
            style="bold red",
        )
    return text


class AuditorHomeScreen(CeremonyScreen[None]):
    """Verification result first, then the way to the reports."""

    TITLE = "Auditor view (read-only)"
    CSS_PATH = OFFICER_CSS
    SCOPED_CSS = False  # one stylesheet shared by the officer and auditor screens (unique ids)
    HELP: ClassVar[str | None] = (
        "The ledger is open read-only: no passphrase, nothing is written. First, every event, hash chain "
        "link and signature is checked, and the result is shown here (a fault in red names the first bad "
        "event). Then 'Reports' (or r) shows custody, custodians, keys, ceremonies and exceptions. q leaves."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reports", "Reports"),
        Binding("q", "leave", "Quit"),
    ]

    def __init__(self, ledger_path: Path, *, clock: Clock = _now, export_folder: Path | None = None) -> None:
        super().__init__(id="auditor-home")
        self.ledger_path = Path(ledger_path)
        self.clock = clock
        self.export_folder = export_folder
        self.result: VerifyResult | None = None
        self.closings: list[Closing] = []
        self.fault: CeremonyError | None = None
        self.verified = False
        self.rehearsal: bool | None = None  # None: not read yet, or unreadable

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="auditor-frame"):
            yield Static(banner_text(self.ledger_path, None), id="auditor-banner")
            yield Static(
                Text("Verifying every event, hash and signature…", "bold yellow"), id="verify-result"
            )
            with Horizontal(id="auditor-actions"):
                yield Button("Reports", id="reports", variant="primary", compact=True, disabled=True)
                yield Button("Quit", id="quit", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = self.ledger_path.name
        self.query_one("#quit", Button).focus()
        self._verify()

    @work(exclusive=True, group="verify", exit_on_error=False)
    async def _verify(self) -> None:
        box = self.query_one("#verify-result", Static)
        reports = self.query_one("#reports", Button)
        ended: list[Closing] = []
        # The kind first, from the file, shown even on a faulty ledger; verify's (the genesis's) then wins.
        self._show_kind(await asyncio.to_thread(ledger_is_rehearsal, self.ledger_path))
        try:
            self.result = await asyncio.to_thread(verify_ledger, self.ledger_path)
            self._show_kind(getattr(self.result, "rehearsal", self.rehearsal))
            ended = await asyncio.to_thread(closings, self.ledger_path)
        except CeremonyError as error:
            # Tampered or damaged (the reports replay the checked ledger and would stop at the same fault),
            # not found, a folder, not a ledger: nothing to report on, and the screen says what to do next.
            self.fault = error
            box.update(fault_text(error, self.ledger_path))
            box.add_class("-fault")
        else:
            self.closings = ended
            box.update(intact_text(self.result, ended))
            reports.disabled = False
        self.verified = True
        if not reports.disabled:
            reports.focus()

    def _show_kind(self, rehearsal: bool | None) -> None:
        self.rehearsal = rehearsal
        banner = self.query_one("#auditor-banner", Static)
        banner.update(banner_text(self.ledger_path, rehearsal))
        banner.set_class(bool(rehearsal), "-rehearsal")
        self.sub_title = self.ledger_path.name + (" — REHEARSAL" if rehearsal else "")

    @on(Button.Pressed, "#reports")
    def _reports_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_reports()

    @on(Button.Pressed, "#quit")
    def _quit_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_leave()

    def action_reports(self) -> None:
        if self.query_one("#reports", Button).disabled:
            return
        self.post_message(Open(Place.REPORTS, (self.ledger_path, self.clock, self.export_folder)))

    def action_leave(self) -> None:
        # Nothing is in progress in a read-only view: a plain quit, exit code 0.
        self.app.exit(0, return_code=0)


class AuditorApp(CeremonyApp):
    """The auditor's app on one ledger file; see the module docstring."""

    TITLE = "ceremony — auditor"
    # The default screen's own CSS_PATH is not loaded by Textual; the app loads the shared sheet instead.
    CSS_PATH = [CeremonyApp.CSS_PATH, OFFICER_CSS]  # type: ignore[assignment]  # noqa: RUF012
    SCREEN_GUIDE: ClassVar[list[tuple[str, str]]] = [
        ("Auditor view", "verify's result first: intact with its checkpoint, or the first bad event in red"),
        ("Reports", "custody, custodians, keys, ceremonies, exceptions; filters; export to PDF or CSV"),
    ]

    def __init__(self, ledger_path: Path, *, clock: Clock = _now, export_folder: Path | None = None) -> None:
        super().__init__(ledger=Path(ledger_path))
        self.ledger_path = Path(ledger_path)
        self.clock = clock
        self.export_folder = export_folder

    def home_screen(self) -> Screen[Any]:
        return AuditorHomeScreen(self.ledger_path, clock=self.clock, export_folder=self.export_folder)


def run_auditor_tui(ledger_path: Path) -> int:
    """Entry point for ``ceremony --read-only``: the auditor view on ``ledger_path``; the exit code."""
    return run_app(AuditorApp(Path(ledger_path)))
