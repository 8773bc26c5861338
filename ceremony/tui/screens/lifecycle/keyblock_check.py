"""Checking a TR-31 key block received from elsewhere (issue 16; PCI DSS 3.7.7), in the recovery's frame.

1. :class:`KeyBlockPlanScreen` — the registered key the block claims to carry, the block's text file (read
   at Continue: an unreadable, non-ASCII or too long file is refused by name; once read, only its decoded
   clear header is shown — never the rest of the block), purpose, place, the KBPK's name, its custodians
   and its KCV if known. Continue runs the custody dry run of the KBPK planned (whoever knows the KBPK
   opens the block: they may not number fewer than the key's quorum, DESIGN §3); a refusal names who could
   rebuild the key and offers the quorum decision, as a recovery's plan does. Nothing is recorded here.
2. The lifecycle air-gap preflight, then administrator and witness (:class:`ControlAuthScreen`), where the
   session starts :class:`~ceremony.flows.keyblock_check.KeyBlockCheck` and records the preflight.
3. :class:`CheckKbpkComponentScreen` — the recovery's KBPK component screen: each planned custodian types
   their component, only its KCV is recorded.
4. :class:`VerdictScreen` — "Check the key block": VERIFIED (the MAC verifies under the KBPK and the key
   inside has the registered KCV) or REFUSED with why; either is recorded (``key_block.checked``). A KBPK
   whose KCV is not the one planned opens nothing: its components are typed again.
5. :class:`CheckCloseScreen` — the close-out (:class:`~ceremony.flows.closeout.CloseOut`): close with the
   checkpoint, then the minutes into the ceremony's documents folder. A refused block closes the same way.

Ctrl+C voids an open check, as every ceremony (:mod:`ceremony.tui.screens.frame`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.console import Group
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from ceremony.crypto import tr31
from ceremony.errors import CeremonyError, InputError, KCVMismatchError, KeyBlockError
from ceremony.flows.common import read_register
from ceremony.flows.keyblock_check import (
    CHECK_REFUSED,
    MAX_BLOCK,
    CheckResult,
    KeyBlockCheck,
    Stage,
    Verdict,
)
from ceremony.flows.presence import Presence, PresentPerson
from ceremony.flows.steps import KEY_BLOCK_CHECK_TITLES
from ceremony.flows.transport import TransportPlan, dry_run_transport
from ceremony.flows.turns import Next, Turn, key_block_check_turn
from ceremony.ledger.participants import participants
from ceremony.ledger.store import Ledger
from ceremony.preflight import run_preflight
from ceremony.tui.screens.frame import StepScreen
from ceremony.tui.screens.gen_session import PREFLIGHT_BLOCKED, PreflightRunner
from ceremony.tui.screens.lifecycle.base import (
    LIFECYCLE_CSS,
    CustodyPlanScreen,
    close_flow_screen,
    refusal_text,
)
from ceremony.tui.screens.lifecycle.recovery_hsm import header_rows
from ceremony.tui.screens.lifecycle.recovery_output import KbpkComponentScreen
from ceremony.tui.screens.lifecycle.recovery_start import key_options
from ceremony.tui.screens.lifecycle.session import PreflightGate

if TYPE_CHECKING:
    from ceremony.flows.closeout import CloseOut

STEPS: tuple[str, ...] = KEY_BLOCK_CHECK_TITLES
STEP_PLAN, STEP_PREFLIGHT, STEP_AUTH, STEP_COMPONENTS, STEP_VERDICT, STEP_CLOSE = range(6)
# A block file is one block, perhaps with line breaks: a file this long is not one.
MAX_FILE_BYTES = 2 * MAX_BLOCK


def read_key_block(text: str) -> str:
    """The key block in the file at path ``text``, whitespace removed; refused by name (InputError) when
    the file cannot be read, is not ASCII, is empty or is longer than one block. The header is not read
    here (:func:`tr31.inspect`)."""
    if not text.strip():
        raise InputError("type the path of the key block's text file")
    path = Path(text.strip()).expanduser()
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise InputError(f"{path} cannot be read ({error.strerror or type(error).__name__})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"{path} is longer than {MAX_FILE_BYTES} bytes: that is not one key block")
    try:
        decoded = raw.decode("ascii")
    except UnicodeDecodeError:
        raise InputError(f"{path} is not ASCII text: a key block is letters and digits only") from None
    block = "".join(decoded.split())
    if not block:
        raise InputError(f"{path} is empty")
    if len(block) > MAX_BLOCK:
        raise InputError(f"{path} holds {len(block)} characters, more than one key block ({MAX_BLOCK})")
    return block


def read_header(block: str) -> tr31.Header:
    """The block's clear header (nothing vouched for before the MAC); a version not opened here is refused."""
    header = tr31.inspect(block)
    if header.version not in tr31.VERSIONS:
        raise KeyBlockError(f"a key block of version {header.version} is not opened here (only B and D)")
    return header


