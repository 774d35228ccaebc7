"""The embedded default, as on a laptop with no server: `greta submit` starts a local worker by
itself (filesystem broker + SQLite under GRETA_HOME), the job runs, is listed, cancelled."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.models import JobState, pid_alive

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]


@pytest.fixture
def laptop(jobs_factory: Any) -> Any:
    jobs = jobs_factory(None)
    jobs.env.update(GRETA_AUTOSTART_WORKER="1", GRETA_WORKER_IDLE_TIMEOUT="120")
    yield jobs
    pidfile = jobs.home / "run" / "worker.pid"
    if pidfile.exists():  # stop the worker that `greta submit` started
        pid = int(float(pidfile.read_text().split()[0]))
        try:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pid):
                os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_embedded_default_end_to_end(laptop: Any, kit: Any, data_csv: Path,
                                     reference_results: dict[str, Any]) -> None:
    t0 = time.perf_counter()
    sub = laptop.greta("submit", "--data", str(data_csv), "--target", "y", "--seed", "1",
                       *kit.sets(kit.MEDIUM), "--json")
    elapsed = time.perf_counter() - t0
    assert sub.returncode == 0, sub.stderr
    job_id = json.loads(sub.stdout)["id"]
    print(f"\nCLI `greta submit` (embedded, starting a worker) took {elapsed:.2f} s")
    assert (laptop.home / "jobs.db").exists() and (laptop.home / "run" / "worker.pid").exists()
    manager = laptop.manager(autostart=False)
    seen = kit.watch(manager, job_id, 150)
    states = [s for s, _, _ in seen]
    assert states[-1] == "succeeded", seen
    running = [p for s, p, _ in seen if s == "running"]
    assert len(set(running)) >= 3 and running == sorted(running), seen
    assert states.index("running") < states.index("succeeded")
    log = (laptop.home / "logs" / "worker.log").read_text()
    assert "gretafs://" in log and f"job {job_id}: attempt 1 started" in log

    got = laptop.greta("results", job_id)
    assert got.returncode == 0, got.stderr
    assert kit.essentials(json.loads(got.stdout)) == kit.essentials(reference_results)
    before = data_csv.read_bytes()  # the results never go over the job's data
    onto_data = laptop.greta("results", job_id, "--format", "md", "-o", str(data_csv))
    assert onto_data.returncode == 2 and "the job's data file" in onto_data.stderr, onto_data.stderr
    assert data_csv.read_bytes() == before
    short = laptop.greta("status", job_id[:8])  # the first characters, as a user types them
    assert short.returncode == 0 and f"job        {job_id}" in short.stdout, short.stderr
    listed = laptop.greta("list")
    assert job_id in listed.stdout and "succeeded" in listed.stdout

    # A second submit finds the worker alive and starts no other.
    pid_before = (laptop.home / "run" / "worker.pid").read_text()
    long_job = manager.submit_analysis_job(laptop.config(data_csv, **kit.LONG))
    assert (laptop.home / "run" / "worker.pid").read_text() == pid_before
    kit.watch(manager, long_job.id, 120, until=lambda j: j.progress.stage == "search")
    t1 = time.monotonic()
    out = laptop.greta("cancel", long_job.id)
    assert "Cancelled job" in out.stdout, (out.stdout, out.stderr, laptop.greta("status", long_job.id).stdout)
    assert manager.get_job_status(long_job.id).state is JobState.CANCELLED
    assert time.monotonic() - t1 < 10
    # `greta run --async` queues on the same embedded broker.
    run = laptop.greta("run", "--data", str(data_csv), "--target", "y", *kit.sets(kit.FAST),
                       "--async")
    assert run.returncode == 0, run.stderr
    run_id = run.stdout.strip()
    assert kit.watch(manager, run_id, 60)[-1][0] == "succeeded"
    assert manager.get_job_result(run_id)["hypotheses"][0]["terms"] == ["x1"]


def _kill_autostarted_worker(home: Path) -> int:
    pid = int(float((home / "run" / "worker.pid").read_text().split()[0]))
    os.killpg(pid, signal.SIGKILL)  # the worker and its pool, as a crash would
    deadline = time.monotonic() + 20
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid)
    return pid


def test_after_the_local_worker_dies_status_and_list_serve_queued_jobs(
        laptop: Any, kit: Any, data_csv: Path) -> None:
    first = laptop.greta("submit", "--data", str(data_csv), "--target", "y",
                         *kit.sets(kit.FAST), "--json")
    assert first.returncode == 0, first.stderr
    manager = laptop.manager(autostart=False)
    assert kit.watch(manager, json.loads(first.stdout)["id"], 120)[-1][0] == "succeeded"
    # A job running when the worker dies, and one queued after it died.
    running = manager.submit_analysis_job(laptop.config(data_csv, **kit.LONG))
    kit.watch(manager, running.id, 120, until=lambda j: j.progress.stage == "search")
    dead = _kill_autostarted_worker(laptop.home)
    queued = laptop.greta("submit", "--data", str(data_csv), "--target", "y",
                          *kit.sets(kit.FAST), "--no-worker")
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()

    # Autostart off: `greta status` says how to run the queued job, in one line of its own.
    hint = laptop.greta("status", job_id, GRETA_AUTOSTART_WORKER="0")
    assert hint.returncode == 0 and "queued" in hint.stdout, hint.stderr
    assert hint.stderr.startswith("greta: warning: no worker is running for 1 queued job"), hint.stderr
    assert "greta worker" in hint.stderr and hint.stderr.count("\n") == 1

    # The dead worker's running job is told from a live one (no raw log line on stderr) ...
    def failed_in_list() -> bool:
        out = laptop.greta("list", GRETA_AUTOSTART_WORKER="0")
        assert out.returncode == 0, out.stderr
        assert all(line.startswith("greta: ") for line in out.stderr.splitlines()), out.stderr
        return manager.get_job_status(running.id).state is JobState.FAILED
    kit.wait_for(failed_in_list, 60, interval=0.5, what="the dead worker's job to be failed")

    # ... and `greta list` (autostart on) starts a worker, which runs the queued job.
    listed = laptop.greta("list")
    assert listed.returncode == 0 and job_id in listed.stdout
    assert listed.stderr.startswith("greta: no worker was running; started one"), listed.stderr
    assert all(line.startswith("greta: ") for line in listed.stderr.splitlines())
    pid = int(float((laptop.home / "run" / "worker.pid").read_text().split()[0]))
    assert pid != dead
    assert kit.watch(manager, job_id, 120)[-1][0] == "succeeded"
    again = laptop.greta("list")  # a worker is alive now: nothing to say
    assert again.returncode == 0 and again.stderr == "", again.stderr


def test_the_data_folder_is_private(laptop: Any, kit: Any, data_csv: Path) -> None:
    import stat

    sub = laptop.greta("submit", "--data", str(data_csv), "--target", "y", *kit.sets(kit.FAST))
    assert sub.returncode == 0, sub.stderr
    manager = laptop.manager(autostart=False)
    assert kit.watch(manager, sub.stdout.strip(), 120)[-1][0] == "succeeded"
    assert stat.S_IMODE(laptop.home.stat().st_mode) == 0o700
    for name in ("jobs.db", "results.db"):
        path = laptop.home / name
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, name
    assert stat.S_IMODE((laptop.home / "jobs.db").stat().st_mode) == 0o600
