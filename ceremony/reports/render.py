"""A report in each output format: text (a terminal of 100 columns), JSON, CSV and PDF.

* **text** - title block, then each section as ``Label: value`` lines and ruled tables whose columns are
  narrowed and wrapped to fit 100 columns.
* **json** - :meth:`Report.to_json`: the records with machine values (ISO 8601 times, ids, numbers).
* **csv** - one flat table (RFC 4180, header row first) per report, one fact per row, so a spreadsheet or
  a script can filter and count; it parses back to the same facts as the JSON.
* **pdf** - A4 landscape (report tables are wide), laid out for reading on paper: a header naming the
  ledger on every page, tables whose header row repeats on each page, and a footer on every page with the
  ledger checkpoint line (DESIGN §5: the paper copy names exactly which history it reports) and
  "page X of Y". Output is deterministic (reportlab invariant mode, the report's date as creation date).
"""

from __future__ import annotations

import csv
import io
import json
import textwrap
from collections.abc import Sequence
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import (
    Table as PdfTable,
)

from ceremony.reports.model import Report, Section, Table, show_time

TEXT_WIDTH: Final = 100
FORMATS: Final = ("text", "json", "csv", "pdf")


# --- text ------------------------------------------------------------------------------------------------
def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def _column_widths(table: Table, available: int) -> list[int]:
    """Natural widths, narrowed (widest relative to its weight first) to fit; words are kept whole while
    possible (a column is not narrowed below its longest word, up to 16 characters)."""
    natural = [len(c) for c in table.columns]
    longest_word = [max((len(w) for w in c.split()), default=1) for c in table.columns]
    for row in table.rows:
        for i, cell in enumerate(row):
            for line in cell.split("\n"):
                natural[i] = max(natural[i], len(line))
                longest_word[i] = max(longest_word[i], *(len(w) for w in line.split() or [""]))
    widths = [max(1, n) for n in natural]
    weights = table.weights or tuple(1.0 for _ in widths)
    for floor in ([min(w, 16) for w in longest_word], [4] * len(widths)):
        while sum(widths) > available:
            candidates = [i for i in range(len(widths)) if widths[i] > floor[i]]
            if not candidates:
                break
            widest = max(candidates, key=lambda i: widths[i] / weights[i])
            widths[widest] -= 1
    return widths


def _stacked(table: Table, width: int) -> list[str]:
    """Each row as a block: the first cell as its heading, the others as ``Column: value`` lines."""
    out: list[str] = []
    for row in table.rows:
        out.append("  " + row[0].replace("\n", " - "))
        for column, cell in zip(table.columns[1:], row[1:], strict=True):
            out += ["  " + line for line in _field_lines(column, cell.replace("\n", "; "), width - 2)]
        out.append("")
    if not table.rows:
        out.append("  (none)")
    return out[:-1] if out and out[-1] == "" else out


