"""An envelope incident: the serial read back differs from the one recorded, or a seal is broken.

The flow has already recorded the inspection and the incident. The share stays refused unless a security
officer (authenticated, not the share's custodian) records a decision with a reason: "accept" (use the
share) or "refuse" (PCI PIN 9-4: on confirmed tampering the whole set is destroyed and replaced — a
re-share to new custodians).

A share typed by someone it was not issued to (demonstrated knowledge, DESIGN §3) is an incident too: the
flow has recorded the exposure and the incident. The same screen asks a security officer to decide:
"continue" (only while the key's custody rule holds) or "void" (the ceremony is voided here).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError, DemonstratedKnowledgeError
from ceremony.flows.presence import PresentPerson
from ceremony.flows.turns import Next, Turn, custodian_turn
from ceremony.ledger.participants import participants
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_COLLECT, LifecycleSession
from ceremony.tui.widgets.auth_form import AuthForm

DECISIONS = [("Refuse the share (it stays unused)", "refuse"), ("Accept the share (use it)", "accept")]
DEMONSTRATED_CONTINUE = ("Continue (the knowledge stays on record)", "continue")
DEMONSTRATED_VOID = ("Void the ceremony", "void")


def demonstrated_text(session: LifecycleSession, error: DemonstratedKnowledgeError) -> Text:
    text = Text(f"⚠ DEMONSTRATED KNOWLEDGE — incident #{error.incident_seq}\n", style="bold red")
    message = str(error)
    for person_id, name in session.names.items():
        message = message.replace(person_id, name)
    text.append(message + "\n", style="red")
    if error.broken:
        text.append("The custody rule no longer holds: the ceremony can only be voided.", style="bold")
    else:
        text.append("Nothing goes on until a security officer decides.", style="bold")
    return text


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

    def __init__(
        self,
        session: LifecycleSession,
        number: int,
        custodian: PresentPerson,
        demonstrated: DemonstratedKnowledgeError | None = None,
    ) -> None:
        super().__init__(session)
        self.number = number
        self.custodian = custodian
        self.demonstrated = demonstrated
        self.officer: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        if self.demonstrated is not None:
            yield Static(demonstrated_text(self.session, self.demonstrated), id="incident")
            decisions = [DEMONSTRATED_VOID]
            if not self.demonstrated.broken:
                decisions.insert(0, DEMONSTRATED_CONTINUE)
        else:
            yield Static(incident_text(self.session, self.number), id="incident")
            decisions = DECISIONS
        officers = [
            p
            for p in participants(self.session.ledger)
            if p.active and "security_officer" in p.roles and p.person_id != self.custodian.person_id
        ]
        yield AuthForm(
            self.session.presence, officers, "security_officer", title="Security officer", id="officer"
        )
        yield Label("Decision")
        yield Select(decisions, id="decision", allow_blank=False)
        yield Label("Reason (goes into the minutes)")
        yield Input(placeholder="e.g. misread serial; sealing photo matches", id="reason", max_length=200)
        yield Button("Record the decision", id="decide", variant="primary")
        yield Button("Close", id="close", disabled=True)
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
        if self.demonstrated is not None:
            self._decide_demonstrated(decision, reason)
            return
        try:
            self.session.collector.decide_incident(self.number, self.officer, decision, reason)
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        if decision == "accept":
            self.advance(
                custodian_turn(self.session.ceremony, self.number, self.custodian.person_id),
                person=self.custodian,
            )
            return
        refused = f"Share {self.number} refused by the security officer: it is not used."
        self.advance(Next(Turn.NEXT_CUSTODIAN), data=Text(refused, style="bold red"))

    def _decide_demonstrated(self, decision: str, reason: str) -> None:
        assert self.officer is not None and self.demonstrated is not None
        try:
            self.session.ceremony.decide_demonstrated(self.officer, decision, reason)
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        if decision == "continue":
            note = Text(
                f"Incident #{self.demonstrated.incident_seq} decided: the ceremony continues.", style="bold"
            )
            self.advance(Next(Turn.NEXT_CUSTODIAN), data=note)
            return
        why = f"demonstrated knowledge (incident #{self.demonstrated.incident_seq}): {reason.strip()}"
        if self.session.reshare is not None:
            self.session.reshare.void(why)
        else:
            self.session.ceremony.void(why)
        self.session.release()
        for selector in ("#decide", "#reason", "#decision"):
            self.query_one(selector).disabled = True
        self.status(Text("Ceremony voided: the key was wiped; nothing was output.", style="bold red"))
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.end_flow()
