"""End to end on a real Redis and a real `greta worker`, both started here on free ports:
submit → queued → running → succeeded, results equal to `greta run`, cancel, refused pickle,
and a stopped Redis."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.celery_app import TASK_NAME
from greta_cli.job_management.errors import JobNotFinishedError
from greta_cli.job_management.job_manager import prepare_job
from greta_cli.job_management.models import JobState

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]
SECRET = "e2e-secret-pw"


@pytest.fixture(scope="module")
def setup(kit: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = kit.RedisServer(kit.free_port(), password=SECRET).start()
    tmp = tmp_path_factory.mktemp("redis_jobs")
    jobs = kit.Jobs(tmp / "home", server.url, tmp)
    try:
        jobs.worker(name="worker")
        yield jobs
    finally:
        jobs.stop()
        server.stop()


def test_submit_progress_and_results_equal_greta_run(
        setup: Any, kit: Any, data_csv: Path, reference_results: dict[str, Any]) -> None:
    manager = setup.manager()
    cfg = setup.config(data_csv, **kit.MEDIUM)
    t0 = time.perf_counter()
    job = manager.submit_analysis_job(cfg)
    submit_seconds = time.perf_counter() - t0
    assert job.state is JobState.QUEUED and submit_seconds < 1.0, submit_seconds
    seen = [("queued", 0.0, None), *kit.watch(manager, job.id)]
    states = [s for s, _, _ in seen]
    assert states[-1] == "succeeded", seen
    order = {"queued": 0, "running": 1, "succeeded": 2}
    assert [order[s] for s in states] == sorted(order[s] for s in states), seen
    running = [p for s, p, _ in seen if s == "running"]
    assert len(set(running)) >= 3 and running == sorted(running), seen

    status = json.loads(setup.greta("status", job.id, "--json").stdout)
    assert status["id"] == job.id and status["state"] == "succeeded"
    assert status["progress"]["percent"] == 100.0 and status["error"] is None
    assert all(status[k] for k in ("submitted_at", "started_at", "finished_at"))
    out = setup.tmp / "async.json"
    got = setup.greta("results", job.id, "--output", str(out))
    assert got.returncode == 0, got.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    # each stage's resource usage, as the results have it
    assert list(status["metrics"]) == ["ingest", "statistics", "search", "confirm", "narrate"]
    assert status["metrics"] == results["metrics"]["stages"]
    assert status["metrics"]["statistics"]["bytes_read"] > 0 and status["metrics"]["search"]["cpu_seconds"] > 0
    table = setup.greta("status", job.id, "-v").stdout
    assert "peak driver" in table and "statistics" in table.split("peak driver")[1]
    assert kit.essentials(results) == kit.essentials(reference_results)
    assert results["hypotheses"][0]["terms"] == ["x1"]
    md = setup.greta("results", job.id, "--format", "md")
    assert md.returncode == 0 and "x1" in md.stdout
    listed = json.loads(setup.greta("list", "--json").stdout)
    assert job.id in [j["id"] for j in listed]


def test_cli_submit_and_watch(setup: Any, kit: Any, data_csv: Path) -> None:
    t0 = time.perf_counter()
    sub = setup.greta("submit", "--data", str(data_csv), "--target", "y", "--seed", "2",
                      *kit.sets(kit.FAST), "--json")
    elapsed = time.perf_counter() - t0
    assert sub.returncode == 0, sub.stderr
    job_id = json.loads(sub.stdout)["id"]
    print(f"CLI `greta submit` took {elapsed:.2f} s (process start included)")
    watch = setup.greta("status", job_id, "--watch", "--json", "--interval", "0.1")
    assert watch.returncode == 0, watch.stderr
    lines = [json.loads(line) for line in watch.stdout.splitlines()]
    assert lines[-1]["state"] == "succeeded"
    plain = setup.greta("list", "--state", "succeeded")
    assert job_id in plain.stdout and "succeeded" in plain.stdout


def test_cancel_a_running_job_then_the_worker_runs_the_next(
        setup: Any, kit: Any, data_csv: Path) -> None:
    manager = setup.manager()
    worker = setup.workers[0]
    long_job = manager.submit_analysis_job(setup.config(data_csv, **kit.LONG))
    kit.watch(manager, long_job.id, 120, until=lambda j: j.progress.stage == "search")
    t0 = time.monotonic()
    out = setup.greta("cancel", long_job.id)
    assert out.returncode == 0 and "Cancelled job" in out.stdout, (out.stdout, out.stderr)
    job = kit.wait_for(lambda: (j := manager.get_job_status(long_job.id)).state.final and j, 10,
                       what="the cancelled state")
    assert job.state is JobState.CANCELLED and time.monotonic() - t0 < 10
    assert "Cancelled by the user" in (job.error or "")
    # the results of a cancelled job are refused, by the API and by the CLI
    with pytest.raises(JobNotFinishedError, match=f"Job {long_job.id} was cancelled, so it has no results"):
        manager.get_job_result(long_job.id)
    refused = setup.greta("results", long_job.id)
    assert refused.returncode == 2 and "was cancelled" in refused.stderr, (refused.stdout, refused.stderr)
    assert len(refused.stderr.strip().splitlines()) == 1 and refused.stdout == ""
    nxt = manager.submit_analysis_job(setup.config(data_csv))
    seen = kit.watch(manager, nxt.id, 60)
    assert seen[-1][0] == "succeeded"
    assert worker.proc.poll() is None  # the same worker process served both


def test_a_job_that_ignores_cancel_is_terminated(setup: Any, kit: Any, data_csv: Path) -> None:
    """The fallback: when a job does not stop by itself in time, its process is stopped."""
    manager = setup.manager()
    job = manager.submit_analysis_job(setup.config(data_csv, **kit.LONG))
    kit.watch(manager, job.id, 120, until=lambda j: j.progress.stage == "search")
    t0 = time.monotonic()
    done = manager.cancel_job(job.id, wait=0.01)  # (almost) no grace: revoke and terminate
    assert done.state is JobState.CANCELLED and time.monotonic() - t0 < 10
    assert "Cancelled by the user" in (done.error or "")
    nxt = manager.submit_analysis_job(setup.config(data_csv))
    assert kit.watch(manager, nxt.id, 60)[-1][0] == "succeeded"
    assert manager.get_job_status(job.id).state is JobState.CANCELLED
    assert setup.workers[0].proc.poll() is None


def test_pickle_message_is_refused(setup: Any, kit: Any, data_csv: Path) -> None:
    manager = setup.manager()
    job, payload = prepare_job(setup.config(data_csv), None, "greta")
    manager.registry.create(job, payload)
    manager.celery_app.send_task(TASK_NAME, args=[job.id, payload], task_id=job.id,
                                 queue="greta", serializer="pickle")
    worker = setup.workers[0]
    kit.wait_for(lambda: "untrusted content" in worker.text(), 30, what="the refusal in the log")
    time.sleep(1.0)
    assert manager.get_job_status(job.id).state is JobState.QUEUED  # never ran
    assert f"job {job.id}: attempt" not in worker.text()
    assert manager.cancel_job(job.id).state is JobState.CANCELLED
    after = manager.submit_analysis_job(setup.config(data_csv))
    assert kit.watch(manager, after.id, 60)[-1][0] == "succeeded"


def test_redis_stopped_submit_fails_with_one_line(
        redis_factory: Any, jobs_factory: Any, data_csv: Path) -> None:
    server = redis_factory(password="s3cret-pw")
    jobs = jobs_factory(server.url)
    server.stop()
    t0 = time.perf_counter()
    out = jobs.greta("submit", "--data", str(data_csv), "--target", "y")
    assert time.perf_counter() - t0 < 20
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greta: error: Cannot reach the job broker")
    assert f"redis://:***@127.0.0.1:{server.port}/0" in lines[0] and "s3cret" not in out.stderr
    assert out.stdout == ""


def test_the_password_is_never_shown_logged_or_stored(setup: Any) -> None:
    import redis

    assert SECRET in setup.broker  # the worker and the clients did use it
    outputs = [setup.workers[0].text(), setup.greta("list", "--json").stdout,
               setup.greta("list").stdout]
    job_id = json.loads(outputs[1])[0]["id"]
    outputs += [setup.greta("status", job_id).stdout, setup.greta("status", job_id, "--json").stdout]
    assert all(SECRET not in text for text in outputs)
    client = redis.Redis.from_url(setup.broker)
    read = {"string": client.get, "hash": client.hgetall, "set": client.smembers,
            "list": lambda k: client.lrange(k, 0, -1), "zset": lambda k: client.zrange(k, 0, -1)}
    for key in client.scan_iter():
        value = read.get(client.type(key).decode(), lambda k: b"")(key)
        assert SECRET.encode() not in repr(value).encode(), key
