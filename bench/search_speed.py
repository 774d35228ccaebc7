#!/usr/bin/env python3
"""Search speed: the genetic search of the main job's data, timed on its own.

usage: python bench/search_speed.py [--rows 1000000] [--repeats 3] [--seed 1] [--out bench/out]
                                    [--patience N] [--profile FILE]

Data: the planted layout of bench/main_job.py (20 numeric columns, two categoricals, y; the
same file), analysed with `greta run`'s defaults (seed 1, at most 5 terms): 232 candidate
terms, so the search is genetic. The statistics pass runs once; then the search runs
--repeats times in this process (pymoo already imported) and prints its wall and CPU seconds
(best of the repeats), generations, evaluations and a fingerprint of its front: two versions
of the search that give the same answer print the same fingerprint. --profile writes a
cProfile of one more run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))


def discovery(path: Path, seed: int) -> tuple[Any, Any, Any]:
    """The parameters of `greta run --data path --target y --seed seed`, and its discovery statistics."""
    from greta_cli.config.loading import config_from_dict
    from greta_cli.core_integration.params import analysis_params
    from greta_core.backends import open_backend
    from greta_core.ingestion.readers import FileSpec
    from greta_core.pipeline import make_plan, planning_rows, statistics_pass
    from greta_core.stats.centring import recentre
    from greta_core.stats.linear import Gram

    params = analysis_params(config_from_dict({"data": {"path": str(path), "target": "y"},
                                               "hypothesis_search": {"seed": seed}}))
    backend = open_backend(params.backend, FileSpec(str(path)), params.workers, params.extra)
    plan = make_plan(backend.sample(planning_rows(params, len(backend.columns()))), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    summary, _ = recentre(summary, layout, plan.target.width)
    return params, layout, Gram.from_moments(summary.discovery, plan.target.width)


def search(params: Any, layout: Any, gram: Any, patience: int | None) -> Any:
    from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer
    from greta_core.plan.terms import parents

    opt = GeneticAlgorithmOptimizer(gram, layout.columns, max_terms=params.max_terms, pop_size=params.pop_size,
                                    num_generations=params.num_generations, cx_prob=params.cx_prob,
                                    mut_prob=params.mut_prob, alpha=params.alpha, seed=params.seed,
                                    patience=patience, distributed_backend="local", parents=parents(layout.terms))
    return opt.run()


def fingerprint(found: Any) -> str:
    text = repr([(s.terms, [float(f"{v:.10g}") for v in s.objectives]) for s in found.front])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--patience", type=int, default=None, help="stop after this many generations without "
                    "a change of the front (default: the search's own default)")
    ap.add_argument("--profile", default=None)
    ap.add_argument("--out", default="bench/out")
    a = ap.parse_args()
    from main_job import data_file
    from threadpoolctl import threadpool_limits

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    params, layout, gram = discovery(data_file(out, a.rows), a.seed)
    patience = a.patience if a.patience is not None else params.patience
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {sys.version.split()[0]}; "
          f"{len(layout.columns)} candidate terms, {gram.q} design columns; seed {a.seed}; patience {patience}")
    runs = []
    with threadpool_limits(1):
        search(params, layout, gram, patience)  # imports, caches
        for _ in range(a.repeats):
            t, c = time.perf_counter(), time.process_time()
            found = search(params, layout, gram, patience)
            runs.append((time.perf_counter() - t, time.process_time() - c, found))
        if a.profile:
            import cProfile

            cProfile.runctx("search(params, layout, gram, patience)", globals(), locals(), a.profile)
    wall, cpu, found = min(runs, key=lambda r: r[1])
    print("\n| search s (wall) | search s (CPU) | generations | evaluations | ms/generation | front | fingerprint |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    print(f"| {wall:.3f} | {cpu:.3f} | {found.generations} | {found.evaluations:,} | "
          f"{1000 * cpu / max(found.generations, 1):.1f} | {len(found.front)} | {fingerprint(found)} |")
    print("\nfront: " + "; ".join("{" + ", ".join(layout.terms[i].name for i in s.terms) + "}" for s in found.front))


if __name__ == "__main__":
    main()
