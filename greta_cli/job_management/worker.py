"""Starting workers: ``greta worker`` in the foreground, and the local worker that
``greta submit`` starts by itself for the embedded default when none is running."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from greta_cli.job_management.engine import Engine

AUTOSTART_IDLE = 600.0  # seconds an auto-started worker waits for work before it stops


def run_worker(engine: Engine, concurrency: int = 1, queues: str | None = None,
               loglevel: str = "info", idle_timeout: float = 0.0,
               hostname: str | None = None) -> None:
    """Run a Celery worker for ``engine`` in this process until it is stopped (Ctrl-C, TERM)."""
    from greta_cli.job_management.celery_app import make_celery_app

    app = make_celery_app(engine)
    app.conf.greta_idle_timeout = idle_timeout
    import greta_core.pipeline  # noqa: F401 - loaded once here, shared by the forked pool

    argv = ["worker", f"--concurrency={concurrency}", f"--queues={queues or engine.queue}",
            f"--loglevel={loglevel}", f"--hostname={hostname or f'greta-{os.getpid()}@%h'}",
            "--pool=prefork", "--without-mingle", "--without-gossip"]
    if not engine.uses_redis:
        argv.append("--without-heartbeat")
    app.worker_main(argv)


def ensure_local_worker(manager: Any) -> int | None:
    """Start a detached local worker when none serves the queue; return its pid (or None).

    Used with the embedded default only. The worker logs to ``GRETA_HOME/logs/worker.log``
    and stops after ``GRETA_WORKER_IDLE_TIMEOUT`` seconds (default 600) without work.
    """
    from greta_cli.job_management.models import pid_alive
    from greta_cli.job_management.monitor import alive_workers

    engine: Engine = manager.engine
    run = engine.folder("run")
    with _locked(run / "worker.lock"):
        if alive_workers(manager.registry, manager.timing, engine.queue):
            return None
        pidfile = run / "worker.pid"
        try:
            pid, started = (float(x) for x in pidfile.read_text().split())
            if pid_alive(int(pid)) and time.time() - started < 120:
                return None  # started a moment ago, not yet ready
        except (OSError, ValueError):
            pass
        idle = os.environ.get("GRETA_WORKER_IDLE_TIMEOUT", "") or str(AUTOSTART_IDLE)
        log = engine.folder("logs") / "worker.log"
        cmd = [sys.executable, "-m", "greta_cli.app", "worker", "--concurrency", "1",
               "--queues", engine.queue, "--idle-timeout", idle, "--loglevel", "info"]
        env = {**os.environ, "GRETA_HOME": str(engine.home)}
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, close_fds=True,
                                    **_detached())
        pidfile.write_text(f"{proc.pid} {time.time()}")
        return proc.pid


def _detached() -> dict[str, Any]:
    if os.name == "nt":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
        return {"creationflags": flags}
    return {"start_new_session": True}


class _locked:
    """An exclusive lock on a file (so two submits do not both start a worker)."""

    def __init__(self, path: Any) -> None:
        self.path = path
        self.file: Any = None

    def __enter__(self) -> None:
        self.file = open(self.path, "a+")
        if os.name != "nt":
            import fcntl

            fcntl.flock(self.file, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.file.close()
