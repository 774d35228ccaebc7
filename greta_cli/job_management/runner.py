"""What a worker does with one job message: claim the job, run the analysis, record the end.

The Celery task (``tasks.py``) only hands over the job id and the config JSON; this module
holds the logic so it is tested without Celery. While the analysis runs, a heartbeat thread
stamps the job every few seconds, progress is written to the registry (at most twice a
second) and cancellation is read from it between batches and generations. Every write is
guarded by ownership (``state == running and owner == me``): a process that lost its job
(cancelled, taken over after it was presumed dead, marked failed) stops at the next check
and writes nothing more.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from greta_cli.job_management.errors import BrokerUnavailableError
from greta_cli.job_management.outage import Outage
from greta_cli.job_management.models import (
    Job,
    JobState,
    Timing,
    claim_decision,
    dead_reason,
    local_owner_alive,
    overall_percent,
    owner_id,
    parse_job_id,
)
from greta_cli.job_management.registry import JobRegistry

log = logging.getLogger("greta.jobs")
PROGRESS_EVERY = 0.5  # seconds between progress writes
CANCEL_EVERY = 0.25  # seconds between reads of the cancel flag
CLAIM_PATIENCE = 30.0  # seconds a worker waits for an unreachable registry to claim a job
FINISH_RETRY_MAX = 2.0  # seconds between tries of a job's final write while the registry is down


class JobRun:
    """One claimed run of a job: the engine's progress and cancel callbacks, and a heartbeat."""

    def __init__(self, registry: JobRegistry, job_id: str, owner: str, timing: Timing) -> None:
        self.registry, self.job_id, self.owner, self.timing = registry, job_id, owner, timing
        self.stage = "starting"
        self.percent = 0.0
        self.lost = False  # another process or a canceller now owns the job's record
        self.cancel_requested = False
        self._last_write = 0.0
        self._last_check = 0.0
        self._stop = threading.Event()
        self.outage = Outage(f"job {job_id}")
        self._thread = threading.Thread(target=self._beat, name=f"greta-heartbeat-{job_id[:8]}",
                                        daemon=True)

    @property
    def mine(self) -> dict[str, str]:
        return {"state": JobState.RUNNING.value, "owner": self.owner}

    # ------------------------------------------------------------------------ heartbeat
    def __enter__(self) -> JobRun:  # noqa: PYI034 - not subclassed
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(self.timing.heartbeat):
            try:
                if not self.registry.update(self.job_id, {"heartbeat_at": time.time()}, self.mine):
                    self._lose()
                self.outage.ok()
            except Exception as e:  # noqa: BLE001 - a registry hiccup must not kill the job
                self.outage.failed("heartbeat", e)

    def _lose(self) -> None:
        rec = self.registry.fields(self.job_id, ("state", "owner", "cancel_requested")) or {}
        if rec.get("state") == JobState.RUNNING.value and rec.get("owner") == self.owner:
            return
        if not self.lost:
            log.warning("job %s is no longer ours (now %s by %s): stopping", self.job_id,
                        rec.get("state", "deleted"), rec.get("owner") or "nobody")
        self.lost = True

    # ------------------------------------------------------------------ engine callbacks
    def progress(self, stage: str, fraction: float, info: dict[str, Any]) -> None:
        """The engine's progress callback: writes stage and percent, throttled."""
        now = time.monotonic()
        new_stage = stage != self.stage
        self.percent = overall_percent(stage, fraction, self.percent)
        self.stage = stage if stage != "done" else self.stage
        if not new_stage and now - self._last_write < PROGRESS_EVERY:
            return
        self._last_write = now
        kept = {k: v for k, v in info.items() if isinstance(v, (int, float, str))}
        if isinstance(info.get("metrics"), dict):  # the finished stages' resource usage
            kept["metrics"] = info["metrics"]
        info = kept
        changes = {"stage": self.stage, "percent": self.percent, "progress": info,
                   "heartbeat_at": time.time()}
        try:
            if not self.registry.update(self.job_id, changes, self.mine):
                self._lose()
            self.outage.ok()
        except BrokerUnavailableError as e:  # a registry hiccup must not fail the job
            self.outage.failed("progress", e)

    def cancelled(self) -> bool:
        """The engine's cancel callback: true once the user cancelled or the job was lost."""
        now = time.monotonic()
        if not self.lost and now - self._last_check >= CANCEL_EVERY:
            self._last_check = now
            try:
                rec = self.registry.fields(self.job_id, ("state", "owner", "cancel_requested"))
            except BrokerUnavailableError as e:
                self.outage.failed("cancel flag", e)
                return self.lost or self.cancel_requested
            rec = rec or {}
            self.cancel_requested = rec.get("cancel_requested") == "1"
            if rec.get("state") != JobState.RUNNING.value or rec.get("owner") != self.owner:
                self._lose()
        return self.lost or self.cancel_requested

    # --------------------------------------------------------------------------- the end
    def finish(self, state: JobState, error: str | None = None, result: str | None = None) -> bool:
        """Record the job's end (and its result). While the registry cannot be reached the
        write is retried, with the heartbeat still beating, until it is back: a finished job
        is never left ``running``, and its result is not lost to an outage."""
        finished = time.time()
        delay = 0.1
        while True:
            changes = {"state": state, "finished_at": finished, "error": error,
                       "heartbeat_at": time.time()}
            if state is JobState.SUCCEEDED:
                changes.update(stage="done", percent=100.0)
            try:
                done = self.registry.update(self.job_id, changes, self.mine, result=result)
                break
            except BrokerUnavailableError as e:
                if delay == 0.1:
                    log.warning("job %s ended %s while the job registry is unreachable; its end "
                                "(and result) will be written when the registry is back",
                                self.job_id, state.value)
                self.outage.failed(f"its end ({state.value})", e)
                time.sleep(delay)
                delay = min(delay * 2, FINISH_RETRY_MAX)
        self.outage.ok()
        if not done:
            self._lose()
        return done