@dataclass
class KeyBlockCheckSession:
    """One key block check as the screens see it: what the plan chose, the preflight gate, the flow object
    (from the control authentication on), everyone unlocked. It records nothing itself."""

    ledger: Ledger
    presence: Presence
    run_preflight: PreflightRunner = run_preflight
    key_id: str | None = None
    block: str = ""
    purpose: str = ""
    location: str = ""
    kbpk_label: str = ""
    kbpk_custodians: tuple[str, ...] = ()
    kbpk_kcv_hex: str | None = None
    check: KeyBlockCheck | None = None
    present: list[PresentPerson] = field(default_factory=list)
    kek_entered: int = 0  # counted by the KBPK component screen
    names: dict[str, str] = field(default_factory=dict)
    preflight: PreflightGate = field(init=False)

    checks_a_key_block: ClassVar[bool] = True  # the router's cue (its screens, not a recovery's)
    asks_purpose: ClassVar[bool] = False  # stated on the plan screen

    def __post_init__(self) -> None:
        self.names = {p.person_id: p.name for p in participants(self.ledger)}
        self.preflight = PreflightGate(self.ledger, self.run_preflight)

    @property
    def steps(self) -> tuple[str, ...]:
        return STEPS

    @property
    def rehearsal(self) -> bool:
        return self.ledger.info.rehearsal

    def name_of(self, person_id: str) -> str:
        return self.names.get(person_id, person_id)

    @property
    def ceremony(self) -> KeyBlockCheck:
        assert self.check is not None, "the check starts when administrator and witness authenticate"
        return self.check

    def next_turn(self) -> Next:
        """Before the start: the plan, the preflight, administrator and witness; then as the flow says."""
        if self.check is None:
            if self.key_id is None:
                return Next(Turn.PLAN)
            return Next(Turn.CONTROL_AUTH) if self.preflight.accepted else Next(Turn.PREFLIGHT)
        return key_block_check_turn(self.check)

    def summary(self) -> str:
        """The key, the KBPK and the purpose, shown above the control authentication."""
        key = read_register(self.ledger.events()).keys.get(self.key_id or "")
        label = f"{key.label} ({key.key_id[:8]}, KCV {key.kcv.hex})" if key else ""
        return f"Key block of {label} under KBPK {self.kbpk_label} — {self.purpose}"

    def start(self, administrator: PresentPerson, witness: PresentPerson, purpose: str = "") -> None:
        """Start the check in the flow with what the plan chose, then record the preflight; a preflight the
        flow refuses voids the check with that reason (nothing of any key was touched)."""
        assert self.key_id is not None
        self.check = KeyBlockCheck.start(
            self.ledger,
            administrator,
            witness,
            self.key_id,
            self.block,
            self.kbpk_label,
            self.kbpk_custodians,
            self.purpose,
            kbpk_kcv_hex=self.kbpk_kcv_hex,
            rehearsal=self.rehearsal,
            location=self.location or None,
        )
        self.presence.ceremony_id = self.check.ceremony_id
        self.present += [administrator, witness]
        try:
            self.preflight.record(self.check)
        except CeremonyError:
            self.check.void(PREFLIGHT_BLOCKED)
            self.check = None
            raise

    def joined(self, person: PresentPerson) -> None:
        self.present.append(person)

    @property
    def open(self) -> bool:
        return self.check is not None and self.check.stage not in (Stage.CLOSED, Stage.VOIDED)

    def cancel(self, step: str) -> None:
        """Ctrl+C: the flow voids the check (wiping the components typed) and records why."""
        if self.open:
            self.ceremony.void(f"cancelled by the operator (Ctrl+C) at {step}")
        self.release()

    def release(self) -> None:
        for person in self.present:
            person.leave()
        self.present.clear()


