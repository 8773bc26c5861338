"""A ceremony was started and never closed or voided (a crash, a power cut): it is shown on start and must
be voided or, where safe, resumed — never left half-done (DESIGN §4).

Resume is offered only while no key was generated: the clear key lived in memory only and is gone, so a
ceremony past generation can only be voided (its split is retired by the flow, so none of its shares is
ever accepted). Either choice needs the administrator and the witness present, and the flow records it.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.generation import GenerationCeremony
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.unfinished import Unfinished, leftover_cards, record_leftover_cards, void_unfinished
from ceremony.ledger.participants import participants
from ceremony.tui.messages import Proceed
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.screens.frame import refusal_text
from ceremony.tui.widgets.auth_form import AuthForm, control_forms


class UnfinishedScreen(CeremonyScreen[None]):
    TITLE = "Unfinished ceremony"
    HELP: ClassVar[str | None] = (
        "A ceremony was interrupted. The administrator and the witness authenticate, then void it (recorded "
        "with the reason) or, if no key was generated yet, resume it from the preflight."
    )
    ALLOW_SELECT = False

    def __init__(self, context: LedgerContext, item: Unfinished) -> None:
        super().__init__()
        self.context = context
        self.item = item
        self.administrator: PresentPerson | None = None
        self.witness: PresentPerson | None = None

    def compose_body(self) -> ComposeResult:
        item = self.item
        text = Text()
        text.append("⚠ An unfinished ceremony was found\n", style="bold yellow")
        text.append(f"Ceremony {item.ceremony_id}: “{item.purpose}”\n")
        text.append(
            f"Started at event #{item.started_seq} ({item.started_time}); last step: {item.last_step}.\n"
        )
        if item.resumable:
            text.append("No key was generated yet: it may be resumed (preflight and plan again) or voided.")
        else:
            text.append(
                "The key was generated. It existed only in memory and is gone, so this ceremony cannot be "
                "resumed: it can only be voided. Any share already handed out is retired.",
                style="bold",
            )
        ledger = self.context.open()
        assert ledger is not None
        for card in leftover_cards(ledger.events(), item.ceremony_id):
            text.append(
                f"\nShare card file {card.path} (share {card.share_number}) was left by the interrupted run: "
                "it was overwritten and removed at start; voiding or resuming records that.",
                style="bold yellow",
            )
        yield Static(text, id="unfinished")
        self.presence = Presence(ledger, item.ceremony_id)
        people = [p for p in participants(ledger) if p.active]
        yield from control_forms(self.presence, people)
        yield Label("Reason for voiding")
        yield Input("interrupted (crash or power cut)", id="reason", max_length=200)
        with Horizontal(id="actions"):
            yield Button("Void (recorded)", id="void", variant="error", disabled=True)
            if item.resumable:
                yield Button("Resume", id="resume", variant="primary", disabled=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#administrator", AuthForm).focus_first()

    def _status(self, text: Text) -> None:
        self.query_one("#status", Static).update(text)

    @on(AuthForm.Authenticated)
    def _present(self, event: AuthForm.Authenticated) -> None:
        if event.form.id == "administrator":
            self.administrator = event.person
            self.query_one("#witness", AuthForm).focus_first()
        else:
            self.witness = event.person
        if self.administrator and self.witness:
            for button in self.query(Button):
                button.disabled = False
            self.query_one("#void", Button).focus()

    @on(Button.Pressed, "#void")
    def void(self) -> None:
        reason = self.query_one("#reason", Input).value.strip() or "interrupted"
        ledger = self.context.open()
        assert ledger is not None and self.administrator is not None and self.witness is not None
        try:
            void_unfinished(
                ledger, self.item, self.administrator, self.witness, f"voided after restart: {reason}"
            )
        except CeremonyError as error:
            self._status(refusal_text(error))
            return
        self._release()
        self.notify(f"Ceremony {self.item.ceremony_id} was voided; the reason is recorded.")
        self.dismiss(None)

    @on(Button.Pressed, "#resume")
    def resume(self) -> None:
        if not self.item.resumable:
            return
        ledger = self.context.open()
        assert ledger is not None and self.administrator is not None and self.witness is not None
        try:
            record_leftover_cards(ledger, self.item, self.administrator, self.witness)
            ceremony = GenerationCeremony.resume(ledger, self.item, self.administrator, self.witness)
        except CeremonyError as error:
            self._status(refusal_text(error))
            return
        from ceremony.flows.turns import Next, Turn
        from ceremony.tui.screens.gen_session import GenerationSession

        session = GenerationSession(ledger, self.presence, self.context.run_preflight, self.context.kdf)
        session.ceremony = ceremony
        # A resumed ceremony records a new preflight first (under the same ceremony id).
        self.post_message(Proceed(session, Next(Turn.PREFLIGHT)))

    def _release(self) -> None:
        for person in (self.administrator, self.witness):
            if person is not None:
                person.leave()
