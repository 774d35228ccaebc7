#!/usr/bin/env python3
"""Coverage: do the 95% intervals of the sizes Greta prints contain the true sizes?

usage: python bench/coverage.py [--runs 200] [--rows 3000,60000] [--sample-rows 50000]

Data (a fresh data set and analysis seed per run): six numeric columns, x1..x3 correlated
(pairwise 0.5), x4..x6 independent; y = 1.0 x1 + 0.25 x2 + 0.12 x4 + noise whose spread grows
with |x3| (heteroskedastic, so only a robust interval can cover). Each column's printed size is
the change in y across the middle half of its values (``columns[].effect``: from, to, and the
change's 95% interval); the true change is the column's slope times (to - from). A column is
sized by the lead model on held-out rows when both tests pass, else by the main-terms model on
all rows (``columns[].evidence``); the table gives the share of intervals that contain the truth
for each, over every run and every true driver that matters (a column with no effect that
passes by chance has an interval away from its true 0 by construction: those are counted
apart, as false drivers, whose rate the tests keep at most alpha). Goal: about 0.95 for both
(the binomial noise of a few hundred intervals is about 0.01). With --rows above --sample-rows the rows are
not all in memory: the test on all rows takes its middle terms from the local copy of the rows.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze

SLOPES = {"x1": 1.0, "x2": 0.25, "x3": 0.0, "x4": 0.12, "x5": 0.0, "x6": 0.0}


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cov = np.full((3, 3), 0.5) + 0.5 * np.eye(3)
    x = np.column_stack([rng.multivariate_normal(np.zeros(3), cov, rows), rng.normal(size=(rows, 3))])
    df = pd.DataFrame(x, columns=list(SLOPES))
    df["y"] = x @ np.array(list(SLOPES.values())) + rng.normal(size=rows) * (0.5 + np.abs(df["x3"]))
    return df.round(6)


def covered(doc: dict) -> list[tuple[str, bool, bool]]:
    """(how the column was sized, whether it is a true driver, whether its interval holds the
    truth) for each column that matters."""
    out = []
    for c in doc["columns"]:
        e = c.get("effect") or {}
        if c["verdict"] != "matters" or e.get("kind") != "middle half" or c["name"] not in SLOPES:
            continue
        truth = SLOPES[c["name"]] * (e["to"] - e["from"])
        change = e["changes"][0]
        how = "lead model, held-out rows" if "held-out rows" in c["evidence"] else "main terms, all rows"
        out.append((how, SLOPES[c["name"]] != 0, change["ci_low"] <= truth <= change["ci_high"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--rows", default="3000,60000", help="comma-separated row counts")
    ap.add_argument("--sample-rows", type=int, default=50_000, help="preprocessing.sample_rows")
    a = ap.parse_args()
    print("| rows | rows in memory | sized by | true drivers' intervals | contain the truth | share | false drivers |")
    print("|---:|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (int(r) for r in a.rows.split(",")):
            seen: dict[str, list[bool]] = {}
            false: dict[str, int] = {}
            for i in range(a.runs):
                path = Path(tmp) / f"coverage_{rows}_{i}.csv"
                frame(rows, 7000 + i).to_csv(path, index=False)
                doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=i, sample_rows=a.sample_rows))
                for how, driver, ok in covered(doc):
                    seen.setdefault(how, [])
                    if driver:
                        seen[how].append(ok)
                    else:
                        false[how] = false.get(how, 0) + 1
            for how, oks in sorted(seen.items()):
                share = f"{np.mean(oks):.3f}" if oks else "-"
                print(f"| {rows:,} | {'yes' if rows < a.sample_rows else 'no'} | {how} | {len(oks)} | {sum(oks)} | "
                      f"{share} | {false.get(how, 0)} in {a.runs} runs |", flush=True)


if __name__ == "__main__":
    main()
