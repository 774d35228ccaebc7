"""Shared by the backend tests (a plain module: test modules cannot import conftest), and the
script a subprocess runs against a Spark standalone cluster (one Spark session per process).

    python backends_kit.py SPARK_MASTER OUT.json [executor_memory] INPUT...
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

ROWS = 20_000
BINARY_ROWS = 6_000
# The logistic check of a yes/no target: Spark fits it on every holdout row (MLlib), whatever
# the holdout sample (this small); pandas on its holdout sample, unless it holds every holdout
# row ("pandas"). Both are compared with statsmodels on every holdout row (conftest.py).
LOGIT_SAMPLE = {"spark": 300, "pandas": 1_000_000}
LOGIT_REL = 1e-6
# A small search with a fixed number of generations (no early stop): every backend does the
# same work, and any difference in the statistics would show in the hypotheses.
SEARCH = {"pop_size": 60, "num_generations": 15, "patience": None, "seed": 3, "max_terms": 4}
REL = 1e-9
BIG_ROWS = 15_200_000  # × 10 float64 columns = 1216 MB (1160 MiB) in memory
DASK_WORKER_LIMIT = "384MiB"  # each Dask worker's memory limit (its nanny restarts it above 95%)
SPARK_EXECUTOR_MEMORY = "256m"  # the Spark executor's JVM heap on the standalone cluster


# ----------------------------------------------------------------------------------- the data
def planted_frame(rows: int = ROWS, seed: int = 20) -> Any:
    """y = 2*x1 - 1.5*x3 + x5*x7 + 0.8*[segment = south] + noise (sd 12), with a few missing
    values: effects strong enough to confirm, p-values far from 0 so they can be compared."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8))
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(1, 9)])
    seg = rng.choice(np.array(["north", "south", "east", "west"], dtype=object), size=rows, p=[0.4, 0.3, 0.2, 0.1])
    df["segment"] = seg
    df["y"] = 2 * df.x1 - 1.5 * df.x3 + df.x5 * df.x7 + 0.8 * (seg == "south") + rng.normal(scale=12, size=rows)
    df.loc[rng.random(rows) < 0.02, "segment"] = None
    df.loc[rng.random(rows) < 0.01, "x2"] = np.nan
    return df


def binary_frame(rows: int = BINARY_ROWS, seed: int = 21) -> Any:
    """The planted columns with a yes/no target ``y``: P(yes) = logistic(0.9*x1 - 0.7*x3 +
    0.6*x5*x7 + 0.6*[segment = south] - 0.3), so a few columns are confirmed and have odds ratios."""
    import numpy as np

    df = planted_frame(rows, seed)
    rng = np.random.default_rng(seed + 1)
    eta = 0.9 * df.x1 - 0.7 * df.x3 + 0.6 * df.x5 * df.x7 + 0.6 * (df.segment == "south") - 0.3
    df["y"] = np.where(rng.random(rows) < 1.0 / (1.0 + np.exp(-eta)), "yes", "no")
    return df


def write_planted(root: Path, parts: int = 4) -> dict[str, str]:
    """The same rows as one CSV file, a directory of CSV parts and one of Parquet parts; and a
    yes/no variant as one CSV file (``binary-csv``)."""
    import numpy as np

    root.mkdir(parents=True, exist_ok=True)
    binary = root / "planted_binary.csv"
    binary_frame().to_csv(binary, index=False)
    df = planted_frame()
    root.mkdir(parents=True, exist_ok=True)
    single = root / "planted.csv"
    df.to_csv(single, index=False)
    csv_dir, pq_dir = root / "csv_parts", root / "parquet_parts"
    csv_dir.mkdir(exist_ok=True)
    pq_dir.mkdir(exist_ok=True)
    for i, idx in enumerate(np.array_split(np.arange(len(df)), parts)):
        part = df.iloc[idx]
        part.to_csv(csv_dir / f"part-{i:05d}.csv", index=False)
        part.to_parquet(pq_dir / f"part-{i:05d}.parquet", index=False)
    (csv_dir / "_SUCCESS").write_text("")  # what Spark writes: must be skipped
    (pq_dir / "_SUCCESS").write_text("")
    return {"csv-file": str(single), "csv-parts": str(csv_dir), "parquet-parts": str(pq_dir),
            "binary-csv": str(binary)}


