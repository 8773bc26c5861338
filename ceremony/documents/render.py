"""Render the ceremony documents to PDF with reportlab, from the wording in forms/ (DESIGN §4.5, §4.7, §6).

One function per document; each returns the unsigned PDF (sign it with :mod:`ceremony.documents.sign`):

* :func:`render_acknowledgement` - custodian acknowledgement (PCI DSS 3.7.8);
* :func:`render_reaffirmation` - the annual reaffirmation;
* :func:`render_share_card` - the share card for the envelope (returns a wipeable :class:`SecretBytes`);
* :func:`render_minutes` - the ceremony minutes, any number of pages, "page X of Y";
* :func:`render_anchor` - the ledger anchor page, printed once when the ledger is founded (DESIGN §5);
* :func:`render_destruction` - the certificate of envelope destruction (DESIGN §4.6), signed by two;
* :func:`render_key_block_transmittal` - a TR-31 key block as text and QR code, its check values and header
  decoded (issue 16), signed by the administrator and the witness.

Every form with a ``@checkpoint`` box also prints the ledger's anchor in that box, when the flow gives it.

The look of the paper - page furniture, palette, styles, grouped hashes, signature blocks and where the
digital signature's stamp goes - comes from :mod:`ceremony.documents.pdfkit`, shared with the reports.

Output is deterministic: reportlab's ``invariant`` mode (fixed document id), the creation date taken from
the data rather than the clock, fixed metadata and zlib page compression - the same inputs give the same
bytes, so two copies of a document can be compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ceremony.crypto.secret import SecretBytes
from ceremony.documents.model import (
    AcknowledgementData,
    AnchorData,
    DestructionData,
    KeyBlockTransmittalData,
    LedgerReference,
    MinutesData,
    Paper,
    Person,
    ReaffirmationData,
    ShareCardData,
    utc,
)
from ceremony.documents.pdfkit import (
    A4_PORTRAIT,
    FAINT,
    FORM_MARGINS,
    INK,
    LETTER_PORTRAIT,
    RULE,
    SHADE,
    STYLES,
    Furniture,
    GroupedLines,
    Metadata,
    QrCode,
    build,
    build_two_pass,
    column_widths,
    content_width,
    fields_table,
    fit_words,
    grouped,
    height_of,
    longest_word_width,
    para,
    signature_blocks,
)
from ceremony.documents.qr import qr_matrix
from ceremony.documents.templates import (
    COMPONENT_KCV,
    SPECIMEN_MARK,
    Form,
    FormSet,
    Organisation,
    Text,
    load_forms,
)
from ceremony.errors import DocumentError
from ceremony.ledger.checkpoint import Checkpoint, CheckpointFormatError

PAGE_SIZES = {Paper.A4: A4_PORTRAIT, Paper.LETTER: LETTER_PORTRAIT}
__all__ = ["GroupedLines", "QrCode"]  # re-exported: the toolkit's flowables, as callers knew them here


class TypedShare(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """The share in typed form: large monospace lines, drawn one character at a time.

    The characters are taken byte by byte from the caller's buffer and passed to reportlab as one-character
    strings (for ASCII, CPython hands out shared 1-character objects: no new ``str`` holds the share or a
    group of it). reportlab itself then writes each character into its page content stream, which is a
    ``str``/``bytes`` we cannot wipe - see :func:`render_share_card`.
    """

    def __init__(self, buf: bytearray, width: float) -> None:
        super().__init__()
        self.buf = buf
        self.lines: list[tuple[int, int]] = []
        start = 0
        for i, b in enumerate(buf):
            if b == 0x0A:
                if i > start:
                    self.lines.append((start, i))
                start = i + 1
            elif not 0x20 <= b <= 0x7E:
                raise DocumentError(
                    f"share card: the typed share has a character that cannot be printed "
                    f"(line {len(self.lines) + 1})"
                )
        if len(buf) > start:
            self.lines.append((start, len(buf)))
        # In the margin: the number of the first group on each line, as checksum errors name groups.
        self.first_groups: list[int] = []
        group = 1
        for start, end in self.lines:
            self.first_groups.append(group)
            group += 1 + sum(1 for i in range(start, end) if buf[i] == 0x20)
        if not self.lines:
            raise DocumentError("share card: the typed share is empty")
        longest = max(end - start for start, end in self.lines)
        self.number_width = 10 * mm
        # Courier advances 0.6 em per character; as large as fits, at most 17 pt.
        self.font_size = min(20.0, (width - self.number_width - 10 * mm) / (0.6 * longest))
        self.leading = self.font_size * 1.55
        # The box hugs the text, so the share reads as one block.
        self.width = min(width, self.number_width + 2 * mm + 0.6 * self.font_size * longest + 8 * mm)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, len(self.lines) * self.leading + 6 * mm

    def draw(self) -> None:
        canvas = self.canv
        height = len(self.lines) * self.leading + 6 * mm
        canvas.saveState()
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(1.2)
        canvas.rect(0, 0, self.width, height, stroke=1, fill=0)
        advance = 0.6 * self.font_size
        y = height - 3 * mm - self.font_size
        for first_group, (start, end) in zip(self.first_groups, self.lines, strict=True):
            canvas.setFont("Helvetica", 7)
            canvas.setFillColor(FAINT)
            canvas.drawRightString(self.number_width - 1 * mm, y + 2, f"g{first_group}")
            canvas.setFont("Courier-Bold", self.font_size)
            canvas.setFillColor(colors.black)
            x = self.number_width + 2 * mm
            for i in range(start, end):
                canvas.drawString(x, y, chr(self.buf[i]))
                x += advance
            y -= self.leading
        canvas.restoreState()


def _data_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: float) -> Table:
    # Column widths follow the typical length of each column, but never below the column's longest word
    # (a name, an id) while the table fits: words wrap whole, and a word too wide for any width is shrunk.
    weights: list[float] = []
    minimums: list[float] = []
    pad = 12.0  # the cell's left and right padding
    for c, header in enumerate(headers):
        cells = [r[c] for r in rows] or [""]
        longest_word = max(len(w) for text in [header, *cells] for w in (text.split() or [""]))
        typical = sum(min(len(t), 60) for t in cells) / len(cells)
        weights.append(max(4.0, longest_word * 1.1, typical * 0.55))
        minimums.append(
            max(longest_word_width(header, "label"), *(longest_word_width(t, "cell") for t in cells)) + pad
        )
    widths = column_widths(weights, minimums, width)
    data: list[list[Any]] = [
        [Paragraph(h, fit_words(h, STYLES["label"], w - pad)) for h, w in zip(headers, widths, strict=True)]
    ]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
    ]
    if rows:
        data += [
            [
                Paragraph(cell, fit_words(cell, STYLES["cell"], w - pad))
                for cell, w in zip(row, widths, strict=True)
            ]
            for row in rows
        ]
    else:
        data.append([para("Nothing recorded.", "empty")] + [""] * (len(headers) - 1))
        style.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table


def _checkpoint_lines(checkpoint_text: str) -> Flowable:
    """The checkpoint as people read it: its name and size, then each hash in groups of eight hex digits,
    a line each, never broken inside a group (``ceremony verify --checkpoint`` takes it back as printed)."""
    try:
        lines = Checkpoint.parse(checkpoint_text).grouped()
    except CheckpointFormatError:
        # Not a checkpoint this version reads: its short words on one line, each long one (a hash) on its own.
        words = checkpoint_text.split()
        lines = [" ".join(w for w in words if len(w) <= 24), *(w for w in words if len(w) > 24)]
        return GroupedLines([line for line in lines if line], size=7.2, min_size=5.5, bold=True, hang=False)
    return GroupedLines(lines, size=7.2, min_size=5.5, bold=True, hang=False)


def _checkpoint_box(ref: LedgerReference, width: float) -> Table:
    qr_size = 26 * mm
    text = [
        para("Ledger reference", "label"),
        Spacer(1, 2),
        para(f"Ledger event: <b>{escape(ref.event_id)}</b>", "cell"),
        Spacer(1, 3),
        para("Checkpoint:", "cell"),
        _checkpoint_lines(ref.checkpoint_text),
        Spacer(1, 4),
    ]
    if ref.anchor:
        text += [
            para("Ledger anchor:", "cell"),
            Spacer(1, 1),
            GroupedLines(ref.anchor, size=7.2, min_size=5.5),
            Spacer(1, 4),
            para(
                "The QR code carries the same checkpoint. An auditor compares it with the ledger "
                "(<font face='Courier'>ceremony verify</font>) to show this paper belongs to it and that the "
                "ledger was not truncated or rewritten since; the anchor (<font face='Courier'>"
                "ceremony&nbsp;verify&nbsp;--anchor</font>) shows it is this ledger, not one rebuilt from "
                "its beginning.",
                "small",
            ),
        ]
    else:
        text.append(
            para(
                "The QR code carries the same checkpoint. An auditor compares it with the ledger "
                "(<font face='Courier'>ceremony verify</font>) to show this paper belongs to it and that the "
                "ledger was not truncated or rewritten since.",
                "small",
            )
        )
    table = Table(
        [[text, QrCode(qr_matrix(ref.qr_payload), qr_size)]],
        colWidths=[width - qr_size - 6 * mm, qr_size + 6 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.8, RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )
    return table


PRODUCTION_MODE = "PRODUCTION"
REHEARSAL_MODE = "REHEARSAL \u2014 TEST KEYS ONLY"


def _ledger_mode(rehearsal: bool) -> str:
    return REHEARSAL_MODE if rehearsal else PRODUCTION_MODE


def _rehearsal_mark(ref: LedgerReference) -> str:
    """The mark across every page of a paper from a rehearsal ledger (issue 15); none on production."""
    return REHEARSAL_MODE if ref.rehearsal else ""


def _anchor_box(data: AnchorData, width: float) -> Table:
    """The anchor page's box: production or rehearsal, the anchor in grouped lines, and its QR code."""
    qr_size = 46 * mm
    mode = _ledger_mode(data.rehearsal)
    banner_style = ParagraphStyle(
        "anchor-banner",
        STYLES["label"],
        fontSize=12,
        leading=15,
        alignment=1,
        textColor=colors.white if data.rehearsal else INK,
    )
    banner = Paragraph(
        escape(f"{mode} LEDGER ANCHOR" if not data.rehearsal else f"{mode} \u2014 NOT A PRODUCTION LEDGER"),
        banner_style,
    )
    caption = [
        para("<b>The QR code holds the same anchor</b>, on one line, as the command below takes it:", "cell"),
        Spacer(1, 3),
        GroupedLines([data.text], size=7.5, min_size=7.5, hang=False),
        Spacer(1, 5),
        para(
            "<font face='Courier'>ceremony&nbsp;verify&nbsp;--anchor&nbsp;\"&lt;the&nbsp;anchor&gt;\"</font> "
            "(typed as printed above, any spacing and case, or scanned) refuses a ledger rewritten from its "
            "beginning.",
            "small",
        ),
    ]
    table = Table(
        [
            [banner, ""],
            [
                [
                    GroupedLines(data.lines, size=10.5, min_size=7, bold=True),
                    Spacer(1, 5),
                    para(
                        "<b>genesis</b>: the SHA-256 hash of event #1, the genesis, signed by the founding "
                        "security officer. <b>root</b>: the SHA-256 fingerprint of the ledger's root "
                        "certificate (<font face='Courier'>root.pem</font>), which issued every "
                        "participant's certificate.",
                        "small",
                    ),
                ],
                "",
            ],
            [QrCode(qr_matrix(data.text), qr_size), caption],
        ],
        colWidths=[qr_size + 8 * mm, width - qr_size - 8 * mm],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("SPAN", (0, 0), (-1, 0)),
                ("SPAN", (0, 1), (-1, 1)),
                ("BOX", (0, 0), (-1, -1), 1.4, INK),
                ("BACKGROUND", (0, 0), (-1, 0), INK if data.rehearsal else SHADE),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
                ("LINEBELOW", (0, 1), (-1, 1), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, 0), 4),
                ("BOTTOMPADDING", (0, 0), (-1, 0), 5),
                ("TOPPADDING", (0, 1), (-1, 1), 8),
                ("BOTTOMPADDING", (0, 1), (-1, 1), 8),
                ("LEFTPADDING", (0, 1), (-1, 1), 10),
                ("RIGHTPADDING", (0, 1), (-1, 1), 10),
                ("TOPPADDING", (0, 2), (-1, 2), 4),
                ("BOTTOMPADDING", (0, 2), (-1, 2), 4),
                ("LEFTPADDING", (0, 2), (0, 2), 4 * mm),
                ("RIGHTPADDING", (1, 2), (1, 2), 10),
            ]
        )
    )
    return table


