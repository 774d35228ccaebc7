#!/usr/bin/env python3
"""Small files: what a whole `greta run` costs when the data is small. Prints one table.

usage: python bench/small_and_wide.py [--repeats 5] [--out bench/out]

Every figure is the wall time of a fresh process (imports included), the median of
--repeats runs taken in turn (A, B, A, B, ...) so that load on the machine hits both sides
alike; compare the ratios, which come from the same run. Cases (goals from issue 11):

- small: a 500-row, 10-column CSV (8 numeric columns, a 4-level categorical, y):
  `greta run` against a script that imports statsmodels and fits one OLS of y on every
  column with its formula API (goal: <= 2.0 s on a calm machine and <= 1.5x the script);
- refusal: `greta run` on the same file with a target that is not there (goal <= 1.0 s);
- categorical: 2,000 rows with a 25-level categorical against the same file without that
  column (goal: <= 1.5x).
The "search" column says which search ran (exact: every hypothesis scored; genetic: NSGA-II)
and how many hypotheses it scored. Wide files (thousands of columns) are in bench/wide.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

BIN = Path(sys.executable).parent
OLS = """\
import sys
import pandas as pd
import statsmodels.formula.api as smf
df = pd.read_csv(sys.argv[1])
rhs = " + ".join(f"C({c})" if df[c].dtype == object else c for c in df.columns if c != "y")
print(smf.ols("y ~ " + rhs, data=df).fit().rsquared)
"""


def small_csv(path: Path, rows: int = 500, seed: int = 1) -> Path:
    """y = x0 - 0.8 x1 + 0.6 x2*x3 + 0.5 [group = g1] + noise; x4..x7 are noise."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 8))
    g = rng.integers(0, 4, rows)
    df = pd.DataFrame(np.round(x, 4), columns=[f"x{i}" for i in range(8)])
    df["group"] = np.array(["g0", "g1", "g2", "g3"])[g]
    df["y"] = np.round(x[:, 0] - 0.8 * x[:, 1] + 0.6 * x[:, 2] * x[:, 3] + 0.5 * (g == 1)
                       + rng.normal(0, 1.0, rows), 4)
    df.to_csv(path, index=False)
    return path


def categorical_csvs(folder: Path, rows: int = 2000, levels: int = 25, seed: int = 2) -> tuple[Path, Path]:
    """10 numeric columns and y = x0 - x1 + 0.8 x2*x3 + a level effect + noise; the same file
    without the categorical column."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 10))
    g = rng.integers(0, levels, rows)
    df = pd.DataFrame(np.round(x, 4), columns=[f"x{i}" for i in range(10)])
    df["group"] = np.array([f"L{i:02d}" for i in range(levels)])[g]
    df["y"] = np.round(x[:, 0] - x[:, 1] + 0.8 * x[:, 2] * x[:, 3] + rng.normal(0, 0.7, levels)[g]
                       + rng.normal(0, 1.5, rows), 4)
    with_cat, without = folder / f"cat{levels}_{rows}.csv", folder / f"nocat_{rows}.csv"
    df.to_csv(with_cat, index=False)
    df.drop(columns="group").to_csv(without, index=False)
    return with_cat, without


def timed(cmd: list[str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-500:]}")
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def greta(data: Path, out: Path, target: str = "y") -> list[str]:
    return [str(BIN / "greta"), "run", "--data", str(data), "--target", target, "--output", str(out), "--quiet"]


def search_of(results: Path) -> str:
    doc = json.loads(results.read_text())
    s = doc["metrics"].get("search", {})
    return f"{s.get('strategy', 'genetic')}, {doc['metrics']['evaluations']:,} hypotheses"


Timing = tuple[float, float]  # median wall and CPU seconds


def median(runs: list[tuple[float, float]]) -> Timing:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def pair(a: list[str], b: list[str], repeats: int) -> tuple[Timing, Timing]:
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(timed(a))
        tb.append(timed(b))
    return median(ta), median(tb)


def show(t: Timing) -> str:
    return f"{t[0]:.2f} s ({t[1]:.2f} s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench/out")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python "
          f"{sys.version.split()[0]}; median of {a.repeats} fresh processes each, taken in turn")
    small = small_csv(out / "small_500x10.csv")
    script = out / "ols_formula.py"
    script.write_text(OLS)
    res = out / "small.results.json"
    g, s = pair(greta(small, res), [sys.executable, str(script), str(small)], a.repeats)
    rows = [("500 rows × 10 columns: `greta run`", g, search_of(res), "statsmodels formula OLS script", s)]
    refused = greta(small, out / "refused.json", target="Y")
    r = median([timed(refused, ok=(2,)) for _ in range(a.repeats)])
    with_cat, without = categorical_csvs(out)
    rc, rn = out / "cat.results.json", out / "nocat.results.json"
    c, n = pair(greta(with_cat, rc), greta(without, rn), a.repeats)
    rows.append(("2,000 rows, 10 numeric + a 25-level categorical", c, search_of(rc),
                 f"the same without the categorical ({search_of(rn)})", n))
    print("\nwall time, median (CPU time, user + system, in brackets); ratio of the wall times")
    print("\n| case | `greta run` | search | against | its time | ratio |")
    print("|---|---:|---|---|---:|---:|")
    for name, t, search, other, t2 in rows:
        print(f"| {name} | {show(t)} | {search} | {other} | {show(t2)} | {t[0] / t2[0]:.2f} |")
    print(f"| 500 rows × 10 columns, target not in the file: refused (exit 2) | {show(r)} | - | | | |")


if __name__ == "__main__":
    main()
