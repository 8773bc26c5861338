"""Participants: who is enrolled, what a ceremony still needs, and enrolment under dual control.

Enrolling needs a security officer AND a second enrolled person (anyone active but the officer) present,
each authenticated with their own passphrase: both sign every enrolment with the new person (DESIGN §1).
The one exception is the first enrolment after founding, when the founding officer is the only person
enrolled: the second form is not shown and the screen says why. The Enroll button is enabled only when the
people needed are present; otherwise a line says who is missing. On first run this screen follows the
ledger anchor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from cryptography.hazmat.primitives.serialization import Encoding
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from ceremony.crypto.fingerprint import printed, sha256_hex
from ceremony.flows.enrolment import Enrolment, missing_for_a_ceremony, splits_possible
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import Participant
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.screens.enroll import ROLE_LABELS
from ceremony.tui.widgets.auth_form import AuthForm

# Table columns and their widths: 66 characters, plus a cell's padding and the scrollbar, in 78 columns.
COLUMNS: tuple[tuple[str, int], ...] = (("Name", 22), ("Employee id", 11), ("Roles", 22), ("Status", 11))
# Role words in the table: short, so two roles fit their column.
TABLE_ROLES = {"administrator": "Administrator"}

FIRST_ENROLMENT = (
    "The first enrollment after founding needs only the founding officer: nobody else is enrolled yet. "
    "From the next one on, a second enrolled person authenticates too."
)


def officer_fingerprints(people: list[Participant]) -> Text:
    """Each active security officer's certificate fingerprint, grouped as people read it back: an auditor
    pins an exported bundle with it (``verify --bundle --officer-cert-sha256 "…as printed…"``, issue 15)."""
    text = Text()
    for person in people:
        if person.active and "security_officer" in person.roles:
            der = person.certificate.public_bytes(Encoding.DER)
            text.append(
                f"\nCertificate fingerprint (SHA-256) of {person.name} ({person.employee_id}):\n", "dim"
            )
            text.append(printed(sha256_hex(der)), "bold")
    return text


class ParticipantsScreen(CeremonyScreen[None]):
    TITLE = "Participants"
    HELP: ClassVar[str | None] = (
        "Everyone enrolled on this ledger. To enroll more people, a security officer and a second enrolled "
        "person (anyone active but the officer) each authenticate with their passphrase; both sign every "
        "enrollment, with the new person, who then types their own passphrase. Only the first enrollment "
        "after founding needs the founding officer alone. Esc goes back."
    )
    ALLOW_SELECT = False
    # The full width (first run's progress shows in the header): the table and two forms need it at 80x24.
    SHOW_STEPS: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "done", "Back"),
        Binding("e", "enroll", "Enroll"),
    ]

    def __init__(self, context: LedgerContext, *, steps: Sequence[str] = (), current_step: int = 0) -> None:
        super().__init__(steps=steps, current_step=current_step)
        self.context = context
        self.officer: PresentPerson | None = None
        self.second: PresentPerson | None = None
        self.presence: Presence | None = None

    # --- who may take part ----------------------------------------------------------------------------------
    def _active(self) -> list[Participant]:
        return self.context.people()

    def second_needed(self) -> bool:
        """A second person signs every enrolment but the first after founding (one person enrolled)."""
        return len(self._active()) > 1

    def _second_candidates(self) -> list[Participant]:
        active = self._active()
        officers = [p for p in active if "security_officer" in p.roles]
        excluded: str | None = None
        if self.officer is not None:
            excluded = self.officer.person_id
        elif len(officers) == 1:
            excluded = officers[0].person_id  # the only one who can be the officer
        return [p for p in active if p.person_id != excluded]

    # --- layout ---------------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static("", id="needs")
        table: DataTable[str] = DataTable(id="people", cursor_type="row", zebra_stripes=True)
        # Fixed widths that fit 80 columns with the scrollbar: a long name or role list is cut, never the
        # Status column.
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        yield table
        ledger = self.context.open()
        officers = self.context.people("security_officer")
        if ledger is not None and officers:
            self.presence = Presence(ledger)  # one presence: a failure is signed by whoever is present
            yield AuthForm(
                self.presence,
                officers,
                "security_officer",
                title="Security officer: authenticate to enroll people",
                id="officer",
            )
            if self.second_needed():
                yield self._second_form()
        yield Static("", id="second-why")
        yield Static("", id="missing")
        with Horizontal(id="actions"):
            yield Button("Enroll a participant", id="enroll", variant="primary", disabled=True)
            yield Button("Done", id="done")
        yield Static("", id="fingerprints")

    def _second_form(self) -> AuthForm:
        assert self.presence is not None
        return AuthForm(
            self.presence,
            self._second_candidates(),
            None,
            title="Second person (anyone enrolled but the officer): authenticate",
            id="second",
        )

    def on_mount(self) -> None:
        super().on_mount()
        # The table, the forms and the buttons take the focus (and scroll into view): the body itself is
        # no Tab stop, where nothing would show the focus.
        self.query_one("#body").can_focus = False
        self.refresh_people()
        forms = self.query(AuthForm)
        if forms:
            forms.first().focus_first()

    def refresh_people(self) -> None:
        people = self.context.people(active=False)
        table = self.query_one("#people", DataTable)
        table.clear()
        for p in people:
            roles = ", ".join(TABLE_ROLES.get(r) or ROLE_LABELS.get(r, r) for r in p.roles)
            table.add_row(p.name, p.employee_id, roles, "active" if p.active else "deactivated")
        missing = missing_for_a_ceremony(people)
        if missing:
            text = Text("A ceremony still needs: " + ", ".join(missing) + ".", style="bold yellow")
        else:
            splits = " or ".join(f"{m}-of-{n}" for m, n in splits_possible(people))
            text = Text(f"✓ Enough people are enrolled for a {splits} ceremony.", style="bold green")
        self.query_one("#needs", Static).update(text)
        self.query_one("#fingerprints", Static).update(officer_fingerprints(people))
        self.refresh_enrolling()

    def refresh_enrolling(self) -> None:
        """Enroll is enabled only with the people needed present; otherwise say who is missing."""
        needed = self.second_needed()
        self.query_one("#second-why", Static).update(
            "" if needed or self.presence is None else Text(FIRST_ENROLMENT, style="italic")
        )
        self.query_one("#second-why").display = not needed and self.presence is not None
        missing = self.missing_to_enroll()
        self.query_one("#enroll", Button).disabled = bool(missing)
        line = self.query_one("#missing", Static)
        line.update(Text(f"To enroll: {missing}", style="bold yellow") if missing else "")
        line.display = bool(missing)

    def missing_to_enroll(self) -> str:
        """Who still has to authenticate before an enrolment, in words ('' when everyone is there)."""
        if self.presence is None:
            return "no active security officer is enrolled on this ledger; nobody can enroll people."
        wanted = []
        if self.officer is None:
            wanted.append("a security officer")
        if self.second_needed() and self.second is None:
            other = (
                f"other than {self.officer.name}" if self.officer is not None else "other than the officer"
            )
            wanted.append(f"a second enrolled person ({other})")
        if not wanted:
            return ""
        return " and ".join(wanted) + (" authenticates." if len(wanted) == 1 else " authenticate.")

    # --- people arriving ------------------------------------------------------------------------------------
    @on(AuthForm.Authenticated, "#officer")
    def _officer_present(self, event: AuthForm.Authenticated) -> None:
        event.stop()
        person = event.person
        if self.second is not None and self.second.person_id == person.person_id:
            person.leave()
            event.form.reset(
                f"{person.name} is already present as the second person: another officer, please."
            )
            return
        if self.officer is not None:
            self.officer.leave()
        self.officer = person
        forms = self.query("#second")
        if forms:
            second_form = forms.first(AuthForm)
            second_form.offer(self._second_candidates())
        self.refresh_enrolling()
        self._focus_next_step()

    @on(AuthForm.Authenticated, "#second")
    def _second_present(self, event: AuthForm.Authenticated) -> None:
        event.stop()
        person = event.person
        if self.officer is not None and self.officer.person_id == person.person_id:
            person.leave()
            event.form.reset(f"{person.name} is the security officer: the second person is someone else.")
            return
        if self.second is not None:
            self.second.leave()
        self.second = person
        self.refresh_enrolling()
        self._focus_next_step()

    def _focus_next_step(self) -> None:
        if self.officer is None:
            self.query_one("#officer", AuthForm).focus_first()
        elif self.second_needed() and self.second is None and self.query("#second"):
            self.query_one("#second", AuthForm).focus_first()
        else:
            self.query_one("#enroll", Button).focus()

    # --- enrolling ------------------------------------------------------------------------------------------
    @on(Button.Pressed, "#enroll")
    def action_enroll(self) -> None:
        missing = self.missing_to_enroll()
        ledger = self.context.open()
        if missing or self.officer is None or ledger is None:
            self.notify(f"To enroll: {missing}", severity="warning")
            return
        second = self.second if self.second_needed() else None
        enrolment = Enrolment(ledger, self.officer, second, kdf=self.context.kdf)
        self.post_message(Open(Place.ENROLMENT, (self.context, enrolment), self._enrolled))

    async def _enrolled(self, person: Participant | None) -> None:
        if self.second_needed() and not self.query("#second"):
            # The first enrolment after founding is done: from now on a second person signs too.
            await self.query_one("#body").mount(self._second_form(), after="#officer")
        self.refresh_people()
        if person is not None:
            self.notify(f"{person.name} is enrolled as {', '.join(person.roles)}.")
        self._focus_next_step()

    def _everyone_leaves(self) -> None:
        for present in (self.officer, self.second):
            if present is not None:
                present.leave()  # their keys are locked again
        self.officer = self.second = None

    @on(Button.Pressed, "#done")
    def action_done(self) -> None:
        self._everyone_leaves()
        self.dismiss(None)

    def on_cancel_requested(self) -> None:
        self._everyone_leaves()
