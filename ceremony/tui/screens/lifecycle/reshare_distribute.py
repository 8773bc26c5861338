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
from textual.widgets import Static

from ceremony.errors import CeremonyError, DemonstratedKnowledgeError, ShareChecksumError, ShareFormatError
from ceremony.flows.turns import Next, Turn
from ceremony.tui.screens.lifecycle.base import (
    LifecycleSecretScreen,
    refusal_text,
)
from ceremony.tui.screens.lifecycle.session import STEP_VERIFY, LifecycleSession
from ceremony.tui.widgets.look_away import look_away
from ceremony.tui.widgets.share_groups import GroupedShareEntry


def _count(session: LifecycleSession) -> int:
    assert session.plan is not None
    return session.plan.count


def _custodian_name(session: LifecycleSession, number: int) -> str:
    assert session.plan is not None
    return session.name_of(session.plan.custodians[number - 1])


class NewShareVerifyScreen(LifecycleSecretScreen):
    TITLE = "Verification round"
    HELP: ClassVar[str | None] = (
        "Each new custodian types their share again from what they wrote down, group by group; a mistyped "
        "group is named as soon as it is complete and Backspace corrects it. The old split stays in force "
        "until every new share is verified."
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
        yield GroupedShareEntry(id="share-entry")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#share-entry", GroupedShareEntry).focus()

    @on(GroupedShareEntry.Entered, "#share-entry")
    def check(self, event: GroupedShareEntry.Entered) -> None:
        event.stop()
        reshare = self.session.reshare
        custodian = self.session.custodians.get(self.number)
        assert reshare is not None and custodian is not None
        entry = event.entry
        self.status("")
        with event.share as typed:
            try:
                ok = reshare.verify_share(self.number, custodian, typed.buffer())
            except ShareChecksumError as error:
                entry.refuse(error)  # names the group; the groups that check out are kept
                return
            except DemonstratedKnowledgeError as error:  # another new custodian's share: the officer decides
                self.advance(Next(Turn.DECIDE_DEMONSTRATED, self.number), data=error)
                return
            except ShareFormatError as error:  # not a possible length: what is typed is kept, to finish
                self.status(refusal_text(error))
                return
            except CeremonyError as error:
                entry.clear()
                self.status(refusal_text(error))
                return
        if not ok:
            entry.clear()
            self.status(
                "✗ This is not the share issued to you: check your record and type it again.", "bold red"
            )
            return
        self.advance()  # the flow: the next new custodian's verification, or retire the old split and close
