"""Recovery step 5, the output chosen at the start.

(a) Fresh XOR components: for each, everyone but its custodian looks away, the custodian authenticates,
    the flow records the exposure and returns the component, shown on a secret screen (typed form, the hex
    an HSM takes, and the component's own KCV); "recorded" wipes it. Never reachable again by "back".
    The custodian then seals their record and signs its receipt with the envelope serial
    (:mod:`~ceremony.tui.screens.lifecycle.component_receipt`).
(b) Wrapped under a KEK (RFC 5649): the KEK custodians planned at the start (and checked then in the custody
    dry run) each type their KEK component in hex on a secret screen (only its KCV is recorded); only they
    are offered, each once, and every one of them is needed; then the operator types the output file's path.
    An existing file is never overwritten. The KEK's KCV and the blob's SHA-256 are shown (and recorded by
    the flow).
(c) A TR-31 key block under a KBPK: its components are typed on the same screen, in the KBPK's words
    (:class:`KbpkComponentScreen`); the block's file and (d) the load into a PKCS#11 token are in
    :mod:`~ceremony.tui.screens.lifecycle.recovery_hsm`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Select, Static

from ceremony.crypto.secret import SecretBytes
from ceremony.documents import archive
from ceremony.errors import CeremonyError
from ceremony.flows.presence import PresentPerson
from ceremony.flows.recovery import ComponentReveal, KeyBlockOutput, WrappedOutput
from ceremony.flows.turns import Next, Turn
from ceremony.ledger.participants import Participant, participants
from ceremony.tui.screens.lifecycle.base import (
    LifecycleScreen,
    LifecycleSecretScreen,
    refusal_text,
)
from ceremony.tui.screens.lifecycle.session import STEP_OUTPUT, LifecycleSession
from ceremony.tui.widgets.auth_form import AuthForm
from ceremony.tui.widgets.secret_input import SecretInput
from ceremony.tui.widgets.share_display import ShareDisplay, share_rows

HEX_GROUP = 8  # hex digits per group when the component is shown as an HSM takes it


def hex_rows(hex_digits: SecretBytes, per_row: int = 4) -> list[bytearray]:
    """Hex digits in groups of eight, ``per_row`` groups a row (an AES-256 key: two rows of four, as HSM
    component forms print them); ``hex_digits`` is wiped."""
    rows: list[bytearray] = []
    try:
        view = hex_digits.view()
        step = HEX_GROUP * per_row
        for start in range(0, len(view), step):
            row = bytearray()
            for g in range(start, min(start + step, len(view)), HEX_GROUP):
                if row:
                    row.append(0x20)
                row.extend(bytes(view[g : g + HEX_GROUP]).upper())
            rows.append(row)
        view.release()
    finally:
        hex_digits.wipe()
    return rows


class ComponentScreen(LifecycleSecretScreen):
    TITLE = "Your component"
    HELP: ClassVar[str | None] = (
        "Copy the component onto your custody form (typed form, or the hex digits as the HSM takes them) and "
        "check its KCV. Enter wipes the screen; it cannot be shown again."
    )
    STEP = STEP_OUTPUT

    def __init__(self, session: LifecycleSession, number: int, name: str, shown: ComponentReveal) -> None:
        super().__init__(session)
        self.number = number
        self.custodian_name = name
        self.kcv_hex = shown.kcv.hex
        try:
            self._typed = share_rows(shown.typed)
            self._hex = hex_rows(shown.hex)
        finally:
            shown.wipe()

    def compose_body(self) -> ComposeResult:
        yield Static(
            Text.assemble(
                (self.custodian_name, "bold reverse"),
                f": component {self.number}. Write it down; component KCV {self.kcv_hex}.",
            ),
            id="component-intro",
        )
        yield ShareDisplay(self._typed, caption=f"Component {self.number} — typed form", id="share")
        yield ShareDisplay(self._hex, caption="Hex, for the HSM", id="hex")
        self._typed, self._hex = [], []
        yield Button("I have recorded it: wipe the screen", id="recorded", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#recorded", Button).focus()

    @on(Button.Pressed, "#recorded")
    def recorded(self) -> None:
        self.advance(Next(Turn.COMPONENT_RECEIPT, self.number))  # wiped; sealed, receipt signed next


def output_step(session: object, step: int) -> int:
    """The step a transport key's screens belong to: the recovery's output, or the step the session names
    (``key_block_step``: a generation sends its new key to its HSM as a key block before the wipe)."""
    named = getattr(session, "key_block_step", None)
    return named if isinstance(named, int) else step


class KekComponentScreen(LifecycleSecretScreen):
    """The transport key's custodians type its components: the KEK of a wrapped output, or (subclass
    :class:`KbpkComponentScreen`) the KBPK of a key block. Every word names the key as the plan does
    (``output.transport.name``)."""

    TITLE = "KEK components"
    HELP: ClassVar[str | None] = (
        "Each KEK custodian named at the start authenticates in turn and types their KEK component in hex; "
        "the optional KCV is checked at once. Only each component's KCV is recorded. When every one of them "
        "has entered theirs, choose where the wrapped key is written."
    )
    STEP = STEP_OUTPUT
    NEXT: ClassVar[tuple[str, Turn]] = ("choose the file", Turn.WRAP_FILE)

    def __init__(self, session: LifecycleSession) -> None:
        super().__init__(session)
        self.current: PresentPerson | None = None

    def step_index(self) -> int:
        return output_step(self.session, self.STEP)

    @property
    def key_name(self) -> str:
        """The transport key's name as the plan gives it: "KEK" or "KBPK"."""
        output = self.session.ceremony.output
        return output.transport.name if isinstance(output, WrappedOutput | KeyBlockOutput) else "KEK"

    def _waiting(self) -> list[Participant]:
        """The planned custodians still to type their component (only they may, each once)."""
        missing = set(self.session.ceremony.kek_missing)
        return [p for p in participants(self.session.ledger) if p.person_id in missing]

    def _count_text(self) -> str:
        ceremony = self.session.ceremony
        output = ceremony.output
        planned = 0
        if isinstance(output, WrappedOutput | KeyBlockOutput):
            planned = len(output.transport.custodians)
        waiting = ", ".join(self.session.name_of(p) for p in ceremony.kek_missing) or "nobody"
        return (
            f"{self.key_name} components entered: {planned - len(ceremony.kek_missing)} of {planned}; "
            f"waiting: {waiting}"
        )

    def compose_body(self) -> ComposeResult:
        name = self.key_name
        people = self._waiting()
        yield Static(Text(f"Everyone except the {name} custodian typing, please look away.", style="bold"))
        yield Static(self._count_text(), id="kek-count")
        yield AuthForm(
            self.session.presence, people, "custodian", title=f"{name} custodian", id="kek-custodian"
        )
        yield Label(f"{name} component (hex digits, spaces allowed)")
        yield SecretInput(placeholder="hex digits, Enter", id="kek-part")
        yield Label("Its KCV from your custody form (optional, checked)")
        yield Input(placeholder="e.g. 1A2B3C4D5E", id="kek-kcv", max_length=16)
        yield Button(f"All {name} components entered: {self.NEXT[0]}", id="done", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kek-custodian", AuthForm).focus_first()

    @on(AuthForm.Authenticated, "#kek-custodian")
    def _authenticated(self, event: AuthForm.Authenticated) -> None:
        if self.current is not None:
            self.current.leave()
        self.current = event.person
        self.session.joined(event.person)
        self.query_one("#kek-part", SecretInput).focus()

    @on(Input.Submitted, "#kek-part")
    @on(Input.Submitted, "#kek-kcv")
    def enter(self, event: Input.Submitted) -> None:
        event.stop()
        name = self.key_name
        field = self.query_one("#kek-part", SecretInput)
        if self.current is None:
            self.status(f"The {name} custodian authenticates first.", "bold red")
            self.query_one("#kek-custodian", AuthForm).focus_first()
            return
        if field.is_empty:
            self.status(f"Type the {name} component.", "bold red")
            field.focus()
            return
        expected = self.query_one("#kek-kcv", Input).value.strip() or None
        with field.value_secret() as typed:
            field.wipe()
            try:
                kcv = self.session.ceremony.enter_kek_component(self.current, typed.buffer(), expected)
            except CeremonyError as error:
                self.status(refusal_text(error))
                field.focus()
                return
        self.session.kek_entered += 1
        person = self.current.name
        self.current.leave()
        self.current = None
        self.query_one("#kek-kcv", Input).value = ""
        self.query_one("#kek-count", Static).update(self._count_text())
        form = self.query_one("#kek-custodian", AuthForm)
        waiting = self._waiting()
        form.offer(waiting)
        if len(waiting) > 1:
            for choice in form.query(Select):
                # The next custodian picks their own name. Without the Changed message: the form would
                # move the focus to its passphrase field, away from the name list. (One left: the form
                # chose them, and the passphrase field takes the focus.)
                with choice.prevent(Select.Changed):
                    choice.clear()
        form.reset()
        missing = self.session.ceremony.kek_missing
        following = f"Done: {self.NEXT[0]}." if not missing else f"Next {name} custodian: choose your name."
        self.status(
            Text(f"✓ {person}'s {name} component entered, KCV {kcv.hex}. {following}", style="bold green")
        )
        if not missing:
            self.query_one("#done", Button).focus()
        else:
            form.focus_first()

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        missing = self.session.ceremony.kek_missing
        if missing:
            waiting = ", ".join(self.session.name_of(p) for p in missing)
            self.status(
                f"Every {self.key_name} custodian named at the start types their component; waiting: "
                f"{waiting}.",
                "bold red",
            )
            return
        self.advance(Next(self.NEXT[1]))


class KbpkComponentScreen(KekComponentScreen):
    """The key block protection key's components (key block output): the same turn, the KBPK's words."""

    TITLE = "KBPK components"
    HELP: ClassVar[str | None] = (
        "Each KBPK custodian named at the start authenticates in turn and types their component of the key "
        "block protection key in hex; the optional KCV is checked at once. Only each component's KCV is "
        "recorded. When every one of them has entered theirs, the key block is made and written to a file."
    )
    NEXT: ClassVar[tuple[str, Turn]] = ("make the key block", Turn.KEY_BLOCK_FILE)


class OutputFileScreen(LifecycleScreen):
    """The file an output is written to (a wrapped key, a key block): a path typed, never over a file; the
    flow makes the output (a transport key that is not the one planned forgets its components, and the
    screen offers to type them again); the file written; what was recorded shown. Subclasses say what."""

    STEP = STEP_OUTPUT
    PLACEHOLDER: ClassVar[str] = ""
    WRITE_LABEL: ClassVar[str] = ""
    AGAIN: ClassVar[tuple[str, Turn]] = ("", Turn.CLOSE_OUT)  # the button's label, the components' turn

    def compose_heading(self) -> ComposeResult:
        yield from ()

    def make(self) -> tuple[bytes, str]:
        """The output, made by the flow (or made already): the file's bytes and its size in words."""
        raise NotImplementedError

    def written(self, path: Path, size: str) -> RenderableType:
        """What is shown once the file is written."""
        raise NotImplementedError

    def compose_body(self) -> ComposeResult:
        yield from self.compose_heading()
        yield Label("Output file path")
        yield Input(placeholder=self.PLACEHOLDER, id="path", max_length=400)
        yield Button(self.WRITE_LABEL, id="write", variant="primary")
        yield Static("", id="result")
        yield Button("Continue: wipe and close", id="continue", disabled=True)
        yield Static("", id="status")
        yield Button(self.AGAIN[0], id="again")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#again", Button).display = False
        self.query_one("#path", Input).focus()

    @on(Button.Pressed, "#again")
    def again(self) -> None:
        self.advance(Next(self.AGAIN[1]))  # the flow forgot every component: each typed again

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#write")
    def write(self) -> None:
        text = self.query_one("#path", Input).value.strip()
        if not text:
            self.status("Type the path of the file to write.", "bold red")
            return
        path = Path(text).expanduser()
        if path.exists():
            self.status(f"✗ {path} already exists: it is not overwritten. Choose another name.", "bold red")
            return
        if not path.parent.is_dir():
            self.status(f"✗ The folder {path.parent} does not exist.", "bold red")
            return
        try:
            data, size = self.make()
        except CeremonyError as error:
            self.status(refusal_text(error, self.session.names))
            if self.session.ceremony.kek_missing:  # not the transport key expected: components forgotten
                again = self.query_one("#again", Button)
                again.display = True
                again.focus()
            return
        try:
            archive.write_exclusive(path, data)  # never over a file, even one that appeared meanwhile
        except OSError as error:
            self.status(
                f"✗ The file could not be written ({error.strerror}); choose another path.", "bold red"
            )
            return
        self.query_one("#result", Static).update(self.written(path, size))
        self.status("")
        self.query_one("#again", Button).display = False
        self.query_one("#write", Button).disabled = True
        self.query_one("#path", Input).disabled = True
        button = self.query_one("#continue", Button)
        button.disabled = False
        button.focus()

    @on(Button.Pressed, "#continue")
    def proceed(self) -> None:
        self.advance(Next(Turn.CLOSE_OUT))


class WrapFileScreen(OutputFileScreen):
    TITLE = "Wrap into a file"
    HELP: ClassVar[str | None] = (
        "Type the path of the file to write (for example on the transfer medium). An existing file is never "
        "overwritten. The key is wrapped with AES key wrap with padding (RFC 5649) under the KEK; the KEK's "
        "KCV and the file's SHA-256 are shown and recorded."
    )
    PLACEHOLDER = "/media/transfer/zmk.wrapped"
    WRITE_LABEL = "Wrap and write the file"
    AGAIN = ("Type the KEK components again", Turn.KEK_COMPONENTS)

    def compose_heading(self) -> ComposeResult:
        output = self.session.ceremony.output
        yield Static(
            Text(
                f"Wrap {self.session.ceremony.key.label} under {getattr(output, 'kek_label', '')}",
                style="bold",
            )
        )

    def make(self) -> tuple[bytes, str]:
        ceremony = self.session.ceremony
        wrapped = ceremony.wrapped or ceremony.wrap()
        return wrapped.blob, f"{len(wrapped.blob)} bytes"

    def written(self, path: Path, size: str) -> RenderableType:
        wrapped = self.session.ceremony.wrapped
        assert wrapped is not None
        result = Text(f"✓ Written: {path} ({size})\n", style="bold green")
        result.append(f"KEK KCV   {wrapped.kek_kcv.hex}\n", style="bold")
        result.append(f"Key KCV   {wrapped.key_kcv.hex}\n", style="bold")
        result.append(f"SHA-256   {wrapped.sha256}", style="bold")
        return result
