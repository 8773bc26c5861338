"""The air-gap preflight of a recovery, re-share or retirement — as generation runs it (DESIGN §4.1).

:class:`PreflightPanel` runs the checks (in a worker thread), shows the findings as a table and says whether
the ceremony may go on, exactly as generation's preflight screen does: an insecure or unknown finding that
no active exception covers blocks (PCI DSS 1.2.6) — on a production ledger the only ways on are fixing it
and running the checks again, or a security officer and a witness recording an exception ("Record an
exception…", :mod:`ceremony.tui.screens.preflight_exception`); on a rehearsal ledger the
operator may record the findings and continue. The panel writes nothing: the flow records the preflight
(and refuses an uncovered finding itself) once administrator and witness have started the ceremony.

:class:`LifecyclePreflightScreen` is the recovery / re-share step between the plan and the administrator
and witness; the retirement screen embeds the panel.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Static
from textual.worker import Worker, WorkerState

from ceremony.errors import CeremonyError
from ceremony.flows.exceptions import ledger_exceptions
from ceremony.preflight import PreflightReport, covering
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_PREFLIGHT, PreflightGate
from ceremony.tui.widgets.preflight_findings import fill_findings, verdict_text


class PreflightPanel(Vertical):
    """Runs the preflight on mount and on "Run again"; posts :class:`PreflightPanel.Accepted` when the
    operator goes on (Continue when clear; "Record and continue" on a rehearsal ledger only)."""

    DEFAULT_CSS = """
    PreflightPanel { height: auto; }
    PreflightPanel #findings { height: auto; max-height: 9; }
    PreflightPanel #preflight-actions {
        layout: grid; grid-size: 2; grid-gutter: 1 1; grid-rows: 1; height: auto; margin-top: 1;
    }
    PreflightPanel #preflight-actions Button {
        width: 1fr; height: 1; min-width: 0; border: none; line-pad: 1;
    }
    PreflightPanel #preflight-continue { column-span: 2; }
    """

    class Accepted(Message):
        """The operator went on from the preflight (``override``: findings recorded, rehearsal only)."""

        def __init__(self, override: bool) -> None:
            super().__init__()
            self.override = override

    def __init__(
        self, gate: PreflightGate, *, continue_label: str = "Continue", id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.gate = gate
        self.continue_label = continue_label

    def compose(self) -> ComposeResult:
        yield Static("Working: running the air-gap checks…", id="verdict")
        table: DataTable[Text] = DataTable(id="findings", cursor_type="row", zebra_stripes=True)
        table.add_columns("Status", "Check", "Finding")
        table.can_focus = False  # a Tab stop once it has findings: an empty table shows no focus (issue 14)
        yield table
        with Horizontal(id="preflight-actions"):
            yield Button(self.continue_label, id="preflight-continue", variant="primary", disabled=True)
            yield Button("Record and continue (rehearsal only)", id="override", variant="warning")
            yield Button("Record an exception…", id="except", variant="warning")
            yield Button("Run again", id="again")

    def on_mount(self) -> None:
        self.query_one("#override", Button).display = False
        self.query_one("#except", Button).display = False
        self.run_checks()

    @on(Button.Pressed, "#again")
    def run_checks(self) -> None:
        self.gate.accepted = False
        self.query_one("#preflight-continue", Button).disabled = True
        self.query_one("#override", Button).display = False
        self.query_one("#except", Button).display = False
        self.query_one("#verdict", Static).update(Text("Working: running the air-gap checks…", "bold yellow"))
        runner = self.gate.run
        self.run_worker(lambda: runner(datetime.now(UTC)), thread=True, exit_on_error=False, name="preflight")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "preflight" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            if not isinstance(error, CeremonyError):
                raise error if error is not None else RuntimeError("preflight failed")
            self.query_one("#verdict", Static).update(refusal_text(error))
            return
        report = event.worker.result
        assert isinstance(report, PreflightReport)
        self.show(report)

    def show(self, report: PreflightReport) -> None:
        gate = self.gate
        coverage = covering(report.findings, ledger_exceptions(gate.ledger), report.taken_at)
        gate.report, gate.coverage = report, coverage
        table = self.query_one("#findings", DataTable)
        fill_findings(table, report, coverage)
        table.can_focus = table.row_count > 0
        self.query_one("#verdict", Static).update(verdict_text(coverage, gate.rehearsal))
        cont = self.query_one("#preflight-continue", Button)
        override = self.query_one("#override", Button)
        self.query_one("#except", Button).display = coverage.blocked and not gate.rehearsal
        if not coverage.blocked:
            cont.disabled = False
            override.display = False
            cont.focus()
        elif gate.rehearsal:
            override.display = True
            override.focus()
        else:
            self.query_one("#again", Button).focus()

    @property
    def blocked(self) -> bool:
        coverage = self.gate.coverage
        return coverage is None or coverage.blocked

    @on(Button.Pressed, "#except")
    def _record_exception(self, event: Button.Pressed) -> None:
        event.stop()
        coverage = self.gate.coverage
        if coverage is None or not coverage.blocked or self.gate.rehearsal:
            return
        data = (self.gate.ledger, coverage.uncovered)
        self.post_message(Open(Place.PREFLIGHT_EXCEPTION, data, self._exception_done))

    def _exception_done(self, recorded: bool | None) -> None:
        if recorded:
            self.run_checks()  # the new exception covers what was ticked: check again

    @on(Button.Pressed, "#preflight-continue")
    def _continue(self, event: Button.Pressed) -> None:
        event.stop()
        if self.blocked:
            return
        self._accept(False)

    @on(Button.Pressed, "#override")
    def _override(self, event: Button.Pressed) -> None:
        event.stop()
        if not self.gate.rehearsal or self.gate.coverage is None:
            return  # never on a production ledger (PCI DSS 1.2.6)
        self._accept(True)

    def _accept(self, override: bool) -> None:
        self.gate.override = override
        self.gate.accepted = True
        self.post_message(self.Accepted(override))


class LifecyclePreflightScreen(LifecycleScreen):
    TITLE = "Air-gap preflight"
    HELP: ClassVar[str | None] = (
        "Before any envelope is opened the laptop checks, as at generation, that it is cut off from every "
        "network, has no swap or core dumps, and runs unmodified code. A finding not covered by a security "
        "officer's exception blocks the ceremony (PCI DSS 1.2.6). On a rehearsal ledger you may record the "
        "findings and continue. The result is recorded once administrator and witness start the ceremony."
    )
    STEP = STEP_PREFLIGHT

    def compose_body(self) -> ComposeResult:
        yield PreflightPanel(self.session.preflight, continue_label="Continue: administrator and witness")
        yield Button("Cancel", id="cancel")
        yield Static("", id="status")

    @on(PreflightPanel.Accepted)
    def proceed(self) -> None:
        self.advance()  # the flow: administrator and witness next

    @on(Button.Pressed, "#cancel")
    def cancel(self) -> None:
        self.session.release()  # nothing started yet: nothing to void
        self.end_flow()

    def on_cancel_requested(self) -> None:
        self.session.release()
