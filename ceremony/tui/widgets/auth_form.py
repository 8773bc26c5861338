"""Who is present: pick a person, they type their passphrase, the flow unlocks their key.

The unlock (scrypt: about half a second with production parameters) runs in a worker thread while a
"working" line is on screen, so the interface stays responsive: ``Presence.prepare`` (ledger reads) and
``Presence.settle`` (records a failure) run on the main thread, which owns the ledger's SQLite connection,
and only the pure ``Candidate.unlock`` moves to the worker. A wrong passphrase is shown with
the tries left; the third locks the person out and the form says so plainly (the flow records every
failure in the ledger, and the lockout is read back from it: it survives a restart). Choosing a person
locked out on record shows it at once, with the event that locked them out and who can lift it (a
security officer and a witness). Choosing a person leaves the focus on the list, so Tab goes on to the
passphrase field as it does everywhere: no widget moves the focus by itself. The passphrase leaves the
field as ``SecretBytes`` and the field is emptied at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Select, Static

from ceremony.crypto.identity import UnlockedIdentity
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import CeremonyError, WrongPassphraseError
from ceremony.flows.presence import Attempts, Candidate, LockedOutError, Presence, PresentPerson
from ceremony.ledger.participants import Participant
from ceremony.tui.widgets.secret_input import SecretInput

WHERE_TO_LIFT = " (main menu: Lift a lockout)"


class AuthForm(Vertical):
    """One person authenticates for ``role`` (``None``: any enrolled person, in the first role they hold,
    e.g. the second person of an enrolment). Posts :class:`AuthForm.Authenticated` on success."""

    ALLOW_SELECT = False

    class Authenticated(Message):
        def __init__(self, form: AuthForm, person: PresentPerson) -> None:
            super().__init__()
            self.form = form
            self.person = person

        @property
        def control(self) -> AuthForm:
            return self.form

    def __init__(
        self,
        presence: Presence,
        people: Sequence[Participant],
        role: str | None,
        *,
        title: str,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="auth-form")
        self.presence = presence
        self.people = {p.person_id: p for p in people}
        self.role = role
        self.title = title
        self._pending: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title, style="bold"), classes="auth-title")
        with Horizontal(classes="auth-row"):
            if len(self.people) == 1:
                person = next(iter(self.people.values()))
                yield Static(f"{person.name} ({person.employee_id})", classes="auth-person")
            else:
                options = [(f"{p.name} ({p.employee_id})", p.person_id) for p in self.people.values()]
                yield Select(options, prompt="Choose a person", classes="auth-select")
            yield SecretInput(placeholder="passphrase, Enter", classes="auth-passphrase")
        yield Static("", classes="auth-status")

    def on_mount(self) -> None:
        if len(self.people) == 1:
            self.show_lockout()  # the one person offered may be locked out on record

    @property
    def person_id(self) -> str | None:
        if len(self.people) == 1:
            return next(iter(self.people))
        value = self.query_one(Select).value
        return value if isinstance(value, str) else None

    def focus_first(self) -> None:
        if len(self.people) == 1:
            self.query_one(SecretInput).focus()
        else:
            self.query_one(Select).focus()

    def _status(self, text: str, style: str = "") -> None:
        self.query_one(".auth-status", Static).update(Text(text, style=style))

    def locked_out(self, person_id: str) -> Attempts | None:
        """``person_id``'s wrong passphrases when they are locked out (on record or pending), else None."""
        return self.presence.locked_out(person_id)

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        event.stop()
        person_id = self.person_id
        attempts = self.locked_out(person_id) if person_id else None
        if person_id and attempts is not None:
            self._status(self._lockout_text(person_id, attempts), "bold red")
        else:
            self._status("")  # the focus stays on the list: Tab goes on to the passphrase, as everywhere

    def _lockout_text(self, person_id: str, attempts: Attempts) -> str:
        why = attempts.describe(self.people[person_id].name)
        return f"LOCKED OUT: {why}{WHERE_TO_LIFT}. Choose someone else."

    def show_lockout(self) -> bool:
        """Show the chosen person's lockout, if they are locked out (e.g. when the form is first shown)."""
        person_id = self.person_id
        attempts = self.locked_out(person_id) if person_id else None
        if person_id is None or attempts is None:
            return False
        self._status(self._lockout_text(person_id, attempts), "bold red")
        return True

    @on(Input.Submitted, ".auth-passphrase")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:
        if self._pending is not None:
            return
        field = self.query_one(SecretInput)
        person_id = self.person_id
        if person_id is None:
            self._status("Choose who is authenticating first.", "bold red")
            self.focus_first()
            return
        if field.is_empty:
            self._status("Type the passphrase, then press Enter.", "bold red")
            field.focus()
            return
        secret = field.value_secret()
        field.wipe()
        try:
            candidate = self.presence.prepare(person_id, self.role or self.people[person_id].roles[0])
        except LockedOutError as error:
            secret.wipe()
            self._status(f"LOCKED OUT: {error}{WHERE_TO_LIFT}. Choose someone else.", "bold red")
            field.focus()
            return
        except CeremonyError as error:
            secret.wipe()
            self._status(str(error), "bold red")
            field.focus()
            return
        self._pending = person_id
        field.disabled = True
        self._status(f"Working: unlocking {self.people[person_id].name}'s key…", "bold yellow")
        self._unlock(candidate, secret)

    @work(thread=True, exclusive=True, group="auth")
    def _unlock(self, candidate: Candidate, secret: SecretBytes) -> None:
        outcome = candidate.unlock(secret)  # pure crypto: no ledger access off the main thread
        self.app.call_from_thread(self._settle, candidate, outcome)

    def _settle(self, candidate: Candidate, outcome: UnlockedIdentity | WrongPassphraseError) -> None:
        field = self.query_one(SecretInput)
        person_id = candidate.person.person_id
        try:
            person = self.presence.settle(candidate, outcome)
        except WrongPassphraseError as error:
            attempts = self.locked_out(person_id)
            if attempts is not None:
                lockout = self._lockout_text(person_id, attempts)
                name = candidate.person.name
                self._status(f"The passphrase did not unlock {name}'s key. {lockout}", "bold red")
            else:
                self._status(str(error), "bold red")
            field.focus()
            return
        except CeremonyError as error:
            self._status(str(error), "bold red")
            field.focus()
            return
        finally:
            self._pending = None
            field.disabled = False
        self._status(f"✓ {person.name} is present and authenticated.", "bold green")
        self.post_message(self.Authenticated(self, person))

    def offer(self, people: Sequence[Participant]) -> None:
        """Offer ``people`` instead (e.g. everyone but the security officer who just authenticated). The
        choice is kept when that person is still offered."""
        if len(self.people) == 1 or not people:
            return  # a one-person form has no list to change
        chosen = self.person_id
        self.people = {p.person_id: p for p in people}
        select: Select[str] = self.query_one(Select)
        with self.prevent(Select.Changed):  # a changed list is not the person's choice
            select.set_options([(f"{p.name} ({p.employee_id})", p.person_id) for p in people])
            if chosen in self.people:
                select.value = chosen
            elif len(self.people) == 1:
                select.value = next(iter(self.people))

    def reset(self, message: str = "") -> None:
        """Start over (e.g. after the flow refused this person for the role)."""
        self.query_one(SecretInput).wipe()
        self._status(message, "bold red" if message else "")
        self.focus_first()


def control_forms(presence: Presence, people: Sequence[Participant]) -> tuple[AuthForm, AuthForm]:
    """The administrator's and the witness's forms (ids ``administrator`` and ``witness``), each offering
    the active people enrolled for that role: every ceremony starts with these two (dual control)."""
    return (
        AuthForm(
            presence,
            [p for p in people if "administrator" in p.roles],
            "administrator",
            title="Ceremony administrator",
            id="administrator",
        ),
        AuthForm(
            presence, [p for p in people if "witness" in p.roles], "witness", title="Witness", id="witness"
        ),
    )
