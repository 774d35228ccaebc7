"""The Spark backend: the statistics pass runs on the executors.

Each partition goes through ``mapInArrow``: its Arrow batches become pandas batches, the same
per-batch function as the pandas backend summarises them, and the partition's merged summary
leaves the Python worker as one pickled value. ``treeReduce`` merges those summaries on the
executors; only the final (small) summary reaches the driver.

CSV is read with an explicit schema from the plan (numbers as doubles, everything else as
text), never with ``inferSchema``. The driver reads its type-inference sample with pyarrow,
exactly as the pandas backend does, so every backend builds the same plan.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from greta_core.errors import CancelledError, DataFormatError, DistributedComputationError
from greta_core.ingestion.distributed_utils import (
    Source,
    dumps,
    estimate_rows,
    loads,
    resolve_source,
    sample_frame,
    summarize_partition,
)
from greta_core.ingestion.readers import FileSpec
from greta_core.ingestion.spark_connector import SparkConnector, quoted
from greta_core.metrics import peak_memory_mb
from greta_core.stats.summary import Summary


class SparkBackend:
    """Rows held by Spark (``local[N]`` or the master in ``spark_config``)."""

    name = "spark"

    @property
    def fits_on_executors(self) -> bool:
        """Models can be fitted on all rows with MLlib (a classic session; Spark Connect has no RDDs)."""
        return _context(self.spark) is not None

    def __init__(self, spec: FileSpec, workers: int | None = None, **options: Any) -> None:
        self.spec = spec
        self.batch_rows = spec.batch_rows
        self.frame = spec.options.get("dataframe") if spec.options else None
        self.source: Source | None = None
        if self.frame is None:
            self.source = resolve_source(spec, options.get("storage_options"))
        self.format = self.source.format if self.source else "spark"
        if self.source is not None:
            _refuse_unread_text(self.source)
        self.decimal = "."
        self.connector = SparkConnector(options.get("spark_config"), workers=workers)
        if self.frame is not None:
            self.spark = self.frame.sparkSession
            self.connector.spark = self.spark
        else:
            self.spark = self.connector.initialize_spark_session(self.batch_rows)
        self.partitions = 0
        self.rows = 0
        self.seconds = 0.0
        self._columns: tuple[list[str], dict[str, str]] | None = None  # what the last pass read
        self.row_filter: Any = None  # a RowFilter applied where the rows are read (push_row_filter)
        self.task_usage: Any = None  # an accumulator the Python tasks report their usage to

    # ----------------------------------------------------------------------------- the data
    def columns(self) -> list[str]:
        return list(self.frame.columns) if self.frame is not None else list(self.source.columns)  # type: ignore[union-attr]

    def sample(self, n: int) -> Any:
        if self.frame is not None:
            head = self.frame.limit(n)
            return head.toArrow().to_pandas() if hasattr(head, "toArrow") else head.toPandas()
        return sample_frame(self.source, n, self.batch_rows)  # type: ignore[arg-type]

    def estimate_rows(self) -> int | None:
        return estimate_rows(self.source) if self.source is not None else None

    def push_row_filter(self, row_filter: Any) -> None:
        """Filter the rows with ``row_filter`` (a RowFilter) in Spark, on the executors, before
        they become Arrow batches, whenever Spark compares them exactly as the per-batch filter
        does (which still runs, so the rows kept are the same on every backend)."""
        self.row_filter = row_filter

    def _read(self, columns: list[str], kinds: dict[str, str]) -> Any:
        df = self._load(columns, kinds)
        if self.row_filter is not None:
            from greta_core.ingestion.readers import NULL_VALUES

            csv = self.source is not None and self.source.is_csv
            where = self.row_filter.to_spark(df.schema, tuple(NULL_VALUES) if csv else ())
            if where is not None:
                df = df.filter(where)
        return df

    def _load(self, columns: list[str], kinds: dict[str, str]) -> Any:
        from pyspark.sql import types as T

        if self.frame is not None:
            df = self.frame.select(*[quoted(c) for c in columns])
            decimal = [f.name for f in df.schema.fields if isinstance(f.dataType, T.DecimalType)]
            for c in decimal:
                df = df.withColumn(c, quoted(c).cast("double"))
            return df
        src = self.source
        assert src is not None
        if src.format == "parquet":
            return self.connector.load_data(list(src.files), format="parquet", columns=columns)
        schema = T.StructType([
            T.StructField(c, T.DoubleType() if kinds.get(c) == "numeric" else T.StringType())
            for c in src.columns])
        return self.connector.load_data(list(src.files), format="csv", schema=schema,
                                        delimiter=src.delimiter, columns=columns)

    # ------------------------------------------------------------------------ the statistics
    def reduce(self, fn: Callable[[Any], Summary], empty: Summary, columns: list[str],
               kinds: dict[str, str], progress: Callable[[int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> Summary:
        t0 = time.perf_counter()
        if cancel and cancel():
            raise CancelledError("The analysis was cancelled.")
        df = self._read(columns, kinds)
        self._columns = (list(columns), dict(kinds))
        text = [c for c in columns if kinds.get(c) != "numeric"] if self.source and self.source.is_csv else []
        batch_rows = self.batch_rows

        usage = self.task_usage

        def per_partition(batches: Any) -> Any:
            import pyarrow as pa

            from greta_core.resources.spark_usage import TaskUsage

            with TaskUsage(usage) as meter:
                acc = empty
                for b in batches:
                    meter.took(b.nbytes)
                    if b.num_rows:
                        part = b.to_pandas(split_blocks=True, self_destruct=False)
                        acc = acc.merge(summarize_partition(fn, empty, part, batch_rows, text, True))
                out = pa.RecordBatch.from_arrays([pa.array([dumps(acc)], pa.binary())], names=["summary"])
                meter.gave(out.nbytes)
            yield out

        out = df.mapInArrow(per_partition, "summary binary")
        if type(out).__module__.startswith("pyspark.sql.connect"):
            # Spark Connect has no RDDs: the per-partition summaries (small) merge on the driver
            result = self._run(lambda: _merge_rows(out.collect(), empty), empty, progress, cancel)
        else:
            summaries = out.rdd.map(_unpickle_row)
            self.partitions += summaries.getNumPartitions()
            result = self._run(lambda: summaries.treeReduce(_merge, depth=2), empty, progress, cancel)
        self.rows += result.rows_read
        self.seconds += time.perf_counter() - t0
        if progress:
            progress(result.rows_read)
        return result

    def rows_frame(self, fn: Callable[[Any], Any], names: list[str]) -> Any:
        """A Spark DataFrame of the float64 rows ``fn`` makes of each batch of raw rows (``names``
        its columns), computed on the executors where the rows are read; nothing is collected.
        Used to fit MLlib models on all holdout rows (the logistic check)."""
        import pyarrow as pa

        if self._columns is None:
            msg = "rows_frame needs a statistics pass first (it reads the columns that pass read)."
            raise RuntimeError(msg)
        columns, kinds = self._columns
        df = self._read(columns, kinds)
        text = [c for c in columns if kinds.get(c) != "numeric"] if self.source and self.source.is_csv else []
        batch_rows = self.batch_rows
        schema = pa.schema([(n, pa.float64()) for n in names])

        usage = self.task_usage

        def per_partition(batches: Any) -> Any:
            from greta_core.ingestion.distributed_utils import nulls_to_none, pin_blas_once
            from greta_core.resources.spark_usage import TaskUsage

            pin_blas_once()
            with TaskUsage(usage) as meter:
                for b in batches:
                    meter.took(b.nbytes)
                    part = b.to_pandas(split_blocks=True, self_destruct=False)
                    for start in range(0, len(part), batch_rows):
                        chunk = part.iloc[start:start + batch_rows].reset_index(drop=True)
                        values = fn(nulls_to_none(chunk, text) if text else chunk)
                        if len(values):
                            out = pa.RecordBatch.from_arrays([pa.array(values[:, i]) for i in range(len(names))],
                                                             schema=schema)
                            meter.gave(out.nbytes)
                            yield out

        return df.mapInArrow(per_partition, ", ".join(f"`{n}` double" for n in names))

    def _run(self, action: Callable[[], Summary], empty: Summary, progress: Callable[[int], None] | None,
             cancel: Callable[[], bool] | None) -> Summary:
        sc = _context(self.spark)
        if sc is None:  # Spark Connect: no job groups or status tracker here
            return action()
        group = f"greta-{uuid.uuid4().hex[:12]}"
        sc.setJobGroup(group, "Greta statistics pass", interruptOnCancel=True)
        stop, cancelled = threading.Event(), threading.Event()
        total = self.estimate_rows() or 0

        def watch() -> None:
            while not stop.wait(0.25):
                if cancel and cancel():
                    cancelled.set()
                    sc.cancelJobGroup(group)
                    return
                if progress and total:
                    try:
                        done, tasks = _task_counts(sc, group)
                    except Exception:  # noqa: BLE001 - the JVM is gone: the job's own error says so
                        return
                    if tasks:
                        progress(int(total * done / tasks))

        watcher = threading.Thread(target=watch, name="greta-spark-watch", daemon=True)
        watcher.start()
        try:
            return action()
        except ValueError as e:
            if "empty RDD" in str(e):
                return empty
            raise
        except Exception as e:
            if cancelled.is_set():
                raise CancelledError("The analysis was cancelled.") from None
            msg = f"The Spark job failed: {_last_line(e)}"
            raise DistributedComputationError(msg) from e
        finally:
            stop.set()
            watcher.join()
            sc.setLocalProperty("spark.jobGroup.id", None)

    def usage_meter(self) -> Any:
        """The meter of the executors and their Python workers (None on Spark Connect)."""
        if _context(self.spark) is None:
            return None
        from greta_core.resources.spark_usage import SparkMeter

        return SparkMeter(self)

    def info(self) -> dict[str, Any]:
        sc = _context(self.spark)
        return {
            "backend": self.name, "partitions": self.partitions,
            "workers": sc.defaultParallelism if sc else None,
            "cluster": sc.master if sc else "spark connect", "statistics_seconds": self.seconds,
            "statistics_rows_per_second": self.rows / self.seconds if self.seconds > 0 else None,
            "driver_peak_memory_mb": peak_memory_mb(),
            "driver_jvm_memory_mb": _jvm_rss_mb(),
        }


def _refuse_unread_text(source: Source) -> None:
    """Spark is given plain text with decimal points: it parses the numbers itself."""
    name = source.files[0] if len(source.files) == 1 else source.path
    if source.compressed:
        msg = (f"{name!r} is compressed text, which the Spark backend does not read here. Use "
               "--backend dask or pandas, or decompress it (or save it as Parquet).")
        raise DataFormatError(msg)
    if source.decimal != ".":
        msg = (f"{name!r} writes numbers with a decimal comma (1,5), which the Spark backend does not "
               "read. Use --backend dask or pandas, or export the data with decimal points.")
        raise DataFormatError(msg)


def _context(spark: Any) -> Any:
    try:
        return spark.sparkContext
    except Exception:  # noqa: BLE001 - Spark Connect sessions have none
        return None


def _unpickle_row(row: Any) -> Any:
    return loads(row[0])


def _merge(a: Summary, b: Summary) -> Summary:
    return a.merge(b)


def _merge_rows(rows: list[Any], empty: Summary) -> Summary:
    acc = empty
    for row in rows:
        acc = acc.merge(loads(row[0]))
    return acc


def _task_counts(sc: Any, group: str) -> tuple[int, int]:
    st = sc.statusTracker()
    done = tasks = 0
    for job in st.getJobIdsForGroup(group):
        info = st.getJobInfo(job)
        for sid in (info.stageIds if info else []):
            stage = st.getStageInfo(sid)
            if stage:
                done, tasks = done + stage.numCompletedTasks, tasks + stage.numTasks
    return done, tasks


def _last_line(e: Exception) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    useful = [ln for ln in lines if "Error" in ln or "Exception" in ln] or lines or [type(e).__name__]
    return " ".join(useful[-1].split())[:300]


def _jvm_rss_mb() -> float | None:
    try:
        import psutil

        kids = psutil.Process().children(recursive=True)
        return sum(p.memory_info().rss for p in kids if "java" in p.name()) / 2**20 or None
    except Exception:  # noqa: BLE001 - best effort
        return None


__all__ = ["SparkBackend"]
