"""Render the ceremony documents to PDF with reportlab, from the wording in forms/ (DESIGN §4.5, §4.7, §6).

One function per document; each returns the unsigned PDF (sign it with :mod:`ceremony.documents.sign`):

* :func:`render_acknowledgement` - custodian acknowledgement (PCI DSS 3.7.8);
* :func:`render_reaffirmation` - the annual reaffirmation;
* :func:`render_share_card` - the share card for the envelope (returns a wipeable :class:`SecretBytes`);
* :func:`render_minutes` - the ceremony minutes, any number of pages, "page X of Y";
* :func:`render_anchor` - the ledger anchor page, printed once when the ledger is founded (DESIGN §5).

Every form with a ``@checkpoint`` box also prints the ledger's anchor in that box, when the flow gives it.

Output is deterministic: reportlab's ``invariant`` mode (fixed document id), the creation date taken from
the data rather than the clock, fixed metadata and zlib page compression - the same inputs give the same
bytes, so two copies of a document can be compared byte for byte.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFDictionary
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    ListFlowable,
    ListItem,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from ceremony.crypto.secret import SecretBytes
from ceremony.documents.model import (
    AcknowledgementData,
    AnchorData,
    LedgerReference,
    MinutesData,
    Paper,
    Person,
    ReaffirmationData,
    ShareCardData,
    utc,
)
from ceremony.documents.qr import qr_matrix
from ceremony.documents.templates import SPECIMEN_MARK, Form, FormSet, Organisation, load_forms
from ceremony.errors import DocumentError
from ceremony.ledger.checkpoint import Checkpoint, CheckpointFormatError

PAGE_SIZES = {Paper.A4: A4, Paper.LETTER: LETTER}
MARGIN_X = 18 * mm
MARGIN_TOP = 22 * mm
MARGIN_BOTTOM = 16 * mm
INK = colors.HexColor("#1a1a1a")
RULE = colors.HexColor("#8c8c8c")
SHADE = colors.HexColor("#ececec")
FAINT = colors.HexColor("#5a5a5a")
WATERMARK = colors.HexColor("#e4e4e4")
SIGNATURE_DESTINATION_PREFIX = "ceremony-signature-"
SIGNATURE_DESTINATION = SIGNATURE_DESTINATION_PREFIX + "{field}"  # destination marking a block's stamp area

_BASE = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=11.4, textColor=INK)
STYLES = {
    "body": _BASE,
    "title": ParagraphStyle("title", _BASE, fontName="Helvetica-Bold", fontSize=16, leading=19, spaceAfter=5),
    "h2": ParagraphStyle(
        "h2", _BASE, fontName="Helvetica-Bold", fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=3
    ),
    "h3": ParagraphStyle("h3", _BASE, fontName="Helvetica-Bold", fontSize=10, leading=13, spaceBefore=6),
    "label": ParagraphStyle("label", _BASE, fontName="Helvetica-Bold", fontSize=8.5, leading=10.5),
    "cell": ParagraphStyle("cell", _BASE, fontSize=8.5, leading=10.5),
    "value": ParagraphStyle("value", _BASE, fontSize=9, leading=11),
    "small": ParagraphStyle("small", _BASE, fontSize=7.5, leading=9.5, textColor=FAINT),
    "mono": ParagraphStyle(
        "mono", _BASE, fontName="Courier", fontSize=8, leading=10, wordWrap="CJK", textColor=INK
    ),
    "callout": ParagraphStyle("callout", _BASE, fontSize=10.5, leading=14),
    "empty": ParagraphStyle("empty", _BASE, fontName="Helvetica-Oblique", fontSize=8.5, textColor=FAINT),
}


# --- page furniture ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Page:
    """What every page of one document shows in its header and footer."""

    organisation: Organisation
    title: str
    reference: str  # header, under the title: ceremony / custodian
    footer: str  # footer, left
    created: datetime
    total_pages: int  # 0 = unknown yet (first pass)
    watermark: str = ""  # printed large and light across the page, under the content (a rehearsal's mark)


class _FormCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """A canvas that writes the signature-block destinations into the catalog's /Dests dictionary
    (reportlab writes named destinations only for outlines and links)."""

    def save(self) -> None:
        marks = {k: v for k, v in self._destinations.items() if k.startswith(SIGNATURE_DESTINATION_PREFIX)}
        if marks:
            self._doc.Catalog.Dests = PDFDictionary({k: marks[k] for k in sorted(marks)})
        super().save()


def _canvas_maker(page: _Page) -> Callable[..., Canvas]:
    stamp = utc(page.created).strftime("D:%Y%m%d%H%M%S+00'00'")

    def make(*args: Any, **kwargs: Any) -> Canvas:
        canvas = _FormCanvas(*args, **kwargs)
        # Creation/modification date from the data, not the clock: same inputs, same bytes.
        canvas.setDateFormatter(lambda *_: stamp)
        canvas.setCreator("ceremony")
        canvas.setProducer("ceremony (reportlab)")
        return canvas

    return make


def _draw_furniture(canvas: Canvas, doc: SimpleDocTemplate, page: _Page) -> None:
    width, height = doc.pagesize
    org = page.organisation
    canvas.saveState()
    top = height - 12 * mm
    x = MARGIN_X
    if org.logo is not None:
        canvas.drawImage(
            str(org.logo),
            x,
            top - 8 * mm,
            height=10 * mm,
            width=24 * mm,
            preserveAspectRatio=True,
            anchor="sw",
            mask="auto",
        )
        x += 27 * mm
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 10.5)
    canvas.drawString(x, top, org.name)
    if org.department:
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(FAINT)
        canvas.drawString(x, top - 10, org.department)
    canvas.setFont("Helvetica-Bold", 8.5)
    canvas.setFillColor(INK)
    canvas.drawRightString(width - MARGIN_X, top, page.title)
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(FAINT)
    canvas.drawRightString(width - MARGIN_X, top - 10, page.reference)
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_X, top - 15, width - MARGIN_X, top - 15)
    bottom = 11 * mm
    canvas.line(MARGIN_X, bottom + 9, width - MARGIN_X, bottom + 9)
    canvas.setFont("Helvetica", 7.5)
    canvas.drawString(MARGIN_X, bottom, page.footer)
    total = page.total_pages or doc.page
    canvas.drawRightString(width - MARGIN_X, bottom, f"page {doc.page} of {total}")
    watermark = page.watermark or (SPECIMEN_MARK if org.specimen else "")
    if watermark:
        # Drawn before the page's content: QR codes (white ground) and boxes stay clean above it.
        canvas.setFillColor(WATERMARK)
        canvas.setFont("Helvetica-Bold", 30)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(52)
        canvas.drawCentredString(0, 0, watermark)
    canvas.restoreState()


def _build(
    story_factory: Callable[[], list[Flowable]], page: _Page, paper: Paper, subject: str, keywords: str
) -> tuple[io.BytesIO, int]:
    """Lay out the story; returns the PDF buffer and the page count."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=PAGE_SIZES[paper],
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=page.title,
        author=page.organisation.name,
        subject=subject,
        keywords=keywords,
        creator="ceremony",
        invariant=1,
        pageCompression=1,
    )

    def furniture(canvas: Canvas, d: SimpleDocTemplate) -> None:
        _draw_furniture(canvas, d, page)

    doc.build(story_factory(), onFirstPage=furniture, onLaterPages=furniture, canvasmaker=_canvas_maker(page))
    return buf, doc.page


