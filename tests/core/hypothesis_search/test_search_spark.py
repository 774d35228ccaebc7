"""Spark evaluation gives exactly the local answer: local[2] (the test session's one Spark
session) and a standalone master + worker started with ``spark-class`` (searched from a
subprocess, since Spark allows one session per process)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from search_kit import SEARCH, outcome

from greta_core.errors import DistributedComputationError
from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_spark_local_gives_identical_hypotheses_and_fitness(planted, reference, population, spark_local):
    master = spark_local.sparkContext.master
    gram, cols = planted["regression"]
    opt = GeneticAlgorithmOptimizer(gram, cols, use_spark=True, cluster_address=master, fallback=False, **SEARCH)
    opt.placement.evaluator("spark").min_chunk = 8  # split even these small populations
    f0, g0 = opt.evaluate_locally(population)
    f1, g1 = opt.evaluate_with_spark(population)
    np.testing.assert_array_equal(f1, f0)
    np.testing.assert_array_equal(g1, g0)
    assert outcome(opt, opt.run()) == reference
    info = opt.backend_info
    assert info["backend"] == "spark" and info["workers"] == spark_local.sparkContext.defaultParallelism
    assert spark_local.sparkContext._jsc is not None  # noqa: SLF001 - a session it did not start stays up


def test_spark_multiclass_fitness_is_identical(planted, spark_local):
    gram, cols = planted["multiclass"]
    masks = np.random.default_rng(4).random((123, len(cols))) < 0.04
    with GeneticAlgorithmOptimizer(gram, cols, use_spark=True, pop_size=20) as opt:
        f0, g0 = opt.evaluate_locally(masks)
        opt.placement.evaluator("spark").min_chunk = 8
        f1, g1 = opt.evaluate_with_spark(masks)
    np.testing.assert_array_equal(f1, f0)
    np.testing.assert_array_equal(g1, g0)


def test_a_second_master_in_the_same_process_is_refused_clearly(planted, spark_local):
    gram, cols = planted["regression"]
    opt = GeneticAlgorithmOptimizer(gram, cols, use_spark=True, cluster_address="local[1]", fallback=False, pop_size=20)
    with pytest.raises(DistributedComputationError, match="already runs in this process"):
        opt.evaluate_with_spark(np.eye(len(cols), dtype=bool)[:4])


SCRIPT = """
import pickle, sys
from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer
gram, cols, search, master, population = pickle.load(open(sys.argv[1], "rb"))
opt = GeneticAlgorithmOptimizer(gram, cols, use_spark=True, cluster_address=master, fallback=False, **search)
opt.placement.evaluator("spark").min_chunk = 8
fitness = opt.evaluate_with_spark(population)
used = opt.placement.evaluator("spark").sc.master
result = opt.run()
out = {"front": [(s.terms, s.objectives, s.violation) for s in result.front],
       "archive": sorted((k, s.objectives, s.violation) for k, s in opt.problem.archive.items()),
       "evaluations": result.evaluations, "generations": result.generations}
pickle.dump((out, fitness, opt.backend_info, used), open(sys.argv[2], "wb"))
"""


def test_spark_standalone_cluster_gives_identical_hypotheses_and_fitness(planted, reference, population,
                                                                         spark_standalone, tmp_path):
    gram, cols = planted["regression"]
    inp, out = tmp_path / "in.pkl", tmp_path / "out.pkl"
    inp.write_bytes(pickle.dumps((gram, cols, SEARCH, spark_standalone.master, population)))
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "SPARK_LOCAL_IP": "127.0.0.1",
           "OPENBLAS_NUM_THREADS": "1", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(inp), str(out)], capture_output=True, text=True,
                          timeout=240, cwd=str(ROOT), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got, (f, g), info, used = pickle.loads(out.read_bytes())
    assert used == spark_standalone.master
    assert info["backend"] == "spark" and info["workers"] == 2 and not info.get("fallback")
    f0, g0 = GeneticAlgorithmOptimizer(gram, cols, pop_size=20).evaluate_locally(population)
    np.testing.assert_array_equal(f, f0)
    np.testing.assert_array_equal(g, g0)
    assert got == reference
