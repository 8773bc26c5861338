"""Enrolment screens (DESIGN §1): the first security officer founds the ledger, every later person is
enrolled under dual control. The person being enrolled types their own name, employee id and passphrase
(twice); the screens only ask :mod:`ceremony.flows.enrolment` and render what it answers.

* :class:`FoundingScreen` — an empty ledger: the organisation's name (required, no default: it goes into the
  genesis), the first security officer's name, employee id and passphrase. Like enrolment below:
  ``prepare_founding`` reads the new (empty) ledger on the main thread, ``make_founder`` (scrypt) runs in a
  worker, ``settle_founding`` writes the genesis on the main thread, and the signed one-page anchor PDF is
  awaited on Textual's loop (``async_issue_anchor``); the screen is dismissed with a :class:`Founding`.
* :class:`EnrollScreen` — an :class:`~ceremony.flows.enrolment.Enrolment` whose security officer (and second
  person, except for the first enrolment after the genesis) are present. ``prepare`` reads the ledger on the
  main thread (which owns its connection), ``make_identity`` (scrypt) runs in a worker, ``settle`` records
  on the main thread. People already enrolled under the same name are listed and the officer and the second
  person must tick that the new person is a different person. Dismissed with the recorded
  :class:`~ceremony.ledger.participants.Participant`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import CeremonyError, InputError
from ceremony.flows.enrolment import (
    MIN_PASSPHRASE,
    ROLE_NAMES,
    Enrolment,
    Founded,
    NewFounder,
    NewIdentity,
    check_passphrase,
    make_founder,
    prepare_founding,
    settle_founding,
)
from ceremony.flows.paperwork import async_issue_anchor
from ceremony.ledger.anchor import Anchor
from ceremony.ledger.participants import Participant
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.widgets.secret_input import SecretInput

ROLE_LABELS = ROLE_NAMES  # the flow's words for each role

ResultT = TypeVar("ResultT")


def sentence(error: object) -> str:
    """An error's message as a sentence on screen: capital first letter, full stop."""
    text = str(error).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _row(label: str, field: Widget, *, plain: bool = False) -> Horizontal:
    """One form line: its label on the left, the field beside it, one row high (a compact input or list),
    so a whole form, the namesakes' tick, Enroll and the status line fit 80x24 (``plain``: a value, not a
    field)."""
    if isinstance(field, Input | Select):
        field.compact = True
    return Horizontal(
        Label(label, classes="form-label"), field, classes="form-row plain" if plain else "form-row"
    )


@dataclass(frozen=True)
class Founding:
    """What first run shows after the genesis: the founder, the anchor, and where its signed PDF went."""

    organisation: str
    founder: Participant
    anchor: Anchor
    pdf: Path | None  # None when the PDF could not be written (``pdf_problem`` says why)
    pdf_problem: str | None = None


class _PersonForm(CeremonyScreen[ResultT]):
    """Name, employee id and a passphrase typed twice by the person being enrolled; a worker for scrypt."""

    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]
    WORKER = "enroll"

    def __init__(self, context: LedgerContext, *, steps: Sequence[str] = (), current_step: int = 0) -> None:
        super().__init__(steps=steps, current_step=current_step)
        self.context = context
        self._working = False

    # --- the fields ------------------------------------------------------------------------------------
    def person_fields(self) -> ComposeResult:
        yield _row("Full name", Input(placeholder="as on their ID badge", id="name", max_length=64))
        yield _row("Employee id", Input(placeholder="e.g. E1234", id="employee", max_length=64))

    def passphrase_fields(self) -> ComposeResult:
        yield _row(
            "Passphrase",
            SecretInput(placeholder=f"typed by them, {MIN_PASSPHRASE}+ characters", id="passphrase"),
        )
        yield _row("Again", SecretInput(placeholder="the same passphrase again", id="repeat"))

    def on_mount(self) -> None:
        super().on_mount()
        # The fields take the focus (and scroll into view): the body itself is no Tab stop, where nothing
        # would show the focus.
        self.query_one("#body").can_focus = False

    def _status(self, text: str, style: str = "bold red") -> None:
        self.query_one("#status", Static).update(Text(text, style=style))

    def _value(self, field_id: str) -> str:
        return self.query_one(f"#{field_id}", Input).value.strip()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "repeat":
            self.submit()
        else:
            self.focus_next()

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self.submit()

    def submit(self) -> None:
        """Override: check the fields, then start the work."""

    def take_passphrase(self) -> SecretBytes | None:
        """The passphrase typed twice, checked by the flow's rule; both fields are emptied either way."""
        first, again = self.query_one("#passphrase", SecretInput), self.query_one("#repeat", SecretInput)
        passphrase, repeat = first.value_secret(), again.value_secret()
        first.wipe()
        again.wipe()
        try:
            check_passphrase(passphrase, repeat)
        except InputError as error:
            passphrase.wipe()
            self._status(sentence(error) + " Type it twice again.")
            first.focus()
            return None
        finally:
            repeat.wipe()
        return passphrase

    def start_work(self, what: str, work: Callable[[], object]) -> None:
        self._working = True
        self.query_one("#submit", Button).disabled = True
        self._status(f"Working: {what}…", "bold yellow")
        self.run_worker(work, thread=True, exit_on_error=False, name=self.WORKER)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != self.WORKER or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self._working = False
        self.query_one("#submit", Button).disabled = False
        try:
            if event.state is WorkerState.SUCCESS:
                self.finish(event.worker.result)
                return
            error = event.worker.error
            if not isinstance(error, CeremonyError):
                raise error if error is not None else InputError("enrollment failed")
            self._status(sentence(error))
        except CeremonyError as error:
            self._status(sentence(error))

    def finish(self, result: object) -> None:
        """Override: the worker's result, on the main thread."""

    def action_back(self) -> None:
        if not self._working:
            self.dismiss(None)


