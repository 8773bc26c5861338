"""Generation step 7: the verification round while the key still exists (DESIGN §4.2).

Each custodian re-enters their share from what they recorded; the flow checks it against what was issued,
so a transcription error is caught before the clear key is wiped. A mistyped group is named by number
(each group carries a check character).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Static

from ceremony.errors import CeremonyError, ShareChecksumError
from ceremony.tui.screens.gen_base import SecretGenerationScreen
from ceremony.tui.screens.gen_session import STEP_VERIFY, GenerationSession
from ceremony.tui.widgets.look_away import look_away
from ceremony.tui.widgets.secret_input import SecretInput


class VerifyShareScreen(SecretGenerationScreen):
    TITLE = "Verification round"
    HELP: ClassVar[str | None] = (
        "The custodian types their share again from what they wrote down (dashes and spaces optional, "
        "case does not matter). A typo is reported by group number; fix it and press Enter again."
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
        yield Static(f"{name}: type your share from your record, then press Enter.")
        yield SecretInput(placeholder="share groups, e.g. 1S03A-0501B-…", id="share-entry")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#share-entry", SecretInput).focus()

    @on(Input.Submitted, "#share-entry")
    def check(self) -> None:
        ceremony = self.session.ceremony
        custodian = self.session.custodians.get(self.number)
        assert ceremony is not None and ceremony.plan is not None and custodian is not None
        field = self.query_one("#share-entry", SecretInput)
        if field.is_empty:
            self.status("Type the share first.", "bold red")
            return
        with field.value_secret() as typed:
            field.wipe()
            try:
                ok = ceremony.verify_share(self.number, custodian, typed.buffer())
            except ShareChecksumError as error:
                where = f"Group {error.group}" if error.group else "The whole share"
                self.status(Text.assemble((f"✗ {where}: ", "bold red"), (str(error), "red")))
                return
            except CeremonyError as error:
                self.refusal(error)
                return
        if not ok:
            self.status(
                "✗ This is not the share that was issued to you: check your record and type it again.",
                "bold red",
            )
            return
        if self.number < ceremony.plan.count:
            self.leave(VerifyShareScreen(self.session, self.number + 1))
        else:
            from ceremony.tui.screens.gen_close import CloseScreen

            self.leave(CloseScreen(self.session))
