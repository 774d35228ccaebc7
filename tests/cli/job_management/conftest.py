"""Fixtures of the job tests: small generated data, private Redis servers and real worker
processes on free loopback ports, each with a temporary GRETA_HOME, all stopped afterwards.

When a service cannot start, a test is skipped — except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engines import free_port, unavailable

ROOT = Path(__file__).resolve().parents[3]
try:
    import celery  # noqa: F401
    import redis  # noqa: F401
except ImportError:  # the `jobs` extra is missing: a failure on CI, else only unit tests run
    if os.environ.get("CI", "").strip().lower() == "true":
        raise
    collect_ignore_glob = ["test_jobs_e2e_*.py", "test_jobs_cli.py"]
# Small, fast analyses (under a second); MEDIUM runs a few seconds so progress can be seen.
# MEDIUM and LONG ask for the genetic search: on this small data 'auto' would score every
# hypothesis (the exact search) in a moment, and there would be no running job to watch.
FAST = {"hypothesis_search.pop_size": 20, "hypothesis_search.num_generations": 8}
MEDIUM = {"hypothesis_search.pop_size": 60, "hypothesis_search.num_generations": 120,
          "hypothesis_search.patience": "null", "hypothesis_search.strategy": "genetic"}
LONG = {"hypothesis_search.pop_size": 60, "hypothesis_search.num_generations": 1000000,
        "hypothesis_search.patience": "null", "hypothesis_search.strategy": "genetic",
        "hypothesis_search.max_minutes": 60}  # a search estimated above an hour needs a time budget
TIMING_ENV = {"GRETA_JOB_HEARTBEAT": "0.5", "GRETA_JOB_STALE_AFTER": "4",
              "GRETA_AUTOSTART_WORKER": "0", "OPENBLAS_NUM_THREADS": "1",
              "PYTHONUNBUFFERED": "1"}


def sets(values: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in values.items():
        out += ["--set", f"{key}={value}"]
    return out


@pytest.fixture(scope="session")
def data_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 rows: y = 2*x1 + noise, with three distractor columns."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 3000
    x = rng.normal(size=(n, 4))
    y = 2 * x[:, 0] + rng.normal(size=n)
    path = tmp_path_factory.mktemp("data") / "drivers.csv"
    lines = ["x1,x2,x3,x4,y"] + [",".join(f"{v:.6f}" for v in (*row, t)) for row, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------- Redis
class RedisServer:
    """A private redis-server on 127.0.0.1. With ``data_dir`` it can be shut down with its
    data saved (``shutdown_save``) and started again on the same port with that data."""

    def __init__(self, port: int, password: str | None = None,
                 data_dir: Path | None = None) -> None:
        self.port, self.password, self.data_dir = port, password, data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        exe = shutil.which("redis-server")
        if exe is None:
            unavailable("redis-server is not installed (apt-get install redis-server)")
        cmd = [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
               "--appendonly", "no", "--protected-mode", "yes"]
        if self.password:
            cmd += ["--requirepass", self.password]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["--dir", str(self.data_dir), "--dbfilename", "dump.rdb"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.RedisError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        unavailable(f"redis-server did not start on 127.0.0.1:{self.port}")
        return self

    def shutdown_save(self) -> None:
        """`redis-cli SHUTDOWN SAVE`: save the data to disk and stop, as an operator would."""
        import redis

        assert self.proc is not None and self.data_dir is not None
        try:
            redis.Redis.from_url(self.url, socket_connect_timeout=2).shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it stops
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def redis_factory() -> Iterator[Any]:
    servers: list[RedisServer] = []

    def make(password: str | None = None, data_dir: Path | None = None) -> RedisServer:
        server = RedisServer(free_port(), password, data_dir).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def shared_redis() -> Iterator[RedisServer]:
    """One Redis for the tests that only read and write the registry."""
    server = RedisServer(free_port()).start()
    yield server
    server.stop()


# --------------------------------------------------------------------------------- workers
class Worker:
    """A `greta worker` subprocess in its own process group (so it can be killed whole)."""

    def __init__(self, env: dict[str, str], log: Path, args: list[str]) -> None:
        self.env, self.log, self.args = env, log, args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Worker:
        cmd = [sys.executable, "-m", "greta_cli.app", "worker", *self.args]
        out = open(self.log, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=str(ROOT),
                                     start_new_session=True)
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.text():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.text()[-2000:]
        self.stop()
        unavailable(f"greta worker did not start; its log ends with:\n{tail}")
        return self

    def text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill_group(self) -> None:
        """SIGKILL the worker and its pool processes at once (as a crash or the OOM killer)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        assert self.proc is not None
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._reap_group()
            return
        try:  # the main process only: a warm shutdown lets a job in the pool finish
            self.proc.terminate()
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        self._reap_group()

    def _reap_group(self) -> None:
        if self.proc is None:
            return
        try:  # pool children left behind by a killed main process
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Jobs:
    """One job setup: an environment (GRETA_HOME, broker), its workers and CLI calls."""

    def __init__(self, home: Path, broker: str | None, tmp: Path) -> None:
        self.home, self.broker, self.tmp = home, broker, tmp
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("GRETA") and k != "CI_WORKER_HINT"}
        self.env.update(TIMING_ENV, GRETA_HOME=str(home))
        if broker:
            self.env["GRETA_BROKER_URL"] = broker
        self.workers: list[Worker] = []

    def worker(self, *args: str, name: str | None = None) -> Worker:
        log = self.tmp / f"{name or f'worker{len(self.workers)}'}.log"
        w = Worker(self.env, log, ["--loglevel", "info", *args])
        self.workers.append(w)
        return w.start()

    def greta(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "greta_cli.app", *args],
                              env={**self.env, **env}, capture_output=True, text=True, check=False,
                              timeout=timeout, cwd=str(self.tmp), stdin=subprocess.DEVNULL)

    def manager(self, **kwargs: Any) -> Any:
        """A JobManager in this process, pointed at this setup."""
        from greta_cli.config import load_config
        from greta_cli.job_management.job_manager import JobManager

        saved = {k: os.environ.get(k) for k in self.env if k.startswith("GRETA")}
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("GRETA")})
        if not self.broker:
            os.environ.pop("GRETA_BROKER_URL", None)
        try:
            cfg = load_config(None)
            return JobManager(cfg, **kwargs)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def config(self, data: Path, target: str = "y", seed: int = 1, **values: Any) -> Any:
        from greta_cli.config import load_config

        overrides = [f"{k}={v}" for k, v in {**FAST, **values}.items()]
        return load_config(None, [f"data.path={data}", f"data.target={target}",
                                  f"hypothesis_search.seed={seed}", *overrides], env={})

    def stop(self) -> None:
        for w in self.workers:
            w.stop()