class FoundingScreen(_PersonForm[Founding | None]):
    TITLE = "Found the ledger"
    HELP: ClassVar[str | None] = (
        "The first security officer founds this ledger: the organisation's name (it is recorded in the "
        "ledger's first event and printed on every form), their own name, employee id and a passphrase "
        f"(twice; at least {MIN_PASSPHRASE} characters) that only they know. The ledger's anchor is then "
        "shown and written to a signed PDF: print it and keep it with the paper checkpoints. Esc goes back "
        "without recording anything."
    )

    def compose_body(self) -> ComposeResult:
        kind = "rehearsal" if self.context.rehearsal else "production"
        yield Static(
            f"The first security officer founds this {kind} ledger and types below.", classes="intro"
        )
        yield _row(
            "Organisation",
            Input(placeholder="whose keys this ledger records", id="organisation", max_length=200),
        )
        yield from self.person_fields()
        yield _row(
            "Role",
            Static(Text(ROLE_LABELS["security_officer"], style="bold"), classes="form-value"),
            plain=True,
        )
        yield from self.passphrase_fields()
        yield Button("Found the ledger", id="submit", variant="primary", classes="form-submit")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#organisation", Input).focus()

    def submit(self) -> None:
        if self._working:
            return
        organisation, name, employee = (
            self._value("organisation"),
            self._value("name"),
            self._value("employee"),
        )
        problem, field = None, ""
        if not organisation:
            problem, field = (
                "Type the organisation's name: it goes into the ledger's first event.",
                "organisation",
            )
        elif not name:
            problem, field = "Type your full name.", "name"
        elif not employee:
            problem, field = "Type your employee id.", "employee"
        if problem:
            self._status(problem)
            self.query_one(f"#{field}", Input).focus()
            return
        passphrase = self.take_passphrase()
        if passphrase is None:
            return
        try:
            # The app's connection to the file, made (empty) here on the main thread if it is missing.
            ledger = self.context.open()
            if ledger is None:
                ledger = self.context.ledger = self.context.connect()
            request = prepare_founding(ledger, organisation)
        except CeremonyError as error:
            passphrase.wipe()
            self._status(sentence(error))
            return
        kdf = self.context.kdf
        self.start_work(
            f"founding the ledger and making {name}'s signing key",
            lambda: make_founder(request, name=name, employee_id=employee, passphrase=passphrase, kdf=kdf),
        )

    def finish(self, result: object) -> None:
        assert isinstance(result, NewFounder)
        ledger = self.context.open()
        assert ledger is not None
        try:
            founded = settle_founding(ledger, result)
        except BaseException:
            result.identity.lock()
            raise
        self._working = True  # until the anchor page is signed: Esc waits
        self.query_one("#submit", Button).disabled = True
        self._status("Working: signing the ledger's anchor page…", "bold yellow")
        self._issue_anchor(founded)

    @work(exclusive=True, group="anchor", exit_on_error=False)
    async def _issue_anchor(self, founded: Founded) -> None:
        # An async worker runs on the main thread: the document record goes on the app's connection.
        ledger = self.context.open()
        assert ledger is not None
        founder, anchor = founded.founder, founded.anchor
        organisation = self.query_one("#organisation", Input).value.strip()
        try:
            _, pdf = await async_issue_anchor(ledger, founded)
        except (CeremonyError, OSError) as error:
            # The ledger is founded whatever happens to the paper: show the anchor anyway.
            self.dismiss(Founding(organisation, founder, anchor, None, sentence(error)))
            return
        finally:
            founded.identity.lock()
            self._working = False
        self.dismiss(Founding(organisation, founder, anchor, pdf))


