"""The reports screen: pick a report and its filters, read it in a scrollable view, export it to PDF or CSV.

The same five reports as ``ceremony report`` (custody, custodians, keys, ceremonies, exceptions; DESIGN §6),
built by :mod:`ceremony.reports` and rendered by its text renderer at the width of the view, so what the
screen shows is what ``ceremony report KIND --format text`` prints, wrapped for 80 columns.

The screen asks :mod:`ceremony.reports.export`: :func:`~ceremony.reports.export.read_report` opens the
ledger read-only on a worker thread, once per refresh, and closes it straight after (an auditor needs no
passphrase, nothing is written to the ledger, and a faulty ledger the app did not open can still be read);
:func:`~ceremony.reports.export.write_export` writes the PDF or CSV. "To" works as on the command line.

Exported files go to a folder the reader chooses (by default the folder the program was started from, never
beside the ledger: an auditor's copy may sit on read-only media, and evidence folders should only change on
purpose). A file that already exists is never overwritten: the new one gets a ``-2``, ``-3``… suffix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from ceremony.errors import CeremonyError, ReportError
from ceremony.reports import KINDS
from ceremony.reports.export import read_report, write_export
from ceremony.reports.model import Filters, LedgerFacts, Report, parse_day
from ceremony.reports.render import to_text
from ceremony.tui.screens.base import Body, CeremonyScreen

Clock = Callable[[], datetime]
OFFICER_CSS = Path(__file__).with_name("officer.tcss")
DEFAULT_WIDTH = 74  # the text inside the bordered view at 80 columns, scrollbar included


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReportRequest:
    """What the screen asks for: one report kind, its filters, the text width."""

    kind: str
    filters: Filters
    width: int = DEFAULT_WIDTH


@dataclass(frozen=True)
class ShownReport:
    report: Report
    text: str
    facts: LedgerFacts
    width: int


def load_report(ledger_path: Path, request: ReportRequest, now: datetime) -> ShownReport:
    """The report asked for, read off the ledger file and wrapped to the view (any thread)."""
    report, facts = read_report(ledger_path, request.kind, request.filters, now)
    return ShownReport(report, to_text(report, request.width), facts, request.width)


class ReportsScreen(CeremonyScreen[None]):
    """One screen for every report: kind and filters on top, the text below, export at the bottom."""

    TITLE = "Reports"
    CSS_PATH = OFFICER_CSS
    SCOPED_CSS = False  # one stylesheet shared by the officer and auditor screens (unique ids)
    HELP: ClassVar[str | None] = (
        "Choose a report and, if you want, a key, a person and a date range (YYYY-MM-DD). The report "
        "shows below: Tab to it, then the arrow keys or Page Up/Down scroll it. 'To' shows the ledger as "
        "it stood at the end of that day. Export writes the report as PDF (for paper, page numbers and "
        "the ledger checkpoint on each page; F2) or CSV (F3) into the folder shown. The ledger is only read. "
        "Escape goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f2", "export('pdf')", "Export PDF"),
        Binding("f3", "export('csv')", "Export CSV"),
    ]

    def __init__(
        self,
        ledger_path: Path,
        *,
        clock: Clock = _now,
        export_folder: Path | None = None,
        kind: str = "custody",
    ) -> None:
        super().__init__(id="reports")
        if kind not in KINDS:
            raise ReportError(f"there is no report {kind[:30]!r}; the reports are {', '.join(KINDS)}")
        self.ledger_path = Path(ledger_path)
        self.clock = clock
        self.export_folder = export_folder if export_folder is not None else Path.cwd()
        self.initial_kind = kind
        self.shown: ShownReport | None = None
        self._options_filled = False

    # --- layout -----------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="report-frame"):
            with Horizontal(classes="filter-row"):
                yield Label("Report")
                yield Select(
                    [(kind, kind) for kind in KINDS],
                    value=self.initial_kind,
                    allow_blank=False,
                    compact=True,
                    id="kind",
                )
                yield Label("Key")
                yield Select([], prompt="all keys", compact=True, id="key-filter")
            with Horizontal(classes="filter-row"):
                yield Label("Person")
                yield Select([], prompt="everyone", compact=True, id="person-filter")
                yield Label("From")
                yield Input(placeholder="YYYY-MM-DD", max_length=10, compact=True, id="since")
                yield Label("To")
                yield Input(placeholder="YYYY-MM-DD", max_length=10, compact=True, id="until")
            with Body(id="report-view"):  # a Tab stop only while the report is longer than the view
                yield Static(Text("Reading the ledger…", style="bold yellow"), id="report-text")
            with Horizontal(id="export-row"):
                yield Label("Export to")
                yield Input(str(self.export_folder), compact=True, id="export-folder")
                yield Button("PDF", id="export-pdf", compact=True)
                yield Button("CSV", id="export-csv", compact=True)
            yield Static("", id="report-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.sub_title = f"{self.ledger_path.name} (read-only)"
        self.query_one("#kind", Select).focus()
        self.call_after_refresh(self.refresh_report)  # once laid out: the text is wrapped to the view

    # --- what is asked ----------------------------------------------------------------------------------
    def _status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#report-status", Static).update(text if isinstance(text, Text) else Text(text, style))

    def _dates(self) -> tuple[datetime | None, datetime | None]:
        since = parse_day(self.query_one("#since", Input).value.strip() or None, end=False)
        until = parse_day(self.query_one("#until", Input).value.strip() or None, end=True)
        if since and until and since > until:
            raise ReportError("'From' is after 'To'")
        return since, until

    def request(self) -> ReportRequest:
        """The report and filters as set on screen (raises ReportError on a malformed date)."""
        kind = self.query_one("#kind", Select).value
        key = self.query_one("#key-filter", Select).value
        person = self.query_one("#person-filter", Select).value
        since, until = self._dates()
        view = self.query_one("#report-view", VerticalScroll)
        # leave room for the vertical scrollbar, which appears once a long report is in the view
        width = view.size.width - view.styles.scrollbar_size_vertical
        return ReportRequest(
            kind if isinstance(kind, str) else self.initial_kind,
            Filters(
                key if isinstance(key, str) else None,
                person if isinstance(person, str) else None,
                since,
                until,
            ),
            width if width >= 40 else DEFAULT_WIDTH,
        )

    @on(Select.Changed)
    def _filter_changed(self, event: Select.Changed) -> None:
        event.stop()
        if self._options_filled:
            self.refresh_report()

    @on(Input.Changed, "#since, #until")
    def _date_changed(self, event: Input.Changed) -> None:
        event.stop()
        value = event.value.strip()
        if value and len(value) < 10:
            return  # still typing
        self.refresh_report()

    # --- building (worker thread: the ledger connection lives and dies there) ---------------------------
    def refresh_report(self) -> None:
        try:
            request = self.request()
        except ReportError as error:
            self._status(f"✗ {error}", "bold red")
            return
        self._status("Working: reading the ledger…", "bold yellow")
        self._build(request)

    @work(exclusive=True, group="report", exit_on_error=False)
    async def _build(self, request: ReportRequest) -> None:
        try:
            shown = await asyncio.to_thread(load_report, self.ledger_path, request, self.clock())
        except CeremonyError as error:
            self._status(f"✗ {error}", "bold red")
            return
        self.shown = shown
        if not self._options_filled:
            self._fill_options(shown.facts)
        self.query_one("#report-text", Static).update(Text(shown.text, no_wrap=True, overflow="crop"))
        self.query_one("#report-view", VerticalScroll).scroll_home(animate=False)
        report = shown.report
        self._status(f"{report.title} — as of {report.as_of:%Y-%m-%d}; filters: {report.filters}")

    def _fill_options(self, facts: LedgerFacts) -> None:
        keys = [(f"{k.label} ({k.key_id})", k.key_id) for k in facts.keys.values()]
        people = [(f"{p.name} ({p.employee_id})", p.person_id) for p in facts.people.values()]
        with self.prevent(Select.Changed):
            self.query_one("#key-filter", Select).set_options(keys)
            self.query_one("#person-filter", Select).set_options(sorted(people))
        self._options_filled = True

    # --- export -----------------------------------------------------------------------------------------
    @on(Button.Pressed, "#export-pdf")
    def _export_pdf(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export("pdf")

    @on(Button.Pressed, "#export-csv")
    def _export_csv(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_export("csv")

    def action_export(self, fmt: str) -> None:
        if self.shown is None:
            self._status("✗ There is no report on screen to export yet.", "bold red")
            return
        folder = Path(self.query_one("#export-folder", Input).value.strip() or ".").expanduser()
        self._status(f"Working: writing the {fmt.upper()}…", "bold yellow")
        self._export(self.shown.report, fmt, folder)

    @work(exclusive=True, group="export", exit_on_error=False)
    async def _export(self, report: Report, fmt: str, folder: Path) -> None:
        try:
            target = await asyncio.to_thread(write_export, report, fmt, folder)
        except CeremonyError as error:
            self._status(f"✗ {error}", "bold red")
            return
        self.last_export = target
        self._status(Text.from_markup(f"✓ Written: [b]{escape(str(target))}[/b]", style="green"))

    last_export: Path | None = None

    def action_back(self) -> None:
        self.dismiss(None)
