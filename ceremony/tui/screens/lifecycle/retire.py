"""Retirement / destruction of a key or a split, witnessed (DESIGN §4.6; PCI DSS 3.6.1, 3.7.5).

The air-gap preflight runs first, as in generation (:class:`~ceremony.tui.screens.lifecycle.preflight.
PreflightPanel`): an uncovered finding blocks on a production ledger; a rehearsal may record it and go on.
Then the purpose and the place of the ceremony; administrator and witness authenticate and the flow starts the
ceremony and records the preflight. The operator chooses a key (it and all its splits) or one split, the
reason (end of cryptoperiod, compromise suspected, replaced) and a note; the flow records it. From then on
every flow refuses the key's or split's shares. A split retired earlier whose envelopes were never accounted
for (a re-share retires its old split without asking) is offered too, as "Envelopes of retired split …":
choosing it retires nothing and asks about its envelopes. Then the screen asks about *each* envelope of the
splits retired (:mod:`ceremony.flows.envelopes`): returned sealed and destroyed (the serial read from it is
checked against the recorded one; the administrator destroys it under the witness's eyes), returned with a
broken seal, or not returned (an incident each). Close issues the destruction certificate (signed by both)
when envelopes were destroyed, then ends the ceremony and issues its minutes (signed by administrator and
witness). Nothing secret is on this screen.
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
from ceremony.flows.envelopes import CHOICES, AffectedEnvelope, Outcome, retired_outstanding
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.retirement import RetirementCeremony, RetirementReason
from ceremony.flows.retirement import Stage as RetirementStage
from ceremony.flows.steps import RETIREMENT_TITLES
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import run_preflight
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.gen_session import PreflightRunner
from ceremony.tui.screens.lifecycle.base import LIFECYCLE_CSS, close_flow_screen, refusal_text
from ceremony.tui.screens.lifecycle.preflight import PreflightPanel
from ceremony.tui.screens.lifecycle.session import PREFLIGHT_BLOCKED, PreflightGate
from ceremony.tui.widgets.auth_form import AuthForm

RETIRE_STEPS = RETIREMENT_TITLES  # one source: ceremony.flows.steps
STEP_AUTH, STEP_RETIRE, STEP_ENVELOPES, STEP_CLOSE = 1, 2, 3, 4
OUTCOMES = list(CHOICES)


def envelope_options(envelopes: list[AffectedEnvelope]) -> list[tuple[str, str]]:
    """One line per envelope still to account for (fits 80 columns)."""
    return [(e.short(), e.serial) for e in envelopes]


def targets(ledger: Ledger) -> list[tuple[str, str]]:
    """What may be retired: each active key (with all its splits), and each active split on its own; then
    each split retired earlier (a re-share's old split, a retirement closed with envelopes unanswered)
    whose envelopes are still to account for: choosing it retires nothing, it asks about those envelopes."""
    register = read_register(ledger.events())
    options: list[tuple[str, str]] = []
    for key in register.keys.values():
        if key.retired:
            continue
        options.append(
            (f"Key {key.label} ({key.key_id[:8]}, KCV {key.kcv.hex}) and all its splits", f"key:{key.key_id}")
        )
        for split in register.active_splits(key.key_id):
            options.append((f"  only {split.label} of {key.label}", f"split:{split.split_id}"))
    for split_id, left in retired_outstanding(register).items():
        label = left[0].key_label[:20]
        options.append(
            (f"Envelopes of retired split {split_id} of {label} ({len(left)} held)", f"envelopes:{split_id}")
        )
    return options


class RetireScreen(CeremonyScreen[None]):
    TITLE = "Retire a key or split"
    HELP: ClassVar[str | None] = (
        "The air-gap preflight runs first (a finding no exception covers blocks; a rehearsal may record it). "
        "State the purpose and the place; administrator and witness authenticate. Choose the key (with all "
        "its splits) or one split, the reason and a note, then Retire: every later ceremony refuses its "
        "shares. 'Envelopes of retired split' (e.g. a re-share's old split) retires nothing: Retire takes "
        "its envelopes up. Then say what became of each envelope of the retired splits: returned sealed "
        "(type the serial read from it: it must be the recorded one; it is destroyed under dual control), "
        "returned with a broken seal, or not returned (an incident each). Close issues the destruction "
        "certificate and the minutes, both signed by administrator and witness."
    )
    ALLOW_SELECT = False
    CSS_PATH = LIFECYCLE_CSS

    def __init__(
        self, ledger: Ledger, presence: Presence | None = None, run_preflight: PreflightRunner = run_preflight
    ) -> None:
        super().__init__(steps=RETIRE_STEPS, current_step=0)
        self.ledger = ledger
        self.presence = presence or Presence(ledger)
        self.preflight = PreflightGate(ledger, run_preflight)
        self.administrator: PresentPerson | None = None
        self.ceremony: RetirementCeremony | None = None
        self.leave_unanswered = False  # Close pressed once with envelopes unanswered: a second press goes on

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.ledger) if p.active]
        yield PreflightPanel(self.preflight, continue_label="Continue", id="preflight")
        yield Label("Purpose of this ceremony")
        yield Input(
            placeholder="e.g. ZMK replaced; destroy the old split's envelopes", id="purpose", max_length=200
        )
        yield Label("Place of the ceremony (for the minutes)")
        yield Input(placeholder="e.g. Vault room 2, HQ", id="location", max_length=200)
        yield AuthForm(
            self.presence,
            [p for p in people if "administrator" in p.roles],
            "administrator",
            title="Ceremony administrator",
            id="administrator",
        )
        yield AuthForm(
            self.presence,
            [p for p in people if "witness" in p.roles],
            "witness",
            title="Witness",
            id="witness",
        )
        yield Label("Retire")
        yield Select(targets(self.ledger), prompt="Choose a key or a split", id="target")
        yield Label("Reason")
        yield Select([(r.value, r.value) for r in RetirementReason], prompt="Choose the reason", id="reason")
        yield Input(placeholder="note (optional), e.g. replaced by key ZMK-2027", id="note", max_length=200)
        yield Button("Retire", id="retire", variant="warning")
        yield Label("Envelopes of the retired splits: what became of each?")
        yield Static("Retire a key or a split first.", id="envelope-ask")
        yield Select([], prompt="Envelope", id="which")
        yield Select(OUTCOMES, id="outcome", value=Outcome.DESTROYED.value, allow_blank=False)
        yield Input(placeholder="serial as read from the envelope", id="serial", max_length=40)
        yield Input(placeholder="returned by (name)", id="returned-by", max_length=80)
        yield Input(placeholder="note (seal, why not returned...)", id="envelope-note", max_length=200)
        yield Button("Record this envelope", id="envelope")
        yield Button("Close the ceremony", id="close", variant="primary")
        yield Static("", id="done-list")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#preflight-continue", Button).focus()

    @on(PreflightPanel.Accepted)
    def _preflight_accepted(self, event: PreflightPanel.Accepted) -> None:
        note = " (findings recorded: rehearsal)" if event.override else ""
        self._step(STEP_AUTH)
        self.status(Text(f"✓ Preflight accepted{note}: state the purpose and the place.", style="bold green"))
        self.query_one("#purpose", Input).focus()

    def status(self, text: str | Text, style: str = "") -> None:
        self.query_one("#status", Static).update(text if isinstance(text, Text) else Text(text, style=style))

    def _step(self, index: int) -> None:
        steps = self.step_list
        if steps is not None:
            steps.current = max(steps.current, index)

    @on(Input.Submitted, "#purpose")
    def _purpose_done(self) -> None:
        self.query_one("#location", Input).focus()

    @on(Input.Submitted, "#location")
    def _location_done(self) -> None:
        self.query_one("#administrator", AuthForm).focus_first()

    @on(AuthForm.Authenticated)
    def _authenticated(self, event: AuthForm.Authenticated) -> None:
        if event.form.id == "administrator":
            if self.administrator is not None:
                self.administrator.leave()
            self.administrator = event.person
            self.query_one("#witness", AuthForm).focus_first()
            return
        witness = event.person
        if self.administrator is None:
            witness.leave()
            event.form.reset("The administrator authenticates first.")
            return
        if not self.preflight.accepted:
            witness.leave()
            event.form.reset("The air-gap preflight comes first (Continue, at the top).")
            self.query_one("#preflight-continue", Button).focus()
            return
        try:
            ceremony = RetirementCeremony.start(
                self.ledger,
                self.administrator,
                witness,
                self.query_one("#purpose", Input).value,
                rehearsal=self.ledger.info.rehearsal,
                location=self.query_one("#location", Input).value,
            )
        except CeremonyError as error:
            witness.leave()
            event.form.reset()
            self.status(refusal_text(error))
            return
        try:
            self.preflight.record(ceremony)  # the flow records it, and refuses an uncovered finding
        except CeremonyError as error:
            ceremony.void(PREFLIGHT_BLOCKED)
            witness.leave()
            event.form.reset()
            self.status(refusal_text(error))
            return
        self.ceremony = ceremony
        self.presence.ceremony_id = ceremony.ceremony_id
        self._step(STEP_RETIRE)
        self.status(Text("✓ Ceremony started: choose what to retire.", style="bold green"))
        self.query_one("#target", Select).focus()

    def _open(self) -> RetirementCeremony | None:
        if self.ceremony is None or self.ceremony.stage is not RetirementStage.OPEN:
            self.status("Administrator and witness authenticate first.", "bold red")
            return None
        return self.ceremony

    def _done(self, line: str) -> None:
        widget = self.query_one("#done-list", Static)
        previous = str(widget.render())
        widget.update(Text((previous + "\n" if previous else "") + line, style="green"))

    @on(Button.Pressed, "#retire")
    def retire(self) -> None:
        ceremony = self._open()
        if ceremony is None:
            return
        target = self.query_one("#target", Select).value
        reason = self.query_one("#reason", Select).value
        kind, _, ident = target.partition(":") if isinstance(target, str) else ("", "", "")
        if not kind or (kind != "envelopes" and not isinstance(reason, str)):
            self.status("Choose what to retire and the reason.", "bold red")
            return
        note = self.query_one("#note", Input).value
        try:
            if kind == "envelopes":  # a split retired earlier: nothing is retired, its envelopes are asked
                left = ceremony.account_for_split(ident)
                line = f"✓ Retired split {ident[:8]} taken up: {len(left)} envelope(s) to account for."
            elif kind == "key":
                assert isinstance(reason, str)
                splits = ceremony.retire_key(ident, reason, note)
                line = f"✓ Key {ident[:8]} retired ({reason}), with {len(splits)} split(s)."
            else:
                assert isinstance(reason, str)
                ceremony.retire_split(ident, reason, note)
                line = f"✓ Split {ident[:8]} retired ({reason})."
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        self._done(line)
        self.status("")
        self.query_one("#target", Select).set_options(targets(self.ledger))
        self._step(STEP_ENVELOPES)
        self._ask_next()

    def _outstanding(self) -> list[AffectedEnvelope]:
        return self.ceremony.envelopes_to_account() if self.ceremony is not None else []

    def _ask_next(self) -> None:
        """Offer the envelopes still unanswered, the first one chosen, and focus what comes next."""
        left = self._outstanding()
        which = self.query_one("#which", Select)
        which.set_options(envelope_options(left))
        ask = self.query_one("#envelope-ask", Static)
        if not left:
            ask.update(Text("✓ Every envelope of the retired splits is accounted for.", style="green"))
            self.query_one("#close", Button).focus()
            return
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
        ceremony = self._open()
        if ceremony is None:
            return
        chosen = self._chosen()
        if chosen is None:
            self.status("Retire a key or a split first, then choose one of its envelopes.", "bold red")
            return
        outcome = Outcome(str(self.query_one("#outcome", Select).value))
        serial = self.query_one("#serial", Input).value
        returned_by = self.query_one("#returned-by", Input).value
        if outcome is Outcome.DESTROYED and (not serial.strip() or not returned_by.strip()):
            self.status("Type the serial as read from the envelope and who handed it back.", "bold red")
            return
        try:
            done = ceremony.account_envelope(
                chosen,
                outcome,
                serial_read=serial,
                returned_by=returned_by,
                note=self.query_one("#envelope-note", Input).value,
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        if done.outcome is Outcome.DESTROYED:
            line = f"✓ Envelope {chosen.serial} (share {chosen.share_number}): serial checked, DESTROYED."
        else:
            line = f"⚠ Envelope {chosen.serial} (share {chosen.share_number}): {outcome.value}: incident."
        self._done(line)
        self.status("")
        for field_id in ("#serial", "#envelope-note"):
            self.query_one(field_id, Input).value = ""
        self.leave_unanswered = False
        self._ask_next()

    @on(Button.Pressed, "#close")
    async def close(self) -> None:
        from ceremony.flows.closeout import CloseOut

        ceremony = self.ceremony
        if ceremony is None:
            close_flow_screen(self)
            return
        if ceremony.stage is RetirementStage.OPEN:
            left = ceremony.envelopes_to_account()
            if left and not self.leave_unanswered:
                self.leave_unanswered = True
                self.status(
                    f"{len(left)} envelope(s) not accounted for, e.g. {left[0].serial}: say what became of "
                    "each (they stay held on record otherwise). Press Close again to close anyway.",
                    "bold red",
                )
                return
            certificate = ""
            if ceremony.destroyed():
                from ceremony.flows.paperwork import async_issue_destruction_certificate

                assert isinstance(self.administrator, PresentPerson)
                witness = ceremony.witness
                assert isinstance(witness, PresentPerson)
                try:
                    _, path = await async_issue_destruction_certificate(
                        self.ledger,
                        ceremony.outcomes,
                        self.administrator,
                        witness,
                        occasion=f"Retirement ceremony {ceremony.ceremony_id}",
                        ceremony_id=ceremony.ceremony_id,
                        location=ceremony.location,
                    )
                except (CeremonyError, OSError) as error:
                    self.status(f"The destruction certificate was not issued: {error}", "bold red")
                    return
                certificate = f" Destruction certificate: {path.name}."
            try:
                # The one close-out: close with the ledger checkpoint, then the minutes (DESIGN 4.7), signed
                # by administrator and witness.
                closed = await CloseOut.retirement(self.ledger, ceremony).run_async()
            except CeremonyError as error:
                self.status(refusal_text(error))
                return
            text = Text("✓ Retirement ceremony closed.", style="bold green")
            # The one closing checkpoint (issue 14): recorded in ceremony.closed, printed in the minutes.
            printed = closed.checkpoint.printed()
            text.append(f"\nClosing checkpoint (write it down):\n{printed}\n", style="bold")
            if closed.problems:
                text.append(f" The minutes were not issued: {'; '.join(closed.problems)}", style="bold red")
            else:
                text.append(f" Signed minutes in {closed.folder}.{certificate}", style="")
            self._release()
            self._step(STEP_CLOSE)
            text.append(" Press Close again to leave.", style="bold green")
            self.status(text)
            return
        close_flow_screen(self)

    def _release(self) -> None:
        for person in (self.administrator, self.ceremony.witness if self.ceremony else None):
            if isinstance(person, PresentPerson):
                person.leave()

    def cancel_would_void(self) -> bool:
        """An open retirement asks for a second Ctrl+C before it is voided (issue 14)."""
        return self.ceremony is not None and self.ceremony.stage is RetirementStage.OPEN

    def on_cancel_requested(self) -> None:
        ceremony = self.ceremony
        if ceremony is not None:
            # Whatever was retired stays retired (each retirement is its own event); the flow records why
            # the ceremony ended early.
            ceremony.void("cancelled by the operator (Ctrl+C)")
        self._release()


def retire_screen(
    ledger: Ledger, presence: Presence | None = None, *, run_preflight: PreflightRunner = run_preflight
) -> Screen[None]:
    """The retirement / destruction screen (push it from a menu). ``run_preflight``: the air-gap checks
    (the app's own runner; tests pass a fixed report)."""
    return RetireScreen(ledger, presence, run_preflight)
