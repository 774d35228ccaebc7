#!/usr/bin/env python3
"""Benchmark of the main job. Prints a table; compare figures as ratios within one run.

usage: python bench/main_job.py [--rows 1000000] [--big-rows 5000000] [--small-rows 100000]
                                [--skip-big] [--out bench/out]

- end to end: `greta run` (a fresh process, imports included) against `pandas.read_csv` of the
  same file (goal: Greta <= 1.5x the read at 1M rows, <= 1x at 5M), in wall and in CPU seconds,
  and where greta's CPU goes (stages);
- search stage time at --small-rows vs --rows (goal: about equal; the search never touches rows);
- hypothesis evaluations per second on one core, hypotheses of 1-5 terms (goal >= 100,000);
- peak memory at --rows vs --big-rows (goal: flat, <= 1.2x);
- the run at --rows with segments on against off (goal: <= 1.2x).
Data: the planted layout (20 numeric columns, two categoricals, y), about 185 bytes a row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def data_file(out: Path, rows: int) -> Path:
    path = out / f"planted_{rows}.csv"
    if not path.exists():
        from greta_core.datasets import write_planted_csv

        tmp = path.with_suffix(".tmp")
        write_planted_csv(str(tmp), rows, "regression", 1)
        tmp.rename(path)
    return path


def read_csv_seconds(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``pandas.read_csv`` of the file (in a fresh process)."""
    code = ("import time, pandas as pd; t, c = time.perf_counter(), time.process_time(); "
            "pd.read_csv(%r); print(time.perf_counter() - t, time.process_time() - c)" % str(path))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    wall, cpu = out.split()
    return float(wall), float(cpu)


def greta_run(path: Path, out: Path, *extra: str) -> tuple[float, float, dict]:
    """Wall and CPU seconds of the whole ``greta run`` process (imports included), and its results."""
    results = out / f"{path.stem}.results.json"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([str(BIN / "greta"), "run", "--data", str(path), "--target", "y", "--seed", "1",
                    "--output", str(results), "--quiet", *extra], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, json.loads(results.read_text())


def evaluations_per_second(pop: int, terms: int = 230) -> float:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from greta_core.stats.linear import Gram, TermTable, evaluate_terms
    from greta_core.stats.moments import Moments

    rng = np.random.default_rng(0)
    g = Gram.from_moments(Moments.of(rng.standard_normal((5000, terms + 1))), 1)
    table = TermTable.of([np.array([i]) for i in range(terms)])
    hyp = np.full((pop, 5), -1)
    for i in range(pop):
        k = rng.integers(1, 6)
        hyp[i, :k] = rng.choice(terms, k, replace=False)
    with threadpool_limits(1):
        evaluate_terms(g, table, hyp)
        t, n = time.perf_counter(), 0
        while time.perf_counter() - t < 2.0:
            evaluate_terms(g, table, hyp)
            n += pop
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small-rows", type=int, default=100_000)
    ap.add_argument("--big-rows", type=int, default=5_000_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--out", default="bench/out")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; "
          f"load average at the start: {os.getloadavg()[0]:.1f}")
    runs, runs_cpu = {}, {}
    for rows in [a.small_rows, a.rows] + ([] if a.skip_big else [a.big_rows]):
        path = data_file(out, rows)
        read, read_cpu = read_csv_seconds(path)
        wall, cpu, res = greta_run(path, out)
        runs[rows] = (read, wall, res)
        runs_cpu[rows] = (read_cpu, cpu)
    print("\n| rows | file MB | pandas.read_csv s | greta run s | ratio | statistics s | search s | "
          "search ms/generation | rows/s | peak MB | confirmed features |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for rows, (read, wall, res) in runs.items():
        m = res["metrics"]
        feats = sorted({f for h in res["hypotheses"] if h["confirmed"] for f in h["features"]})
        mb = (out / f"planted_{rows}.csv").stat().st_size / 1e6
        print(f"| {rows:,} | {mb:,.0f} | {read:.2f} | {wall:.2f} | {wall / read:.2f} | "
              f"{m['stages']['statistics']['seconds']:.2f} | {m['stages']['search']['seconds']:.2f} | "
              f"{1000 * m['stages']['search']['seconds'] / max(m['search_generations'], 1):.0f} | "
              f"{m['rows_per_second']:,.0f} | {m['peak_memory_mb']:,.0f} | {', '.join(feats)} |")
    print("\nWhere the CPU goes (seconds of CPU, all threads; on a busy machine wall times stretch, "
          "CPU times much less):\n")
    print("| rows | pandas.read_csv | greta run | ratio | ingest | statistics | search | confirm | "
          "rest (start-up, imports, output) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rows, (read_cpu, cpu) in runs_cpu.items():
        st = runs[rows][2]["metrics"]["stages"]
        stages = [st[k]["cpu_seconds"] for k in ("ingest", "statistics", "search", "confirm")]
        print(f"| {rows:,} | {read_cpu:.2f} | {cpu:.2f} | {cpu / read_cpu:.2f} | "
              + " | ".join(f"{v:.2f}" for v in stages) + f" | {cpu - sum(stages):.2f} |")
    def per_gen(rows: int) -> float:
        m = runs[rows][2]["metrics"]
        return m["stages"]["search"]["seconds"] / max(m["search_generations"], 1)

    print(f"\nsearch time per generation, {a.rows:,} / {a.small_rows:,} rows: "
          f"{per_gen(a.rows) / per_gen(a.small_rows):.2f} (goal about 1)")
    read, wall, _ = runs[a.rows]
    print(f"greta run / pandas.read_csv at {a.rows:,} rows: {wall / read:.2f} (goal <= 1.5)")
    off_wall, off_cpu, _ = greta_run(data_file(out, a.rows), out, "--set", "segments.enabled=false")
    print(f"greta run at {a.rows:,} rows, segments on / off: {wall / off_wall:.2f} wall ({wall:.1f} / "
          f"{off_wall:.1f} s), {runs_cpu[a.rows][1] / off_cpu:.2f} CPU (goal <= 1.2; bench/segments.py "
          "compares them with pysubgroup)")
    if not a.skip_big:
        ratio = runs[a.big_rows][2]["metrics"]["peak_memory_mb"] / runs[a.rows][2]["metrics"]["peak_memory_mb"]
        print(f"peak memory {a.big_rows:,} / {a.rows:,} rows: {ratio:.2f} (goal <= 1.2)")
    print("\n| population | evaluations/s on one core (1-5 terms, 230 candidates) |")
    print("|---:|---:|")
    for pop in (100, 1000, 5000):
        print(f"| {pop:,} | {evaluations_per_second(pop):,.0f} |")


if __name__ == "__main__":
    main()