def _two_pass(
    story_factory: Callable[[], list[Flowable]], page: _Page, paper: Paper, subject: str, keywords: str
) -> bytes:
    """First pass counts the pages, second pass prints "page X of Y" with the right Y."""
    _, pages = _build(story_factory, page, paper, subject, keywords)
    final = replace(page, total_pages=pages)
    buf, _ = _build(story_factory, final, paper, subject, keywords)
    return buf.getvalue()


# --- flowables --------------------------------------------------------------------------------------------
class QrCode(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A QR code drawn as vector squares; one rectangle per horizontal run of dark modules."""

    def __init__(self, matrix: list[list[bool]], size: float) -> None:
        super().__init__()
        self.matrix = matrix
        self.size = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        count = len(self.matrix)
        module = self.size / count
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.white)
        canvas.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        for r, row in enumerate(self.matrix):
            y = self.size - (r + 1) * module
            c = 0
            while c < count:
                if row[c]:
                    start = c
                    while c < count and row[c]:
                        c += 1
                    canvas.rect(start * module, y, (c - start) * module, module, stroke=0, fill=1)
                else:
                    c += 1
        canvas.restoreState()


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


class GroupedLines(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Monospace lines of hex groups (a ledger anchor) drawn exactly as given, spaces kept.

    As large as fits, up to ``size`` points and down to ``min_size``; a line that still does not fit is broken
    between two groups (at a space), never inside one, and continues under its first group (``hang``) or at
    the left edge. The same lines and width always give the same layout."""

    def __init__(
        self, lines: Sequence[str], *, size: float, min_size: float, bold: bool = False, hang: bool = True
    ) -> None:
        super().__init__()
        self.lines = tuple(lines)
        self.hang = hang
        self.max_size = size
        self.min_size = min_size
        self.font = "Courier-Bold" if bold else "Courier"
        self.font_size = size
        self.pieces: list[tuple[int, str]] = []  # (indent in characters, text)
        self.width = 0.0

    def _layout(self, width: float) -> None:
        longest = max((len(line) for line in self.lines), default=1) or 1
        self.font_size = max(self.min_size, min(self.max_size, width / (0.6 * longest)))
        fits = max(1, int(width / (0.6 * self.font_size)))  # characters per line (Courier: 0.6 em each)
        self.pieces = []
        for line in self.lines:
            label = re.match(r"\S+\s+", line)
            hang = label.end() if self.hang and label and label.end() < fits // 2 else 0
            indent, rest = 0, line
            while len(rest) + indent > fits and " " in rest.strip():
                room = fits - indent
                cut = rest.rfind(" ", 0, room + 1)
                if cut <= 0:
                    cut = rest.find(" ")  # one group longer than the line: it overflows, unbroken
                self.pieces.append((indent, rest[:cut].rstrip()))
                rest, indent = rest[cut:].lstrip(), hang
            self.pieces.append((indent, rest))
        self.width = min(width, max((0.6 * self.font_size * (i + len(t)) for i, t in self.pieces), default=0))

    @property
    def leading(self) -> float:
        return self.font_size * 1.3

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self._layout(availWidth)
        return self.width, len(self.pieces) * self.leading

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setFont(self.font, self.font_size)
        canvas.setFillColor(INK)
        advance = 0.6 * self.font_size
        y = len(self.pieces) * self.leading - self.font_size
        for indent, text in self.pieces:
            canvas.drawString(indent * advance, y, text)
            y -= self.leading
        canvas.restoreState()


def _para(markup: str, style: str = "body") -> Paragraph:
    return Paragraph(markup, STYLES[style])


def _fields_table(rows: Sequence[tuple[str, str]], width: float) -> Table:
    data = [[_para(label, "label"), _para(value, "value")] for label, value in rows]
    table = Table(data, colWidths=[0.3 * width, 0.7 * width], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _data_table(headers: Sequence[str], rows: Sequence[Sequence[str]], width: float) -> Table:
    # Column widths follow the longest word and the typical length of each column (deterministic).
    weights: list[float] = []
    for c, header in enumerate(headers):
        cells = [r[c] for r in rows] or [""]
        longest_word = max(len(w) for text in [header, *cells] for w in (text.split() or [""]))
        typical = sum(min(len(t), 60) for t in cells) / len(cells)
        weights.append(max(4.0, longest_word * 1.1, typical * 0.55))
    total = sum(weights)
    widths = [width * w / total for w in weights]
    data: list[list[Any]] = [[_para(h, "label") for h in headers]]
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
    ]
    if rows:
        data += [[_para(cell, "cell") for cell in row] for row in rows]
    else:
        data.append([_para("None recorded.", "empty")] + [""] * (len(headers) - 1))
        style.append(("SPAN", (0, 1), (-1, 1)))
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle(style))
    return table