def claim(registry: JobRegistry, job_id: str, timing: Timing) -> tuple[Job | None, str, str]:
    """Try to become the runner of ``job_id``: (job, decision, owner)."""
    owner = owner_id()
    job = registry.get(job_id)
    if job is None:
        return None, "unknown", owner
    decision = claim_decision(job, time.time(), timing)
    if decision == "give_up" and job.state is JobState.RUNNING and \
            local_owner_alive(job.owner, since=job.started_at) is False:
        # Its process died on this machine: the worker's monitor marks it failed at its next
        # beat, with the reason (it can tell a kill for memory from the kernel's count).
        return job, "skip", owner
    if decision == "give_up":
        reason = dead_reason(job, time.time(), timing) or "its worker died"
        error = (f"Failed after {job.attempts} attempt(s): {reason}. Submit it again, with "
                 "more memory or a lower preprocessing.batch_rows if it keeps dying.")
        registry.update(job_id, {"state": JobState.FAILED, "finished_at": time.time(),
                                 "error": error},
                        {"state": job.state.value, "owner": job.owner or ""})
        return job, decision, owner
    if decision != "start":
        return job, decision, owner
    now = time.time()
    changes = {"state": JobState.RUNNING, "owner": owner, "started_at": now, "heartbeat_at": now,
               "attempts": job.attempts + 1, "stage": "starting", "percent": 0.0, "progress": {},
               "error": None}
    expect = {"state": job.state.value, "owner": job.owner or "", "attempts": job.attempts}
    if not registry.update(job_id, changes, expect):
        return job, "skip", owner  # another worker won the race
    return job, "start", owner


def claim_patiently(registry: JobRegistry, job_id: str, timing: Timing,
                    patience: float = CLAIM_PATIENCE) -> tuple[Job | None, str, str]:
    """:func:`claim`, tried again while the registry is unreachable (Redis restarting) for up
    to ``patience`` seconds. Giving up raises, and Celery then drops the message; the job
    stays queued, and an idle worker's monitor sends its message again later."""
    deadline = time.monotonic() + patience
    delay = 0.2
    while True:
        try:
            return claim(registry, job_id, timing)
        except BrokerUnavailableError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, FINISH_RETRY_MAX)


def execute_job(job_id: str, config_json: str, registry: JobRegistry,
                timing: Timing | None = None) -> dict[str, Any]:
    """Run the job ``job_id`` with the configuration ``config_json``; return a small summary.

    A job that is unknown, final, or running alive elsewhere is not run (duplicate or
    forged messages are harmless). User errors end the job ``failed`` with their one-line
    message; an unexpected error also ends it ``failed`` and is raised for Celery to log.
    """
    from greta_cli.config import config_from_dict
    from greta_cli.core_integration.integration import run_analysis_pipeline
    from greta_cli.watch import memory_kills_explained
    from greta_core.errors import CancelledError, GretaError

    timing = timing or Timing.from_env()
    job_id = parse_job_id(job_id)
    job, decision, owner = claim_patiently(registry, job_id, timing)
    if decision != "start":
        state = job.state.value if job else "unknown"
        log.info("job %s not run: %s (state %s)", job_id, decision, state)
        return {"job_id": job_id, "state": state, "ran": False, "reason": decision}
    assert job is not None
    log.info("job %s: attempt %d started by %s", job_id, job.attempts + 1, owner)
    with JobRun(registry, job_id, owner, timing) as run:
        try:
            config = config_from_dict(json.loads(config_json), source=f"in job {job_id}")
            with memory_kills_explained(config.scalability.ingestion_backend):
                results = run_analysis_pipeline(config, progress=run.progress, cancel=run.cancelled)
            text = results_json(results)
        except CancelledError:
            if run.lost:
                return {"job_id": job_id, "state": "lost", "ran": True}
            run.finish(JobState.CANCELLED, f"Cancelled by the user during {run.stage} "
                       f"({run.percent:.0f}% done).")
            return {"job_id": job_id, "state": "cancelled", "ran": True}
        except GretaError as e:
            run.finish(JobState.FAILED, str(e))
            return {"job_id": job_id, "state": "failed", "ran": True, "error": str(e)}
        except Exception as e:
            run.finish(JobState.FAILED, f"Internal error: {type(e).__name__}: {e}. See the "
                       "worker's log for the traceback, and please report it.")
            raise
        state = JobState.SUCCEEDED if run.finish(JobState.SUCCEEDED, result=text) else None
    log.info("job %s ran to its end: %s (attempt %d, by %s)", job_id,
             state.value if state else "lost, another process owns the job now",
             job.attempts + 1, owner)
    return {"job_id": job_id, "state": state.value if state else "lost", "ran": True,
            "hypotheses": len(results.get("hypotheses", []))}


def results_json(results: dict[str, Any]) -> str:
    """The results document as standard JSON text (numpy scalars as numbers, no NaN)."""
    try:
        return json.dumps(results, allow_nan=False, default=_json_default)
    except (TypeError, ValueError):
        from greta_core.report import to_json

        return to_json(results)


def _json_default(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    msg = f"not JSON serialisable: {type(v).__name__}"
    raise TypeError(msg)
