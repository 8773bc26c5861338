"""Issue 15, item 9: the demo keeps the signed PDFs it issues, where the TUI writes them (the ledger's
``ceremony-documents/`` folder), so ``export`` bundles them and an auditor practises ``verify --document``
on each; and its ``--help`` says how to act as its people."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ceremony.cli import build_parser, main
from ceremony.commands import demo as demo_command
from ceremony.documents.archive import documents_folder
from ceremony.flows.demo import ROSTER
from ceremony.ledger.store import Ledger


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    assert main(["demo", "--ledger", str(path)]) == 0
    return path


def _issued(path: Path) -> list[tuple[int, str, str]]:
    with Ledger.open_for_reading(path) as ledger:
        return [
            (e.seq, str(e.payload["kind"]), str(e.payload["sha256"]))
            for e in ledger.events()
            if e.type == "document.issued"
        ]


def test_every_issued_document_is_a_file_next_to_the_ledger(demo: Path, capsys) -> None:
    issued = _issued(demo)
    files = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in documents_folder(demo).rglob("*.pdf")}
    assert {sha for _, _, sha in issued} == set(files)  # every record has its file, and nothing else is there
    kinds = sorted({kind for _, kind, _ in issued})
    # Destruction certificates since the demo records what became of the envelopes (issue 15, item 5).
    assert kinds == ["acknowledgement", "anchor", "destruction", "minutes", "reaffirmation"]
    # The TUI's places: the anchor at the top, each ceremony's papers in its folder, reaffirmations apart.
    folders = {files[sha].parent.relative_to(documents_folder(demo)).parts[:1] for _, _, sha in issued}
    assert ("reaffirmations",) in folders and () in folders


def test_verify_document_accepts_every_demo_paper(demo: Path, capsys) -> None:
    capsys.readouterr()
    issued = {sha: seq for seq, _, sha in _issued(demo)}
    for pdf in sorted(documents_folder(demo).rglob("*.pdf")):
        code = main(["verify", "--ledger", str(demo), "--document", str(pdf), "--format", "json"])
        out = capsys.readouterr().out
        assert code == 0, (pdf.name, out)
        assert (
            json.loads(out)["document"]["event_seq"] == issued[hashlib.sha256(pdf.read_bytes()).hexdigest()]
        )


def test_demo_help_and_output_say_how_to_act_as_its_people(demo: Path, capsys) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.choices and "demo" in a.choices)  # type: ignore[operator]
    demo_parser = sub.choices["demo"]  # type: ignore[index]
    help_text = f"{demo_parser.description} {demo_parser.epilog}"  # as --help prints them, before wrapping
    assert "passphrase" in demo_parser.format_help()
    assert "demo passphrase <employee id>" in help_text and "'demo passphrase E1004'" in help_text
    assert "ceremony-documents/" in help_text and "--document" in help_text
    # The names and ids the help gives are the demo's own.
    roster = {employee: name for name, employee, _ in ROSTER}
    assert roster["E1004"] in demo_command.WHO
    for employee in ("E1001", "E1002", "E1003", "E1004"):
        assert f"{employee} {roster[employee]}" in demo_command.PEOPLE
    assert sorted(e for e in roster if e.startswith("E2")) == [f"E200{i}" for i in range(1, 9)]
