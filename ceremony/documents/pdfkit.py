"""The one PDF toolkit of ceremony's paper: what every form and every report looks like (reportlab).

Pure layout, no ceremony data: paper sizes and margins, the palette and paragraph styles, the page
furniture (header band, footer with "page X of Y", a SPECIMEN or REHEARSAL watermark), deterministic
building in two passes, hashes and fingerprints printed in spaced groups that are never broken inside a
group, a QR code, a two-column field table and the signature block (a wet-ink line and date, and the place
of the digital signature's stamp, which :mod:`ceremony.documents.sign` finds by a named destination).

The forms (:mod:`ceremony.documents.render`) and the audit reports (:mod:`ceremony.reports.render`) both
build on it, so a custodian's acknowledgement and an auditor's report read as one organisation's paper.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfdoc import PDFDictionary
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Table, TableStyle

# --- paper ------------------------------------------------------------------------------------------------
A4_PORTRAIT: Final = A4
LETTER_PORTRAIT: Final = LETTER
A4_LANDSCAPE: Final = landscape(A4)


@dataclass(frozen=True)
class Margins:
    x: float = 18 * mm
    top: float = 22 * mm
    bottom: float = 16 * mm


FORM_MARGINS: Final = Margins()
REPORT_MARGINS: Final = Margins(x=14 * mm, top=20 * mm, bottom=18 * mm)

# --- palette and styles -----------------------------------------------------------------------------------
INK: Final = colors.HexColor("#1a1a1a")
RULE: Final = colors.HexColor("#8c8c8c")
SHADE: Final = colors.HexColor("#e8e8e8")
FAINT: Final = colors.HexColor("#585858")
WATERMARK: Final = colors.HexColor("#e4e4e4")
ALERT: Final = colors.HexColor("#9b1c1c")

# splitLongWords=0: a name, an id or a hash group is never cut in two to fill a line; a cell too narrow for
# its longest word is shrunk instead (:func:`fit_words`).
_BASE = ParagraphStyle(
    "body", fontName="Helvetica", fontSize=9, leading=11.4, textColor=INK, splitLongWords=0
)
STYLES: Final[Mapping[str, ParagraphStyle]] = {
    "body": _BASE,
    "title": ParagraphStyle("title", _BASE, fontName="Helvetica-Bold", fontSize=16, leading=19, spaceAfter=5),
    "h2": ParagraphStyle(
        "h2", _BASE, fontName="Helvetica-Bold", fontSize=10.5, leading=13, spaceBefore=6, spaceAfter=3
    ),
    "h3": ParagraphStyle(
        "h3", _BASE, fontName="Helvetica-Bold", fontSize=9.5, leading=12, spaceBefore=6, spaceAfter=2
    ),
    "label": ParagraphStyle("label", _BASE, fontName="Helvetica-Bold", fontSize=8.5, leading=10.5),
    "head": ParagraphStyle("head", _BASE, fontName="Helvetica-Bold", fontSize=8, leading=10),
    "cell": ParagraphStyle("cell", _BASE, fontSize=8.5, leading=10.5),
    "value": ParagraphStyle("value", _BASE, fontSize=9, leading=11),
    "small": ParagraphStyle("small", _BASE, fontSize=7.5, leading=9.5, textColor=FAINT),
    "note": ParagraphStyle("note", _BASE, fontSize=7.5, leading=9.5, textColor=FAINT, spaceBefore=4),
    "basis": ParagraphStyle("basis", _BASE, fontSize=8.5, leading=10.5, textColor=FAINT, spaceAfter=6),
    "callout": ParagraphStyle("callout", _BASE, fontSize=10.5, leading=14),
    "empty": ParagraphStyle("empty", _BASE, fontName="Helvetica-Oblique", fontSize=8.5, textColor=FAINT),
}
MIN_FONT_SIZE: Final = 6.0  # the smallest a shrunk name is printed


def para(markup: str, style: str = "body") -> Paragraph:
    return Paragraph(markup, STYLES[style])


def _plain(markup: str) -> str:
    return re.sub(r"<[^>]*>", "", markup).replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<")


def fit_words(markup: str, style: ParagraphStyle, width: float) -> ParagraphStyle:
    """``style``, shrunk (never below :data:`MIN_FONT_SIZE`) until the longest word of ``markup`` fits in
    ``width``: text wraps at spaces only, so a long name is printed smaller rather than cut in two."""
    words = _plain(markup).split() or [""]
    size = style.fontSize
    while size > MIN_FONT_SIZE and _widest(words, style.fontName, size) > width:
        size = max(MIN_FONT_SIZE, size - 0.25)
    if size == style.fontSize:
        return style
    return ParagraphStyle(
        f"{style.name}-fit", style, fontSize=size, leading=size * style.leading / style.fontSize
    )


def fitted(markup: str, style: str, width: float) -> Paragraph:
    return Paragraph(markup, fit_words(markup, STYLES[style], width))


def longest_word_width(markup: str, style: str = "cell") -> float:
    s = STYLES[style]
    return _widest(_plain(markup).split() or [""], s.fontName, s.fontSize)


def _widest(words: Sequence[str], font: str, size: float) -> float:
    # A word may be bold in the markup: measure it in the bold face too, and take the wider.
    bold = "Courier-Bold" if font.startswith("Courier") else "Helvetica-Bold"
    return max(max(float(stringWidth(w, font, size)), float(stringWidth(w, bold, size))) for w in words)


# --- page furniture ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Furniture:
    """What every page of one document shows around its content: the header band (``left`` in bold with
    ``left_sub`` under it, ``right`` in bold with ``right_sub`` under it, an optional red ``alert`` line),
    the footer (``footer``, an optional monospace ``footer_mono`` line above it, "page X of Y") and an
    optional ``watermark`` printed large and light across the page, under the content."""

    left: str
    right: str
    left_sub: str = ""
    right_sub: str = ""
    alert: str = ""
    footer: str = ""
    footer_mono: str = ""
    watermark: str = ""
    logo: Path | None = None
    total_pages: int = 0  # 0: not known yet (first pass)


SIGNATURE_DESTINATION_PREFIX: Final = "ceremony-signature-"
SIGNATURE_DESTINATION: Final = SIGNATURE_DESTINATION_PREFIX + "{field}"  # where a field's stamp goes


class PaperCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """A canvas that writes the signature-block destinations into the catalog's /Dests dictionary
    (reportlab writes named destinations only for outlines and links)."""

    def save(self) -> None:
        marks = {k: v for k, v in self._destinations.items() if k.startswith(SIGNATURE_DESTINATION_PREFIX)}
        if marks:
            self._doc.Catalog.Dests = PDFDictionary({k: marks[k] for k in sorted(marks)})
        super().save()


def _fit_string(text: str, font: str, size: float, room: float) -> float:
    """The font size, at most ``size``, at which ``text`` fits in ``room`` (never below 5.5 pt)."""
    width = stringWidth(text, font, size)
    return size if width <= room or width == 0 else max(5.5, size * room / width)


def draw_furniture(canvas: Canvas, doc: SimpleDocTemplate, page: Furniture, margins: Margins) -> None:
    width, height = doc.pagesize
    canvas.saveState()
    top = height - 12 * mm
    x = margins.x
    if page.logo is not None:
        canvas.drawImage(
            str(page.logo),
            x,
            top - 8 * mm,
            height=10 * mm,
            width=24 * mm,
            preserveAspectRatio=True,
            anchor="sw",
            mask="auto",
        )
        x += 27 * mm
    # Left and right share the band: each gets its half, shrunk rather than overlapping the other.
    half = (width - margins.x - x) / 2 - 3 * mm
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", _fit_string(page.left, "Helvetica-Bold", 10.5, half))
    canvas.drawString(x, top, page.left)
    canvas.setFillColor(FAINT)
    if page.left_sub:
        canvas.setFont("Helvetica", _fit_string(page.left_sub, "Helvetica", 8, half))
        canvas.drawString(x, top - 10, page.left_sub)
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", _fit_string(page.right, "Helvetica-Bold", 8.5, half))
    canvas.drawRightString(width - margins.x, top, page.right)
    if page.right_sub:
        canvas.setFont("Helvetica", _fit_string(page.right_sub, "Helvetica", 8, half))
        canvas.setFillColor(FAINT)
        canvas.drawRightString(width - margins.x, top - 10, page.right_sub)
    rule_y = top - 15
    if page.alert:
        canvas.setFillColor(ALERT)
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawRightString(width - margins.x, top - 20, page.alert)
        rule_y = top - 24
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(margins.x, rule_y, width - margins.x, rule_y)
    bottom = 9 * mm
    text_room = width - 2 * margins.x - 30 * mm
    if page.footer_mono:
        canvas.setFillColor(INK)
        canvas.setFont("Courier", _fit_string(page.footer_mono, "Courier", 6.5, width - 2 * margins.x))
        canvas.drawString(margins.x, bottom + 9, page.footer_mono)
        canvas.line(margins.x, bottom + 18, width - margins.x, bottom + 18)
    else:
        canvas.line(margins.x, bottom + 9, width - margins.x, bottom + 9)
    canvas.setFillColor(FAINT)
    canvas.setFont("Helvetica", _fit_string(page.footer, "Helvetica", 7.5, text_room))
    canvas.drawString(margins.x, bottom, page.footer)
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(INK)
    canvas.drawRightString(width - margins.x, bottom, f"page {doc.page} of {page.total_pages or doc.page}")
    if page.watermark:
        # Drawn before the page's content: QR codes (white ground) and boxes stay clean above it.
        canvas.setFillColor(WATERMARK)
        canvas.setFont("Helvetica-Bold", 30)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(52)
        canvas.drawCentredString(0, 0, page.watermark)
    canvas.restoreState()


@dataclass(frozen=True)
class Metadata:
    title: str
    author: str
    subject: str
    keywords: str
    created: datetime  # UTC: the PDF's creation and modification date, from the data (same input, same bytes)


def build(
    story_factory: Callable[[], list[Flowable]],
    page: Furniture,
    pagesize: tuple[float, float],
    meta: Metadata,
    margins: Margins = FORM_MARGINS,
) -> tuple[io.BytesIO, int]:
    """Lay out the story once (deterministically: reportlab's invariant mode, fixed dates and metadata, zlib
    page compression); returns the PDF buffer and the page count."""
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=margins.x,
        rightMargin=margins.x,
        topMargin=margins.top + (9 if page.alert else 0),
        bottomMargin=margins.bottom + (9 if page.footer_mono else 0),
        title=meta.title,
        author=meta.author,
        subject=meta.subject,
        keywords=meta.keywords,
        creator="ceremony",
        invariant=1,
        pageCompression=1,
    )
    stamp = meta.created.strftime("D:%Y%m%d%H%M%S+00'00'")

    def make(*args: Any, **kwargs: Any) -> Canvas:
        canvas = PaperCanvas(*args, **kwargs)
        canvas.setDateFormatter(lambda *_: stamp)
        canvas.setCreator("ceremony")
        canvas.setProducer("ceremony (reportlab)")
        return canvas

    def furniture(canvas: Canvas, d: SimpleDocTemplate) -> None:
        draw_furniture(canvas, d, page, margins)

    doc.build(story_factory(), onFirstPage=furniture, onLaterPages=furniture, canvasmaker=make)
    return buf, int(doc.page)


def build_two_pass(
    story_factory: Callable[[], list[Flowable]],
    page: Furniture,
    pagesize: tuple[float, float],
    meta: Metadata,
    margins: Margins = FORM_MARGINS,
) -> bytes:
    """The first pass counts the pages, the second prints "page X of Y" with the right Y."""
    _, pages = build(story_factory, page, pagesize, meta, margins)
    buf, _ = build(story_factory, replace(page, total_pages=pages), pagesize, meta, margins)
    return buf.getvalue()


def height_of(flowables: Sequence[Flowable], width: float) -> float:
    """How tall ``flowables`` are at ``width``, laid out on a scratch canvas (before the real layout)."""
    scratch = Canvas(io.BytesIO())
    # A KeepTogether reports a huge height on purpose (to force its split): measure what it holds.
    return float(
        sum(
            height_of(f._content, width)
            if isinstance(f, KeepTogether)
            else f.wrapOn(scratch, width, 10_000)[1]
            for f in flowables
        )
    )


def content_width(pagesize: tuple[float, float], margins: Margins = FORM_MARGINS) -> float:
    return float(pagesize[0] - 2 * margins.x)


# --- hashes, fingerprints and QR codes ----------------------------------------------------------------------
def grouped(text: str, size: int = 4) -> str:
    """``text`` (a hash, a fingerprint) in groups of ``size`` characters separated by spaces."""
    flat = "".join(text.split())
    return " ".join(flat[i : i + size] for i in range(0, len(flat), size))


class GroupedLines(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Monospace lines of groups (a hash, a checkpoint, an anchor) drawn exactly as given, spaces kept.

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


# --- tables -------------------------------------------------------------------------------------------------
def fields_table(rows: Sequence[tuple[str, str]], width: float, *, label_share: float = 0.3) -> Table:
    """Label | value rows in a ruled grid, labels on a shaded column (markup allowed in both)."""
    label_w = label_share * width
    data = [
        [fitted(label, "label", label_w - 12), fitted(value, "value", width - label_w - 12)]
        for label, value in rows
    ]
    table = Table(data, colWidths=[label_w, width - label_w], hAlign="LEFT")
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


def column_widths(weights: Sequence[float], minimums: Sequence[float], width: float) -> list[float]:
    """Widths in proportion to ``weights`` summing to ``width``, but no column below its minimum (the
    width of its longest word) while the minimums fit: long words are never cut (a column whose
    minimum still cannot be met shrinks its text, :func:`fit_words`)."""
    total = sum(weights) or 1.0
    widths = [width * w / total for w in weights]
    if sum(minimums) > width:
        return widths
    fixed: set[int] = set()
    while True:
        short = [i for i, w in enumerate(widths) if i not in fixed and w < minimums[i]]
        if not short:
            return widths
        fixed.update(short)
        for i in short:
            widths[i] = minimums[i]
        free = [i for i in range(len(widths)) if i not in fixed]
        room = width - sum(widths[i] for i in fixed)
        free_weight = sum(weights[i] for i in free) or 1.0
        for i in free:
            widths[i] = room * weights[i] / free_weight


# --- signatures --------------------------------------------------------------------------------------------
SIGNING_SPACE: Final = 13 * mm  # above the signature line: room for a wet-ink signature or the stamp

# The digital signature's stamp, printed on the signature line by :mod:`ceremony.documents.sign` in Courier
# (0.6 em a character): "Digitally signed by", the signer's name wrapped at spaces, the time. A block with a
# PDF field grows its signing space when the name needs more lines, so the stamp keeps this size.
STAMP_FONT_SIZE: Final = 9  # whole points: pyHanko writes the size as an integer
STAMP_LEADING: Final = 11
STAMP_MARGIN: Final = 2


def stamp_lines(name: str, width: float) -> list[str]:
    """``name`` in lines that fit ``width`` points of stamp, broken at spaces only (a single word longer than
    a line stays whole: the stamp then shrinks to fit)."""
    fits = max(8, int((width - 2 * STAMP_MARGIN) / (0.6 * STAMP_FONT_SIZE)))
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= fits:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [name]


def stamp_height(lines: int) -> float:
    """The height of a stamp of ``lines`` text lines (plus the heading and the time) at its natural size."""
    return STAMP_FONT_SIZE + (lines + 1) * STAMP_LEADING + 2 * STAMP_MARGIN + 3


class SignatureBlock(Table):  # type: ignore[misc]  # reportlab is untyped
    """One signature block. If it has a PDF signature field, the space above its signature line (where a
    person signs in ink) is marked, with a named destination, as the place of that field's visible stamp:
    :mod:`ceremony.documents.sign` looks it up, so a printed, digitally signed form shows the stamp on the
    signature line. The unsigned page looks the same either way."""

    field = ""

    def draw(self) -> None:
        super().draw()
        if not self.field:
            return
        canvas = self.canv
        # Row 2 is the signing space, column 1 the signature line (LINEBELOW of that cell).
        left, right = self._colpositions[1], self._colpositions[2]
        top, bottom = self._rowpositions[2], self._rowpositions[3]
        x0, y0 = canvas.absolutePosition(left, bottom + 2)  # clear of the line's ink
        x1, y1 = canvas.absolutePosition(right, top)
        canvas.bookmarkPage(
            SIGNATURE_DESTINATION.format(field=self.field),
            fit="FitR",
            left=round(x0, 2),
            bottom=round(y0, 2),
            right=round(x1, 2),
            top=round(y1, 2),
        )


def signature_blocks(blocks: Sequence[tuple[str, str, str]], width: float) -> Table:
    """Signature and date blocks, two to a row: (role, printed name, PDF signature field or ""); role and
    name as markup. A name wraps at spaces only, shrinking if one word alone is too wide."""
    gap = 8 * mm
    block_w = (width - gap) / 2
    edge = 6.0
    inner_w = block_w - 2 * edge

    def one(role: str, name: str, field: str) -> Table:
        # Columns: margin | signature line | gap | date line | margin (ink lines stop short of the box).
        name_markup = f"Name: {name}" if name else "Name: &nbsp;"
        sign_w, gap_w = inner_w * 0.62, inner_w * 0.06
        date_w = inner_w - sign_w - gap_w
        space = SIGNING_SPACE
        if field:  # room for the stamp at its natural size (the printed name, less any "(employee id)")
            printed = re.sub(r"\s*\([^)]*\)\s*$", "", _plain(name))
            space = max(space, stamp_height(len(stamp_lines(printed, sign_w))) + 2)
        inner = SignatureBlock(
            [
                [fitted(role, "label", inner_w), "", "", "", ""],
                [fitted(name_markup, "cell", inner_w), "", "", "", ""],
                ["", "", "", "", ""],
                ["", para("Signature", "small"), "", para("Date (YYYY-MM-DD)", "small"), ""],
            ],
            colWidths=[edge, sign_w, gap_w, date_w, edge],
            rowHeights=[None, None, space, None],
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
