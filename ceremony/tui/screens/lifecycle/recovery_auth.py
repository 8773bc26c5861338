"""Recovery / re-share step 2: the administrator and the witness authenticate; the flow opens the ceremony.

Two different people who never held any part of the key (DESIGN §1); the flow refuses otherwise, and the
refusal is shown here. The ceremony starts (``ceremony.started``, with the output chosen) only then.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Static

from ceremony.errors import CeremonyError
from ceremony.flows.common import read_register
from ceremony.flows.presence import PresentPerson
from ceremony.ledger.participants import participants
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_AUTH, LifecycleSession
from ceremony.tui.widgets.auth_form import AuthForm, control_forms


class ControlAuthScreen(LifecycleScreen):
    TITLE = "Administrator and witness"
    HELP: ClassVar[str | None] = (
        "The administrator, then the witness, picks their name and types their passphrase. Two different "
        "people, neither of whom ever held a share of this key. Three wrong passphrases lock a person out."
    )
    STEP = STEP_AUTH

    def __init__(self, session: LifecycleSession) -> None:
        super().__init__(session)
        self.administrator: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.session.ledger) if p.active]
        key = read_register(self.session.ledger.events()).keys.get(self.session.key_id or "")
        label = f"{key.label} ({key.key_id[:8]}, KCV {key.kcv.hex})" if key else ""
        yield Static(Text.assemble((label, "bold"), f" — {self.session.purpose}"), id="plan-summary")
        yield from control_forms(self.session.presence, people)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
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
        try:
            self.session.start(self.administrator, witness)
        except CeremonyError as error:
            witness.leave()
            self.query_one("#witness", AuthForm).reset()
            self.status(refusal_text(error))
            return
        from ceremony.tui.screens.lifecycle.recovery_custodian import CustodianScreen

        self.go(CustodianScreen(self.session))

    def on_cancel_requested(self) -> None:
        if not self.session.open and self.administrator is not None:
            self.administrator.leave()
        super().on_cancel_requested()
