"""Before an envelope is opened: its serial is read back and its seal inspected (PCI PIN 9-2/9-4).

The custodian reads the serial printed on the envelope and types it; the recorded one is not shown (the
point is to compare them). Custodian and witness each say whether the seal is intact. A mismatch or a
broken seal is recorded by the flow as an incident, and the share is refused unless a security officer
decides otherwise (next screen).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError
from ceremony.flows.presence import PresentPerson
from ceremony.flows.turns import custodian_turn
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_COLLECT, LifecycleSession

SEAL_CHOICES = [("Yes, the seal is intact", "yes"), ("No, the seal is broken or tampered with", "no")]


class EnvelopeScreen(LifecycleScreen):
    TITLE = "Inspect the envelope"
    HELP: ClassVar[str | None] = (
        "Do not open the envelope yet. Read its serial number aloud and type it; the custodian and the "
        "witness each look at the seal. A serial that differs from the one recorded at sealing, or a broken "
        "seal, is an incident: a security officer decides whether the share may still be used."
    )
    STEP = STEP_COLLECT

    def __init__(self, session: LifecycleSession, number: int, custodian: PresentPerson) -> None:
        super().__init__(session)
        self.number = number
        self.custodian = custodian

    def compose_body(self) -> ComposeResult:
        witness = self.session.name_of(self.session.ceremony.witness.person_id)
        yield Static(
            Text(f"Share {self.number} — {self.custodian.name}: do NOT open the envelope yet", style="bold"),
            id="envelope-heading",
        )
        yield Label("Serial number printed on the envelope")
        yield Input(placeholder="e.g. TE-004711", id="serial", max_length=40)
        yield Label(f"{self.custodian.name} (custodian): is the seal intact?")
        yield Select(SEAL_CHOICES, prompt="Custodian's answer", id="custodian-seal")
        yield Label(f"{witness} (witness): is the seal intact?")
        yield Select(SEAL_CHOICES, prompt="Witness's answer", id="witness-seal")
        yield Button("Record the inspection", id="record", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#serial", Input).focus()

    @on(Input.Submitted, "#serial")
    def _serial_done(self) -> None:
        self.query_one("#custodian-seal", Select).focus()

    @on(Button.Pressed, "#record")
    def record(self) -> None:
        serial = self.query_one("#serial", Input).value
        answers = [self.query_one(f"#{who}-seal", Select).value for who in ("custodian", "witness")]
        if not serial.strip():
            self.status("Type the serial number printed on the envelope.", "bold red")
            self.query_one("#serial", Input).focus()
            return
        if any(a not in ("yes", "no") for a in answers):
            self.status("Custodian and witness each answer: is the seal intact?", "bold red")
            return
        try:
            self.session.collector.inspect_envelope(
                self.number, self.custodian, serial, answers[0] == "yes", answers[1] == "yes"
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        # Accepted: the custodian types their share; an incident waits for the security officer.
        turn = custodian_turn(self.session.ceremony, self.number, self.custodian.person_id)
        self.advance(turn, person=self.custodian)
