"""Record a PCI DSS 1.2.6 exception from a blocked preflight (issue 14, part 2.3).

The preflight screen (generation's, or a recovery's, re-share's or retirement's) pushes this screen with
the ledger and the findings no active exception covers. The room ticks the findings the exception covers
(one record may cover several), states the business justification and the compensating controls and how
many days it lasts (at most 90), and a security officer approves and a witness — another person —
witnesses: each picks themselves and types their passphrase (the same
:class:`~ceremony.tui.widgets.auth_form.AuthForm` as every ceremony). The officer's list offers every
active person, so someone who stepped up but is not enrolled as a security officer is refused there, by
name, before their key is unlocked. :func:`ceremony.flows.exceptions.record_findings_exception` writes one
``preflight.exception`` event signed by both (and refuses what the form let through); the screen dismisses
with True once it is recorded, False when cancelled — then nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import DescendantFocus
from textual.widgets import Button, Input, Label, SelectionList, Static

from ceremony.errors import CeremonyError
from ceremony.flows.exceptions import record_findings_exception
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import Participant, participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import MAX_EXCEPTION_LIFETIME, Finding
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.widgets.auth_form import AuthForm

DEFAULT_DAYS = 30


def finding_label(finding: Finding) -> Text:
    """``INSECURE net.interfaces: interface eth0`` — a finding as the preflight table shows it."""
    text = Text()
    text.append(f"{finding.verdict.value.upper()} ", style="bold red")
    text.append(f"{finding.check}: {finding.subject or finding.summary}")
    return text


class PreflightExceptionScreen(CeremonyScreen[bool]):
    TITLE = "Record a preflight exception"
    HELP: ClassVar[str | None] = (
        "A preflight finding blocks the ceremony unless a security officer records an exception for it "
        "(PCI DSS 1.2.6). Tick the findings the exception covers (space), give the business "
        "justification, the compensating controls (what makes the risk acceptable in this room) and how "
        "many days it lasts (at most 90). The security officer approves and a witness — another person — "
        "witnesses: each chooses themselves and types their passphrase. The exception is recorded in the "
        "ledger, signed by both, and the preflight runs again. Escape goes back without recording."
    )
    CSS_PATH = Path(__file__).with_name("preflight_exception.tcss")
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, ledger: Ledger, findings: Sequence[Finding], presence: Presence | None = None) -> None:
        super().__init__(id="preflight-exception")
        self.ledger = ledger
        self.findings = tuple(findings)
        self.presence = presence or Presence(ledger)
        self.officer: PresentPerson | None = None
        self.witness: PresentPerson | None = None
        self.people = [p for p in participants(ledger) if p.active]

    @property
    def names(self) -> dict[str, str]:
        """Person id -> name and employee id, so a refusal names people as the room knows them."""
        return {p.person_id: f"{p.name} ({p.employee_id})" for p in self.people}

    def compose_body(self) -> ComposeResult:
        yield Static(
            f"Tick what the exception covers (space). PCI DSS 1.2.6: a security officer approves, a "
            f"witness witnesses, at most {MAX_EXCEPTION_LIFETIME.days} days.",
            id="intro",
        )
        yield SelectionList[int](
            *((finding_label(f), index) for index, f in enumerate(self.findings)), id="ticked"
        )
        # One-row fields beside their labels (as enrolment's form), so the two people's forms fit below.
        with Horizontal(classes="form-row"):
            yield Label("Justification", classes="form-label")
            yield Input(
                placeholder="why the ceremony must go on despite it",
                id="justification",
                max_length=2000,
                compact=True,
            )
        with Horizontal(classes="form-row"):
            yield Label("Controls", classes="form-label")
            yield Input(
                placeholder="compensating controls: what makes the risk acceptable here",
                id="controls",
                max_length=2000,
                compact=True,
            )
        with Horizontal(classes="form-row", id="days-row"):
            yield Label(f"Days (1-{MAX_EXCEPTION_LIFETIME.days})", classes="form-label")
            yield Input(str(DEFAULT_DAYS), id="days", type="integer", max_length=2, compact=True)
        yield AuthForm(
            self.presence,
            people_offered(self.people),
            "security_officer",
            title="Security officer",
            id="officer",
        )
        yield AuthForm(
            self.presence,
            [p for p in self.people if "witness" in p.roles],
            "witness",
            title="Witness (another person)",
            id="witness",
        )
        with Horizontal(id="actions"):
            yield Button("Record the exception", id="record", variant="warning")
            yield Button("Cancel", id="cancel")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#ticked", SelectionList).focus()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        # A person's form says below the passphrase why it refused them: keep the whole form in view.
        forms = [node for node in event.widget.ancestors if isinstance(node, AuthForm)]
        if forms:
            self.call_after_refresh(forms[0].scroll_visible, animate=False)

    def status(self, text: str, style: str = "bold red") -> None:
        self.query_one("#status", Static).update(Text(text, style=style))

    @property
    def ticked(self) -> tuple[Finding, ...]:
        chosen = set(self.query_one("#ticked", SelectionList).selected)
        return tuple(f for index, f in enumerate(self.findings) if index in chosen)

    @on(AuthForm.Authenticated, "#officer")
    def _officer(self, event: AuthForm.Authenticated) -> None:
        if self.officer is not None:
            self.officer.leave()
        self.officer = event.person
        witness = self.query_one("#witness", AuthForm)
        witness.offer(
            [p for p in self.people if "witness" in p.roles and p.person_id != event.person.person_id]
        )
        witness.focus_first()

    @on(AuthForm.Authenticated, "#witness")
    def _witness(self, event: AuthForm.Authenticated) -> None:
        if self.witness is not None:
            self.witness.leave()
        self.witness = event.person
        self.query_one("#record", Button).focus()

    @on(Button.Pressed, "#record")
    def record(self, event: Button.Pressed | None = None) -> None:
        if event is not None:
            event.stop()
        ticked = self.ticked
        if not ticked:
            self.status("Tick at least one finding for the exception to cover.")
            self.query_one("#ticked", SelectionList).focus()
            return
        for field, what in (
            ("#justification", "business justification"),
            ("#controls", "compensating controls"),
        ):
            if not self.query_one(field, Input).value.strip():
                self.status(f"State the {what} (PCI DSS 1.2.6).")
                self.query_one(field, Input).focus()
                return
        days_text = self.query_one("#days", Input).value.strip()
        if not days_text.isdigit() or not 1 <= int(days_text) <= MAX_EXCEPTION_LIFETIME.days:
            self.status(f"The exception lasts from 1 to {MAX_EXCEPTION_LIFETIME.days} days.")
            self.query_one("#days", Input).focus()
            return
        if self.officer is None or self.witness is None:
            self.status("The security officer and the witness authenticate first.")
            form = self.query_one("#officer" if self.officer is None else "#witness", AuthForm)
            form.focus_first()
            return
        try:
            record, seq = record_findings_exception(
                self.ledger,
                ticked,
                current=self.findings,
                justification=self.query_one("#justification", Input).value,
                compensating_controls=self.query_one("#controls", Input).value,
                days=int(days_text),
                officer=self.officer,
                witness=self.witness,
                now=datetime.now(UTC),
            )
        except CeremonyError as error:
            self.status(f"✗ {error.describe(self.names)}")
            return
        self.notify(
            f"Exception {record.exception_id} recorded (ledger event #{seq}), covering "
            f"{len(record.covered)} finding(s) until {record.to_dict()['expires']}.",
            title="PCI DSS 1.2.6",
        )
        self._release()
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_back()

    def action_back(self) -> None:
        self._release()
        self.dismiss(False)

    def _release(self) -> None:
        for person in (self.officer, self.witness):
            if person is not None:
                person.leave()
        self.officer = self.witness = None

    def on_cancel_requested(self) -> None:
        self._release()  # nothing is half-recorded: the exception is one event


def people_offered(people: Sequence[Participant]) -> list[Participant]:
    """The officer's list: security officers first, then everyone else active (who would be refused)."""
    return sorted(people, key=lambda p: "security_officer" not in p.roles)
