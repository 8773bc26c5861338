"""Generation step 7: the verification round while the key still exists (DESIGN §4.2).

Each custodian re-enters their share from what they recorded; the flow checks it against what was issued,
so a transcription error is caught before the clear key is wiped. The share is typed group by group
(:class:`GroupedShareEntry`): each group carries a check character, so a mistyped group is named as soon
as it is complete and only that group is typed again.

A valid share that is not the custodian's (another custodian's, exactly as issued) is demonstrated knowledge
(DESIGN §3): the flow records it with an incident and stops. :class:`DemonstratedIncidentScreen` shows the
incident and lets a security officer decide (with the witness already present): "continue" while the custody
rule holds, otherwise only "void" — the generation is voided and its split retired.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.errors import CeremonyError, DemonstratedKnowledgeError, ShareChecksumError, ShareFormatError
from ceremony.flows.presence import PresentPerson
from ceremony.flows.turns import Next, Turn
from ceremony.ledger.participants import participants
from ceremony.tui.screens.frame import SecretStepScreen, StepScreen, refusal_text
from ceremony.tui.screens.gen_session import STEP_VERIFY, GenerationSession
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.look_away import look_away
from ceremony.tui.widgets.share_groups import GroupedShareEntry


class VerifyShareScreen(SecretStepScreen):
    TITLE = "Verification round"
    HELP: ClassVar[str | None] = (
        "The custodian types their share again from what they wrote down, group by group (dashes and "
        "spaces optional, case does not matter). Each group is checked as soon as it is complete: a good "
        "group is masked, a mistyped one is named and stays visible until Backspace corrects it. Enter "
        "hands the share over when the last group is typed."
    )
    STEP = STEP_VERIFY

    def __init__(self, session: GenerationSession, number: int) -> None:
        super().__init__(session)
        self.number = number

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        assert ceremony is not None and ceremony.plan is not None
        name = self.session.name_of(ceremony.custodian_of(self.number))
        yield Static(
            Text(f"Verification: share {self.number} of {ceremony.plan.count} — {name}", style="bold")
        )
        yield Static(look_away(name))
        yield Static(f"{name}: type your share from your record, group by group, then press Enter.")
        yield GroupedShareEntry(id="share-entry")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#share-entry", GroupedShareEntry).focus()

    @on(GroupedShareEntry.Entered, "#share-entry")
    def check(self, event: GroupedShareEntry.Entered) -> None:
        event.stop()
        ceremony = self.session.ceremony
        custodian = self.session.custodians.get(self.number)
        assert ceremony is not None and ceremony.plan is not None and custodian is not None
        entry = event.entry
        self.status("")
        with event.share as typed:
            try:
                ok = ceremony.verify_share(self.number, custodian, typed.buffer())
            except ShareChecksumError as error:
                entry.refuse(error)  # names the group; the groups that check out are kept
                return
            except DemonstratedKnowledgeError as error:
                self.advance(Next(Turn.DECIDE_DEMONSTRATED, self.number), data=error)
                return
            except ShareFormatError as error:  # not a possible length: what is typed is kept, to finish
                self.refusal(error)
                return
            except CeremonyError as error:
                entry.clear()
                self.refusal(error)
                return
        if not ok:
            entry.clear()
            self.status(
                "✗ This is not the share that was issued to you: check your record and type it again.",
                "bold red",
            )
            return
        self.advance()  # the flow: the next custodian's verification, or wipe and close-out


class DemonstratedIncidentScreen(StepScreen):
    """A custodian typed a share that was not theirs: the flow recorded it (exposure and incident). A
    security officer decides, with the reason; the witness of the ceremony co-signs."""

    TITLE = "Demonstrated knowledge"
    HELP: ClassVar[str | None] = (
        "A custodian typed another custodian's share: they now know it, and this is recorded. Nothing goes "
        "on until a security officer authenticates and decides: continue (only while no small group could "
        "rebuild the key) or void (the generation is voided, its shares are never used)."
    )
    STEP = STEP_VERIFY

    def __init__(self, session: Any, number: int, error: DemonstratedKnowledgeError) -> None:
        super().__init__(session)
        self.number = number
        self.error = error
        self.officer: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        incident = self.session.distributor.blocking_incident
        heading = Text(f"⚠ DEMONSTRATED KNOWLEDGE — incident #{self.error.incident_seq}\n", style="bold red")
        heading.append_text(refusal_text(self.error, self.session.names))
        yield Static(heading, id="incident")
        typist = incident.person_id if incident is not None else ""
        officers = [
            p
            for p in participants(self.session.ledger)
            if p.active and "security_officer" in p.roles and p.person_id != typist
        ]
        yield AuthForm(
            self.session.presence, officers, "security_officer", title="Security officer", id="officer"
        )
        what = "generation" if self.session.cards_allowed else "re-share (the old split stays in force)"
        choices = [(f"Void the {what}: these shares are never used", "void")]
        if not self.error.broken:
            choices.insert(0, ("Continue the verification round", "continue"))
        yield Label("Decision")
        yield Select(choices, id="decision", allow_blank=False)
        yield Label("Reason (goes into the minutes)")
        yield Input(
            placeholder="e.g. share 2 typed by its neighbour; key replaced", id="reason", max_length=200
        )
        yield Button("Record the decision", id="decide", variant="primary")
        yield Button("Close", id="close", disabled=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#officer", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#officer")
    def _officer(self, event: AuthForm.Authenticated) -> None:
        if self.officer is not None:
            self.officer.leave()
        self.officer = event.person
        self.query_one("#decision", Select).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#decide")
    def decide(self) -> None:
        ceremony = self.session.distributor
        if self.officer is None:
            self.status("A security officer authenticates first.", "bold red")
            self.query_one("#officer", AuthForm).focus_first()
            return
        decision = str(self.query_one("#decision", Select).value)
        reason = self.query_one("#reason", Input).value
        try:
            ceremony.decide_demonstrated(self.officer, decision, reason)
        except CeremonyError as error:
            self.refusal(error)
            return
        self.officer.leave()
        self.officer = None
        if decision == "continue":
            self.advance(Next(Turn.VERIFY, self.number))
            return
        ceremony.void(f"demonstrated knowledge (incident #{self.error.incident_seq}): {reason.strip()}")
        self.session.release()
        for selector in ("#decide", "#reason", "#decision"):
            self.query_one(selector).disabled = True
        self.status(Text("Voided: the new split is retired and its shares are never used.", style="bold red"))
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()

    @on(Button.Pressed, "#close")
    def close(self) -> None:
        self.end_flow()

    def on_cancel_requested(self) -> None:
        if self.officer is not None:
            self.officer.leave()
        super().on_cancel_requested()
