"""One Spark session, set up the quiet and loopback-safe way (STACK.md), and reading data with it.

``SparkConnector(config)`` takes Spark properties (``scalability.spark_config``), e.g.
``{"spark.master": "spark://127.0.0.1:7077", "spark.executor.memory": "2g"}``. Greta's
defaults: a local master binding to 127.0.0.1 only, the UI off, no console progress bars,
log4j2 at level ``error``, and the Python workers run this interpreter (``PYSPARK_PYTHON =
sys.executable``). The driver's heap (``spark.driver.memory``), a local master's cores, the
partition size and the Arrow batches are sized from the memory this process may use
(``greta_core.resources.sizing``). Properties given in ``config`` win over the defaults.

pyspark is imported only when a session is started.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from greta_core.errors import DataFormatError, SparkUnavailableError
from greta_core.ingestion.distributed_utils import (
    SPARK_INSTALL,
    java_status,
    module_version,
    tcp_reachable,
)

LOG4J2 = """\
# Written by Greta: Spark logs errors only (STACK.md).
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
"""
DEFAULT_MAX_COLLECT_ROWS = 5_000_000
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def log4j2_file() -> str:
    """A log4j2 configuration that keeps Spark quiet (written once per user to the temp dir)."""
    path = Path(tempfile.gettempdir()) / f"greta-log4j2-{os.getuid() if hasattr(os, 'getuid') else 0}.properties"
    if not path.exists() or path.read_text() != LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(LOG4J2)
        os.replace(tmp, path)
    return str(path)


def is_local_master(master: str) -> bool:
    return master.startswith("local")


def is_loopback_master(master: str) -> bool:
    if is_local_master(master):
        return True
    host = master.split("://", 1)[-1].split(":", 1)[0].split(",", 1)[0]
    return host in _LOOPBACK


def spark_problem(master: str) -> str | None:
    """Why Spark cannot run with ``master`` here (None if it can, as far as can be told)."""
    if module_version("pyspark") is None:
        return f"pyspark is not installed. Install it with: {SPARK_INSTALL}"
    ok, detail = java_status()
    if not ok:
        return detail
    if master.startswith("spark://"):
        for hp in master[len("spark://"):].split(","):
            reachable, why = tcp_reachable(hp, 7077)
            if reachable:
                return None
        return (f"the Spark master {master} is not reachable: {why}. Start it or fix "
                "scalability.spark_config.spark.master")
    return None


def system_blas() -> bool:
    """Whether this machine has the system BLAS and LAPACK MLlib's netlib loads
    (``libblas.so.3``, ``liblapack.so.3``); without them the driver uses netlib's Java code,
    told not to try (it would print its failed ``dlopen`` on the terminal)."""
    import ctypes.util

    return ctypes.util.find_library("blas") is not None and ctypes.util.find_library("lapack") is not None


class SparkConnector:
    """A Spark session for Greta, and reading data with it.

    Parameters
    ----------
    config
        Spark properties, e.g. ``{"spark.master": "local[2]"}``; they win over Greta's defaults.
    workers
        Cores of the default ``local[N]`` master (sized from the cores and the memory limit when
        None); ignored when ``spark.master`` is given.
    max_collect_rows
        :meth:`convert_to_pandas` refuses frames with more rows than this.
    """

    def __init__(self, config: Mapping[str, Any] | None = None, workers: int | None = None,
                 max_collect_rows: int = DEFAULT_MAX_COLLECT_ROWS) -> None:
        self.user_config = {str(k): v for k, v in (config or {}).items()}
        self.max_collect_rows = int(self.user_config.pop("greta.max_collect_rows", max_collect_rows))
        from greta_core.resources.sizing import engine_sizes

        self.sizes = engine_sizes()
        cores = workers or self.sizes.spark_cores
        self.master = str(self.user_config.get("spark.master") or f"local[{cores}]")
        self.spark: Any = None

    # ------------------------------------------------------------------------------ the session
    def settings(self, batch_rows: int = 65536) -> dict[str, str]:
        """The Spark properties the session is built with (defaults, then ``config``)."""
        java_opts = f"-Dlog4j2.configurationFile=file:{log4j2_file()}"
        driver_opts = java_opts
        if not system_blas():  # MLlib's netlib would print its failed dlopen on the terminal
            driver_opts += " -Ddev.ludovic.netlib.blas.allowNative=false -Ddev.ludovic.netlib.lapack.allowNative=false"
        conf = {
            "spark.master": self.master,
            "spark.app.name": "greta",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.extraJavaOptions": driver_opts,
            "spark.executor.extraJavaOptions": java_opts,
            "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.execution.arrow.maxRecordsPerBatch": str(batch_rows),
            "spark.sql.files.maxPartitionBytes": str(self.sizes.spark_partition_bytes),
            "spark.driver.memory": self.sizes.spark_driver_memory(),
            "spark.executorEnv.OPENBLAS_NUM_THREADS": "1",
            "spark.executorEnv.PYSPARK_PYTHON": sys.executable,
            # executors sample their memory between heartbeats, so a stage shorter than one
            # heartbeat (10 s) still reports its peak in the per-stage metrics
            "spark.executor.metrics.pollingInterval": "250ms",
        }
        if is_loopback_master(self.master):
            conf["spark.driver.host"] = "127.0.0.1"
            conf["spark.driver.bindAddress"] = "127.0.0.1"
        for k, v in self.user_config.items():
            conf[k] = str(v).lower() if isinstance(v, bool) else str(v)
        return conf

    def initialize_spark_session(self, batch_rows: int = 65536) -> Any:
        """Start (or reuse) the Spark session; :class:`SparkUnavailableError` says why not."""
        if self.spark is not None:
            return self.spark
        problem = spark_problem(self.master)
        if problem:
            msg = f"Spark cannot be used: {problem}."
            raise SparkUnavailableError(msg)
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None and self._compatible(active):
            self.spark = active
            quiet_driver_errors(active)
            return active
        os.environ["PYSPARK_PYTHON"] = sys.executable
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        if is_loopback_master(self.master):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder
        for k, v in self.settings(batch_rows).items():
            builder = builder.config(k, v)
        try:
            self.spark = builder.getOrCreate()
        except Exception as e:  # noqa: BLE001 - py4j and the JVM raise many types
            text = " ".join(str(e).split())[:300]
            msg = f"Spark could not start with master {self.master!r}: {type(e).__name__}: {text}."
            raise SparkUnavailableError(msg) from None
        quiet_driver_errors(self.spark)
        return self.spark

    def _compatible(self, session: Any) -> bool:
        want = self.user_config.get("spark.master")
        return want is None or session.sparkContext.master == want

    def stop(self) -> None:
        if self.spark is not None:
            self.spark.stop()
            self.spark = None

    # -------------------------------------------------------------------------------- reading
    def load_data(self, file_path: str | list[str], format: str = "auto", schema: Any = None,
                  delimiter: str | None = None, columns: list[str] | None = None, **options: Any) -> Any:
        """A Spark DataFrame of a file, a glob, a directory of parts or a list of files.

        CSV is read with a header and ``schema`` (a ``StructType`` or a DDL string); without a
        schema every column is read as text (never ``inferSchema``, which reads the whole
        file once just to guess types). Extra ``options`` go to Spark's reader.
        """
        spark = self.initialize_spark_session()
        paths = [file_path] if isinstance(file_path, str) else list(file_path)
        fmt = format
        if fmt == "auto":
            from greta_core.ingestion.distributed_utils import list_parts, part_format

            fmt = part_format(list_parts(paths[0])[0], "auto")
        if fmt == "parquet":
            df = spark.read.options(**options).parquet(*paths)
        elif fmt in ("csv", "tsv"):
            if schema is None:
                schema = self._text_schema(paths[0], delimiter or ("\t" if fmt == "tsv" else None))
            opts = {"header": "true", "sep": delimiter or ("\t" if fmt == "tsv" else ","), "escape": '"',
                    "mode": "PERMISSIVE", "encoding": "UTF-8", **options}
            df = spark.read.options(**opts).schema(schema).csv(paths)
        else:
            msg = f"Spark reads CSV, TSV and Parquet here; got format {fmt!r}."
            raise DataFormatError(msg)
        return df.select(*[quoted(c) for c in columns]) if columns else df

    @staticmethod
    def _text_schema(path: str, delimiter: str | None) -> Any:
        from pyspark.sql import types as T

        from greta_core.ingestion.distributed_utils import _csv_header, list_parts

        _, names = _csv_header(list_parts(path)[0][0], delimiter, {})
        return T.StructType([T.StructField(n, T.StringType()) for n in names])

    def convert_to_pandas(self, df: Any, max_rows: int | None = None) -> Any:
        """Collect a (small) Spark DataFrame to pandas through Arrow.

        Raises :class:`DataFormatError` when it has more than ``max_rows`` rows (default
        ``max_collect_rows``): a big frame would not fit in the driver.
        """
        limit = self.max_collect_rows if max_rows is None else max_rows
        n = df.limit(limit + 1).count()
        if n > limit:
            msg = (f"The Spark DataFrame has more than {limit:,} rows: too many to collect into one "
                   "pandas frame on the driver. Run the analysis on Spark (--backend spark), convert "
                   "it with convert_to_dask_from_spark, or raise greta.max_collect_rows.")
            raise DataFormatError(msg)
        if hasattr(df, "toArrow"):
            return df.toArrow().to_pandas(split_blocks=True)
        return df.toPandas()


def quoted(name: str) -> Any:
    """A column reference that survives dots and spaces in the name."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


class _Py4JLogs(logging.Filter):
    """Drops the records Py4J logs on the root logger, with a traceback, when the JVM is gone
    ("Exception while sending command."): the Py4J error raised next says it, in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"{os.sep}py4j{os.sep}" not in record.pathname


def quiet_driver_errors(spark: Any) -> None:
    """When Spark's JVM dies (the kernel killed it for memory), the error Greta raises is the
    one line the user sees: no Py4J log record and no traceback from pyspark's accumulator
    server (it prints one when the JVM's connection to it breaks)."""
    root = logging.getLogger()
    if not any(isinstance(f, _Py4JLogs) for f in root.filters):
        root.addFilter(_Py4JLogs())
    server = getattr(getattr(spark, "sparkContext", None), "_accumulatorServer", None)
    if server is not None:
        server.handle_error = lambda request, address: logging.getLogger("greta.spark").debug(
            "pyspark's accumulator server lost its connection from %s", address, exc_info=True)


__all__ = ["SparkConnector", "is_local_master", "log4j2_file", "spark_problem"]
