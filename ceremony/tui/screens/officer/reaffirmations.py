"""Annual reaffirmation of key custodians (PCI DSS 4.0.1 Requirement 3.7.8), for the security officer.

:class:`ReaffirmationsScreen` lists every active custodian as overdue, due within 30 days, never
acknowledged, or current (most urgent first, from :func:`ceremony.flows.reaffirmation.standings`).
Enter on a custodian opens :class:`RecordReaffirmationScreen`, done in the custodian's presence:

1. the custodian reads the responsibilities text (``forms/reaffirmation.md``, from the flow's
   ``wording()``; its SHA-256 is what the ledger records as read);
2. the custodian authenticates with their passphrase: their key signs;
3. a security officer (another person: dual control) authenticates and co-signs;
4. the flow records ``custodian.reaffirmed`` signed by both, renders the form, both sign the PDF (PAdES)
   and its SHA-256 goes into the ledger; the screen writes the PDF where the officer chose.

Where the PDF goes: by default :func:`ceremony.flows.reaffirmation.default_form_path`, which the officer
may change before signing. If the file cannot be written the event is already recorded: the screen keeps
the signed PDF and lets the officer try another path. If the form cannot be made after the event was
recorded, 'Sign and record' finishes that same reaffirmation (nothing is recorded twice).

Threads: the screen asks :class:`~ceremony.flows.reaffirmation.Reaffirmation` and renders what it
answers. The app's ledger connection stays on the main thread (the flow's ``begin`` and ``settle``, and
authentication in :class:`~ceremony.tui.widgets.auth_form.AuthForm`); rendering the form runs in a thread
and pyHanko's signing is awaited on Textual's loop (``async_finish``); the file is written in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.markdown import Markdown
from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.reaffirmation import (
    CustodianStanding,
    Reaffirmation,
    ReaffirmationDraft,
    ReaffirmationRecord,
    Wording,
    write_form,
)
from ceremony.ledger.store import Ledger
from ceremony.policy.reaffirmation import DEFAULT_POLICY, ReaffirmationPolicy, Standing
from ceremony.reports.model import show_date
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.officer.reports import OFFICER_CSS
from ceremony.tui.screens.secret_screen import SecretScreen
from ceremony.tui.widgets.auth_form import AuthForm

Clock = Callable[[], datetime]

STEPS = ("Read the responsibilities", "Custodian signs", "Security officer co-signs", "Signed form")

STATUS_TEXT: dict[Standing, tuple[str, str]] = {
    Standing.OVERDUE: ("OVERDUE", "bold red"),
    Standing.DUE: ("due ≤ 30 days", "bold yellow"),
    Standing.NONE: ("never acknowledged", "dim"),
    Standing.CURRENT: ("current", "green"),
}


def _now() -> datetime:
    return datetime.now(UTC)


# --- the list -----------------------------------------------------------------------------------------
class ReaffirmationsScreen(CeremonyScreen[None]):
    """Every active custodian's reaffirmation standing; Enter records one."""

    TITLE = "Reaffirmations"
    CSS_PATH = OFFICER_CSS
    SCOPED_CSS = False  # one stylesheet shared by the officer and auditor screens (unique ids)
    HELP: ClassVar[str | None] = (
        "Each key custodian reaffirms their responsibilities every year (PCI DSS 3.7.8). Overdue custodians "
        "come first, in red; they are flagged on every screen that would give them a share. Pick a "
        "custodian with the arrow keys and press Enter (or r) to record a reaffirmation with them present. "
        "Escape goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "record", "Record reaffirmation"),
    ]

    def __init__(
        self,
        ledger: Ledger,
        *,
        clock: Clock = _now,
        policy: ReaffirmationPolicy = DEFAULT_POLICY,
        forms_dir: Path | None = None,
    ) -> None:
        super().__init__(id="reaffirmations")
        self.ledger = ledger
        self.clock = clock
        self.policy = policy
        self.forms_dir = forms_dir
        self.flow = Reaffirmation(ledger, clock=clock, policy=policy, forms_dir=forms_dir)
        self.standings: list[CustodianStanding] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="reaffirm-frame"):
            yield Static("", id="reaffirm-summary")
            yield DataTable(id="standings", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="reaffirm-actions"):
                yield Button("Record reaffirmation", id="record", variant="primary", compact=True)
                yield Button("Back", id="back", compact=True)
            yield Static("", id="reaffirm-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one(DataTable)
        table.add_columns("Status", "Custodian", "Employee", "Last signed", "Due")
        self.reload()
        table.focus()

    def reload(self) -> None:
        """Read the standings again (after a reaffirmation was recorded)."""
        self.standings = self.flow.standings()
        table = self.query_one(DataTable)
        table.clear()
        for s in self.standings:
            label, style = STATUS_TEXT[s.status]
            kind = {"acknowledgement": "ack.", "reaffirmation": "reaff."}.get(s.last_kind, s.last_kind)
            last = f"{show_date(s.last_affirmed)} {kind}" if s.last_affirmed else "—"
            table.add_row(
                Text(label, style=style),
                s.name,
                s.employee_id,
                last,
                Text(show_date(s.due) or "—", style=style if s.status is Standing.OVERDUE else ""),
                key=s.person_id,
            )
        counts = {status: sum(1 for s in self.standings if s.status is status) for status in Standing}
        summary = Text(f"As of {show_date(self.clock())}: ")
        summary.append(f"{counts[Standing.OVERDUE]} overdue", style=STATUS_TEXT[Standing.OVERDUE][1])
        summary.append(", ")
        summary.append(f"{counts[Standing.DUE]} due within 30 days", style=STATUS_TEXT[Standing.DUE][1])
        summary.append(f", {counts[Standing.CURRENT]} current")
        if counts[Standing.NONE]:
            summary.append(f", {counts[Standing.NONE]} never acknowledged")
        summary.append(f" (every {self.policy.period_days} days, PCI DSS 3.7.8)", style="dim")
        self.query_one("#reaffirm-summary", Static).update(summary)

    def selected(self) -> CustodianStanding | None:
        table = self.query_one(DataTable)
        if not self.standings or table.cursor_row < 0:
            return None
        return self.standings[min(table.cursor_row, len(self.standings) - 1)]

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_record()

    @on(Button.Pressed, "#record")
    def _record_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_record()

    @on(Button.Pressed, "#back")
    def _back_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def action_record(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.query_one("#reaffirm-status", Static).update(Text("No custodian to choose.", "bold red"))
            return
        data = (self.ledger, chosen, self.clock, self.policy, self.forms_dir)
        self.post_message(Open(Place.RECORD_REAFFIRMATION, data, self._recorded))

    def _recorded(self, record: ReaffirmationRecord | None) -> None:
        self.reload()
        if record is not None:
            self.query_one("#reaffirm-status", Static).update(
                Text(f"✓ Reaffirmation recorded at ledger event #{record.event_seq}.", style="bold green")
            )
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        self.dismiss(None)


# --- recording one ------------------------------------------------------------------------------------
class RecordReaffirmationScreen(SecretScreen[ReaffirmationRecord | None]):
    """Record one custodian's reaffirmation in their presence; see the module docstring."""

    TITLE = "Record a reaffirmation"
    CSS_PATH = OFFICER_CSS
    SCOPED_CSS = False  # one stylesheet shared by the officer and auditor screens (unique ids)
    HELP: ClassVar[str | None] = (
        "With the custodian present: they read their responsibilities (arrow keys or Page Up/Down scroll), "
        "then type their passphrase to sign. A security officer, another person, types theirs to co-sign. "
        "The reaffirmation is recorded in the ledger signed by both, and the signed form (PDF) is written "
        "to the path shown, which the officer may change before signing. Escape abandons (nothing is "
        "recorded until 'Sign and record')."
    )
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "abandon", "Abandon")]

    def __init__(
        self,
        ledger: Ledger,
        custodian: CustodianStanding,
        *,
        clock: Clock = _now,
        policy: ReaffirmationPolicy = DEFAULT_POLICY,
        forms_dir: Path | None = None,
    ) -> None:
        super().__init__(steps=STEPS, current_step=0, id="record-reaffirmation")
        self.ledger = ledger
        self.standing = custodian
        self.clock = clock
        self.policy = policy
        self.forms_dir = forms_dir
        self.flow = Reaffirmation(ledger, clock=clock, policy=policy, forms_dir=forms_dir)
        self.presence = Presence(ledger)
        self.custodian: PresentPerson | None = None
        self.officer: PresentPerson | None = None
        self.draft: ReaffirmationDraft | None = None  # recorded, the form not yet signed
        self.record: ReaffirmationRecord | None = None
        self.written: Path | None = None
        self._shown: Wording | None = None
        self.wording_markdown = ""  # what the custodian reads (the form's words, laid out for the screen)

    # --- layout -----------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        signers = self.flow.signers(self.standing.person_id)
        s = self.standing
        due = f"due {show_date(s.due)}" if s.due else "no acknowledgement yet"
        yield Header()
        with Vertical(id="record-frame"):
            yield Static(
                Text.assemble(
                    ("Reaffirmation of ", ""),
                    (f"{s.name} ({s.employee_id})", "bold"),
                    (f" — {STATUS_TEXT[s.status][0]}, {due}", STATUS_TEXT[s.status][1]),
                ),
                id="record-who",
            )
            with VerticalScroll(id="wording"):
                yield Static("", id="wording-text")
            with Horizontal(classes="record-actions", id="read-actions"):
                yield Button("Read: custodian signs", id="read-done", variant="primary", compact=True)
            yield AuthForm(
                self.presence,
                signers.custodian,
                "custodian",
                title=f"{s.name}: type your passphrase to sign the reaffirmation",
                id="custodian-auth",
            )
            yield AuthForm(
                self.presence,
                signers.officers,
                "security_officer",
                title="Security officer: choose yourself and type your passphrase to co-sign",
                id="officer-auth",
            )
            with Vertical(id="output"):
                yield Label("The signed form (PDF) will be written to:")
                yield Input(
                    str(self.flow.default_form_path(s.employee_id)),
                    compact=True,
                    id="pdf-path",
                )
                with Horizontal(classes="record-actions"):
                    yield Button("Sign and record", id="sign", variant="primary", compact=True)
                    yield Button("Done", id="done", compact=True)
            yield Static("", id="record-status", classes="status-line")
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        for hidden in ("#custodian-auth", "#officer-auth", "#output", "#done"):
            self.query_one(hidden).display = False
        try:
            reading = self.flow.reading(self.standing)
        except CeremonyError as error:
            self._status(f"✗ {error}", "bold red")
            self.query_one("#read-done", Button).disabled = True
            return
        self._shown = reading.wording
        self.wording_markdown = reading.markdown
        self.query_one("#wording-text", Static).update(Markdown(self.wording_markdown))
        self._go_to(0)
        self.query_one("#wording", VerticalScroll).focus()
        if not self.flow.signers(self.standing.person_id).officers:
            self._status(
                "✗ No other active security officer is enrolled: a reaffirmation needs one to co-sign.",
                "bold red",
            )
            self.query_one("#read-done", Button).disabled = True

    def _go_to(self, step: int) -> None:
        self.sub_title = f"Step {step + 1} of {len(STEPS)}: {STEPS[step]}"

    def _status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#record-status", Static).update(text if isinstance(text, Text) else Text(text, style))

    # --- 1. read -----------------------------------------------------------------------------------------
    @on(Button.Pressed, "#read-done")
    def _read_done(self, event: Button.Pressed) -> None:
        event.stop()
        self.query_one("#wording").display = False
        self.query_one("#read-actions").display = False
        form = self.query_one("#custodian-auth", AuthForm)
        form.display = True
        form.focus_first()
        self._go_to(1)

    # --- 2. and 3. the two signatures ------------------------------------------------------------------
    @on(AuthForm.Authenticated, "#custodian-auth")
    def _custodian_present(self, event: AuthForm.Authenticated) -> None:
        event.stop()
        self.custodian = event.person
        self.query_one("#custodian-auth").display = False
        officer = self.query_one("#officer-auth", AuthForm)
        officer.display = True
        officer.focus_first()
        self._status(Text(f"✓ {event.person.name} signs.", style="bold green"))
        self._go_to(2)

    @on(AuthForm.Authenticated, "#officer-auth")
    def _officer_present(self, event: AuthForm.Authenticated) -> None:
        event.stop()
        if self.custodian is not None and event.person.person_id == self.custodian.person_id:
            event.person.leave()
            event.form.reset("The security officer must be another person than the custodian.")
            return
        self.officer = event.person
        self.query_one("#officer-auth").display = False
        self.query_one("#output").display = True
        self.query_one("#sign", Button).focus()
        self._status(Text(f"✓ {event.person.name} co-signs. Check the path, then Sign and record.", "green"))
        self._go_to(3)

    # --- 4. record and write ---------------------------------------------------------------------------
    @on(Button.Pressed, "#sign")
    def _sign(self, event: Button.Pressed) -> None:
        event.stop()
        target = Path(self.query_one("#pdf-path", Input).value.strip()).expanduser()
        if not target.name or target.suffix.lower() != ".pdf":
            self._status("✗ Give a file name ending in .pdf for the signed form.", "bold red")
            return
        if self.record is not None:  # recorded already; only the file is missing
            self.query_one("#sign", Button).disabled = True
            self._write(target)
            return
        if self.draft is None and (self.custodian is None or self.officer is None or self._shown is None):
            self._status("✗ Both the custodian and the security officer must authenticate first.", "bold red")
            return
        self.query_one("#sign", Button).disabled = True
        self._status(
            "Working: recording in the ledger and signing the form (both signatures)…", "bold yellow"
        )
        self._record(target)

    @work(exclusive=True, group="reaffirm", exit_on_error=False)
    async def _record(self, target: Path) -> None:
        # An async worker runs on the main thread: the flow's ledger steps stay on the app's connection.
        try:
            if self.draft is None:
                assert self.custodian is not None and self.officer is not None and self._shown is not None
                self.draft = self.flow.begin(self.custodian, self.officer, self._shown)
            record = await self.flow.async_finish(self.draft)
        except (CeremonyError, OSError) as error:
            if self.draft is None:
                self._status(f"✗ Not recorded: {error}", "bold red")
            else:
                self._status(
                    f"✗ Recorded at ledger event #{self.draft.event_seq}, but the form could not be made: "
                    f"{error}. Press 'Sign and record' to try again.",
                    "bold red",
                )
            self.query_one("#sign", Button).disabled = False
            return
        self.record = record
        self._forget_people()
        self._write(target)

    @work(exclusive=True, group="reaffirm-write", exit_on_error=False)
    async def _write(self, target: Path) -> None:
        record = self.record
        assert record is not None
        try:
            written = await asyncio.to_thread(write_form, record, target)
        except (OSError, CeremonyError) as error:
            reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
            self._status(
                f"✗ Recorded at ledger event #{record.event_seq}, but the form could not be written to "
                f"{target}: {reason}. Change the path and press 'Write the form'.",
                "bold red",
            )
            sign = self.query_one("#sign", Button)
            sign.label = "Write the form"
            sign.disabled = False
            return
        self.written = written
        self.query_one("#record-who", Static).update(
            Text.assemble(
                ("Reaffirmation of ", ""),
                (f"{self.standing.name} ({self.standing.employee_id})", "bold"),
                (f" — reaffirmed, next due {show_date(record.next_due)}", "bold green"),
            )
        )
        self.query_one("#sign", Button).display = False
        done = self.query_one("#done", Button)
        done.display = True
        done.focus()
        self._status(
            Text.from_markup(
                f"✓ Recorded at ledger event #{record.event_seq}, signed by the custodian and the security "
                f"officer. Form (SHA-256 {record.pdf_sha256[:16]}…) written to "
                f"[b]{escape(str(written))}[/b]. "
                f"Next reaffirmation due {show_date(record.next_due)}.",
                style="green",
            )
        )

    @on(Button.Pressed, "#done")
    def _done(self, event: Button.Pressed) -> None:
        event.stop()
        self.leave(result=self.record)

    def action_abandon(self) -> None:
        if self.record is not None and self.written is None:
            self._status("✗ Recorded but the form is not written yet: write it first.", "bold red")
            return
        self._forget_people()
        self.leave(result=self.record)

    def _forget_people(self) -> None:
        for person in (self.custodian, self.officer):
            if person is not None:
                person.leave()  # lock the unlocked signing keys
        self.custodian = self.officer = None

    def on_cancel_requested(self) -> None:
        self._forget_people()
        super().on_cancel_requested()


__all__ = ["ReaffirmationsScreen", "RecordReaffirmationScreen"]
