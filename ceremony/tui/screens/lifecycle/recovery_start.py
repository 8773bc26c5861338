"""Recovery step 1: which key, why, and what comes out — chosen before anyone opens an envelope.

Retired keys are not offered; a key flagged "must be replaced" or near/past its cryptoperiod carries the
flag in its label. The output is fixed here and recorded when the ceremony starts (issue 7): fresh XOR
components for loading an HSM (each to its own custodian), or the key wrapped under a key-encryption key
(RFC 5649) into a file. The place of the ceremony is asked here too (recorded at its start, printed in the
minutes). Nothing is written to the ledger on this screen; the air-gap preflight comes next, as in
generation (:mod:`ceremony.tui.screens.lifecycle.preflight`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from ceremony.errors import CeremonyError, CustodyViolationError
from ceremony.flows.common import read_register
from ceremony.flows.presence import Presence
from ceremony.flows.recovery import (
    ComponentsOutput,
    OutputKind,
    WrappedOutput,
    dry_run_output,
    planned_holders,
)
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import run_preflight
from ceremony.tui.messages import Open, Place
from ceremony.tui.screens.gen_session import PreflightRunner
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.key_list import key_rows
from ceremony.tui.screens.lifecycle.session import STEP_PLAN, LifecycleSession

OUTPUT_CHOICES: tuple[tuple[str, OutputKind], ...] = (
    ("Fresh XOR components, for loading an HSM", OutputKind.COMPONENTS),
    ("Wrapped under a KEK (RFC 5649) into a file", OutputKind.WRAPPED),
)


def split_options(session: LifecycleSession, key_id: str) -> list[tuple[str, str]]:
    """The active splits of ``key_id`` (after a components output a key has two: its shares and the
    HSM components), newest last."""
    register = read_register(session.ledger.events())
    if key_id not in register.keys:
        return []
    return [(s.label, s.split_id) for s in register.active_splits(key_id)]


def fill_splits(screen: LifecycleScreen, key: object) -> None:
    """Offer the chosen key's active splits; the only one is chosen for the operator."""
    choice = screen.query_one("#split", Select)
    options = split_options(screen.session, key) if isinstance(key, str) else []
    choice.set_options(options)
    if len(options) == 1:
        choice.value = options[0][1]


def chosen_split(screen: LifecycleScreen) -> str | None:
    value = screen.query_one("#split", Select).value
    return value if isinstance(value, str) else None


def key_options(session: LifecycleSession) -> list[tuple[str, str]]:
    """The keys a recovery or re-share may take: registered, not retired, with an active split."""
    return [
        (row.option_label(), row.key_id)
        for row in key_rows(session.ledger)
        if not row.retired and row.active_splits
    ]


