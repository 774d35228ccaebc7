"""Out of core: a data set at least 3× larger (in memory) than what each worker may use
completes.

- ``greta run`` in a kernel memory cgroup (above its limit the kernel's OOM killer ends the
  process), as in a container: with no engine settings, on pandas and Dask under the same
  limit and on Spark under that limit plus room for its JVM, with the uncapped run's answer;
- Dask workers capped by their memory limit (the nanny restarts a worker above 95% of it: the
  test checks none was), a Spark executor capped by its heap (a lost task fails the run:
  spark.task.maxFailures=1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from backends_kit import BIG_ROWS, DASK_WORKER_LIMIT, SPARK_EXECUTOR_MEMORY, MemoryCgroup, analyze
from engines import need, need_spark

from greta_core.resources.sizing import spark_least

LEAN = {"interactions": False, "squares": False, "logs": False, "pop_size": 20, "num_generations": 3}


def _bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text.replace("m", "MiB") if text.endswith("m") else text))


LIMIT = 384 * 2**20  # what the whole `greta run` process may use, with its engine
SPARK_LIMIT = LIMIT + spark_least()  # the same, with room for Spark's JVM and Python workers
SEARCH = ["--set", "hypothesis_search.pop_size=20", "--set", "hypothesis_search.num_generations=3"]


def greta_run(path: str, backend: str, out: Path) -> list[str]:
    """`greta run` as a user types it: no engine settings, so the engine is sized from the limit."""
    return [str(Path(sys.executable).with_name("greta")), "run", "--data", path, "--target", "y", "--backend",
            backend, "-o", str(out), "-q", *SEARCH]


@pytest.fixture(scope="module")
def uncapped(big_single_file: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The answer without a memory limit (pandas, the Parquet file)."""
    import subprocess

    out = tmp_path_factory.mktemp("uncapped") / "results.json"
    subprocess.run(greta_run(big_single_file("parquet")[0], "pandas", out), check=True)
    return json.loads(out.read_text())


def answer(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(tuple(h["terms"]), h["confirmed"], h["holdout"]["r2"], h["holdout"]["f_statistic"])
            for h in doc["hypotheses"]]


@pytest.mark.slow
def test_the_cap_holds(tmp_path: Path) -> None:
    with MemoryCgroup(LIMIT) as group:  # a process that needs more than the limit is killed
        status = group.run([sys.executable, "-c", f"x = b'x' * {2 * LIMIT}"], tmp_path / "hog.log")
    assert status == -9


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "fmt"), [("pandas", "parquet"), ("pandas", "csv"), ("dask", "parquet"),
                                              ("spark", "parquet")])
def test_a_run_inside_a_third_of_its_data(big_single_file: Any, uncapped: dict[str, Any], backend: str, fmt: str,
                                          tmp_path: Path) -> None:
    """The limit is on the group of `greta run` itself, as in a container: the engine is sized
    from it and the answer is the uncapped run's."""
    if backend == "dask":
        need("dask", "dask")
    elif backend == "spark":
        need_spark()
    path, nbytes = big_single_file(fmt)
    assert nbytes >= 3 * LIMIT
    limit = SPARK_LIMIT if backend == "spark" else LIMIT
    out, log = tmp_path / "results.json", tmp_path / "greta.log"
    with MemoryCgroup(limit) as group:
        status = group.run(greta_run(path, backend, out), log)
    assert status == 0, f"exit {status} (-9: killed over the cap): {log.read_text()[-2000:]}"
    doc = json.loads(out.read_text())
    assert doc["data"]["rows"] == BIG_ROWS and doc["data"]["backend"] == backend
    assert doc["metrics"]["memory_limit"]["bytes"] == limit
    got, want = answer(doc), answer(uncapped)
    assert [g[:2] for g in got] == [w[:2] for w in want] and got[0][1]
    for g, w in zip(got, want):
        assert g[2:] == pytest.approx(w[2:], rel=1e-8)


@pytest.mark.slow
def test_a_run_killed_over_its_limit_says_so(big_single_file: Any, tmp_path: Path) -> None:
    """Too little memory for any engine: refused before the work starts, in one line naming the
    limit and saying that no setting fits, exit 2, no traceback and no output written."""
    path, _ = big_single_file("parquet")
    out, log = tmp_path / "results.json", tmp_path / "greta.log"
    with MemoryCgroup(200 * 2**20) as group:
        status = group.run(greta_run(path, "dask", out), log)
    text = log.read_text()
    assert status == 2, text
    lines = [ln for ln in text.splitlines() if ln.startswith("greta: error:")]
    assert len(lines) == 1 and "Traceback" not in text, text
    assert "200 MiB (cgroup v" in lines[0] and "no value fits: raise the limit" in lines[0]
    assert list(tmp_path.iterdir()) == [log]


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
