"""Recovery step 1: which key, why, and what comes out — chosen before anyone opens an envelope.

Retired keys are not offered; a key flagged "must be replaced" or near/past its cryptoperiod carries the
flag in its label. The output is fixed here and recorded when the ceremony starts (issue 7): fresh XOR
components for loading an HSM (each to its own custodian), the key wrapped under a key-encryption key
(RFC 5649) into a file, a TR-31 / X9.143 key block under a key block protection key (KBPK) with its header
chosen here (issue 16), or a load into a PKCS#11 token (an HSM) chosen here from the tokens its module
lists. The place of the ceremony is asked here too (recorded at its start, printed in the minutes). A
forbidden key block header (e.g. PIN encryption with mode of use X, an AES key under a TDES KBPK) is
refused at Continue, before the preflight. Nothing is written to the ledger on this screen; the air-gap
preflight comes next, as in generation (:mod:`ceremony.tui.screens.lifecycle.preflight`).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from ceremony.errors import InputError
from ceremony.flows.common import read_register
from ceremony.flows.presence import Presence
from ceremony.flows.recovery import (
    TOKEN_MECHANISMS,
    ChosenOutput,
    ComponentsOutput,
    KeyBlockOutput,
    OutputKind,
    TokenOutput,
    WrappedOutput,
    dry_run_output,
    key_block_header,
    planned_holders,
)
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import run_preflight
from ceremony.tui.screens.gen_session import PreflightRunner
from ceremony.tui.screens.lifecycle.base import CustodyPlanScreen, LifecycleScreen
from ceremony.tui.screens.lifecycle.key_list import key_rows
from ceremony.tui.screens.lifecycle.session import STEP_PLAN, LifecycleSession
from ceremony.tui.widgets.key_block_fields import (
    chosen_key_block,
    follow_usage,
    key_block_header_fields,
    usage_options,
)
from ceremony.tui.widgets.token_pin import default_module, fill_token_choice

OUTPUT_CHOICES: tuple[tuple[str, OutputKind], ...] = (
    ("Fresh XOR components, for loading an HSM", OutputKind.COMPONENTS),
    ("Wrapped under a KEK (RFC 5649) into a file", OutputKind.WRAPPED),
    ("TR-31 key block for an HSM import, under a KBPK from components", OutputKind.KEY_BLOCK),
    ("Load into a PKCS#11 token (HSM)", OutputKind.TOKEN),
)

# The usages a key loaded into a token is given attributes for (ceremony.hsm.pkcs11.usage_capabilities).
TOKEN_USAGES: tuple[str, ...] = ("K0", "K1", "D0", "P0", *(f"M{n}" for n in range(7)), "C0", "B0", "E0", "")
# How the key goes into the token: a one-line meaning (the option) and a fuller one (the hint below it).
MECHANISM_MEANINGS: dict[str, str] = {
    "unwrap-0x210A": "token unwraps, RFC 5649",
    "unwrap-0x210B": "token unwraps, KWP (v3.0)",
    "create": "sent in clear (C_CreateObject)",
}
MECHANISM_HINTS: dict[str, str] = {
    "unwrap-0x210A": "CKM_AES_KEY_WRAP_PAD as SoftHSM offers it: only a wrapped blob crosses to the token.",
    "unwrap-0x210B": "CKM_AES_KEY_WRAP_KWP (PKCS#11 3.0, e.g. Thales Luna): only a wrapped blob crosses.",
    "create": "The key crosses the PKCS#11 API in clear: for a token that cannot unwrap.",
}
assert tuple(MECHANISM_MEANINGS) == tuple(MECHANISM_HINTS) == TOKEN_MECHANISMS


def split_options(session: LifecycleSession, key_id: str) -> list[tuple[str, str]]:
    """The active splits of ``key_id`` (after a components output a key has two: its shares and the
    HSM components), newest last."""
    register = read_register(session.ledger.events())
    if key_id not in register.keys:
        return []
    return [(s.label, s.split_id) for s in register.active_splits(key_id)]


def fill_splits(screen: LifecycleScreen, key: object) -> None:
    """Offer the chosen key's active splits; the only one is chosen for the operator."""
    choice = screen.query_one("#split", Select)
    options = split_options(screen.session, key) if isinstance(key, str) else []
    choice.set_options(options)
    if len(options) == 1:
        choice.value = options[0][1]


def chosen_split(screen: LifecycleScreen) -> str | None:
    value = screen.query_one("#split", Select).value
    return value if isinstance(value, str) else None


