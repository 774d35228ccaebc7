"""Whether the settings fit in the memory this process may use, checked before the work that
needs the memory starts: a setting whose footprint cannot fit is refused in one line that names
it, its value and the largest value that fits (rather than a kernel kill half-way through).

Each footprint is an estimate made from the figures :mod:`greta_core.resources.sizing` sizes
the engines with; what is left for a setting is the limit less Greta's own process
(:data:`~greta_core.resources.sizing.DRIVER`). The checks run in three places:

- :func:`check_settings`, before anything is read: a budget larger than the whole limit, the
  workers (``hypothesis_search.max_workers``) and a local Spark that cannot start in the limit;
- :func:`check_planning_sample`, once the columns are known, before the planning sample is read;
- :func:`check_plan`, once the plan knows the design's width, before the statistics pass.

Only the standard library is imported here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from greta_core.errors import MemoryLimitError
from greta_core.resources.memory import MemoryLimit, memory_limit, mib
from greta_core.resources.sizing import (
    DASK_NANNY,
    DASK_THREAD,
    DASK_WORKER,
    DRIVER,
    PARTITION_FACTOR,
    SPARK_DRIVER,
    SPARK_PY_WORKER,
    spark_least,
)

MiB = 2**20
#: A cell of the planning sample: Arrow's column and the pandas frame made from it (8 bytes each
#: for a number).
SAMPLE_CELL = 16
#: A cell of a streamed batch at its peak, as for a Dask partition (the text, Arrow's columns,
#: the pandas frame and the design blocks): PARTITION_FACTOR times its ~8 bytes.
BATCH_CELL = 8 * PARTITION_FACTOR
#: The held-out sample (one, of the holdout split) is kept once, but a batch's own sample (picked,
#: then copied to row order) and the merge (both samples, their concatenation, the rows kept)
#: hold more at a time: measured, the peak grew by 5 copies of the added rows
#: (statistics.sample_size 5,000 -> 24,480 on 257 design columns: +191 MiB); one more for margin.
SAMPLE_COPIES = 6
#: A Python worker process with numpy loaded (a search worker of the process pool).
PYTHON_PROCESS = DASK_NANNY
#: The smallest limit a local Spark was seen to finish in (docs/backends.md, "Inside a memory
#: limit": 1,144 MiB on 1M rows); ``auto`` already passes over Spark below ``spark_least()``.
SPARK_SMALLEST = 1152 * MiB
#: A ``max_workers`` above this many per core is refused without a cluster.
WORKERS_PER_CORE = 8


@dataclass(frozen=True)
class Footprint:
    """The memory a setting needs: ``per_unit`` bytes for each unit of its ``value``."""

    setting: str
    value: float
    per_unit: float
    least: float  # the smallest value the setting allows
    what: str  # how the figure is made, e.g. "held-out rows × 301 design columns × 8 bytes × 4"
    units: float | None = None  # units actually used, when fewer than ``value`` (rows the data has)
    fixed: int = 0  # bytes needed besides the units' (a Dask worker's nanny)
    suffix: str = ""  # written after the value and the largest value ("MiB")

    @property
    def bytes(self) -> int:
        return self.fixed + int(self.per_unit * (self.value if self.units is None else min(self.units, self.value)))


def base_bytes(backend: str) -> int:
    """Greta's own process, before any setting's share: with pyspark loaded on Spark."""
    return SPARK_DRIVER if backend == "spark" else DRIVER


def check(needs: Iterable[Footprint], limit: MemoryLimit, base: int = DRIVER) -> None:
    """Raise :class:`MemoryLimitError` for the first footprint that does not fit in ``limit``
    beside ``base``."""
    free = max(limit.bytes - base, 0)
    for need in needs:
        if need.bytes <= free:
            continue
        largest = int((free - need.fixed) // need.per_unit) if need.per_unit > 0 and free > need.fixed else 0
        fix = (f"the largest value that fits is {_number(largest)}{need.suffix}: lower it or raise the limit"
               if largest >= need.least else "no value fits: raise the limit")
        msg = (f"{need.setting}={_number(need.value)}{need.suffix} needs about {mib(need.bytes)} ({need.what}), more than the "
               f"{mib(free)} this process may use for it: its limit is {limit.describe()}, less "
               f"{mib(base)} for Greta itself; {fix}.")
        raise MemoryLimitError(msg)


def _number(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,g}"


# ------------------------------------------------------------------------------ the checks
def check_settings(params: Any, limit: MemoryLimit | None = None) -> None:
    """Before anything is read: settings whose footprint needs no data."""
    limit = limit or memory_limit()
    needs = []
    if params.screen_memory_mb * MiB > limit.bytes:  # within the limit, it is checked where it is used
        needs.append(Footprint("preprocessing.screen_memory_mb", params.screen_memory_mb, MiB, 16,
                               "its working memory, at most"))
    worker = worker_footprint(params)
    if worker is not None and params.workers:
        per, what = worker
        needs.append(Footprint("hypothesis_search.max_workers", params.workers, per, 1, what))
    needs += _dask_needs(params, limit)
    check(needs, limit, base_bytes(params.backend))
    _check_local_spark(params, limit)


def check_planning_sample(params: Any, columns: int, data_rows: int | None = None,
                          limit: MemoryLimit | None = None) -> None:
    """Before the planning sample is read: its rows × ``columns``. The rows are
    ``preprocessing.sample_rows``, or fewer where ``screen_memory_mb`` bounds them, and never
    more than the data has (``data_rows``, an estimate; None: unknown)."""
    from greta_core.pipeline import planning_rows

    limit = limit or memory_limit()
    rows = planning_rows(params, columns)
    per_row = columns * SAMPLE_CELL
    if data_rows and data_rows * 1.1 < rows:
        return  # a small file: the sample is the whole of it, far less than the settings allow
    if rows >= params.sample_rows:
        need = Footprint("preprocessing.sample_rows", params.sample_rows, per_row, 100,
                         f"rows × {columns:,} columns × {SAMPLE_CELL} bytes")
    else:  # the sample is cut to the screening budget: that budget is what is too large
        need = Footprint("preprocessing.screen_memory_mb", params.screen_memory_mb, per_row * rows / params.screen_memory_mb,
                         16, f"a planning sample of {rows:,} rows × {columns:,} columns × {SAMPLE_CELL} bytes")
    check([need], limit, base_bytes(params.backend))


def check_plan(params: Any, plan: Any, backend: str, rows: int | None, limit: MemoryLimit | None = None) -> None:
    """Once the plan knows the design's width, before the statistics pass: the held-out sample
    (``statistics.sample_size``), the streamed batches (``preprocessing.batch_rows``) and, when
    the candidates are screened, the screening's working memory. ``rows`` estimates the data's
    rows (None: unknown)."""
    limit = limit or memory_limit()
    t = plan.target.width
    width = min(plan.candidate_width, params.max_design_columns) + t
    held = None if not rows else math.ceil(rows * params.holdout_fraction * 1.05)
    needs = [Footprint("statistics.sample_size", params.sample_size, width * 8 * SAMPLE_COPIES, 100,
                       f"held-out rows × {width:,} design columns × 8 bytes × {SAMPLE_COPIES} copies while merged",
                       held)]
    if getattr(params, "batch_rows", None) and backend != "dask":
        source = len(plan.columns) + 1
        needs.append(Footprint("preprocessing.batch_rows", params.batch_rows, source * BATCH_CELL, 1000,
                               f"rows × {source:,} columns × {BATCH_CELL} bytes at a batch's peak", rows))
    if plan.candidate_width > params.max_design_columns:
        needs.append(Footprint("preprocessing.screen_memory_mb", params.screen_memory_mb, MiB, 16,
                               f"its working memory to screen {plan.candidate_count:,} candidate terms"))
    check(needs, limit, base_bytes(backend))


# ------------------------------------------------------------------------------ the workers
def worker_footprint(params: Any) -> tuple[int, str] | None:
    """(bytes, what) of one of the ``max_workers`` workers started on this machine, the
    largest of what they drive: search workers (a process pool, a local Dask cluster, a local
    Spark's Python workers) and the engine's (Dask threads or processes, Spark cores). None when
    none of them runs here (local evaluation on pandas, or only remote clusters)."""
    extra = getattr(params, "extra", {}) or {}
    dask = extra.get("dask_config") or {}
    master = str((extra.get("spark_config") or {}).get("spark.master") or "local")
    options: list[tuple[int, str]] = []
    search, address = params.distributed_backend, params.cluster_address
    if not address:
        if search in ("multiprocessing", "auto"):
            options.append((PYTHON_PROCESS, "a search worker process"))
        elif search == "dask":
            options.append((DASK_WORKER + DASK_NANNY, "a Dask worker process with its nanny"))
        elif search == "spark":
            options.append((SPARK_PY_WORKER, "a Spark Python worker"))
    if params.backend == "dask" and not dask.get("address"):
        if dask.get("processes"):
            options.append((DASK_WORKER + DASK_NANNY, "a Dask worker process with its nanny"))
        else:
            options.append((DASK_THREAD, "a Dask thread with its partition"))
    elif params.backend == "spark" and master.startswith("local"):
        options.append((SPARK_PY_WORKER, "a Spark Python worker"))
    if not options:
        return None
    per, what = max(options)
    return per, f"{what} each"


def _dask_needs(params: Any, limit: MemoryLimit) -> list[Footprint]:
    """A local Dask's own settings (``scalability.dask_config``): the partitions its threads
    hold at once, and its worker processes with their memory limits."""
    cfg = (getattr(params, "extra", {}) or {}).get("dask_config") or {}
    if params.backend != "dask" or cfg.get("address"):
        return []
    from greta_core.resources.sizing import engine_sizes

    sizes = engine_sizes(limit)
    needs = []
    if cfg.get("processes"):
        n = cfg.get("n_workers") or params.workers or sizes.dask_workers
        threads = n * (cfg.get("threads_per_worker") or 1)
        memory = _bytes(cfg.get("memory_limit"))
        if memory:
            needs.append(Footprint("scalability.dask_config.memory_limit", memory / MiB, n * MiB, 128,
                                   f"{n} worker{'s' if n > 1 else ''} × it, and a nanny each", fixed=n * DASK_NANNY,
                                   suffix="MiB"))
        elif cfg.get("n_workers"):
            needs.append(Footprint("scalability.dask_config.n_workers", n, sizes.dask_worker_memory + DASK_NANNY, 1,
                                   f"a worker of {mib(sizes.dask_worker_memory)} with its nanny each"))
    else:
        n = (cfg.get("n_workers") or 1) * (cfg.get("threads_per_worker") or 1)
        threads = params.workers or (n if (cfg.get("n_workers") or cfg.get("threads_per_worker")) else sizes.dask_threads)
    block = _bytes(cfg.get("blocksize"))
    if block:
        needs.append(Footprint("scalability.dask_config.blocksize", block / MiB, threads * PARTITION_FACTOR * MiB, 1,
                               f"{threads} thread{'s' if threads > 1 else ''} × {PARTITION_FACTOR}× a partition "
                               "at its peak", suffix="MiB"))
    return needs


def _bytes(value: Any) -> int | None:
    if value is None or value == "auto":
        return None
    if isinstance(value, (int, float)):
        return int(value)
    try:
        from dask.utils import parse_bytes  # only for a Dask backend, which has it

        return int(parse_bytes(str(value)))
    except (ImportError, ValueError):
        return None  # not a size: the backend says so when it starts


def _check_local_spark(params: Any, limit: MemoryLimit) -> None:
    """``--backend spark`` with a local master below the least memory a local Spark was seen to
    finish in: refused before the JVM starts (the kernel would kill it), unless
    ``spark.driver.memory`` is set."""
    conf = (getattr(params, "extra", {}) or {}).get("spark_config") or {}
    master = str(conf.get("spark.master") or "local")
    if params.backend != "spark" or not master.startswith("local") or "spark.driver.memory" in conf:
        return
    if limit.bytes < SPARK_SMALLEST:
        msg = (f"scalability.ingestion_backend=spark (--backend spark): a local Spark needs at least "
               f"{mib(SPARK_SMALLEST)} (its JVM, the least heap and a Python worker; {mib(spark_least())} to run "
               f"with room) and this process may use {limit.describe()}. Raise the limit, use "
               "--backend pandas (or dask), or set spark.driver.memory in scalability.spark_config to "
               "start it anyway.")
        raise MemoryLimitError(msg)
