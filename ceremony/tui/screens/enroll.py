"""Enroll one participant: name, employee id, role, and a passphrase the person types twice themselves.

The signing identity is made by ``ceremony.crypto.identity.enroll_identity`` (scrypt with production
cost, about half a second) and recorded by ``ceremony.ledger.participants.enroll``, in a worker thread
behind a "working" line. The new person signs their own enrollment (proving the passphrase opens the new
key) and the security officer who is present co-signs it (DESIGN §1; the first security officer of an
empty ledger has no one to co-sign). The screen is dismissed with the recorded :class:`Participant`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from cryptography import x509
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from ceremony.crypto.identity import UnlockedIdentity, enroll_identity, unlock
from ceremony.crypto.ids import new_id
from ceremony.crypto.secret import SecretBytes
from ceremony.errors import CeremonyError, InputError
from ceremony.flows.presence import PresentPerson
from ceremony.ledger import participants
from ceremony.ledger.participants import Participant
from ceremony.ledger.store import Attester, Ledger
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.widgets.secret_input import SecretInput

MIN_PASSPHRASE = 12  # characters; the key is also protected by scrypt's cost

ROLE_LABELS: dict[str, str] = {
    "security_officer": "Security officer",
    "administrator": "Ceremony administrator",
    "witness": "Witness",
    "custodian": "Key custodian",
}


def open_ledger(path: Path, rehearsal: bool = False) -> Ledger:
    """Open (creating it on the first enrollment) the ledger the app records to."""
    return Ledger.open(path, create=True, rehearsal=rehearsal)


@dataclass(frozen=True)
class _NewIdentity:
    name: str
    employee_id: str
    certificate: x509.Certificate
    blob: bytes
    identity: UnlockedIdentity


class EnrollScreen(CeremonyScreen[Participant | None]):
    TITLE = "Enroll a participant"
    HELP: ClassVar[str | None] = (
        "The person being enrolled types their own name, employee id and passphrase (twice; at least "
        f"{MIN_PASSPHRASE} characters). Nobody else should see the keyboard while they type it. The "
        "passphrase protects their signing key and is never stored. Esc goes back without enrolling."
    )
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(
        self,
        context: LedgerContext,
        officer: PresentPerson | None,
        *,
        roles: Sequence[str] = tuple(ROLE_LABELS),
    ) -> None:
        super().__init__()
        self.context = context
        self.officer = officer
        self.roles = tuple(roles)
        self._working = False

    def compose_body(self) -> ComposeResult:
        if self.officer is None:
            intro = "The first security officer of this ledger enrolls themselves."
        else:
            intro = f"Enrolled by security officer {self.officer.name}. The new person types below."
        yield Static(intro, classes="intro")
        yield Label("Full name")
        yield Input(placeholder="as on their ID badge", id="name", max_length=64)
        yield Label("Employee id")
        yield Input(placeholder="e.g. E1234", id="employee", max_length=64)
        if len(self.roles) > 1:
            yield Label("Role")
            yield Select([(ROLE_LABELS[r], r) for r in self.roles], prompt="Choose the role", id="role")
        else:
            yield Static(Text(f"Role: {ROLE_LABELS[self.roles[0]]}", style="bold"))
        yield Label(f"Passphrase (at least {MIN_PASSPHRASE} characters)")
        yield SecretInput(placeholder="typed by the person being enrolled", id="passphrase")
        yield Label("The same passphrase again")
        yield SecretInput(placeholder="repeat it", id="repeat")
        yield Button("Enroll", id="enroll", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#name", Input).focus()

    def _status(self, text: str, style: str = "bold red") -> None:
        self.query_one("#status", Static).update(Text(text, style=style))

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "repeat":
            self.enroll()
        else:
            self.focus_next()

    @on(Button.Pressed, "#enroll")
    def _enroll_pressed(self) -> None:
        self.enroll()

    def _role(self) -> str | None:
        if len(self.roles) == 1:
            return self.roles[0]
        value = self.query_one("#role", Select).value
        return value if isinstance(value, str) else None

    def enroll(self) -> None:
        if self._working:
            return
        name = self.query_one("#name", Input).value.strip()
        employee = self.query_one("#employee", Input).value.strip()
        role = self._role()
        first = self.query_one("#passphrase", SecretInput)
        second = self.query_one("#repeat", SecretInput)
        problem = None
        if not name:
            problem = "Type the person's full name."
        elif not employee:
            problem = "Type the person's employee id."
        elif role is None:
            problem = "Choose the person's role."
        elif len(first.value) < MIN_PASSPHRASE:
            problem = f"The passphrase is too short: at least {MIN_PASSPHRASE} characters."
        if problem:
            self._status(problem)
            return
        passphrase, again = first.value_secret(), second.value_secret()
        same = passphrase == again
        again.wipe()
        first.wipe()
        second.wipe()
        if not same:
            passphrase.wipe()
            self._status("The two passphrases differ. Type it twice again.")
            first.focus()
            return
        assert role is not None
        self._working = True
        self.query_one("#enroll", Button).disabled = True
        self._status(f"Working: making {name}'s signing key…", "bold yellow")
        self.run_worker(
            lambda: self._make_identity(name, employee, passphrase),
            thread=True,
            exit_on_error=False,
            name="enroll",
        )

    def _make_identity(self, name: str, employee: str, passphrase: SecretBytes) -> _NewIdentity:
        # Runs in a worker thread, pure crypto only (SQLite connections belong to the main thread):
        # scrypt twice, to seal the key and to unlock it so the new person signs their own enrollment.
        try:
            certificate, blob = enroll_identity(name, employee, passphrase, kdf=self.context.kdf)
            identity = unlock(blob, certificate, passphrase)
        finally:
            passphrase.wipe()
        return _NewIdentity(name, employee, certificate, blob, identity)

    def _record(self, new: _NewIdentity, role: str) -> Participant:
        try:
            ledger = self.context.open()
            if ledger is None:
                ledger = self.context.ledger = open_ledger(self.context.ledger_path, self.context.rehearsal)
            person_id = new_id()
            signers: list[Attester | PresentPerson] = [Attester(person_id, new.identity)]
            actors = [person_id]
            if self.officer is not None:
                signers.append(self.officer)
                actors.insert(0, self.officer.person_id)
            return participants.enroll(
                ledger,
                name=new.name,
                employee_id=new.employee_id,
                roles=(role,),
                certificate=new.certificate,
                key_blob=new.blob,
                actors=actors,
                signers=signers,
                person_id=person_id,
            )
        finally:
            new.identity.lock()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "enroll" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self._working = False
        self.query_one("#enroll", Button).disabled = False
        try:
            if event.state is WorkerState.SUCCESS:
                new = event.worker.result
                assert isinstance(new, _NewIdentity)
                role = self._role()
                assert role is not None
                person = self._record(new, role)
                self.dismiss(person)
                return
            error = event.worker.error
            if not isinstance(error, CeremonyError):
                raise error if error is not None else InputError("enrollment failed")
            self._status(str(error))
        except CeremonyError as error:
            self._status(str(error))

    def action_back(self) -> None:
        if not self._working:
            self.dismiss(None)
