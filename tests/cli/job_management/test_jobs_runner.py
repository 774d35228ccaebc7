"""What a worker does with a job, run in this process (no Celery): the real analysis on small
data, progress and heartbeat into a SQLite registry, cancellation, errors, duplicates."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from greta_cli.config import load_config
from greta_cli.core_integration.integration import run_analysis_pipeline
from greta_cli.job_management.job_manager import prepare_job
from greta_cli.job_management.models import JobState, Timing
from greta_cli.job_management.registry import SQLiteRegistry
from greta_cli.job_management.runner import execute_job
from greta_core.errors import DataFileNotFoundError, InvalidConfigError

T = Timing(heartbeat=0.2, stale_after=2.0, max_attempts=2)


class Recording(SQLiteRegistry):
    """A registry that remembers every progress write."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.percents: list[float] = []

    def update(self, job_id: str, changes: Any, expect: Any = None, result: Any = None) -> bool:
        if "percent" in changes:
            self.percents.append(float(changes["percent"]))
        return super().update(job_id, changes, expect, result)


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    reg = Recording(tmp_path / "jobs.db")
    yield reg
    reg.close()


def make_job(registry: Any, data: Path, kit: Any, **values: Any) -> tuple[str, str, Any]:
    overrides = [f"{k}={v}" for k, v in {**kit.FAST, **values}.items()]
    cfg = load_config(None, [f"data.path={data}", "data.target=y", "hypothesis_search.seed=1",
                             *overrides], env={})
    job, payload = prepare_job(cfg, None, "greta")
    registry.create(job, payload)
    return job.id, payload, cfg


def test_success_matches_a_direct_run(registry: Any, data_csv: Path, kit: Any) -> None:
    job_id, payload, cfg = make_job(registry, data_csv, kit)
    assert "broker_url" in payload and json.loads(payload)["data"]["path"] == str(data_csv)
    out = execute_job(job_id, payload, registry, T)
    assert out["state"] == "succeeded" and out["ran"]
    job = registry.get(job_id)
    assert job.state is JobState.SUCCEEDED and job.attempts == 1 and job.error is None
    assert job.progress.percent == 100.0 and job.started_at <= job.finished_at
    assert job.owner == f"{socket.gethostname()}:{os.getpid()}"
    assert registry.percents == sorted(registry.percents) and len(set(registry.percents)) > 2
    got = json.loads(registry.result(job_id))
    assert kit.essentials(got) == kit.essentials(run_analysis_pipeline(cfg))
    assert got["hypotheses"][0]["terms"] == ["x1"]
    again = execute_job(job_id, payload, registry, T)  # a duplicate delivery
    assert again == {"job_id": job_id, "state": "succeeded", "ran": False, "reason": "skip"}


def test_cancel_flag_stops_a_running_job(registry: Any, data_csv: Path, kit: Any) -> None:
    job_id, payload, _ = make_job(registry, data_csv, kit, **kit.LONG)

    def cancel_when_searching() -> None:
        kit.wait_for(lambda: (registry.get(job_id).progress.stage == "search"), 60,
                     what="the search stage")
        registry.update(job_id, {"cancel_requested": True}, {"state": "running"})

    t = threading.Thread(target=cancel_when_searching)
    t.start()
    t0 = time.monotonic()
    out = execute_job(job_id, payload, registry, T)
    t.join()
    assert out["state"] == "cancelled"
    job = registry.get(job_id)
    assert job.state is JobState.CANCELLED and "Cancelled by the user during search" in job.error
    assert registry.result(job_id) is None and time.monotonic() - t0 < 60


def test_a_job_that_lost_ownership_writes_nothing(registry: Any, data_csv: Path, kit: Any) -> None:
    job_id, payload, _ = make_job(registry, data_csv, kit, **kit.LONG)

    def take_over() -> None:
        kit.wait_for(lambda: registry.get(job_id).progress.stage == "search", 60, what="search")
        registry.update(job_id, {"owner": "other-host:1"})

    t = threading.Thread(target=take_over)
    t.start()
    out = execute_job(job_id, payload, registry, T)
    t.join()
    assert out["state"] == "lost"
    job = registry.get(job_id)
    assert job.state is JobState.RUNNING and job.owner == "other-host:1"


def test_user_error_fails_the_job_with_its_message(registry: Any, data_csv: Path, kit: Any) -> None:
    job_id, payload, _ = make_job(registry, data_csv, kit)
    bad = json.loads(payload)
    bad["data"]["target"] = "yy"
    out = execute_job(job_id, json.dumps(bad), registry, T)
    assert out["state"] == "failed"
    job = registry.get(job_id)
    assert job.state is JobState.FAILED and "'yy'" in job.error and "\n" not in job.error


def test_unknown_and_forged_ids_are_not_run(registry: Any, data_csv: Path, kit: Any) -> None:
    _, payload, _ = make_job(registry, data_csv, kit)
    from greta_cli.job_management.models import new_job_id

    out = execute_job(new_job_id(), payload, registry, T)
    assert out["ran"] is False and out["state"] == "unknown"
    from greta_cli.job_management.errors import JobNotFoundError

    with pytest.raises(JobNotFoundError):
        execute_job("../../etc/passwd", payload, registry, T)