# --- form -> story ----------------------------------------------------------------------------------------
@dataclass
class _Context:
    """Everything a form's blocks may draw on, for one document."""

    values: Mapping[str, str]
    tables: Mapping[str, Sequence[Mapping[str, str]]]
    signatures_participants: Sequence[tuple[str, str, str]] = ()  # role, name, PDF signature field
    ledger: LedgerReference | None = None
    share: Callable[[float], list[Flowable]] | None = None
    anchor: AnchorData | None = None
    keyblock: Callable[[float], list[Flowable]] | None = None


KEEP_WITH_SIGNATURES = 100 * mm  # the most of the section before the signatures moved with them


def _signature_section(
    story: list[Flowable],
    start: int | None,
    previous: int | None,
    blocks: Sequence[tuple[str, str, str]],
    width: float,
) -> None:
    """Replace the signature section at the end of ``story`` (from ``start``, its heading) by one piece: its
    heading, wording and every block, kept on one page if it fits, and kept with the end of what it signs:
    the section before it (from ``previous``) goes along when it is short, else at least that section's last
    piece, so the signatures never stand alone on a page after a half-empty one."""
    start = len(story) if start is None else start
    cut = start
    if previous is not None and height_of(_content(story[previous:start]), width) <= KEEP_WITH_SIGNATURES:
        cut = previous
    else:
        last = [i for i in range(start) if not isinstance(story[i], (CondPageBreak, Spacer))][-1:]
        if last and height_of(story[last[0] : start], width) <= KEEP_WITH_SIGNATURES:
            cut = last[0]
    kept = _content(story[cut:])
    story[cut:] = [KeepTogether([*kept, signature_blocks(blocks, width)])]


