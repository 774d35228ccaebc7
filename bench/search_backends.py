#!/usr/bin/env python3
"""Benchmark of distributed GA evaluation: evaluations per second for each backend.

usage: python bench/search_backends.py [--terms 200,1000,2000] [--pops 200,1000,2000,5000]
                                       [--repeats 5] [--generations 60] [--workers 2]
                                       [--no-dask] [--no-spark] [--spark-master URL]

For each number of candidate terms (statistics of random data, one column a term) and each
population size (random hypotheses of 1-5 terms), it times one population's evaluation:
locally, on a process pool, a local Dask cluster of processes and Spark (local[N] unless
--spark-master), each started once per term count (the statistics shipped once), the fastest of
--repeats after a warm-up (the least disturbed by other load). It checks every backend returns exactly the local fitness.

Then: the crossover (the smallest population where a backend evaluates faster than local),
the overheads fitted to the timings (the constants of greta_core/hypothesis_search/placement.py),
and for each cell whether ``auto`` picks the faster side over a search of --generations
(start-up included).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np


def stats_of(terms: int, rows: int = 3000, seed: int = 0) -> Any:
    from greta_core.hypothesis_search.problem import SearchStats
    from greta_core.stats.linear import Gram, TermTable
    from greta_core.stats.moments import Moments

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, terms + 1))
    x[:, -1] += x[:, :5].sum(axis=1)
    gram = Gram.from_moments(Moments.of(x), 1)
    return SearchStats(gram, TermTable.of([np.array([i]) for i in range(terms)]), 5, float(np.log10(0.05 / terms)))


def population(terms: int, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    masks = np.zeros((size, terms), dtype=bool)
    for row in masks:
        row[rng.choice(terms, size=int(rng.integers(1, 6)), replace=False)] = True
    return masks


def timed(fn: Any, masks: np.ndarray, repeats: int) -> tuple[float, Any]:
    """The fastest of ``repeats`` calls after a warm-up: the least disturbed by other load."""
    out = fn(masks)  # warm-up (and the result to compare)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(masks)
        times.append(time.perf_counter() - t)
    return float(np.min(times)), out


def start(name: str, stats: Any, workers: int, master: str | None) -> tuple[Any, float]:
    from greta_core.hypothesis_search.placement import make_evaluator

    t = time.perf_counter()
    if name == "spark":
        ev = make_evaluator("spark", stats, master or f"local[{workers}]", workers)
    else:
        ev = make_evaluator(name, stats, None, workers)
    return ev, time.perf_counter() - t


def fit(overhead: float, rows: list[tuple[float, float, float]], workers: int) -> float:
    """Seconds per MB of packed masks: median of (t_backend - t_local / workers - overhead) / MB."""
    per = [(tb - tl / workers - overhead) / mb for mb, tl, tb in rows if mb >= 0.1]
    return max(float(np.median(per)), 0.0) if per else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--terms", default="200,1000,2000")
    ap.add_argument("--pops", default="200,1000,2000,5000")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--generations", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--no-spark", action="store_true")
    ap.add_argument("--spark-master", default=None)
    a = ap.parse_args()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    from greta_core.hypothesis_search.placement import COSTS, decide

    backends = ["multiprocessing"] + ([] if a.no_dask else ["dask"]) + ([] if a.no_spark else ["spark"])
    terms_list = [int(v) for v in a.terms.split(",")]
    pops = [int(v) for v in a.pops.split(",")]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; "
          f"{a.workers} workers per backend; fastest of {a.repeats} after a warm-up")
    cells: dict[tuple[int, int], dict[str, float]] = {}
    startups: dict[str, list[float]] = {b: [] for b in backends}
    identical = True
    overhead: dict[str, list[float]] = {b: [] for b in backends}
    for m in terms_list:
        stats = stats_of(m)
        evs = {}
        for b in backends:
            evs[b], s = start(b, stats, a.workers, a.spark_master)
            startups[b].append(s)
        one = population(m, 1, seed=m)
        t_one, _ = timed(stats.score_masks, one, a.repeats)
        for b, ev in evs.items():
            overhead[b].append(timed(ev.evaluate, one, a.repeats)[0] - t_one)
        for p in pops:
            masks = population(m, p, seed=m + p)
            t_local, ref = timed(stats.score_masks, masks, a.repeats)
            cell = {"local": t_local}
            for b, ev in evs.items():
                cell[b], out = timed(ev.evaluate, masks, a.repeats)
                identical &= all(np.array_equal(x, y) for x, y in zip(out, ref))
            cells[(m, p)] = cell
            print(f"  {m} terms, pop {p}: " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in cell.items()), flush=True)
        for ev in evs.values():
            ev.close()

    names = ["local", *backends]
    print("\n| terms | population | " + " | ".join(f"{n} evals/s" for n in names) + " | fastest |")
    print("|---:|---:|" + "---:|" * len(names) + "---|")
    for (m, p), cell in cells.items():
        best = min(cell, key=cell.get)
        print(f"| {m:,} | {p:,} | " + " | ".join(f"{p / cell[n]:,.0f}" for n in names) + f" | {best} |")
    print(f"\nevery backend returned exactly the local fitness: {identical}")
    print("\nstart-up, s (stats shipped), for each term count in turn: " + "; ".join(
        f"{b} " + ", ".join(f"{v:.2f}" for v in vs) for b, vs in startups.items()))
    print("(Spark: the first start launches the JVM; later ones only a new context in it.)")

    print("\n| backend | crossover: smallest population faster than local, per term count | overhead per population s (1 mask) | per MB of masks s |")
    print("|---|---|---:|---:|")
    for b in backends:
        cross = []
        for m in terms_list:
            wins = [p for p in pops if cells[(m, p)][b] < cells[(m, p)]["local"]]
            cross.append(f"{m}: {min(wins):,}" if wins else f"{m}: none up to {max(pops):,}")
        rows = [(p * ((m + 7) // 8) / 1e6, c["local"], c[b]) for (m, p), c in cells.items()]
        c0 = float(np.median(overhead[b]))
        c1 = fit(c0, rows, min(a.workers, os.cpu_count() or 1))
        print(f"| {b} | {'; '.join(cross)} | {c0:.4f} | {c1:.4f} |")
    print("(placement.COSTS now: " + ", ".join(f"{k} {v.per_generation}/{v.per_mb}" for k, v in COSTS.items()) + ")")

    g = a.generations
    print(f"\n`auto` over a search of {g} generations (start-up included), per candidate backend:")
    print("| terms | population | candidate | local s | candidate s | faster | auto picks | right? |")
    print("|---:|---:|---|---:|---:|---|---|---|")
    right = total = 0
    addresses = {"multiprocessing": None, "dask": "tcp://127.0.0.1:8786", "spark": a.spark_master or "local[2]"}
    for (m, p), cell in cells.items():
        for b in backends:
            local_s = g * cell["local"]
            other_s = startups[b][0] + g * cell[b]
            faster = b if other_s < local_s else "local"
            d = decide(cell["local"], p, m, g - 1, addresses[b], a.workers)
            ok = d.backend == faster or abs(other_s - local_s) < 0.05 * local_s
            right += ok
            total += 1
            print(f"| {m:,} | {p:,} | {b} | {local_s:.2f} | {other_s:.2f} | {faster} | {d.backend} | {'yes' if ok else 'NO'} |")
    print(f"\nauto picked the faster side (or one within 5 %) in {right} of {total} cases")


if __name__ == "__main__":
    main()