def text_table(table: Table, width: int = TEXT_WIDTH, indent: int = 2) -> list[str]:
    ncols = len(table.columns)
    available = width - indent - (3 * ncols + 1)
    widths = _column_widths(table, available)
    pad = " " * indent
    rule = pad + "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    head_rule = pad + "+" + "+".join("=" * (w + 2) for w in widths) + "+"

    def lines_of(cells: Sequence[str]) -> list[str]:
        wrapped = [_wrap(cell, w) for cell, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = [
                (cell[i] if i < len(cell) else "").ljust(w) for cell, w in zip(wrapped, widths, strict=True)
            ]
            out.append(pad + "| " + " | ".join(parts) + " |")
        return out

    out = [rule, *lines_of(table.columns), head_rule]
    for row in table.rows:
        out += lines_of(row)
        out.append(rule)
    if not table.rows:
        out.append(pad + "(none)")
    return out


def _field_lines(label: str, value: str, width: int) -> list[str]:
    head = f"  {label}: "
    body = _wrap(value, width - len(head)) or [""]
    return [head + body[0], *(" " * len(head) + line for line in body[1:])]


def to_text(report: Report, width: int = TEXT_WIDTH) -> str:
    out = [report.title, "=" * min(width, len(report.title))]
    out += _wrap(report.basis, width)
    out.append("")
    ledger = f"{report.ledger_name} ({report.ledger_id})"
    if report.rehearsal:
        ledger += " - REHEARSAL LEDGER, TEST KEYS ONLY"
    if report.organisation:
        out += _field_lines("Organisation", report.organisation, width)
    out += _field_lines("Ledger", ledger, width)
    out += _field_lines("As of", show_time(report.as_of) + " UTC", width)
    out += _field_lines("Filters", report.filters, width)
    out += _field_lines("Checkpoint", report.checkpoint, width)
    if not report.sections:
        out += ["", report.empty_note]
    for section in report.sections:
        out += ["", section.heading, "-" * min(width, len(section.heading))]
        for label, value in section.fields:
            out += _field_lines(label, value, width)
        for table in section.tables:
            out.append("")
            if table.title:
                out.append(f"  {table.title}")
            out += _stacked(table, width) if table.stacked_in_text else text_table(table, width)
        for note in section.notes:
            out += ["", *_wrap(note, width)]
    return "\n".join(out) + "\n"


# --- json and csv ----------------------------------------------------------------------------------------
def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(report.csv_columns)
    writer.writerows(report.csv_rows)
    return buf.getvalue()


# --- pdf -------------------------------------------------------------------------------------------------
PAGE: Final = landscape(A4)
MARGIN_X: Final = 14 * mm
MARGIN_TOP: Final = 20 * mm
MARGIN_BOTTOM: Final = 17 * mm
INK: Final = colors.HexColor("#1a1a1a")
RULE: Final = colors.HexColor("#8c8c8c")
SHADE: Final = colors.HexColor("#e6e6e6")
FAINT: Final = colors.HexColor("#555555")
ALERT: Final = colors.HexColor("#9b1c1c")

_BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=9, leading=11.5, textColor=INK)
_STYLES: Final = {
    "title": ParagraphStyle("title", _BODY, fontName="Helvetica-Bold", fontSize=15, leading=18, spaceAfter=2),
    "basis": ParagraphStyle("basis", _BODY, fontSize=8.5, textColor=FAINT, spaceAfter=6),
    "h2": ParagraphStyle(
        "h2", _BODY, fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=10, spaceAfter=4
    ),
    "h3": ParagraphStyle(
        "h3", _BODY, fontName="Helvetica-Bold", fontSize=9, leading=12, spaceBefore=6, spaceAfter=2
    ),
    "label": ParagraphStyle("label", _BODY, fontName="Helvetica-Bold", fontSize=8.5, leading=10.5),
    "cell": ParagraphStyle("cell", _BODY, fontSize=8, leading=10),
    "head": ParagraphStyle("head", _BODY, fontName="Helvetica-Bold", fontSize=8, leading=10),
    "mono": ParagraphStyle("mono", _BODY, fontName="Courier", fontSize=7.5, leading=9.5, wordWrap="CJK"),
    "note": ParagraphStyle("note", _BODY, fontSize=7.5, leading=9.5, textColor=FAINT, spaceBefore=4),
    "empty": ParagraphStyle("empty", _BODY, fontName="Helvetica-Oblique", textColor=FAINT),
}


