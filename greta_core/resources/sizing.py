"""Engine sizes from the memory this process may use (:func:`~greta_core.resources.memory.memory_limit`).

Greta's process, the Dask threads or worker processes it starts and the Spark JVM with its
Python workers all count against one limit when Greta runs in a container or a systemd slice.
:func:`engine_sizes` shares that limit out: what is left after Greta's own process is given to
the engine, which gets fewer threads and smaller partitions when it is short. The figures are
measured footprints on the 2-core reference machine (docs/backends.md, "Inside a memory
limit"); a user's explicit setting always wins over the size chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass

from greta_core.resources.memory import MemoryLimit, cpu_count, memory_limit, mib

MiB = 2**20
#: Greta's own process with pandas, pyarrow, the planning sample and the plan.
DRIVER = 320 * MiB
#: The same process with pyspark and its gateway loaded.
SPARK_DRIVER = 448 * MiB
#: Batches of this many rows when memory is not short (the configured default).
BATCH_ROWS = 65536
#: A Dask thread holds up to about this many times its partition's bytes while it summarises
#: it (the CSV text, Arrow's columns, the pandas frame and the design blocks, at their peak).
PARTITION_FACTOR = 24
#: Least memory a Dask thread gets, and a Dask worker process (besides its nanny).
DASK_THREAD = 160 * MiB
DASK_WORKER = 544 * MiB
DASK_NANNY = 96 * MiB
#: Spark: the JVM besides its heap (metaspace, code, direct buffers), the least heap Spark
#: starts with (it refuses below 450 MiB), the default heap, and one Python worker with a batch.
JVM_EXTRA = 512 * MiB
SPARK_MIN_HEAP = 512 * MiB
SPARK_HEAP = 1024 * MiB
SPARK_PY_WORKER = 320 * MiB


@dataclass(frozen=True)
class Sizes:
    """What each engine is given inside ``limit`` (bytes unless named otherwise)."""

    limit: MemoryLimit
    cores: int
    batch_rows: int
    dask_threads: int
    dask_blocksize: int
    dask_workers: int
    dask_worker_memory: int
    spark_cores: int
    spark_heap: int
    spark_partition_bytes: int

    @property
    def spark_fits(self) -> bool:
        """Whether Spark's JVM with its least heap and one Python worker fits in the limit."""
        return self.limit.bytes >= spark_least()

    def dask_partition(self, threads: int) -> int:
        """Partition bytes when ``threads`` threads of this process each summarise one."""
        return _partition(self.limit.bytes, threads)

    def spark_driver_memory(self) -> str:
        return f"{self.spark_heap // MiB}m"

    def describe(self) -> list[tuple[str, str]]:
        """(engine, sizes) lines for ``greta backends``."""
        spark = (f"local[{self.spark_cores}], driver heap {self.spark_driver_memory()} "
                 f"(spark.driver.memory), partitions of {mib(self.spark_partition_bytes)}, "
                 f"Arrow batches of {self.batch_rows:,} rows")
        if not self.spark_fits:
            spark += f"; the limit is below the {mib(spark_least())} set aside for a local Spark"
        return [
            ("pandas", f"batches of {self.batch_rows:,} rows (preprocessing.batch_rows)"),
            ("Dask, threads", f"{self.dask_threads} threads, partitions of {mib(self.dask_blocksize)} "
                              "(dask_config.blocksize)"),
            ("Dask, processes", f"{self.dask_workers} worker{'s' if self.dask_workers > 1 else ''} of "
                                f"{mib(self.dask_worker_memory)} (dask_config.n_workers, memory_limit)"),
            ("Spark, local", spark),
        ]


def spark_least() -> int:
    """The least memory limit a local Spark runs in: its driver, JVM with the least heap and one
    Python worker."""
    return SPARK_DRIVER + JVM_EXTRA + SPARK_MIN_HEAP + SPARK_PY_WORKER


def engine_sizes(limit: MemoryLimit | None = None, cores: int | None = None) -> Sizes:
    """The sizes for ``limit`` (this process's, by default) and ``cores``."""
    limit = limit or memory_limit()
    cores = max(1, cores or cpu_count())
    free = max(limit.bytes - DRIVER, 0)
    batch_rows = BATCH_ROWS if free >= 512 * MiB else max(8192, BATCH_ROWS * free // (512 * MiB) // 1024 * 1024)
    threads = _clamp(free // DASK_THREAD, 1, cores)
    blocksize = _partition(limit.bytes, threads)
    workers = _clamp(free // (DASK_WORKER + DASK_NANNY), 1, min(cores, 4))
    worker_memory = max(free // workers - DASK_NANNY, 128 * MiB)
    spark_free = limit.bytes - SPARK_DRIVER - JVM_EXTRA
    spark_cores = _clamp((spark_free - SPARK_MIN_HEAP) // SPARK_PY_WORKER, 1, cores)
    heap = _clamp(spark_free - spark_cores * SPARK_PY_WORKER, SPARK_MIN_HEAP, SPARK_HEAP) // MiB * MiB
    partition = _clamp(heap // 16, 8 * MiB, 64 * MiB)
    return Sizes(limit, cores, int(batch_rows), int(threads), int(blocksize), int(workers), int(worker_memory),
                 int(spark_cores), int(heap), int(partition))


def _partition(limit: int, threads: int) -> int:
    return _clamp(max(limit - DRIVER, 0) // (max(threads, 1) * PARTITION_FACTOR), 1 * MiB, 64 * MiB)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(int(value), high))
