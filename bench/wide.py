#!/usr/bin/env python3
"""Wide files: `greta run` on planted data with thousands of columns. Prints a table.

usage: python bench/wide.py [--columns 1000,10000] [--rows 500] [--seeds 1] [--out bench/out]
                            [--set KEY=VALUE ...]

Data: greta_core.datasets' planted layout with --columns numeric columns x0.. (standard normal,
2% missing in x2), cat_a (5 levels), cat_b (50 levels) and y = 2 x1 - 1.5 x3 + x5*x7 +
0.8 [cat_a = c2] + noise (sd 2). The candidate terms (columns, squares, products: 50 million
for 10,000 columns) are screened on the discovery rows within preprocessing.screen_memory_mb.

Each run is a fresh `greta run` process, exactly as a user types it. Measured: wall time, CPU
time (user + system, which a busy machine inflates less than wall time), the peak resident
memory of the process tree (sampled every 20 ms with psutil, and the kernel's peak of the
largest process), Greta's own stage times, what the screening note says, and which planted
features were confirmed ("found") and which confirmed columns are noise ("false").
Goals (issue 11): 10,000 columns x 500 rows within 60 s and 2 GB; 1,000 columns within 10 s.
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
PLANTED = ("x1", "x3", "x5", "x7", "cat_a")


def data_file(out: Path, columns: int, rows: int) -> Path:
    path = out / f"wide_{columns}x{rows}.csv"
    if not path.exists():
        from greta_core.datasets import write_planted_csv

        tmp = path.with_suffix(".tmp")
        write_planted_csv(str(tmp), rows, "regression", 1, columns)
        tmp.rename(path)
    return path


def run(path: Path, seed: int, out: Path, sets: list[str]) -> dict:
    """One `greta run`: wall and CPU seconds, peak memory of the process tree, the results."""
    import psutil

    results = out / f"{path.stem}.seed{seed}.json"
    cmd = [str(BIN / "greta"), "run", "--data", str(path), "--target", "y", "--seed", str(seed),
           "--output", str(results), "--quiet"] + [a for s in sets for a in ("--set", s)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    top, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [top, *top.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"greta run failed with exit status {proc.returncode}: {' '.join(cmd)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "tree_mb": peak / 2**20, "maxrss_mb": after.ru_maxrss / 1024,
            "doc": json.loads(results.read_text())}


def found(doc: dict) -> tuple[list[str], list[str], bool]:
    """Planted features confirmed, confirmed columns that are noise, and whether the planted
    product x5*x7 is in the lead model."""
    matters = [c["name"] for c in doc["columns"] if c["verdict"] == "matters"]
    lead = next((h for h in doc["hypotheses"] if h["role"] == "lead"), None)
    return ([f for f in PLANTED if f in matters], [f for f in matters if f not in PLANTED],
            bool(lead and "x5*x7" in lead["terms"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--columns", default="1000,10000")
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--seeds", default="1", help="comma-separated seeds of the analysis")
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--set", action="append", default=[], dest="sets", help="passed on to greta run")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; "
          f"python {sys.version.split()[0]}")
    rows = []
    for columns in (int(c) for c in a.columns.split(",")):
        path = data_file(out, columns, a.rows)
        for seed in (int(s) for s in a.seeds.split(",")):
            r = run(path, seed, out, a.sets)
            rows.append((columns, seed, path, r))
            print(f"  {columns:,} columns, seed {seed}: {r['wall']:.1f} s", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end\n")
    print("| columns x rows | file MB | seed | candidate terms screened | kept | discovery rows | "
          "wall s | CPU s | peak MB (tree) | ingest s | statistics s | search s | planted found | "
          "x5*x7 | false |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for columns, seed, path, r in rows:
        doc = r["doc"]
        sc = doc["data"].get("screening") or {}
        st = doc["metrics"]["stages"]
        hit, false, product = found(doc)
        print(f"| {columns:,} x {a.rows:,} | {path.stat().st_size / 1e6:.0f} | {seed} | "
              f"{sc.get('candidate_terms', 0):,} | {sc.get('kept_terms', 0):,} | {sc.get('discovery_rows', 0):,} | "
              f"{r['wall']:.1f} | {r['cpu']:.1f} | {max(r['tree_mb'], r['maxrss_mb']):,.0f} | "
              f"{st['ingest']['seconds']:.1f} | {st['statistics']['seconds']:.1f} | {st['search']['seconds']:.1f} | "
              f"{', '.join(hit) or 'none'} | {'yes' if product else 'no'} | {', '.join(false) or '-'} |")
    print("\nThe screening note of each run:")
    for columns, seed, _, r in rows:
        note = next((n for n in r["doc"]["notes"] if "candidate terms were screened" in n), "(no screening)")
        print(f"- {columns:,} columns, seed {seed}: {note}")


if __name__ == "__main__":
    main()