class EnrollScreen(_PersonForm[Participant | None]):
    TITLE = "Enroll a participant"
    HELP: ClassVar[str | None] = (
        "The person being enrolled types their own name, employee id and passphrase (twice; at least "
        f"{MIN_PASSPHRASE} characters). Nobody else should see the keyboard while they type it. The "
        "passphrase protects their signing key and is never stored. Someone already enrolled under the same "
        "name is listed: the security officer and the second person confirm, on record, that this is a "
        "different person. Esc goes back without enrolling."
    )

    def __init__(
        self,
        context: LedgerContext,
        enrolment: Enrolment,
        *,
        roles: Sequence[str] = tuple(ROLE_LABELS),
    ) -> None:
        super().__init__(context)
        self.enrolment = enrolment
        self.roles = tuple(roles)
        self.namesakes: list[Participant] = []  # as listed on screen, for the tick to confirm
        self._confirmed: tuple[str, ...] = ()

    def compose_body(self) -> ComposeResult:
        officer, second = self.enrolment.officer, self.enrolment.second
        if second is None:
            intro = (
                f"Security officer {officer.name} enrolls (the first enrollment after founding needs only "
                "the founding officer). The new person types below."
            )
        else:
            intro = (
                f"Security officer {officer.name} and {second.name} (second person) enroll. The new "
                "person types below."
            )
        yield Static(intro, classes="intro")
        yield from self.person_fields()
        if len(self.roles) > 1:
            yield _row("Role", Select([(ROLE_LABELS[r], r) for r in self.roles], prompt="Choose", id="role"))
        else:
            value = Static(Text(ROLE_LABELS[self.roles[0]], style="bold"), classes="form-value")
            yield _row("Role", value, plain=True)
        yield from self.passphrase_fields()
        with Vertical(id="namesakes"):
            yield Static("", id="namesake-list")
            yield Checkbox(self._confirm_label(), id="different")
        yield Button("Enroll", id="submit", variant="primary", classes="form-submit")
        yield Static("", id="status")

    def _who_confirms(self) -> str:
        """The officer and the second person, by name: they sign the confirmation with the enrolment."""
        who = self.enrolment.officer.name
        if self.enrolment.second is not None:
            who += f" and {self.enrolment.second.name}"
        return who

    def _confirm_label(self) -> str:
        return f"{self._who_confirms()} confirm this is a different person"

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#namesakes").display = False
        self.query_one("#name", Input).focus()

    def _role(self) -> str | None:
        if len(self.roles) == 1:
            return self.roles[0]
        value = self.query_one("#role", Select).value
        return value if isinstance(value, str) else None

    def _show_namesakes(self, namesakes: list[Participant]) -> None:
        self.namesakes = namesakes
        box = self.query_one("#namesakes")
        box.display = bool(namesakes)
        self.query_one("#different", Checkbox).value = False
        lines = Text("Already enrolled under the same name:", style="bold yellow")
        for person in namesakes:
            state = "" if person.active else f", deactivated at event #{person.deactivated_seq}"
            lines.append(
                f"\n• {person.name}, employee id {person.employee_id}, enrolled at event "
                f"#{person.enrolled_seq}{state}"
            )
        self.query_one("#namesake-list", Static).update(lines)

    def submit(self) -> None:
        if self._working:
            return
        name, employee, role = self._value("name"), self._value("employee"), self._role()
        problem, field = None, ""
        if not name:
            problem, field = "Type the person's full name.", "#name"
        elif not employee:
            problem, field = "Type the person's employee id.", "#employee"
        elif role is None:
            problem, field = "Choose the person's role.", "#role"
        if problem:
            self._status(problem)
            self.query_one(field).focus()
            return
        assert role is not None
        roles = (role,)
        try:
            namesakes = self.enrolment.prepare(name, employee, roles)
            confirmed: tuple[str, ...] = ()
            if namesakes:
                ids = {p.person_id for p in namesakes}
                ticked = self.query_one("#different", Checkbox).value
                if not ticked or ids != {p.person_id for p in self.namesakes}:
                    self._show_namesakes(namesakes)
                    self._status(
                        f"Same name as someone enrolled. If this is a different person, "
                        f"{self._who_confirms()} tick above, then Enroll.",
                        "bold yellow",
                    )
                    self.query_one("#different", Checkbox).focus()
                    # Keep the tick, Enroll and this line in view together (the form scrolls at 80x24).
                    body = self.query_one("#body")
                    self.call_after_refresh(lambda: body.scroll_end(animate=False))
                    return
                confirmed = tuple(sorted(ids))
                self.enrolment.prepare(name, employee, roles, confirmed)
            else:
                self._show_namesakes([])
        except CeremonyError as error:
            self._status(sentence(error))
            return
        passphrase = self.take_passphrase()
        if passphrase is None:
            return
        enrolment = self.enrolment
        self._confirmed = confirmed
        self.start_work(
            f"making {name}'s signing key",
            lambda: enrolment.make_identity(name, employee, roles, passphrase),  # pure crypto, wipes it
        )

    def finish(self, result: object) -> None:
        assert isinstance(result, NewIdentity)
        try:
            person = self.enrolment.settle(result, self._confirmed)
        finally:
            result.identity.lock()
        self.dismiss(person)
