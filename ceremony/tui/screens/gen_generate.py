"""Generation step 5: the flow generates the key, splits it and records the KCV; the KCV is shown large
and read aloud (ANSI X9.24-1 KCV; the value is not secret), and the room confirms it was.

The key's bytes come from this laptop's CSPRNG (the default) or from a PKCS#11 token's generator (PCI PIN
5-1, issue 16): the token is listed from its module, a custodian — never the administrator or the witness —
authenticates and types its user PIN (:class:`~ceremony.tui.widgets.token_pin.TokenPinEntry`, shared with
the recovery's load into a token). The PIN goes to the flow once, in a wipeable buffer, and is wiped after
use; a refusal (a wrong PIN…) is said without it and may be retried. Once generated, the source that made
the key (the token's label, serial, model and firmware, as ``key.registered`` records them) is shown above
the KCV."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, Digits, Input, Label, Select, Static

from ceremony.crypto.kcv import KeyCheckValue
from ceremony.errors import CeremonyError
from ceremony.flows.generation import TokenSource
from ceremony.tui.screens.frame import StepScreen
from ceremony.tui.screens.gen_session import STEP_GENERATE
from ceremony.tui.widgets.token_pin import (
    TokenPinEntry,
    custodians_but_control,
    default_module,
    fill_token_choice,
)

WHY_NOT_GENERATED = Text("Generate the key first; then the KCV is read aloud.", style="dim")
WHY_NOT_READ = Text("Tick that the KCV was read aloud (Space) to continue.", style="bold yellow")

CSPRNG, TOKEN = "csprng", "token"
RANDOM_SOURCES: tuple[tuple[str, str], ...] = (
    ("This laptop's CSPRNG (default)", CSPRNG),
    ("A PKCS#11 token's generator (PCI PIN 5-1)", TOKEN),
)


def spaced(hex_text: str) -> str:
    """'D77F007724' -> 'D7 7F 00 77 24': easier to read aloud, pair by pair."""
    return " ".join(hex_text[i : i + 2] for i in range(0, len(hex_text), 2))


class GenerateScreen(StepScreen):
    TITLE = "Generate the key"
    HELP: ClassVar[str | None] = (
        "The key is made from the operating system's random generator, split as planned and every "
        "combination of shares checked. Its KCV (key check value) is shown: the administrator reads it "
        "aloud, the witness checks it, and it is written in the minutes. Random source: to draw the key "
        "from a PKCS#11 token's generator instead (PCI PIN 5-1), type the module's path, List tokens, "
        "choose the token; a custodian (never the administrator or the witness) authenticates and types "
        "its user PIN while everyone else looks away. The PIN is used once, never shown nor stored; the "
        "token's label, serial, model and firmware are recorded with the key."
    )
    STEP = STEP_GENERATE

    def compose_body(self) -> ComposeResult:
        ceremony, spec = self.session.ceremony, self.session.key_spec
        assert ceremony is not None and ceremony.plan is not None and spec is not None
        plan = ceremony.plan
        holders = ", ".join(f"{n}: {self.session.name_of(p)}" for n, p in enumerate(plan.custodians, start=1))
        kind = (
            f"{plan.threshold} of {plan.count} Shamir"
            if plan.scheme.value == "shamir"
            else (f"XOR, {plan.count} components")
        )
        yield Static(
            Text.assemble(
                ("Key: ", "bold"),
                f"{spec.key_type.value} “{spec.label}” — {spec.usage}\n",
                ("Split: ", "bold"),
                f"{kind}; shares {holders}",
            ),
            id="plan-summary",
        )
        yield Label("Random source", id="source-label")
        yield Select(RANDOM_SOURCES, value=CSPRNG, allow_blank=False, id="source")
        field = "tk-field"
        yield Label("PKCS#11 module (the token's library file)", classes=field)
        yield Input(default_module(), id="tk-module", max_length=400, classes=field)
        yield Button("List tokens", id="tk-list", classes=field)
        yield Label("Token", classes=field)
        yield Select([], prompt="List tokens first", id="tk-token", classes=field)
        yield Static("", id="tk-listed", classes=field)  # what List tokens found, beside the choice
        control = (ceremony.administrator.person_id, ceremony.witness.person_id)
        yield TokenPinEntry(
            self.session.presence,
            custodians_but_control(self.session.ledger, control),
            joined=self.session.joined,
            id="pin-entry",
            classes=field,
        )
        yield Button("Generate the key", id="generate", variant="primary")
        yield Static("", id="source-line")
        yield Static("", id="kcv-label")
        yield Digits("", id="kcv")
        yield Checkbox("KCV read aloud; the witness checked it", id="read-aloud", disabled=True)
        yield Button("Continue to private distribution", id="continue", variant="primary", disabled=True)
        yield Static(WHY_NOT_GENERATED, id="continue-why")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kcv", Digits).display = False
        self.query_one("#source-line", Static).display = False
        self._show_source()
        self.query_one("#generate", Button).focus()

    def _token_chosen(self) -> bool:
        return self.query_one("#source", Select).value == TOKEN

    @on(Select.Changed, "#source")
    def _show_source(self) -> None:
        token = self._token_chosen()
        for widget in self.query(".tk-field"):
            widget.display = token

    @on(Input.Submitted, "#tk-module")
    @on(Button.Pressed, "#tk-list")
    def list_tokens(self) -> None:
        """The tokens the module shows (no login): initialised ones are offered, the only one chosen."""
        module = self.query_one("#tk-module", Input).value.strip()
        if not module:
            self.status("Type the path of the PKCS#11 module (the token's library file) first.", "bold red")
            self.query_one("#tk-module", Input).focus()
            return
        choice = self.query_one("#tk-token", Select)
        listed, text = fill_token_choice(choice, module)
        self.query_one("#tk-listed", Static).update(text)
        self.status("")
        if listed == 1:  # the only token chosen: its PIN's custodian is next, the whole form in view
            entry = self.query_one(TokenPinEntry)
            entry.focus_first()
            self.call_after_refresh(entry.scroll_visible, animate=False)
        elif listed:
            choice.focus()

    def _from_token(self) -> KeyCheckValue | None:
        """The key drawn from the chosen token's generator, the PIN typed by the custodian (taken once,
        wiped after use); None, with what is missing or the refusal said, when it was not made."""
        ceremony = self.session.ceremony
        assert ceremony is not None
        module = self.query_one("#tk-module", Input).value.strip()
        token = self.query_one("#tk-token", Select).value
        if not module or not isinstance(token, str):
            self.status("Type the module's path, List tokens and choose the token first.", "bold red")
            self.query_one("#tk-module" if not module else "#tk-list").focus()
            return None
        entry = self.query_one(TokenPinEntry)
        missing = entry.missing()
        if missing is not None:
            self.status(missing, "bold red")
            return None
        assert entry.current is not None
        with entry.taken() as pin:
            try:
                kcv: KeyCheckValue = ceremony.generate(TokenSource(module, token, pin, entry.current))
            except CeremonyError as error:
                self.status(entry.refused(error, self.session.names))
                body = self.query_one("#body")
                self.call_after_refresh(body.scroll_end, animate=False)  # the refusal is read whole
                return None
        entry.finish()
        return kcv

    def _source_text(self) -> Text:
        """Which source made the key, as ``key.registered`` records it."""
        ceremony = self.session.ceremony
        assert ceremony is not None
        record = next(
            (dict(e.payload) for e in reversed(list(ceremony.ledger.events())) if e.type == "key.registered"),
            {},
        )
        if record.get("random_source") != "token-rng":
            return Text.assemble(("Random source: ", "bold"), "this laptop's CSPRNG")
        typed_by = self.session.name_of(str(record.get("pin_entered_by", "")))
        return Text.assemble(
            ("Random source: ", "bold"),
            f"token {record.get('token_label', '')}, serial {record.get('token_serial', '')}\n",
            ("Made by: ", "bold"),
            f"{record.get('token_manufacturer', '')} {record.get('token_model', '')}, "
            f"firmware {record.get('token_firmware', '')}; PIN typed by {typed_by}",
        )

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#generate")
    def generate(self, event: Input.Submitted | Button.Pressed | None = None) -> None:
        if event is not None:
            event.stop()
        ceremony = self.session.ceremony
        assert ceremony is not None
        button = self.query_one("#generate", Button)
        if button.disabled or not button.display:
            return
        button.disabled = True
        if self._token_chosen():
            made = self._from_token()
            if made is None:
                button.disabled = False
                return
            kcv = made
        else:
            try:
                kcv = ceremony.generate()
            except CeremonyError as error:
                button.disabled = False
                self.refusal(error)
                return
        button.display = False
        for selector in ("#source-label", "#source", ".tk-field"):
            for widget in self.query(selector):
                widget.display = False
        source = self.query_one("#source-line", Static)
        source.update(self._source_text())
        source.display = True
        self.status("")
        value = kcv.value.hex().upper()
        self.query_one("#kcv-label", Static).update(
            Text.assemble(
                ("KCV ", "bold"), (spaced(value), "bold reverse"), f"  ({kcv.method}) — read it aloud"
            )
        )
        digits = self.query_one("#kcv", Digits)
        digits.update(value)
        digits.display = True
        box = self.query_one("#read-aloud", Checkbox)
        box.disabled = False
        box.focus()
        self.query_one("#continue-why", Static).update(WHY_NOT_READ)

    @on(Checkbox.Changed, "#read-aloud")
    def _read(self, event: Checkbox.Changed) -> None:
        button = self.query_one("#continue", Button)
        button.disabled = not event.value
        # A disabled button says why (issue 14, 2.8): nobody should wonder what the room is waiting for.
        self.query_one("#continue-why", Static).update("" if event.value else WHY_NOT_READ)
        if event.value:
            button.focus()

    @on(Button.Pressed, "#continue")
    def distribute(self) -> None:
        self.query_one(TokenPinEntry).field.wipe()
        self.advance()  # the flow: share 1 to its custodian

    def on_cancel_requested(self) -> None:
        self.query_one(TokenPinEntry).field.wipe()
        super().on_cancel_requested()
