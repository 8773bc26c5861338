"""Benchmark runner. Each module in scripts/benchmarks/ defines

    def run(quick: bool) -> list[dict]

returning rows {"group", "name", "median_s", "runs", ...extra figures}. Figures that compare two things
(e.g. verify vs a bare signature loop) are measured in the same run and reported as ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def median_time(fn: Callable[[], object], runs: int = 5) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``runs`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("groups", nargs="*")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes")
    parser.add_argument("--json", default="bench.json")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    rows: list[dict] = []
    for path in sorted((HERE / "benchmarks").glob("*.py")):
        if path.name.startswith("_") or (args.groups and path.stem not in args.groups):
            continue
        spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        rows.extend(module.run(args.quick))
    machine = f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip()
    print(f"machine: {machine}")
    print(f"{'group':<10} {'benchmark':<44} {'median':>12}  extra")
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in ("group", "name", "median_s")}
        print(f"{r['group']:<10} {r['name']:<44} {r['median_s'] * 1000:>10.1f}ms  {extra}")
    Path(args.json).write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