def _content(flowables: Sequence[Flowable]) -> list[Flowable]:
    # A CondPageBreak inside a KeepTogether would break the piece it is meant to keep whole.
    return [f for f in flowables if not isinstance(f, CondPageBreak)]


def _story(form: Form, ctx: _Context, width: float) -> list[Flowable]:
    story: list[Flowable] = []
    section_start: int | None = None  # where the current section's heading sits in the story
    previous_start: int | None = None  # and the section before it
    fill = form.fill
    for block in form.blocks:
        if block.kind == "title":
            assert block.text is not None
            story.append(para(fill(block.text, ctx.values), "title"))
        elif block.kind == "heading":
            assert block.text is not None
            heading = para(fill(block.text, ctx.values), "h2" if block.level == 2 else "h3")
            # Keep a heading with the start of what follows it.
            story.append(CondPageBreak(40 * mm))
            previous_start, section_start = section_start, len(story)
            story.append(heading)
        elif block.kind == "paragraph":
            assert block.text is not None
            story.append(para(fill(block.text, ctx.values)))
            story.append(Spacer(1, 4))
        elif block.kind == "callout":
            assert block.text is not None
            box = Table([[para(fill(block.text, ctx.values), "callout")]], colWidths=[width], hAlign="LEFT")
            box.setStyle(
                TableStyle(
                    [
                        ("BOX", (0, 0), (-1, -1), 1.4, INK),
                        ("TOPPADDING", (0, 0), (-1, -1), 6),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
                        ("LEFTPADDING", (0, 0), (-1, -1), 8),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                    ]
                )
            )
            story.append(box)
            story.append(Spacer(1, 6))
        elif block.kind == "list":
            items = [ListItem(para(fill(t, ctx.values)), leftIndent=16) for t in block.items]
            story.append(
                ListFlowable(
                    items,
                    bulletType="1" if block.ordered else "bullet",
                    start="1" if block.ordered else None,
                    leftIndent=16,
                    bulletFontSize=9,
                    bulletFormat="%s." if block.ordered else None,
                    bulletFontName="Helvetica-Bold" if block.ordered else "Helvetica",
                    spaceBefore=0,
                )
            )
            story.append(Spacer(1, 4))
        elif block.kind == "fields":
            rows = [
                (fill(label, ctx.values), fill(value, ctx.values))
                for label, value in block.rows
                if not _left_out(label, value, ctx.values)
            ]
            if rows:
                story.append(fields_table(rows, width))
                story.append(Spacer(1, 5))
        elif block.kind == "table":
            headers = [fill(h, ctx.values) for h, _ in block.rows]
            data = [[fill(cell, row) for _, cell in block.rows] for row in ctx.tables.get(block.name, ())]
            story.append(_data_table(headers, data, width))
            story.append(Spacer(1, 6))
        elif block.kind == "signatures":
            if block.name == "participants":
                pairs = list(ctx.signatures_participants)
            else:
                pairs = [
                    (fill(role, ctx.values), fill(name, ctx.values), field)
                    for (role, name), field in zip(block.rows, block.signers, strict=True)
                ]
            _signature_section(story, section_start, previous_start, pairs, width)
            section_start = previous_start = None
        elif block.kind == "checkpoint":
            if ctx.ledger is None:
                raise DocumentError(f"{form.path}, line {block.line}: this document has no ledger checkpoint")
            story.append(Spacer(1, 2))
            story.append(KeepTogether([_checkpoint_box(ctx.ledger, width)]))
            story.append(Spacer(1, 2))
        elif block.kind == "share":
            if ctx.share is None:
                raise DocumentError(f"{form.path}, line {block.line}: no share to print here")
            story.extend(ctx.share(width))
        elif block.kind == "anchor":
            if ctx.anchor is None:
                raise DocumentError(f"{form.path}, line {block.line}: this document has no ledger anchor")
            story.append(Spacer(1, 4))
            story.append(KeepTogether([_anchor_box(ctx.anchor, width)]))
            story.append(Spacer(1, 6))
        elif block.kind == "keyblock":
            if ctx.keyblock is None:
                raise DocumentError(f"{form.path}, line {block.line}: no key block to print here")
            story.extend(ctx.keyblock(width))
        elif block.kind == "pagebreak":
            story.append(PageBreak())
    return story


