"""Redis going away under running jobs, and secrets, with a real private Redis and real
worker processes: a job that finishes while Redis is down ends ``succeeded`` (its result
stored) once Redis is back, never stays ``running``; warnings meanwhile are rate-limited; the
Redis password appears in no Celery control reply, log or stored record."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.errors import BrokerUnavailableError
from greta_cli.job_management.models import JobState

pytestmark = [pytest.mark.services, pytest.mark.timeout(420)]

OUTAGE_LINES = ("not written", "still unreachable")


def final_state(manager: Any, job_id: str) -> Any:
    """The job once final (None before, or while the registry cannot be reached)."""
    try:
        job = manager.get_job_status(job_id)
    except BrokerUnavailableError:
        return None
    return job if job.state.final else None


def test_redis_outage_during_the_final_write(redis_factory: Any, jobs_factory: Any, kit: Any,
                                             data_csv: Path, tmp_path: Path,
                                             reference_results: dict[str, Any]) -> None:
    server = redis_factory(data_dir=tmp_path / "redis-data")
    jobs = jobs_factory(server.url)
    manager = jobs.manager()
    workers = [jobs.worker(name="w0"), jobs.worker(name="w1")]
    job = manager.submit_analysis_job(jobs.config(data_csv, **kit.MEDIUM))
    kit.watch(manager, job.id, 120, until=lambda j: j.progress.stage == "search")

    server.shutdown_save()  # `redis-cli SHUTDOWN SAVE` mid-search
    down_at = time.monotonic()
    # The analysis goes on without Redis and finishes; its end waits for Redis to return.
    ended = f"job {job.id} ended succeeded while the job registry is unreachable"
    kit.wait_for(lambda: any(ended in w.text() for w in workers), 180,
                 what="the analysis to end during the outage")
    time.sleep(2)  # Redis stays away a little longer
    server.start()  # back on the same port, with the saved data
    outage = time.monotonic() - down_at

    done = kit.wait_for(lambda: final_state(manager, job.id), 60,
                        what="the job to end within 60 s of Redis returning")
    assert done.state is JobState.SUCCEEDED, (done.state, done.error)
    assert done.attempts == 1 and done.progress.percent == 100.0
    assert kit.essentials(manager.get_job_result(job.id)) == kit.essentials(reference_results)

    logs = "\n".join(w.text() for w in workers)
    assert f"job {job.id}: the job registry is reachable again" in logs
    warned = [line for line in logs.splitlines()
              if f"job {job.id}:" in line and any(s in line for s in OUTAGE_LINES)]
    # one line when the outage starts, then at most one every 30 s while it lasts
    assert 1 <= len(warned) <= 1 + math.ceil(outage / 30), warned
    listed = {j.id: j.state for j in manager.list_jobs()}
    assert listed[job.id] is JobState.SUCCEEDED


def test_no_password_in_control_replies_logs_or_records(redis_factory: Any, jobs_factory: Any,
                                                        kit: Any, data_csv: Path) -> None:
    secret = "s3cret-Pa55"
    server = redis_factory(password=secret)
    jobs = jobs_factory(server.url)
    manager = jobs.manager()
    worker = jobs.worker(name="guarded")
    job = manager.submit_analysis_job(jobs.config(data_csv))
    kit.watch(manager, job.id, 120)
    assert manager.get_job_status(job.id).state is JobState.SUCCEEDED

    inspect = manager.celery_app.control.inspect(timeout=5)
    replies = {name: getattr(inspect, name)() for name in
               ("conf", "stats", "report", "registered", "active", "scheduled", "reserved")}
    assert replies["conf"], "the worker did not answer `inspect conf`"
    conf = next(iter(replies["conf"].values()))
    assert "***" in conf["greta_engine"]["registry_url"]  # shown, with the password hidden
    text = json.dumps(replies, default=str)
    assert secret not in text

    assert secret not in worker.text()
    import redis

    client = redis.Redis.from_url(server.url, decode_responses=True)
    for key in client.keys("*"):
        kind = client.type(key)
        value = {"hash": client.hgetall, "string": client.get, "set": client.smembers,
                 "zset": lambda k: client.zrange(k, 0, -1), "list": lambda k: client.lrange(k, 0, -1)
                 }.get(kind, lambda k: "")(key)
        assert secret not in json.dumps(value, default=str), key
    out = jobs.greta("status", job.id, "--json")
    assert out.returncode == 0 and secret not in out.stdout + out.stderr
