"""A ceremony was started and never closed or voided (a crash, a power cut): it is shown on start and must
be voided or, where safe, resumed — never left half-done (DESIGN §4).

Resume is offered only while no key was generated: the clear key lived in memory only and is gone, so a
ceremony past generation can only be voided (its split is retired by the flow, so none of its shares is
ever accepted). Either choice needs the administrator and the witness present, and the flow records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Static

from ceremony.errors import CeremonyError
from ceremony.flows.generation import GenerationCeremony, Stage
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.tui.screens.base import CeremonyScreen
from ceremony.tui.screens.context import LedgerContext
from ceremony.tui.screens.gen_base import error_text
from ceremony.tui.widgets.auth_form import AuthForm


@dataclass(frozen=True)
class Unfinished:
    ceremony_id: str
    purpose: str
    rehearsal: bool
    started_seq: int
    started_time: str
    last_step: str  # the last event type of the ceremony
    key_generated: bool
    split_id: str | None  # set once the split was recorded (then voiding retires it)

    @property
    def resumable(self) -> bool:
        return not self.key_generated


def unfinished_ceremonies(ledger: Ledger) -> list[Unfinished]:
    """Ceremonies with ``ceremony.started`` and neither ``ceremony.closed`` nor ``ceremony.voided``."""
    found: dict[str, dict[str, object]] = {}
    for event in ledger.events():
        cid = event.payload.get("ceremony_id")
        if not isinstance(cid, str):
            continue
        if event.type == "ceremony.started":
            found[cid] = {
                "purpose": str(event.payload.get("purpose", "")),
                "rehearsal": bool(event.payload.get("rehearsal", False)),
                "kind": str(event.payload.get("kind", "")),
                "seq": event.seq,
                "time": event.time,
                "last": event.type,
                "key": False,
                "split": None,
            }
        elif cid in found:
            entry = found[cid]
            if event.type in ("ceremony.closed", "ceremony.voided"):
                del found[cid]
                continue
            entry["last"] = event.type
            if event.type == "key.registered":
                entry["key"] = True
            elif event.type == "split.created":
                entry["split"] = str(event.payload["split_id"])
    return [
        Unfinished(
            cid,
            str(e["purpose"]),
            bool(e["rehearsal"]),
            int(str(e["seq"])),
            str(e["time"]),
            str(e["last"]),
            bool(e["key"]),
            e["split"] if isinstance(e["split"], str) else None,
        )
        for cid, e in found.items()
        if e["kind"] in ("generation", "")
    ]


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
        yield Static(text, id="unfinished")
        ledger = self.context.open()
        assert ledger is not None
        self.presence = Presence(ledger, item.ceremony_id)
        people = [p for p in participants(ledger) if p.active]
        yield AuthForm(
            self.presence,
            [p for p in people if "administrator" in p.roles],
            "administrator",
            title="Administrator",
            id="administrator",
        )
        yield AuthForm(
            self.presence,
            [p for p in people if "witness" in p.roles],
            "witness",
            title="Witness",
            id="witness",
        )
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

    def _ceremony(self, stage: Stage) -> GenerationCeremony:
        ledger = self.context.open()
        assert ledger is not None and self.administrator is not None and self.witness is not None
        if self.administrator.person_id == self.witness.person_id:
            raise CeremonyError("the administrator and the witness must be two different people")
        return GenerationCeremony(
            ledger,
            self.administrator,
            self.witness,
            self.item.purpose,
            self.item.rehearsal,
            ceremony_id=self.item.ceremony_id,
            stage=stage,
            split_id=self.item.split_id,
        )

    @on(Button.Pressed, "#void")
    def void(self) -> None:
        stage = Stage.GENERATED if self.item.split_id else Stage.STARTED
        reason = self.query_one("#reason", Input).value.strip() or "interrupted"
        try:
            self._ceremony(stage).void(f"voided after restart: {reason}")
        except CeremonyError as error:
            self._status(error_text(error))
            return
        self._release()
        self.notify(f"Ceremony {self.item.ceremony_id} was voided; the reason is recorded.")
        self.dismiss(None)

    @on(Button.Pressed, "#resume")
    def resume(self) -> None:
        if not self.item.resumable:
            return
        try:
            ceremony = self._ceremony(Stage.STARTED)
        except CeremonyError as error:
            self._status(error_text(error))
            return
        from ceremony.tui.screens.gen_preflight import PreflightScreen
        from ceremony.tui.screens.gen_session import GenerationSession

        ledger = self.context.open()
        assert ledger is not None
        session = GenerationSession(ledger, self.presence, self.context.run_preflight, self.context.kdf)
        session.ceremony = ceremony
        self.app.switch_screen(PreflightScreen(session))

    def _release(self) -> None:
        for person in (self.administrator, self.witness):
            if person is not None:
                person.leave()
