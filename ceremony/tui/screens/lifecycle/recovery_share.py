"""A custodian enters their share: typed form (checked group by group as they type) or the QR payload.

Everyone else looks away. Each group of five characters carries its own check character, so a typo is
named by its group number while the custodian is still typing; nothing of the share is ever echoed (the
field is masked and the feedback names group numbers only). Enter hands the share to the flow, which
refuses — by name — a duplicate, a share of another key or split, a share of a retired split, or one
that does not match the commitment recorded when it was issued. The screen is wiped when left.

A genuine share typed by someone it was not issued to is demonstrated knowledge (DESIGN §3): the flow records
it with an incident and the screen goes to the incident screen, where a security officer decides.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from ceremony.crypto import codec
from ceremony.errors import (
    CeremonyError,
    DemonstratedKnowledgeError,
    ShareChecksumError,
    ShareFormatError,
)
from ceremony.flows.presence import PresentPerson
from ceremony.tui.screens.lifecycle.base import LifecycleSecretScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_COLLECT, LifecycleSession
from ceremony.tui.widgets.secret_input import SecretInput


def typing_feedback(typed: bytearray) -> Text:
    """What the custodian sees under the field while typing: how many groups are complete and whether
    they check out, or which group does not. Never a character of the share.

    Uses the codec's per-group check (the same one ``decode_share`` runs) on the complete groups only.
    """
    if not typed.strip():
        return Text("Type your share, group by group (dashes and spaces optional).", style="dim")
    try:
        complete = codec.check_typed_groups(typed)
    except ShareChecksumError as error:
        return Text(f"✗ Group {error.group} does not check out: look at that group again.", style="bold red")
    except ShareFormatError as error:
        return Text(f"✗ {error}", style="bold red")
    return Text(f"✓ {complete} group{'s' if complete != 1 else ''} typed, each checks out", style="green")


class ShareEntryScreen(LifecycleSecretScreen):
    TITLE = "Enter your share"
    HELP: ClassVar[str | None] = (
        "Everyone except the custodian looks away. The custodian types their share from their record (or "
        "pastes the QR payload); a mistyped group is named as they type. Enter submits. A refused share is "
        "named (duplicate, another key or split, retired split, commitment mismatch); the field is emptied."
    )
    STEP = STEP_COLLECT

    def __init__(self, session: LifecycleSession, number: int, custodian: PresentPerson) -> None:
        super().__init__(session)
        self.number = number
        self.custodian = custodian

    def compose_body(self) -> ComposeResult:
        from ceremony.tui.screens.lifecycle.recovery_custodian import progress_line

        ceremony = self.session.ceremony
        heading = Text.assemble(
            (self.custodian.name, "bold reverse"),
            (f": share {self.number} of {ceremony.key.label}. Everyone else, please look away.", "bold"),
        )
        yield Static(heading, id="look-away")
        yield Static(progress_line(self.session), id="progress")
        yield SecretInput(placeholder="share groups, e.g. 1S03A-0501B-… or the QR payload", id="share-entry")
        yield Static(typing_feedback(bytearray()), id="feedback")
        yield Button("Another custodian first", id="later")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#share-entry", SecretInput).focus()

    @on(Input.Changed, "#share-entry")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        field = self.query_one("#share-entry", SecretInput)
        with field.value_secret() as typed:
            self.query_one("#feedback", Static).update(typing_feedback(typed.buffer()))

    @on(Input.Submitted, "#share-entry")
    def submit(self, event: Input.Submitted) -> None:
        event.stop()
        field = self.query_one("#share-entry", SecretInput)
        if field.is_empty:
            self.status("Type the share first.", "bold red")
            return
        with field.value_secret() as typed:
            field.wipe()
            try:
                progress = self.session.collector.enter_share(self.custodian, typed.buffer())
            except DemonstratedKnowledgeError as error:
                from ceremony.tui.screens.lifecycle.recovery_incident import IncidentScreen

                self.leave(IncidentScreen(self.session, self.number, self.custodian, error))
                return
            except CeremonyError as error:
                self.status(refusal_text(error))
                self.query_one("#feedback", Static).update(typing_feedback(bytearray()))
                return
        from ceremony.tui.screens.lifecycle.recovery_custodian import CustodianScreen

        note = Text(
            f"✓ Share {self.number} accepted ({self.custodian.name}): {progress.text}.", style="bold green"
        )
        self.custodian.leave()
        self.leave(CustodianScreen(self.session, note))

    @on(Button.Pressed, "#later")
    def later(self) -> None:
        from ceremony.tui.screens.lifecycle.recovery_custodian import CustodianScreen

        self.custodian.leave()
        self.leave(CustodianScreen(self.session))
