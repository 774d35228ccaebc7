"""The Spark connector and the Python API on the test session's local[2] session: loading with
an explicit schema, refusing to collect a big frame, Spark → Dask without one pandas frame, a
Spark DataFrame analysed where it lives, and cancellation."""

from __future__ import annotations

from typing import Any

import pytest
from backends_kit import SEARCH, assert_same

from greta_core.errors import CancelledError, DataFormatError
from greta_core.ingestion.readers import FileSpec


def _schema() -> str:
    return ", ".join([f"x{i} double" for i in range(1, 9)] + ["segment string", "y double"])


def test_load_spark_dataframe_uses_the_schema_it_is_given(spark_local: Any, planted: dict[str, str]) -> None:
    from greta_core.ingestion import load_spark_dataframe

    df = load_spark_dataframe(planted["csv-parts"] + "/part-*.csv", schema=_schema(),
                              spark_config={"spark.master": "local[2]"})
    assert df.count() == 20_000
    assert dict(df.dtypes)["x1"] == "double" and dict(df.dtypes)["segment"] == "string"
    text = load_spark_dataframe(planted["csv-file"], spark_config={"spark.master": "local[2]"})
    assert set(dict(text.dtypes).values()) == {"string"}  # no schema: text, never inferSchema
    pq = load_spark_dataframe(planted["parquet-parts"], columns=["x1", "y"])
    assert pq.columns == ["x1", "y"] and pq.count() == 20_000


def test_convert_to_pandas_refuses_a_big_frame(spark_local: Any, planted: dict[str, str]) -> None:
    from greta_core.ingestion.spark_connector import SparkConnector

    conn = SparkConnector({"spark.master": "local[2]"}, max_collect_rows=1000)
    df = conn.load_data(planted["parquet-parts"])
    with pytest.raises(DataFormatError, match="more than 1,000 rows"):
        conn.convert_to_pandas(df)
    small = conn.convert_to_pandas(df.limit(10))
    assert len(small) == 10 and list(small.columns) == df.columns


@pytest.mark.parametrize("how", ["arrow", "parquet"])
def test_convert_to_dask_from_spark(spark_local: Any, planted: dict[str, str], how: str, tmp_path: Any) -> None:
    import numpy as np

    from greta_core.ingestion import convert_to_dask_from_spark, load_spark_dataframe

    df = load_spark_dataframe(planted["parquet-parts"], spark_config={"spark.master": "local[2]"})
    if how == "arrow":
        ddf = convert_to_dask_from_spark(df)
    else:
        ddf = convert_to_dask_from_spark(df, path=str(tmp_path / "out"), max_arrow_rows=100)
    assert ddf.npartitions >= 1 and len(ddf) == 20_000
    assert np.isclose(ddf["y"].sum().compute(), df.selectExpr("sum(y)").first()[0], rtol=1e-12)


def test_spark_dataframe_through_the_python_api(spark_local: Any, planted: dict[str, str],
                                               reference: dict[str, Any]) -> None:
    from greta_cli.config import GretaConfig
    from greta_cli.core_integration.integration import run_analysis_pipeline
    from greta_core.ingestion import load_spark_dataframe

    df = load_spark_dataframe(planted["csv-file"], schema=_schema())
    cfg = GretaConfig.model_validate({"data": {"target": "y"}, "hypothesis_search": {**SEARCH}})
    doc = run_analysis_pipeline(cfg, df)
    assert doc["data"]["backend"] == "spark" and doc["data"]["source"] == "<pyspark DataFrame>"
    assert_same(doc, reference, "a Spark DataFrame")


def test_spark_statistics_pass_can_be_cancelled(spark_local: Any, planted: dict[str, str]) -> None:
    from greta_core.backends import open_backend

    backend = open_backend("spark", FileSpec(planted["csv-file"]), options={"spark_config": {"spark.master": "local[2]"}})
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 1  # not before the job starts: while it runs

    with pytest.raises(CancelledError):
        backend.reduce(_slow(), _empty(), ["x1", "y"], {"x1": "numeric", "y": "numeric"}, None, cancel)
    assert spark_local.range(3).count() == 3  # the session survives


def _slow() -> Any:
    """A batch function Spark's Python workers unpickle by value (this test module is not on their
    path), so the job fails only by being cancelled."""

    def slow(df: Any) -> Any:
        import time

        from greta_core.stats.summary import empty_summary

        time.sleep(30)
        return empty_summary(1, 1, 0, 10)

    return slow


def _empty() -> Any:
    from greta_core.stats.summary import empty_summary

    return empty_summary(1, 1, 0, 10)
