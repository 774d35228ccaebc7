"""Every engine gives the pandas answer: the same confirmed hypotheses and holdout p-values
(relative difference < 1e-9) on the same planted rows, read as one CSV file, a directory of
CSV parts and a directory of Parquet parts — pandas, Dask threaded, a real Dask scheduler with
2 worker processes, Spark local[2] and a Spark standalone master + worker."""

from __future__ import annotations

from typing import Any

import pytest
from backends_kit import ROWS, analyze, assert_same, assert_stage_metrics
from usage import Usage, descendants, measured, peak_bounds

LAYOUTS = ("csv-file", "csv-parts", "parquet-parts")


def engine(name: str, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return engine_and_workers(name, request)[:2]


def engine_and_workers(name: str, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], Any]:
    """The backend, its settings and a function that lists its worker processes (None: this
    process does the work)."""
    if name == "dask-threads":
        return "dask", {"dask_config": {}}, None
    if name == "dask-cluster":
        cluster = request.getfixturevalue("dask_cluster")
        return "dask", {"dask_config": {"address": cluster.address}}, cluster.worker_pids
    jvm = request.getfixturevalue("spark_local").sparkContext._gateway.proc.pid  # noqa: SLF001
    return "spark", {"spark_config": {"spark.master": "local[2]"}}, lambda: descendants(jvm)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", ["dask-threads", "dask-cluster", "spark-local"])
def test_engine_gives_the_pandas_answer(name: str, layout: str, planted: dict[str, str],
                                        reference: dict[str, Any], request: pytest.FixtureRequest) -> None:
    backend, extra, workers = engine_and_workers(name, request)
    with Usage(workers) as outside:
        doc = analyze(planted[layout], backend, extra)
    assert doc["data"]["backend"] == backend
    assert doc["data"]["rows"] == ROWS
    assert doc["data"]["format"] == ("parquet" if "parquet" in layout else "csv")
    used, ref = doc["data"]["columns_used"], reference["data"]["columns_used"]
    assert [(c["name"], c["kind"]) for c in used] == [(c["name"], c["kind"]) for c in ref]
    assert [c.get("centre", 0.0) for c in used] == pytest.approx([c.get("centre", 0.0) for c in ref], rel=1e-9, abs=1e-12)
    assert_same(doc, reference, f"{name} on {layout}")
    m = doc["metrics"]
    assert m["backend"] == backend and m["workers"] == 2
    assert m["partitions"] >= (4 if "parts" in layout and backend == "dask" else 1)  # Spark packs small files
    # the pass over the rows took part of the statistics stage, which took part of the run
    assert m["statistics_seconds"] <= m["stages"]["statistics"]["seconds"] <= outside.wall
    assert m["statistics_rows_per_second"] == pytest.approx(ROWS / m["statistics_seconds"], rel=1e-9)
    assert peak_bounds(outside)[0] <= m["driver_peak_memory_mb"] <= peak_bounds(outside)[1]
    if layout == "csv-file":
        import os

        assert_stage_metrics(m, backend, os.path.getsize(planted[layout]), workers=name != "dask-threads",
                             outside=outside)


# more candidate terms than the search keeps, and fewer planning rows than the data has: the
# candidates are screened on a sample of discovery rows that a first pass over the data keeps
SCREENED = {"max_design_columns": 30, "sample_rows": 2000}


@pytest.fixture(scope="module")
def screened_reference(planted: dict[str, str]) -> dict[str, Any]:
    doc = analyze(planted["csv-file"], "pandas", **SCREENED)
    assert doc["data"]["screening"]["discovery_rows"] == 2000
    return doc


@pytest.mark.parametrize("name", ["dask-threads", "dask-cluster", "spark-local"])
def test_engine_screens_candidates_as_pandas_does(name: str, planted: dict[str, str],
                                                  screened_reference: dict[str, Any],
                                                  request: pytest.FixtureRequest) -> None:
    backend, extra = engine(name, request)
    doc = analyze(planted["parquet-parts"], backend, extra, **SCREENED)
    assert doc["data"]["backend"] == backend
    assert doc["data"]["screening"] == screened_reference["data"]["screening"]
    assert doc["notes"] == screened_reference["notes"]
    assert_same(doc, screened_reference, f"{name}, screened")


@pytest.mark.slow
def test_spark_standalone_cluster_gives_the_pandas_answer(standalone_results: dict[str, Any],
                                                          planted: dict[str, str],
                                                          reference: dict[str, Any],
                                                          spark_standalone: Any) -> None:
    results = standalone_results["results"]
    assert results["_conf"]["spark.master"] == spark_standalone.master
    for layout in LAYOUTS:
        got = results[planted[layout]]
        assert got["rows"] == ROWS
        assert got["metrics"]["cluster"] == spark_standalone.master and got["metrics"]["workers"] == 2
        assert_same(got["key"], reference, f"spark standalone on {layout}")
    import os

    csv = planted["csv-file"]
    assert_stage_metrics(results[csv]["metrics"], "spark", os.path.getsize(csv), workers=True,
                         outside=measured(results[csv]["usage"]))


def test_pandas_metrics_per_stage(planted: dict[str, str]) -> None:
    """One process does all the work: nothing moves between processes, no worker figures."""
    import os

    analyze(planted["csv-file"], "pandas")  # every module it needs imported: the next run reads only the data
    with Usage() as outside:
        doc = analyze(planted["csv-file"], "pandas")
    assert_stage_metrics(doc["metrics"], "pandas", os.path.getsize(planted["csv-file"]), workers=False,
                         outside=outside)


def test_spark_logs_stay_quiet(standalone_results: dict[str, Any]) -> None:
    """No JVM log spam on the terminal: only the launcher's one line may remain."""
    noisy = [ln for ln in standalone_results["stderr"].splitlines()
             if ln.strip() and "incubator modules" not in ln]
    assert noisy == []
