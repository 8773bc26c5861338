"""Snapshots of the home and help screens at 80x24 (pytest-textual-snapshot).

Reviewed as images before being accepted (rendered to PNG with rsvg-convert). No secrets on these
screens; flow screens that show dummy shares add their own snapshots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ceremony.tui.app import CeremonyApp

LEDGER = Path("/var/lib/ceremony/ledger.sqlite3")  # fixed, so the snapshot does not depend on the machine


def test_home_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(CeremonyApp(ledger=LEDGER), terminal_size=(80, 24))


def test_help_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(CeremonyApp(ledger=LEDGER), press=["f1"], terminal_size=(80, 24))