class CheckScreen(StepScreen):
    """A step of a key block check (no secret on it)."""

    CSS_PATH = LIFECYCLE_CSS
    CSS = """
    VerdictScreen Button, CheckCloseScreen Button { height: 1; border: none; min-width: 0; margin-top: 1; }
    #verdict-word {
        height: 3; margin-top: 1; border: heavy $success; color: $success;
        text-style: bold; content-align: center middle;
    }
    #verdict-word.refused { border: heavy $error; color: $error; }
    """
    session: KeyBlockCheckSession


# --- 1. the plan --------------------------------------------------------------------------------------------
class KeyBlockPlanScreen(CheckScreen, CustodyPlanScreen):
    TITLE = "Check a received key block"
    HELP: ClassVar[str | None] = (
        "Choose the registered key the block claims to carry, type the path of the block's text file (it "
        "is read at Continue; only its clear header is shown, nothing is vouched for before the MAC), state "
        "the purpose and the place, name the key block protection key (KBPK) as the sending system knows "
        "it, tick its custodians (Space; each types one component) and give its KCV if known. Whoever knows "
        "the KBPK opens the block: the custody rule is checked at Continue. The air-gap preflight is next."
    )
    STEP = STEP_PLAN

    def compose_body(self) -> ComposeResult:
        options = key_options(self.session)  # type: ignore[arg-type]  # reads only .ledger
        yield Label("Key the block carries (registered)")
        yield Select(options, prompt="Choose a key", id="key", allow_blank=True)
        if not options:
            yield Static(Text("No key is registered, or all are retired.", style="bold red"))
        yield Label("Key block file (its text; read at Continue)")
        yield Input(placeholder="e.g. /media/transfer/zmk.tr31", id="block-path", max_length=400)
        yield Static("", id="kb-header")
        yield Label("Purpose of this ceremony")
        yield Input(placeholder="e.g. check the ZMK block sent by HSM-3", id="purpose", max_length=200)
        yield Label("Place of the ceremony (for the minutes)")
        yield Input(placeholder="e.g. Vault room 2, HQ", id="location", max_length=200)
        yield Label("KBPK name (as the sending system knows it)")
        yield Input(placeholder="e.g. payShield LMK-1 KBPK", id="kbpk-label", max_length=80)
        yield Label("KBPK custodians (Space ticks; one each)")
        custodians = [p for p in participants(self.session.ledger) if p.active and "custodian" in p.roles]
        yield SelectionList[str](
            *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians], id="kbpk-custodians"
        )
        yield Label("KBPK's KCV if known (optional; checked)")
        yield Input(placeholder="e.g. 1A2B3C", id="kbpk-kcv", max_length=16)
        yield Button("Continue: air-gap preflight", id="continue", variant="primary")
        yield Button("Record a quorum decision…", id="quorum")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#kb-header", Static).display = False
        self.query_one("#quorum", Button).display = False
        self.query_one("#key", Select).focus()

    def _read_block(self) -> tuple[str, tr31.Header] | None:
        """The block from its file and its header shown decoded; None (and why said) when refused."""
        shown = self.query_one("#kb-header", Static)
        try:
            block = read_key_block(self.query_one("#block-path", Input).value)
            header = read_header(block)
        except CeremonyError as error:
            shown.display = False
            self._refuse(refusal_text(error, self.session.names))
            self.query_one("#block-path", Input).focus()
            return None
        shown.update(
            Group(
                Text(f"Header ({len(block)} characters; not vouched for yet):", "bold"),
                header_rows(block),
            )
        )
        shown.display = True
        return block, header

    @on(Input.Submitted, "#block-path")
    def _path_done(self) -> None:
        if self._read_block() is not None:
            self.status("")
            self.query_one("#purpose", Input).focus()

    @on(Input.Submitted, "#purpose")
    def _purpose_done(self) -> None:
        self.query_one("#location", Input).focus()

    @on(Input.Submitted, "#location")
    def _location_done(self) -> None:
        self.query_one("#kbpk-label", Input).focus()

    @on(Input.Submitted, "#kbpk-label")
    def _label_done(self) -> None:
        self.query_one("#kbpk-custodians", SelectionList).focus()

    @on(Input.Submitted, "#kbpk-kcv")
    @on(Button.Pressed, "#continue")
    def next_step(self) -> None:
        key = self.query_one("#key", Select).value
        if not isinstance(key, str):
            self.status("Choose the key the block carries first.", "bold red")
            self.query_one("#key", Select).focus()
            return
        read = self._read_block()
        if read is None:
            return
        block, header = read
        purpose = self.query_one("#purpose", Input).value.strip()
        if not purpose:
            self._refuse("State the purpose: it is printed in the minutes.")
            self.query_one("#purpose", Input).focus()
            return
        label = self.query_one("#kbpk-label", Input).value.strip()
        if not label:
            self._refuse("Name the key block protection key (KBPK).")
            self.query_one("#kbpk-label", Input).focus()
            return
        custodians = tuple(self.query_one("#kbpk-custodians", SelectionList).selected)
        if len(custodians) < 2:
            self._refuse("Tick at least two KBPK custodians: each types one component (space ticks).")
            self.query_one("#kbpk-custodians", SelectionList).focus()
            return
        kcv = self.query_one("#kbpk-kcv", Input).value.strip() or None
        plan = TransportPlan("kbpk", "KBPK", label, custodians, kcv, header.version)
        if not self._dry_run(key, plan):
            return
        session = self.session
        session.key_id, session.block, session.purpose = key, block, purpose
        session.location = self.query_one("#location", Input).value.strip()
        session.kbpk_label, session.kbpk_custodians, session.kbpk_kcv_hex = label, custodians, kcv
        self.advance()  # the flow: the air-gap preflight next

    def _dry_run(self, key_id: str, plan: TransportPlan) -> bool:
        """The custody dry run of the KBPK planned, before anyone authenticates (DESIGN §3):
        :meth:`CustodyPlanScreen.custody_checked`."""

        def check() -> None:
            dry_run_transport(
                self.session.ledger.custody(), key_id, plan, plan.planned_kcv(), refused=CHECK_REFUSED
            )

        return self.custody_checked(key_id, plan.custodians, check)

    def on_cancel_requested(self) -> None:
        self.session.release()  # nothing started yet: nothing to void


