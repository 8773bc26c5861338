"""Generation step 1: the air-gap preflight, its findings as a table, and whether the ceremony may go on.

An insecure or unknown finding that no active exception covers blocks the ceremony (PCI DSS 1.2.6): on a
production ledger the only ways on are fixing it and running the checks again, or a security officer and a
witness recording an exception ("Record an exception…", :mod:`ceremony.tui.screens.preflight_exception`,
or ``ceremony exception``). On a rehearsal ledger the operator may record the findings
and continue; the flow records that choice with the evidence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker, WorkerState

from ceremony.errors import CeremonyError
from ceremony.flows.exceptions import ledger_exceptions
from ceremony.flows.turns import Next, Turn
from ceremony.preflight import PreflightReport, covering
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.frame import StepScreen
from ceremony.tui.screens.gen_session import STEP_PREFLIGHT, record_preflight
from ceremony.tui.widgets.preflight_findings import fill_findings, verdict_text


class PreflightScreen(StepScreen):
    TITLE = "Air-gap preflight"
    HELP: ClassVar[str | None] = (
        "The laptop checks that it is cut off from every network, has no swap or core dumps, and runs "
        "unmodified code. A finding not covered by a security officer's exception blocks the ceremony "
        "(PCI DSS 1.2.6). On a rehearsal ledger you may record the findings and continue."
    )
    STEP = STEP_PREFLIGHT

    def compose_body(self) -> ComposeResult:
        yield Static("Working: running the air-gap checks…", id="verdict")
        table: DataTable[Text] = DataTable(id="findings", cursor_type="row", zebra_stripes=True)
        table.add_columns("Status", "Check", "Finding")
        table.can_focus = False  # a Tab stop once it has findings: an empty table shows no focus (issue 14)
        yield table
        with Horizontal(id="actions"):
            yield Button("Continue", id="continue", variant="primary", disabled=True)
            yield Button("Record and continue (rehearsal only)", id="override", variant="warning")
            yield Button("Record an exception…", id="except", variant="warning")
            yield Button("Run again", id="again")
            yield Button("Cancel", id="cancel")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#override", Button).display = False
        self.query_one("#except", Button).display = False
        self.run_checks()

    @on(Button.Pressed, "#again")
    def run_checks(self) -> None:
        self.query_one("#continue", Button).disabled = True
        self.query_one("#except", Button).display = False
        self.query_one("#verdict", Static).update(Text("Working: running the air-gap checks…", "bold yellow"))
        runner = self.session.run_preflight
        self.run_worker(lambda: runner(datetime.now(UTC)), thread=True, exit_on_error=False, name="preflight")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "preflight" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            if not isinstance(error, CeremonyError):
                raise error if error is not None else RuntimeError("preflight failed")
            self.refusal(error)
            return
        report = event.worker.result
        assert isinstance(report, PreflightReport)
        self.show(report)

    def show(self, report: PreflightReport) -> None:
        coverage = covering(report.findings, ledger_exceptions(self.session.ledger), report.taken_at)
        self.session.report, self.session.coverage = report, coverage
        table = self.query_one("#findings", DataTable)
        fill_findings(table, report, coverage)
        table.can_focus = table.row_count > 0
        self.query_one("#verdict", Static).update(verdict_text(coverage, self.session.rehearsal))
        cont = self.query_one("#continue", Button)
        override = self.query_one("#override", Button)
        self.query_one("#except", Button).display = coverage.blocked and not self.session.rehearsal
        if not coverage.blocked:
            cont.disabled = False
            override.display = False
            cont.focus()
        elif self.session.rehearsal:
            override.display = True
            override.focus()
        else:
            self.query_one("#again", Button).focus()

    @on(Button.Pressed, "#except")
    def record_exception(self) -> None:
        coverage = self.session.coverage
        if coverage is None or not coverage.blocked or self.session.rehearsal:
            return
        data = (self.session.ledger, coverage.uncovered)
        self.post_message(Open(Place.PREFLIGHT_EXCEPTION, data, self._exception_done))

    def _exception_done(self, recorded: bool | None) -> None:
        if recorded:
            self.run_checks()  # the new exception covers what was ticked: check again

    @on(Button.Pressed, "#continue")
    def proceed(self) -> None:
        self.session.rehearsal_override = False
        self._next()

    @on(Button.Pressed, "#override")
    def override(self) -> None:
        if not self.session.rehearsal:
            return
        self.session.rehearsal_override = True
        self._next()

    def _next(self) -> None:
        if self.session.ceremony is not None:
            # A resumed ceremony: its administrator and witness are already present.
            try:
                record_preflight(self.session)
            except CeremonyError as error:
                self.refusal(error)
                return
            self.advance(Next(Turn.KEY_DETAILS))
            return
        self.session.preflight_accepted = True
        self.advance()  # the flow: administrator and witness next

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self.session.cancel("preflight")
        self.end_flow()
