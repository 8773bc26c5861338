"""Recovery / re-share step 3, between custodians: progress "k of m", who comes next, and the rebuild.

The next custodian picks their name and authenticates; their envelope is then inspected (if one was
recorded at sealing) and they enter their share on a secret screen. When enough shares are in, the
administrator rebuilds the key: the flow combines them and checks the registered KCV. Too few shares, or
a KCV failure (which resets progress and, with more than m offered, names the bad share), are refused by
the flow and shown here.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Static

from ceremony.errors import CeremonyError
from ceremony.flows.turns import Next, Turn, custodian_turn
from ceremony.ledger.participants import participant
from ceremony.tui.screens.lifecycle.base import LifecycleScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_COLLECT, LifecycleSession, progress_line
from ceremony.tui.widgets.auth_form import AuthForm


class CustodianScreen(LifecycleScreen):
    TITLE = "Envelopes and shares"
    HELP: ClassVar[str | None] = (
        "Each custodian in turn picks their name and types their passphrase; their envelope is inspected "
        "before it is opened, then they type their share. When enough shares are in, Rebuild combines them "
        "and checks the key's registered KCV."
    )
    STEP = STEP_COLLECT

    def __init__(self, session: LifecycleSession, message: Text | None = None) -> None:
        super().__init__(session)
        self.message = message

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        split = ceremony.split
        yield Static(
            Text(f"{ceremony.key.label} — {split.label}, needs {split.threshold}", style="bold"), id="split"
        )
        yield Static(progress_line(self.session), id="progress")
        entered = set(self.session.collector.progress.entered)
        holders = dict(split.custodians)
        holders.update(ceremony.ledger.custody().holders(split.split_id))
        waiting = {}
        for number, person_id in sorted(holders.items()):
            if number in entered or person_id in waiting:
                continue
            person = participant(ceremony.ledger, person_id)
            if person.active:
                waiting[person_id] = person
        self._number_of = {pid: n for n, pid in holders.items() if n not in entered}
        if not self.session.collector.progress.ready:
            yield AuthForm(
                self.session.presence,
                list(waiting.values()),
                "custodian",
                title="Next custodian: choose your name, type your passphrase",
                id="custodian",
            )
        yield Button("Rebuild the key now", id="rebuild", variant="primary")
        yield Static(self.message or "", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        forms = self.query(AuthForm)
        if forms:
            forms.first().focus_first()
        else:
            self.query_one("#rebuild", Button).focus()

    @on(AuthForm.Authenticated)
    def _custodian(self, event: AuthForm.Authenticated) -> None:
        person = event.person
        number = self._number_of.get(person.person_id)
        if number is None:
            person.leave()
            event.form.reset(f"{person.name} holds no share still to enter.")
            return
        self.session.joined(person)
        # The flow says what this custodian does: inspect the envelope, wait for the officer, or type.
        turn = custodian_turn(self.session.ceremony, number, person.person_id)
        if turn.turn is Turn.REFUSED:
            event.form.reset(turn.note)
            return
        self.advance(turn, person=person)

    @on(Button.Pressed, "#rebuild")
    def rebuild(self) -> None:
        try:
            kcv = self.session.collector.rebuild()
        except CeremonyError as error:
            text = refusal_text(error)
            bad = getattr(error, "share_numbers", ())
            if bad:
                text.append(f"\n  Bad share: {', '.join(map(str, bad))}.", style="bold red")
            if not self.session.collector.progress.entered and self.session.ceremony.kcv_failures:
                text.append("\n  Progress was reset: every custodian enters their share again.", style="red")
            self.advance(Next(Turn.NEXT_CUSTODIAN), data=text)
            return
        self.advance(data=kcv.hex)  # the flow: rebuilt, the KCV is read