def write_big_parquet(root: Path, rows: int, per_file: int = 1_000_000) -> int:
    """``rows`` × 10 float64 columns as uncompressed Parquet parts; returns the in-memory bytes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(9)
    for k, start in enumerate(range(0, rows, per_file)):
        n = min(per_file, rows - start)
        cols = {f"x{i}": rng.standard_normal(n) for i in range(1, 10)}
        cols["y"] = 2 * cols["x1"] - 1.5 * cols["x3"] + cols["x5"] * cols["x7"] + rng.standard_normal(n)
        pq.write_table(pa.table(cols), root / f"part-{k:05d}.parquet", row_group_size=131072,
                       compression="none", use_dictionary=False)
    return rows * 10 * 8


def join_parts(parts: Path, out: Path) -> None:
    """The Parquet parts in ``parts`` as one file (the pandas backend reads one file): Parquet,
    or CSV when ``out`` ends in .csv."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    writer: Any = None
    for part in sorted(parts.glob("*.parquet")):
        table = pq.read_table(part)
        if writer is None:
            writer = (pcsv.CSVWriter(out, table.schema) if out.suffix == ".csv" else
                      pq.ParquetWriter(out, table.schema, compression="none", use_dictionary=False))
        if out.suffix == ".csv":
            writer.write_table(table)
        else:
            writer.write_table(table, row_group_size=131072)
    assert writer is not None
    writer.close()


