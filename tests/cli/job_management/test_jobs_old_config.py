"""`greta run --config OLD.yml --async`, as earlier releases took it: the old key names are
translated before the job is queued, and a real worker runs it to the answer of `greta run`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.services


def test_run_async_with_an_old_config(jobs_factory: Any, data_csv: Path, kit: Any,
                                      reference_results: dict[str, Any]) -> None:
    jobs = jobs_factory()
    old = jobs.tmp / "old.yml"
    search = ", ".join(f"{k.split('.')[1]}: {v}" for k, v in kit.MEDIUM.items())
    old.write_text(f"data: {{source: {data_csv.name}, type: csv, target_column: y}}\n"
                   f"hypothesis_search: {{seed: 1, {search}}}\n"
                   "preprocessing: {missing_strategy: mean, max_cardinality: 20}\n")
    (jobs.tmp / data_csv.name).write_bytes(data_csv.read_bytes())  # next to the config
    run = jobs.greta("run", "--config", str(old), "--async")
    assert run.returncode == 0, run.stderr
    job_id = run.stdout.strip()
    warned = [ln for ln in run.stderr.splitlines() if ln.startswith("greta: warning: ")]
    assert len(warned) == 5 and "'data.source' is deprecated: use 'data.path'" in warned[0]
    job = json.loads(jobs.greta("status", job_id, "--json").stdout)
    assert job["state"] == "queued" and job["target"] == "y"
    assert job["data"] == str((jobs.tmp / data_csv.name).resolve())
    jobs.worker()
    manager = jobs.manager()
    assert kit.watch(manager, job_id, 120)[-1][0] == "succeeded"
    assert kit.essentials(manager.get_job_result(job_id)) == kit.essentials(reference_results)
