"""The worker's monitor thread and the rules for jobs whose worker died.

In every worker's main process a thread, every heartbeat interval:

- records the worker as alive in the registry (``greta submit`` reads it to decide whether to
  start a local worker);
- finds ``running`` jobs whose process died (on this machine: the process is gone;
  elsewhere: no heartbeat for ``stale_after`` seconds) and queues them again — or, once they
  used ``GRETA_JOB_MAX_ATTEMPTS`` attempts, marks them ``failed`` with the reason. This
  covers what brokers do not: the embedded broker never redelivers the job of a killed
  worker, and Redis only after the visibility timeout;
- tidies the embedded broker's folder (stale remote-control messages);
- stops the worker after ``--idle-timeout`` seconds with no queued or running job.

Clients apply :func:`reap` when they read a job, with double the patience, so a job is never
``running`` forever even when no worker is left to recover it.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from greta_cli.job_management.delivery import app_engine, publish, registry_for
from greta_cli.job_management.models import Job, JobState, Timing, dead_reason
from greta_cli.job_management.registry import JobRegistry

log = logging.getLogger("greta.jobs")


def reap(registry: JobRegistry, job: Job, timing: Timing, now: float | None = None,
         workers_alive: Any = None) -> Job:
    """Mark ``job`` failed if it is ``running`` but its worker is dead (client side).

    ``workers_alive()``, if given, tells whether a live worker serves the job's queue: its
    monitor queues the job again (it may wait one stale period after a registry outage), so
    the client then waits up to four stale periods before it gives the job up.
    """
    now = time.time() if now is None else now
    silent = now - (job.heartbeat_at or job.started_at or job.submitted_at)
    reason = dead_reason(job, now, timing, patience=2.0)
    if reason is None or silent <= timing.stale_after:
        return job
    if workers_alive is not None and silent <= 4 * timing.stale_after and workers_alive():
        return job
    error = (f"The job stopped: {reason}, and no worker re-ran it. Submit it again with "
             "`greta submit`.")
    if registry.update(job.id, {"state": JobState.FAILED, "finished_at": now, "error": error},
                       {"state": "running", "owner": job.owner or ""}):
        log.warning("job %s marked failed: %s", job.id, reason)
    return registry.get(job.id) or job


def recover(registry: JobRegistry, timing: Timing, publish: Any, now: float | None = None,
            killed_for_memory: Any = None) -> list[tuple[str, str]]:
    """Requeue (or fail) every ``running`` job whose worker died; return (id, action) pairs.

    ``killed_for_memory(job)``, if given, returns the line that says the kernel killed the
    job's (dead, local) process for memory, or None; it then replaces "died" in the reason.
    """
    now = time.time() if now is None else now
    done = []
    for job in registry.list(JobState.RUNNING):
        reason = dead_reason(job, now, timing)
        if reason is None:
            continue
        oom = killed_for_memory(job) if killed_for_memory is not None else None
        if oom:
            reason = oom.rstrip(".")
        expect = {"state": "running", "owner": job.owner or ""}
        if job.attempts < timing.max_attempts:
            payload = registry.payload(job.id)
            changes = {"state": JobState.QUEUED, "owner": None, "stage": "requeued",
                       "percent": 0.0, "progress": {"reason": reason, "queued_at": now}}
            if payload:
                # The message first: were the registry written first and the broker then
                # unreachable, the job would stay queued with no message. A message sent for
                # a job that another worker took over meanwhile is skipped by its receiver.
                publish(job.id, payload, job.queue)
            if payload and registry.update(job.id, changes, expect):
                log.warning("job %s: %s; queued again (attempt %d of %d)", job.id, reason,
                            job.attempts + 1, timing.max_attempts)
                done.append((job.id, "requeued"))
                continue
        if oom:
            error = f"The job failed after {job.attempts} attempt(s). {oom}"
        else:
            error = (f"The job failed after {job.attempts} attempt(s): {reason}. Submit it "
                     "again; if it keeps dying, give it more memory or lower "
                     "preprocessing.batch_rows.")
        if registry.update(job.id, {"state": JobState.FAILED, "finished_at": now,
                                    "error": error}, expect):
            log.warning("job %s marked failed: %s", job.id, reason)
            done.append((job.id, "failed"))
    return done


def queued_since(job: Job) -> float:
    """When ``job`` was last queued: submitted, or queued again after its worker died."""
    try:
        return float(job.progress.info.get("queued_at") or job.submitted_at)
    except (TypeError, ValueError):
        return job.submitted_at


def resend_stranded(registry: JobRegistry, publish: Any, queues: list[str], patience: float,
                    now: float | None = None) -> list[str]:
    """Send again the message of every job of ``queues`` queued for more than ``patience``
    seconds; return their ids. Called by a worker that has had a free slot for a while.

    A worker with a free slot takes a waiting message at once, so such a job's message is not
    in the queue: a worker took it and vanished before the job started (killed, or cut off
    from the broker and its reserved messages dropped). Redis hands such a message out again
    after the visibility timeout (``patience`` waits longer than that); the embedded broker
    never does, and neither broker can return a message it lost. The copy is harmless if the
    original turns up too: whoever gets the second finds the job taken and skips it.
    """
    now = time.time() if now is None else now
    sent = []
    for job in registry.list(JobState.QUEUED):
        if (job.queue or "") not in queues or now - queued_since(job) < patience:
            continue
        raw = registry.fields(job.id, ("state", "progress")) or {}
        info = {**job.progress.info, "queued_at": now,
                "resent": int(job.progress.info.get("resent", 0) or 0) + 1}
        payload = registry.payload(job.id)
        expect = {"state": "queued", "progress": raw.get("progress", "")}
        if not payload or not registry.update(job.id, {"progress": info}, expect):
            continue  # taken, cancelled, or another worker sent it just now
        log.warning("job %s: queued for %.0f s while this worker was free; its message was lost "
                    "or is held by a worker that vanished: sent again", job.id,
                    now - queued_since(job))
        publish(job.id, payload, job.queue)
        sent.append(job.id)
    return sent


def memory_kill_reason(job: Job, limit: Any, kills_before: int | None,
                       registry: JobRegistry | None = None) -> str | None:
    """The line saying the kernel killed ``job``'s process for memory: its process was on
    this machine, is gone, and the kernel's count of memory kills (of ``limit``'s group, else
    the machine's) grew past ``kills_before``; None otherwise. It names the setting to lower
    for the job's engine (read from its config in ``registry``)."""
    from greta_cli.job_management.models import local_owner_alive
    from greta_core.resources.memory import memory_kill_message

    if local_owner_alive(job.owner, since=job.started_at) is not False:
        return None
    config: Any = job.config or {}
    if registry is not None and not config:
        try:
            config = json.loads((registry.fields(job.id, ("config",)) or {}).get("config")
                                or "{}")
        except ValueError:
            config = {}
    backend = (config.get("scalability") or {}).get("ingestion_backend") or "auto"
    return memory_kill_message(limit, kills_before, str(backend),
                               f"the worker process running it ({job.owner})")


