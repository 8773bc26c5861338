"""Re-share steps 5 and 6: the new shares go out as in generation, then the verification round.

For each new share: everyone but its custodian looks away; the custodian authenticates; the flow records
the exposure (the custody rule checked by the ledger) and returns the typed form, shown on a secret screen;
"recorded" wipes it; the custodian seals it and types the envelope's serial, which signs their receipt.
Then each new custodian re-enters their share (checked against what was issued) before the old split is
retired and the key wiped.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Static

from ceremony.crypto.secret import SecretBytes
from ceremony.errors import CeremonyError
from ceremony.ledger.participants import participant
from ceremony.tui.screens.lifecycle.base import (
    LifecycleScreen,
    LifecycleSecretScreen,
    refusal_text,
)
from ceremony.tui.screens.lifecycle.recovery_output import typed_rows
from ceremony.tui.screens.lifecycle.recovery_share import typing_feedback
from ceremony.tui.screens.lifecycle.session import STEP_DISTRIBUTE, STEP_VERIFY, LifecycleSession
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.look_away import LookAwayPanel, look_away
from ceremony.tui.widgets.secret_input import SecretInput
from ceremony.tui.widgets.share_display import ShareDisplay


def _count(session: LifecycleSession) -> int:
    assert session.plan is not None
    return session.plan.count


def _custodian_name(session: LifecycleSession, number: int) -> str:
    assert session.plan is not None
    return session.name_of(session.plan.custodians[number - 1])


class NewShareLookAwayScreen(LifecycleScreen):
    TITLE = "New share for its custodian"
    HELP: ClassVar[str | None] = (
        "Only the custodian named here looks at the screen. They type their passphrase; the exposure is "
        "recorded in the ledger before their new share appears."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: LifecycleSession, number: int) -> None:
        super().__init__(session)
        self.number = number

    def compose_body(self) -> ComposeResult:
        assert self.session.plan is not None
        person = participant(self.session.ledger, self.session.plan.custodians[self.number - 1])
        yield LookAwayPanel(
            self.session.presence,
            person,
            f"New share {self.number} of {_count(self.session)} — for {person.name}",
            heading_id="share-heading",
            auth_title=f"{person.name}: type your passphrase",
        )
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(AuthForm).focus_first()

    @on(AuthForm.Authenticated)
    def reveal(self, event: AuthForm.Authenticated) -> None:
        reshare = self.session.reshare
        assert reshare is not None
        person = event.person
        try:
            encoded = reshare.reveal(self.number, person)
        except CeremonyError as error:
            person.leave()
            self.status(refusal_text(error))
            return
        self.session.custodians[self.number] = person
        self.session.joined(person)
        self.go(NewShareScreen(self.session, self.number, encoded))


class NewShareScreen(LifecycleSecretScreen):
    TITLE = "Your new share"
    HELP: ClassVar[str | None] = (
        "Copy every group, in order, onto your custody form. Enter wipes the screen; it cannot be shown "
        "again."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: LifecycleSession, number: int, encoded: SecretBytes) -> None:
        super().__init__(session)
        self.number = number
        self._rows = typed_rows(encoded)

    def compose_body(self) -> ComposeResult:
        name = _custodian_name(self.session, self.number)
        yield Static(
            Text.assemble(
                (name, "bold reverse"),
                f": new share {self.number} of {_count(self.session)}. Write every group down.",
            ),
            id="share-intro",
        )
        yield ShareDisplay(self._rows, caption=f"Share {self.number} — {name}", id="share")
        self._rows = []
        yield Button("I have recorded it: wipe the screen", id="recorded", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#recorded", Button).focus()

    @on(Button.Pressed, "#recorded")
    def recorded(self) -> None:
        self.leave(NewReceiptScreen(self.session, self.number))


class NewReceiptScreen(LifecycleScreen):
    TITLE = "Receipt and envelope"
    HELP: ClassVar[str | None] = (
        "The custodian seals their record in a tamper-evident envelope and types its serial number: that "
        "signs their receipt in the ledger."
    )
    STEP = STEP_DISTRIBUTE

    def __init__(self, session: LifecycleSession, number: int) -> None:
        super().__init__(session)
        self.number = number

    def compose_body(self) -> ComposeResult:
        name = _custodian_name(self.session, self.number)
        yield Static(Text("✓ The share was wiped from the screen.", style="bold green"))
        yield Static(
            f"{name}: seal your record of share {self.number} in a tamper-evident envelope, "
            "then type its serial."
        )
        yield Label("Envelope serial number")
        yield Input(placeholder="e.g. TE-004711", id="serial", max_length=40)
        yield Button("Sign receipt", id="sign", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#serial", Input).focus()

    @on(Input.Submitted, "#serial")
    @on(Button.Pressed, "#sign")
    def sign(self) -> None:
        reshare = self.session.reshare
        custodian = self.session.custodians.get(self.number)
        assert reshare is not None and custodian is not None
        try:
            reshare.confirm_receipt(
                self.number, custodian, self.query_one("#serial", Input).value, "recorded"
            )
        except CeremonyError as error:
            self.status(refusal_text(error))
            return
        if self.number < _count(self.session):
            self.go(NewShareLookAwayScreen(self.session, self.number + 1))
        else:
            self.go(NewShareVerifyScreen(self.session, 1))


class NewShareVerifyScreen(LifecycleSecretScreen):
    TITLE = "Verification round"
    HELP: ClassVar[str | None] = (
        "Each new custodian types their share again from what they wrote down; a typo is named by group. "
        "The old split stays in force until every new share is verified."
    )
    STEP = STEP_VERIFY

    def __init__(self, session: LifecycleSession, number: int) -> None:
        super().__init__(session)
        self.number = number

    def compose_body(self) -> ComposeResult:
        name = _custodian_name(self.session, self.number)
        yield Static(
            Text(f"Verification: new share {self.number} of {_count(self.session)} — {name}", style="bold")
        )
        yield Static(look_away(name))
        yield SecretInput(placeholder="share groups, e.g. 1S03A-0501B-…", id="share-entry")
        yield Static(typing_feedback(bytearray()), id="feedback")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#share-entry", SecretInput).focus()

    @on(Input.Changed, "#share-entry")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        with self.query_one("#share-entry", SecretInput).value_secret() as typed:
            self.query_one("#feedback", Static).update(typing_feedback(typed.buffer()))

    @on(Input.Submitted, "#share-entry")
    def check(self, event: Input.Submitted) -> None:
        event.stop()
        reshare = self.session.reshare
        custodian = self.session.custodians.get(self.number)
        assert reshare is not None and custodian is not None
        field = self.query_one("#share-entry", SecretInput)
        if field.is_empty:
            self.status("Type the share first.", "bold red")
            return
        with field.value_secret() as typed:
            field.wipe()
            try:
                ok = reshare.verify_share(self.number, custodian, typed.buffer())
            except CeremonyError as error:
                self.status(refusal_text(error))
                return
        if not ok:
            self.status(
                "✗ This is not the share issued to you: check your record and type it again.", "bold red"
            )
            return
        if self.number < _count(self.session):
            self.leave(NewShareVerifyScreen(self.session, self.number + 1))
        else:
            from ceremony.tui.screens.lifecycle.recovery_finish import finish_screen

            self.leave(finish_screen(self.session))
