"""Benchmark runner. Each module in scripts/benchmarks/ defines

    def run(quick: bool) -> list[dict]

returning rows {"group", "name", "median_s", "runs", ...extra figures}. Figures that compare two things
(e.g. verify vs a bare signature loop) are measured in the same run and reported as ratios.

    scripts/bench                          # everything; prints a table, writes bench.json
    scripts/bench --quick                  # smaller sizes, fewer runs
    scripts/bench ledger startup           # only those groups
    scripts/bench --markdown BENCHMARKS.md # also write the table as Markdown (with the machine it ran on)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Figures shown in the Markdown table's "figures" column, when a row has them (the JSON has everything).
KEY_FIGURES = (
    "events_per_s",
    "peak_rss_mib",
    "ratio_verify_to_signature_loop",
    "ratio_verify_to_event_count_signature_loop",
    "ratio_verify_to_chain_loop",
    "bare_p256_verify_x_events_s",
    "bare_sha256_chain_s",
    "ratio_tmux_to_pilot",
    "ratio_tmux_to_bare",
    "ratio_to_wrapped",
    "bare_textual_s",
    "documents",
    "events",
    "min_s",
    "max_s",
)


def median_time(fn: Callable[[], object], runs: int = 5) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` over ``runs`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def machine_info() -> dict[str, object]:
    """What the figures were taken on: the same code is several times slower on a busy shared machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "started_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _human(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def markdown(machine: dict[str, object], rows: list[dict], quick: bool, took_s: float) -> str:
    load = machine["load_avg_at_start"]
    lines = [
        "| group | benchmark | median | runs | figures |",
        "|---|---|---:|---:|---|",
    ]
    for r in rows:
        figures = ", ".join(f"{k} {r[k]}" for k in KEY_FIGURES if k in r)
        lines.append(
            f"| {r['group']} | {r['name']} | {_human(r['median_s'])} | {r.get('runs', '')} | {figures} |"
        )
    head = (
        f"Machine: {machine['cpu']}, {machine['nproc']} CPUs (nproc), Python {machine['python']}, "
        f"{machine['platform']}; load average at start {load[0]} / {load[1]} / {load[2]} (1/5/15 min); "
        f"{machine['started_utc']}; `scripts/bench{' --quick' if quick else ''}` took {took_s / 60:.1f} min."
    )
    return head + "\n\n" + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("groups", nargs="*")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes")
    parser.add_argument("--json", default="bench.json")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    machine = machine_info()
    started = time.perf_counter()
    rows: list[dict] = []
    for path in sorted((HERE / "benchmarks").glob("*.py")):
        if path.name.startswith("_") or (args.groups and path.stem not in args.groups):
            continue
        spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        t0 = time.perf_counter()
        rows.extend(module.run(args.quick))
        print(f"[{path.stem}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
    took = time.perf_counter() - started
    print(
        f"machine: {machine['cpu']}, nproc {machine['nproc']}, python {machine['python']}, "
        f"load average at start {machine['load_avg_at_start']}"
    )
    print(f"{'group':<10} {'benchmark':<44} {'median':>12}  extra")
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in ("group", "name", "median_s")}
        print(f"{r['group']:<10} {r['name']:<44} {r['median_s'] * 1000:>10.1f}ms  {extra}")
    Path(args.json).write_text(
        json.dumps(
            {"machine": machine, "quick": args.quick, "took_s": round(took, 1), "rows": rows}, indent=2
        )
    )
    if args.markdown:
        Path(args.markdown).write_text(markdown(machine, rows, args.quick, took))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
