"""The forms/ folder: loading and checking the editable wording of every document (DESIGN §6).

A form is a small Markdown dialect (described for editors in forms/README.md):

* ``# Title`` once, ``## Section`` and ``### Sub-section`` headings;
* paragraphs, ``- bullet`` and ``1. numbered`` items (indented lines continue an item), ``**bold**``,
  ``> notice`` lines (a boxed notice);
* ``{placeholder}`` filled in by ceremony (``{{`` and ``}}`` for literal braces);
* ``<!-- comments -->``, never printed;
* @-blocks for the structured parts: ``@fields`` / ``@table NAME`` / ``@signatures`` (rows of
  ``Label | value`` up to ``@end``; a signature row may add ``| Field``, the PDF signature field whose
  visible stamp goes in that block), ``@signatures participants``, ``@checkpoint``, ``@share``,
  ``@anchor``, ``@keyblock``, ``@pagebreak``.

Everything is checked when the form is loaded, before any data is near it: an unknown or broken placeholder,
an unknown block, a block without ``@end``, or a field the form must show (the PCI DSS 3.7.8 fields of an
acknowledgement, the share on a share card...) that appears nowhere, raises :class:`TemplateError` naming
the file and the line.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape

from ceremony.documents.model import Paper
from ceremony.errors import TemplateError

PLACEHOLDER_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
SIGNATURE_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}\Z")
ORDERED_ITEM = re.compile(r"(\d+)\.\s+(.*)\Z")
BULLET_ITEM = re.compile(r"[-*]\s+(.*)\Z")


def default_forms_dir() -> Path:
    """``$CEREMONY_FORMS`` if set; else the forms/ folder next to the ceremony package (a checkout or an
    editable install); else ``<prefix>/share/ceremony/forms``, where a wheel install puts them (pyproject
    data-files), so the offline wheelhouse install prints the same documents."""
    env = os.environ.get("CEREMONY_FORMS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "forms"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "ceremony" / "forms"


# --- parsed form ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placeholder:
    name: str


@dataclass(frozen=True)
class Text:
    """One line or paragraph of wording: literal pieces and placeholders, with where it came from."""

    parts: tuple[str | Placeholder, ...]
    line: int

    def names(self) -> set[str]:
        return {p.name for p in self.parts if isinstance(p, Placeholder)}


@dataclass(frozen=True)
class Block:
    """One block of a form. ``kind`` is one of title, heading, paragraph, callout, list, fields, table,
    signatures, checkpoint, share, anchor, keyblock, pagebreak."""

    kind: str
    line: int
    text: Text | None = None  # title, heading, paragraph
    level: int = 0  # heading level (2 or 3)
    ordered: bool = False  # list
    items: tuple[Text, ...] = ()  # list items
    rows: tuple[tuple[Text, Text], ...] = ()  # fields, table (header, cell), signatures (role, name)
    name: str = ""  # table name; "participants" for @signatures participants
    signers: tuple[str, ...] = ()  # @signatures: the PDF signature field of each block ("" = ink only)


@dataclass(frozen=True)
class FormSpec:
    """What one kind of document may and must contain."""

    name: str
    placeholders: frozenset[str]
    required: Mapping[str, str]  # placeholder -> why it must be shown
    tables: Mapping[str, frozenset[str]]  # table name -> the placeholders one row offers
    required_blocks: Mapping[str, str]  # block kind (or "table:NAME") -> why
    participant_signatures: bool = False  # @signatures participants allowed
    share_allowed: bool = False
    anchor_allowed: bool = False  # @anchor: the anchor page only (other forms print it with @checkpoint)
    keyblock_allowed: bool = False  # @keyblock: the key block transmittal only


@dataclass(frozen=True)
class Form:
    path: Path
    spec: FormSpec
    blocks: tuple[Block, ...]

    @property
    def title(self) -> Text:
        for block in self.blocks:
            if block.kind == "title" and block.text is not None:
                return block.text
        raise TemplateError(f"{self.path}: the form has no '# Title' line")

    def fill(self, text: Text, values: Mapping[str, str]) -> str:
        """``text`` as reportlab paragraph markup, values escaped (a value can never inject markup)."""
        out: list[str] = []
        for part in text.parts:
            if isinstance(part, Placeholder):
                if part.name not in values:
                    raise TemplateError(
                        f"{self.path}, line {text.line}: no value for placeholder {{{part.name}}}"
                    )
                out.append(escape(values[part.name]).replace("*", "&#42;"))
            else:
                out.append(escape(part))
        markup = "".join(out)
        # **bold** -> <b>bold</b>; balance was checked at load time.
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", markup, flags=re.DOTALL)


# --- document specs ---------------------------------------------------------------------------------------
_COMMON = frozenset({"organisation", "department", "document_title", "date", "issued_at"})
_CUSTODIAN = frozenset({"custodian_name", "custodian_employee_id", "custodian_role"})
_KEY = frozenset({"key_label", "key_id", "key_type", "kcv", "kcv_method", "split_id", "split_scheme"})
_LEDGER = frozenset({"event_id", "checkpoint"})

_PCI_378 = "PCI DSS 3.7.8: the acknowledgement names the custodian and the component"
# An XOR component's own check value (PCI PIN 15), next to the key's; a Shamir share has none, and a @fields
# row showing one of these is then left out (optional: older forms folders print the key's KCV alone).
COMPONENT_KCV = frozenset({"component_kcv", "component_kcv_method"})

ACKNOWLEDGEMENT = FormSpec(
    name="acknowledgement",
    placeholders=_COMMON
    | _CUSTODIAN
    | _KEY
    | _LEDGER
    | COMPONENT_KCV
    | {
        "ceremony_id",
        "share_number",
        "witness_name",
        "witness_employee_id",
        "envelope_serial",
        "issued_event",
    },
    required={
        "custodian_name": _PCI_378,
        "custodian_employee_id": _PCI_378,
        "custodian_role": _PCI_378,
        "key_label": _PCI_378,
        "key_type": _PCI_378,
        "kcv": _PCI_378,
        "kcv_method": "a KCV is meaningless without its method",
        "split_id": _PCI_378,
        "share_number": _PCI_378,
    },
    tables={},
    required_blocks={
        "signatures": "the custodian signs the paper in ink",
        "checkpoint": "an auditor matches the paper to the ledger (DESIGN §5)",
    },
)

REAFFIRMATION = FormSpec(
    name="reaffirmation",
    placeholders=_COMMON
    | _CUSTODIAN
    | _LEDGER
    | {
        "period",
        "next_due",
        "officer_name",
        "officer_employee_id",
        "officer_role",
        "component_count",
    },
    required={
        "custodian_name": "PCI DSS 3.7.8: the reaffirmation names the custodian",
        "custodian_employee_id": "PCI DSS 3.7.8: the reaffirmation names the custodian",
        "period": "the annual round being reaffirmed",
    },
    tables={
        "holdings": frozenset(
            {
                "key_label",
                "key_id",
                "key_type",
                "split_id",
                "share_number",
                "kcv",
                "kcv_method",
                "envelope_serial",
                "status",
            }
        ),
        "knowledge": frozenset({"key_label", "key_id", "route", "mine", "needed", "status", "first_known"}),
    },
    required_blocks={
        "table:holdings": "the reaffirmation lists every component the custodian holds",
        "table:knowledge": "PCI DSS 3.7.6: the custody statement is about everything the custodian ever held "
        "or saw, retired splits included",
        "signatures": "custodian and security officer sign",
        "checkpoint": "an auditor matches the paper to the ledger (DESIGN §5)",
    },
)

SHARE_CARD = FormSpec(
    name="share_card",
    placeholders=_COMMON
    | _CUSTODIAN
    | _KEY
    | COMPONENT_KCV
    | {"ceremony_id", "share_number", "envelope_serial"},
    required={
        "split_id": "a share is useless without knowing its split",
        "share_number": "the custodian checks the share number",
        "envelope_serial": "the envelope serial is read back at recovery (DESIGN §4.6)",
        "kcv": "the KCV identifies the key",
    },
    tables={},
    required_blocks={"share": "a share card carries the share"},
    share_allowed=True,
)

MINUTES = FormSpec(
    name="minutes",
    placeholders=_COMMON
    | {
        "ceremony_id",
        "ceremony_title",
        "purpose",
        "location",
        "started_at",
        "ended_at",
        "outcome",
        "preflight_result",
        "event_id",
        "checkpoint",
    },
    required={
        "purpose": "DESIGN §4.7",
        "outcome": "DESIGN §4.7",
        "preflight_result": "DESIGN §4.1: the preflight result goes into the minutes",
    },
    tables={
        "participants": frozenset({"name", "employee_id", "role", "present"}),
        "findings": frozenset({"finding"}),
        "exceptions": frozenset(
            {"exception_id", "finding", "justification", "compensating_controls", "approved_by", "expires"}
        ),
        "steps": frozenset({"time", "description", "performed_by", "approved_by", "event_id"}),
        "kcvs": frozenset({"subject", "kcv", "kcv_method"}),
        "envelopes": frozenset({"serial", "custodian", "contents", "status"}),
        "officers": frozenset({"name", "employee_id", "fingerprint"}),
    },
    required_blocks={
        "table:participants": "DESIGN §4.7: participants and roles",
        "table:steps": "DESIGN §4.7: every step with its UTC time and approver",
        "table:exceptions": "DESIGN §4.1: exceptions relied on",
        "table:kcvs": "DESIGN §4.7: KCVs",
        "table:envelopes": "DESIGN §4.7: envelope serials",
        "checkpoint": "DESIGN §4.7: the closing checkpoint",
        "signatures": "signature blocks for all present",
    },
    participant_signatures=True,
)

ANCHOR = FormSpec(
    name="anchor",
    placeholders=_COMMON
    | {
        "ledger_id",
        "ledger_organisation",
        "ledger_mode",
        "created",
        "founder_name",
        "founder_employee_id",
        "founder_role",
        "root_cert_sha256",
    },
    required={
        "ledger_id": "the page names the ledger it anchors",
        "ledger_mode": "a rehearsal ledger's anchor must say so: test keys never pass for production "
        "(PCI DSS 3.6.1.1)",
        "founder_name": "the founding security officer signs the page",
    },
    tables={},
    required_blocks={
        "anchor": "the anchor itself, as text and as a QR code (DESIGN §5)",
        "signatures": "the founding security officer signs the page in ink",
    },
    anchor_allowed=True,
)

DESTRUCTION = FormSpec(
    name="destruction",
    placeholders=_COMMON
    | _LEDGER
    | {
        "occasion",
        "ceremony_id",
        "location",
        "ledger_mode",
        "method",
        "envelope_count",
        "destroyer_name",
        "destroyer_employee_id",
        "destroyer_role",
        "witness_name",
        "witness_employee_id",
        "witness_role",
    },
    required={
        "destroyer_name": "PCI PIN: returned components are destroyed under dual control - who destroyed",
        "witness_name": "PCI PIN: returned components are destroyed under dual control - who witnessed",
        "ledger_mode": "a rehearsal certificate must say so: test keys never pass for production",
        "method": "how the envelopes were destroyed",
    },
    tables={
        "envelopes": frozenset(
            {
                "serial",
                "key_label",
                "key_id",
                "kcv",
                "split_id",
                "share_number",
                "custodian",
                "returned_by",
                "destroyed_at",
                "event_id",
            }
        ),
        "not_destroyed": frozenset({"envelope"}),
    },
    required_blocks={
        "table:envelopes": "the certificate lists every envelope destroyed, by serial",
        "signatures": "the two people who destroyed and witnessed sign",
        "checkpoint": "an auditor matches the paper to the ledger (DESIGN §5)",
    },
)

KEY_BLOCK_TRANSMITTAL = FormSpec(
    name="key_block_transmittal",
    placeholders=_COMMON
    | _LEDGER
    | {
        "ceremony_id",
        "ledger_mode",
        "key_label",
        "key_id",
        "key_type",
        "key_kcv",
        "key_kcv_method",
        "kbpk_label",
        "kbpk_kcv",
        "kbpk_kcv_method",
        "component_count",
        "block_length",
        "block_sha256",
        "administrator_name",
        "administrator_employee_id",
        "administrator_role",
        "witness_name",
        "witness_employee_id",
        "witness_role",
    },
    required={
        "ledger_mode": "a rehearsal transmittal must say so: test keys never pass for production",
        "key_kcv": "the importer checks the key's KCV after the import",
        "kbpk_kcv": "the importer checks that the KBPK in the HSM is the one the block was made under",
        "block_sha256": "the block's digest, as the ledger records it",
        "administrator_name": "dual control: the administrator signs",
        "witness_name": "dual control: the witness signs",
    },
    tables={
        "kcvs": frozenset({"subject", "kcv", "kcv_method"}),
        "header": frozenset({"field", "code", "meaning"}),
        "components": frozenset({"number", "custodian", "kcv", "kcv_method"}),
    },
    required_blocks={
        "keyblock": "the block itself, in typed lines and as a QR code",
        "table:kcvs": "the key's and the KBPK's check values",
        "table:header": "the header decoded: what the block binds the key to",
        "table:components": "each KBPK component's check value and custodian",
        "signatures": "the administrator and the witness sign",
        "checkpoint": "an auditor matches the paper to the ledger (DESIGN §5)",
    },
    keyblock_allowed=True,
)

SPECS: Mapping[str, FormSpec] = {
    s.name: s
    for s in (ACKNOWLEDGEMENT, REAFFIRMATION, SHARE_CARD, MINUTES, ANCHOR, DESTRUCTION, KEY_BLOCK_TRANSMITTAL)
}
# Forms added after organisations began keeping their own forms folder: a folder without one of these uses
# the shipped wording for it (every other form must be there).
LATER_FORMS = frozenset({DESTRUCTION.name, KEY_BLOCK_TRANSMITTAL.name})


# --- parsing ----------------------------------------------------------------------------------------------
def _source_of(text: Text) -> str:
    """The template source of ``text`` again (braces re-escaped), to extend it with a following line."""
    out = []
    for part in text.parts:
        if isinstance(part, Placeholder):
            out.append("{" + part.name + "}")
        else:
            out.append(part.replace("{", "{{").replace("}", "}}"))
    return "".join(out)


def parse_text(source: str, line: int, path: Path) -> Text:
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "{":
            if source.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            end = source.find("}", i + 1)
            name = source[i + 1 : end] if end != -1 else ""
            if end == -1 or not PLACEHOLDER_NAME.match(name):
                shown = source[i : (end + 1 if end != -1 else i + 24)]
                raise TemplateError(
                    f"{path}, line {line}: broken placeholder {shown!r}: write {{name}} with a lowercase "
                    "name, or {{ and }} for literal braces"
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Placeholder(name))
            i = end + 1
        elif ch == "}":
            if source.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise TemplateError(
                f"{path}, line {line}: a '}}' without its '{{' (write }}}} for a literal brace)"
            )
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    if source.count("**") % 2:
        raise TemplateError(f"{path}, line {line}: a '**' bold marker is not closed")
    return Text(tuple(parts), line)


_BLOCKS_WITH_ROWS = ("fields", "table", "signatures")
_SINGLE_BLOCKS = ("checkpoint", "share", "anchor", "keyblock", "pagebreak")


def parse_form(source: str, path: Path, spec: FormSpec) -> Form:
    lines = source.splitlines()
    blocks: list[Block] = []
    para: list[tuple[int, str]] = []
    items: list[tuple[int, str]] = []
    ordered = False

    def flush() -> None:
        nonlocal para, items
        if para:
            text = " ".join(s for _, s in para)
            blocks.append(Block("paragraph", para[0][0], text=parse_text(text, para[0][0], path)))
            para = []
        if items:
            blocks.append(
                Block(
                    "list",
                    items[0][0],
                    ordered=ordered,
                    items=tuple(parse_text(s, n, path) for n, s in items),
                )
            )
            items = []

    last_callout_line = -1
    i = 0
    while i < len(lines):
        n = i + 1
        raw = lines[i]
        stripped = raw.strip()
        i += 1
        if stripped.startswith("<!--"):
            flush()
            if "-->" not in stripped[4:]:
                while i < len(lines) and "-->" not in lines[i]:
                    i += 1
                if i >= len(lines):
                    raise TemplateError(f"{path}, line {n}: comment '<!--' is never closed with '-->'")
                i += 1
            continue
        if not stripped:
            flush()
            continue
        if stripped == "@end":
            raise TemplateError(f"{path}, line {n}: '@end' without an opening block")
        if stripped.startswith("@"):
            flush()
            word, _, arg = stripped[1:].partition(" ")
            arg = arg.strip()
            if word in _SINGLE_BLOCKS:
                if arg:
                    raise TemplateError(f"{path}, line {n}: @{word} takes nothing after it")
                blocks.append(Block(word, n))
                continue
            if word == "signatures" and arg == "participants":
                blocks.append(Block("signatures", n, name="participants"))
                continue
            if word not in _BLOCKS_WITH_ROWS:
                known = ", ".join("@" + w for w in (*_BLOCKS_WITH_ROWS, *_SINGLE_BLOCKS, "end"))
                raise TemplateError(f"{path}, line {n}: unknown block '@{word}' (known: {known})")
            if word == "table" and not arg:
                raise TemplateError(f"{path}, line {n}: @table needs a name, e.g. '@table steps'")
            if word != "table" and arg:
                raise TemplateError(f"{path}, line {n}: unexpected {arg!r} after @{word}")
            rows: list[tuple[Text, Text]] = []
            signers: list[str] = []
            while True:
                if i >= len(lines):
                    raise TemplateError(f"{path}, line {n}: @{word} is never closed with '@end'")
                row_n = i + 1
                row = lines[i].strip()
                i += 1
                if row == "@end":
                    break
                if not row or row.startswith("<!--"):
                    continue
                if row.startswith("@"):
                    raise TemplateError(
                        f"{path}, line {row_n}: {row.split()[0]} inside @{word} (missing @end?)"
                    )
                cells = [c.strip() for c in row.split("|")]
                # A @signatures row may name the PDF signature field of its block: "Role | name | Field".
                if len(cells) == 3 and word == "signatures":
                    if not SIGNATURE_FIELD.match(cells[2]):
                        raise TemplateError(
                            f"{path}, line {row_n}: signature field {cells[2][:40]!r}: use letters, "
                            "digits, - and _"
                        )
                    signers.append(cells[2])
                elif len(cells) == 2:
                    signers.append("")
                else:
                    shape = (
                        "'Role | name' or 'Role | name | SignatureField'"
                        if word == "signatures"
                        else ("'Label | value' (one '|')")
                    )
                    raise TemplateError(f"{path}, line {row_n}: a row of @{word} must be {shape}")
                rows.append((parse_text(cells[0], row_n, path), parse_text(cells[1], row_n, path)))
            if not rows:
                raise TemplateError(f"{path}, line {n}: @{word} has no rows")
            blocks.append(Block(word, n, rows=tuple(rows), name=arg, signers=tuple(signers)))
            continue
        if stripped.startswith("#"):
            flush()
            hashes = len(stripped) - len(stripped.lstrip("#"))
            title = stripped[hashes:].strip()
            if hashes > 3 or not title:
                raise TemplateError(
                    f"{path}, line {n}: a heading is '# Title', '## Section' or '### Sub-section'"
                )
            if hashes == 1:
                if any(b.kind == "title" for b in blocks):
                    raise TemplateError(f"{path}, line {n}: a second '# Title' (a form has one title)")
                blocks.append(Block("title", n, text=parse_text(title, n, path)))
            else:
                blocks.append(Block("heading", n, text=parse_text(title, n, path), level=hashes))
            continue
        if stripped.startswith(">"):
            # "> text" lines: one boxed notice (consecutive lines join).
            if para or items:
                flush()
            quote = stripped[1:].strip()
            last = blocks[-1] if blocks else None
            if last is not None and last.kind == "callout" and last_callout_line == n - 1 and last.text:
                joined = _source_of(last.text) + " " + quote
                blocks[-1] = Block("callout", last.line, text=parse_text(joined, last.line, path))
            else:
                blocks.append(Block("callout", n, text=parse_text(quote, n, path)))
            last_callout_line = n
            continue
        bullet = BULLET_ITEM.match(stripped)
        number = ORDERED_ITEM.match(stripped)
        if bullet or number:
            is_ordered = number is not None
            if para or (items and ordered != is_ordered):
                flush()
            ordered = is_ordered
            match = number or bullet
            assert match is not None
            items.append((n, match.group(match.lastindex or 1)))
            continue
        if items and raw[:1].isspace():
            first, text = items[-1]
            items[-1] = (first, text + " " + stripped)
            continue
        if items:
            flush()
        para.append((n, stripped))
    flush()
    form = Form(path, spec, tuple(blocks))
    _check(form, len(lines))
    return form


def _check(form: Form, line_count: int) -> None:
    spec, path = form.spec, form.path
    if not any(b.kind == "title" for b in form.blocks):
        raise TemplateError(f"{path}, line 1: the form needs a '# Title' line")
    used: set[str] = set()
    present: set[str] = set()

    def check(text: Text, allowed: frozenset[str], where: str) -> None:
        for name in sorted(text.names() - allowed):
            raise TemplateError(
                f"{path}, line {text.line}: unknown placeholder {{{name}}} {where}; "
                f"known here: {', '.join('{' + a + '}' for a in sorted(allowed))}"
            )
        used.update(text.names())

    for block in form.blocks:
        texts = [block.text] if block.text else []
        texts += list(block.items)
        if block.kind == "table":
            if block.name not in spec.tables:
                known = ", ".join(sorted(spec.tables)) or "none"
                raise TemplateError(
                    f"{path}, line {block.line}: the {spec.name} form has no table {block.name!r} "
                    f"(tables: {known})"
                )
            present.add(f"table:{block.name}")
            for header, cell in block.rows:
                check(header, spec.placeholders, "in a column header")
                check(cell, spec.tables[block.name], f"in a row of table {block.name!r}")
            continue
        if block.kind == "share" and not spec.share_allowed:
            raise TemplateError(
                f"{path}, line {block.line}: @share belongs on the share card only: a share is never "
                "printed on any other document (DESIGN §2)"
            )
        if block.kind == "share" and "share" in present:
            raise TemplateError(f"{path}, line {block.line}: @share appears twice")
        if block.kind == "anchor" and not spec.anchor_allowed:
            raise TemplateError(
                f"{path}, line {block.line}: @anchor belongs on the anchor page only; the other forms print "
                "the anchor in their @checkpoint box"
            )
        if block.kind == "anchor" and "anchor" in present:
            raise TemplateError(f"{path}, line {block.line}: @anchor appears twice")
        if block.kind == "keyblock" and not spec.keyblock_allowed:
            raise TemplateError(
                f"{path}, line {block.line}: @keyblock belongs on the key block transmittal only"
            )
        if block.kind == "keyblock" and "keyblock" in present:
            raise TemplateError(f"{path}, line {block.line}: @keyblock appears twice")
        if block.kind == "signatures" and block.name == "participants" and not spec.participant_signatures:
            raise TemplateError(
                f"{path}, line {block.line}: '@signatures participants' is for the minutes only"
            )
        present.add(block.kind)
        for label, value in block.rows:
            texts += [label, value]
        for text in texts:
            check(text, spec.placeholders, f"on the {spec.name} form")
    for kind, why in spec.required_blocks.items():
        if kind not in present:
            shown = "@table " + kind[6:] if kind.startswith("table:") else "@" + kind
            raise TemplateError(
                f"{path}, lines 1-{line_count}: the {spec.name} form must contain {shown} ({why})"
            )
    for name, why in spec.required.items():
        if name not in used:
            raise TemplateError(
                f"{path}, lines 1-{line_count}: the {spec.name} form must show {{{name}}} ({why}), "
                "but no line uses it"
            )


def load_form(path: Path, spec: FormSpec) -> Form:
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError(f"{path}: form file not found") from None
    except UnicodeDecodeError as exc:
        raise TemplateError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_form(source, path, spec)


# --- organisation.toml -------------------------------------------------------------------------------------
# The name forms/organisation.toml ships with. A ledger's paper names the organisation its genesis records,
# never this; a form rendered without a ledger while the forms still carry it is a specimen (see below).
EXAMPLE_ORGANISATION = "Example Payments Ltd"
SPECIMEN_MARK = "SPECIMEN - NOT FROM A LEDGER"  # across every page of such a form


@dataclass(frozen=True)
class Organisation:
    """Who issues the documents: ``name`` (from the ledger's genesis on a ledger's paper; organisation.toml's
    only for a form rendered without a ledger), department line, logo, paper size. ``specimen``: rendered
    without a ledger under the example name, so every page is marked as a specimen."""

    name: str
    department: str
    logo: Path | None
    paper: Paper
    specimen: bool = False

    @property
    def is_example(self) -> bool:
        return " ".join(self.name.split()).casefold() == EXAMPLE_ORGANISATION.casefold()


def load_organisation(path: Path) -> Organisation:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: {exc}") from None
    allowed = {"name", "department", "logo", "paper"}
    for key in raw:
        if key not in allowed:
            raise TemplateError(
                f"{path}, line {_line_of(path, key)}: unknown setting {key!r} "
                f"(settings: {', '.join(sorted(allowed))})"
            )
    for key in allowed:
        if key in raw and not isinstance(raw[key], str):
            raise TemplateError(f"{path}, line {_line_of(path, key)}: {key} must be a quoted string")
    name = str(raw.get("name", "")).strip()
    if not name:
        raise TemplateError(f"{path}, line {_line_of(path, 'name')}: name (the organisation) is required")
    paper_text = str(raw.get("paper", "A4"))
    try:
        paper = Paper(paper_text)
    except ValueError:
        raise TemplateError(
            f'{path}, line {_line_of(path, "paper")}: paper must be "A4" or "Letter", not {paper_text!r}'
        ) from None
    logo_text = str(raw.get("logo", "")).strip()
    logo = None
    if logo_text:
        logo = (path.parent / logo_text).resolve()
        if not logo.is_file():
            raise TemplateError(f"{path}, line {_line_of(path, 'logo')}: logo file {logo_text!r} not found")
    return Organisation(name=name, department=str(raw.get("department", "")).strip(), logo=logo, paper=paper)


def _line_of(path: Path, key: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith(key):
            return n
    return 1


# --- the whole folder ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FormSet:
    organisation: Organisation
    forms: Mapping[str, Form]

    def __getitem__(self, name: str) -> Form:
        return self.forms[name]

    def issued_by(self, organisation: str) -> FormSet:
        """These forms as printed for ``organisation``, the name the ledger's genesis records: it replaces
        organisation.toml's name on every page. Without one (a form rendered without a ledger), the toml's
        name stays, and the example name marks the document as a specimen (never silently on paper)."""
        name = " ".join(organisation.split())
        if name:
            return replace(self, organisation=replace(self.organisation, name=name, specimen=False))
        if self.organisation.is_example:
            return replace(self, organisation=replace(self.organisation, specimen=True))
        return self


def _form_file(folder: Path, name: str) -> Path:
    """``folder/name.md``; an organisation's own forms folder from before the destruction certificate or
    the key block transmittal (:data:`LATER_FORMS`) falls back to the shipped wording for it (every other
    form must be there)."""
    path = folder / f"{name}.md"
    if name in LATER_FORMS and not path.exists():
        shipped = Path(__file__).resolve().parents[2] / "forms" / path.name
        fallback = (
            shipped if shipped.exists() else Path(sys.prefix) / "share" / "ceremony" / "forms" / path.name
        )
        return fallback if fallback.exists() else path
    return path


def load_forms(forms_dir: Path | None = None) -> FormSet:
    """Load and check organisation.toml and every form in ``forms_dir`` (default: the checkout's forms/)."""
    folder = forms_dir or default_forms_dir()
    organisation = load_organisation(folder / "organisation.toml")
    forms = {name: load_form(_form_file(folder, name), spec) for name, spec in SPECS.items()}
    return FormSet(organisation, forms)
