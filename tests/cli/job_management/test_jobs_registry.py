"""The job registry (SQLite and a real Redis), the reaper and the recovery of dead jobs."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.models import Job, JobProgress, JobState, Timing, new_job_id
from greta_cli.job_management.monitor import (
    alive_workers,
    memory_kill_reason,
    reap,
    recover,
    resend_stranded,
    tidy_broker_folder,
)
from greta_cli.job_management.registry import JobRegistry, RedisRegistry, SQLiteRegistry

HOST = socket.gethostname()
T = Timing(heartbeat=0.5, stale_after=2.0, max_attempts=2)


@pytest.fixture(params=["sqlite", "redis"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        reg: JobRegistry = SQLiteRegistry(tmp_path / "jobs.db")
    else:
        server = request.getfixturevalue("shared_redis")
        reg = RedisRegistry(server.url)
        reg.client.flushdb()
    yield reg
    reg.close()


def queued(submitted: float | None = None, **kw: Any) -> Job:
    return Job(id=new_job_id(), state=JobState.QUEUED, submitted_at=submitted or time.time(),
               queue="greta", target="y", data_path="/d.csv", config={"data": {"target": "y"}},
               **kw)


def test_create_get_list(registry: JobRegistry) -> None:
    jobs = [queued(1000.0 + i) for i in range(3)]
    for j in jobs:
        registry.create(j, json.dumps({"n": 1}))
    assert registry.get(jobs[0].id) == jobs[0]
    assert registry.get(new_job_id()) is None
    listed = registry.list()
    assert [j.id for j in listed] == [j.id for j in reversed(jobs)]  # newest first
    assert listed[0].config is None  # listing leaves the config out
    assert registry.payload(jobs[1].id) == '{"n": 1}'
    assert registry.update(jobs[1].id, {"state": JobState.RUNNING})
    assert [j.id for j in registry.list(JobState.RUNNING)] == [jobs[1].id]
    registry.delete(jobs[2].id)
    assert registry.get(jobs[2].id) is None and len(registry.list()) == 2


def test_compare_and_set(registry: JobRegistry) -> None:
    job = queued()
    registry.create(job, "{}")
    start = {"state": JobState.RUNNING, "owner": "a:1", "attempts": 1}
    assert registry.update(job.id, start, {"state": "queued", "owner": "", "attempts": 0})
    assert not registry.update(job.id, {**start, "owner": "b:2"}, {"state": "queued"})
    assert not registry.update(new_job_id(), {"state": JobState.RUNNING})
    progress = {"stage": "search", "percent": 50.0, "progress": {"generation": 2}}
    assert registry.update(job.id, progress, {"state": "running", "owner": "a:1"})
    assert not registry.update(job.id, progress, {"state": "running", "owner": "b:2"})
    got = registry.get(job.id)
    assert got is not None and got.owner == "a:1" and got.attempts == 1
    assert got.progress == JobProgress("search", 50.0, {"generation": 2})
    done = {"state": JobState.SUCCEEDED, "finished_at": time.time()}
    assert [j.id for j in registry.list(JobState.RUNNING)] == [job.id]
    assert registry.update(job.id, done, {"owner": "a:1"}, result='{"hypotheses": []}')
    assert registry.result(job.id) == '{"hypotheses": []}'
    assert registry.list(JobState.RUNNING) == [] and registry.list(JobState.QUEUED) == []
    assert [j.id for j in registry.list(JobState.SUCCEEDED)] == [job.id]
    with pytest.raises(ValueError, match="Unknown job fields"):
        registry.update(job.id, {"state = 'x'; --": 1})


def test_one_winner_when_many_race(registry: JobRegistry) -> None:
    job = queued()
    registry.create(job, "{}")
    wins: list[int] = []

    def claim(i: int) -> None:
        if registry.update(job.id, {"state": JobState.RUNNING, "owner": f"w:{i}"},
                           {"state": "queued"}):
            wins.append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    got = registry.get(job.id)
    assert got is not None and got.owner == f"w:{wins[0]}"


def test_finished_jobs_expire(registry: JobRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = queued(), queued()
    for j in (old, new):
        registry.create(j, "{}")
    monkeypatch.setenv("GRETA_JOB_TTL_DAYS", str(1 / 86400))  # one second
    registry.update(old.id, {"state": JobState.SUCCEEDED, "finished_at": time.time() - 5},
                    result="{}")
    if isinstance(registry, RedisRegistry):
        registry.client.expire(registry._key(old.id), 0)
    assert [j.id for j in registry.list()] == [new.id]


def test_workers(registry: JobRegistry) -> None:
    now = time.time()
    registry.beat_worker("w1", {"name": "w1", "host": HOST, "pid": 1 << 30, "queues": ["greta"],
                                "last_seen": now})
    registry.beat_worker("w2", {"name": "w2", "host": "far", "pid": 5, "queues": ["greta"],
                                "last_seen": now})
    registry.beat_worker("w3", {"name": "w3", "host": "far", "pid": 6, "queues": ["other"],
                                "last_seen": now - 60})
    names = {w["name"] for w in alive_workers(registry, T, "greta")}
    assert names == {"w2"}  # w1's process does not exist, w3 is silent
    registry.drop_worker("w2")
    assert alive_workers(registry, T) == []


def _run(registry: JobRegistry, owner: str, heartbeat: float, attempts: int = 1) -> Job:
    job = queued(submitted=heartbeat - 1)
    registry.create(job, '{"cfg": 1}')
    registry.update(job.id, {"state": JobState.RUNNING, "owner": owner, "attempts": attempts,
                             "started_at": heartbeat, "heartbeat_at": heartbeat})
    got = registry.get(job.id)
    assert got is not None
    return got


def test_reap_marks_dead_jobs_failed(registry: JobRegistry) -> None:
    now = time.time()
    dead_local = _run(registry, f"{HOST}:{1 << 30}", now - 3)
    fresh_dead = _run(registry, f"{HOST}:{1 << 30}", now - 0.5)
    silent_remote = _run(registry, "far-away:7", now - 10)
    quiet_remote = _run(registry, "far-away:8", now - 3)
    alive_here = _run(registry, f"{HOST}:1", now - 100)  # init: older than any job
    # a process that took the id of the dead owner after the job started is not its owner
    reused_id = _run(registry, f"{HOST}:{__import__('os').getpid()}", now - 100)
    assert reap(registry, dead_local, T).state is JobState.FAILED
    assert "died" in (registry.get(dead_local.id).error or "")  # type: ignore[union-attr]
    assert reap(registry, fresh_dead, T).state is JobState.RUNNING  # a worker may re-run it
    assert reap(registry, silent_remote, T).state is JobState.FAILED
    assert "no heartbeat" in (registry.get(silent_remote.id).error or "")  # type: ignore[union-attr]
    assert reap(registry, quiet_remote, T).state is JobState.RUNNING
    assert reap(registry, alive_here, T).state is JobState.RUNNING
    assert reap(registry, reused_id, T).state is JobState.FAILED


def test_recover_requeues_then_gives_up(registry: JobRegistry) -> None:
    now = time.time()
    first = _run(registry, f"{HOST}:{1 << 30}", now, attempts=1)
    last = _run(registry, "far-away:7", now - 10, attempts=2)
    sent: list[tuple[str, str, Any]] = []
    done = dict(recover(registry, T, lambda *a: sent.append(a)))
    assert done == {first.id: "requeued", last.id: "failed"}
    assert sent == [(first.id, '{"cfg": 1}', "greta")]
    again = registry.get(first.id)
    assert again is not None and again.state is JobState.QUEUED and again.owner is None
    assert again.attempts == 1
    failed = registry.get(last.id)
    assert failed is not None and failed.state is JobState.FAILED
    assert "after 2 attempt(s)" in (failed.error or "")
    assert recover(registry, T, lambda *a: sent.append(a)) == []


def test_a_kill_for_memory_is_named_in_the_failure(registry: JobRegistry,
                                                     tmp_path: Path) -> None:
    from greta_core.resources.memory import MemoryLimit

    group = tmp_path / "cgroup"
    group.mkdir()
    events = group / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    limit = MemoryLimit(700 * 2**20, "cgroup v2 memory.max of /greta", group, 2)
    dead, alive = f"{HOST}:{1 << 30}", f"{HOST}:{__import__('os').getpid()}"
    job = _run(registry, dead, time.time(), attempts=2)
    assert memory_kill_reason(job, limit, 1, registry) is None  # no kill since the last look
    assert memory_kill_reason(_run(registry, alive, time.time()), limit, 0) is None
    events.write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")  # the kernel killed it
    line = memory_kill_reason(job, limit, 1, registry)
    assert line is not None and f"worker process running it ({dead})" in line
    assert "700 MiB (cgroup v2 memory.max of /greta)" in line

    done = dict(recover(registry, T, lambda *a: None,
                        killed_for_memory=lambda j: memory_kill_reason(j, limit, 1, registry)))
    assert done == {job.id: "failed"}
    failed = registry.get(job.id)
    assert failed is not None and failed.error == f"The job failed after 2 attempt(s). {line}"
    assert "died" not in failed.error


def test_resend_stranded_sends_once_per_patience(registry: JobRegistry) -> None:
    old = queued(time.time() - 100)
    new = queued(time.time())
    other = Job(**{**queued(time.time() - 100).__dict__, "queue": "other"})
    for job in (old, new, other):
        registry.create(job, '{"cfg": 1}')
    sent: list[tuple[str, str, Any]] = []
    assert resend_stranded(registry, lambda *a: sent.append(a), ["greta"], 30) == [old.id]
    assert sent == [(old.id, '{"cfg": 1}', "greta")]
    again = registry.get(old.id)
    assert again is not None and again.progress.info["resent"] == 1
    # queued afresh: not sent again before another patience has passed
    assert resend_stranded(registry, lambda *a: sent.append(a), ["greta"], 30) == []
    later = resend_stranded(registry, lambda *a: sent.append(a), ["greta"], 30,
                            now=time.time() + 31)
    assert sorted(later) == sorted([old.id, new.id])


def test_visibility_timeout_follows_the_heartbeat() -> None:
    from greta_cli.job_management.celery_app import redelivery_options
    from greta_cli.job_management.engine import auto_visibility_timeout

    assert auto_visibility_timeout(Timing()) == 60
    assert auto_visibility_timeout(Timing(heartbeat=0.5, stale_after=4.0)) == 8
    assert auto_visibility_timeout(Timing(heartbeat=20, stale_after=120)) == 240
    opts = redelivery_options(60)
    assert opts["visibility_timeout"] == 60 and opts["unacked_restore_throttle"] == 1
    assert opts["unacked_restore_interval"] == 10 and redelivery_options(8)[
        "unacked_restore_interval"] == 1


def test_tidy_broker_folder(tmp_path: Path) -> None:
    import os

    queue, claimed = tmp_path / "queue", tmp_path / "claimed"
    queue.mkdir()
    claimed.mkdir()
    files = [queue / "1_a.greta.msg", queue / "2_b.w@h.celery.pidbox.msg", claimed / "3_c.msg.9"]
    for f in files:
        f.write_text("{}")
        os.utime(f, (time.time() - 3600, time.time() - 3600))
    assert tidy_broker_folder(tmp_path) == 2
    assert [f.exists() for f in files] == [True, False, False]  # job messages are kept