def _left_out(label: Text, value: Text, values: Mapping[str, str]) -> bool:
    """A @fields row about a component's own check value, on a paper that has none (a Shamir share)."""
    names = (label.names() | value.names()) & COMPONENT_KCV
    return any(not values.get(name) for name in names)


def _content_width(paper: Paper) -> float:
    return content_width(PAGE_SIZES[paper], FORM_MARGINS)


def _page(org: Organisation, title: str, reference: str, footer: str, watermark: str = "") -> Furniture:
    """Every form's page furniture: the organisation (and department, logo) left, the title and what this
    copy is about right, the footer line, and the specimen (or rehearsal) mark across the page."""
    return Furniture(
        left=org.name,
        left_sub=org.department,
        right=title,
        right_sub=reference,
        footer=footer,
        watermark=watermark or (SPECIMEN_MARK if org.specimen else ""),
        logo=org.logo,
    )


def _meta(org: Organisation, title: str, subject: str, keywords: str, created: datetime) -> Metadata:
    return Metadata(title=title, author=org.name, subject=subject, keywords=keywords, created=utc(created))


def _resolve(forms: FormSet | None, paper: Paper | str | None, organisation: str) -> tuple[FormSet, Paper]:
    # ``organisation``: the ledger genesis's, printed on every page (a specimen without one; templates.py).
    formset = (forms or load_forms()).issued_by(organisation)
    if paper is None:
        return formset, formset.organisation.paper
    try:
        return formset, Paper(paper)
    except ValueError:
        raise DocumentError(f"paper must be A4 or Letter, not {paper!r}") from None


def _common(org: Organisation, title: str, issued_at: datetime) -> dict[str, str]:
    when = utc(issued_at)
    return {
        "organisation": org.name,
        "department": org.department,
        "document_title": title,
        "date": when.strftime("%Y-%m-%d"),
        "issued_at": when.strftime("%Y-%m-%d %H:%M UTC"),
    }


