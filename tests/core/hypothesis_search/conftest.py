"""Fixtures of the distributed search tests: planted statistics, a local reference search,
real Dask clusters (``dask scheduler`` + ``dask worker`` processes) and Spark (one local[2]
session per test session; a standalone master + worker started with ``spark-class``), all on
free 127.0.0.1 ports and stopped afterwards.

When Dask, Spark or Java is missing a test is skipped — except with ``CI=true``, where it
fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search_kit import SEARCH, free_port, need, outcome, unavailable

BIN = Path(sys.executable).parent
QUIET_ENV = {"DASK_LOGGING__DISTRIBUTED": "error", "OPENBLAS_NUM_THREADS": "1", "SPARK_LOCAL_IP": "127.0.0.1",
             "PYTHONWARNINGS": "ignore"}


def wait_port(port: int, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


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
class DaskCluster:
    """``dask scheduler`` + ``dask worker`` processes (no nanny: a killed worker stays dead)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.port = free_port()
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        env = {**os.environ, **QUIET_ENV}
        proc = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        log.close()
        return proc

    def start(self, n_workers: int = 2) -> DaskCluster:
        if not (BIN / "dask").exists():
            unavailable('the `dask` command is not installed (pip install "greta[dask]")')
        self.scheduler = self._spawn(["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--dashboard-address", "127.0.0.1:0"], "scheduler")
        if not wait_port(self.port, self.scheduler, 60):
            self.stop()
            unavailable(f"dask scheduler did not start; see {self.log_dir}/scheduler.log")
        for i in range(n_workers):
            self.workers.append(self._spawn(
                ["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                 "--memory-limit", "2GiB", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"], f"worker{i}"))
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as c:
            try:
                c.wait_for_workers(n_workers, timeout=90)
            except Exception:  # noqa: BLE001
                self.stop()
                unavailable(f"{n_workers} dask workers did not register; see {self.log_dir}")
        return self

    def alive_workers(self) -> int:
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as c:
            return len(c.scheduler_info()["workers"])

    def kill_worker(self, i: int = 0) -> None:
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait(10)

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        self.scheduler.send_signal(signal.SIGKILL)
        self.scheduler.wait(10)

    def stop(self) -> None:
        for w in self.workers:
            stop(w)
        stop(self.scheduler)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[Any]:
    """A factory of fresh clusters (for tests that kill parts of one)."""
    need("distributed", "dask")
    clusters: list[DaskCluster] = []

    def make(n_workers: int = 2) -> DaskCluster:
        c = DaskCluster(tmp_path)
        clusters.append(c)
        return c.start(n_workers)

    yield make
    for c in clusters:
        c.stop()


@pytest.fixture(scope="session")
def shared_dask(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """One scheduler + 2 workers for the tests that leave it intact."""
    need("distributed", "dask")
    c = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        yield c.start(2)
    finally:
        c.stop()


# --------------------------------------------------------------------------------------- Spark
def _need_spark() -> None:
    need("pyspark", "spark")
    from greta_core.ingestion.distributed_utils import java_status

    ok, detail = java_status()
    if not ok:
        unavailable(detail)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """One local[2] Spark session for the whole test session (reused if one is active)."""
    _need_spark()
    from greta_core.hypothesis_search.distributed_optimizers import spark_session as make

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        session, owned = make("local[2]", 2)
    except Exception as e:  # noqa: BLE001
        if "already runs in this process" in str(e):
            from pyspark.sql import SparkSession

            session, owned = SparkSession.getActiveSession(), False
        else:
            unavailable(f"Spark local[2] did not start: {e}")
    yield session
    if owned:
        session.stop()


class SparkStandalone:
    """A standalone master and one worker (2 cores), started with ``spark-class``."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.port, self.worker_port = free_port(), free_port()
        self.procs: list[subprocess.Popen] = []

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               "PYSPARK_PYTHON": sys.executable}  # the daemons log at INFO to their files
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen([str(BIN / "spark-class"), *args], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self) -> SparkStandalone:
        if not (BIN / "spark-class").exists():
            unavailable("spark-class is not in the virtualenv (pip install \"greta[spark]\")")
        master = self._spawn(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                              str(self.port), "--webui-port", str(free_port())], "master")
        if not wait_port(self.port, master, 90):
            self.stop()
            unavailable(f"the Spark master did not start; see {self.log_dir}/master.log")
        self._spawn(["org.apache.spark.deploy.worker.Worker", self.master, "--host", "127.0.0.1", "--port",
                     str(self.worker_port), "--cores", "2", "--memory", "2g", "--webui-port", str(free_port())],
                    "worker")
        deadline = time.monotonic() + 90
        log = self.log_dir / "master.log"
        while time.monotonic() < deadline:
            if "Registering worker" in log.read_text(errors="replace"):
                return self
            time.sleep(0.2)
        self.stop()
        unavailable(f"the Spark worker did not register; see {self.log_dir}")
        return self

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop(p)


@pytest.fixture(scope="session")
def spark_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkStandalone]:
    _need_spark()
    s = SparkStandalone(tmp_path_factory.mktemp("spark"))
    try:
        yield s.start()
    finally:
        s.stop()
