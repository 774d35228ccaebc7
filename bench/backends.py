"""Benchmark of the statistics pass on each backend.

    .venv/bin/python bench/backends.py                 # 1M and 10M rows
    .venv/bin/python bench/backends.py --rows 1e6,1e7,5e7
    .venv/bin/python bench/backends.py --quick         # 1M rows only, fewer runs

Prints, as Markdown tables:

1. rows/s and peak memory per backend and data size: pandas (thread pool), Dask threaded, a
   Dask LocalCluster of 2 worker processes, Spark local[2]. Rows/s is rows / (ingest +
   statistics) seconds; the search is cut to 3 generations and not counted. Peak memory is
   the largest resident size of the whole process tree (driver + Dask workers / JVM + Python
   workers), sampled every 0.1 s, and of the driver alone.
2. the speed-up from 1 to 2 workers at the largest size;
3. the overhead of ``--backend auto`` against ``--backend pandas`` on a small file, as a user
   runs ``greta run`` (whole command, median of alternating runs);
4. what 100 GB would take, from the measured rate per core;
5. bytes moved between processes per stage, next to rows/s (of which across the network on a
   cluster), and what they imply for 100 GB.

Each measurement runs in a fresh subprocess. The data: planted rows (8 numeric columns, one
categorical, the target; 55 design columns with products and squares), one Parquet file per
size, written once to --dir (default /tmp/greta-bench-backends).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
STAGES = ("ingest", "statistics", "search", "confirm", "narrate")
USAGE = ("seconds", "cpu_seconds", "workers_cpu_seconds", "driver_peak_memory_mb", "workers_peak_memory_mb",
         "bytes_read", "bytes_moved", "network_bytes", "moved")
CONFIGS = {
    "pandas": ("pandas", {}),
    "dask threads": ("dask", {"dask_config": {}}),
    "dask 2 processes": ("dask", {"dask_config": {"processes": True, "n_workers": 2, "threads_per_worker": 1}}),
    "spark local[2]": ("spark", {"spark_config": {"spark.master": "local[2]"}}),
}
ONE_WORKER = {
    "pandas": ("pandas", {}, 1),
    "dask threads": ("dask", {"dask_config": {}}, 1),
    "dask 2 processes": ("dask", {"dask_config": {"processes": True, "n_workers": 1, "threads_per_worker": 1}}, None),
    "spark local[2]": ("spark", {"spark_config": {"spark.master": "local[1]"}}, None),
}


# ----------------------------------------------------------------------------------- the data
def write_data(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    """Planted rows as one Parquet file, written chunk by chunk (row groups of 128k rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return
    tmp = path.with_suffix(".tmp")
    rng = np.random.default_rng(1)
    writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        cols: dict[str, Any] = {f"x{i}": rng.standard_normal(n) for i in range(1, 9)}
        seg = np.array(["north", "south", "east", "west"], dtype=object)[rng.integers(0, 4, n)]
        cols["segment"] = pa.array(seg, pa.string())
        cols["y"] = 2 * cols["x1"] - 1.5 * cols["x3"] + cols["x5"] * cols["x7"] + 0.5 * (seg == "south") \
            + rng.normal(scale=3, size=n)
        table = pa.table(cols)
        writer = writer or pq.ParquetWriter(tmp, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=131072)
    assert writer is not None
    writer.close()
    os.replace(tmp, path)


def in_memory_bytes(rows: int) -> int:
    return rows * (9 * 8 + 8)  # 9 float64 columns + one pointer per categorical value (shared strings)


# --------------------------------------------------------------------------- one measurement
class TreeSampler:
    """Peak resident memory of this process and of its whole process tree."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak_tree = self.peak_self = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            try:
                own = self.proc.memory_info().rss
                kids = 0
                for p in self.proc.children(recursive=True):
                    try:
                        kids += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            self.peak_self = max(self.peak_self, own)
            self.peak_tree = max(self.peak_tree, own + kids)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(path: str, backend: str, extra: dict[str, Any], workers: int | None) -> dict[str, Any]:
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    params = AnalysisParams(target="y", backend=backend, workers=workers, extra=extra, pop_size=20,
                            num_generations=3, patience=None)
    with TreeSampler() as mem:
        t0 = time.perf_counter()
        doc = analyze(FileSpec(path), params)
        wall = time.perf_counter() - t0
    m = doc["metrics"]
    st = m["stages"]
    data_s = st["ingest"]["seconds"] + st["statistics"]["seconds"]
    return {"rows": doc["data"]["rows"], "ingest_s": st["ingest"]["seconds"],
            "statistics_s": st["statistics"]["seconds"], "data_s": data_s, "wall_s": wall,
            "rows_per_s": doc["data"]["rows"] / data_s,
            "pass_rows_per_s": doc["data"]["rows"] / st["statistics"]["seconds"], "workers": m.get("workers"),
            "partitions": m.get("partitions"), "peak_tree_mb": mem.peak_tree / 2**20,
            "peak_driver_mb": mem.peak_self / 2**20,
            "confirmed": [h["terms"] for h in doc["hypotheses"] if h["confirmed"]][:1],
            "stages": {name: {k: v.get(k) for k in USAGE} for name, v in st.items()}}


def run_one(path: str, backend: str, extra: dict[str, Any], workers: int | None, timeout: float) -> dict[str, Any]:
    args = [sys.executable, str(HERE), "--one", json.dumps([path, backend, extra, workers])]
    env = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error", "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ auto overhead
def cli_seconds(path: str, backend: str, out: str) -> float:
    cmd = [str(Path(sys.executable).with_name("greta")), "run", "--data", path, "--target", "y", "-o", out, "-q",
           "--backend", backend, "--set", "hypothesis_search.num_generations=5",
           "--set", "hypothesis_search.pop_size=20"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def auto_overhead(small: str, out_dir: Path, repeats: int) -> dict[str, float]:
    from greta_core.backends import decide

    times: dict[str, list[float]] = {"pandas": [], "auto": []}
    cli_seconds(small, "pandas", str(out_dir / "warm.json"))  # warm the file cache
    for _ in range(repeats):
        for b in ("pandas", "auto"):
            times[b].append(cli_seconds(small, b, str(out_dir / f"{b}.json")))
    t0 = time.perf_counter()
    for _ in range(100):
        decide(small, {})
    decide_ms = (time.perf_counter() - t0) * 10
    inproc = json.loads(subprocess.run([sys.executable, str(HERE), "--inprocess", small, str(repeats)],
                                       capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    p, a = statistics.median(times["pandas"]), statistics.median(times["auto"])
    return {"pandas_s": p, "auto_s": a, "overhead_pct": 100 * (a - p) / p, "decide_ms": decide_ms, **inproc}


def in_process(small: str, repeats: int) -> dict[str, float]:
    """``analyze`` with pandas and with auto, alternating, in one warm process (ingest + statistics)."""
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    times: dict[str, list[float]] = {"pandas": [], "auto": []}
    for i in range(repeats + 1):
        for b in ("pandas", "auto"):
            doc = analyze(FileSpec(small), AnalysisParams(target="y", backend=b, pop_size=20, num_generations=3))
            st = doc["metrics"]["stages"]
            if i:  # the first round warms caches
                times[b].append(st["ingest"]["seconds"] + st["statistics"]["seconds"])
    p, a = statistics.median(times["pandas"]), statistics.median(times["auto"])
    return {"inproc_pandas_s": p, "inproc_auto_s": a, "inproc_overhead_pct": 100 * (a - p) / p,
            "heavy_modules": sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed", "pyspark"))}


# ------------------------------------------------------------------------------------ tables
def fmt_rate(r: dict[str, Any], key: str = "pass_rows_per_s") -> str:
    return r["error"] if "error" in r else f"{r[key]:,.0f}"


def fmt_mem(r: dict[str, Any]) -> str:
    return "—" if "error" in r else f"{r['peak_tree_mb']:,.0f} ({r['peak_driver_mb']:,.0f})"


def size(n: float | None) -> str:
    from greta_core.report._format import fmt_bytes

    return "—" if n is None else fmt_bytes(n)


def fmt_moved(r: dict[str, Any], stage: str) -> str:
    """Bytes moved between processes in ``stage`` (in brackets: of which over the network on a cluster)."""
    if "error" in r:
        return "—"
    st = r["stages"].get(stage, {})
    return f"{size(st.get('bytes_moved'))} ({size(st.get('network_bytes'))})"


def _moved_section(results: dict[tuple[str, int], dict[str, Any]], names: list[str], sizes: list[int]) -> None:
    print("\n## Bytes moved between processes, per stage\n")
    print("Per stage: all bytes moved between processes (in brackets: the part that crosses the network "
          "on a cluster — Dask worker transfers; Spark shuffle reads and task results. Spark's Arrow "
          "traffic between each executor and its Python workers stays on the executor's machine).\n")
    print("| backend | rows | rows/s | " + " | ".join(STAGES) + " | read in the pass | CPU s driver / workers |")
    print("|---|---:|---:|" + "---|" * len(STAGES) + "---:|---:|")
    for rows in sizes:
        for name in names:
            r = results[(name, rows)]
            if "error" in r:
                continue
            st = r["stages"]["statistics"]
            cpu = f"{st['cpu_seconds']:.1f} / " + ("—" if st["workers_cpu_seconds"] is None
                                                    else f"{st['workers_cpu_seconds']:.1f}")
            print(f"| {name} | {rows:,} | {fmt_rate(r)} | " + " | ".join(fmt_moved(r, s) for s in STAGES)
                  + f" | {size(st['bytes_read'])} | {cpu} |")


def _network_projection(results: dict[tuple[str, int], dict[str, Any]], names: list[str], big: int) -> None:
    print(f"\n## What 100 GB implies for the network ({big:,} rows measured, statistics pass)\n")
    scale = 100e9 / in_memory_bytes(big)
    for name in names:
        r = results[(name, big)]
        if "error" in r:
            continue
        st = r["stages"]["statistics"]
        moved = st.get("moved") or {}
        parts = max(int(r.get("partitions") or 1), 1)
        summaries = moved.get("summaries", st["network_bytes"] or 0)
        per_part = summaries / parts
        line = (f"- {name}: summaries {size(summaries)} for {parts} partitions (~{size(per_part)} a partition, "
                f"whatever its rows) → 100 GB in ~{scale * parts:,.0f} partitions of this size ≈ "
                f"{size(per_part * scale * parts)} over the network")
        if moved.get("rows"):
            line += (f"; rows Dask moved between workers to balance work: {size(moved['rows'])} "
                     f"({100 * moved['rows'] / in_memory_bytes(big):.1f}% of the data) → ≈ {size(moved['rows'] * scale)}")
        local = moved.get("to_python", 0) + moved.get("from_python", 0)
        if local:
            line += f"; executor ↔ Python workers, on each machine: ≈ {size(local * scale)}"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--rows", default="1e6,1e7", help="comma-separated sizes (rows); add 5e7 for 50M")
    ap.add_argument("--dir", default="/tmp/greta-bench-backends")
    ap.add_argument("--backends", default=",".join(CONFIGS))
    ap.add_argument("--repeats", type=int, default=5, help="alternating runs for the auto overhead")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--quick", action="store_true", help="1M rows only, 3 auto runs")
    ap.add_argument("--inprocess", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--only-auto", action="store_true", help="only the auto overhead (needs --dir from a run)")
    a = ap.parse_args()
    if a.inprocess:
        print(json.dumps(in_process(a.inprocess[0], int(a.inprocess[1]))))
        return
    if a.only_auto:
        root = Path(a.dir)
        _auto_section(root / "small.csv", root, a.repeats)
        return
    if a.one:
        path, backend, extra, workers = json.loads(a.one)
        print(json.dumps(measure(path, backend, extra, workers)))
        return
    sizes = [1_000_000] if a.quick else [int(float(x)) for x in a.rows.split(",")]
    repeats = 3 if a.quick else a.repeats
    names = [n.strip() for n in a.backends.split(",")]
    root = Path(a.dir)
    root.mkdir(parents=True, exist_ok=True)
    print(f"# Backends benchmark ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start)\n")
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for rows in sizes:
        path = root / f"planted-{rows}.parquet"
        t0 = time.perf_counter()
        write_data(path, rows)
        print(f"data: {rows:,} rows, {path.stat().st_size / 2**20:,.0f} MiB on disk, "
              f"~{in_memory_bytes(rows) / 2**20:,.0f} MiB in memory (ready in {time.perf_counter() - t0:.0f} s)",
              flush=True)
        for name in names:
            backend, extra = CONFIGS[name]
            results[(name, rows)] = r = run_one(str(path), backend, extra, 2 if backend == "pandas" else None,
                                                a.timeout)
            print(f"  {name:<18} {fmt_rate(r):>12} rows/s in the pass, {fmt_rate(r, 'rows_per_s'):>12} with "
                  f"start-up  peak {fmt_mem(r)} MiB  moved {fmt_moved(r, 'statistics')} in the pass", flush=True)
    if 50_000_000 not in sizes:
        print("\n50M rows: skipped (pass --rows 1e6,1e7,5e7 to run it; ~4 GB of Parquet, tens of minutes here).")
    print("\n## Rows per second and peak memory\n")
    print("rows/s: in the statistics pass / including start-up (session, cluster, first read); peak "
          "MiB: whole process tree (driver alone)\n")
    print("| backend | " + " | ".join(f"{s:,} rows: rows/s | peak MiB" for s in sizes) + " |")
    print("|---|" + "---|---|" * len(sizes))
    for name in names:
        cells = [f"{fmt_rate(results[(name, s)])} / {fmt_rate(results[(name, s)], 'rows_per_s')} | "
                 f"{fmt_mem(results[(name, s)])}" for s in sizes]
        print(f"| {name} | " + " | ".join(cells) + " |")

    big = sizes[-1]
    path = str(root / f"planted-{big}.parquet")
    print(f"\n## Speed-up from 1 to 2 workers ({big:,} rows, rows/s in the statistics pass)\n")
    print("| backend | 1 worker | 2 workers | speed-up |\n|---|---|---|---|")
    for name in names:
        backend, extra, workers = ONE_WORKER[name]
        one = run_one(path, backend, extra, workers, a.timeout)
        two = results[(name, big)]
        ok = "error" not in one and "error" not in two
        up = f"{two['pass_rows_per_s'] / one['pass_rows_per_s']:.2f}×" if ok else "—"
        print(f"| {name} | {fmt_rate(one)} | {fmt_rate(two)} | {up} |", flush=True)

    small = root / "small.csv"
    if not small.exists():
        import pyarrow.parquet as pq

        pq.read_table(root / f"planted-{sizes[0]}.parquet").slice(0, 20_000).to_pandas().to_csv(small, index=False)
    _auto_section(small, root, repeats)
    _per_core(results, names, big)
    _moved_section(results, names, sizes)
    _network_projection(results, names, big)


def _auto_section(small: Path, root: Path, repeats: int) -> None:
    o = auto_overhead(str(small), root, repeats)
    print(f"\n## auto against pandas on a small file (20,000 rows; median of {repeats} alternating runs)\n")
    print(f"- whole command: pandas {o['pandas_s']:.2f} s, auto {o['auto_s']:.2f} s: {o['overhead_pct']:+.1f}% "
          "(run-to-run noise of a few % either way)")
    print(f"- in one process, ingest + statistics: pandas {o['inproc_pandas_s'] * 1000:.1f} ms, auto "
          f"{o['inproc_auto_s'] * 1000:.1f} ms: {o['inproc_overhead_pct']:+.1f}%; dask/pyspark imported: "
          f"{o['heavy_modules'] or 'none'}")
    print(f"- the decision itself: {o['decide_ms']:.3f} ms (spec: overhead < 5%)")



def _per_core(results: dict[tuple[str, int], dict[str, Any]], names: list[str], big: int) -> None:
    print("\n## 100 GB, from the measured rate per core (statistics pass, 2 cores busy)\n")
    for name in names:
        r = results[(name, big)]
        if "error" in r:
            continue
        cores = 2
        per_core = in_memory_bytes(r["rows"]) / r["statistics_s"] / cores
        hours = 100e9 / per_core / 3600
        print(f"- {name}: {per_core / 2**20:,.1f} MiB/s per core → 100 GB in ~{hours:.1f} core-hours "
              f"(~{hours / 16 * 60:.0f} min on 16 cores, ~{hours / 64 * 60:.0f} min on 64, if it scales linearly)")


if __name__ == "__main__":
    main()