def _markup(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _cell(text: str, style: str = "cell") -> Paragraph:
    return Paragraph(_markup(text), _STYLES[style])


def _fields(rows: Sequence[tuple[str, str]], width: float) -> PdfTable:
    data = [[_cell(label, "label"), _cell(value)] for label, value in rows]
    table = PdfTable(data, colWidths=[38 * mm, width - 38 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _table(table: Table, width: float) -> PdfTable:
    weights = table.weights or tuple(1.0 for _ in table.columns)
    total = sum(weights)
    col_widths = [width * w / total for w in weights]
    data: list[list[Any]] = [[_cell(c, "head") for c in table.columns]]
    data += [[_cell(cell) for cell in row] for row in table.rows]
    if not table.rows:
        data.append([_cell("(none)", "empty"), *("" for _ in table.columns[1:])])
    pdf = PdfTable(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    pdf.setStyle(TableStyle(style))
    return pdf


def _section(section: Section, width: float) -> list[Flowable]:
    head: list[Flowable] = [Paragraph(_markup(section.heading), _STYLES["h2"])]
    if section.fields:
        head.append(_fields(section.fields, width))
    out: list[Flowable] = [CondPageBreak(45 * mm), KeepTogether(head)]
    for table in section.tables:
        if table.title:
            # Never leave a table's title alone at the foot of a page.
            out += [CondPageBreak(22 * mm), Paragraph(_markup(table.title), _STYLES["h3"])]
        out.append(_table(table, width))
    for note in section.notes:
        out.append(Paragraph(_markup(note), _STYLES["note"]))
    return out


def _story(report: Report, width: float) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(_markup(report.title), _STYLES["title"]),
        Paragraph(_markup(report.basis), _STYLES["basis"]),
    ]
    ledger = f"{report.ledger_name} ({report.ledger_id})"
    rows = [
        *([("Organisation", report.organisation)] if report.organisation else []),
        ("Ledger", ledger + (" - REHEARSAL LEDGER, TEST KEYS ONLY" if report.rehearsal else "")),
        ("As of", show_time(report.as_of) + " UTC"),
        ("Filters", report.filters),
        ("Ledger checkpoint", report.checkpoint),
    ]
    story.append(_fields(rows, width))
    story.append(Spacer(1, 2 * mm))
    if not report.sections:
        story.append(Paragraph(_markup(report.empty_note), _STYLES["empty"]))
    for section in report.sections:
        story += _section(section, width)
    return story


def _furniture(canvas: Canvas, doc: SimpleDocTemplate, report: Report, total: int) -> None:
    width, height = PAGE
    canvas.saveState()
    top = height - 11 * mm
    canvas.setFillColor(INK)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawString(MARGIN_X, top, report.title)
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(FAINT)
    right = f"Ledger {report.ledger_name} ({report.ledger_id}) - as of {show_time(report.as_of)} UTC"
    canvas.drawRightString(width - MARGIN_X, top, right)
    if report.rehearsal:
        canvas.setFillColor(ALERT)
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawRightString(width - MARGIN_X, top - 10, "REHEARSAL LEDGER - TEST KEYS ONLY")
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN_X, top - 13, width - MARGIN_X, top - 13)
    bottom = 7 * mm
    canvas.line(MARGIN_X, bottom + 17, width - MARGIN_X, bottom + 17)
    canvas.setFillColor(INK)
    canvas.setFont("Courier", 6.5)
    canvas.drawString(MARGIN_X, bottom + 8, report.checkpoint)
    canvas.setFont("Helvetica", 7.5)
    canvas.setFillColor(FAINT)
    canvas.drawString(MARGIN_X, bottom, f"Ledger checkpoint above - ceremony report '{report.kind}'")
    canvas.setFillColor(INK)
    canvas.drawRightString(width - MARGIN_X, bottom, f"page {doc.page} of {total or doc.page}")
    canvas.restoreState()


def _build(report: Report, total: int) -> tuple[bytes, int]:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=PAGE,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=report.title,
        author="ceremony",
        subject=f"ceremony report {report.kind}; {report.checkpoint}",
        creator="ceremony",
        invariant=1,
        pageCompression=1,
    )
    stamp = report.as_of.strftime("D:%Y%m%d%H%M%S+00'00'")

    def make_canvas(*args: Any, **kwargs: Any) -> Canvas:
        canvas = Canvas(*args, **kwargs)
        canvas.setDateFormatter(lambda *_: stamp)  # the report's date, not the clock: same input, same bytes
        return canvas

    def furniture(canvas: Canvas, d: SimpleDocTemplate) -> None:
        _furniture(canvas, d, report, total)

    width = PAGE[0] - 2 * MARGIN_X
    doc.build(_story(report, width), onFirstPage=furniture, onLaterPages=furniture, canvasmaker=make_canvas)
    return buf.getvalue(), int(doc.page)


def to_pdf(report: Report) -> bytes:
    """Two passes: the first counts the pages, the second prints "page X of Y" with the right Y."""
    _, pages = _build(report, 0)
    pdf, _ = _build(report, pages)
    return pdf


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (text, json and csv as UTF-8)."""
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "json":
        return to_json(report).encode("utf-8")
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    return to_text(report).encode("utf-8")