# --- 3. the KBPK's components ------------------------------------------------------------------------------
class CheckKbpkComponentScreen(KbpkComponentScreen):
    """The recovery's KBPK component screen, for the check (the flow offers the same interface)."""

    HELP: ClassVar[str | None] = (
        "Each KBPK custodian named at the start authenticates in turn and types their component of the key "
        "block protection key in hex; the optional KCV is checked at once. Only each component's KCV is "
        "recorded. When every one of them has entered theirs, the received block is opened and checked."
    )
    STEP = STEP_COMPONENTS
    NEXT: ClassVar[tuple[str, Turn]] = ("check the key block", Turn.KEY_BLOCK_VERDICT)


# --- 4. the verdict ----------------------------------------------------------------------------------------
def verdict_word(result: CheckResult) -> str:
    return "✓ VERIFIED" if result.verified else "✗ REFUSED"


def verdict_text(result: CheckResult) -> Text:
    """Why, plainly, with the KCVs the verdict rests on (never the key)."""
    if result.verdict is Verdict.VERIFIED:
        text = Text("The MAC verifies under the KBPK and the key inside has the registered KCV.\n")
    elif result.verdict is Verdict.MAC_FAILED:
        text = Text("The MAC does not verify: the block (or its header) was altered, or it was made under ")
        text.append("another KBPK. Do not load it.\n", style="bold")
    else:
        text = Text("The block opens, but to ANOTHER key: a substitution (PCI DSS 3.7.7). ")
        text.append("Do not load it.\n", style="bold")
    rows = [("KBPK KCV", result.kbpk_kcv.hex), ("Registered KCV", result.registered_kcv.hex)]
    if result.found_kcv is not None:
        rows.append(("Key found, KCV", result.found_kcv.hex))
    for title, value in rows:
        text.append(f"{title:<16}")
        text.append(f"{value}\n", style="bold")
    text.append(f"Block SHA-256   {result.sha256[:16]}…", style="dim")
    return text


