"""A quorum decision on record: a security officer and a witness let fewer people rebuild a key (DESIGN §3).

Shown when the custody dry run refuses the output chosen for a recovery (e.g. a 3-of-5 key wrapped under a
KEK of two components, or recovered into two XOR components): the refusal names who could then rebuild the
key. A security officer and a witness — two different people, neither of whom ever held any part of the
key — authenticate, state the reason, and the flow (:func:`ceremony.flows.quorum.lower_quorum`) records
``key.quorum_lowered``, which the custody report and the minutes show. Nothing else is written here; the
screen returns to the plan, whose dry run then passes.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.presence import PresentPerson
from ceremony.flows.quorum import lower_quorum
from ceremony.ledger.participants import participants
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_PLAN, LifecycleSession
from ceremony.tui.widgets.auth_form import AuthForm


class QuorumDecisionScreen(LifecycleScreen):
    """Pushed over the plan screen; ``recorded_seq`` is the decision's event once recorded (else None)."""

    TITLE = "Quorum decision"
    HELP: ClassVar[str | None] = (
        "The output chosen would let fewer people rebuild the key than its quorum. Only a security officer "
        "and a witness may decide, on record and with a reason, that this many people may rebuild it. "
        "Both authenticate; the reason goes into the custody report and the minutes. Escape goes back."
    )
    STEP = STEP_PLAN
    BINDINGS: ClassVar = [("escape", "back", "Back to the plan")]

    def __init__(
        self,
        session: LifecycleSession,
        key_id: str,
        quorum: int,
        coalition: tuple[str, ...],
        refusal: CeremonyError,
    ) -> None:
        super().__init__(session)
        self.key_id = key_id
        self.quorum = quorum
        self.coalition = coalition
        self.refused_by = refusal
        self.officer: PresentPerson | None = None
        self.witness: PresentPerson | None = None
        self.recorded_seq: int | None = None

    def compose_body(self) -> ComposeResult:
        names = ", ".join(self.session.name_of(p) for p in self.coalition)
        yield Static(refusal_text(self.refused_by, self.session.names), id="refusal")
        yield Static(
            Text(
                f"Decision asked: key {self.key_id} may be rebuilt by {self.quorum} people ({names}).",
                style="bold",
            ),
            id="proposal",
        )
        people = [p for p in participants(self.session.ledger) if p.active]
        yield AuthForm(
            self.session.presence,
            [p for p in people if "security_officer" in p.roles],
            "security_officer",
            title="Security officer",
            id="officer",
        )
        yield AuthForm(
            self.session.presence,
            [p for p in people if "witness" in p.roles],
            "witness",
            title="Witness",
            id="quorum-witness",
        )
        yield Label("Reason (printed in the custody report and the minutes)")
        yield Input(placeholder="e.g. HSM-2 takes a KEK of two components; ticket SEC-200", id="reason")
        yield Button("Record the quorum decision", id="decide", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#officer", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#officer")
    def _officer(self, event: AuthForm.Authenticated) -> None:
        if self.officer is not None:
            self.officer.leave()
        self.officer = event.person
        self.query_one("#quorum-witness", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#quorum-witness")
    def _witness(self, event: AuthForm.Authenticated) -> None:
        if self.witness is not None:
            self.witness.leave()
        self.witness = event.person
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#decide")
    def decide(self) -> None:
        if self.officer is None or self.witness is None:
            self.status("The security officer and the witness authenticate first.", "bold red")
            return
        reason = self.query_one("#reason", Input).value
        try:
            event = lower_quorum(
                self.session.ledger,
                self.key_id,
                self.quorum,
                reason,
                self.officer,
                self.witness,
                coalition=self.coalition,
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.recorded_seq = event.seq
        self._leave_people()
        self.dismiss(event.seq)

    def action_back(self) -> None:
        self._leave_people()
        self.dismiss(None)

    def _leave_people(self) -> None:
        for person in (self.officer, self.witness):
            if person is not None:
                person.leave()
        self.officer = self.witness = None

    def on_cancel_requested(self) -> None:
        self._leave_people()
        self.session.release()
