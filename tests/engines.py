"""The real engines the tests start themselves, on free 127.0.0.1 ports, and stop afterwards:
a ``dask scheduler`` + ``dask worker`` processes, a Spark standalone master + worker started
with ``spark-class`` from the pyspark package, and helpers shared by every test directory
(a plain module on the test path: test modules cannot import a conftest).

An engine or service that is missing or cannot start skips its test, except with ``CI=true``:
there it fails.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
QUIET_ENV = {"DASK_LOGGING__DISTRIBUTED": "error", "OPENBLAS_NUM_THREADS": "1", "SPARK_LOCAL_IP": "127.0.0.1",
             "PYTHONWARNINGS": "ignore"}


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def unavailable(message: str) -> None:
    """Skip a test whose engine or service is missing; fail it on CI (``CI=true``)."""
    if on_ci():
        pytest.fail(f"{message} (CI=true: a missing engine or service is a failure)")
    pytest.skip(message)


def need(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        unavailable(f'{module} is not installed (pip install "greta[{extra}]")')


def need_spark() -> None:
    need("pyspark", "spark")
    from greta_core.ingestion.distributed_utils import java_status

    ok, detail = java_status()
    if not ok:
        unavailable(detail)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def spawn(cmd: list[str], log: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """``cmd`` in the background, its output appended to ``log``."""
    env = {**os.environ, **QUIET_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           **(extra_env or {})}
    with open(log, "ab") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


class DaskCluster:
    """``dask scheduler`` + ``dask worker`` processes, one thread each. With ``nanny`` a worker
    that goes over ``memory_limit`` is restarted (a new pid); without, a killed worker stays dead."""

    def __init__(self, log_dir: Path, memory_limit: str = "2GiB", nanny: bool = True,
                 worker_env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.port = free_port()
        self.memory_limit, self.nanny, self.worker_env = memory_limit, nanny, worker_env
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self, n_workers: int = 2) -> DaskCluster:
        dask = BIN / "dask"
        if not dask.exists():
            unavailable('the `dask` command is not installed (pip install "greta[dask]")')
        self.scheduler = spawn([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                "--dashboard-address", "127.0.0.1:0"], self.log_dir / "scheduler.log")
        if not wait_port(self.port, self.scheduler, 60):
            self.stop()
            unavailable(f"dask scheduler did not start; see {self.log_dir}/scheduler.log")
        for i in range(n_workers):
            self.workers.append(spawn(
                [str(dask), "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                 *([] if self.nanny else ["--no-nanny"]), "--memory-limit", self.memory_limit,
                 "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"],
                self.log_dir / f"worker{i}.log", self.worker_env))
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
        env = {"PYSPARK_PYTHON": sys.executable}  # the daemons log at INFO to their files
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
