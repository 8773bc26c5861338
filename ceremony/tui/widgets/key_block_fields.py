"""The fields of a TR-31 / ANSI X9.143 key block, shared by every screen that plans one (issue 16).

A recovery's plan screen (:mod:`ceremony.tui.screens.lifecycle.recovery_start`) and a generation's key
details (:mod:`ceremony.tui.screens.gen_key`) both ask the block's header: version (the KBPK's algorithm),
key usage, mode of use (the modes the usage allows are named in its label; a mode it does not allow gives
way to the first it does), key version, exportability and an optional key set id (KS block). The codes
and their meanings come from :mod:`ceremony.crypto.tr31`; the header is checked by the flow
(:func:`~ceremony.flows.recovery.key_block_header`), never here.

A generation also asks the KBPK here — its name as the receiving HSM knows it, its custodians (one
component each) and its KCV if known; a recovery shares those fields with the KEK of a wrapped output.

The fields are yielded into the screen's own body (no container of their own), so the screen's Tab order,
layout and style sheet treat them as its own; ``classes`` lets a screen show or hide them together.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.dom import DOMNode
from textual.widgets import Input, Label, Select, SelectionList

from ceremony.crypto import tr31
from ceremony.flows.recovery import KeyBlockOutput
from ceremony.ledger.participants import Participant

KEY_BLOCK_VERSIONS: tuple[tuple[str, str], ...] = (("D: AES KBPK", "D"), ("B: TDES KBPK", "B"))
# The usages this program issues (tr31.ALLOWED_MODES), in the standard's order.
KEY_BLOCK_USAGES: tuple[str, ...] = tuple(code for code in tr31.KEY_USAGES if code in tr31.ALLOWED_MODES)
# Every mode of use some issued usage allows ("N", no restriction, is never issued).
KEY_BLOCK_MODES: tuple[str, ...] = tuple(
    code for code in tr31.MODES_OF_USE if any(code in modes for modes in tr31.ALLOWED_MODES.values())
)
# Exportability, N first (the default); S's meaning shortened to fit its field at 80x24.
EXPORTABILITY_ORDER = [
    ("N", tr31.EXPORTABILITY["N"]),
    ("E", tr31.EXPORTABILITY["E"]),
    ("S", "Sensitive (under an untrusted key)"),
]


def usage_options(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    """Each usage code with its meaning, one line in its field at 80x24 (the empty code: none)."""

    def meaning(code: str) -> str:
        text = tr31.KEY_USAGES[code].replace("EMV/chip issuer master key", "EMV issuer master key")
        return text.replace("MAC algorithm", "MAC alg.")  # one line in the field at 80x24

    return [
        (f"{code}: {meaning(code)}" if code else "none: the token's officer sets it", code) for code in codes
    ]


def mode_options() -> list[tuple[str, str]]:
    return [(f"{code}: {tr31.MODES_OF_USE[code]}", code) for code in KEY_BLOCK_MODES]


def allowed_modes_text(usage: str) -> str:
    allowed = tr31.ALLOWED_MODES.get(usage, frozenset())
    return f"Mode of use ({usage} allows {', '.join(sorted(allowed))})"


def key_block_header_fields(classes: str = "kb-field") -> ComposeResult:
    """The key block's header, chosen before anything is generated or rebuilt (TR-31 / X9.143)."""
    yield Label("Key block version (the KBPK's algorithm)", classes=classes)
    yield Select(list(KEY_BLOCK_VERSIONS), id="kb-version", allow_blank=False, value="D", classes=classes)
    yield Label("Key usage", classes=classes)
    yield Select(
        usage_options(KEY_BLOCK_USAGES), id="kb-usage", allow_blank=False, value="K0", classes=classes
    )
    yield Label(allowed_modes_text("K0"), id="kb-mode-label", classes=classes)
    yield Select(mode_options(), id="kb-mode", allow_blank=False, value="B", classes=classes)
    yield Label("Key version number (00: none)", classes=classes)
    yield Input("00", id="kb-key-version", max_length=2, classes=classes)
    yield Label("Exportability", classes=classes)
    yield Select(
        [(f"{code}: {meaning}", code) for code, meaning in EXPORTABILITY_ORDER],
        id="kb-export",
        allow_blank=False,
        value="N",
        classes=classes,
    )
    yield Label("Key set id, KS block (optional)", classes=classes)
    yield Input(placeholder="e.g. 00604B120F9292800000", id="kb-ksid", max_length=40, classes=classes)


def kbpk_fields(custodians: Iterable[Participant], classes: str = "kb-field") -> ComposeResult:
    """The KBPK: its name, its custodians (planned now for the custody dry run: custodians only, never
    the administrator or the witness) and its KCV if known."""
    yield Label("KBPK name (as the receiving HSM knows it)", classes=classes)
    yield Input(placeholder="e.g. payShield LMK-1 KBPK", id="kbpk-label", max_length=80, classes=classes)
    yield Label("KBPK custodians (Space ticks; one each)", classes=classes)
    yield SelectionList[str](
        *[(f"{p.name} ({p.employee_id})", p.person_id) for p in custodians],
        id="kbpk-custodians",
        classes=classes,
    )
    yield Label("KBPK's KCV if known (optional; checked)", classes=classes)
    yield Input(placeholder="e.g. 1A2B3C4D5E", id="kbpk-kcv", max_length=16, classes=classes)


def follow_usage(node: DOMNode, usage: object) -> None:
    """A usage was chosen: name the modes it allows; a mode it does not allow gives way to the first it
    does. Call it from the screen's ``Select.Changed`` handler for ``#kb-usage``."""
    code = usage if isinstance(usage, str) else ""
    node.query_one("#kb-mode-label", Label).update(allowed_modes_text(code))
    allowed = tr31.ALLOWED_MODES.get(code, frozenset())
    mode = node.query_one("#kb-mode", Select)
    if allowed and mode.value not in allowed:
        mode.value = next(code for code in KEY_BLOCK_MODES if code in allowed)


def chosen_key_block(
    node: DOMNode, label: str, custodians: tuple[str, ...], kcv: str | None
) -> KeyBlockOutput:
    """The key block as the header fields under ``node`` say, under the KBPK named ``label``."""

    def chosen(selector: str) -> str:
        value = node.query_one(selector, Select).value
        return value if isinstance(value, str) else ""

    return KeyBlockOutput(
        label,
        custodians,
        kcv,
        version=chosen("#kb-version"),
        key_usage=chosen("#kb-usage"),
        mode_of_use=chosen("#kb-mode"),
        key_version=node.query_one("#kb-key-version", Input).value.strip() or "00",
        exportability=chosen("#kb-export"),
        key_set_id=node.query_one("#kb-ksid", Input).value.strip(),
    )


def chosen_kbpk_block(node: DOMNode) -> KeyBlockOutput:
    """The key block with the KBPK fields of :func:`kbpk_fields` (the flow refuses what is missing)."""
    label = node.query_one("#kbpk-label", Input).value.strip()
    custodians = tuple(node.query_one("#kbpk-custodians", SelectionList).selected)
    kcv = node.query_one("#kbpk-kcv", Input).value.strip() or None
    return chosen_key_block(node, label, custodians, kcv)