class VerdictScreen(CheckScreen):
    TITLE = "Check the key block"
    HELP: ClassVar[str | None] = (
        "The block is opened under the KBPK the custodians formed: VERIFIED when its MAC verifies (nothing "
        "in it or its header was altered) and the key inside has the registered KCV; REFUSED otherwise, "
        "with why. Either verdict is recorded and the ceremony then closes. A KBPK whose KCV is not the one "
        "planned opens nothing: its components are typed again. The key is never shown."
    )
    STEP = STEP_VERDICT

    def compose_body(self) -> ComposeResult:
        check = self.session.ceremony
        yield Static(
            Text(f"Key block of {check.key.label} under KBPK {check.plan.label}", style="bold"), id="kb-title"
        )
        yield Static(header_rows(check.block), id="kb-header")
        yield Button("Check the key block", id="check", variant="primary")
        yield Static("", id="verdict-word")
        yield Static("", id="verdict")
        yield Button("Continue: close the ceremony", id="continue", disabled=True)
        yield Static("", id="status")
        yield Button("Type the KBPK components again", id="again")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#verdict-word", Static).display = False
        self.query_one("#verdict", Static).display = False
        self.query_one("#again", Button).display = False
        self.query_one("#check", Button).focus()

    @on(Button.Pressed, "#check")
    def check(self) -> None:
        check = self.session.ceremony
        try:
            result = check.result or check.check()
        except CeremonyError as error:
            self.status(refusal_text(error, self.session.names))
            if isinstance(error, KCVMismatchError) and check.missing:  # every component forgotten
                self.query_one("#check", Button).disabled = True  # nothing to open it with until typed again
                again = self.query_one("#again", Button)
                again.display = True
                again.focus()
            return
        word = self.query_one("#verdict-word", Static)
        word.update(verdict_word(result))
        word.set_class(not result.verified, "refused")
        word.display = True
        shown = self.query_one("#verdict", Static)
        shown.update(verdict_text(result))
        shown.display = True
        self.status("")
        self.query_one("#check", Button).display = False  # done: the verdict takes its place
        button = self.query_one("#continue", Button)
        button.disabled = False
        button.focus()
        self.call_after_refresh(button.scroll_visible, animate=False)

    @on(Button.Pressed, "#again")
    def again(self) -> None:
        self.advance(Next(Turn.KBPK_COMPONENTS))

    @on(Button.Pressed, "#continue")
    def proceed(self) -> None:
        self.advance(Next(Turn.CLOSE_OUT))


# --- 5. close-out -----------------------------------------------------------------------------------------
class CheckCloseScreen(CheckScreen):
    TITLE = "Close the key block check"
    HELP: ClassVar[str | None] = (
        "Close the ceremony in the ledger (administrator and witness) with its checkpoint; the minutes, "
        "signed by both, go to the ceremony's documents folder. A refused block closes the same way: the "
        "verdict is the record. Then Done returns to the menu."
    )
    STEP = STEP_CLOSE

    def __init__(self, session: KeyBlockCheckSession) -> None:
        super().__init__(session)
        self.closing: CloseOut | None = None  # kept: tried again, it issues nothing twice

    def compose_body(self) -> ComposeResult:
        check = self.session.ceremony
        result = check.result
        word = "VERIFIED" if result is not None and result.verified else "REFUSED"
        style = "bold green" if word == "VERIFIED" else "bold red"
        yield Static(
            Text.assemble((f"{check.key.label}: key block ", "bold"), (word, style)), id="close-title"
        )
        yield Button("Close the ceremony", id="finish", variant="primary")
        yield Static("", id="summary")
        yield Button("Done", id="done", disabled=True)
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#finish", Button).focus()

    @on(Button.Pressed, "#finish")
    async def finish(self) -> None:
        from ceremony.flows.closeout import CloseOut

        session = self.session
        check = session.ceremony
        if self.closing is None:
            self.closing = CloseOut(
                session.ledger,
                check.ceremony_id,
                check.administrator,
                check.witness,
                close=check.close,
                location=session.location,
            )
        try:
            closed = await self.closing.run_async()
        except CeremonyError as error:
            self.status(refusal_text(error, session.names))
            return
        session.release()
        text = Text("Ceremony closed. Closing checkpoint (write it down; the minutes print the same):\n")
        text.stylize("bold green")
        text.append(closed.checkpoint.printed(), style="bold")
        text.append(f"\nSigned papers ({len(closed.written)}) in {closed.folder}")
        for problem in closed.problems:
            text.append(f"\n{problem}", style="bold red")
        self.query_one("#summary", Static).update(text)
        self.query_one("#finish", Button).disabled = True
        done = self.query_one("#done", Button)
        done.disabled = False
        done.focus()

    @on(Button.Pressed, "#done")
    def done(self) -> None:
        close_flow_screen(self)


def key_block_check_screen(
    ledger: Ledger, presence: Presence | None = None, *, run_preflight: PreflightRunner = run_preflight
) -> KeyBlockPlanScreen:
    """The first screen of a key block check (push it from a menu; it returns there when done)."""
    session = KeyBlockCheckSession(ledger, presence or Presence(ledger), run_preflight=run_preflight)
    return KeyBlockPlanScreen(session)