# ------------------------------------------------------------------------ a memory-capped process
class MemoryCgroup:
    """A memory cgroup of the kernel capping a child process: cgroup v1 (a ``memory``
    hierarchy) or v2, created under this process's own group and removed afterwards.
    ``preexec`` moves the child into it before it starts Python, so all its memory is charged."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.path: Path | None = None
        self.version = 0

    def __enter__(self) -> MemoryCgroup:
        lines = Path("/proc/self/cgroup").read_text().splitlines() if Path("/proc/self/cgroup").exists() else []
        mounts = Path("/proc/mounts").read_text().splitlines() if Path("/proc/mounts").exists() else []
        errors = []
        for version in (1, 2):
            try:
                self.path = _make_cgroup(version, lines, mounts, self.limit, f"greta-test-{os.getpid()}")
                self.version = version
                return self
            except OSError as e:
                errors.append(f"v{version}: {e}")
        from engines import unavailable  # not at the top: this file also runs as a script

        unavailable("no memory cgroup can be created here (" + "; ".join(errors) + ")")
        return self

    def preexec(self) -> None:
        assert self.path is not None
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def run(self, cmd: list[str], log: Path) -> int:
        """Run ``cmd`` in the group; its exit status (-9: killed over the limit)."""
        import subprocess

        with open(log, "wb") as f:
            return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  preexec_fn=self.preexec, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                                  check=False).returncode

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            for _ in range(50):  # the group can be removed once its last process is reaped
                try:
                    self.path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _make_cgroup(version: int, lines: list[str], mounts: list[str], limit: int, name: str) -> Path:
    """A new group under this process's own, with its memory (and swap) capped; removed again
    if a limit cannot be set."""
    if version == 1:
        own = next((ln.split(":", 2)[2] for ln in lines if "memory" in ln.split(":")[1].split(",")), None)
        root = next((m.split()[1] for m in mounts if m.split()[2] == "cgroup" and "memory" in m.split()[3].split(",")),
                    None)
        if own is None or root is None:
            raise OSError("no cgroup v1 memory hierarchy")
        parent = Path(root) / own.lstrip("/")
        cap, swap = "memory.limit_in_bytes", ("memory.memsw.limit_in_bytes", limit)  # memory + swap
    else:
        own = next((ln[3:] for ln in lines if ln.startswith("0::")), None)
        root = next((m.split()[1] for m in mounts if m.split()[2] == "cgroup2"), None)
        if own is None or root is None:
            raise OSError("no cgroup v2 hierarchy")
        parent = Path(root) / own.lstrip("/")
        if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
            raise OSError(f"the memory controller is not delegated to the groups under {parent}")
        cap, swap = "memory.max", ("memory.swap.max", 0)
    path = parent / name
    path.mkdir()
    try:
        (path / cap).write_text(str(limit))
        if (path / swap[0]).exists():  # no swapping out of the cap either (where swap is accounted)
            (path / swap[0]).write_text(str(swap[1]))
    except OSError:
        path.rmdir()
        raise
    return path


# ---------------------------------------------------------------------------- the comparison
def params(backend: str, extra: dict[str, Any] | None = None, **kw: Any) -> Any:
    from greta_core.params import AnalysisParams

    return AnalysisParams(target="y", backend=backend, extra=extra or {}, **{**SEARCH, **kw})


def analyze(path: str, backend: str, extra: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    from greta_core.ingestion.readers import FileSpec
    from greta_core.pipeline import analyze as run

    return run(FileSpec(path), params(backend, extra, **kw))


def key(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """What must agree across backends: each hypothesis, confirmed or not, and its holdout tests."""
    out = []
    for h in doc["hypotheses"]:
        ho = h["holdout"]
        out.append({"terms": h["terms"], "confirmed": h["confirmed"],
                    "numbers": [ho["p_value"], ho["log10_p"], ho["f_statistic"], ho["r2"], ho["n"]]
                    + [t["p_value"] for t in h["term_tests"]]})
    return out


def assert_same(got: dict[str, Any] | list[Any], want: dict[str, Any] | list[Any], label: str) -> None:
    a = key(got) if isinstance(got, dict) else got
    b = key(want) if isinstance(want, dict) else want
    assert [(h["terms"], h["confirmed"]) for h in a] == [(h["terms"], h["confirmed"]) for h in b], label
    assert any(h["confirmed"] for h in b), "the planted effects must be confirmed"
    for ha, hb in zip(a, b):
        for x, y in zip(ha["numbers"], hb["numbers"]):
            if x is None or y is None:
                assert x == y, (label, ha["terms"])
                continue
            assert math.isclose(x, y, rel_tol=REL, abs_tol=0.0) or x == y, (label, ha["terms"], x, y)


def logistic(doc: dict[str, Any]) -> dict[str, Any]:
    """The odds ratios of every confirmed hypothesis and the rows they were fitted on."""
    return {" + ".join(h["terms"]): {"odds_ratios": h["odds_ratios"], "logistic": h.get("logistic")}
            for h in doc["hypotheses"] if h["confirmed"]}


def assert_same_logit(got: dict[str, Any], want: dict[str, Any], label: str) -> None:
    """Coefficients (log odds) and standard errors equal to a relative ``LOGIT_REL``."""
    assert got.keys() == want.keys() and got, label
    for name in want:
        a, b = got[name]["odds_ratios"], want[name]["odds_ratios"]
        assert [o["column"] for o in a] == [o["column"] for o in b] and a, (label, name)
        for oa, ob in zip(a, b):
            for k in ("estimate", "std_error"):
                assert math.isclose(oa[k], ob[k], rel_tol=LOGIT_REL), (label, name, oa["column"], k, oa[k], ob[k])


def assert_stage_metrics(m: dict[str, Any], backend: str, data_bytes: int, workers: bool,
                         outside: Any = None) -> None:
    """Every stage carries its resource usage; the statistics pass read at least the data's bytes,
    and where worker processes did the work, their CPU, memory and the bytes moved show. With
    ``outside`` (a ``usage.Usage`` taken around the analysis), the figures agree with the
    kernel's counters of this process and of the worker processes."""
    if outside is not None:
        assert_measured(m, backend, data_bytes, outside)
    from greta_core.resources import STAGE_KEYS

    stages = m["stages"]
    assert list(stages) == ["ingest", "statistics", "search", "confirm", "narrate"]
    for name, st in stages.items():
        assert set(STAGE_KEYS) <= set(st), name
        assert st["seconds"] >= 0 and st["cpu_seconds"] >= 0 and st["driver_peak_memory_mb"] > 50, name
    st = stages["statistics"]
    assert st["bytes_read"] >= 0.9 * data_bytes, (st["bytes_read"], data_bytes)
    assert m["bytes_read"] >= st["bytes_read"] and m["bytes_moved"] >= st["bytes_moved"]
    if not workers:
        assert st["workers_cpu_seconds"] is None and st["bytes_moved"] == 0 and st["network_bytes"] == 0
        return
    assert st["workers_cpu_seconds"] > 0 and st["workers_peak_memory_mb"] > 50
    assert st["bytes_moved"] > 0 and st["network_bytes"] > 0  # at least the summary that reaches the driver
    if backend == "spark":
        moved = st["moved"]
        # the rows reach the Python workers as Arrow doubles: fewer bytes than the CSV's text
        assert moved["task_results"] > 0 and moved["to_python"] > 0.2 * data_bytes and moved["from_python"] > 0
        assert st["python_tasks"] >= 1 and st["python_workers_peak_memory_mb"] > 50
        assert st["executor_jvm_peak_memory_mb"] > 10
        assert st["bytes_moved"] == moved["shuffle_read"] + moved["task_results"] + moved["to_python"] + moved["from_python"]


