"""An envelope incident: the serial read back differs from the one recorded, or a seal is broken.

The flow has already recorded the inspection and the incident. The share stays refused unless a security
officer (authenticated, not the share's custodian) records a decision with a reason: "accept" (use the
share) or "refuse" (PCI PIN 9-4: on confirmed tampering the whole set is destroyed and replaced — a
re-share to new custodians).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger.participants import participants
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_COLLECT, LifecycleSession
from ceremony.tui.widgets.auth_form import AuthForm

DECISIONS = [("Refuse the share (it stays unused)", "refuse"), ("Accept the share (use it)", "accept")]


def incident_text(session: LifecycleSession, number: int) -> Text:
    check = session.ceremony.envelopes[number]
    text = Text(
        f"⚠ ENVELOPE INCIDENT — share {number} (ledger event #{check.incident_seq})\n", style="bold red"
    )
    if not check.serial_matches:
        text.append(
            f"Serial read {check.serial_read}, but {check.serial_recorded} was recorded at sealing.\n",
            style="red",
        )
    if not check.seal_intact:
        text.append("The seal was reported broken.\n", style="red")
    text.append("The share is refused unless a security officer decides otherwise.", style="bold")
    return text


class IncidentScreen(LifecycleScreen):
    TITLE = "Envelope incident"
    HELP: ClassVar[str | None] = (
        "The envelope did not pass inspection; this is recorded. Do not open it. A security officer "
        "authenticates and decides: refuse (the share is not used; the set should be replaced) or accept, "
        "with the reason, which goes into the minutes."
    )
    STEP = STEP_COLLECT

    def __init__(self, session: LifecycleSession, number: int, custodian: PresentPerson) -> None:
        super().__init__(session)
        self.number = number
        self.custodian = custodian
        self.officer: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(incident_text(self.session, self.number), id="incident")
        officers = [
            p
            for p in participants(self.session.ledger)
            if p.active and "security_officer" in p.roles and p.person_id != self.custodian.person_id
        ]
        yield AuthForm(
            self.session.presence, officers, "security_officer", title="Security officer", id="officer"
        )
        yield Label("Decision")
        yield Select(DECISIONS, id="decision", allow_blank=False)
        yield Label("Reason (goes into the minutes)")
        yield Input(
            placeholder="e.g. serial misread; envelope matches the sealing photo", id="reason", max_length=200
        )
        yield Button("Record the decision", id="decide", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#officer", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#officer")
    def _officer(self, event: AuthForm.Authenticated) -> None:
        self.officer = event.person
        self.session.joined(event.person)
        self.query_one("#decision", Select).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#decide")
    def decide(self) -> None:
        if self.officer is None:
            self.status("A security officer authenticates first.", "bold red")
            self.query_one("#officer", AuthForm).focus_first()
            return
        decision = str(self.query_one("#decision", Select).value)
        reason = self.query_one("#reason", Input).value
        try:
            self.session.collector.decide_incident(self.number, self.officer, decision, reason)
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        if decision == "accept":
            from ceremony.tui.screens.lifecycle.recovery_share import ShareEntryScreen

            self.go(ShareEntryScreen(self.session, self.number, self.custodian))
            return
        from ceremony.tui.screens.lifecycle.recovery_custodian import CustodianScreen

        self.go(
            CustodianScreen(
                self.session,
                Text(
                    f"Share {self.number} refused by the security officer: it is not used.", style="bold red"
                ),
            )
        )
