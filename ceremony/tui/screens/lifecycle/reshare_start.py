"""Re-share step 1: which key, why, and the new custodian set — checked by the flow before anyone starts.

The key is rebuilt from its current split (the recovery screens), then split again for the new custodians
(Shamir m-of-n); the old split is retired at the end. The custody rule is checked by the flow over the
whole history, the old split included (PCI DSS 3.7.6), when administrator and witness authenticate. The
place of the ceremony is asked here (recorded at its start, printed in the minutes); the air-gap preflight
comes next, as in generation.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from ceremony.crypto.share import Scheme
from ceremony.flows.common import SplitPlan
from ceremony.flows.presence import Presence
from ceremony.flows.reshare import ReshareReason
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import run_preflight
from ceremony.tui.screens.gen_session import PreflightRunner
from ceremony.tui.screens.lifecycle.base import LifecycleScreen
from ceremony.tui.screens.lifecycle.recovery_start import chosen_split, fill_splits, key_options
from ceremony.tui.screens.lifecycle.session import STEP_PLAN, LifecycleSession


class ResharePlanScreen(LifecycleScreen):
    TITLE = "Re-share: key and new custodians"
    HELP: ClassVar[str | None] = (
        "Choose the key, the reason, the purpose and the place; tick the new custodians (space; share "
        "numbers follow the list order) and the threshold m. The key itself does not change: its KCV is "
        "shown at the end to prove it. The air-gap preflight comes next."
    )
    STEP = STEP_PLAN

    def compose_body(self) -> ComposeResult:
        options = key_options(self.session)
        yield Label("Key to re-share")
        yield Select(options, prompt="Choose a key", id="key")
        if not options:
            yield Static(
                Text("No key can be re-shared: none is registered, or all are retired.", style="bold red")
            )
        yield Label("Split whose shares are brought")
        yield Select([], prompt="Choose the key first", id="split")
        yield Label("Reason")
        yield Select(
            [(r.value, r.value) for r in ReshareReason],
            id="reason",
            value=ReshareReason.CUSTODIAN_CHANGE.value,
            allow_blank=False,
        )
        yield Label("Purpose of this ceremony")
        yield Input(placeholder="e.g. replace a departed custodian of the ZMK", id="purpose", max_length=200)
        yield Label("Place of the ceremony (for the minutes)")
        yield Input(placeholder="e.g. Vault room 2, HQ", id="location", max_length=200)
        yield Label("New custodians (space ticks; share 1, 2, … in list order)")
        custodians = [p for p in participants(self.session.ledger) if p.active and "custodian" in p.roles]
        yield SelectionList[str](
            *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians], id="custodians"
        )
        yield Label("Threshold m (shares needed to rebuild)")
        yield Input(value="2", id="threshold", type="integer", max_length=3)
        yield Button("Continue: air-gap preflight", id="continue", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#key", Select).focus()

    @on(Select.Changed, "#key")
    def _key_chosen(self, event: Select.Changed) -> None:
        fill_splits(self, event.value)

    @on(Input.Submitted, "#threshold")
    @on(Button.Pressed, "#continue")
    def next_step(self) -> None:
        key = self.query_one("#key", Select).value
        if not isinstance(key, str):
            self.status("Choose the key to re-share first.", "bold red")
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
        listing = self.query_one("#custodians", SelectionList)
        ticked = set(listing.selected)
        order = [listing.get_option_at_index(i).value for i in range(listing.option_count)]
        chosen = tuple(pid for pid in order if pid in ticked)
        threshold_text = self.query_one("#threshold", Input).value.strip()
        if not threshold_text.isdigit() or not 2 <= int(threshold_text) <= max(len(chosen), 2):
            self.status(
                f"The threshold is a number from 2 to the number of custodians ({len(chosen)}).", "bold red"
            )
            return
        if len(chosen) < int(threshold_text):
            self.status("Tick at least as many custodians as the threshold (space ticks).", "bold red")
            listing.focus()
            return
        self.session.key_id = key
        self.session.split_id = split
        self.session.purpose = purpose
        self.session.location = self.query_one("#location", Input).value.strip()
        self.session.reason = ReshareReason(str(self.query_one("#reason", Select).value))
        self.session.plan = SplitPlan(Scheme.SHAMIR, int(threshold_text), chosen)
        self.advance()  # the flow: the air-gap preflight next


def reshare_screen(
    ledger: Ledger, presence: Presence | None = None, *, run_preflight: PreflightRunner = run_preflight
) -> Screen[None]:
    """The first screen of a re-share / custodian replacement (push it from a menu). ``run_preflight``: the
    air-gap checks (the app's own runner; tests pass a fixed report)."""
    session = LifecycleSession(
        ledger, presence or Presence(ledger), reshare_mode=True, run_preflight=run_preflight
    )
    return ResharePlanScreen(session)
