#!/usr/bin/env python3
"""Search quality: how often the GA recovers the planted truth vs forward stepwise selection.

usage: python bench/search_quality.py [--seeds 20] [--rows 1500,4000] [--features 200]
                                      [--budget 5] [--islands 3] [--first-seed 100] [--max-terms 8]
                                      [--patience default|none|N]

Data: the planted layout (greta_core.datasets) with --features numeric columns, two
categoricals and y = 2 x1 - 1.5 x3 + x5*x7 + 0.8 [cat_a = c2] + noise (sd 2): four true terms
(five true features) among the pipeline's candidates (main effects, then the engineered
terms - interactions, squares, logs - screened to preprocessing.max_design_columns), built by
the pipeline's own statistics pass on the discovery half of the rows.

Both methods see the same discovery statistics and the same rule for a term (its partial
test at alpha / number of candidates), hypotheses of at most --max-terms terms (default 8, the
analysis' default: the truth has 6, so at 5 nothing can recover it) and get the same
wall-clock budget (--budget s):
- GA: GeneticAlgorithmOptimizer with the default settings (pop 100, 60 generations, the
  analysis' default early stop; --patience none turns it off, --patience N stops once the
  front has not changed for N generations), stepped until it stops or the budget is spent; its
  answer is the feasible hypothesis of its front with the largest R^2 (every term passes the
  rule, as much explained as possible: the rule stepwise follows too); "GA (most significant)"
  answers with the front's most significant hypothesis instead (more terms cost degrees of
  freedom there);
- GA, no early stop: one run with patience off and unlimited generations, stopped by the budget;
- GA islands: independent restarts with other seeds, one after the other within the same
  budget, their feasible hypotheses pooled into one front;
- forward stepwise: from no term, add the term whose model is most significant, as long as
  every term of the model passes the term rule, up to max_terms terms (a product or square brings its main terms).
"Truth on the front": the true set is among the GA front's hypotheses, all of which the
pipeline re-tests on the held-out rows.
"Recovered" = the answer is exactly the true set of terms; "has every true term" allows
extra terms. Prints one line per data set and the table of rates.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

TRUE_TERMS = ("x1", "x3", "x5", "x7", "x5*x7", "cat_a")  # hierarchical: x5*x7 with x5 and x7


def statistics(rows: int, features: int, seed: int, folder: Path) -> tuple[Any, list[np.ndarray], list[str], Any]:
    from greta_core.backends import open_backend
    from greta_core.datasets import write_planted_csv
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import make_plan, statistics_pass
    from greta_core.plan.terms import parents
    from greta_core.stats.centring import recentre
    from greta_core.stats.linear import Gram

    path = write_planted_csv(str(folder / f"p{seed}.csv"), rows, "regression", seed, features)
    params = AnalysisParams(target="y", seed=seed)
    backend = open_backend("pandas", FileSpec(path))
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    os.remove(path)
    summary, _ = recentre(summary, layout, plan.target.width)
    gram = Gram.from_moments(summary.discovery, plan.target.width)
    return gram, [np.asarray(c) for c in layout.columns], [t.name for t in layout.terms], parents(layout.terms)


def front_of(feasible: dict[tuple[int, ...], Any]) -> list[Any]:
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    items = list(feasible.values())
    if not items:
        return []
    idx = NonDominatedSorting().do(np.array([s.objectives for s in items]), only_non_dominated_front=True)
    return [items[i] for i in idx]


def ga(gram: Any, cols: list[np.ndarray], needs: Any, seed: int, budget: float, restarts: int = 1,
       **settings: Any) -> dict[str, Any]:
    """The GA with default settings (or ``settings``); ``restarts`` > 1: independent runs
    (islands) with other seeds, one after the other while the budget lasts, their feasible
    hypotheses pooled."""
    from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer

    t = time.perf_counter()
    feasible: dict[tuple[int, ...], Any] = {}
    runs = gens = 0
    opt = None
    for r in range(restarts):
        if time.perf_counter() - t >= budget:
            break
        opt = GeneticAlgorithmOptimizer(gram, cols, seed=seed + 1000 * r, distributed_backend="local",
                                        parents=needs, **settings)
        while time.perf_counter() - t < budget and opt.step():
            pass
        feasible.update(opt.problem.feasible)
        runs, gens = runs + 1, gens + opt.generation
    front = front_of(feasible)
    out = {"seconds": time.perf_counter() - t, "opt": opt, "runs": runs, "generations": gens,
           "front": {tuple(sorted(s.terms)) for s in front}, "sig": (), "r2": ()}
    if front:
        out["sig"] = tuple(sorted(min(front, key=lambda s: s.objectives[0]).terms))
        out["r2"] = tuple(sorted(min(front, key=lambda s: (s.objectives[1], len(s.terms))).terms))
    return out


def stepwise(opt: Any, budget: float) -> tuple[tuple[int, ...], float]:
    """Forward selection on the same statistics and term rule as the GA: each step adds the term
    (with the main terms it needs) whose model is most significant."""
    stats, needs = opt.problem.stats, opt.problem.parents or ()
    m = len(stats.table.columns)
    t = time.perf_counter()
    chosen: list[int] = []
    while len(chosen) < stats.max_terms and time.perf_counter() - t < budget:
        steps = [sorted(set(chosen) | {c} | set(needs[c] if needs else ())) for c in np.setdiff1d(np.arange(m), chosen)]
        steps = [s for s in steps if len(s) <= stats.max_terms]
        if not steps:
            break
        terms = np.full((len(steps), stats.max_terms), -1, dtype=np.int64)
        for i, s in enumerate(steps):
            terms[i, : len(s)] = s
        f, g, _ = stats.objectives(terms)
        ok = g <= 0
        if not ok.any():
            break
        chosen = steps[int(np.flatnonzero(ok)[np.argmin(f[ok, 0])])]
    return tuple(sorted(chosen)), time.perf_counter() - t


def patience_setting(value: str) -> dict[str, Any]:
    """The GA's ``patience`` for --patience: the analysis' default, None (off) or a number."""
    if value == "default":
        from greta_core.params import AnalysisParams

        return {"patience": AnalysisParams(target="y").patience}
    return {"patience": None if value == "none" else int(value)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--rows", default="1500,4000")
    ap.add_argument("--features", type=int, default=200)
    ap.add_argument("--budget", type=float, default=5.0)
    ap.add_argument("--islands", type=int, default=3)
    ap.add_argument("--max-terms", type=int, default=8)
    ap.add_argument("--patience", default="default", help="early stop of the GA and the islands: 'default' "
                    "(the analysis' default), 'none' (every generation) or a number of generations")
    a = ap.parse_args()
    stop = patience_setting(a.patience)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; "
          f"{a.features} numeric columns + 2 categoricals; true terms {', '.join(TRUE_TERMS)}; budget {a.budget:g} s; "
          f"at most {a.max_terms} terms; patience {stop['patience']}")
    table = []
    methods = ("ga", "ga_sig", "long", "isl", "sw")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in [int(r) for r in a.rows.split(",")]:
            res: dict[str, list[Any]] = {k: [] for k in ("screened", "m", "front", "isl_front", "long_front", "ga_s",
                                                         "isl_s", "long_s", "sw_s",
                                                         *methods, *(f"{k}_all" for k in methods))}
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                gram, cols, names, needs = statistics(rows, a.features, seed, Path(tmp))
                truth = tuple(sorted(names.index(t) for t in TRUE_TERMS if t in names))
                screened = len(truth) == len(TRUE_TERMS)
                one = ga(gram, cols, needs, seed, a.budget, max_terms=a.max_terms, **stop)
                isl = ga(gram, cols, needs, seed, a.budget, restarts=a.islands, max_terms=a.max_terms, **stop)
                long = ga(gram, cols, needs, seed, a.budget, num_generations=100_000, patience=None,
                          max_terms=a.max_terms)
                sw, sw_s = stepwise(one["opt"], a.budget)
                answers = {"ga": one["r2"], "ga_sig": one["sig"], "long": long["r2"], "isl": isl["r2"], "sw": sw}
                res["screened"].append(screened)
                res["m"].append(len(names))
                res["front"].append(screened and truth in one["front"])
                res["isl_front"].append(screened and truth in isl["front"])
                res["long_front"].append(screened and truth in long["front"])
                res["long_s"].append(long["seconds"])
                res["ga_s"].append(one["seconds"])
                res["isl_s"].append(isl["seconds"])
                res["sw_s"].append(sw_s)
                for k, ans in answers.items():
                    res[k].append(screened and ans == truth)
                    res[f"{k}_all"].append(screened and set(truth) <= set(ans))
                show = lambda ts: "{" + ", ".join(names[i] for i in ts) + "}"  # noqa: E731
                print(f"  rows {rows} seed {seed}: GA {show(one['r2'])} ({one['generations']} gen, "
                      f"{one['seconds']:.1f} s); {isl['runs']} islands {show(isl['r2'])} ({isl['seconds']:.1f} s); "
                      f"stepwise {show(sw)} ({sw_s:.2f} s); truth on GA front {res['front'][-1]}", flush=True)
            table.append((rows, res))
    n = a.seeds
    labels = {"ga": "GA", "ga_sig": "GA (most significant)", "long": "GA, no early stop (whole budget)",
              "isl": f"GA, {a.islands} islands", "sw": "forward stepwise"}
    print("\n| rows (discovery) | candidates | method | recovers the truth exactly | answer has every true term "
          "| truth on the front | mean s |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for rows, r in table:
        fronts = {"ga": r["front"], "ga_sig": r["front"], "long": r["long_front"], "isl": r["isl_front"], "sw": None}
        secs = {"ga": r["ga_s"], "ga_sig": r["ga_s"], "long": r["long_s"], "isl": r["isl_s"], "sw": r["sw_s"]}
        for k in methods:
            front = f"{sum(fronts[k])}/{n}" if fronts[k] is not None else "-"
            print(f"| {rows:,} ({rows // 2:,}) | {int(np.mean(r['m']))} | {labels[k]} | {sum(r[k])}/{n} | "
                  f"{sum(r[k + '_all'])}/{n} | {front} | {np.mean(secs[k]):.2f} |")
        ga_only = sum(g and not s for g, s in zip(r["ga"], r["sw"]))
        sw_only = sum(s and not g for g, s in zip(r["ga"], r["sw"]))
        print(f"| | | GA only / stepwise only (exact) | {ga_only} / {sw_only} | | | |")
    missed = sum(n - sum(r["screened"]) for _, r in table)
    if missed:
        print(f"\n{missed} data set(s) lost a true term in the screening of engineered terms (counted as not recovered).")

if __name__ == "__main__":
    main()
