"""Before a share, component or passphrase appears: everyone but one custodian looks away, and that
custodian authenticates. Shared by generation, re-share and recovery (DESIGN §4.2)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ceremony.flows.presence import Presence
from ceremony.ledger.participants import Participant
from ceremony.tui.widgets.auth_form import AuthForm


def look_away(name: str) -> Text:
    text = Text("Everyone except ", style="bold")
    text.append(name, style="bold reverse")
    text.append(", please look away now.", style="bold")
    return text


class LookAwayPanel(Vertical):
    """Heading, the look-away line and the custodian's passphrase form (posts AuthForm.Authenticated)."""

    DEFAULT_CSS = "LookAwayPanel { height: auto; }"

    def __init__(
        self, presence: Presence, person: Participant, heading: str, *, heading_id: str, auth_title: str
    ) -> None:
        super().__init__()
        self.presence = presence
        self.person = person
        self.heading = heading
        self.heading_id = heading_id
        self.auth_title = auth_title

    def compose(self) -> ComposeResult:
        yield Static(Text(self.heading, style="bold"), id=self.heading_id)
        yield Static(look_away(self.person.name), id="look-away")
        yield AuthForm(self.presence, [self.person], "custodian", title=self.auth_title, id="custodian")
