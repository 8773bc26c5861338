"""The document archive: where signed papers and exports are written, and how.

Paper is evidence: a signed form, minutes or an export is never written over an existing file — not even one
that appeared between a check and the write (``open(..., "xb")`` fails if the name exists). Where a name is
taken, the next free ``name-2.pdf``, ``name-3.pdf`` … is used (:func:`write_new_file`); where the caller
chose the exact name (a rehearsal's manifest lists it, an output file the administrator typed), it is that
name or nothing (:func:`write_exclusive`).

By default the papers of a ledger go to ``ceremony-documents/`` beside the ledger file, one folder per
ceremony (:func:`documents_folder`).
"""

from __future__ import annotations

from pathlib import Path

DOCUMENTS_DIR = "ceremony-documents"
MAX_COPIES = 999


def documents_folder(ledger_path: Path, ceremony_id: str | None = None) -> Path:
    """``ceremony-documents/`` beside the ledger file, or its sub-folder for one ceremony."""
    folder = Path(ledger_path).parent / DOCUMENTS_DIR
    return folder / ceremony_id if ceremony_id else folder


def write_exclusive(target: Path, data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to exactly ``target`` (its folder created); :class:`FileExistsError` if it exists."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as out:  # "x": never replace a file, even one that appeared meanwhile
        out.write(data)
    return target


def write_new_file(target: Path, data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to ``target``, or to ``target-2``, ``-3``… (same suffix) if that name is taken; returns
    the path written. Never overwrites."""
    for attempt in range(1, MAX_COPIES + 1):
        path = target if attempt == 1 else target.with_name(f"{target.stem}-{attempt}{target.suffix}")
        try:
            return write_exclusive(path, data)
        except FileExistsError:
            continue
    raise FileExistsError(f"{target.parent} already holds {MAX_COPIES} copies of {target.name}")
