"""Dask specifics: a LocalCluster of worker processes from ``dask_config``, a Dask DataFrame
analysed where it lives (Python API), and cancellation of the threaded pass."""

from __future__ import annotations

from typing import Any

import pytest
from backends_kit import SEARCH, analyze, assert_same
from engines import need

from greta_core.errors import CancelledError
from greta_core.ingestion.readers import FileSpec


def test_local_cluster_of_processes_gives_the_pandas_answer(planted: dict[str, str],
                                                            reference: dict[str, Any]) -> None:
    need("distributed", "dask")
    cfg = {"processes": True, "n_workers": 2, "threads_per_worker": 1, "memory_limit": "1GiB"}
    doc = analyze(planted["parquet-parts"], "dask", {"dask_config": cfg})
    assert doc["metrics"]["workers"] == 2 and doc["metrics"]["cluster"].startswith("tcp://127.0.0.1:")
    assert_same(doc, reference, "dask LocalCluster")


def test_dask_dataframe_through_the_python_api(planted: dict[str, str], reference: dict[str, Any]) -> None:
    need("dask", "dask")
    import dask.dataframe as dd

    from greta_cli.config import GretaConfig
    from greta_cli.core_integration.integration import run_analysis_pipeline

    ddf = dd.read_parquet(planted["parquet-parts"])
    cfg = GretaConfig.model_validate({"data": {"target": "y"}, "hypothesis_search": {**SEARCH}})
    doc = run_analysis_pipeline(cfg, ddf)
    assert doc["data"]["backend"] == "dask" and doc["data"]["source"] == "<dask DataFrame>"
    assert_same(doc, reference, "a Dask DataFrame")


def test_threaded_pass_can_be_cancelled(planted: dict[str, str]) -> None:
    need("dask", "dask")
    from greta_core.backends import open_backend
    from greta_core.stats.summary import empty_summary

    backend = open_backend("dask", FileSpec(planted["csv-parts"]), options={"dask_config": {}})
    empty = empty_summary(1, 1, 0, 10)
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(CancelledError):
        backend.reduce(lambda df: empty, empty, ["x1", "y"], {"x1": "numeric", "y": "numeric"}, None, cancel)


def test_threads_and_partitions_are_sized_from_the_memory_limit(planted: dict[str, str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    need("dask", "dask")
    from greta_core.backends import dask_backend
    from greta_core.resources.memory import MemoryLimit
    from greta_core.resources.sizing import engine_sizes

    MiB = 2**20
    small = engine_sizes(MemoryLimit(700 * MiB, "cgroup v2 memory.max of /test"), cores=2)
    monkeypatch.setattr(dask_backend, "engine_sizes", lambda: small)
    spec = FileSpec(planted["csv-file"])
    sized = dask_backend.DaskBackend(spec)
    assert (sized.threads, sized.blocksize) == (2, small.dask_blocksize) and sized.blocksize < 16 * MiB
    more = dask_backend.DaskBackend(spec, workers=4)  # more threads share the same memory
    assert more.threads == 4 and more.blocksize == sized.blocksize // 2
    given = dask_backend.DaskBackend(spec, workers=4, dask_config={"blocksize": "48MiB", "n_workers": 3})
    assert (given.threads, given.blocksize) == (4, 48 * MiB)  # the user's settings win
    assert dask_backend.DaskBackend(spec, dask_config={"n_workers": 3}).threads == 3
