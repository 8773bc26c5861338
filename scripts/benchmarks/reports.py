"""The demo ledger's size and build time, and each report's time on it (issue 8, "Done when").

    scripts/bench reports            # build the demo once, each report in each format 5 runs
    scripts/bench reports --quick    # 2 runs

Build: ``ceremony.flows.demo.build_demo`` (a year of ceremonies through the real flows, light scrypt KDF),
timed once. Reports: what ``ceremony report KIND --format FMT`` does (open read-only, one replay, render),
so each figure includes the replay of the whole demo ledger.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import median_time  # noqa: E402

from ceremony.commands.report import produce  # noqa: E402
from ceremony.flows.demo import build_demo  # noqa: E402
from ceremony.reports import KINDS  # noqa: E402
from ceremony.reports.model import Filters  # noqa: E402
from ceremony.reports.render import FORMATS  # noqa: E402


def run(quick: bool) -> list[dict]:
    runs = 2 if quick else 5
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.sqlite3"
        t0 = time.perf_counter()
        summary = build_demo(path, start=datetime(2025, 6, 2, tzinfo=UTC))
        built = time.perf_counter() - t0
        rows.append(
            {
                "group": "reports",
                "name": "demo ledger build",
                "median_s": built,
                "runs": 1,
                "events": summary.events,
                "bytes": path.stat().st_size,
            }
        )
        for kind in KINDS:
            for fmt in FORMATS:
                size = len(produce(path, kind, fmt, Filters(), summary.end))

                def one(kind: str = kind, fmt: str = fmt) -> bytes:
                    return produce(path, kind, fmt, Filters(), summary.end)

                median, _ = median_time(one, runs)
                rows.append(
                    {
                        "group": "reports",
                        "name": f"{kind} {fmt}",
                        "median_s": median,
                        "runs": runs,
                        "bytes": size,
                    }
                )
    return rows
