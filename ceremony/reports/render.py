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

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph, Spacer, TableStyle
from reportlab.platypus import Table as PdfTable

from ceremony.documents.pdfkit import (
    A4_LANDSCAPE,
    INK,
    REPORT_MARGINS,
    RULE,
    SHADE,
    STYLES,
    Furniture,
    GroupedLines,
    Metadata,
    build_two_pass,
    column_widths,
    content_width,
    fit_words,
    longest_word_width,
)
from ceremony.ledger.checkpoint import Checkpoint, CheckpointFormatError
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
# The look of the paper (palette, styles, header band, footer, page x of y) is the forms' own: one toolkit.
PAGE: Final = A4_LANDSCAPE
REHEARSAL_MARK: Final = "REHEARSAL LEDGER - TEST KEYS ONLY"


def _markup(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


def _cell(text: str, style: str = "cell", width: float = 0.0) -> Paragraph:
    markup = _markup(text)
    return Paragraph(markup, fit_words(markup, STYLES[style], width) if width else STYLES[style])


def _fields(rows: Sequence[tuple[str, str]], width: float) -> PdfTable:
    label_w = 38 * mm
    data = [[_cell(label, "label"), _cell(value, "value", width - label_w)] for label, value in rows]
    table = PdfTable(data, colWidths=[label_w, width - label_w], hAlign="LEFT")
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


def _checkpoint(checkpoint: str, width: float) -> PdfTable:
    """The ledger checkpoint the report was made at, its hashes in groups never broken inside one."""
    try:
        lines = Checkpoint.parse(checkpoint).grouped()
    except CheckpointFormatError:
        lines = checkpoint.split()
    label_w = 38 * mm
    table = PdfTable(
        [[_cell("Ledger checkpoint", "label"), GroupedLines(lines, size=8, min_size=6, hang=False)]],
        colWidths=[label_w, width - label_w],
        hAlign="LEFT",
    )
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
    pad = 6.0
    minimums = [
        # max of a list: a table with no rows (no active exception today) is its heading alone
        max(
            [longest_word_width(_markup(c), "head"), *(longest_word_width(_markup(r[i])) for r in table.rows)]
        )
        + pad
        for i, c in enumerate(table.columns)
    ]
    col_widths = column_widths(weights, minimums, width)
    data: list[list[Any]] = [
        [_cell(c, "head", w - pad) for c, w in zip(table.columns, col_widths, strict=True)]
    ]
    data += [
        [_cell(cell, "cell", w - pad) for cell, w in zip(row, col_widths, strict=True)] for row in table.rows
    ]
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
    head: list[Flowable] = [Paragraph(_markup(section.heading), STYLES["h2"])]
    if section.fields:
        head.append(_fields(section.fields, width))
    out: list[Flowable] = [CondPageBreak(45 * mm), KeepTogether(head)]
    for table in section.tables:
        if table.title:
            # Never leave a table's title alone at the foot of a page.
            out += [CondPageBreak(22 * mm), Paragraph(_markup(table.title), STYLES["h3"])]
        out.append(_table(table, width))
    for note in section.notes:
        out.append(Paragraph(_markup(note), STYLES["note"]))
    return out


def _story(report: Report, width: float) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(_markup(report.title), STYLES["title"]),
        Paragraph(_markup(report.basis), STYLES["basis"]),
    ]
    ledger = f"{report.ledger_name} ({report.ledger_id})"
    rows = [
        *([("Organisation", report.organisation)] if report.organisation else []),
        ("Ledger", ledger + (" - " + REHEARSAL_MARK if report.rehearsal else "")),
        ("As of", show_time(report.as_of) + " UTC"),
        ("Filters", report.filters),
    ]
    story.append(_fields(rows, width))
    story.append(_checkpoint(report.checkpoint, width))
    story.append(Spacer(1, 2 * mm))
    if not report.sections:
        story.append(Paragraph(_markup(report.empty_note), STYLES["empty"]))
    for section in report.sections:
        story += _section(section, width)
    return story


def to_pdf(report: Report) -> bytes:
    """A4 landscape, in two passes: the first counts the pages, the second prints "page X of Y"."""
    page = Furniture(
        left=report.organisation or "ceremony",
        left_sub=report.title,
        right=f"Ledger {report.ledger_name} ({report.ledger_id})",
        right_sub=f"as of {show_time(report.as_of)} UTC",
        alert=REHEARSAL_MARK if report.rehearsal else "",
        footer=f"Ledger checkpoint above - ceremony report '{report.kind}'",
        footer_mono=report.checkpoint,
    )
    meta = Metadata(
        title=report.title,
        author=report.organisation or "ceremony",
        subject=f"ceremony report {report.kind}; {report.checkpoint}",
        keywords="",
        created=report.as_of,
    )
    width = content_width(PAGE, REPORT_MARGINS)
    return build_two_pass(lambda: _story(report, width), page, PAGE, meta, REPORT_MARGINS)


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (text, json and csv as UTF-8)."""
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "json":
        return to_json(report).encode("utf-8")
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    return to_text(report).encode("utf-8")
