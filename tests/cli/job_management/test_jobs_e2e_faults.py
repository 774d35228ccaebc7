"""Faults with real processes: a worker SIGKILLed mid-job (Redis and embedded broker), and a
job whose worker never comes back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.models import JobState

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]


def kill_mid_job(jobs: Any, kit: Any, data_csv: Path) -> tuple[Any, str]:
    manager = jobs.manager()
    worker = jobs.worker(name="doomed")
    job = manager.submit_analysis_job(jobs.config(data_csv, **kit.MEDIUM))
    kit.watch(manager, job.id, 120,
              until=lambda j: j.progress.stage == "search" and j.progress.percent >= 40)
    worker.kill_group()  # main process and pool child, as a crash or the OOM killer would
    got = manager.get_job_status(job.id)
    assert got.state is JobState.RUNNING  # not given up at once: a worker may re-run it
    return manager, job.id


@pytest.mark.parametrize("broker", ["redis", "embedded"])
def test_sigkill_mid_job_then_restart_reruns_it(
        broker: str, redis_factory: Any, jobs_factory: Any, kit: Any, data_csv: Path,
        reference_results: dict[str, Any]) -> None:
    jobs = jobs_factory(redis_factory().url if broker == "redis" else None)
    manager, job_id = kill_mid_job(jobs, kit, data_csv)
    worker = jobs.worker(name="restarted")
    seen = kit.watch(manager, job_id, 120)
    job = manager.get_job_status(job_id)
    assert job.state is JobState.SUCCEEDED, (seen, job.error)
    assert job.attempts == 2
    assert "queued again (attempt 2 of 2)" in worker.text()
    assert kit.essentials(manager.get_job_result(job_id)) == kit.essentials(reference_results)


def test_a_job_whose_worker_never_returns_is_marked_failed(
        redis_factory: Any, jobs_factory: Any, kit: Any, data_csv: Path) -> None:
    jobs = jobs_factory(redis_factory().url)
    manager, job_id = kill_mid_job(jobs, kit, data_csv)
    # Only clients look now. With GRETA_JOB_STALE_AFTER=4 they give up after 4 s when the dead
    # process is on this machine (8 s for a silent worker elsewhere).
    job = kit.wait_for(lambda: (j := manager.get_job_status(job_id)).state.final and j, 20,
                       what="the failed state")
    assert job.state is JobState.FAILED
    assert "died" in (job.error or "") and "Submit it again" in (job.error or "")
    listed = {j.id: j for j in manager.list_jobs()}
    assert listed[job_id].state is JobState.FAILED


def test_sigkill_of_the_pool_process_only(redis_factory: Any, jobs_factory: Any, kit: Any,
                                          data_csv: Path) -> None:
    """As the OOM killer often does: the job's process dies, the worker lives on."""
    import os
    import signal

    jobs = jobs_factory(redis_factory().url)
    manager = jobs.manager()
    worker = jobs.worker(name="survivor")
    job = manager.submit_analysis_job(jobs.config(data_csv, **kit.MEDIUM))
    running = kit.watch(manager, job.id, 120, until=lambda j: j.progress.stage == "search")
    assert running[-1][0] == "running"
    owner = manager.get_job_status(job.id).owner
    os.kill(int(owner.rpartition(":")[2]), signal.SIGKILL)
    kit.watch(manager, job.id, 120)
    done = manager.get_job_status(job.id)
    assert done.state is JobState.SUCCEEDED and done.attempts == 2, done
    assert done.owner != owner and worker.proc.poll() is None
    assert worker.text().count(f"job {job.id}: attempt") == 2  # re-run once, not more
