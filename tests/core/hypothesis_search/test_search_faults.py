"""Faults during distributed evaluation: a lost worker's chunks are retried and the answer is
unchanged; a gone cluster raises DistributedComputationError, or (the default) the search
continues locally with a warning and still gives exactly the local answer."""

from __future__ import annotations

import os
import signal
import warnings

import pytest
from engines import free_port, need
from search_kit import SEARCH, exit_worker, outcome

from greta_core.errors import DistributedComputationError, GretaWarning
from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer


def optimizer(planted, **kwargs):
    gram, cols = planted["regression"]
    return GeneticAlgorithmOptimizer(gram, cols, **{**SEARCH, **kwargs})


def on_call(evaluator, n, action):
    """Run ``action(futures)`` once, right after the chunks of the ``n``-th population were sent."""
    calls = {"n": 0}

    def hook(futures):
        calls["n"] += 1
        if calls["n"] == n:
            action(futures)

    evaluator.on_submitted = hook
    return calls


def test_killed_dask_worker_mid_search_gives_the_same_answer(planted, reference, dask_cluster):
    from distributed import wait

    cluster = dask_cluster(2)
    opt = optimizer(planted, distributed_backend="dask", cluster_address=cluster.address, fallback=False)
    ev = opt.placement.evaluator("dask")
    ev.chunks_per_worker, ev.min_chunk = 3, 1  # several chunks on each worker
    lost = {}

    def kill_the_busiest_worker(futures):
        """Once the 4th generation's chunks are computed but not yet gathered, SIGKILL the worker
        that holds most of them: their results are gone and must be computed again."""
        with ev.client.as_current():
            wait(futures, timeout=60)
        holders = [a for addrs in ev.client.who_has(futures).values() for a in addrs]
        busiest = max(set(holders), key=holders.count)
        lost["chunks"] = holders.count(busiest)
        name = ev.client.scheduler_info()["workers"][busiest]["name"]
        lost["worker"] = int(str(name).lstrip("w"))
        cluster.kill_worker(lost["worker"])

    calls = on_call(ev, 4, kill_the_busiest_worker)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GretaWarning)  # no fallback: the cluster did the work
        got = outcome(opt, opt.run())
    assert calls["n"] >= SEARCH["num_generations"]  # one population per generation (the first: initial)
    assert lost["chunks"] >= 3  # half of the 6 chunks, or more, were on the killed worker
    assert got == reference
    assert opt.backend_info["backend"] == "dask" and not opt.backend_info.get("fallback")
    assert cluster.workers[lost["worker"]].poll() is not None and cluster.alive_workers() == 1


def test_killed_pool_process_is_replaced_and_its_chunks_sent_again(planted, reference, monkeypatch):
    """One generation's chunks go to a function that ends the process evaluating it, so processes
    die with chunks in flight whatever the machine's speed; those chunks are sent again."""
    opt = optimizer(planted, distributed_backend="multiprocessing", max_workers=2, fallback=False)
    ev = opt.placement.evaluator("multiprocessing")
    ev.min_chunk = 8
    armed, sent = [False], []

    def deadly(pool):  # the test plays the OOM killer
        submit = pool.submit
        pool.submit = lambda fn, *args: submit(exit_worker if armed[0] else fn, *args)

    start = ev._start  # noqa: SLF001
    monkeypatch.setattr(ev, "_start", lambda: (start(), deadly(ev._pool)))  # noqa: SLF001
    deadly(ev._pool)  # noqa: SLF001

    def hook(futures):
        sent.append(len(futures))
        armed[0] = len(sent) == 3  # the 4th population's chunks end their processes; retries don't

    ev.on_submitted = hook
    got = outcome(opt, opt.run())
    assert got == reference
    assert opt.backend_info["backend"] == "multiprocessing"
    assert sent[4] == sent[3] > 0  # all of them sent again, once
    assert opt.backend_info["retried_chunks"] == sent[3]


def test_dead_cluster_address_fails_cleanly_without_fallback(planted):
    dead = f"tcp://127.0.0.1:{free_port()}"
    opt = optimizer(planted, distributed_backend="dask", cluster_address=dead, fallback=False)
    with pytest.raises(DistributedComputationError, match=f"{dead}.*cannot be reached.*cluster_address"):
        opt.run()
    with pytest.raises(DistributedComputationError, match="cannot be reached"):
        opt.evaluate_with_dask_distributed(planted_population(planted))


def planted_population(planted):
    import numpy as np

    m = len(planted["regression"][1])
    return np.eye(m, dtype=bool)[:10]


def test_dead_cluster_address_falls_back_to_local_with_a_warning(planted, reference):
    dead = f"tcp://127.0.0.1:{free_port()}"
    opt = optimizer(planted, distributed_backend="dask", cluster_address=dead)  # fallback by default
    with pytest.warns(GretaWarning, match="continues with local evaluation.*cannot be reached"):
        got = outcome(opt, opt.run())
    assert got == reference
    info = opt.backend_info
    assert info["backend"] == "local" and info["fallback"] is True and "fell back from dask" in info["reason"]


DEAD_SPARK_MASTER = """
import pickle, sys
from search_kit import SEARCH
from greta_core.errors import DistributedComputationError
from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer
gram, cols = pickle.load(open(sys.argv[1], "rb"))
opt = GeneticAlgorithmOptimizer(gram, cols, use_spark=True, cluster_address=sys.argv[2], fallback=False,
                                **SEARCH)
try:
    opt.run()
except DistributedComputationError as e:
    print(e)
    sys.exit(3)
"""


def test_dead_spark_master_fails_cleanly_without_fallback(planted, tmp_path):
    """In a new process: one with a Spark session (another test's) would refuse any other master."""
    import pickle
    import re
    import subprocess
    import sys
    from pathlib import Path

    need("pyspark", "spark")
    dead = f"spark://127.0.0.1:{free_port()}"
    stats = tmp_path / "planted.pickle"
    stats.write_bytes(pickle.dumps(planted["regression"]))
    path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.run([sys.executable, "-c", DEAD_SPARK_MASTER, str(stats), dead], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert re.fullmatch(f"The Spark master {re.escape(repr(dead))} cannot be reached: .*"
                        r"Start it or fix hypothesis_search\.cluster_address\.\n", proc.stdout), proc.stdout


def test_scheduler_gone_mid_search_falls_back_with_the_same_answer(planted, reference, dask_cluster):
    cluster = dask_cluster(1)
    opt = optimizer(planted, distributed_backend="dask", cluster_address=cluster.address)
    ev = opt.placement.evaluator("dask")
    ev.no_worker_timeout = 5
    on_call(ev, 3, lambda futures: cluster.kill_scheduler())
    with pytest.warns(GretaWarning, match="continues with local evaluation"):
        got = outcome(opt, opt.run())
    assert got == reference
    assert opt.backend_info["backend"] == "local" and opt.backend_info["fallback"] is True


def test_scheduler_gone_mid_search_raises_without_fallback(planted, dask_cluster):
    cluster = dask_cluster(1)
    opt = optimizer(planted, distributed_backend="dask", cluster_address=cluster.address, fallback=False)
    ev = opt.placement.evaluator("dask")
    ev.no_worker_timeout = 5
    on_call(ev, 2, lambda futures: cluster.kill_scheduler())
    with pytest.raises(DistributedComputationError, match="gone|no worker|could not"):
        opt.run()
    assert opt.generation <= 2


def test_the_error_pickles():
    import pickle

    e = DistributedComputationError("The Dask scheduler 'tcp://x:1' is gone.")
    assert str(pickle.loads(pickle.dumps(e))) == str(e)
