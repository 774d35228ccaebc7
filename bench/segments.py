#!/usr/bin/env python3
"""Segments benchmark: Greta's segments beside pysubgroup on the same data. Prints tables.

usage: python bench/segments.py [--rows 40000] [--seeds 5] [--null-runs 20] [--big-rows 1000000]
                                [--skip-big] [--out bench/out]

- planted data (greta_core.datasets.planted_segment: plan = "gold", usage <= 2, tenure > 3;
  about 5% of rows, churn 65% inside against 20% outside; other columns noise): is the planted
  segment Greta's top *confirmed* segment, each bound within one quantile step (a tenth of the
  rows) of the truth, and does the rate's held-out CI cover 65%? And is it pysubgroup's top
  segment (beam search, the same quality ``StandardQF(0.5)``, depth 3, beam 30, 10 bins,
  ``intervals_only=False``, on all rows: pysubgroup has no held-out test)?
- null data (the target is noise): in how many runs does each tool claim a segment? Greta
  claims one only if it is confirmed on held-out rows; pysubgroup always returns its best.
- cost: ``greta run`` at --big-rows (the main job's planted layout) with segments on and off
  (``--set segments.enabled=false``): goal on / off <= 1.2.

pysubgroup is not a dependency of Greta. It pins numpy < 2, which Greta's pyarrow cannot use,
yet runs on numpy 2: install it beside Greta with ``pip install --no-deps pysubgroup`` (or
``pip install pysubgroup`` then ``pip install 'numpy>=2'``). Without it the pysubgroup columns
say so.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from greta_core.datasets import SEGMENT_TRUTH, planted_segment  # noqa: E402

STEP = {"usage": 0.5, "tenure": 0.6}  # a tenth of the rows of uniform(0, 5) and uniform(0, 6)


def greta_segments(df, seed: int) -> tuple[list[dict], float]:
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "data.csv")
        df.to_csv(path, index=False)
        t = time.perf_counter()
        doc = analyze(FileSpec(path), AnalysisParams(target="churned", seed=seed))
        return doc["segments"], time.perf_counter() - t


def greta_match(segments: list[dict]) -> tuple[bool, bool]:
    """Is the top confirmed segment the planted one (bounds within a step)? Does its CI cover 65%?"""
    top = next((s for s in segments if s["confirmed"]), None)
    if top is None:
        return False, False
    t = SEGMENT_TRUTH
    conds = {c["column"]: c for c in top["conditions"]}
    ok = (set(conds) == {"plan", "usage", "tenure"} and conds["plan"]["levels"] == [t["plan"]]
          and conds["usage"]["low"] is None and conds["usage"]["high"] is not None
          and abs(conds["usage"]["high"] - t["usage_max"]) <= STEP["usage"]
          and conds["tenure"]["high"] is None and conds["tenure"]["low"] is not None
          and abs(conds["tenure"]["low"] - t["tenure_min"]) <= STEP["tenure"])
    covers = top["inside"]["ci_low"] <= t["rate_inside"] <= top["inside"]["ci_high"]
    return ok, ok and covers


def pysubgroup_top(df) -> tuple[object | None, float]:
    try:
        import pysubgroup as ps
    except ImportError:
        return None, float("nan")
    import warnings

    warnings.filterwarnings("ignore", category=RuntimeWarning, module="pysubgroup")  # 0/0 of empty groups
    data = df.assign(churned=df["churned"] == "yes")
    t = time.perf_counter()
    target = ps.BinaryTarget("churned", True)
    space = ps.create_selectors(data, ignore=["churned"], nbins=10, intervals_only=False)
    task = ps.SubgroupDiscoveryTask(data, target, space, result_set_size=5, depth=3, qf=ps.StandardQF(0.5))
    result = ps.BeamSearch(beam_width=30).execute(task)
    seconds = time.perf_counter() - t
    best = result.to_descriptions()[0][1] if result.results else None
    return best, seconds


def pysubgroup_match(sg: object) -> bool:
    import pysubgroup as ps

    t = SEGMENT_TRUTH
    sels = list(getattr(sg, "selectors", ()))
    ok = {"plan": False, "usage": False, "tenure": False}
    for s in sels:
        if isinstance(s, ps.EqualitySelector) and s.attribute_name == "plan" and s.attribute_value == t["plan"]:
            ok["plan"] = True
        elif isinstance(s, ps.IntervalSelector) and s.attribute_name == "usage":
            ok["usage"] = s.lower_bound == float("-inf") and abs(s.upper_bound - t["usage_max"]) <= STEP["usage"]
        elif isinstance(s, ps.IntervalSelector) and s.attribute_name == "tenure":
            ok["tenure"] = s.upper_bound == float("inf") and abs(s.lower_bound - t["tenure_min"]) <= STEP["tenure"]
    return len(sels) == 3 and all(ok.values())


def greta_run_seconds(path: Path, out: Path, *extra: str) -> tuple[float, float]:
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "greta"), "run", "--data", str(path), "--target", "y",
                    "--seed", "1", "--output", str(out / "segments_bench.json"), "--quiet", *extra], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=40_000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--null-runs", type=int, default=20)
    ap.add_argument("--big-rows", type=int, default=1_000_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--out", default="bench/out")
    a = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average at the start: {os.getloadavg()[0]:.1f}\n")
    print(f"Planted segment, {a.rows:,} rows (top segment = the truth, bounds within a quantile step)\n")
    print("| seed | greta: top confirmed = truth | greta: CI covers 65% | greta s (whole run) | "
          "pysubgroup: top = truth | pysubgroup s (search) |")
    print("|---:|---|---|---:|---|---:|")
    g_hits = p_hits = 0
    for seed in range(a.seeds):
        df = planted_segment(a.rows, seed)
        segs, g_s = greta_segments(df, seed)
        hit, covers = greta_match(segs)
        sg, p_s = pysubgroup_top(df)
        p_hit = pysubgroup_match(sg) if sg is not None else None
        g_hits += hit
        p_hits += bool(p_hit)
        p_text = "not installed" if p_hit is None else ("yes" if p_hit else f"no: {sg}")
        print(f"| {seed} | {'yes' if hit else 'no'} | {'yes' if covers else 'no'} | {g_s:.1f} | {p_text} | "
              f"{p_s:.1f} |")
    print(f"\nfound the planted segment: greta {g_hits}/{a.seeds}, pysubgroup {p_hits}/{a.seeds} "
          "(goal: greta >= pysubgroup, and 5 of 5)")
    claimed = 0
    for seed in range(a.null_runs):
        segs, _ = greta_segments(planted_segment(a.rows, 100 + seed, null=True), 100 + seed)
        claimed += any(s["confirmed"] for s in segs)
    print(f"\nNull data, {a.null_runs} runs of {a.rows:,} rows: greta confirmed a segment in {claimed} "
          f"(goal <= {a.null_runs // 20}); pysubgroup returns a best segment in every run (it tests none)")
    if a.skip_big:
        return
    from main_job import data_file

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    path = data_file(out, a.big_rows)
    on = greta_run_seconds(path, out)
    off = greta_run_seconds(path, out, "--set", "segments.enabled=false")
    print(f"\n`greta run` at {a.big_rows:,} rows: segments on {on[0]:.1f} s wall / {on[1]:.1f} s CPU, "
          f"off {off[0]:.1f} s / {off[1]:.1f} s; on / off {on[0] / off[0]:.2f} wall, {on[1] / off[1]:.2f} CPU "
          "(goal <= 1.2)")


if __name__ == "__main__":
    main()
