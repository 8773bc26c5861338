"""Custodian departure (PCI DSS 3.7.5): a security officer and a witness record that a person leaves custody.

The flow deactivates the person and lists every key they ever had knowledge of — any split, retired or not
— now flagged "must be replaced" until a re-share or re-key clears the flag. The list is shown here and
stays on the key list. Then the screen asks about *each* sealed envelope the person held
(:mod:`ceremony.flows.envelopes`): returned sealed and destroyed by the security officer under the witness's
eyes (the serial read from it must be the recorded one), returned with a broken seal, or not returned (an
incident each; a share not returned stays held by the person who left). Done issues the destruction
certificate, signed by both, when envelopes were destroyed.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError
from ceremony.flows.common import read_register
from ceremony.flows.departure import Departure, account_envelope, envelopes_held, record_departure
from ceremony.flows.envelopes import CHOICES, AffectedEnvelope, EnvelopeOutcome, Outcome
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.lifecycle.base import LIFECYCLE_CSS, close_flow_screen, refusal_text
from ceremony.tui.screens.lifecycle.key_list import MUST_BE_REPLACED
from ceremony.tui.widgets.auth_form import AuthForm

DEPARTURE_STEPS = ("Security officer & witness", "Who leaves, and why", "Keys to replace", "Envelopes")


class DepartureScreen(CeremonyScreen[None]):
    TITLE = "Custodian departure"
    HELP: ClassVar[str | None] = (
        "A security officer and a witness authenticate, choose the person who leaves custody and state why. "
        "The person is deactivated; every key they ever knew is flagged “must be replaced” (PCI DSS 3.7.5) "
        "until a re-share to new custodians clears it. Then say what became of each envelope they held: "
        "returned sealed (type the serial read from it; the officer destroys it, the witness watches), "
        "returned with a broken seal, or not returned (an incident each). Done issues the destruction "
        "certificate, signed by both."
    )
    ALLOW_SELECT = False
    CSS_PATH = LIFECYCLE_CSS

    def __init__(self, ledger: Ledger, presence: Presence | None = None) -> None:
        super().__init__(steps=DEPARTURE_STEPS, current_step=0)
        self.ledger = ledger
        self.presence = presence or Presence(ledger)
        self.officer: PresentPerson | None = None
        self.witness: PresentPerson | None = None
        self.recorded = False
        self.departure: Departure | None = None
        self.outcomes: list[EnvelopeOutcome] = []
        self.leave_unanswered = False
        self.certified = False

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.ledger) if p.active]
        officers = [p for p in people if "security_officer" in p.roles]
        yield AuthForm(self.presence, officers, "security_officer", title="Security officer", id="officer")
        self.witnesses = [p for p in people if "witness" in p.roles]
        # Dual control: the one security officer there is can never be the witness too, so not offered.
        lone = {officers[0].person_id} if len(officers) == 1 else set()
        yield AuthForm(
            self.presence,
            [p for p in self.witnesses if p.person_id not in lone] or self.witnesses,
            "witness",
            title="Witness",
            id="witness",
        )
        yield Label("Person leaving custody")
        yield Select(
            [(f"{p.name} ({p.employee_id})", p.person_id) for p in people],
            prompt="Choose the person",
            id="person",
        )
        yield Label("Reason")
        yield Input(placeholder="e.g. left the company on 2026-11-20", id="reason", max_length=200)
        yield Button("Record the departure", id="record", variant="warning")
        yield Static("", id="flagged")
        yield Label("Envelopes they held: what became of each?")
        yield Static("Record the departure first.", id="envelope-ask")
        yield Select([], prompt="Envelope", id="which")
        yield Select(list(CHOICES), id="outcome", value=Outcome.DESTROYED.value, allow_blank=False)
        yield Input(placeholder="serial as read from the envelope", id="serial", max_length=40)
        yield Input(placeholder="returned by (name)", id="returned-by", max_length=80)
        yield Input(placeholder="note (seal, why not returned...)", id="envelope-note", max_length=200)
        yield Button("Record this envelope", id="envelope")
        yield Button("Done", id="done")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#officer", AuthForm).focus_first()

    def status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#status", Static).update(text if isinstance(text, Text) else Text(text, style=style))

    def _same_person(
        self, form: AuthForm, person: PresentPerson, other: PresentPerson | None, as_what: str
    ) -> bool:
        """Dual control (DESIGN §1): the officer and the witness are two different people. Refused on the
        form itself the moment the second one authenticates, where it is seen at 80x24 (issue 15)."""
        if other is None or other.person_id != person.person_id:
            return False
        person.leave()
        form.reset(
            f"✗ {person.name} is already the {as_what}: dual control needs two different people. "
            "Choose someone else."
        )
        return True

    @on(AuthForm.Authenticated, "#officer")
    def _officer(self, event: AuthForm.Authenticated) -> None:
        if self._same_person(event.form, event.person, self.witness, "witness"):
            return
        if self.officer is not None:
            self.officer.leave()
        self.officer = event.person
        witness = self.query_one("#witness", AuthForm)
        # The witness list no longer offers the officer (another person witnesses).
        witness.offer([p for p in self.witnesses if p.person_id != event.person.person_id])
        if self.witness is None:
            witness.focus_first()
        else:
            self._both_present()

    @on(AuthForm.Authenticated, "#witness")
    def _witness(self, event: AuthForm.Authenticated) -> None:
        if self._same_person(event.form, event.person, self.officer, "security officer"):
            return
        if self.witness is not None:
            self.witness.leave()
        self.witness = event.person
        if self.officer is None:
            self.query_one("#officer", AuthForm).focus_first()
        else:
            self._both_present()

    def _both_present(self) -> None:
        steps = self.step_list
        if steps is not None:
            steps.current = 1
        self.query_one("#person", Select).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#record")
    def record(self) -> None:
        if self.recorded:
            return
        if self.officer is None or self.witness is None:
            self.status("The security officer and the witness authenticate first.", "bold red")
            return
        person = self.query_one("#person", Select).value
        if not isinstance(person, str):
            self.status("Choose the person leaving custody.", "bold red")
            return
        try:
            departure = record_departure(
                self.ledger, person, self.query_one("#reason", Input).value, self.officer, self.witness
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.recorded = True
        self.departure = departure
        register = read_register(self.ledger.events())
        text = Text(f"✓ {departure.name} deactivated (ledger event #{departure.seq}).\n", style="bold green")
        if departure.keys:
            text.append(f"{len(departure.keys)} key(s) now {MUST_BE_REPLACED}:\n", style="bold red")
            for key_id in departure.keys:
                label = register.keys[key_id].label if key_id in register.keys else ""
                text.append(f"  ⚠ {label} ({key_id[:8]})\n", style="red")
            text.append("Re-share each to new custodians (reason: departure) to clear the flag.")
        else:
            text.append("They never had knowledge of any key: nothing to replace.")
        self.query_one("#flagged", Static).update(text)
        self.status("")
        steps = self.step_list
        if steps is not None:
            steps.current = 2
        self.query_one("#record", Button).disabled = True
        self._ask_next()

    # --- the envelopes they held -------------------------------------------------------------------------
    def _outstanding(self) -> list[AffectedEnvelope]:
        if self.departure is None:
            return []
        return envelopes_held(self.ledger, self.departure.person_id)

    def _ask_next(self) -> None:
        left = self._outstanding()
        which = self.query_one("#which", Select)
        which.set_options([(e.short(), e.serial) for e in left])
        ask = self.query_one("#envelope-ask", Static)
        if not left:
            held = "every envelope they held is accounted for" if self.outcomes else "they held no envelope"
            ask.update(Text(f"✓ {held.capitalize()}.", style="green"))
            self.query_one("#done", Button).focus()
            return
        steps = self.step_list
        if steps is not None:
            steps.current = 3
        which.value = left[0].serial
        ask.update(Text(f"{len(left)} envelope(s) to account for. Now: {left[0].describe()}", style="bold"))
        self.query_one("#serial", Input).focus()

    def _chosen(self) -> AffectedEnvelope | None:
        value = self.query_one("#which", Select).value
        return next((e for e in self._outstanding() if e.serial == value), None)

    @on(Select.Changed, "#which")
    def _which_changed(self) -> None:
        left = self._outstanding()
        value = self.query_one("#which", Select).value
        chosen = next((e for e in left if e.serial == value), None)
        if chosen is not None:
            line = f"{len(left)} envelope(s) to account for. Now: {chosen.describe()}"
            self.query_one("#envelope-ask", Static).update(Text(line, style="bold"))

    @on(Input.Submitted, "#serial")
    @on(Input.Submitted, "#returned-by")
    @on(Input.Submitted, "#envelope-note")
    @on(Button.Pressed, "#envelope")
    def envelope(self) -> None:
        if self.officer is None or self.witness is None or self.departure is None:
            self.status("Record the departure first.", "bold red")
            return
        chosen = self._chosen()
        if chosen is None:
            self.status("Choose one of the envelopes they held.", "bold red")
            return
        outcome = Outcome(str(self.query_one("#outcome", Select).value))
        serial = self.query_one("#serial", Input).value
        returned_by = self.query_one("#returned-by", Input).value
        if outcome is Outcome.DESTROYED and (not serial.strip() or not returned_by.strip()):
            self.status("Type the serial as read from the envelope and who handed it back.", "bold red")
            return
        try:
            done = account_envelope(
                self.ledger,
                chosen,
                outcome,
                self.officer,
                self.witness,
                serial_read=serial,
                returned_by=returned_by,
                note=self.query_one("#envelope-note", Input).value,
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self.outcomes.append(done)
        if done.outcome is Outcome.DESTROYED:
            line = f"✓ Envelope {chosen.serial}: serial checked, DESTROYED (event #{done.seq})."
        else:
            line = f"⚠ Envelope {chosen.serial}: {outcome.value}: incident (event #{done.seq})."
        self.status(Text(line, style="green" if done.outcome is Outcome.DESTROYED else "bold red"))
        for field_id in ("#serial", "#envelope-note"):
            self.query_one(field_id, Input).value = ""
        self.leave_unanswered = False
        self._ask_next()

    @on(Button.Pressed, "#done")
    async def done(self) -> None:
        left = self._outstanding()
        if left and not self.leave_unanswered:
            self.leave_unanswered = True
            self.status(
                f"{len(left)} envelope(s) not accounted for, e.g. {left[0].serial}: say what became of each "
                "(they stay held on record otherwise). Press Done again to leave anyway.",
                "bold red",
            )
            return
        destroyed = [o for o in self.outcomes if o.outcome is Outcome.DESTROYED]
        if destroyed and not self.certified and self.officer is not None and self.witness is not None:
            from ceremony.flows.paperwork import async_issue_destruction_certificate

            assert self.departure is not None
            who = self.departure.name
            try:
                _, path = await async_issue_destruction_certificate(
                    self.ledger,
                    self.outcomes,
                    self.officer,
                    self.witness,
                    occasion=f"Departure of {who} (event #{self.departure.seq})",
                )
            except (CeremonyError, OSError) as error:
                self.status(f"The destruction certificate was not issued: {error}", "bold red")
                return
            self.certified = True
            self.status(
                Text(
                    f"✓ Destruction certificate signed and kept: {path}. Press Done again to leave.",
                    style="bold green",
                )
            )
            return
        self._release()
        close_flow_screen(self)

    def _release(self) -> None:
        for person in (self.officer, self.witness):
            if person is not None:
                person.leave()

    def on_cancel_requested(self) -> None:
        self._release()  # nothing is half-recorded: the departure is one event


def departure_screen(ledger: Ledger, presence: Presence | None = None) -> Screen[None]:
    """The custodian departure screen (push it from a menu)."""
    return DepartureScreen(ledger, presence)