def alive_workers(registry: JobRegistry, timing: Timing, queue: str | None = None
                  ) -> list[dict[str, Any]]:
    """Worker records seen within three heartbeats (and whose process exists, if local)."""
    from greta_cli.job_management.models import local_owner_alive

    now, out = time.time(), []
    for w in registry.workers():
        if now - float(w.get("last_seen", 0)) > 3 * timing.heartbeat + 2:
            continue
        if local_owner_alive(f"{w.get('host')}:{w.get('pid')}") is False:
            continue
        if queue is None or queue in w.get("queues", []):
            out.append(w)
    return out


class WorkerMonitor:
    """The monitor thread of one worker (started on Celery's ``worker_ready`` signal)."""

    def __init__(self, app: Any, consumer: Any = None) -> None:
        self.app = app
        self.engine = app_engine(app)
        self.registry = registry_for(self.engine)
        self.timing = Timing.from_env()
        self.idle_timeout = float(app.conf.get("greta_idle_timeout") or 0)
        self.name = getattr(consumer, "hostname", None) or f"greta-{os.getpid()}@{socket.gethostname()}"
        queues = getattr(getattr(consumer, "task_consumer", None), "queues", None) or []
        pool = getattr(consumer, "pool", None)
        self.concurrency = int(getattr(pool, "num_processes", 0) or
                               app.conf.get("worker_concurrency") or 1)
        self.info = {"name": self.name, "host": socket.gethostname(), "pid": os.getpid(),
                     "queues": [q.name for q in queues] or [self.engine.queue],
                     "started_at": time.time(), "concurrency": self.concurrency}
        self._free_since: float | None = time.time()
        # Seconds a free slot must last before queued jobs are suspected stranded, and how
        # long a job must be queued before its message is sent again (Redis hands a stranded
        # message out again after the visibility timeout: give it that chance first).
        self.free_needed = max(5.0, 2 * self.timing.heartbeat)
        if self.engine.uses_redis:
            self.resend_after = self.engine.visibility_timeout + 2 * self.timing.stale_after
        else:
            self.resend_after = 2 * self.timing.stale_after
        self._publish = lambda job_id, payload, queue: publish(app, job_id, payload,
                                                               queue or self.engine.queue)
        self._stop = threading.Event()
        from greta_cli.job_management.outage import Outage

        self.outage = Outage(f"greta monitor of {self.name}")
        from greta_core.resources.memory import memory_limit

        self.limit = memory_limit()
        self._kills = self.limit.oom_kills()  # the kernel's count of memory kills, last tick
        self._busy_at = time.monotonic()
        self._tidied_at = 0.0
        self._thread = threading.Thread(target=self._loop, name="greta-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.registry.drop_worker(self.name)
        except Exception as e:  # noqa: BLE001 - shutting down anyway
            log.debug("could not unregister worker %s: %s", self.name, e)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
                self.outage.ok()
            except Exception as e:  # noqa: BLE001 - keep monitoring through registry hiccups
                self.outage.failed("worker heartbeat", e)
            self._stop.wait(min(self.timing.heartbeat, 5.0))

    def held(self) -> int:
        """Job messages this worker holds (running or reserved)."""
        from celery.worker import state

        return len(state.reserved_requests)

    def tick(self) -> None:
        now = time.time()
        held = self.held()
        if held >= self.concurrency:
            self._free_since = None
        elif self._free_since is None:
            self._free_since = now
        self.registry.beat_worker(self.name, {**self.info, "last_seen": now, "held": held,
                                              "free_since": self._free_since})
        # Heartbeats missed while the registry was down are not held against jobs: after an
        # outage, running jobs get one stale period to beat again before they are recovered.
        if time.monotonic() - self.outage.back_at > self.timing.stale_after:
            recover(self.registry, self.timing, self._publish,
                    killed_for_memory=self.killed_for_memory)
            if self._free_since is not None and now - self._free_since > self.free_needed:
                resend_stranded(self.registry, self._publish, self.info["queues"],
                                self.resend_after)
        self._kills = self.limit.oom_kills()
        if self.engine.embedded and time.monotonic() - self._tidied_at > 60:
            self._tidied_at = time.monotonic()
            tidy_broker_folder(self.engine.home / "broker")
        if self.idle_timeout > 0:
            self._check_idle()

    def killed_for_memory(self, job: Job) -> str | None:
        """The line saying the kernel killed ``job``'s process for memory since the last tick."""
        if self.limit.oom_kills() == self._kills:
            return None  # the usual case: no registry read
        return memory_kill_reason(job, self.limit, self._kills, self.registry)

    def _check_idle(self) -> None:
        busy = self.registry.list(JobState.RUNNING) or self.registry.list(JobState.QUEUED)
        if busy:
            self._busy_at = time.monotonic()
        elif time.monotonic() - self._busy_at > self.idle_timeout:
            log.info("greta worker idle for %.0f s: stopping", self.idle_timeout)
            self._stop.set()
            os.kill(os.getpid(), signal.SIGTERM)


def tidy_broker_folder(folder: Path, max_age: float = 600.0) -> int:
    """Delete stale remote-control messages and half-taken files of the embedded broker."""
    now, removed = time.time(), 0
    for path in [*folder.joinpath("queue").glob("*.msg"), *folder.joinpath("claimed").glob("*")]:
        control = ".pidbox.msg" in path.name or path.parent.name == "claimed"
        try:
            if control and now - path.stat().st_mtime > max_age:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