class SignatureBlock(Table):  # type: ignore[misc]  # reportlab is untyped
    """One signature block; if it has a PDF signature field, it marks where that signature's visible stamp
    goes (the right half of its role and name rows, left empty for it) with a named destination, which
    :mod:`ceremony.documents.sign` looks up. The unsigned page looks the same either way."""

    field = ""

    def draw(self) -> None:
        super().draw()
        if not self.field:
            return
        canvas = self.canv
        top = self._height - 2
        bottom = self._height - self._rowHeights[0] - self._rowHeights[1] + 2
        left, right = self._width * 0.5, self._width - 4
        x0, y0 = canvas.absolutePosition(left, bottom)
        x1, y1 = canvas.absolutePosition(right, top)
        canvas.bookmarkPage(
            SIGNATURE_DESTINATION.format(field=self.field),
            fit="FitR",
            left=round(x0, 2),
            bottom=round(y0, 2),
            right=round(x1, 2),
            top=round(y1, 2),
        )


def _signature_blocks(blocks: Sequence[tuple[str, str, str]], width: float) -> Table:
    """Wet-ink signature and date blocks, two to a row: (role, printed name, PDF signature field or "")."""
    gap = 8 * mm
    block_w = (width - gap) / 2

    def one(role: str, name: str, field: str) -> Table:
        # Columns: margin | signature line | gap | date line | margin (ink lines stop short of the box).
        name_markup = name if name else "&nbsp;"
        edge = 6.0
        inner_w = block_w - 2 * edge
        sign_w, gap_w = inner_w * 0.6, inner_w * 0.06
        date_w = inner_w - sign_w - gap_w
        # A block signed as PDF keeps the right half of its first two rows free for the visible stamp.
        reserve = block_w * 0.5 + 4 if field else 0.0
        role_style = ParagraphStyle("sig-role", STYLES["label"], rightIndent=reserve)
        name_style = ParagraphStyle("sig-name", STYLES["cell"], rightIndent=reserve)
        inner = SignatureBlock(
            [
                [Paragraph(role, role_style), "", "", "", ""],
                [Paragraph(f"Name: {name_markup}", name_style), "", "", "", ""],
                ["", "", "", "", ""],
                ["", _para("Signature", "small"), "", _para("Date (YYYY-MM-DD)", "small"), ""],
            ],
            colWidths=[edge, sign_w, gap_w, date_w, edge],
            rowHeights=[None, None, 13 * mm, None],
        )
        inner.setStyle(
            TableStyle(
                [
                    ("SPAN", (0, 0), (-1, 0)),
                    ("SPAN", (0, 1), (-1, 1)),
                    ("BOX", (0, 0), (-1, -1), 0.6, RULE),
                    ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                    ("LINEBELOW", (1, 2), (1, 2), 0.8, INK),
                    ("LINEBELOW", (3, 2), (3, 2), 0.8, INK),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ("LEFTPADDING", (0, 0), (0, 1), edge),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 3), (-1, 3), 4),
                ]
            )
        )
        inner.field = field
        return inner

    cells = [one(role, name, field) for role, name, field in blocks]
    rows: list[list[Any]] = []
    for i in range(0, len(cells), 2):
        pair: list[Any] = cells[i : i + 2]
        rows.append(pair + [""] * (2 - len(pair)))
    table = Table(rows, colWidths=[block_w + gap, block_w], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, -1), gap),
                ("RIGHTPADDING", (1, 0), (1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _checkpoint_lines(checkpoint_text: str) -> Flowable:
    """The checkpoint as people read it: its name and size, then each hash in groups of eight hex digits,
    a line each, never broken inside a group (``ceremony verify --checkpoint`` takes it back as printed)."""
    try:
        lines = Checkpoint.parse(checkpoint_text).grouped()
    except CheckpointFormatError:
        return _para(escape(checkpoint_text), "mono")
    return GroupedLines(lines, size=7.2, min_size=5.5, bold=True, hang=False)


def _checkpoint_box(ref: LedgerReference, width: float) -> Table:
    qr_size = 26 * mm
    text = [
        _para("Ledger reference", "label"),
        Spacer(1, 2),
        _para(f"Ledger event: <b>{escape(ref.event_id)}</b>", "cell"),
        Spacer(1, 3),
        _para("Checkpoint:", "cell"),
        _checkpoint_lines(ref.checkpoint_text),
        Spacer(1, 4),
    ]
    if ref.anchor:
        text += [
            _para("Ledger anchor:", "cell"),
            Spacer(1, 1),
            GroupedLines(ref.anchor, size=7.2, min_size=5.5),
            Spacer(1, 4),
            _para(
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
            _para(
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
        _para(
            "<b>The QR code holds the same anchor</b>, on one line, as the command below takes it:", "cell"
        ),
        Spacer(1, 3),
        GroupedLines([data.text], size=7.5, min_size=7.5, hang=False),
        Spacer(1, 5),
        _para(
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
                    _para(
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


def _story(form: Form, ctx: _Context, width: float) -> list[Flowable]:
    story: list[Flowable] = []
    section_start: int | None = None  # where the current section's heading sits in the story
    fill = form.fill
    for block in form.blocks:
        if block.kind == "title":
            assert block.text is not None
            story.append(_para(fill(block.text, ctx.values), "title"))
        elif block.kind == "heading":
            assert block.text is not None
            heading = _para(fill(block.text, ctx.values), "h2" if block.level == 2 else "h3")
            # Keep a heading with the start of what follows it.
            story.append(CondPageBreak(40 * mm))
            section_start = len(story)
            story.append(heading)
        elif block.kind == "paragraph":
            assert block.text is not None
            story.append(_para(fill(block.text, ctx.values)))
            story.append(Spacer(1, 4))
        elif block.kind == "callout":
            assert block.text is not None
            box = Table([[_para(fill(block.text, ctx.values), "callout")]], colWidths=[width], hAlign="LEFT")
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
            items = [ListItem(_para(fill(t, ctx.values)), leftIndent=16) for t in block.items]
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
            rows = [(fill(label, ctx.values), fill(value, ctx.values)) for label, value in block.rows]
            story.append(_fields_table(rows, width))
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
            # The signature section (its heading and wording, and all blocks) stays on one page if it can.
            section = story[section_start:] if section_start is not None else []
            del story[len(story) - len(section) :]
            story.append(KeepTogether([*section, _signature_blocks(pairs, width)]))
            section_start = None
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
        elif block.kind == "pagebreak":
            story.append(PageBreak())
    return story


def _content_width(paper: Paper) -> float:
    return float(PAGE_SIZES[paper][0] - 2 * MARGIN_X)


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
    }


def render_acknowledgement(
    data: AcknowledgementData, *, forms: FormSet | None = None, paper: Paper | str | None = None
) -> bytes:
    """The custodian's acknowledgement form (PCI DSS 3.7.8), unsigned. Never shows the share."""
    formset, size = _resolve(forms, paper, data.ledger.organisation)
    form = formset["acknowledgement"]
    title = _title_text(form)
    values = {
        **_common(formset.organisation, title, data.issued_at),
        **_person("custodian", data.custodian),
        **_person("witness", data.witness),
        **_ledger_values(data.ledger),
        **_component_values(data),
    }
    ctx = _Context(values, {}, ledger=data.ledger)
    page = _Page(
        formset.organisation,
        title,
        f"{data.custodian.name} - {data.key_label}",
        f"Ceremony {data.ceremony_id} - ledger event {data.ledger.event_id}",
        data.issued_at,
        0,
    )
    width = _content_width(size)
    return _two_pass(
        lambda: _story(form, ctx, width),
        page,
        size,
        "Key custodian acknowledgement (PCI DSS 3.7.8)",
        f"ledger event {data.ledger.event_id}",
    )


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
        }
        for h in data.holdings
    ]
    ctx = _Context(values, {"holdings": holdings}, ledger=data.ledger)
    page = _Page(
        formset.organisation,
        title,
        f"{data.custodian.name} - {data.period}",
        f"Reaffirmation {data.period} - ledger event {data.ledger.event_id}",
        data.issued_at,
        0,
    )
    width = _content_width(size)
    return _two_pass(
        lambda: _story(form, ctx, width),
        page,
        size,
        "Annual key custodian reaffirmation (PCI DSS 3.7.8)",
        f"ledger event {data.ledger.event_id}",
    )


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
        caption = _para(
            f"<b>Share {data.share_number} of {data.share_count}</b>, split {escape(data.split_id)}. "
            "To enter it, type the lines above exactly as printed, or scan this QR code: it holds the same "
            "share.",
            "value",
        )
        return [
            Spacer(1, 6),
            _para("Share (typed form)", "h3"),
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
    page = _Page(
        formset.organisation,
        title,
        f"{data.custodian.name} - share {data.share_number} of {data.share_count}",
        f"CONFIDENTIAL - envelope {data.envelope_serial} - split {data.split_id}",
        data.issued_at,
        1,
    )
    width = _content_width(size)
    try:
        buf, pages = _build(lambda: _story(form, ctx, width), page, size, "Key share card", "")
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
    page = _Page(
        formset.organisation,
        title,
        f"{data.title} - {utc(data.started_at):%Y-%m-%d}",
        f"Ceremony {data.ceremony_id} - closing ledger event {data.closing.event_id}",
        data.ended_at,
        0,
    )
    width = _content_width(size)
    return _two_pass(
        lambda: _story(form, ctx, width),
        page,
        size,
        "Key ceremony minutes",
        f"ceremony {data.ceremony_id}; ledger event {data.closing.event_id}",
    )


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
    page = _Page(
        formset.organisation,
        title,
        f"ledger {data.ledger_id} - {mode}",
        f"Ledger {data.ledger_id} - anchor - keep with the paper checkpoints",
        data.created,
        1,
        watermark=mode if data.rehearsal else "",
    )
    width = _content_width(size)
    buf, pages = _build(
        lambda: _story(form, ctx, width),
        page,
        size,
        f"Ledger anchor ({mode})",
        f"ledger {data.ledger_id}; {data.text}",
    )
    if pages != 1:
        raise DocumentError(
            f"the ledger anchor does not fit on one page ({pages} pages): shorten {form.path}"
        )
    return buf.getvalue()
