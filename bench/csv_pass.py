#!/usr/bin/env python3
"""The statistics pass over one CSV file on the pandas backend: read as one stream (one thread
parses, the workers summarise) against byte ranges (every worker parses and summarises its
own ranges), with 1 and 2 workers, for the full design (products and squares) and a narrow one
(main terms only, where parsing is most of the work). Prints a table; compare as ratios.

usage: python bench/csv_pass.py [--rows 1000000] [--repeats 3] [--out bench/out]
Data: the planted file of bench/main_job.py. Wall and CPU seconds are medians of alternating runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def one_pass(path: Path, workers: int, ranges: bool, narrow: bool) -> tuple[float, float, int, int]:
    from greta_core.backends import open_backend
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import make_plan, statistics_pass

    lean = {"interactions": False, "squares": False, "logs": False} if narrow else {}
    params = AnalysisParams(target="y", seed=1, workers=workers, **lean)
    backend = open_backend("pandas", FileSpec(str(path)), workers, {})
    if not ranges:
        backend.reader.parts = lambda *a: None  # the stream: one thread parses
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    t, c = time.perf_counter(), time.process_time()
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    return time.perf_counter() - t, time.process_time() - c, summary.rows_read, layout.width


def main() -> None:
    from main_job import data_file

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="bench/out")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = data_file(out, a.rows)
    print(f"machine: {os.cpu_count()} cores; load average at the start: {os.getloadavg()[0]:.1f}; "
          f"{a.rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB")
    cases = [(narrow, ranges, workers) for narrow in (False, True) for ranges in (False, True) for workers in (1, 2)]
    times: dict[tuple, list[tuple[float, float]]] = {c: [] for c in cases}
    width = {}
    for _ in range(a.repeats):
        for case in cases:
            wall, cpu, rows, width[case[0]] = one_pass(path, case[2], case[1], case[0])
            assert rows == a.rows
            times[case].append((wall, cpu))
    print("\n| design | reading | workers | wall s | CPU s | rows/s (wall) | wall vs stream, same workers |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for narrow, ranges, workers in cases:
        wall = statistics.median(t[0] for t in times[(narrow, ranges, workers)])
        cpu = statistics.median(t[1] for t in times[(narrow, ranges, workers)])
        base = statistics.median(t[0] for t in times[(narrow, False, workers)])
        design = f"{width[narrow]} columns" + (" (main terms)" if narrow else " (products, squares)")
        print(f"| {design} | {'byte ranges' if ranges else 'one stream'} | {workers} | {wall:.2f} | {cpu:.2f} | "
              f"{a.rows / wall:,.0f} | {wall / base:.2f} |")


if __name__ == "__main__":
    main()
