"""Redelivery on a real Redis with real `greta worker` processes: a job message that a worker
took and never acknowledged (it vanished: killed, or cut off from Redis) is delivered again
within the visibility timeout, which is sized to the job heartbeat, not Celery's hour; a
message lost altogether is sent again by an idle worker; `greta status` says meanwhile that
no live worker takes the job; a copy delivered while the job runs is not run a second time;
and a Redis URL without a host is refused."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.models import JobState

pytestmark = [pytest.mark.services, pytest.mark.timeout(180)]

# A process that takes one message off the queue as a Celery worker does (into Redis's
# `unacked` hash, unless told to lose it) and is then SIGKILLed before it acknowledges it.
VANISH = """
import os, signal, sys
from kombu import Connection
url, queue, mode = sys.argv[1:4]
with Connection(url) as conn:
    message = conn.default_channel.basic_get(queue, no_ack=(mode == "lose"))
    print("took" if message is not None else "nothing", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def vanish_with_message(url: str, queue: str = "greta", mode: str = "hold") -> None:
    out = subprocess.run([sys.executable, "-c", VANISH, url, queue, mode], capture_output=True,
                         text=True, timeout=30, check=False)
    assert out.stdout.strip() == "took", (out.stdout, out.stderr)


def test_a_message_held_by_a_vanished_worker_is_delivered_again(
        redis_factory: Any, jobs_factory: Any, kit: Any, data_csv: Path) -> None:
    import redis

    server = redis_factory()
    jobs = jobs_factory(server.url)
    visibility = 12
    jobs.env["GRETA__SCALABILITY__CELERY_CONFIG__VISIBILITY_TIMEOUT"] = str(visibility)
    manager = jobs.manager()
    job = manager.submit_analysis_job(jobs.config(data_csv))
    vanish_with_message(server.url)
    taken = time.monotonic()
    assert redis.Redis.from_url(server.url).hlen("unacked") == 1
    assert manager.get_job_status(job.id).state is JobState.QUEUED

    status = jobs.greta("status", job.id)  # no worker at all yet
    assert status.returncode == 0, status.stderr
    assert "no worker of that queue is alive" in status.stderr, status.stderr
    listed = jobs.greta("list")
    assert listed.returncode == 0 and job.id in listed.stdout
    assert f"job {job.id} is queued on queue 'greta' but no worker" in listed.stderr

    worker = jobs.worker(name="idle")
    warned = kit.wait_for(lambda: "was free" in (s := jobs.greta("status", job.id)).stderr and s,
                          visibility + 5, interval=0.5, what="status to warn of a free worker")
    assert "took its message and vanished" in warned.stderr
    assert f"again {visibility} s after it was taken" in warned.stderr

    done = kit.wait_for(lambda: (j := manager.get_job_status(job.id)).state.final and j,
                        visibility + 15, what="the job to be delivered again and finish")
    elapsed = time.monotonic() - taken
    assert done.state is JobState.SUCCEEDED and done.attempts == 1, (done.state, done.error)
    # the visibility timeout, one sweep (1 s at this timeout) and the run, not an hour
    assert visibility <= elapsed < visibility + 10, elapsed
    assert "sent again" not in worker.text()  # Redis delivered it; no resend was needed
    kit.wait_for(lambda: redis.Redis.from_url(server.url).hlen("unacked") == 0, 10,
                 what="the message to be acknowledged once the job ended")
    quiet = jobs.greta("status", job.id)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr, quiet.stderr


def test_a_lost_message_is_sent_again_by_an_idle_worker(
        redis_factory: Any, jobs_factory: Any, kit: Any, data_csv: Path) -> None:
    server = redis_factory()
    jobs = jobs_factory(server.url)
    jobs.env["GRETA__SCALABILITY__CELERY_CONFIG__VISIBILITY_TIMEOUT"] = "3"
    manager = jobs.manager()
    job = manager.submit_analysis_job(jobs.config(data_csv))
    vanish_with_message(server.url, mode="lose")  # taken without an ack: gone from Redis
    worker = jobs.worker(name="rescuer")
    # resent once it has been queued longer than the visibility timeout plus two stale periods
    done = kit.wait_for(lambda: (j := manager.get_job_status(job.id)).state.final and j,
                        40, what="the lost job to be sent again and finish")
    assert done.state is JobState.SUCCEEDED and done.attempts == 1, (done.state, done.error)
    assert f"job {job.id}: queued for" in worker.text() and "sent again" in worker.text()


def test_a_copy_delivered_while_the_job_runs_is_not_run_twice(
        redis_factory: Any, jobs_factory: Any, kit: Any, data_csv: Path, tmp_path: Path) -> None:
    # a search long enough on any machine for its message to be handed out again as it runs
    settings = {**kit.MEDIUM, "hypothesis_search.num_generations": 600}
    out = tmp_path / "reference.json"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GRETA")}
    flags = [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]
    ref = subprocess.run([sys.executable, "-m", "greta_cli.app", "run", "--data", str(data_csv), "--target", "y",
                          "--seed", "1", *flags, "--output", str(out), "--quiet"], env=env, capture_output=True,
                         text=True, check=False, timeout=300)
    assert ref.returncode == 0, ref.stderr
    reference_results = __import__("json").loads(out.read_text(encoding="utf-8"))
    server = redis_factory()
    jobs = jobs_factory(server.url)
    visibility = 2  # far shorter than the job: Redis hands its message out again as it runs
    jobs.env["GRETA__SCALABILITY__CELERY_CONFIG__VISIBILITY_TIMEOUT"] = str(visibility)
    manager = jobs.manager()
    workers = [jobs.worker(name="w0"), jobs.worker(name="w1")]
    job = manager.submit_analysis_job(jobs.config(data_csv, **settings))
    done = kit.watch(manager, job.id, 300)
    final = manager.get_job_status(job.id)
    assert final.state is JobState.SUCCEEDED, (done, final.error)
    assert final.finished_at - final.started_at > visibility + 2  # one sweep (1 s) and more
    logs = workers[0].text() + workers[1].text()
    assert final.attempts == 1  # one run: the copy found the job running, alive, and left it
    assert f"job {job.id} not run: skip (state running)" in logs
    assert logs.count(f"job {job.id}: attempt") == 1
    assert kit.essentials(manager.get_job_result(job.id)) == kit.essentials(reference_results)


@pytest.mark.parametrize("url", ["redis://:hunter2pw@/0", "redis:///0", "redis://",
                                 "rediss://:hunter2pw@:6380/1"])
def test_a_redis_url_without_a_host_is_refused(url: str, jobs_factory: Any) -> None:
    jobs = jobs_factory()
    for args in (("list",), ("worker",), ("status", "0a1b2c3d-0000-4000-8000-000000000000")):
        out = jobs.greta(*args, GRETA_BROKER_URL=url)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1, (args, out.stderr)
        assert "names no host" in lines[0] and "127.0.0.1:6379" in lines[0]
        assert "hunter2pw" not in out.stdout + out.stderr