def test_prepare_job_checks_before_queueing(tmp_path: Path, data_csv: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        prepare_job(load_config(None, ["data.path=/no/such.csv", "data.target=y"], env={}),
                    None, "greta")
    with pytest.raises(InvalidConfigError, match="No target column"):
        prepare_job(load_config(None, [f"data.path={data_csv}"], env={}), None, "greta")
    cfg = load_config(None, ["data.target=y"], env={
        "GRETA_BROKER_URL": "redis://:s3cret@127.0.0.1:1/0"})
    job, payload = prepare_job(cfg, str(data_csv), "q")
    assert "s3cret" not in payload and "s3cret" not in json.dumps(job.to_dict())
    assert job.config["scalability"]["celery_config"]["broker_url"] == "redis://:***@127.0.0.1:1/0"


class Flaky(SQLiteRegistry):
    """A registry that is unreachable for the job's final write, ``down`` times in a row."""

    def __init__(self, path: Path, down: int) -> None:
        super().__init__(path)
        self.down = down

    def update(self, job_id: str, changes: Any, expect: Any = None, result: Any = None) -> bool:
        from greta_cli.job_management.errors import BrokerUnavailableError

        if "finished_at" in changes and self.down > 0:
            self.down -= 1
            raise BrokerUnavailableError("Cannot reach the job broker at redis://***@x: refused.")
        return super().update(job_id, changes, expect, result)


def test_the_final_write_waits_for_the_registry(tmp_path: Path, data_csv: Path, kit: Any,
                                                caplog: pytest.LogCaptureFixture) -> None:
    registry = Flaky(tmp_path / "jobs.db", down=6)
    job_id, payload, _ = make_job(registry, data_csv, kit)
    with caplog.at_level("WARNING", logger="greta.jobs"):
        out = execute_job(job_id, payload, registry, T)
    assert out["state"] == "succeeded" and registry.down == 0
    job = registry.get(job_id)
    assert job.state is JobState.SUCCEEDED and json.loads(registry.result(job_id))["target"] == "y"
    lines = [r.getMessage() for r in caplog.records]
    assert sum("not written" in m for m in lines) == 1, lines  # rate-limited, not 6 lines
    assert any("reachable again" in m for m in lines)


def test_outage_warnings_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    from greta_cli.job_management.runner import Outage

    outage = Outage("job x", every=3600)
    with caplog.at_level("WARNING", logger="greta.jobs"):
        for _ in range(500):
            outage.failed("heartbeat", ConnectionError("refused"))
        outage.ok()
        outage.ok()
    assert [r.getMessage().split(":")[1].strip()[:8] for r in caplog.records] == ["heartbea", "the job "]


def test_cancel_claims_no_stop_it_did_not_see(tmp_path: Path, data_csv: Path, kit: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A running job whose process does not exit: the record says so, not "was stopped"."""
    from greta_cli.job_management.job_manager import JobManager
    from greta_cli.job_management.models import owner_id

    monkeypatch.setenv("GRETA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GRETA_BROKER_URL", raising=False)
    manager = JobManager(load_config(None, env={}), autostart=False)
    job_id, _, _ = make_job(manager.registry, data_csv, kit)
    now = time.time()
    manager.registry.update(job_id, {"state": JobState.RUNNING, "owner": owner_id(),
                                     "started_at": now, "heartbeat_at": now})
    job = manager.cancel_job(job_id, wait=0.3)
    assert job.state is JobState.CANCELLED
    assert "was stopped" not in job.error and "has not exited" in job.error, job.error
    manager.close()


ATTACK = "@pd.core.frame.com.builtins.__import__('os').system('id > p') == 0 or x1 == x1"


def test_a_worker_parses_the_queued_row_filter_again(registry: Any, data_csv: Path, kit: Any,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A forged message with a filter outside the language fails the job; nothing runs."""
    monkeypatch.chdir(tmp_path)
    job_id, payload, _ = make_job(registry, data_csv, kit, **{"data.row_filter": "x1 > 0"})
    bad = json.loads(payload)
    bad["data"]["row_filter"] = ATTACK
    out = execute_job(job_id, json.dumps(bad), registry, T)
    assert out["state"] == "failed"
    job = registry.get(job_id)
    assert job.state is JobState.FAILED and "\n" not in job.error
    assert "unexpected '@' at position 1" in job.error and "redis" not in job.error
    assert not (tmp_path / "p").exists()


def test_a_job_with_a_row_filter_reads_only_its_rows(registry: Any, data_csv: Path, kit: Any) -> None:
    import pandas as pd

    job_id, payload, _ = make_job(registry, data_csv, kit, **{"data.row_filter": "x2 > -0.5 and x3 is not missing"})
    assert execute_job(job_id, payload, registry, T)["state"] == "succeeded"
    got = json.loads(registry.result(job_id))
    df = pd.read_csv(data_csv)
    assert got["data"]["rows"] == int((df.x2 > -0.5).sum()) < len(df)


def test_prepare_job_refuses_a_row_filter_outside_the_language(data_csv: Path) -> None:
    cfg = load_config(None, [f"data.path={data_csv}", "data.target=y"], env={})
    forged = cfg.model_copy(update={"data": cfg.data.model_copy(update={"row_filter": ATTACK})})
    with pytest.raises(InvalidConfigError, match="unexpected '@' at position 1"):
        prepare_job(forged, None, "greta")
