"""Generation steps 3 and 4: what key (type, label, usage, cryptoperiod), then how it is split and who
holds each share. The flow checks the plan against dual control and the custody rule over the whole
ledger history before anything is generated (PCI DSS 3.7.6); a refusal is shown with the event that
forbids it.

With the key details, the key may also be sent straight to its HSM as a TR-31 / X9.143 key block (issue
16): the KBPK's name, custodians and KCV and the block's header (the fields a recovery's plan asks too,
:mod:`ceremony.tui.widgets.key_block_fields`). A header the standard forbids, or a KBPK custodian who is
the administrator or the witness, is refused at Next; the route's custody dry run, with the split, when
the plan is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ceremony.crypto.keys import KeyType
from ceremony.crypto.share import Scheme
from ceremony.errors import CeremonyError, InputError
from ceremony.flows.generation import KeySpec, SplitPlan
from ceremony.flows.reaffirmation import assignment_flags
from ceremony.flows.recovery import KeyBlockOutput, key_block_header
from ceremony.flows.transport import check_transport_plan
from ceremony.flows.turns import Next, Turn
from ceremony.ledger.participants import Participant, participants
from ceremony.tui.screens.frame import StepScreen
from ceremony.tui.screens.gen_session import STEP_KEY, STEP_SPLIT
from ceremony.tui.widgets.key_block_fields import (
    chosen_kbpk_block,
    follow_usage,
    kbpk_fields,
    key_block_header_fields,
)
from ceremony.tui.widgets.token_pin import custodians_but_control

KEY_TYPES: tuple[tuple[str, KeyType], ...] = (
    ("AES-256", KeyType.AES_256),
    ("AES-192", KeyType.AES_192),
    ("AES-128", KeyType.AES_128),
    ("TDES triple length", KeyType.TDES_3KEY),
    ("TDES double length", KeyType.TDES_2KEY),
)
MAX_SHARES = 9  # what a room of custodians and one screen of choices can hold


def _number(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(f"{what} must be a whole number") from None


class KeyDetailsScreen(StepScreen):
    TITLE = "Key details"
    HELP: ClassVar[str | None] = (
        "Choose the key type and give its label (its name in the key inventory), its usage and its "
        "cryptoperiod in days (PCI DSS 3.6.1.4 / 3.7.4). Tab moves between fields, Enter goes on. To send "
        "the key straight to its HSM as well, tick the TR-31 key block (Space): name the key block "
        "protection key (KBPK) as the HSM knows it, tick its custodians (one component each, typed after "
        "the verification round), and choose the block's header; a header the standard forbids is refused "
        "at Next."
    )
    STEP = STEP_KEY

    def compose_body(self) -> ComposeResult:
        yield Label("Key type")
        yield Select(KEY_TYPES, value=KeyType.AES_256, allow_blank=False, id="key-type")
        yield Label("Label")
        yield Input(placeholder="e.g. ZMK-ACQ-2026", id="label", max_length=64)
        yield Label("Usage")
        yield Input(placeholder="e.g. zone master key, acquirer link", id="usage", max_length=120)
        yield Label("Cryptoperiod (days)")
        yield Input("365", id="cryptoperiod", max_length=4)
        yield Checkbox("Also send to its HSM as a TR-31 key block", id="key-block")
        yield from kbpk_fields(self._kbpk_custodians())
        yield from key_block_header_fields()
        yield Button("Next: split and custodians", id="next", variant="primary")
        yield Static("", id="status")

    def _kbpk_custodians(self) -> list[Participant]:
        """Who may hold a KBPK component: active custodians, never the administrator or the witness."""
        ceremony = self.session.ceremony
        assert ceremony is not None, "the key is chosen once administrator and witness authenticated"
        control = (ceremony.administrator.person_id, ceremony.witness.person_id)
        return custodians_but_control(self.session.ledger, control)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_key_block()
        self.query_one("#label", Input).focus()

    @on(Checkbox.Changed, "#key-block")
    def _show_key_block(self) -> None:
        ticked = self.query_one("#key-block", Checkbox).value
        for widget in self.query(".kb-field"):
            widget.display = ticked

    @on(Select.Changed, "#kb-usage")
    def _usage_chosen(self, event: Select.Changed) -> None:
        follow_usage(self, event.value)

    def _key_block(self, spec: KeySpec) -> KeyBlockOutput | None:
        """The key block as chosen (None: not ticked), with what the flow would refuse of it said now: a
        header the standard forbids for this key, a KBPK without a name or two custodians."""
        if not self.query_one("#key-block", Checkbox).value:
            return None
        output = chosen_kbpk_block(self)
        if not output.kbpk_label:
            raise InputError("name the key block protection key (KBPK) as the receiving HSM knows it")
        key_block_header(output, spec.key_type)
        ceremony = self.session.ceremony
        assert ceremony is not None
        control = {ceremony.administrator.person_id: "administrator", ceremony.witness.person_id: "witness"}
        check_transport_plan(output.transport, control)
        return output

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "cryptoperiod":
            self.next_step()
        else:
            self.focus_next()

    @on(Button.Pressed, "#next")
    def next_step(self) -> None:
        key_type = self.query_one("#key-type", Select).value
        assert isinstance(key_type, KeyType)
        try:
            spec = KeySpec(
                key_type,
                self.query_one("#label", Input).value.strip(),
                self.query_one("#usage", Input).value.strip(),
                _number(self.query_one("#cryptoperiod", Input).value, "the cryptoperiod"),
            )
            key_block = self._key_block(spec)
        except CeremonyError as error:
            self.refusal(error)
            body = self.query_one("#body")
            self.call_after_refresh(body.scroll_end, animate=False)  # the refusal, below Next, read whole
            return
        self.session.key_spec, self.session.key_block = spec, key_block
        self.advance(Next(Turn.SPLIT))


class SplitScreen(StepScreen):
    TITLE = "Split and custodians"
    HELP: ClassVar[str | None] = (
        "Shamir m-of-n: any m of the n shares rebuild the key. XOR: n components, all needed. Choose the "
        "custodian of each share; nobody may hold two shares of one key, and the administrator and witness "
        "hold none (PCI DSS 3.7.6). The plan is checked and recorded before the key is generated."
    )
    STEP = STEP_SPLIT

    def compose_body(self) -> ComposeResult:
        people = [p for p in participants(self.session.ledger) if p.active and "custodian" in p.roles]
        # PCI DSS 3.7.8: a custodian whose annual reaffirmation is overdue is flagged where they are chosen.
        overdue = assignment_flags(self.session.ledger, [p.person_id for p in people], datetime.now(UTC))
        self._custodians = [
            (
                f"{p.name} ({p.employee_id})"
                + (" ⚠ reaffirmation overdue" if p.person_id in overdue else ""),
                p.person_id,
            )
            for p in people
        ]
        for p in people:
            self.session.names[p.person_id] = p.name
        yield Label("Scheme")
        yield Select(
            (("Shamir m-of-n", Scheme.SHAMIR), ("XOR components (n of n)", Scheme.XOR)),
            value=Scheme.SHAMIR,
            allow_blank=False,
            id="scheme",
        )
        with Horizontal(id="m-of-n"):
            yield Label("m (needed)")
            yield Input("2", id="threshold", max_length=1)
            yield Label("of n (shares)")
            yield Input("3", id="count", max_length=1)
        with Vertical(id="assign"):
            yield from self._assignments(3, [])
        yield Button("Check and record the plan", id="plan", variant="primary")
        yield Static("", id="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#scheme", Select).focus()

    @on(Input.Changed, "#count")
    async def _count_changed(self, event: Input.Changed) -> None:
        try:
            count = int(event.value)
        except ValueError:
            return
        box = self.query_one("#assign", Vertical)
        chosen = [s.value for s in box.query(Select)]
        if 2 <= count <= MAX_SHARES and count != len(chosen):
            await box.remove_children()
            await box.mount_all(list(self._assignments(count, chosen)))

    @on(Select.Changed, "#scheme")
    def _scheme_changed(self, event: Select.Changed) -> None:
        # XOR is n of n: the threshold follows the count.
        self.query_one("#threshold", Input).disabled = event.value is Scheme.XOR

    def _assignments(self, count: int, chosen: list[object]) -> Iterator[Widget]:
        # One row per share: its number and the custodian chosen for it.
        for number in range(1, count + 1):
            value = chosen[number - 1] if number - 1 < len(chosen) else Select.NULL
            yield Horizontal(
                Label(f"Share {number}"),
                Select(
                    self._custodians,
                    prompt="Choose the custodian",
                    value=value,
                    id=f"share-{number}",
                    classes="custodian",
                ),
                classes="assignment",
            )

    def plan(self) -> SplitPlan:
        scheme = self.query_one("#scheme", Select).value
        assert isinstance(scheme, Scheme)
        count = _number(self.query_one("#count", Input).value, "the number of shares")
        selects = list(self.query_one("#assign", Vertical).query(Select))
        if len(selects) != count:
            raise InputError(f"the number of shares is 2 to {MAX_SHARES}")
        custodians: list[str] = []
        for number, select in enumerate(selects, start=1):
            if not isinstance(select.value, str):
                raise InputError(f"choose the custodian of share {number}")
            custodians.append(select.value)
        threshold = count if scheme is Scheme.XOR else _number(self.query_one("#threshold", Input).value, "m")
        return SplitPlan(scheme, threshold, tuple(custodians))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    @on(Button.Pressed, "#plan")
    def record_plan(self) -> None:
        ceremony, spec = self.session.ceremony, self.session.key_spec
        assert ceremony is not None and spec is not None
        try:
            ceremony.plan_key(spec, self.plan(), self.session.key_block)
        except CeremonyError as error:
            self.refusal(error)
            return
        self.advance()  # the flow: planned, generate next
