"""Out of core: a data set at least 3× larger (in memory) than what each worker may use
completes — ``greta run`` with the pandas backend on one Parquet or CSV file, in a kernel
memory cgroup (above its limit the kernel's OOM killer ends the process), Dask workers capped by their memory limit (the
nanny restarts a worker above 95% of it: the test checks none was), a Spark executor capped by
its heap (a lost task fails the run: spark.task.maxFailures=1)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from backends_kit import BIG_ROWS, DASK_WORKER_LIMIT, SPARK_EXECUTOR_MEMORY, MemoryCgroup, analyze

LEAN = {"interactions": False, "squares": False, "logs": False, "pop_size": 20, "num_generations": 3}


def _bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text.replace("m", "MiB") if text.endswith("m") else text))


PANDAS_LIMIT = 384 * 2**20  # what the whole `greta run` process may use


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_pandas_run_in_a_third_of_the_data(big_single_file: Any, fmt: str, tmp_path: Path) -> None:
    path, nbytes = big_single_file(fmt)
    assert nbytes >= 3 * PANDAS_LIMIT
    with MemoryCgroup(PANDAS_LIMIT) as group:  # the cap holds: a process that needs more is killed
        status = group.run([sys.executable, "-c", f"x = b'x' * {2 * PANDAS_LIMIT}"], tmp_path / "hog.log")
    assert status == -9
    out, log = tmp_path / "results.json", tmp_path / "greta.log"
    cmd = [str(Path(sys.executable).with_name("greta")), "run", "--data", path, "--target", "y", "--backend",
           "pandas", "-o", str(out), "-q", "--set", "hypothesis_search.pop_size=20",
           "--set", "hypothesis_search.num_generations=3"]
    with MemoryCgroup(PANDAS_LIMIT) as group:
        status = group.run(cmd, log)
    assert status == 0, f"exit {status} (-9: killed over the cap): {log.read_text()[-2000:]}"
    doc = json.loads(out.read_text())
    assert doc["data"]["rows"] == BIG_ROWS and doc["data"]["backend"] == "pandas"
    assert doc["hypotheses"] and doc["hypotheses"][0]["confirmed"]


@pytest.mark.slow
def test_dask_workers_never_exceed_their_limit(big_parquet: tuple[str, int], dask_cluster: Any) -> None:
    path, nbytes = big_parquet
    assert nbytes >= 3 * _bytes(DASK_WORKER_LIMIT)
    before = dask_cluster.worker_pids()
    doc = analyze(path, "dask", {"dask_config": {"address": dask_cluster.address}}, **LEAN)
    assert doc["data"]["rows"] == BIG_ROWS
    assert dask_cluster.worker_pids() == before, "a worker was restarted: it went over its memory limit"
    assert doc["hypotheses"] and doc["hypotheses"][0]["confirmed"]


@pytest.mark.slow
def test_spark_executor_heap_is_a_third_of_the_data(big_parquet: tuple[str, int],
                                                   standalone_results: dict[str, Any]) -> None:
    path, nbytes = big_parquet
    assert nbytes >= 3 * _bytes(SPARK_EXECUTOR_MEMORY)
    conf = standalone_results["results"]["_conf"]
    assert conf["spark.executor.memory"] == SPARK_EXECUTOR_MEMORY and conf["spark.master"].startswith("spark://")
    got = standalone_results["results"][path]
    assert got["rows"] == BIG_ROWS
    assert got["key"] and got["key"][0]["confirmed"]