@pytest.fixture
def jobs_factory(tmp_path: Path) -> Iterator[Any]:
    setups: list[Jobs] = []

    def make(broker: str | None = None) -> Jobs:
        home = tmp_path / f"home{len(setups)}"
        setup = Jobs(home, broker, tmp_path)
        setups.append(setup)
        return setup

    yield make
    for setup in setups:
        setup.stop()


def wait_for(predicate: Any, timeout: float, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def watch(manager: Any, job_id: str, timeout: float = 120.0, until: Any = None
          ) -> list[tuple[str, float, str | None]]:
    """Poll a job every 50 ms; return the distinct (state, percent, stage) seen until it is
    final (or ``until(job)`` is true)."""
    seen: list[tuple[str, float, str | None]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = manager.get_job_status(job_id)
        point = (job.state.value, job.progress.percent, job.progress.stage)
        if not seen or seen[-1] != point:
            seen.append(point)
        if job.state.final or (until is not None and until(job)):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout:.0f} s; seen {seen[-5:]}")


@pytest.fixture(scope="session")
def reference_results(data_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`greta run` on the test data, as a user types it (seed 1, the MEDIUM settings)."""
    out = tmp_path_factory.mktemp("ref") / "run.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    proc = subprocess.run([sys.executable, "-m", "greta_cli.app", "run", "--data", str(data_csv),
                           "--target", "y", "--seed", "1", *sets(MEDIUM), "--output", str(out),
                           "--quiet"], env=env, capture_output=True, text=True, check=False, timeout=180)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def essentials(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must match between two runs: hypotheses, their terms, p- and q-values."""
    return [(h["rank"], tuple(h["terms"]), h["confirmed"], h["holdout"]["p_value"],
             h["holdout"].get("q_value"), h["discovery"]["p_value"],
             tuple((t["term"], t["p_value"]) for t in h["term_tests"]))
            for h in results["hypotheses"]]


@pytest.fixture(scope="session")
def kit() -> Any:
    """The helpers above, for test modules (which cannot import conftest by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(wait_for=wait_for, essentials=essentials, sets=sets, FAST=FAST,
                           MEDIUM=MEDIUM, LONG=LONG, free_port=free_port,
                           unavailable=unavailable, RedisServer=RedisServer, Jobs=Jobs,
                           watch=watch)
