"""Settings checked against the memory limit before the work that needs the memory starts, and
a genetic search too long to run unasked: refused in one line naming the setting, its value and
the largest value that fits (the limit is given to the checks, as to the sizing, so a small one
is tested on any machine; the same refusals under a real kernel limit are in
tests/core/backends/test_memory_settings.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from greta_core.datasets import planted
from greta_core.errors import InvalidConfigError, MemoryLimitError
from greta_core.hypothesis_search.cost import check_search, genetic_seconds
from greta_core.params import AnalysisParams
from greta_core.pipeline import make_plan
from greta_core.resources.budget import (
    BATCH_CELL,
    PYTHON_PROCESS,
    SAMPLE_CELL,
    SAMPLE_COPIES,
    SPARK_SMALLEST,
    check_plan,
    check_planning_sample,
    check_settings,
)
from greta_core.resources.memory import MemoryLimit
from greta_core.resources.sizing import DRIVER, PARTITION_FACTOR

MiB = 2**20
GIB = MemoryLimit(1024 * MiB, "cgroup v1 memory.limit_in_bytes of /job", None, 1)
FREE = GIB.bytes - DRIVER


def refused(match: str) -> pytest.RaisesContext:
    return pytest.raises(MemoryLimitError, match=match)


def largest(err: pytest.ExceptionInfo) -> int:
    text = str(err.value)
    assert "\n" not in text and "1,024 MiB (cgroup v1 memory.limit_in_bytes of /job)" in text
    return int(re.search(r"the largest value that fits is ([\d,]+)", text).group(1).replace(",", ""))


@pytest.fixture(scope="module")
def plan_and_params():
    sample = planted(2000, seed=1)
    params = AnalysisParams(target="y")
    return make_plan(sample, list(sample.columns), params), params


def test_a_screening_budget_above_the_whole_limit_is_refused_before_anything_is_read() -> None:
    with refused(r"^preprocessing\.screen_memory_mb=1,000,000 needs about 976\.6 GiB") as e:
        check_settings(AnalysisParams(target="y", screen_memory_mb=1_000_000), GIB)
    assert largest(e) == FREE // MiB == 704
    check_settings(AnalysisParams(target="y", screen_memory_mb=704), GIB)


def test_a_held_out_sample_too_large_for_the_limit_names_the_largest_that_fits(plan_and_params) -> None:
    plan, params = plan_and_params
    width = plan.candidate_width + plan.target.width
    with refused(r"^statistics\.sample_size=10,000,000 needs about .* design columns") as e:
        check_plan(replace(params, sample_size=10_000_000), plan, "pandas", None, GIB)
    fits = largest(e)
    assert fits == FREE // (width * 8 * SAMPLE_COPIES)
    check_plan(replace(params, sample_size=fits), plan, "pandas", None, GIB)
    with refused("sample_size"):
        check_plan(replace(params, sample_size=fits + 1), plan, "pandas", None, GIB)
    # a file with fewer held-out rows than that never keeps more: nothing to refuse
    check_plan(replace(params, sample_size=10_000_000), plan, "pandas", 20_000, GIB)


def test_batches_too_large_for_the_limit(plan_and_params) -> None:
    plan, params = plan_and_params
    with refused(r"^preprocessing\.batch_rows=10,000,000 needs about") as e:
        check_plan(replace(params, batch_rows=10_000_000), plan, "pandas", None, GIB)
    assert largest(e) == FREE // ((len(plan.columns) + 1) * BATCH_CELL)
    check_plan(replace(params, batch_rows=largest(e)), plan, "pandas", None, GIB)
    check_plan(params, plan, "pandas", None, GIB)  # null: sized from the limit, nothing to check


def test_the_screening_budget_is_checked_when_the_terms_are_screened(plan_and_params) -> None:
    plan, params = plan_and_params
    big = replace(params, screen_memory_mb=900)
    check_plan(big, plan, "pandas", None, GIB)  # every candidate fits in the design: no screening
    with refused(r"^preprocessing\.screen_memory_mb=900 needs about 900 MiB .* to screen") as e:
        check_plan(replace(big, max_design_columns=50), plan, "pandas", None, GIB)
    assert largest(e) == 704


def test_a_planning_sample_too_large_names_what_bounds_its_rows() -> None:
    with refused(r"^preprocessing\.sample_rows=10,000,000 needs about .* 2,000 columns") as e:
        check_planning_sample(AnalysisParams(target="y", sample_rows=10_000_000, screen_memory_mb=1e6), 2000, None, GIB)
    assert largest(e) == FREE // (2000 * SAMPLE_CELL)
    # the default sample_rows is cut to the screening budget on a wide file: that budget is named
    with refused(r"^preprocessing\.screen_memory_mb=900 needs about .*\(a planning sample of") as e:
        check_planning_sample(AnalysisParams(target="y", screen_memory_mb=900), 5000, None, GIB)
    assert largest(e) == 704 * 8 // SAMPLE_CELL
    check_planning_sample(AnalysisParams(target="y"), 5000, None, GIB)
    # a file of 3,000 rows is read whole, whatever the settings allow
    check_planning_sample(AnalysisParams(target="y", sample_rows=10_000_000, screen_memory_mb=1e6), 2000, 3000, GIB)


def test_workers_are_counted_where_they_run() -> None:
    pool = AnalysisParams(target="y", workers=4096, distributed_backend="multiprocessing")
    with refused(r"^hypothesis_search\.max_workers=4,096 needs about .*search worker process each") as e:
        check_settings(pool, GIB)
    assert largest(e) == FREE // PYTHON_PROCESS
    check_settings(replace(pool, workers=largest(e)), GIB)
    check_settings(replace(pool, cluster_address="tcp://10.0.0.9:8786"), GIB)  # on the cluster's machines
    check_settings(AnalysisParams(target="y", workers=4096), GIB)  # local evaluation on pandas: no workers


def test_a_local_spark_below_its_least_memory_is_refused_before_its_jvm_starts() -> None:
    spark = AnalysisParams(target="y", backend="spark")
    with pytest.raises(MemoryLimitError, match="a local Spark needs at least") as e:
        check_settings(spark, GIB)
    assert "spark.driver.memory" in str(e.value) and "1,024 MiB" in str(e.value)
    check_settings(spark, replace(GIB, bytes=SPARK_SMALLEST))
    check_settings(replace(spark, extra={"spark_config": {"spark.driver.memory": "512m"}}), GIB)  # "anyway"
    check_settings(replace(spark, extra={"spark_config": {"spark.master": "spark://10.0.0.9:7077"}}), GIB)


# --------------------------------------------------------------------------------- the search
def test_a_search_of_years_is_refused_with_its_estimate_and_the_ways_to_shorten_it() -> None:
    params = AnalysisParams(target="y", pop_size=100_000, num_generations=10_000_000)
    with pytest.raises(InvalidConfigError, match=r"would take about [\d,]+ years") as e:
        check_search(params)
    text = str(e.value)
    assert all(s in text for s in ("pop_size", "num_generations", "max_minutes", "patience")) and "\n" not in text
    assert check_search(AnalysisParams(target="y")) < 60  # the defaults: seconds
    assert check_search(replace(params, pop_size=200, search_max_minutes=5)) == genetic_seconds(200, 10_000_000)
    with pytest.raises(InvalidConfigError, match=r"One generation of hypothesis_search.pop_size=100,000 takes about"):
        check_search(replace(params, search_max_minutes=5))  # the budget is checked between generations


def test_the_search_stops_after_its_time_budget() -> None:
    from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer
    from greta_core.stats.linear import Gram
    from greta_core.stats.moments import Moments

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 30))
    y = x[:, :3].sum(axis=1) + rng.normal(size=2000)
    gram = Gram.from_moments(Moments.of_block(np.column_stack([x, y])), 1)
    cols = [np.array([i]) for i in range(30)]
    opt = GeneticAlgorithmOptimizer(gram, cols, pop_size=40, num_generations=10_000_000, seed=1,
                                    distributed_backend="local", time_budget=0.5)
    found = opt.run()
    assert opt.stopped_by_budget and 1 < found.generations < 10_000_000
    assert 0.5 <= opt.elapsed < 5 and found.front


def test_a_local_dask_s_own_settings_are_counted() -> None:
    pytest.importorskip("dask")  # the byte sizes are parsed with dask.utils, as the backend does
    dask = AnalysisParams(target="y", backend="dask")
    big = replace(dask, extra={"dask_config": {"blocksize": "1GiB", "n_workers": 2}})
    with refused(r"^scalability\.dask_config\.blocksize=1,024MiB needs about 48\.0 GiB .*2 threads") as e:
        check_settings(big, GIB)
    assert largest(e) == 704 // (2 * PARTITION_FACTOR)  # MiB
    check_settings(replace(dask, extra={"dask_config": {"blocksize": "14MiB", "n_workers": 2}}), GIB)
    procs = {"processes": True, "n_workers": 2, "memory_limit": "2GiB"}
    with refused(r"^scalability\.dask_config\.memory_limit=2,048MiB needs about .*2 workers") as e:
        check_settings(replace(dask, extra={"dask_config": procs}), GIB)
    assert largest(e) == (704 - 2 * 96) // 2
    check_settings(replace(dask, extra={"dask_config": {**procs, "memory_limit": "256MiB"}}), GIB)
    remote = {"address": "tcp://10.0.0.9:8786", "blocksize": "1GiB"}
    check_settings(replace(dask, extra={"dask_config": remote}), GIB)  # its workers are elsewhere
