#!/usr/bin/env python3
"""Calibration: how often does Greta confirm anything on data where nothing drives the target?

usage: python bench/calibration.py [--case null|hetero|both] [--runs 40] [--hetero-runs 20]
                                   [--rows 4000] [--hetero-rows 10000] [--alpha 0.05]

- null: a fresh planted layout per run (20 numeric columns, two categoricals), the target
  independent of every column. Goal: at most alpha of the runs confirm anything.
- hetero: five standard-normal columns and a target with mean 0 whose spread depends on one of
  them (sd = exp(x1)): nothing drives its *mean*, but classical tests see curves and interactions
  in x1. Goal: at most 1 of 20 runs confirms anything (Greta's holdout tests are HC3-robust).

Each run has its own data seed and analysis seed. Prints one table row per case.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from greta_core.datasets import write_planted_csv
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze


def hetero_csv(path: str, rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(1, 6)})
    df["y"] = rng.normal(size=rows) * np.exp(df["x1"])
    df.to_csv(path, index=False)
    return path


def run_case(case: str, runs: int, rows: int, alpha: float, tmp: str) -> tuple[list, float]:
    hits, t0 = [], time.perf_counter()
    for i in range(runs):
        name = str(Path(tmp) / f"{case}{i}.csv")
        path = write_planted_csv(name, rows, "null", 1000 + i) if case == "null" else hetero_csv(name, rows, 2000 + i)
        doc = analyze(FileSpec(path), AnalysisParams(target="y", seed=i, alpha=alpha))
        found = sorted({f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]})
        if found:
            hits.append((i, found))
    return hits, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--case", choices=("null", "hetero", "both"), default="both")
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--hetero-runs", type=int, default=20)
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--hetero-rows", type=int, default=10_000)
    ap.add_argument("--alpha", type=float, default=0.05)
    a = ap.parse_args()
    cases = [("null", a.runs, a.rows, a.alpha * a.runs), ("hetero", a.hetero_runs, a.hetero_rows, 1)]
    cases = [c for c in cases if a.case in (c[0], "both")]
    print("| case | runs | rows | alpha | runs confirming anything | rate | goal | seconds |")
    print("|---|-----:|-----:|------:|-------------------------:|-----:|---|--------:|")
    verdicts, details = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for case, runs, rows, most in cases:
            hits, secs = run_case(case, runs, rows, a.alpha, tmp)
            print(f"| {case} | {runs} | {rows} | {a.alpha} | {len(hits)} | {len(hits) / runs:.3f} | "
                  f"<= {most:g} | {secs:.0f} |")
            verdicts.append(len(hits) <= most)
            details += [f"  {case} run {i}: confirmed {found}" for i, found in hits]
    print("\n".join(details))
    print("PASS" if all(verdicts) else "FAIL")


if __name__ == "__main__":
    main()