def key_options(session: LifecycleSession) -> list[tuple[str, str]]:
    """The keys a recovery or re-share may take: registered, not retired, with an active split."""
    return [
        (row.option_label(), row.key_id)
        for row in key_rows(session.ledger)
        if not row.retired and row.active_splits
    ]


class RecoveryPlanScreen(LifecycleScreen, CustodyPlanScreen):
    TITLE = "Recovery: key and output"
    HELP: ClassVar[str | None] = (
        "Choose the key to rebuild (retired keys are not offered; flagged keys say why), state the purpose "
        "and the place, and choose the output now — it is recorded before any envelope is opened. "
        "Components: tick the custodians who will each receive one (space). Wrapped: name the KEK as the "
        "receiving system knows it and tick its custodians. Key block: the same for the KBPK, then the "
        "block's header (version, usage, mode of use, key version, exportability, optional key set id); a "
        "header the standard forbids is refused at Continue. Token: the module's path, List tokens, choose "
        "the token, the key's label in it, its usage and how it goes in; the PIN is typed after the "
        "rebuild. The air-gap preflight comes next."
    )
    STEP = STEP_PLAN

    def compose_body(self) -> ComposeResult:
        options = key_options(self.session)
        yield Label("Key to rebuild")
        yield Select(options, prompt="Choose a key", id="key", allow_blank=True)
        if not options:
            yield Static(
                Text("No key can be recovered: none is registered, or all are retired.", style="bold red")
            )
        yield Label("Split whose shares are brought")
        yield Select([], prompt="Choose the key first", id="split")
        yield Label("Purpose of this ceremony")
        yield Input(placeholder="e.g. reload the zone master key into HSM-2", id="purpose", max_length=200)
        yield Label("Place of the ceremony (for the minutes)")
        yield Input(placeholder="e.g. Vault room 2, HQ", id="location", max_length=200)
        yield Label("Output")
        yield Select([(label, kind.value) for label, kind in OUTPUT_CHOICES], id="output", allow_blank=False)
        yield Label("Component custodians (Space ticks; one each)", id="components-label")
        custodians = [p for p in participants(self.session.ledger) if p.active and "custodian" in p.roles]
        yield SelectionList[str](
            *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians], id="components"
        )
        # The transport key: the KEK of a wrap, or the KBPK of a key block (relabelled when chosen).
        yield Label("KEK name (as the receiving system knows it)", id="kek-label-label")
        yield Input(placeholder="e.g. HSM-2 key transport KEK", id="kek-label", max_length=80)
        # Its custodians are planned now (custody dry run, DESIGN §3): custodians only — the
        # administrator and the witness never bring a part of it.
        yield Label("KEK custodians (Space ticks; one component each)", id="kek-custodians-label")
        yield SelectionList[str](
            *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians], id="kek-custodians"
        )
        yield Label("KEK's KCV if known (optional; it is checked)", id="kek-kcv-label")
        yield Input(placeholder="e.g. 1A2B3C4D5E", id="kek-kcv", max_length=16)
        yield from key_block_header_fields()
        yield from self._token_fields()
        yield Button("Continue: air-gap preflight", id="continue", variant="primary")
        yield Button("Record a quorum decision (security officer + witness)", id="quorum")
        yield Static("", id="status")

    def _token_fields(self) -> ComposeResult:
        """The token the key goes into, listed from its module, and how."""
        field = "tk-field"
        yield Label("PKCS#11 module (the HSM's library file)", classes=field)
        yield Input(default_module(), id="tk-module", max_length=400, classes=field)
        yield Button("List tokens", id="tk-list", classes=field)
        yield Label("Token", classes=field)
        yield Select([], prompt="List tokens first", id="tk-token", classes=field)
        yield Label("The key's label in the token", classes=field)
        yield Input(placeholder="e.g. ZMK 2026", id="tk-object", max_length=64, classes=field)
        yield Label("Key usage (sets its attributes)", classes=field)
        yield Select(usage_options(TOKEN_USAGES), id="tk-usage", allow_blank=False, value="K0", classes=field)
        yield Label("How the key goes in", classes=field)
        yield Select(
            [(f"{code}: {meaning}", code) for code, meaning in MECHANISM_MEANINGS.items()],
            id="tk-mechanism",
            allow_blank=False,
            value=TOKEN_MECHANISMS[0],
            classes=field,
        )
        yield Static(
            Text(MECHANISM_HINTS[TOKEN_MECHANISMS[0]], style="dim"), id="tk-mechanism-hint", classes=field
        )

    def on_mount(self) -> None:
        super().on_mount()
        self._show_output_fields()
        self.query_one("#quorum", Button).display = False
        self.query_one("#key", Select).focus()

    @on(Select.Changed, "#key")
    def _key_chosen(self, event: Select.Changed) -> None:
        fill_splits(self, event.value)

    def _kind(self) -> OutputKind:
        value = self.query_one("#output", Select).value
        return OutputKind(value) if isinstance(value, str) else OutputKind.COMPONENTS

    @on(Select.Changed, "#output")
    def _show_output_fields(self) -> None:
        kind = self._kind()
        transport = kind in (OutputKind.WRAPPED, OutputKind.KEY_BLOCK)
        kek_fields = ("#kek-label", "#kek-label-label", "#kek-custodians", "#kek-custodians-label")
        for selector in (*kek_fields, "#kek-kcv", "#kek-kcv-label"):
            self.query_one(selector).display = transport
        for selector in ("#components", "#components-label"):
            self.query_one(selector).display = kind is OutputKind.COMPONENTS
        for widget in self.query(".kb-field"):
            widget.display = kind is OutputKind.KEY_BLOCK
        for widget in self.query(".tk-field"):
            widget.display = kind is OutputKind.TOKEN
        if kind is OutputKind.KEY_BLOCK:
            self.query_one("#kek-label-label", Label).update("KBPK name (as the receiving HSM knows it)")
            self.query_one("#kek-label", Input).placeholder = "e.g. payShield LMK-1 KBPK"
            self.query_one("#kek-custodians-label", Label).update("KBPK custodians (Space ticks; one each)")
            self.query_one("#kek-kcv-label", Label).update("KBPK's KCV if known (optional; checked)")
        else:
            self.query_one("#kek-label-label", Label).update("KEK name (as the receiving system knows it)")
            self.query_one("#kek-label", Input).placeholder = "e.g. HSM-2 key transport KEK"
            self.query_one("#kek-custodians-label", Label).update(
                "KEK custodians (Space ticks; one component each)"
            )
            self.query_one("#kek-kcv-label", Label).update("KEK's KCV if known (optional; it is checked)")

    @on(Select.Changed, "#kb-usage")
    def _usage_chosen(self, event: Select.Changed) -> None:
        follow_usage(self, event.value)

    @on(Select.Changed, "#tk-mechanism")
    def _mechanism_chosen(self, event: Select.Changed) -> None:
        hint = MECHANISM_HINTS.get(event.value, "") if isinstance(event.value, str) else ""
        self.query_one("#tk-mechanism-hint", Static).update(Text(hint, style="dim"))

    @on(Input.Submitted, "#tk-module")
    @on(Button.Pressed, "#tk-list")
    def list_tokens(self) -> None:
        """The tokens the module shows (no login): initialised ones are offered, the only one chosen."""
        module = self.query_one("#tk-module", Input).value.strip()
        if not module:
            self.status("Type the path of the PKCS#11 module (the HSM's library file) first.", "bold red")
            self.query_one("#tk-module", Input).focus()
            return
        choice = self.query_one("#tk-token", Select)
        listed, text = fill_token_choice(choice, module)
        if not listed:
            self._refuse(text)
            return
        self.status(text)
        (self.query_one("#tk-object", Input) if listed == 1 else choice).focus()

    @on(Input.Submitted, "#purpose")
    def _purpose_done(self) -> None:
        self.query_one("#location", Input).focus()

    @on(Input.Submitted, "#location")
    def _location_done(self) -> None:
        self.query_one("#output", Select).focus()

    @on(Input.Submitted, "#kek-label")
    @on(Button.Pressed, "#continue")
    def next_step(self) -> None:
        key = self.query_one("#key", Select).value
        if not isinstance(key, str):
            self.status("Choose the key to rebuild first.", "bold red")
            self.query_one("#key", Select).focus()
            return
        split = chosen_split(self)
        if split is None:
            self.status("Choose the split whose shares the custodians bring.", "bold red")
            self.query_one("#split", Select).focus()
            return
        purpose = self.query_one("#purpose", Input).value.strip()
        if not purpose:
            self.status("State the purpose: it is printed in the minutes.", "bold red")
            self.query_one("#purpose", Input).focus()
            return
        output: ChosenOutput
        kind = self._kind()
        if kind in (OutputKind.WRAPPED, OutputKind.KEY_BLOCK):
            name = "KBPK" if kind is OutputKind.KEY_BLOCK else "KEK"
            label = self.query_one("#kek-label", Input).value.strip()
            if not label:
                what = "key block protection key" if kind is OutputKind.KEY_BLOCK else "key-encryption key"
                self.status(f"Name the {what} ({name}).", "bold red")
                self.query_one("#kek-label", Input).focus()
                return
            kek_custodians = tuple(self.query_one("#kek-custodians", SelectionList).selected)
            if len(kek_custodians) < 2:
                self.status(
                    f"Tick at least two {name} custodians: each types one component (space ticks).",
                    "bold red",
                )
                self.query_one("#kek-custodians", SelectionList).focus()
                return
            kcv = self.query_one("#kek-kcv", Input).value.strip() or None
            if kind is OutputKind.KEY_BLOCK:
                output = self._key_block_output(label, kek_custodians, kcv)
            else:
                output = WrappedOutput(label, kek_custodians, kcv)
        elif kind is OutputKind.TOKEN:
            token = self._token_output()
            if token is None:
                return
            output = token
        else:
            chosen = tuple(self.query_one("#components", SelectionList).selected)
            if len(chosen) < 2:
                self.status("Tick at least two custodians: one component each (space ticks).", "bold red")
                self.query_one("#components", SelectionList).focus()
                return
            output = ComponentsOutput(chosen)
        if not self._dry_run(key, output):
            return
        self.session.key_id = key
        self.session.split_id = split
        self.session.purpose = purpose
        self.session.location = self.query_one("#location", Input).value.strip()
        self.session.output = output
        self.advance()  # the flow: the air-gap preflight next

    def _key_block_output(self, label: str, custodians: tuple[str, ...], kcv: str | None) -> KeyBlockOutput:
        return chosen_key_block(self, label, custodians, kcv)

    def _token_output(self) -> TokenOutput | None:
        """The token output as chosen, or None (and what is missing said) when it is not complete."""
        module = self.query_one("#tk-module", Input).value.strip()
        if not module:
            self.status("Type the path of the PKCS#11 module, then List tokens.", "bold red")
            self.query_one("#tk-module", Input).focus()
            return None
        token = self.query_one("#tk-token", Select).value
        if not isinstance(token, str):
            self.status("List the tokens and choose the one the key goes into.", "bold red")
            self.query_one("#tk-list", Button).focus()
            return None
        label = self.query_one("#tk-object", Input).value.strip()
        if not label:
            self.status("Name the key as the token will label it.", "bold red")
            self.query_one("#tk-object", Input).focus()
            return None
        usage = self.query_one("#tk-usage", Select).value
        mechanism = self.query_one("#tk-mechanism", Select).value
        return TokenOutput(
            module,
            token,
            label,
            key_usage=usage if isinstance(usage, str) else "",
            mechanism=mechanism if isinstance(mechanism, str) else TOKEN_MECHANISMS[0],
        )

    def _check_output(self, key_id: str, output: ChosenOutput) -> None:
        """What the start would refuse of the output itself, said now: a key block header the standard
        forbids for this key, or a token for a key no token takes here."""
        key = read_register(self.session.ledger.events()).key(key_id)
        if isinstance(output, KeyBlockOutput):
            key_block_header(output, key.key_type)
        elif isinstance(output, TokenOutput) and not (key.key_type.is_aes or key.key_type.is_tdes):
            raise InputError(
                f"a {key.key_type.value} key is not loaded into a token here (AES and TDES keys)"
            )

    def _dry_run(self, key_id: str, output: ChosenOutput) -> bool:
        """The output's own checks (a key block's header), then the custody dry run of the chosen output,
        before anyone authenticates (DESIGN §3): :meth:`CustodyPlanScreen.custody_checked`."""

        def check() -> None:
            self._check_output(key_id, output)
            dry_run_output(self.session.ledger.custody(), key_id, output)

        return self.custody_checked(key_id, planned_holders(output), check)

    def on_cancel_requested(self) -> None:
        self.session.release()  # nothing started yet: nothing to void


def recovery_screen(
    ledger: Ledger, presence: Presence | None = None, *, run_preflight: PreflightRunner = run_preflight
) -> Screen[None]:
    """The first screen of a recovery ceremony (push it from a menu; it returns there when done).
    ``run_preflight``: the air-gap checks (the app's own runner; tests pass a fixed report)."""
    session = LifecycleSession(ledger, presence or Presence(ledger), run_preflight=run_preflight)
    return RecoveryPlanScreen(session)
