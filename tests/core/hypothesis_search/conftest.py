"""Fixtures of the distributed search tests: planted statistics, a local reference search and
real Dask clusters (``dask scheduler`` + ``dask worker`` processes, see ``engines.py``); the
Spark fixtures are in ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from engines import DaskCluster, need
from search_kit import SEARCH, outcome


# --------------------------------------------------------------------------------- statistics
def planted_statistics(path: Path, kind: str, seed: int, rows: int = 4000) -> tuple[Any, list[np.ndarray]]:
    """Discovery Gram and candidate terms of planted data, exactly as the pipeline makes them."""
    from greta_core.backends import open_backend
    from greta_core.datasets import write_planted_csv
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import make_plan, statistics_pass
    from greta_core.stats.linear import Gram

    write_planted_csv(str(path), rows, kind, seed)
    params = AnalysisParams(target="y", seed=seed)
    backend = open_backend("pandas", FileSpec(str(path)))
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    return Gram.from_moments(summary.discovery, plan.target.width), [np.asarray(c) for c in layout.columns]


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, list[np.ndarray]]]:
    """Statistics of a regression and a multiclass planted data set."""
    d = tmp_path_factory.mktemp("planted")
    return {kind: planted_statistics(d / f"{kind}.csv", kind, 5) for kind in ("regression", "multiclass")}


@pytest.fixture(scope="session")
def reference(planted: dict[str, Any]) -> dict[str, Any]:
    """The local search on the regression statistics (the answer every backend must give)."""
    from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer

    gram, cols = planted["regression"]
    opt = GeneticAlgorithmOptimizer(gram, cols, distributed_backend="local", **SEARCH)
    return outcome(opt, opt.run())


@pytest.fixture(scope="session")
def population(planted: dict[str, Any]) -> np.ndarray:
    """400 random masks of 1-5 terms (and a few longer ones) over the regression terms."""
    m = len(planted["regression"][1])
    rng = np.random.default_rng(3)
    masks = np.zeros((400, m), dtype=bool)
    for row in masks:
        row[rng.choice(m, size=int(rng.integers(1, 8)), replace=False)] = True
    return masks


# ---------------------------------------------------------------------------------------- Dask
@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[Any]:
    """A factory of fresh clusters (for tests that kill parts of one): no nannies, so a killed
    worker stays dead."""
    need("distributed", "dask")
    clusters: list[DaskCluster] = []

    def make(n_workers: int = 2) -> DaskCluster:
        c = DaskCluster(tmp_path, nanny=False)
        clusters.append(c)
        return c.start(n_workers)

    yield make
    for c in clusters:
        c.stop()


@pytest.fixture(scope="session")
def shared_dask(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """One scheduler + 2 workers for the tests that leave it intact."""
    need("distributed", "dask")
    c = DaskCluster(tmp_path_factory.mktemp("dask"), nanny=False)
    try:
        yield c.start(2)
    finally:
        c.stop()
