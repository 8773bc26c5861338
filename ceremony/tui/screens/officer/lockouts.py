"""Lift a lockout (issue 13): a security officer and a witness unlock a person locked out on record.

Three wrong passphrases in a row lock a person out, and the lockout is read from the ledger, so it
survives a restart (:mod:`ceremony.policy.lockout`). This screen lists everyone locked out on record (since
which event, how many failures), has a security officer and then a witness authenticate (the same
:class:`~ceremony.tui.widgets.auth_form.AuthForm` as every ceremony; a person locked out is shown as
such there), asks whose lockout is lifted and why, and records ``auth.lockout_lifted`` signed by both
(:func:`ceremony.flows.lockout.lift_lockout`, which checks dual control). Refusals from the flow are shown
as they come.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError
from ceremony.flows.lockout import LockedOut, lift_lockout, locked_out_people
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.lifecycle.base import close_flow_screen, refusal_text
from ceremony.tui.widgets.auth_form import AuthForm

LIFT_STEPS = ("Security officer & witness", "Whose lockout, and why", "Lifted")


def locked_text(locked: list[LockedOut]) -> Text:
    if not locked:
        return Text("Nobody is locked out on record.", style="bold green")
    text = Text(f"Locked out on record ({len(locked)}):\n", style="bold red")
    for item in locked:
        text.append(
            f"  ⚠ {item.name} ({item.person.employee_id}): since event #{item.since_seq}, "
            f"{item.failures} wrong passphrases\n",
            style="red",
        )
    text.rstrip()
    return text


class LiftLockoutScreen(CeremonyScreen[None]):
    TITLE = "Lift a lockout"
    HELP: ClassVar[str | None] = (
        "Three wrong passphrases in a row lock a person out, on record: a restart does not unlock them. "
        "A security officer and a witness (two other people) authenticate, choose the person, and state "
        "why the lockout is lifted (e.g. identity confirmed in person, passphrase remembered). The lift "
        "is recorded in the ledger, signed by both. Escape goes back."
    )
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, ledger: Ledger, presence: Presence | None = None) -> None:
        super().__init__(steps=LIFT_STEPS, current_step=0, id="lift-lockout")
        self.ledger = ledger
        self.presence = presence or Presence(ledger)
        self.officer: PresentPerson | None = None
        self.witness: PresentPerson | None = None
        self.locked = locked_out_people(ledger)

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.ledger) if p.active]
        yield Static(locked_text(self.locked), id="locked")
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
        yield Label("Person locked out")
        yield Select(self._options(), prompt="Choose the person", id="person")
        yield Label("Reason")
        yield Input(placeholder="e.g. identity confirmed in person", id="reason", max_length=200)
        yield Button("Lift the lockout", id="lift", variant="warning")
        yield Static("", id="lifted")
        yield Button("Done", id="done")
        yield Static("", id="status")

    def _options(self) -> list[tuple[str, str]]:
        return [
            (f"{item.name} ({item.person.employee_id}), since #{item.since_seq}", item.person_id)
            for item in self.locked
        ]

    def on_mount(self) -> None:
        super().on_mount()
        if self.locked:
            self.query_one("#officer", AuthForm).focus_first()
        else:
            self.query_one("#lift", Button).disabled = True
            self.query_one("#done", Button).focus()

    def status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#status", Static).update(text if isinstance(text, Text) else Text(text, style=style))

    def _step(self, number: int) -> None:
        steps = self.step_list
        if steps is not None:
            steps.current = number

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
        self._step(1)
        self.query_one("#person", Select).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#lift")
    def lift(self) -> None:
        if self.officer is None or self.witness is None:
            self.status("The security officer and the witness authenticate first.", "bold red")
            return
        person = self.query_one("#person", Select).value
        if not isinstance(person, str):
            self.status("Choose the person whose lockout is lifted.", "bold red")
            return
        reason = self.query_one("#reason", Input)
        try:
            lifted = lift_lockout(self.ledger, person, reason.value, self.officer, self.witness)
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.query_one("#lifted", Static).update(
            Text(
                f"✓ {lifted.name}'s lockout lifted (ledger event #{lifted.seq}, "
                f"{lifted.failures} wrong passphrases covered). They may authenticate again.",
                style="bold green",
            )
        )
        self.status("")
        reason.value = ""
        self.locked = locked_out_people(self.ledger)
        self.query_one("#locked", Static).update(locked_text(self.locked))
        select: Select[str] = self.query_one("#person", Select)
        with self.prevent(Select.Changed):
            select.set_options(self._options())
        self._step(2)
        if not self.locked:
            self.query_one("#lift", Button).disabled = True
            self.query_one("#done", Button).focus()
        else:
            select.focus()

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        self._release()
        close_flow_screen(self)

    def _release(self) -> None:
        for person in (self.officer, self.witness):
            if person is not None:
                person.leave()
        self.officer = self.witness = None

    def on_cancel_requested(self) -> None:
        self._release()  # nothing is half-recorded: a lift is one event


def lift_lockout_screen(ledger: Ledger, presence: Presence | None = None) -> LiftLockoutScreen:
    """The screen a security officer opens from the main menu."""
    return LiftLockoutScreen(ledger, presence)