def _title_text(form: Form) -> str:
    # The title may use placeholders only from the common set; render it plain for metadata and headers.
    return "".join(p if isinstance(p, str) else "" for p in form.title.parts).replace("**", "").strip()


def _person(prefix: str, person: Person | None) -> dict[str, str]:
    if person is None:
        return {f"{prefix}_name": "", f"{prefix}_employee_id": "", f"{prefix}_role": ""}
    return {
        f"{prefix}_name": person.name,
        f"{prefix}_employee_id": person.employee_id,
        f"{prefix}_role": person.role,
    }


def _ledger_values(ref: LedgerReference) -> dict[str, str]:
    return {"event_id": ref.event_id, "checkpoint": ref.checkpoint_text}


# --- the documents ----------------------------------------------------------------------------------------
def _component_values(data: AcknowledgementData | ShareCardData) -> dict[str, str]:
    """The fields that name one share of one split, the same on its acknowledgement form and its card."""
    return {
        "ceremony_id": data.ceremony_id,
        "key_label": data.key_label,
        "key_id": data.key_id,
        "key_type": data.key_type,
        "kcv": data.kcv,
        "kcv_method": data.kcv_method,
        "split_id": data.split_id,
        "split_scheme": data.scheme,
        "share_number": f"{data.share_number} of {data.share_count}",
        # An XOR component's own KCV (PCI PIN 15); empty for a Shamir share: its rows are left out.
        "component_kcv": data.component_kcv.upper(),
        "component_kcv_method": data.component_kcv_method if data.component_kcv else "",
    }


