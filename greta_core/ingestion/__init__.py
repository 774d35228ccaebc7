"""Reading data: local streaming readers (``readers``), Spark (``spark_connector``) and what
Dask and Spark share (``distributed_utils``).

Importing this package imports neither pandas, dask nor pyspark; the functions below import
what they need when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    from pyspark.sql import DataFrame as SparkDataFrame

#: What the Python API accepts as data besides a path: a pandas, Dask or Spark DataFrame.
DataFrame = Union["pd.DataFrame", "dd.DataFrame", "SparkDataFrame"]

ARROW_MAX_ROWS = 1_000_000


def load_spark_dataframe(file_path: str | list[str], **kwargs: Any) -> SparkDataFrame:
    """Read a file, glob, directory of parts or list of files into a Spark DataFrame.

    Keyword arguments: ``spark_config`` (Spark properties for the session, see
    :class:`~greta_core.ingestion.spark_connector.SparkConnector`), ``format`` (auto, csv, tsv,
    parquet), ``schema`` (a ``StructType`` or DDL string; CSV without one is read as text,
    never with ``inferSchema``), ``delimiter``, ``columns``; anything else is a Spark reader
    option. Raises :class:`~greta_core.errors.SparkUnavailableError` when Spark cannot start.
    """
    from greta_core.ingestion.spark_connector import SparkConnector

    connector = SparkConnector(kwargs.pop("spark_config", None))
    return connector.load_data(file_path, **kwargs)


def should_use_spark(file_path: str, estimated_rows: int | None = None,
                     options: dict[str, Any] | None = None) -> bool:
    """Whether ``auto`` would run an analysis of ``file_path`` on Spark.

    True when a Spark cluster is configured in ``options["spark_config"]``, or the data (its
    size, or ``estimated_rows`` × 100 bytes) is larger than the available memory, and Spark is
    installed, Java is found and the master is reachable. Small local files are never sent to
    Spark (the check then imports nothing heavy).
    """
    from greta_core.backends import decide

    try:
        return decide(file_path, options or {}, estimated_rows).backend == "spark"
    except ImportError:
        return False


def convert_to_dask_from_spark(spark_df: SparkDataFrame, path: str | None = None,
                               max_arrow_rows: int = ARROW_MAX_ROWS) -> dd.DataFrame:
    """A Dask DataFrame with the rows of ``spark_df``, never built as one pandas frame.

    Up to ``max_arrow_rows`` rows travel through Arrow (``toArrow`` on Spark 4, one Dask
    partition per record batch); bigger frames are written as Parquet by the executors to
    ``path`` (a new temporary directory when None; it must be visible to the Dask workers and
    is left for the caller to delete) and read back with ``dd.read_parquet``.
    """
    import dask.dataframe as dd

    small = path is None and hasattr(spark_df, "toArrow") and \
        spark_df.limit(max_arrow_rows + 1).count() <= max_arrow_rows
    if small:
        table = spark_df.toArrow()
        meta = table.schema.empty_table().to_pandas()
        if not table.num_rows:
            return dd.from_pandas(meta, npartitions=1)
        batches = table.to_batches(max_chunksize=65536)
        return dd.from_map(_batch_to_pandas, batches, meta=meta, enforce_metadata=False)
    if path is None:
        import tempfile

        path = tempfile.mkdtemp(prefix="greta-spark-to-dask-")
    spark_df.write.mode("overwrite").parquet(path)
    return dd.read_parquet(path)


def _batch_to_pandas(batch: Any) -> Any:
    return batch.to_pandas()


def frame_engine(obj: Any) -> str | None:
    """"pandas", "dask" or "spark" for a DataFrame of that engine, else None."""
    from greta_core.backends import frame_engine as engine

    return engine(obj)


__all__ = ["DataFrame", "convert_to_dask_from_spark", "frame_engine", "load_spark_dataframe",
           "should_use_spark"]
