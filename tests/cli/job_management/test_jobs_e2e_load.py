"""Load: 30 jobs submitted at once to 2 workers on a real Redis all finish, none lost, none
run twice."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from greta_cli.job_management.models import JobState

pytestmark = [pytest.mark.services, pytest.mark.timeout(240)]
TINY = {"hypothesis_search.pop_size": 10, "hypothesis_search.num_generations": 3}


def test_thirty_jobs_two_workers(redis_factory: Any, jobs_factory: Any, kit: Any,
                                 data_csv: Path) -> None:
    jobs = jobs_factory(redis_factory().url)
    workers = [jobs.worker(name=f"load{i}") for i in range(2)]
    manager = jobs.manager()
    cfg = jobs.config(data_csv, **TINY)
    latencies, ids = [], []
    t0 = time.perf_counter()
    for _ in range(30):
        s = time.perf_counter()
        ids.append(manager.submit_analysis_job(cfg).id)
        latencies.append(time.perf_counter() - s)

    def all_final() -> bool:
        return all(j.state.final for j in manager.list_jobs() if j.id in set(ids))

    kit.wait_for(all_final, 180, interval=0.25, what="30 jobs to finish")
    wall = time.perf_counter() - t0
    jobs_now = {j.id: j for j in manager.list_jobs()}
    assert set(ids) <= set(jobs_now) and len(set(ids)) == 30
    assert Counter(jobs_now[i].state for i in ids) == {JobState.SUCCEEDED: 30}
    assert all(jobs_now[i].attempts == 1 for i in ids)
    started = Counter(m for w in workers
                      for m in re.findall(r"job ([0-9a-f-]{36}): attempt 1 started", w.text()))
    assert set(started) == set(ids) and set(started.values()) == {1}  # each ran exactly once
    per_worker = [sum(1 for i in ids if f"job {i}: attempt" in w.text()) for w in workers]
    assert all(n > 0 for n in per_worker), per_worker  # both workers took jobs
    print(f"\n30 jobs / 2 workers: {wall:.1f} s, {30 / wall:.2f} jobs/s; submit latency "
          f"median {statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms;"
          f" per worker {per_worker}")
