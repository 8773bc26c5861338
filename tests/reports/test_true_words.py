"""True words in the reports and the minutes (issue 15, item 6), on the demo ledger built by the real flows
(``ceremony demo``): the smallest coalition is defined where it is shown, names every equally small group
("any 3 of these 5") instead of an arbitrary three and marks departed people; page 1 of the custodians
report says who is overdue and who is due soon; the ceremonies report names each signer once with their role;
a reaffirmation standing is one phrase; an exception's subject "*" reads "all subjects"; the minutes print an
exception's expiry as a date and time to the minute and each security officer's certificate fingerprint as
people read it back."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from ceremony.cli import main
from ceremony.crypto.fingerprint import parse_fingerprint, printed
from ceremony.documents.archive import documents_folder
from ceremony.flows.paperwork import _minute
from ceremony.ledger import participants
from ceremony.ledger.store import Ledger
from ceremony.reports import ceremonies
from ceremony.reports.custody import COALITION_DEFINED
from ceremony.reports.model import Filters, read_facts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    assert main(["demo", "--ledger", str(path)]) == 0
    return path


def _report(demo: Path, kind: str, capsys: pytest.CaptureFixture[str], fmt: str = "text") -> str:
    capsys.readouterr()
    assert main(["report", kind, "--ledger", str(demo), "--format", fmt]) == 0
    return capsys.readouterr().out


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _officer(demo: Path) -> participants.Participant:
    ledger = Ledger.open(demo)
    try:
        return next(p for p in participants.participants(ledger) if p.employee_id == "E1004")
    finally:
        ledger.close()


def test_custody_report_defines_the_smallest_coalition_and_names_every_equal_group(demo, capsys):
    text = _flat(_report(demo, "custody", capsys))
    assert _flat(COALITION_DEFINED) in text
    assert text.count("Smallest coalition: the fewest people who") == 1  # defined once, where first shown
    # PEK-2026 is 3-of-5: any three of its five holders, not an arbitrary three; it was also wrapped under a
    # KEK typed by three people, one of whom has left: both routes are named, the departed person marked.
    assert re.search(
        r"Smallest coalition: 3 people, by any of 2 routes - split \w+ \(Shamir 3-of-5\): "
        r"any 3 of these 5: ",
        text,
    )
    assert "Jonas Berg (deactivated), Maria Costa, Priya Raman" in text
    # The HMAC key is XOR 3: all three, the departed custodian marked.
    assert re.search(
        r"\(XOR 3 components\): all 3: Elena Petrova, Jonas Berg \(deactivated\), Kenji Sato", text
    )


def test_custodians_report_page_one_summarises_overdue_and_due_soon(demo, capsys):
    text = _report(demo, "custodians", capsys)
    flat = _flat(text)
    first_section = text.split("\n\n")[2]
    assert first_section.startswith("Reaffirmations at ")
    assert "Overdue (1): Maria Costa (E2003), since " in flat
    assert "Due within 30 days (1): Elena Petrova (E2007), by " in flat
    # One clear phrase per standing: never "due, due 2026-12-15".
    assert not re.search(r"\b(due|current), due \d", flat)
    assert re.search(r"Reaffirmation: due soon: by \d{4}-\d\d-\d\d", flat)
    assert re.search(r"Reaffirmation: current until \d{4}-\d\d-\d\d", flat)
    # The security officer's fingerprint, grouped as people read it back; verify takes it as printed.
    officer = _officer(demo)
    line = f"Certificate fingerprint (SHA-256) of Sophie Laurent (E1004): {printed(officer.cert_sha256)}"
    assert line in flat
    assert parse_fingerprint(line.rpartition(": ")[2]) == officer.cert_sha256
    # The PDF: the summary is on page 1.
    capsys.readouterr()
    out = demo.parent / "custodians.pdf"
    assert main(["report", "custodians", "--ledger", str(demo), "--format", "pdf", "--out", str(out)]) == 0
    page_one = _flat(PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text())
    assert "Overdue (1)" in page_one and "Maria Costa (E2003)" in page_one
    assert "Due within 30 days (1)" in page_one and "Elena Petrova (E2007)" in page_one


def test_ceremonies_report_names_each_signer_once_with_their_role(demo, capsys):
    text = _report(demo, "ceremonies", capsys)
    assert "Performed by" not in text and "Approved by" not in text
    assert "Signed by (role in this" in text
    ledger = Ledger.open(demo)
    try:
        report = ceremonies.build(read_facts(ledger), Filters(), datetime.now(UTC))
    finally:
        ledger.close()
    cells = {row[2] for section in report.sections for table in section.tables for row in table.rows}
    assert "Alice Morgan (administrator), Walter Chen (witness)" in cells
    assert "Priya Raman (custodian), Walter Chen (witness)" in cells


def test_exceptions_report_reads_all_subjects(demo, capsys):
    text = _report(demo, "exceptions", capsys)
    assert "mem.swap, all subjects" in text and "radio.rfkill, all subjects" in text
    assert "; *" not in text and "Check / subject" not in text


def test_minutes_print_an_expiry_to_the_minute_and_the_officers_fingerprints(demo):
    assert _minute("2027-01-04T01:05:28.968929Z") == "2027-01-04 01:05 UTC"
    assert _minute("2026-01-11T09:00:00Z") == "2026-01-11 09:00 UTC"
    officer = _officer(demo)
    expected = f"Certificate fingerprint (SHA-256) of Sophie Laurent (E1004): {printed(officer.cert_sha256)}"
    relied = 0
    for pdf in sorted(documents_folder(demo).rglob("minutes-*.pdf")):
        text = _flat("\n".join(p.extract_text() for p in PdfReader(pdf).pages))
        assert expected in text, pdf.name
        assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text), pdf.name  # no raw ISO time anywhere
        if "Exceptions relied on" in text and "radio.rfkill, all subjects" in text:
            relied += 1
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text)
    assert relied >= 1  # the demo's MAC key ceremony relied on the Bluetooth exception
