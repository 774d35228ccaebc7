#!/usr/bin/env python3
"""Calibration: how often does Greta confirm anything on pure noise?

usage: python bench/calibration.py [--runs 40] [--rows 4000] [--alpha 0.05]

Each run makes a fresh null data set (the planted layout, target independent of every column)
with its own seed and runs the whole analysis. The design promises that at most alpha of such
runs confirm anything.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from greta_core.datasets import write_planted_csv
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--alpha", type=float, default=0.05)
    a = ap.parse_args()
    hits, t0 = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.runs):
            path = write_planted_csv(str(Path(tmp) / f"null{i}.csv"), a.rows, "null", 1000 + i)
            doc = analyze(FileSpec(path), AnalysisParams(target="y", seed=i, alpha=a.alpha))
            found = sorted({f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]})
            if found:
                hits.append((i, found))
    rate = len(hits) / a.runs
    print("| runs | rows | alpha | runs confirming anything | rate | seconds |")
    print("|-----:|-----:|------:|-------------------------:|-----:|--------:|")
    print(f"| {a.runs} | {a.rows} | {a.alpha} | {len(hits)} | {rate:.3f} | {time.perf_counter() - t0:.0f} |")
    for i, found in hits:
        print(f"  run {i}: confirmed {found}")
    print("PASS" if rate <= a.alpha else "FAIL", f"(goal: rate <= {a.alpha})")


if __name__ == "__main__":
    main()
