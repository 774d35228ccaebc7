"""The same row filter keeps the same rows on every backend: pandas, Dask and Spark give the
same analysis of the planted rows, and Spark's translation of a filter (which filters the rows
on the executors) keeps exactly the rows the pandas mask keeps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from backends_kit import LOGIT_SAMPLE, analyze, assert_same, assert_same_logit, logistic

# x2 has missing values, segment has missing values and is text; x8 a number
FILTER = "segment != 'west' and (x8 > -1.2 or x2 is missing) and not x6 < -2"
SPARK = {"spark_config": {"spark.master": "local[2]"}}


def expected_rows(path: str) -> int:
    import pandas as pd

    df = pd.read_csv(path)
    keep = (df.segment.notna() & (df.segment != "west")) & ((df.x8 > -1.2) | df.x2.isna()) & ~(df.x6 < -2)
    return int(keep.sum())


@pytest.fixture(scope="module")
def filtered_reference(planted: dict[str, str]) -> dict[str, Any]:
    doc = analyze(planted["csv-file"], "pandas", row_filter=FILTER)
    assert doc["data"]["rows"] == expected_rows(planted["csv-file"])
    return doc


@pytest.mark.parametrize("layout", ["csv-file", "parquet-parts"])
def test_dask_keeps_the_rows_pandas_keeps(layout: str, planted: dict[str, str],
                                          filtered_reference: dict[str, Any]) -> None:
    pytest.importorskip("dask")
    doc = analyze(planted[layout], "dask", {"dask_config": {}}, row_filter=FILTER)
    assert doc["data"]["rows"] == filtered_reference["data"]["rows"]
    assert_same(doc, filtered_reference, f"dask on {layout}")


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["csv-file", "parquet-parts"])
def test_spark_keeps_the_rows_pandas_keeps(layout: str, spark_local: Any, planted: dict[str, str],
                                           filtered_reference: dict[str, Any]) -> None:
    doc = analyze(planted[layout], "spark", SPARK, row_filter=FILTER)
    assert doc["data"]["rows"] == filtered_reference["data"]["rows"]
    assert_same(doc, filtered_reference, f"spark on {layout}")


@pytest.mark.slow
def test_spark_filters_where_it_reads(spark_local: Any, planted: dict[str, str]) -> None:
    """The filter becomes a Spark expression applied before the rows reach Python."""
    from greta_core.backends.spark_backend import SparkBackend
    from greta_core.ingestion.readers import FileSpec
    from greta_core.plan.row_filter import parse

    backend = SparkBackend(FileSpec(planted["csv-file"]), **SPARK)
    kinds = {f"x{i}": "numeric" for i in range(1, 9)} | {"segment": "text", "y": "numeric"}
    backend.push_row_filter(parse(FILTER))
    df = backend._read(list(kinds), kinds)
    assert "Filter" in df._jdf.queryExecution().optimizedPlan().toString()
    assert df.count() == expected_rows(planted["csv-file"])


@pytest.mark.slow
def test_the_spark_translation_keeps_the_pandas_rows(spark_local: Any) -> None:
    from core.plan.test_row_filter import SAME, frame  # the filters of the language's own tests

    from greta_core.plan.row_filter import parse

    pdf = frame().drop(columns=["when"]).assign(row=lambda d: np.arange(len(d)))
    pdf["x1"] = pdf.x1.astype(float)
    sdf = spark_local.createDataFrame(pdf.astype(object).where(pdf.notna(), None))
    sdf = sdf.withColumn("x1", sdf.x1.cast("double"))
    translated = 0
    for text, _ in SAME:
        f = parse(text)
        if "when" in f.columns():
            continue
        where = f.to_spark(sdf.schema)
        assert where is not None, text  # each is a number, text or true/false compared with its kind
        got = sorted(r.row for r in sdf.filter(where).select("row").collect())
        assert got == list(np.flatnonzero(f.mask(pdf))), text
        translated += 1
    assert translated >= 15
    # NaN is missing too (Spark would call NaN greater than any number)
    nan = spark_local.createDataFrame([(float("nan"), 0), (1.0, 1), (None, 2)], "v double, row long")
    for text, want in (("v > 0", [1]), ("not v > 0", [0, 2]), ("v is missing", [0, 2]), ("v != 1", [])):
        rows = sorted(r.row for r in nan.filter(parse(text).to_spark(nan.schema)).collect())
        assert rows == want, text
    # text values the CSV reader counts as missing, and comparisons Spark would convert otherwise
    text = spark_local.createDataFrame([("NA", 0), ("north", 1), (None, 2)], "s string, row long")
    got = sorted(r.row for r in text.filter(parse("s is missing").to_spark(text.schema, ("NA",))).collect())
    assert got == [0, 2]
    assert parse("s > 3").to_spark(text.schema) is None
    assert parse("row == 'a'").to_spark(text.schema) is None


@pytest.mark.slow
def test_the_spark_logistic_fit_uses_the_filtered_rows(spark_local: Any, planted: dict[str, str]) -> None:
    flt = "segment != 'west' and x8 > -1.5"
    ref = analyze(planted["binary-csv"], "pandas", sample_size=LOGIT_SAMPLE["pandas"], row_filter=flt)
    doc = analyze(planted["binary-csv"], "spark", SPARK, sample_size=LOGIT_SAMPLE["spark"], row_filter=flt)
    assert doc["data"]["rows_holdout"] == ref["data"]["rows_holdout"]
    got = logistic(doc)
    assert got and all(f["logistic"]["rows"] == ref["data"]["rows_holdout"] for f in got.values())
    assert_same_logit(got, logistic(ref), "spark local[2], filtered")
