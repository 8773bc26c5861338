"""Participants: who is enrolled, what a ceremony still needs, and enrollment by a present security officer.

Enrolling needs a security officer present (their passphrase unlocked their key): they co-sign every
enrollment (DESIGN §1). On first run this screen follows the first security officer's own enrollment.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import Participant
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.screens.enroll import ROLE_LABELS, EnrollScreen
from ceremony.tui.widgets.auth_form import AuthForm

# What one generation ceremony needs at the least: control roles held by different people, and enough
# custodians for a 2-of-2 split (PCI DSS 3.6.1.2: split knowledge and dual control).
NEEDED: tuple[tuple[str, int], ...] = (("administrator", 1), ("witness", 1), ("custodian", 2))


def missing_for_a_ceremony(people: list[Participant]) -> list[str]:
    """What is still missing, in words: e.g. ['a witness', '1 more key custodian']."""
    out: list[str] = []
    for role, count in NEEDED:
        have = sum(1 for p in people if p.active and role in p.roles)
        if have < count:
            label = ROLE_LABELS[role].lower()
            out.append(
                f"a {label}"
                if count == 1
                else f"{count - have} more {label}{'s' if count - have > 1 else ''}"
            )
    return out


class ParticipantsScreen(CeremonyScreen[None]):
    TITLE = "Participants"
    HELP: ClassVar[str | None] = (
        "Everyone enrolled on this ledger. A security officer authenticates (passphrase) to enroll more "
        "people; each new person then types their own passphrase. Esc goes back."
    )
    ALLOW_SELECT = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "done", "Back"),
        Binding("e", "enroll", "Enroll"),
    ]

    def __init__(self, context: LedgerContext, *, first_run: bool = False) -> None:
        steps = ("Welcome", "First security officer", "Ceremony participants") if first_run else ()
        super().__init__(steps=steps, current_step=2)
        self.context = context
        self.first_run = first_run
        self.officer: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="needs")
        table: DataTable[str] = DataTable(id="people", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Employee id", "Role", "Status")
        yield table
        ledger = self.context.open()
        officers = self.context.people("security_officer")
        if ledger is not None and officers:
            yield AuthForm(
                Presence(ledger),
                officers,
                "security_officer",
                title="Security officer: authenticate to enroll people",
                id="officer",
            )
        with Horizontal(id="actions"):
            yield Button("Enroll a participant", id="enroll", variant="primary", disabled=True)
            yield Button("Done", id="done")

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_people()
        forms = self.query(AuthForm)
        if forms:
            forms.first().focus_first()

    def refresh_people(self) -> None:
        people = self.context.people(active=False)
        table = self.query_one("#people", DataTable)
        table.clear()
        for p in people:
            roles = ", ".join(ROLE_LABELS.get(r, r) for r in p.roles)
            table.add_row(p.name, p.employee_id, roles, "active" if p.active else "deactivated")
        missing = missing_for_a_ceremony(people)
        if missing:
            text = Text("A ceremony still needs: " + ", ".join(missing) + ".", style="bold yellow")
        else:
            text = Text("✓ Enough people are enrolled for a 2-of-n ceremony.", style="bold green")
        self.query_one("#needs", Static).update(text)

    @on(AuthForm.Authenticated)
    def _officer_present(self, event: AuthForm.Authenticated) -> None:
        self.officer = event.person
        button = self.query_one("#enroll", Button)
        button.disabled = False
        button.focus()

    @on(Button.Pressed, "#enroll")
    def action_enroll(self) -> None:
        if self.officer is None:
            self.notify("A security officer authenticates first.", severity="warning")
            return
        self.app.push_screen(EnrollScreen(self.context, self.officer), self._enrolled)

    def _enrolled(self, person: Participant | None) -> None:
        self.refresh_people()
        if person is not None:
            self.notify(f"{person.name} is enrolled as {', '.join(person.roles)}.")
        self.query_one("#enroll", Button).focus()

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        if self.officer is not None:
            self.officer.leave()
            self.officer = None
        self.dismiss(None)
