"""Custodian departure (PCI DSS 3.7.5): a security officer and a witness record that a person leaves custody.

The flow deactivates the person and lists every key they ever had knowledge of — any split, retired or not
— now flagged "must be replaced" until a re-share or re-key clears the flag. The list is shown here and
stays on the key list.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError
from ceremony.flows.common import read_register
from ceremony.flows.departure import record_departure
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.lifecycle.base import LIFECYCLE_CSS, close_flow_screen, refusal_text
from ceremony.tui.screens.lifecycle.key_list import MUST_BE_REPLACED
from ceremony.tui.widgets.auth_form import AuthForm

DEPARTURE_STEPS = ("Security officer & witness", "Who leaves, and why", "Keys to replace")


class DepartureScreen(CeremonyScreen[None]):
    TITLE = "Custodian departure"
    HELP: ClassVar[str | None] = (
        "A security officer and a witness authenticate, choose the person who leaves custody and state why. "
        "The person is deactivated; every key they ever knew is flagged “must be replaced” (PCI DSS 3.7.5) "
        "until a re-share to new custodians clears it."
    )
    ALLOW_SELECT = False
    CSS_PATH = LIFECYCLE_CSS

    def __init__(self, ledger: Ledger, presence: Presence | None = None) -> None:
        super().__init__(steps=DEPARTURE_STEPS, current_step=0)
        self.ledger = ledger
        self.presence = presence or Presence(ledger)
        self.officer: PresentPerson | None = None
        self.witness: PresentPerson | None = None
        self.recorded = False

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.ledger) if p.active]
        yield AuthForm(
            self.presence,
            [p for p in people if "security_officer" in p.roles],
            "security_officer",
            title="Security officer",
            id="officer",
        )
        yield AuthForm(
            self.presence,
            [p for p in people if "witness" in p.roles],
            "witness",
            title="Witness",
            id="witness",
        )
        yield Label("Person leaving custody")
        yield Select(
            [(f"{p.name} ({p.employee_id})", p.person_id) for p in people],
            prompt="Choose the person",
            id="person",
        )
        yield Label("Reason")
        yield Input(placeholder="e.g. left the company on 2026-11-20", id="reason", max_length=200)
        yield Button("Record the departure", id="record", variant="warning")
        yield Static("", id="flagged")
        yield Button("Done", id="done")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#officer", AuthForm).focus_first()

    def status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#status", Static).update(text if isinstance(text, Text) else Text(text, style=style))

    @on(AuthForm.Authenticated, "#officer")
    def _officer(self, event: AuthForm.Authenticated) -> None:
        if self.officer is not None:
            self.officer.leave()
        self.officer = event.person
        self.query_one("#witness", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#witness")
    def _witness(self, event: AuthForm.Authenticated) -> None:
        if self.witness is not None:
            self.witness.leave()
        self.witness = event.person
        steps = self.step_list
        if steps is not None:
            steps.current = 1
        self.query_one("#person", Select).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#record")
    def record(self) -> None:
        if self.recorded:
            return
        if self.officer is None or self.witness is None:
            self.status("The security officer and the witness authenticate first.", "bold red")
            return
        person = self.query_one("#person", Select).value
        if not isinstance(person, str):
            self.status("Choose the person leaving custody.", "bold red")
            return
        try:
            departure = record_departure(
                self.ledger, person, self.query_one("#reason", Input).value, self.officer, self.witness
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.recorded = True
        register = read_register(self.ledger.events())
        text = Text(f"✓ {departure.name} deactivated (ledger event #{departure.seq}).\n", style="bold green")
        if departure.keys:
            text.append(f"{len(departure.keys)} key(s) now {MUST_BE_REPLACED}:\n", style="bold red")
            for key_id in departure.keys:
                label = register.keys[key_id].label if key_id in register.keys else ""
                text.append(f"  ⚠ {label} ({key_id[:8]})\n", style="red")
            text.append("Re-share each to new custodians (reason: departure) to clear the flag.")
        else:
            text.append("They never had knowledge of any key: nothing to replace.")
        self.query_one("#flagged", Static).update(text)
        self.status("")
        steps = self.step_list
        if steps is not None:
            steps.current = 2
        self.query_one("#record", Button).disabled = True
        self.query_one("#done", Button).focus()

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        self._release()
        close_flow_screen(self)

    def _release(self) -> None:
        for person in (self.officer, self.witness):
            if person is not None:
                person.leave()

    def on_cancel_requested(self) -> None:
        self._release()  # nothing is half-recorded: the departure is one event


def departure_screen(ledger: Ledger, presence: Presence | None = None) -> Screen[None]:
    """The custodian departure screen (push it from a menu)."""
    return DepartureScreen(ledger, presence)