def render_acknowledgement(
    data: AcknowledgementData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The custodian's acknowledgement form (PCI DSS 3.7.8), unsigned. Never shows the share."""
    formset, size = _resolve(forms, paper, data.ledger.organisation)
    form = formset["acknowledgement"]
    title = _title_text(form)
    issued = data.issued_event_id or data.ledger.event_id
    values = {
        **_common(formset.organisation, title, data.issued_at),
        **_person("custodian", data.custodian),
        **_person("witness", data.witness),
        **_ledger_values(data.ledger),
        **_component_values(data),
        "envelope_serial": data.envelope_serial or "not recorded",
        "issued_event": issued,
    }
    ctx = _Context(values, {}, ledger=data.ledger)
    # The footer cites the event that issued the share (its receipt is in the ledger reference box).
    page = _page(
        formset.organisation,
        title,
        f"{data.custodian.name} - {data.key_label}",
        f"Ceremony {data.ceremony_id} - share {data.share_number} of {data.share_count} issued in ledger "
        f"event {issued}",
        _rehearsal_mark(data.ledger),
    )
    width = _content_width(size)
    meta = _meta(
        formset.organisation,
        title,
        "Key custodian acknowledgement (PCI DSS 3.7.8)",
        f"ledger event {issued}; receipt {data.ledger.event_id}",
        data.issued_at,
    )
    return build_two_pass(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)


def render_reaffirmation(
    data: ReaffirmationData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The annual reaffirmation form, listing every component the custodian holds, unsigned."""
    formset, size = _resolve(forms, paper, data.ledger.organisation)
    form = formset["reaffirmation"]
    title = _title_text(form)
    values = {
        **_common(formset.organisation, title, data.issued_at),
        **_person("custodian", data.custodian),
        **_person("officer", data.security_officer),
        **_ledger_values(data.ledger),
        "period": data.period,
        "next_due": data.next_due or "-",
        "component_count": str(len(data.holdings)),
    }
    holdings = [
        {
            "key_label": h.key_label,
            "key_id": h.key_id,
            "key_type": h.key_type,
            "split_id": h.split_id,
            "share_number": f"{h.share_number} of {h.share_count}",
            "kcv": h.kcv,
            "kcv_method": h.kcv_method,
            "envelope_serial": h.envelope_serial or "-",
            "status": h.status,
        }
        for h in data.holdings
    ]
    knowledge = [
        {
            "key_label": k.key_label,
            "key_id": k.key_id,
            "route": k.route,
            "mine": k.mine,
            "needed": k.needed,
            "status": k.status,
            "first_known": k.first_known,
        }
        for k in data.knowledge
    ]
    ctx = _Context(values, {"holdings": holdings, "knowledge": knowledge}, ledger=data.ledger)
    page = _page(
        formset.organisation,
        title,
        f"{data.custodian.name} - {data.period}",
        f"Reaffirmation {data.period} - ledger event {data.ledger.event_id}",
        _rehearsal_mark(data.ledger),
    )
    width = _content_width(size)
    meta = _meta(
        formset.organisation,
        title,
        "Annual key custodian reaffirmation (PCI DSS 3.7.8)",
        f"ledger event {data.ledger.event_id}",
        data.issued_at,
    )
    return build_two_pass(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)


def render_share_card(
    data: ShareCardData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> SecretBytes:
    """The share card for the tamper-evident envelope, as a wipeable buffer (print it, then wipe it).

    What stays out of ``str``/``bytes``: our code reads the share and its QR payload byte by byte from the
    caller's buffers; the QR encoder gets the ``bytearray`` itself (:mod:`ceremony.documents.qr`), and the
    typed lines reach reportlab as shared one-character strings (:class:`TypedShare`). What cannot: reportlab
    builds each page's content stream as ``str`` pieces and the finished file as ``bytes``; those immutable
    objects are dropped as soon as the PDF is copied into the returned buffer, and the in-memory file buffer
    is overwritten. The page stream is zlib-compressed, so the share does not appear as plain text in the
    PDF bytes either. Never written to disk here: see :mod:`ceremony.documents.printing`.
    """
    formset, size = _resolve(forms, paper, data.organisation)
    form = formset["share_card"]
    title = _title_text(form)
    values = {
        **_common(formset.organisation, title, data.issued_at),
        **_person("custodian", data.custodian),
        **_component_values(data),
        "envelope_serial": data.envelope_serial,
    }
    lines = data.share_lines.buffer() if isinstance(data.share_lines, SecretBytes) else data.share_lines
    matrix = qr_matrix(data.qr_payload)

    def share_flowables(width: float) -> list[Flowable]:
        qr_size = 58 * mm
        caption = para(
            f"<b>Share {data.share_number} of {data.share_count}</b>, split {escape(data.split_id)}. "
            "To enter it, type the lines above exactly as printed, or scan this QR code: it holds the same "
            "share.",
            "value",
        )
        return [
            Spacer(1, 6),
            para("Share (typed form)", "h3"),
            Spacer(1, 3),
            TypedShare(lines, width),
            Spacer(1, 8),
            Table(
                [[QrCode(matrix, qr_size), caption]],
                colWidths=[qr_size + 8 * mm, width - qr_size - 8 * mm],
                style=TableStyle(
                    [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)]
                ),
                hAlign="LEFT",
            ),
            Spacer(1, 8),
        ]

    ctx = _Context(values, {}, share=share_flowables)
    page = replace(
        _page(
            formset.organisation,
            title,
            f"{data.custodian.name} - share {data.share_number} of {data.share_count}",
            f"CONFIDENTIAL - envelope {data.envelope_serial} - split {data.split_id}",
        ),
        total_pages=1,
    )
    width = _content_width(size)
    meta = _meta(formset.organisation, title, "Key share card", "", data.issued_at)
    try:
        buf, pages = build(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)
        if pages != 1:
            raise DocumentError(
                f"the share card does not fit on one page ({pages} pages): shorten {form.path}"
            )
        view = buf.getbuffer()
        out = SecretBytes(view)
        view[:] = bytes(len(view))  # overwrite the in-memory file before it is freed
        view.release()
        buf.close()
        return out
    finally:
        for row in matrix:
            row.clear()
        matrix.clear()


def render_minutes(
    data: MinutesData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The ceremony minutes (DESIGN §4.7), any number of pages, unsigned. KCVs only, never key material."""
    formset, size = _resolve(forms, paper, data.closing.organisation)
    form = formset["minutes"]
    title = _title_text(form)
    values = {
        **_common(formset.organisation, title, data.ended_at),
        **_ledger_values(data.closing),
        "ceremony_id": data.ceremony_id,
        "ceremony_title": data.title,
        "purpose": data.purpose,
        "location": data.location,
        "started_at": utc(data.started_at).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "ended_at": utc(data.ended_at).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "outcome": data.outcome,
        "preflight_result": data.preflight_result,
    }
    # Times of day only, unless the ceremony ran past midnight (UTC): then the date too.
    day = utc(data.started_at).date()
    step_time = "%H:%M:%S" if all(utc(s.at).date() == day for s in data.steps) else "%Y-%m-%d %H:%M:%S"
    tables: dict[str, list[dict[str, str]]] = {
        "participants": [
            {
                "name": p.person.name,
                "employee_id": p.person.employee_id,
                "role": p.person.role,
                "present": "yes" if p.present else "no",
            }
            for p in data.participants
        ],
        "findings": [{"finding": f} for f in data.preflight_findings],
        "exceptions": [
            {
                "exception_id": e.exception_id,
                "finding": e.finding,
                "justification": e.justification,
                "compensating_controls": e.compensating_controls,
                "approved_by": e.approved_by,
                "expires": e.expires,
            }
            for e in data.exceptions
        ],
        "steps": [
            {
                "time": utc(s.at).strftime(step_time),
                "description": s.description,
                "performed_by": s.performed_by,
                "approved_by": s.approved_by,
                "event_id": s.event_id or "-",
            }
            for s in data.steps
        ],
        "kcvs": [{"subject": k.subject, "kcv": k.kcv, "kcv_method": k.kcv_method} for k in data.kcvs],
        "envelopes": [
            {"serial": e.serial, "custodian": e.custodian, "contents": e.contents, "status": e.status}
            for e in data.envelopes
        ],
        "officers": [
            {"name": o.name, "employee_id": o.employee_id, "fingerprint": o.fingerprint}
            for o in data.officers
        ],
    }
    signers = [
        (
            escape(p.person.role),
            f"{escape(p.person.name)} ({escape(p.person.employee_id)})",
            p.signature_field,
        )
        for p in data.participants
        if p.present
    ]
    ctx = _Context(values, tables, signatures_participants=signers, ledger=data.closing)
    page = _page(
        formset.organisation,
        title,
        f"{data.title} - {utc(data.started_at):%Y-%m-%d}",
        f"Ceremony {data.ceremony_id} - closing ledger event {data.closing.event_id}",
        _rehearsal_mark(data.closing),
    )
    width = _content_width(size)
    meta = _meta(
        formset.organisation,
        title,
        "Key ceremony minutes",
        f"ceremony {data.ceremony_id}; ledger event {data.closing.event_id}",
        data.ended_at,
    )
    return build_two_pass(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)


def render_anchor(
    data: AnchorData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The ledger anchor page (DESIGN §5), one page, unsigned: organisation, production or rehearsal, ledger
    id, creation time, founding security officer, the anchor as grouped text and as a QR code, the root
    certificate's SHA-256, what an auditor does with it, and the founder's signature block."""
    formset, size = _resolve(forms, paper, data.organisation)
    form = formset["anchor"]
    title = _title_text(form)
    mode = _ledger_mode(data.rehearsal)
    values = {
        **_common(formset.organisation, title, data.created),
        **_person("founder", data.founder),
        "ledger_id": data.ledger_id,
        "ledger_organisation": data.organisation,
        "ledger_mode": mode,
        "created": utc(data.created).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "root_cert_sha256": data.root_cert_sha256,
    }
    ctx = _Context(values, {}, anchor=data)
    page = replace(
        _page(
            formset.organisation,
            title,
            f"ledger {data.ledger_id} - {mode}",
            f"Ledger {data.ledger_id} - anchor - keep with the paper checkpoints",
            watermark=mode if data.rehearsal else "",
        ),
        total_pages=1,
    )
    width = _content_width(size)
    meta = _meta(
        formset.organisation,
        title,
        f"Ledger anchor ({mode})",
        f"ledger {data.ledger_id}; {data.text}",
        data.created,
    )
    buf, pages = build(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)
    if pages != 1:
        raise DocumentError(
            f"the ledger anchor does not fit on one page ({pages} pages): shorten {form.path}"
        )
    return buf.getvalue()


def render_destruction(
    data: DestructionData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The certificate of envelope destruction (DESIGN §4.6; PCI PIN: returned components destroyed under
    dual control, with a record), unsigned: production or rehearsal (a rehearsal is marked across every
    page), the occasion, the two people, the method, every envelope destroyed by serial, the envelopes asked
    for and not destroyed, the ledger checkpoint, the two signature blocks. Never an envelope's contents."""
    formset, size = _resolve(forms, paper, data.ledger.organisation)
    form = formset["destruction"]
    title = _title_text(form)
    mode = _ledger_mode(data.rehearsal)
    values = {
        **_common(formset.organisation, title, data.issued_at),
        **_ledger_values(data.ledger),
        **_person("destroyer", data.destroyed_by),
        **_person("witness", data.witness),
        "occasion": data.occasion,
        "ceremony_id": data.ceremony_id or "- (no ceremony: recorded with the departure)",
        "location": data.location or "-",
        "ledger_mode": mode,
        "method": data.method,
        "envelope_count": str(len(data.envelopes)),
    }
    tables = {
        "envelopes": [
            {
                "serial": e.serial,
                "key_label": e.key_label,
                "key_id": e.key_id,
                "kcv": e.kcv,
                "split_id": e.split_id,
                "share_number": f"{e.share_number} of {e.share_count}",
                "custodian": e.custodian,
                "returned_by": e.returned_by,
                "destroyed_at": utc(e.destroyed_at).strftime("%Y-%m-%d %H:%M UTC"),
                "event_id": e.event_id,
            }
            for e in data.envelopes
        ],
        "not_destroyed": [{"envelope": line} for line in data.not_destroyed]
        or [{"envelope": "none: every envelope asked for was destroyed"}],
    }
    ctx = _Context(values, tables, ledger=data.ledger)
    page = _page(
        formset.organisation,
        title,
        f"{len(data.envelopes)} envelope(s) - {mode}",
        f"{data.occasion} - ledger event {data.ledger.event_id}",
        watermark=mode if data.rehearsal else "",
    )
    width = _content_width(size)
    meta = _meta(
        formset.organisation,
        title,
        f"Certificate of envelope destruction ({mode})",
        "; ".join(["envelopes " + ", ".join(e.serial for e in data.envelopes), f"ledger {mode}"]),
        data.issued_at,
    )
    return build_two_pass(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)


# --- the key block transmittal (issue 16) ----------------------------------------------------------------
KEY_BLOCK_LINE = 32  # characters of the block per printed line
KEY_BLOCK_GROUP = 4  # characters per group on a line


def key_block_lines(block: str, per_line: int = KEY_BLOCK_LINE, group: int = KEY_BLOCK_GROUP) -> list[str]:
    """The block as printed for people to type or compare: lines of ``per_line`` characters in groups of
    ``group``, separated by single spaces (typed back, the spaces and line breaks are left out)."""
    flat = "".join(block.split())
    return [grouped(flat[i : i + per_line], group) for i in range(0, len(flat), per_line)]


def _key_block_box(data: KeyBlockTransmittalData, width: float) -> list[Flowable]:
    """The block in typed lines (each line's first character position in the margin) beside its QR code,
    which holds the block exactly, on one line; the length and SHA-256 under the lines."""
    qr_size = 50 * mm
    qr_col = qr_size + 6 * mm
    text_w = width - qr_col
    lines = key_block_lines(data.block)
    number_w = 10 * mm
    line_w = text_w - number_w - 8 * mm
    longest = max((len(line) for line in lines), default=1)
    size = min(12.0, line_w / (0.6 * longest))
    line_style = ParagraphStyle("keyblock-line", STYLES["cell"], fontName="Courier-Bold", fontSize=size)
    line_style.leading = size * 1.45
    number_style = ParagraphStyle("keyblock-number", STYLES["small"], alignment=2)
    rows = [
        [Paragraph(str(1 + n * KEY_BLOCK_LINE), number_style), Paragraph(escape(line), line_style)]
        for n, line in enumerate(lines)
    ]
    typed = Table(rows, colWidths=[number_w, text_w - number_w - 12], hAlign="LEFT")
    typed.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (0, -1), 6),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    text = [
        para(f"<b>Key block</b> ({data.block_length} characters, version {escape(data.block[:1])})", "label"),
        Spacer(1, 4),
        typed,
        Spacer(1, 5),
        para("SHA-256 of the block (its characters only, no spaces or line breaks):", "small"),
        Spacer(1, 1),
        GroupedLines([grouped(data.block_sha256.upper(), 8)], size=8, min_size=5.5, hang=False),
    ]
    caption = para(
        "The QR code holds the block exactly, on one line. Typed from the lines, leave out the spaces and "
        "line breaks; the numbers in the margin give each line's first character.",
        "small",
    )
    box = Table(
        [[text, [QrCode(qr_matrix(data.block), qr_size), Spacer(1, 3), caption]]],
        colWidths=[text_w, qr_col],
        hAlign="LEFT",
    )
    box.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, INK),
                ("LINEBEFORE", (1, 0), (1, 0), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (0, 0), 6),
                ("LEFTPADDING", (1, 0), (1, 0), 3 * mm),
                ("RIGHTPADDING", (1, 0), (1, 0), 3 * mm),
            ]
        )
    )
    return [Spacer(1, 2), KeepTogether([box]), Spacer(1, 6)]


