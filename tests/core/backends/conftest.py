"""Fixtures of the backend tests: the planted data (one CSV file, CSV parts, Parquet parts),
the pandas reference analysis, and the real engines — a ``dask scheduler`` + 2 ``dask worker``
processes, one Spark local[2] session for the whole test session, and a Spark standalone
master + worker started with ``spark-class`` — all on free 127.0.0.1 ports, stopped afterwards.

A test whose Dask, Spark or Java is missing is skipped, except with ``CI=true``: it fails.
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

import pytest
from backends_kit import (
    BIG_ROWS,
    DASK_WORKER_LIMIT,
    SPARK_EXECUTOR_MEMORY,
    analyze,
    free_port,
    need,
    unavailable,
    write_planted,
)

BIN = Path(sys.executable).parent
# The statistics pass keeps no data on the workers: no spilling, no pausing (a paused worker
# would wait forever); above 95% of its limit the nanny restarts the worker, which the tests see.
NO_SPILL = {"DASK_DISTRIBUTED__WORKER__MEMORY__TARGET": "False", "DASK_DISTRIBUTED__WORKER__MEMORY__SPILL": "False",
            "DASK_DISTRIBUTED__WORKER__MEMORY__PAUSE": "False"}
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


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def spawn(cmd: list[str], log: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           **(extra_env or {})}
    with open(log, "ab") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


# ---------------------------------------------------------------------------------- the data
@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_planted(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="session")
def reference(planted: dict[str, str]) -> dict[str, Any]:
    """The pandas backend on the single CSV file: the answer every backend must give."""
    doc = analyze(planted["csv-file"], "pandas")
    assert doc["data"]["backend"] == "pandas" and doc["data"]["rows"] == 20_000
    return doc


# ---------------------------------------------------------------------------------------- Dask
class DaskCluster:
    """``dask scheduler`` + ``dask worker`` processes (with their nannies) on 127.0.0.1."""

    def __init__(self, log_dir: Path, memory_limit: str) -> None:
        self.log_dir = log_dir
        self.port = free_port()
        self.memory_limit = memory_limit
        self.procs: list[subprocess.Popen] = []

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self, n_workers: int = 2) -> DaskCluster:
        dask = BIN / "dask"
        if not dask.exists():
            unavailable('the `dask` command is not installed (pip install "greta[dask]")')
        scheduler = spawn([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                           "--dashboard-address", "127.0.0.1:0"], self.log_dir / "scheduler.log")
        self.procs.append(scheduler)
        if not wait_port(self.port, scheduler, 60):
            self.stop()
            unavailable(f"dask scheduler did not start; see {self.log_dir}/scheduler.log")
        for i in range(n_workers):
            self.procs.append(spawn(
                [str(dask), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--memory-limit", self.memory_limit, "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"],
                self.log_dir / f"worker{i}.log", NO_SPILL))
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as c:
            try:
                c.wait_for_workers(n_workers, timeout=90)
            except Exception:  # noqa: BLE001
                self.stop()
                unavailable(f"{n_workers} dask workers did not register; see {self.log_dir}")
        return self

    def worker_pids(self) -> list[int]:
        """The worker processes' ids: a restarted (killed) worker has a new one."""
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as c:
            return sorted(c.run(os.getpid).values())

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop(p)


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    need("distributed", "dask")
    c = DaskCluster(tmp_path_factory.mktemp("dask-cluster"), DASK_WORKER_LIMIT)
    try:
        yield c.start(2)
    finally:
        c.stop()


# --------------------------------------------------------------------------------------- Spark
def need_spark() -> None:
    need("pyspark", "spark")
    from greta_core.ingestion.distributed_utils import java_status

    ok, detail = java_status()
    if not ok:
        unavailable(detail)


@pytest.fixture(scope="session")
def spark_local() -> Iterator[Any]:
    """One local[2] session for the whole test session (one already active is reused)."""
    need_spark()
    from pyspark.sql import SparkSession

    from greta_core.errors import SparkUnavailableError
    from greta_core.ingestion.spark_connector import SparkConnector

    owned = SparkSession.getActiveSession() is None
    try:
        session = SparkConnector({"spark.master": "local[2]"}).initialize_spark_session()
    except SparkUnavailableError as e:
        unavailable(str(e))
    yield session
    if owned:
        session.stop()


class SparkStandalone:
    """A standalone master and one worker (2 cores), started with ``spark-class``."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def start(self) -> SparkStandalone:
        cls = BIN / "spark-class"
        if not cls.exists():
            unavailable('spark-class is not in the virtualenv (pip install "greta[spark]")')
        env = {"PYSPARK_PYTHON": sys.executable}
        master = spawn([str(cls), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                        str(self.port), "--webui-port", str(free_port())], self.log_dir / "master.log", env)
        self.procs.append(master)
        if not wait_port(self.port, master, 90):
            self.stop()
            unavailable(f"the Spark master did not start; see {self.log_dir}/master.log")
        self.procs.append(spawn(
            [str(cls), "org.apache.spark.deploy.worker.Worker", self.master, "--host", "127.0.0.1",
             "--port", str(free_port()), "--cores", "2", "--memory", "2g", "--webui-port", str(free_port())],
            self.log_dir / "worker.log", env))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if "Registering worker" in (self.log_dir / "master.log").read_text(errors="ignore"):
                return self
            time.sleep(0.3)
        self.stop()
        unavailable(f"the Spark worker did not register; see {self.log_dir}")
        return self

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop(p)


@pytest.fixture(scope="session")
def spark_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkStandalone]:
    need_spark()
    s = SparkStandalone(tmp_path_factory.mktemp("spark-standalone"))
    try:
        yield s.start()
    finally:
        s.stop()


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
def standalone_results(spark_standalone: Any, planted: dict[str, str], big_parquet: tuple[str, int],
                       tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every planted layout and the big data set analysed on the standalone cluster, from a
    subprocess (Spark allows one session per process; this one is the test session's local[2])."""
    import json

    out = tmp_path_factory.mktemp("standalone") / "results.json"
    kit = Path(__file__).with_name("backends_kit.py")
    inputs = [planted["csv-file"], planted["csv-parts"], planted["parquet-parts"], big_parquet[0]]
    env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run([sys.executable, str(kit), spark_standalone.master, str(out), SPARK_EXECUTOR_MEMORY,
                           *inputs], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"results": json.loads(out.read_text()), "stderr": proc.stderr}
