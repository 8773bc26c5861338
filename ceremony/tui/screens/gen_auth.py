"""Generation step 2: the administrator and the witness authenticate; the flow starts the ceremony.

Two different people (dual control, DESIGN §1): the flow refuses one person in both roles, and the
refusal is shown here. Then the preflight evidence is recorded by the flow in the new ceremony.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.generation import GenerationCeremony
from ceremony.flows.presence import PresentPerson
from ceremony.ledger.participants import participants
from ceremony.tui.screens.gen_base import GenerationScreen
from ceremony.tui.screens.gen_session import STEP_AUTH, GenerationSession, record_preflight
from ceremony.tui.widgets.auth_form import AuthForm, control_forms


class ControlAuthScreen(GenerationScreen):
    TITLE = "Administrator and witness"
    HELP: ClassVar[str | None] = (
        "State the ceremony's purpose (printed in the minutes). The administrator, then the witness, picks "
        "their name and types their passphrase. They must be two different people. Three wrong "
        "passphrases lock a person out of this ceremony."
    )
    STEP = STEP_AUTH

    def __init__(self, session: GenerationSession) -> None:
        super().__init__(session)
        self.administrator: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.session.ledger) if p.active]
        for p in people:
            self.session.names[p.person_id] = p.name
        yield Label("Purpose of this ceremony")
        yield Input(placeholder="e.g. new zone master key for the payment HSMs", id="purpose", max_length=200)
        yield from control_forms(self.session.presence, people)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#purpose", Input).focus()

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
        purpose = self.query_one("#purpose", Input).value
        session = self.session
        try:
            session.ceremony = GenerationCeremony.start(
                session.ledger, self.administrator, witness, purpose, rehearsal=session.rehearsal
            )
        except CeremonyError as error:
            witness.leave()
            self.query_one("#witness", AuthForm).reset()
            self.refusal(error)
            if not purpose.strip():
                self.query_one("#purpose", Input).focus()
            return
        session.presence.ceremony_id = session.ceremony.ceremony_id
        try:
            record_preflight(session)
        except CeremonyError as error:
            self.refusal(error)
            return
        from ceremony.tui.screens.gen_key import KeyDetailsScreen

        self.go(KeyDetailsScreen(session))

    def on_cancel_requested(self) -> None:
        super().on_cancel_requested()
        if self.session.ceremony is None and self.administrator is not None:
            self.administrator.leave()