def render_key_block_transmittal(
    data: KeyBlockTransmittalData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The key block transmittal (issue 16), unsigned: production or rehearsal (a rehearsal is marked
    across every page), the key and the KBPK by label and check value, the block in typed lines and as a QR
    code with its length and SHA-256, the header decoded, each KBPK component's custodian and check value,
    the ledger checkpoint and the signature blocks of the administrator and the witness. The block is
    encrypted under the KBPK; no KBPK component and no key is ever printed."""
    formset, size = _resolve(forms, paper, data.ledger.organisation)
    form = formset["key_block_transmittal"]
    title = _title_text(form)
    mode = _ledger_mode(data.ledger.rehearsal)
    values = {
        **_common(formset.organisation, title, data.issued_at),
        **_ledger_values(data.ledger),
        **_person("administrator", data.administrator),
        **_person("witness", data.witness),
        "ceremony_id": data.ceremony_id,
        "ledger_mode": mode,
        "key_label": data.key_label,
        "key_id": data.key_id,
        "key_type": data.key_type,
        "key_kcv": data.key_kcv,
        "key_kcv_method": data.key_kcv_method,
        "kbpk_label": data.kbpk_label,
        "kbpk_kcv": data.kbpk_kcv,
        "kbpk_kcv_method": data.kbpk_kcv_method,
        "component_count": str(len(data.components)),
        "block_length": str(data.block_length),
        "block_sha256": grouped(data.block_sha256.upper(), 8),
    }
    tables = {
        "kcvs": [
            {"subject": f"key {data.key_label}", "kcv": data.key_kcv, "kcv_method": data.key_kcv_method},
            {
                "subject": f"key block protection key {data.kbpk_label}",
                "kcv": data.kbpk_kcv,
                "kcv_method": data.kbpk_kcv_method,
            },
        ],
        "header": [{"field": h.field, "code": h.code, "meaning": h.meaning} for h in data.header],
        "components": [
            {"number": str(c.number), "custodian": c.custodian, "kcv": c.kcv, "kcv_method": c.kcv_method}
            for c in data.components
        ],
    }
    ctx = _Context(values, tables, ledger=data.ledger, keyblock=lambda width: _key_block_box(data, width))
    page = _page(
        formset.organisation,
        title,
        f"{data.key_label} under {data.kbpk_label}",
        f"Ceremony {data.ceremony_id} - key block recorded in ledger event {data.ledger.event_id}",
        _rehearsal_mark(data.ledger),
    )
    width = _content_width(size)
    meta = _meta(
        formset.organisation,
        title,
        f"Key block transmittal ({mode})",
        f"ceremony {data.ceremony_id}; key block SHA-256 {data.block_sha256}; ledger event "
        f"{data.ledger.event_id}",
        data.issued_at,
    )
    return build_two_pass(lambda: _story(form, ctx, width), page, PAGE_SIZES[size], meta)
