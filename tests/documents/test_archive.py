"""The document archive: signed paper and exports are never written over an existing file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceremony.documents.archive import MAX_COPIES, documents_folder, write_exclusive, write_new_file


def test_numbered_copies_never_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "papers" / "minutes.pdf"
    first = write_new_file(target, b"one")
    second = write_new_file(target, b"two")
    third = write_new_file(target, memoryview(b"three"))
    assert (first, second, third) == (
        target,
        target.with_name("minutes-2.pdf"),
        target.with_name("minutes-3.pdf"),
    )
    assert [p.read_bytes() for p in (first, second, third)] == [b"one", b"two", b"three"]


def test_an_exact_name_is_that_name_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "zmk.wrapped"
    assert write_exclusive(target, b"blob") == target
    with pytest.raises(FileExistsError):
        write_exclusive(target, b"other")
    assert target.read_bytes() == b"blob"


def test_a_symlink_in_the_way_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"keep me")
    (tmp_path / "form.pdf").symlink_to(victim)
    written = write_new_file(tmp_path / "form.pdf", b"new paper")
    assert written.name == "form-2.pdf" and victim.read_bytes() == b"keep me"


def test_a_full_folder_says_so(tmp_path: Path) -> None:
    target = tmp_path / "r.csv"
    target.write_bytes(b"")
    for n in range(2, MAX_COPIES + 1):
        (tmp_path / f"r-{n}.csv").write_bytes(b"")
    with pytest.raises(FileExistsError, match=r"999 copies of r\.csv"):
        write_new_file(target, b"x")


def test_documents_live_beside_the_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "ceremony.sqlite3"
    assert documents_folder(ledger) == tmp_path / "ceremony-documents"
    assert documents_folder(ledger, "CER1") == tmp_path / "ceremony-documents" / "CER1"