class RecoveryPlanScreen(LifecycleScreen):
    TITLE = "Recovery: key and output"
    HELP: ClassVar[str | None] = (
        "Choose the key to rebuild (retired keys are not offered; flagged keys say why), state the purpose "
        "and the place, and choose the output now — it is recorded before any envelope is opened. "
        "Components: tick the custodians who will each receive one (space). Wrapped: name the KEK as the "
        "receiving system knows it. The air-gap preflight comes next."
    )
    STEP = STEP_PLAN

    def compose_body(self) -> ComposeResult:
        options = key_options(self.session)
        yield Label("Key to rebuild")
        yield Select(options, prompt="Choose a key", id="key", allow_blank=True)
        if not options:
            yield Static(
                Text("No key can be recovered: none is registered, or all are retired.", style="bold red")
            )
        yield Label("Split whose shares are brought")
        yield Select([], prompt="Choose the key first", id="split")
        yield Label("Purpose of this ceremony")
        yield Input(placeholder="e.g. reload the zone master key into HSM-2", id="purpose", max_length=200)
        yield Label("Place of the ceremony (for the minutes)")
        yield Input(placeholder="e.g. Vault room 2, HQ", id="location", max_length=200)
        yield Label("Output")
        yield Select([(label, kind.value) for label, kind in OUTPUT_CHOICES], id="output", allow_blank=False)
        yield Label("Component custodians (Space ticks; one each)", id="components-label")
        custodians = [p for p in participants(self.session.ledger) if p.active and "custodian" in p.roles]
        yield SelectionList[str](
            *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians], id="components"
        )
        yield Label("KEK name (as the receiving system knows it)", id="kek-label-label")
        yield Input(placeholder="e.g. HSM-2 key transport KEK", id="kek-label", max_length=80)
        # The KEK's custodians are planned now (custody dry run, DESIGN §3): custodians only — the
        # administrator and the witness never bring a part of it.
        yield Label("KEK custodians (Space ticks; one component each)", id="kek-custodians-label")
        yield SelectionList[str](
            *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians], id="kek-custodians"
        )
        yield Label("KEK's KCV if known (optional; it is checked)", id="kek-kcv-label")
        yield Input(placeholder="e.g. 1A2B3C4D5E", id="kek-kcv", max_length=16)
        yield Button("Continue: air-gap preflight", id="continue", variant="primary")
        yield Button("Record a quorum decision (security officer + witness)", id="quorum")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_output_fields()
        self.query_one("#quorum", Button).display = False
        self.refused: tuple[str, ComponentsOutput | WrappedOutput, CeremonyError] | None = None
        self.query_one("#key", Select).focus()

    @on(Select.Changed, "#key")
    def _key_chosen(self, event: Select.Changed) -> None:
        fill_splits(self, event.value)

    @on(Select.Changed, "#output")
    def _show_output_fields(self) -> None:
        wrapped = self.query_one("#output", Select).value == OutputKind.WRAPPED.value
        kek_fields = ("#kek-label", "#kek-label-label", "#kek-custodians", "#kek-custodians-label")
        for selector in (*kek_fields, "#kek-kcv", "#kek-kcv-label"):
            self.query_one(selector).display = wrapped
        for selector in ("#components", "#components-label"):
            self.query_one(selector).display = not wrapped

    @on(Input.Submitted, "#purpose")
    def _purpose_done(self) -> None:
        self.query_one("#location", Input).focus()

    @on(Input.Submitted, "#location")
    def _location_done(self) -> None:
        self.query_one("#output", Select).focus()

    @on(Input.Submitted, "#kek-label")
    @on(Button.Pressed, "#continue")
    def next_step(self) -> None:
        key = self.query_one("#key", Select).value
        if not isinstance(key, str):
            self.status("Choose the key to rebuild first.", "bold red")
            self.query_one("#key", Select).focus()
            return
        split = chosen_split(self)
        if split is None:
            self.status("Choose the split whose shares the custodians bring.", "bold red")
            self.query_one("#split", Select).focus()
            return
        purpose = self.query_one("#purpose", Input).value.strip()
        if not purpose:
            self.status("State the purpose: it is printed in the minutes.", "bold red")
            self.query_one("#purpose", Input).focus()
            return
        output: ComponentsOutput | WrappedOutput
        if self.query_one("#output", Select).value == OutputKind.WRAPPED.value:
            label = self.query_one("#kek-label", Input).value.strip()
            if not label:
                self.status("Name the key-encryption key.", "bold red")
                self.query_one("#kek-label", Input).focus()
                return
            kek_custodians = tuple(self.query_one("#kek-custodians", SelectionList).selected)
            if len(kek_custodians) < 2:
                self.status(
                    "Tick at least two KEK custodians: each types one component (space ticks).", "bold red"
                )
                self.query_one("#kek-custodians", SelectionList).focus()
                return
            kcv = self.query_one("#kek-kcv", Input).value.strip() or None
            output = WrappedOutput(label, kek_custodians, kcv)
        else:
            chosen = tuple(self.query_one("#components", SelectionList).selected)
            if len(chosen) < 2:
                self.status("Tick at least two custodians: one component each (space ticks).", "bold red")
                self.query_one("#components", SelectionList).focus()
                return
            output = ComponentsOutput(chosen)
        if not self._dry_run(key, output):
            return
        self.session.key_id = key
        self.session.split_id = split
        self.session.purpose = purpose
        self.session.location = self.query_one("#location", Input).value.strip()
        self.session.output = output
        self.advance()  # the flow: the air-gap preflight next

    def _dry_run(self, key_id: str, output: ComponentsOutput | WrappedOutput) -> bool:
        """The custody dry run of the chosen output, before anyone authenticates (DESIGN §3). A refusal is
        shown with who could rebuild the key, and a security officer and a witness may record a quorum
        decision (:class:`QuorumDecisionScreen`)."""
        quorum_button = self.query_one("#quorum", Button)
        try:
            dry_run_output(self.session.ledger.custody(), key_id, output)
        except CeremonyError as error:
            text = refusal_text(error, self.session.names)
            if isinstance(error, CustodyViolationError):
                text.append(
                    "\n  A security officer and a witness may record a quorum decision, with its reason.",
                    style="bold",
                )
                self.refused = (key_id, output, error)
                quorum_button.display = True
            self.status(text)
            return False
        self.refused = None
        quorum_button.display = False
        return True

    @on(Button.Pressed, "#quorum")
    def quorum_decision(self) -> None:
        if self.refused is None:
            return
        key_id, output, error = self.refused
        holders = planned_holders(output)

        def decided(recorded_seq: int | None) -> None:
            if recorded_seq is None:
                return
            self.refused = None
            self.query_one("#quorum", Button).display = False
            done = f"✓ Quorum decision recorded (event #{recorded_seq}): Continue."
            self.status(Text(done, style="bold green"))
            self.query_one("#continue", Button).focus()

        data = (self.session, key_id, len(holders), holders, error)
        self.post_message(Open(Place.QUORUM_DECISION, data, decided))

    def on_cancel_requested(self) -> None:
        self.session.release()  # nothing started yet: nothing to void


def recovery_screen(
    ledger: Ledger, presence: Presence | None = None, *, run_preflight: PreflightRunner = run_preflight
) -> Screen[None]:
    """The first screen of a recovery ceremony (push it from a menu; it returns there when done).
    ``run_preflight``: the air-gap checks (the app's own runner; tests pass a fixed report)."""
    session = LifecycleSession(ledger, presence or Presence(ledger), run_preflight=run_preflight)
    return RecoveryPlanScreen(session)
