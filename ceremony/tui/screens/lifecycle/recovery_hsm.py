"""Recovery step 5 for an HSM (issue 16): a TR-31 key block written to a file, or a load into a token.

(c) Key block: once every KBPK custodian planned at the start has typed their component
    (:class:`~ceremony.tui.screens.lifecycle.recovery_output.KbpkComponentScreen`), the operator types the
    file's path; the flow makes the block under the KBPK (its KCV checked against the one brought, the
    custody rule again, the block opened again to the registered key) and records ``key.block_exported``;
    the file is written exclusively (never over an existing one). The header is shown decoded, with the
    KBPK's KCV, the key's KCV and the block's SHA-256 (the same as the file's).
(d) Token: a custodian (never the administrator or the witness) authenticates and types the token's user
    PIN on a secret screen; it goes to the flow once, in a wipeable buffer, and is never shown nor stored.
    The flow loads the key (sensitive, not extractable), compares the token's own check value with the
    registered KCV and records ``key.loaded``; the token's identity and the check are shown. A wrong PIN
    or a mismatch is refused by name, and the custodian may try again.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Static

from ceremony.crypto import tr31
from ceremony.errors import CeremonyError
from ceremony.flows.recovery import KeyBlockOutput, TokenOutput, header_summary, key_block_header
from ceremony.flows.turns import Next, Turn
from ceremony.tui.screens.lifecycle.base import LifecycleSecretScreen
from ceremony.tui.screens.lifecycle.recovery_output import OutputFileScreen, output_step
from ceremony.tui.screens.lifecycle.recovery_start import MECHANISM_MEANINGS
from ceremony.tui.screens.lifecycle.session import STEP_OUTPUT
from ceremony.tui.widgets.token_pin import TokenPinEntry, custodians_but_control

_FIELD_NAMES = {
    "version": "Version",
    "key_usage": "Key usage",
    "algorithm": "Algorithm",
    "mode_of_use": "Mode of use",
    "key_version": "Key version",
    "exportability": "Exportability",
}

CHECK_SOURCES = {
    "token-cmac": "the token's AES-CMAC KCV (token-cmac)",
    "token-ecb": "the token's ECB of a zero block (token-ecb)",
    "cka-check-value": "the token's CKA_CHECK_VALUE (cka-check-value)",
    "token-wrap": "the token's wrap of a test key, same as here (token-wrap)",
}


def header_rows(block: str) -> Table:
    """The block's clear header decoded (:func:`tr31.inspect`), one row a field: its code, then what it
    means; each optional block with its data."""
    described = tr31.inspect(block).describe()
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, title in _FIELD_NAMES.items():
        field = described[key]
        assert isinstance(field, dict)
        table.add_row(title, str(field["code"]), str(field["meaning"]))
    blocks = described["optional_blocks"]
    assert isinstance(blocks, list)
    for info in blocks:
        table.add_row(f"{info['id']} block", "", f"{info['data']} ({info['meaning']})")
    return table


class KeyBlockFileScreen(OutputFileScreen):
    TITLE = "Key block into a file"
    HELP: ClassVar[str | None] = (
        "Type the path of the file to write (for example on the transfer medium). An existing file is never "
        "overwritten. The key is put in a TR-31 / X9.143 key block under the KBPK the custodians formed, "
        "with the header chosen at the start; the block is opened again here to the registered key before "
        "it is written. Its header, the KBPK's KCV, the key's KCV and the file's SHA-256 are shown and "
        "recorded; the signed transmittal form is printed at close-out."
    )
    PLACEHOLDER = "/media/transfer/zmk.tr31"
    WRITE_LABEL = "Make the key block and write it"
    AGAIN = ("Type the KBPK components again", Turn.KBPK_COMPONENTS)

    def step_index(self) -> int:
        return output_step(self.session, self.STEP)

    def compose_heading(self) -> ComposeResult:
        ceremony = self.session.ceremony
        output = ceremony.output
        assert isinstance(output, KeyBlockOutput)
        planned = header_summary(key_block_header(output, ceremony.key.key_type))
        yield Static(
            Text(f"Key block of {ceremony.key.label} under KBPK {output.kbpk_label}", style="bold"),
            id="kb-title",
        )
        yield Static(Text(planned, style="dim"), id="kb-planned")

    def make(self) -> tuple[bytes, str]:
        ceremony = self.session.ceremony
        made = ceremony.key_block or ceremony.make_key_block()
        # The block's text as recorded, nothing added: the file's SHA-256 is the one shown and recorded.
        return made.block.encode("ascii"), f"{len(made.block)} characters"

    def written(self, path: Path, size: str) -> RenderableType:
        made = self.session.ceremony.key_block
        assert made is not None
        figures = Table.grid(padding=(0, 1))
        figures.add_column(style="bold", no_wrap=True)
        figures.add_column(overflow="fold")  # the SHA-256 whole, folded, as sha256sum prints it
        figures.add_row("KBPK KCV", f"{made.kbpk_kcv.hex} ({made.kbpk_kcv.method})")
        figures.add_row("Key KCV", f"{made.key_kcv.hex}: the registered KCV")
        figures.add_row("SHA-256", f"{made.sha256} (of the file)")
        transmittal = Text(
            "The signed key block transmittal form (header, KCVs, SHA-256) is printed at close-out.",
            style="italic",
        )
        self.query_one("#kb-planned", Static).display = False  # the decoded header replaces the plan
        return Group(
            Text(f"✓ Written: {path} ({size})", style="bold green"),
            Text("Header, decoded:", style="bold"),
            header_rows(made.block),
            figures,
            transmittal,
        )


def _yes(value: object) -> str:
    return "yes" if value is True else "no" if value is False else "unknown"


class TokenLoadScreen(LifecycleSecretScreen):
    TITLE = "Load into the token"
    HELP: ClassVar[str | None] = (
        "A custodian (never the administrator or the witness) authenticates and types the token's user PIN; "
        "everyone else looks away. The PIN is used once and never shown nor stored. The key goes in as a "
        "sensitive, non-extractable object and the token's own check value is compared with the registered "
        "KCV. A wrong PIN or a mismatch is refused and may be tried again; repeated wrong PINs may lock the "
        "token."
    )
    STEP = STEP_OUTPUT

    def compose_body(self) -> ComposeResult:
        ceremony = self.session.ceremony
        output = ceremony.output
        assert isinstance(output, TokenOutput)
        how = MECHANISM_MEANINGS.get(output.mechanism, "")
        plan = Text.assemble(
            (f"Load {ceremony.key.label} into token {output.token_label}", "bold"),
            f"\nlabelled {output.object_label!r}; {output.mechanism}: {how}",
            f"\nmodule {output.module}",
        )
        yield Static(plan, id="token-plan")
        control = (ceremony.administrator.person_id, ceremony.witness.person_id)
        yield TokenPinEntry(
            self.session.presence,
            custodians_but_control(self.session.ledger, control),
            joined=self.session.joined,
            id="pin-entry",
        )
        yield Button("Load into the token", id="load", variant="primary")
        yield Static("", id="result")
        yield Button("Continue: wipe and close", id="continue", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#continue", Button).display = False  # shown once the key is in, checked
        self.query_one(TokenPinEntry).focus_first()

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#load")
    def load(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        entry = self.query_one(TokenPinEntry)
        missing = entry.missing()
        if missing is not None:
            self.status(missing, "bold red")
            return
        ceremony = self.session.ceremony
        assert entry.current is not None
        with entry.taken() as pin:
            try:
                loaded = ceremony.load_into_token(pin, entry.current)
            except CeremonyError as error:
                self.status(entry.refused(error, self.session.names))
                body = self.query_one("#body")
                self.call_after_refresh(body.scroll_end, animate=False)  # the refusal is read whole
                return
        record = next(
            (dict(e.payload) for e in reversed(list(ceremony.ledger.events())) if e.type == "key.loaded"), {}
        )
        value = (
            loaded.check_value.hex
            if loaded.check_value is not None
            else loaded.token_value_hex or loaded.cka_check_value_hex or "none"
        )
        name = entry.finish()
        result = Text(
            "✓ Loaded into the token; its check value matches the registered KCV.\n", style="bold green"
        )
        attributes = loaded.attributes
        rows = (
            ("Token", f"{record.get('token_label', '')}, serial {record.get('token_serial', '')}"),
            ("Made by", f"{record.get('token_manufacturer', '')} {record.get('token_model', '')}"),
            ("Firmware", str(record.get("token_firmware", ""))),
            ("Key label", f"{loaded.label} (id {loaded.key_id_hex})"),
            ("Mechanism", f"{loaded.mechanism.value}: {MECHANISM_MEANINGS.get(loaded.mechanism.value, '')}"),
            ("Check value", value),
            ("Source", CHECK_SOURCES.get(loaded.check_source, loaded.check_source)),
            ("Registered", f"KCV {ceremony.key.kcv.hex}: matches the registered KCV"),
            (
                "Attributes",
                f"sensitive {_yes(attributes.get('sensitive'))}, "
                f"extractable {_yes(attributes.get('extractable'))}",
            ),
            ("PIN typed by", f"{name} (used once, not stored)"),
        )
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for title, shown in rows:
            table.add_row(title, shown)
        self.query_one("#result", Static).update(Group(result, table))
        self.status("")
        self.query_one("#load", Button).display = False
        button = self.query_one("#continue", Button)
        button.display = True
        button.focus()

    @on(Button.Pressed, "#continue")
    def proceed(self) -> None:
        self.advance(Next(Turn.CLOSE_OUT))
