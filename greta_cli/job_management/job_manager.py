"""`JobManager`: submit, watch, cancel, list and collect background analyses.

Reading jobs (status, list, results) needs only the job registry; submitting and cancelling
also talk to Celery. Every method raises :class:`~greta_core.errors.GretaError` subclasses
with one-line messages for what a user can fix (unknown id, unreachable broker, ...).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from greta_cli.config import GretaConfig, config_to_dict
from greta_cli.job_management.engine import Engine, engine_from_config
from greta_cli.job_management.errors import (
    BrokerUnavailableError,
    JobNotFinishedError,
    JobNotFoundError,
    jobs_unavailable,
)
from greta_cli.job_management.models import Job, JobState, Timing, new_job_id, parse_job_id
from greta_cli.job_management.monitor import alive_workers, queued_since, reap
from greta_cli.job_management.registry import JobRegistry, open_registry

CANCEL_GRACE = 5.0  # seconds a running job gets to stop by itself before it is terminated


class JobManager:
    """Background analyses on the broker that ``config`` names (or the embedded default).

    Parameters
    ----------
    config
        Where jobs go comes from ``config.scalability.celery_config`` (the environment's
        ``GRETA_BROKER_URL``/``GRETA_RESULT_BACKEND`` when loaded with ``load_config``).
        ``None`` reads the defaults and the environment.
    autostart
        With the embedded default, start a local worker on submit when none is running.
        ``None`` reads ``GRETA_AUTOSTART_WORKER`` (on unless ``0``/``false``/``no``).
    """

    def __init__(self, config: GretaConfig | None = None, *, autostart: bool | None = None,
                 engine: Engine | None = None) -> None:
        self.engine = engine or engine_from_config(config)
        self.timing = Timing.from_env()
        if autostart is None:
            flag = os.environ.get("GRETA_AUTOSTART_WORKER", "1").strip().lower()
            autostart = flag not in ("0", "false", "no", "off")
        self.autostart = autostart
        self._registry: JobRegistry | None = None
        self._app: Any = None

    # ---------------------------------------------------------------------------- plumbing
    @property
    def registry(self) -> JobRegistry:
        if self._registry is None:
            try:
                self._registry = open_registry(self.engine.registry_url)
            except ImportError:
                raise jobs_unavailable("Jobs on Redis") from None
        return self._registry

    @property
    def celery_app(self) -> Any:
        if self._app is None:
            try:
                from greta_cli.job_management.celery_app import make_celery_app
            except ImportError:
                raise jobs_unavailable() from None
            self._app = make_celery_app(self.engine, client=True)
        return self._app

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()

    # ------------------------------------------------------------------------------ submit
    def submit_analysis_job(self, config: GretaConfig, data_path: str | None = None) -> Job:
        """Queue an analysis of ``data_path`` (default ``config.data.path``); return the job.

        The data path is made absolute and checked here, so a typo fails at once rather than
        in the worker; a worker on another machine must see the same path.
        """
        job, payload = prepare_job(config, data_path, self.engine.queue)
        app = self.celery_app  # fails before anything is stored if Celery is missing
        self.registry.create(job, payload)
        try:
            from greta_cli.job_management.celery_app import publish

            publish(app, job.id, payload, self.engine.queue)
        except Exception as e:  # noqa: BLE001 - kombu raises many kinds for a dead broker
            try:
                self.registry.delete(job.id)
            except BrokerUnavailableError:  # its record stays: a free worker will send it
                raise self._unreachable(e, left=job.id) from None
            raise self._unreachable(e) from None
        if self.engine.embedded and self.autostart:
            from greta_cli.job_management.worker import ensure_local_worker

            ensure_local_worker(self)
        return job

    def _unreachable(self, e: BaseException, left: str | None = None) -> BrokerUnavailableError:
        reason = " ".join(str(e).split()).rstrip(".") or type(e).__name__
        msg = (f"Cannot queue the job on the broker at {self.engine.describe()}: {reason}. "
               "Start the broker, or fix scalability.celery_config.broker_url "
               "(or GRETA_BROKER_URL).")
        if left:
            msg = msg[:-1] + (f"; its record {left} could not be removed and a worker may "
                              f"still run it: check `greta status {left}` before submitting "
                              "again.")
        return BrokerUnavailableError(msg)

    # ------------------------------------------------------------------------------- reads
    def resolve_job_id(self, text: str) -> str:
        """The whole id of the job ``text`` names: its id, or the first characters of one."""
        from greta_cli.job_management.models import match_job_id

        return match_job_id(text, self.registry.ids())

    def get_job_status(self, job_id: str) -> Job:
        """The job ``job_id``; a ``running`` job whose worker died is first marked failed."""
        job_id = parse_job_id(job_id)
        job = self.registry.get(job_id)
        if job is None:
            msg = (f"No job with id {job_id!r} on {self.engine.describe()}. List the jobs with "
                   "`greta list` (and check GRETA_BROKER_URL or --config).")
            raise JobNotFoundError(msg)
        return self._reap(job)

    def _reap(self, job: Job) -> Job:
        queue = job.queue or self.engine.queue
        return reap(self.registry, job, self.timing, workers_alive=lambda: bool(
            alive_workers(self.registry, self.timing, queue)))

    def list_jobs(self, state: JobState | str | None = None) -> list[Job]:
        """Every job, newest first; only those in ``state`` if given."""
        if isinstance(state, str):
            from greta_cli.job_management.models import parse_state

            state = parse_state(state)
        jobs = [self._reap(j) if j.state is JobState.RUNNING else j
                for j in self.registry.list()]
        return [j for j in jobs if state is None or j.state is state]

    def get_job_result(self, job_id: str) -> dict[str, Any]:
        """The results document of a succeeded job."""
        job = self.get_job_status(job_id)
        if job.state is not JobState.SUCCEEDED:
            raise JobNotFinishedError(_not_finished(job))
        text = self.registry.result(job.id)
        if not text:
            msg = f"Job {job.id} succeeded but its results are gone (expired). Submit it again."
            raise JobNotFinishedError(msg)
        return json.loads(text)

    def serve_queued(self) -> str | None:
        """Embedded broker: when jobs are queued and no worker serves the queue (the local
        worker was killed, or stopped), start one (autostart on) or say how to; else None.

        Returns a line for the user, or None when there is nothing to say.
        """
        if not self.engine.embedded:
            return None
        queued = self.registry.list(JobState.QUEUED)
        if not queued or alive_workers(self.registry, self.timing, self.engine.queue):
            return None
        n = f"{len(queued)} queued job{'s' if len(queued) != 1 else ''}"
        if self.autostart:
            from greta_cli.job_management.worker import ensure_local_worker

            pid = ensure_local_worker(self)
            if pid is None:
                return None  # one is starting already
            log = self.engine.home / "logs" / "worker.log"
            return f"greta: no worker was running; started one (pid {pid}) for {n}. Its log: {log}"
        return (f"greta: warning: no worker is running for {n}; start one with `greta worker` "
                "(automatic start is off: GRETA_AUTOSTART_WORKER=0 or --no-worker).")

    def untaken_warnings(self, jobs: list[Job], now: float | None = None) -> list[str]:
        """Lines for queued ``jobs`` that no live worker will take: none alive for their queue
        (by the workers' heartbeats in the registry: one read, no broker round trip), or one
        with a free slot for a while, so that the job's message is not in the queue but held
        by a worker that vanished after taking it (Redis delivers it again after
        ``visibility_timeout``; an idle worker sends it again after that)."""
        queued = [j for j in jobs if j.state is JobState.QUEUED]
        if not queued or self.engine.embedded:  # embedded: serve_queued starts a worker
            return []
        now = time.time() if now is None else now
        workers = alive_workers(self.registry, self.timing)
        grace = max(5.0, 2 * self.timing.heartbeat) + min(self.timing.heartbeat, 5.0)
        lines = []
        for queue in sorted({j.queue or self.engine.queue for j in queued}):
            mine = [j for j in queued if (j.queue or self.engine.queue) == queue]
            takers = [w for w in workers if queue in w.get("queues", [])]
            what = (f"job {mine[0].id} is queued" if len(mine) == 1
                    else f"{len(mine)} jobs are queued")
            if not takers:
                lines.append(f"greta: warning: {what} on queue {queue!r} but no worker of that "
                             f"queue is alive (none sent a heartbeat in the last "
                             f"{3 * self.timing.heartbeat + 2:.0f} s); start one with "
                             "`greta worker`.")
                continue
            free = [w for w in takers if w.get("free_since") is not None]
            for job in mine:
                since = queued_since(job)
                idle = [w for w in free if float(w.get("last_seen", 0)) - max(
                    float(w["free_since"]), since) > grace]
                if not idle:
                    continue
                lines.append(
                    f"greta: warning: job {job.id} has been queued {now - since:.0f} s while "
                    f"worker {idle[0].get('name')} was free: a worker took its message and "
                    "vanished (killed, or cut off from the broker). The broker delivers it "
                    f"again {self.engine.visibility_timeout} s after it was taken "
                    "(scalability.celery_config.visibility_timeout).")
        return lines

    def workers(self) -> list[dict[str, Any]]:
        """The workers seen alive recently (by their heartbeat in the registry)."""
        return alive_workers(self.registry, self.timing)

    # ------------------------------------------------------------------------------ cancel
    def cancel_job(self, job_id: str, wait: float = CANCEL_GRACE) -> Job:
        """Cancel a job: at once if queued; a running job is asked to stop (it checks between
        batches and generations) and, if it has not stopped after ``wait`` seconds, its
        process is terminated. Returns the job as it then is (final jobs are unchanged)."""
        job = self.get_job_status(job_id)
        now = time.time()
        if job.state is JobState.QUEUED:
            changes = {"state": JobState.CANCELLED, "finished_at": now, "cancel_requested": True,
                       "error": "Cancelled by the user before it started."}
            if self.registry.update(job.id, changes, {"state": "queued"}):
                self._revoke(job.id, terminate=False)
                return self.get_job_status(job.id)
            job = self.get_job_status(job.id)  # it has just started
        if job.state is not JobState.RUNNING:
            return job
        self.registry.update(job.id, {"cancel_requested": True}, {"state": "running"})
        self._revoke(job.id, terminate=False)
        if wait <= 0:
            return self.get_job_status(job.id)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            job = self.get_job_status(job.id)
            if job.state.final:
                return job
            time.sleep(min(0.1, wait))
        # Cancelled first, so no monitor takes the terminated process for a crash and re-runs it.
        owner = job.owner or ""
        said = f"Cancelled by the user; it did not stop by itself within {wait:.0f} s, so"
        changes = {"state": JobState.CANCELLED, "finished_at": time.time(),
                   "error": f"{said} its process ({owner or 'unknown'}) was told to stop."}
        if not self.registry.update(job.id, changes, {"state": "running", "owner": owner}):
            return self.get_job_status(job.id)  # it ended (or was taken over) just now
        self._revoke(job.id, terminate=True)
        stopped = self._stopped(job.owner)
        if stopped:
            how = f"its process ({owner}) was stopped"
        elif stopped is None:
            how = f"its worker on another machine was told to stop its process ({owner})"
        else:
            how = (f"its process ({owner or 'unknown'}) was told to stop but has not exited; "
                   "anything it still writes is discarded")
        self.registry.update(job.id, {"error": f"{said} {how}."},
                             {"state": "cancelled", "owner": owner})
        return self.get_job_status(job.id)

    @staticmethod
    def _stopped(owner: str | None, wait: float = 3.0) -> bool | None:
        """Whether the process ``owner`` (host:pid) is gone: None when it is on another host."""
        from greta_cli.job_management.models import local_owner_alive

        deadline = time.monotonic() + wait
        while True:
            alive = local_owner_alive(owner)
            if alive is None or not alive:
                return None if alive is None else True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def _revoke(self, job_id: str, terminate: bool) -> None:
        try:
            self.celery_app.control.revoke(job_id, terminate=terminate, signal="SIGTERM")
        except Exception:  # noqa: BLE001 - the registry flag already cancels the job
            return


def prepare_job(config: GretaConfig, data_path: str | None, queue: str) -> tuple[Job, str]:
    """A new queued job for ``config`` and the config JSON its worker runs (the payload).

    The payload has the absolute data path and no broker URLs (workers are connected
    already, and passwords stay out of messages); the job keeps a redacted copy to show.
    """
    from greta_cli.core_integration.params import analysis_params, check_config_path
    from greta_core.errors import InvalidConfigError
    from greta_core.ingestion.readers import check_file

    path = data_path or config.data.path
    if not path:
        msg = "No data file given. Pass --data FILE or set data.path in the config."
        raise InvalidConfigError(msg)
    if not isinstance(path, (str, os.PathLike)):
        msg = (f"A background job reads its data from a file; got a {type(path).__name__}. "
               "Save it (e.g. to Parquet) and pass the path, or run it with run_analysis_pipeline.")
        raise InvalidConfigError(msg)
    if data_path is None:
        check_config_path(config)
    check_file(str(path))
    params = analysis_params(config)  # checks the target is set, as `greta run` does
    absolute = str(Path(path).expanduser().resolve())
    payload = config_to_dict(config, redact=False)
    payload["data"]["path"] = absolute
    payload["scalability"]["celery_config"].update(broker_url=None, result_backend=None)
    shown = config_to_dict(config, redact=True)
    shown["data"]["path"] = absolute
    job = Job(id=new_job_id(), state=JobState.QUEUED, submitted_at=time.time(), queue=queue,
              target=params.target, data_path=absolute, config=shown)
    return job, json.dumps(payload, separators=(",", ":"))


def _not_finished(job: Job) -> str:
    if job.state is JobState.FAILED:
        return f"Job {job.id} failed, so it has no results: {job.error or 'no reason recorded'}"
    if job.state is JobState.CANCELLED:
        return f"Job {job.id} was cancelled, so it has no results."
    where = f" ({job.progress.describe()})" if job.progress.stage else ""
    return (f"Job {job.id} is {job.state.value}{where}; its results are ready once it has "
            f"succeeded. Watch it with `greta status {job.id} --watch`.")
