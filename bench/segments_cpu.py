#!/usr/bin/env python3
"""CPU seconds of the segment work in the main job, in one process (steady on a busy machine).

usage: python bench/segments_cpu.py [--rows 1000000] [--repeats 5] [--out bench/out]

One ``greta run``-like analysis of the main job's planted file (``bench/main_job.py``'s, one
search generation) records the rows the segment work sees; then, on one core:
- collection: the statistics pass' per-batch work for segments (codes of the rows kept and the
  merges of the kept rows), on the run's first batches, scaled to the whole file;
- search and tests: ``segments.find`` on the rows the run kept (discovery sample and every
  held-out row).
Each figure is the best of ``--repeats``. Compare versions in one sitting (e.g. one with
``PYTHONPATH`` set to another checkout).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BATCHES = 8  # batches of the statistics pass timed (about 500,000 rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="bench/out")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    from main_job import data_file
    from threadpoolctl import threadpool_limits

    import greta_core.pipeline as pipeline
    from greta_cli.commands.common import load
    from greta_cli.core_integration.integration import run_analysis_pipeline
    from greta_core import segments
    from greta_core.segments.collect import empty

    path = data_file(out, a.rows)
    seen: dict = {"rows": [], "find": None}
    summarize, find = pipeline.summarize, segments.find

    def summarize_seen(df, builder, *args, segments=None, **kw):  # the batches' rows, as collected
        if segments is not None and len(seen["rows"]) < BATCHES and len(df) > 1000:
            seen["rows"].append(builder.prepare(df)[0])
            seen["collect"] = segments
        return summarize(df, builder, *args, segments=segments, **kw)

    def find_seen(*args):
        seen["find"] = args
        return find(*args)

    pipeline.summarize, pipeline.segments.find = summarize_seen, find_seen
    try:
        cfg = load(None, [f"data.path={str(path)!r}", 'data.target="y"', "hypothesis_search.seed=1",
                          "hypothesis_search.num_generations=1"], {}, None, quiet=True)
        run_analysis_pipeline(cfg)
    finally:
        pipeline.summarize, pipeline.segments.find = summarize, find
    rows, collect = seen["rows"], seen["collect"]
    parts = seen["find"][0]
    width = parts.discovery.codes.shape[1]
    per_batch = sum(len(r) for r in rows)

    def collection() -> None:
        acc = empty(width, rows[0].y.shape[1], collect.keywords["discovery_rows"], collect.keywords["holdout_rows"])
        for r in rows:
            acc = acc.merge(collect(r))

    def best(fn) -> float:
        times = []
        for _ in range(a.repeats):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return min(times)

    with threadpool_limits(1):  # as in the statistics pass
        c = best(collection) * a.rows / per_batch
    f = best(lambda: find(*seen["find"]))  # as in the confirm stage
    print(f"{a.rows:,} rows; {width} segment columns; rows kept: {len(parts.discovery.key):,} discovery, "
          f"{len(parts.holdout.key):,} held out")
    print("\n| work | CPU s (best of %d) |" % a.repeats)
    print("|---|---:|")
    print(f"| collection (codes and merges), scaled from {per_batch:,} rows | {c:.3f} |")
    print(f"| search and tests (segments.find) | {f:.3f} |")


if __name__ == "__main__":
    main()
