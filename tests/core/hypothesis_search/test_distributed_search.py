"""Distributed evaluation gives exactly the local answer: multiprocessing, a real Dask cluster,
the ``auto`` choice, and the plumbing from the configuration to the results' metrics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from search_kit import SEARCH, outcome

from greta_core.errors import InvalidConfigError
from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer
from greta_core.hypothesis_search.placement import COSTS, decide


def search(planted, **kwargs):
    gram, cols = planted["regression"]
    opt = GeneticAlgorithmOptimizer(gram, cols, **{**SEARCH, **kwargs})
    backend = kwargs.get("distributed_backend", "auto")
    if backend not in ("local", "auto"):
        opt.placement.evaluator(backend).min_chunk = 8  # split even these small populations
    return opt, outcome(opt, opt.run())


def assert_same_fitness(opt, population):
    f0, g0 = opt.evaluate_locally(population)
    return lambda f, g: (np.testing.assert_array_equal(f, f0), np.testing.assert_array_equal(g, g0))


def test_reference_search_finds_feasible_hypotheses(reference):
    assert reference["front"] and reference["evaluations"] > SEARCH["pop_size"]
    assert reference["generations"] == SEARCH["num_generations"]


def test_local_backend_keeps_local_evaluation(planted, reference):
    opt, got = search(planted, distributed_backend="local")
    assert opt.problem.evaluator is None  # the unchanged code path
    assert got == reference
    assert opt.backend_info["backend"] == "local" and "'local'" in opt.backend_info["reason"]


def test_auto_stays_local_for_a_small_search_and_says_why(planted, reference):
    opt, got = search(planted)  # default: auto
    assert got == reference
    info = opt.backend_info
    assert (info["backend"], info["workers"], info["requested"]) == ("local", 1, "auto")
    assert "ms to evaluate here" in info["reason"] and "not worth" in info["reason"]


def test_multiprocessing_gives_identical_hypotheses_and_fitness(planted, reference, population):
    opt, got = search(planted, distributed_backend="multiprocessing", max_workers=2, fallback=False)
    assert got == reference
    assert opt.backend_info["backend"] == "multiprocessing" and opt.backend_info["workers"] == 2
    check = assert_same_fitness(opt, population)
    with opt:
        opt.placement.evaluator("multiprocessing").min_chunk = 16
        check(*opt.evaluate_with_multiprocessing(population))


def test_multiclass_fitness_is_identical_on_a_process_pool(planted):
    gram, cols = planted["multiclass"]
    rng = np.random.default_rng(9)
    masks = rng.random((257, len(cols))) < 0.03
    with GeneticAlgorithmOptimizer(gram, cols, max_workers=2, pop_size=20) as opt:
        f0, g0 = opt.evaluate_locally(masks)
        opt.placement.evaluator("multiprocessing").min_chunk = 16
        f1, g1 = opt.evaluate_with_multiprocessing(masks)
    np.testing.assert_array_equal(f1, f0)
    np.testing.assert_array_equal(g1, g0)
    assert f0.shape == (257, 3) and g0.shape == (257, 1)


def test_dask_cluster_gives_identical_hypotheses_and_fitness(planted, reference, population, shared_dask):
    opt, got = search(planted, distributed_backend="dask", cluster_address=shared_dask.address, fallback=False)
    assert got == reference
    info = opt.backend_info
    assert info["backend"] == "dask" and info["workers"] == 2 and not info.get("fallback")
    check = assert_same_fitness(opt, population)
    with opt:
        opt.placement.evaluator("dask").min_chunk = 16
        check(*opt.evaluate_with_dask_distributed(population))


def test_chunking_never_changes_a_fitness(planted, population, shared_dask):
    """One hypothesis, whatever else shares its chunk, gets the same bits."""
    gram, cols = planted["regression"]
    with GeneticAlgorithmOptimizer(gram, cols, cluster_address=shared_dask.address) as opt:
        f0, g0 = opt.evaluate_locally(population)
        ev = opt.placement.evaluator("dask")
        for per_worker, minimum in [(1, 1), (7, 1), (3, 50)]:
            ev.chunks_per_worker, ev.min_chunk = per_worker, minimum
            _, f, g = ev.evaluate(population[::-1])
            np.testing.assert_array_equal(f[::-1], f0)
            np.testing.assert_array_equal(g[::-1, None], g0)


# ------------------------------------------------------------------------------------- auto
def test_auto_rule_distributes_only_when_it_pays():
    small = decide(0.004, 100, 200, 59, workers=2)
    assert small.backend == "local" and "not worth" in small.reason
    big = decide(0.5, 5000, 2000, 59, workers=2)
    assert big.backend == "multiprocessing" and big.workers == 2 and "saving" in big.reason
    assert decide(0.5, 5000, 2000, 59, workers=1).backend == "local"
    assert decide(0.5, 5000, 2000, 59, address="tcp://127.0.0.1:8786", workers=2).backend == "dask"
    # a few generations do not pay for the start-up
    assert decide(0.5, 5000, 2000, 1, workers=2).backend == "local"
    # Spark's overhead per population is large: 20 ms of work is not worth shipping
    assert decide(0.02, 1000, 200, 59, address="spark://127.0.0.1:7077", workers=2).backend == "local"
    assert set(COSTS) == {"multiprocessing", "dask", "spark"}


def test_auto_uses_the_chosen_backend_end_to_end(planted, reference, monkeypatch):
    from greta_core.hypothesis_search import placement

    real = placement.decide

    def eager(*args, **kwargs):
        d = real(*args, **kwargs)
        return placement.Decision("multiprocessing", "forced by the test; " + d.reason, 2)

    monkeypatch.setattr(placement, "decide", eager)
    opt, got = search(planted, max_workers=2)
    assert got == reference
    assert opt.backend_info["backend"] == "multiprocessing" and "forced" in opt.backend_info["reason"]


def test_unknown_backend_is_refused_with_the_options():
    from greta_core.stats.linear import Gram
    from greta_core.stats.moments import Moments

    g = Gram.from_moments(Moments.of(np.random.default_rng(0).standard_normal((50, 4))), 1)
    with pytest.raises(InvalidConfigError, match="local, multiprocessing, dask, spark, auto.*'gpu'"):
        GeneticAlgorithmOptimizer(g, [np.array([0]), np.array([1])], distributed_backend="gpu")


def test_an_address_of_the_other_kind_is_refused():
    from greta_core.stats.linear import Gram
    from greta_core.stats.moments import Moments

    g = Gram.from_moments(Moments.of(np.random.default_rng(0).standard_normal((50, 4))), 1)
    with pytest.raises(InvalidConfigError, match="'tcp://127.0.0.1:1' is a dask address.*'spark'"):
        GeneticAlgorithmOptimizer(g, [np.array([0])], use_spark=True, cluster_address="tcp://127.0.0.1:1")


def test_use_spark_means_the_spark_backend():
    from greta_core.stats.linear import Gram
    from greta_core.stats.moments import Moments

    g = Gram.from_moments(Moments.of(np.random.default_rng(0).standard_normal((50, 4))), 1)
    opt = GeneticAlgorithmOptimizer(g, [np.array([0]), np.array([1])], use_spark=True)
    assert opt.placement.requested == "spark"  # nothing starts before the first generation


# ---------------------------------------------------------------------------- configuration
def test_config_reaches_the_optimizer_and_the_metrics(tmp_path, monkeypatch):
    from greta_cli.config import load_config
    from greta_cli.core_integration.integration import analysis_params, file_spec
    from greta_core.datasets import write_planted_csv
    from greta_core.pipeline import analyze

    path = write_planted_csv(str(tmp_path / "p.csv"), 3000, "binary", 2)
    base = [f"data.path={path}", "data.target=y", "hypothesis_search.pop_size=30",
            "hypothesis_search.num_generations=6", "hypothesis_search.max_workers=2"]
    cfg = load_config(None, [*base, "hypothesis_search.distributed_backend=multiprocessing",
                             "hypothesis_search.distributed_fallback=false"], env={})
    params = analysis_params(cfg)
    assert (params.distributed_backend, params.cluster_address, params.workers,
            params.distributed_fallback) == ("multiprocessing", None, 2, False)
    doc = analyze(file_spec(cfg), params)
    local = analyze(file_spec(cfg), analysis_params(load_config(None, base, env={})))
    assert doc["metrics"]["search_backend"]["backend"] == "multiprocessing"
    assert doc["metrics"]["search_backend"]["workers"] == 2
    assert local["metrics"]["search_backend"] == {"backend": "local", "reason": "distributed_backend is 'local'",
                                                  "workers": 1, "requested": "local"}
    assert json.dumps(doc["hypotheses"], sort_keys=True) == json.dumps(local["hypotheses"], sort_keys=True)
    cfg2 = load_config(None, [*base, "hypothesis_search.cluster_address=tcp://127.0.0.1:1"], env={})
    assert analysis_params(cfg2).cluster_address == "tcp://127.0.0.1:1"
    assert analysis_params(cfg2).distributed_fallback is True


def test_default_run_and_auto_do_not_import_dask_or_spark(tmp_path):
    from greta_core.datasets import write_planted_csv

    path = write_planted_csv(str(tmp_path / "p.csv"), 2000, "regression", 1)
    code = f"""
import sys
from greta_cli.app import main
sys.argv = ["greta", "run", "--data", {path!r}, "--target", "y", "--quiet",
            "--set", "hypothesis_search.num_generations=4", "--set", "hypothesis_search.pop_size=20"]
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
import numpy as np
from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer
from greta_core.stats.linear import Gram
from greta_core.stats.moments import Moments
g = Gram.from_moments(Moments.of(np.random.default_rng(0).standard_normal((300, 9))), 1)
opt = GeneticAlgorithmOptimizer(g, [np.array([i]) for i in range(8)], pop_size=20, num_generations=3)
opt.run()
assert opt.backend_info["backend"] == "local", opt.backend_info
print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"dask", "distributed", "pyspark", "py4j"}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180,
                         cwd=str(Path(__file__).resolve().parents[3]))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
