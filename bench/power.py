#!/usr/bin/env python3
"""Power: how many rows does Greta need to confirm a column with a small real effect, against
an OLS fit on all rows with a Bonferroni correction over the candidate terms?

usage: python bench/power.py [--partial-r2 0.001 0.0005] [--seeds 20] [--noise 8]
                             [--factors 10 14 18 24 32]

Data per seed: y = z + b·x + e (z, x, e standard normal; b set so that x's partial R² is f),
next to --noise standard-normal columns that do nothing. For each f and each row count n =
factor / f, Greta runs with its defaults (seed = the data seed) and "finds x" when x's verdict
is "matters"; the reference fits OLS of y on every column on the same rows and finds x when its
two-sided p-value is below alpha / m, m the number of candidate terms Greta considers (each
column, its square and every product of two columns: 65 with 10 columns). A run "names noise"
when Greta calls a noise column a driver. The rows for 80% power are interpolated (linearly in
log n) between the grid's row counts; the ratio is Greta's over the reference's.
Goal: the ratio at most 1.3 at every f, and at most alpha (5%) of all runs naming noise.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05


def data(rows: int, f: float, noise: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    b = math.sqrt(f / (1.0 - f))
    df = pd.DataFrame({"z": rng.normal(size=rows), "x": rng.normal(size=rows)})
    for i in range(noise):
        df[f"n{i}"] = rng.normal(size=rows)
    df["y"] = df["z"] + b * df["x"] + rng.normal(size=rows)
    return df


def reference_finds_x(df: pd.DataFrame, terms: int) -> bool:
    """OLS of y on every column (plain, as the textbook reference), x's t-test at alpha / terms."""
    x = np.column_stack([np.ones(len(df)), df.drop(columns="y").to_numpy()])
    beta, *_ = np.linalg.lstsq(x, df["y"].to_numpy(), rcond=None)
    resid = df["y"].to_numpy() - x @ beta
    dfe = len(df) - x.shape[1]
    cov = np.linalg.inv(x.T @ x) * (resid @ resid / dfe)
    k = list(df.drop(columns="y").columns).index("x") + 1
    p = 2 * stats.t.sf(abs(beta[k] / math.sqrt(cov[k, k])), dfe)
    return bool(p < ALPHA / terms)


def rows_for(power: dict[int, float], goal: float = 0.8) -> float:
    """The row count at which ``power`` (by row count) reaches ``goal``, interpolated in log n."""
    ns = sorted(power)
    for a, b in zip(ns, ns[1:]):
        if power[a] < goal <= power[b]:
            t = (goal - power[a]) / (power[b] - power[a])
            return math.exp(math.log(a) + t * (math.log(b) - math.log(a)))
    if power[ns[0]] >= goal:
        return float(ns[0])
    return float("inf")


def main() -> None:
    import greta

    ap = argparse.ArgumentParser(description="Rows Greta needs for 80% power, against OLS + Bonferroni.")
    ap.add_argument("--partial-r2", type=float, nargs="+", default=[0.001, 0.0005])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--noise", type=int, default=8)
    ap.add_argument("--factors", type=float, nargs="+", default=[10, 14, 18, 24, 32])
    a = ap.parse_args()
    cols = a.noise + 2
    terms = cols + cols + cols * (cols - 1) // 2
    print("| partial R² | rows | Greta finds x | OLS + Bonferroni finds x | runs naming noise | seconds |")
    print("|---:|---:|---:|---:|---:|---:|")
    verdicts, summary, noisy, runs = [], [], 0, 0
    for f in a.partial_r2:
        greta_power, ref_power = {}, {}
        for factor in a.factors:
            n = int(round(factor / f))
            t0, found, ref, noise = time.perf_counter(), 0, 0, 0
            for seed in range(a.seeds):
                df = data(n, f, a.noise, 500 + seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    doc = greta.analyze(df, target="y", seed=seed).to_dict()
                named = {c["name"] for c in doc["columns"] if c["verdict"] == "matters"}
                found += "x" in named
                noise += bool(named - {"x", "z"})
                ref += reference_finds_x(df, terms)
            greta_power[n], ref_power[n] = found / a.seeds, ref / a.seeds
            noisy += noise
            runs += a.seeds
            print(f"| {f:g} | {n:,} | {found}/{a.seeds} | {ref}/{a.seeds} | {noise} | {time.perf_counter() - t0:.0f} |",
                  flush=True)
        g, r = rows_for(greta_power), rows_for(ref_power)
        ratio = g / r if math.isfinite(g) and math.isfinite(r) else float("inf")
        summary.append((f, g, r, ratio))
        verdicts.append(ratio <= 1.3)
    print(f"\n| partial R² | rows for 80% power: Greta | OLS + Bonferroni (m = {terms}) | ratio |")
    print("|---:|---:|---:|---:|")
    for f, g, r, ratio in summary:
        print(f"| {f:g} | {g:,.0f} | {r:,.0f} | {ratio:.2f} |")
    print(f"\nruns naming a noise column: {noisy} of {runs}")
    verdicts.append(noisy <= ALPHA * runs)
    print("PASS" if all(verdicts) else "FAIL", "(goal: ratio <= 1.3 at every partial R², at most 5% of runs naming noise)")


if __name__ == "__main__":
    main()
