"""Administrator and witness authenticate: the control step of every ceremony.

Two different enrolled people pick their names and type their passphrases; three wrong passphrases lock a
person out of the ceremony. The session starts the ceremony in its flow, which records the preflight the
first screen ran and refuses an uncovered finding on a production ledger (PCI DSS 1.2.6). Generation asks
the ceremony's purpose here; a recovery or re-share stated it with the key and output.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger.participants import participants
from ceremony.tui.screens.frame import StepScreen
from ceremony.tui.widgets.auth_form import AuthForm, control_forms


class ControlAuthScreen(StepScreen):
    TITLE = "Administrator and witness"
    HELP: ClassVar[str | None] = (
        "The administrator, then the witness, picks their name and types their passphrase. They must be two "
        "different people (a recovery's: neither ever held a share of this key). Three wrong passphrases "
        "lock a person out of this ceremony. Generation also asks the ceremony's purpose, printed in the "
        "minutes."
    )

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.administrator: PresentPerson | None = None

    def step_index(self) -> int:
        return list(self.session.steps).index("Administrator & witness")

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.session.ledger) if p.active]
        for p in people:
            self.session.names[p.person_id] = p.name
        summary = self.session.summary()
        if summary:
            yield Static(Text(summary, style="bold"), id="plan-summary")
        if self.session.asks_purpose:
            yield Label("Purpose of this ceremony")
            yield Input(
                placeholder="e.g. new zone master key for the payment HSMs", id="purpose", max_length=200
            )
        yield from control_forms(self.session.presence, people)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        if self.session.asks_purpose:
            self.query_one("#purpose", Input).focus()
        else:
            self.query_one("#administrator", AuthForm).focus_first()

    @on(Input.Submitted, "#purpose")
    def _purpose_done(self) -> None:
        self.query_one("#administrator", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#administrator")
    def _administrator(self, event: AuthForm.Authenticated) -> None:
        if self.administrator is not None:
            self.administrator.leave()
        self.administrator = event.person
        self.query_one("#witness", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#witness")
    def _witness(self, event: AuthForm.Authenticated) -> None:
        witness = event.person
        if self.administrator is None:
            witness.leave()
            self.query_one("#witness", AuthForm).reset("The administrator authenticates first.")
            self.query_one("#administrator", AuthForm).focus_first()
            return
        purpose = self.query_one("#purpose", Input).value if self.session.asks_purpose else ""
        try:
            self.session.start(self.administrator, witness, purpose)
        except CeremonyError as error:
            witness.leave()
            self.query_one("#witness", AuthForm).reset()
            self.refusal(error)
            if self.session.asks_purpose and not purpose.strip():
                self.query_one("#purpose", Input).focus()
            return
        self.advance()

    def on_cancel_requested(self) -> None:
        super().on_cancel_requested()
        if not self.session.open and self.administrator is not None:
            self.administrator.leave()