def assert_measured(m: dict[str, Any], backend: str, data_bytes: int, outside: Any) -> None:
    """The run's figures against the kernel's counters taken around it (``usage.Usage``): this
    process' wall and CPU time, peak memory and bytes read, and the worker processes' CPU time
    (with their reaped children's), peak resident size (VmHWM) and bytes read."""
    from usage import peak_bounds

    stages = m["stages"]
    assert peak_bounds(outside)[0] <= m["peak_memory_mb"] <= peak_bounds(outside)[1]
    if "driver_peak_memory_mb" in m:  # the engines' info
        assert peak_bounds(outside)[0] <= m["driver_peak_memory_mb"] <= peak_bounds(outside)[1]
    assert 0.8 * outside.wall <= m["wall_seconds"] <= outside.wall
    assert 0.8 * outside.cpu <= m["cpu_seconds"] <= outside.cpu + 0.01
    assert 0.7 * outside.wall <= sum(st["seconds"] for st in stages.values()) <= m["wall_seconds"]
    assert 0.7 * outside.cpu <= sum(st["cpu_seconds"] for st in stages.values()) <= m["cpu_seconds"] + 0.01
    for name, st in stages.items():
        # at least what this process held when the stage began; at most its peak (ru_maxrss,
        # which the kernel may update a little after the resident size a sampler saw)
        top = 1.05 * max(outside.maxrss, outside.rss)
        assert 0.5 * outside.rss0 <= st["driver_peak_memory_mb"] <= top, name
    # this process' reads and the workers' (a Spark executor's input bytes are among its JVM's)
    # (a first run also reads the modules it imports: no upper bound from the data's size)
    read = stages["statistics"]["bytes_read"]
    assert data_bytes <= read <= m["bytes_read"] <= outside.read + outside.workers_read
    if outside.find is None:
        return
    cpu, peak = m["workers_cpu_seconds"], m["workers_peak_memory_mb"]
    assert 0 < cpu <= 1.1 * outside.workers_cpu + 0.05, (cpu, outside.workers_cpu)
    assert 0 < peak <= 1.02 * outside.workers_hwm + 1, (peak, outside.workers_hwm)
    if backend == "dask":  # the workers do nothing else: nearly all their CPU and reads are the stages'
        assert cpu >= 0.5 * outside.workers_cpu - 0.05, (cpu, outside.workers_cpu)
        assert peak >= 0.5 * outside.workers_rss0, (peak, outside.workers_rss0)  # what a worker held already
        assert m["bytes_read"] >= 0.9 * (outside.read + outside.workers_read) - 2**21


# ------------------------------------------------- run in a subprocess against a Spark master
def main(argv: list[str]) -> None:
    master, out, executor_memory, *inputs = argv
    spark_config = {"spark.master": master, "spark.executor.memory": executor_memory,
                    # Spark refuses executors under 450 MB unless its reserve is lifted
                    "spark.testing.reservedMemory": "0", "spark.cores.max": "2",
                    "spark.task.maxFailures": "1"}  # a task lost to memory fails the run
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: usage.py
    from usage import Usage, descendants

    import greta_core.pipeline  # noqa: F401 - imported before the first run is measured

    worker = int(os.environ["SPARK_WORKER_PID"])  # the standalone Worker: its executors run under it
    results = {}
    for path in inputs:
        big = "big" in Path(path).name
        kw = {"interactions": False, "squares": False, "logs": False, "pop_size": 20,
              "num_generations": 3} if big else {}
        if "binary" in Path(path).name:
            kw = {"sample_size": LOGIT_SAMPLE["spark"]}
        with Usage(lambda: descendants(worker)) as outside:
            doc = analyze(path, "spark", {"spark_config": spark_config}, **kw)
        results[path] = {"key": key(doc), "rows": doc["data"]["rows"], "metrics": doc["metrics"],
                         "logistic": logistic(doc), "notes": doc["notes"], "usage": outside.figures()}
    from pyspark.sql import SparkSession

    conf = SparkSession.getActiveSession().sparkContext.getConf()
    results["_conf"] = {k: conf.get(k) for k in ("spark.master", "spark.executor.memory", "spark.task.maxFailures")}
    Path(out).write_text(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
