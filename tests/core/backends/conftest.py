"""Fixtures of the backend tests: the planted data (one CSV file, CSV parts, Parquet parts, a
big data set), the pandas reference analysis, a ``dask scheduler`` + 2 ``dask worker``
processes with nannies (see ``engines.py``), and the runs on the Spark standalone cluster.

A test whose Dask, Spark or Java is missing is skipped, except with ``CI=true``: it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("backends_kit")  # its failed asserts say what they compared
from backends_kit import BIG_ROWS, DASK_WORKER_LIMIT, SPARK_EXECUTOR_MEMORY, analyze, write_planted
from engines import BIN, QUIET_ENV, DaskCluster, need

# The statistics pass keeps no data on the workers: no spilling, no pausing (a paused worker
# would wait forever); above 95% of its limit the nanny restarts the worker, which the tests see.
NO_SPILL = {"DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "False", "DASK_DISTRIBUTED__WORKER__MEMORY__SPILL": "False",
            "DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE": "False"}


# ---------------------------------------------------------------------------------- the data
@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_planted(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="session")
def logit_reference(planted: dict[str, str]) -> dict[str, Any]:
    """statsmodels' Logit on every held-out row of the yes/no planted data (rebuilt from the
    file, ``tests/refits.py``), for each hypothesis the pandas backend confirms, on the columns
    it reports odds ratios of: the answer MLlib must give."""
    from backends_kit import logistic, params
    from refits import design, held_out_rows, statsmodels_logit

    path = planted["binary-csv"]
    doc = analyze(path, "pandas")
    rows = held_out_rows(path, params("pandas"), sample=False)
    assert len(rows) == doc["data"]["rows_holdout"]
    out = {}
    for name, fit in logistic(doc).items():
        labels = [o["column"] for o in fit["odds_ratios"]]
        ref = statsmodels_logit(rows, design(rows, doc, labels))
        assert ref.mle_retvals["converged"] and labels, name
        out[name] = {"odds_ratios": [{"column": c, "estimate": float(b), "std_error": float(se)}
                                     for c, b, se in zip(labels, ref.params[1:], ref.bse[1:])],
                     "logistic": {"rows": len(rows)}}
    assert out
    return out


@pytest.fixture(scope="session")
def reference(planted: dict[str, str]) -> dict[str, Any]:
    """The pandas backend on the single CSV file: the answer every backend must give."""
    doc = analyze(planted["csv-file"], "pandas")
    assert doc["data"]["backend"] == "pandas" and doc["data"]["rows"] == 20_000
    return doc


# ---------------------------------------------------------------------------------------- Dask
@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    need("distributed", "dask")
    c = DaskCluster(tmp_path_factory.mktemp("dask-cluster"), DASK_WORKER_LIMIT, worker_env=NO_SPILL)
    try:
        yield c.start(2)
    finally:
        c.stop()


# ------------------------------------------------------------- out of core, and the standalone run
@pytest.fixture(scope="session")
def big_parquet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A directory of Parquet parts at least 3× larger (in memory) than any worker may use;
    deleted afterwards (1.2 GB)."""
    import shutil

    from backends_kit import write_big_parquet

    root = tmp_path_factory.mktemp("big") / "big_parquet"
    try:
        yield str(root), write_big_parquet(root, BIG_ROWS)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def big_single_file(big_parquet: tuple[str, int]) -> Iterator[Any]:
    """The same rows as one file, for the pandas backend: ``big_single_file("csv")`` (2.8 GiB)
    or ``("parquet")``; each written once, deleted afterwards."""
    from backends_kit import join_parts

    made: dict[str, Path] = {}

    def get(fmt: str) -> tuple[str, int]:
        if fmt not in made:
            made[fmt] = Path(big_parquet[0]).with_name(f"big.{fmt}")
            join_parts(Path(big_parquet[0]), made[fmt])
        return str(made[fmt]), big_parquet[1]

    try:
        yield get
    finally:
        for path in made.values():
            path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def standalone_results(spark_standalone: Any, planted: dict[str, str], big_parquet: tuple[str, int],
                       tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every planted layout and the big data set analysed on the standalone cluster, from a
    subprocess (Spark allows one session per process; this one is the test session's local[2])."""
    import json

    out = tmp_path_factory.mktemp("standalone") / "results.json"
    kit = Path(__file__).with_name("backends_kit.py")
    inputs = [planted["csv-file"], planted["csv-parts"], planted["parquet-parts"], planted["binary-csv"],
              big_parquet[0]]
    env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "SPARK_WORKER_PID": str(spark_standalone.procs[-1].pid)}
    proc = subprocess.run([sys.executable, str(kit), spark_standalone.master, str(out), SPARK_EXECUTOR_MEMORY,
                           *inputs], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"results": json.loads(out.read_text()), "stderr": proc.stderr}
