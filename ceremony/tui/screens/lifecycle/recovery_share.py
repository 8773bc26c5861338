"""A custodian enters their share: typed form (checked group by group as they type) or the QR payload.

Everyone else looks away. The share is typed group by group (:class:`GroupedShareEntry`): each group of
five characters carries its own check character, so a typo is named by its group number as soon as the
group is complete and only that group is typed again; a group that checks out is masked at once, and only
the group being typed is shown (the widget's docstring says why). Enter hands the share to the flow, which
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
from textual.widgets import Button, Static

from ceremony.errors import (
    CeremonyError,
    DemonstratedKnowledgeError,
    ShareChecksumError,
    ShareFormatError,
)
from ceremony.flows.presence import PresentPerson
from ceremony.flows.turns import Next, Turn
from ceremony.tui.screens.lifecycle.base import LifecycleSecretScreen, refusal_text
from ceremony.tui.screens.lifecycle.session import STEP_COLLECT, LifecycleSession, progress_line
from ceremony.tui.widgets.share_groups import GroupedShareEntry


class ShareEntryScreen(LifecycleSecretScreen):
    TITLE = "Enter your share"
    HELP: ClassVar[str | None] = (
        "Everyone except the custodian looks away. The custodian types their share from their record, group "
        "by group (or scans the QR payload); a mistyped group is named as soon as it is complete and "
        "Backspace corrects it. Enter submits. A refused share is named (duplicate, another key or split, "
        "retired split, commitment mismatch) and the entry starts again from group 1."
    )
    STEP = STEP_COLLECT

    def __init__(self, session: LifecycleSession, number: int, custodian: PresentPerson) -> None:
        super().__init__(session)
        self.number = number
        self.custodian = custodian

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        heading = Text.assemble(
            (self.custodian.name, "bold reverse"),
            (f": share {self.number} of {ceremony.key.label}. Everyone else, please look away.", "bold"),
        )
        yield Static(heading, id="look-away")
        yield Static(progress_line(self.session), id="progress")
        yield GroupedShareEntry(id="share-entry")
        yield Button("Another custodian first", id="later")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#share-entry", GroupedShareEntry).focus()

    @on(GroupedShareEntry.Entered, "#share-entry")
    def submit(self, event: GroupedShareEntry.Entered) -> None:
        event.stop()
        entry = event.entry
        self.status("")
        with event.share as typed:
            try:
                progress = self.session.collector.enter_share(self.custodian, typed.buffer())
            except DemonstratedKnowledgeError as error:
                self.advance(Next(Turn.DECIDE_DEMONSTRATED, self.number), person=self.custodian, data=error)
                return
            except ShareChecksumError as error:
                entry.refuse(error)  # names the group; the groups that check out are kept
                return
            except ShareFormatError as error:  # not a possible length: what is typed is kept, to finish
                self.status(refusal_text(error))
                return
            except CeremonyError as error:
                entry.clear()
                self.status(refusal_text(error))
                return
        note = Text(
            f"✓ Share {self.number} accepted ({self.custodian.name}): {progress.text}.", style="bold green"
        )
        self.custodian.leave()
        self.advance(Next(Turn.NEXT_CUSTODIAN), data=note)

    @on(Button.Pressed, "#later")
    def later(self) -> None:
        self.custodian.leave()
        self.advance(Next(Turn.NEXT_CUSTODIAN))
