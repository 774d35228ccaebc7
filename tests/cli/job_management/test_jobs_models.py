"""Unit tests of the job models and the pure rules (no Celery, no Redis, no clock)."""

from __future__ import annotations

import pickle
import socket
import uuid

import pytest

from greta_cli.job_management.errors import (
    BrokerUnavailableError,
    JobNotFinishedError,
    JobNotFoundError,
    JobsUnavailableError,
)
from greta_cli.job_management.models import (
    STATES,
    Job,
    JobProgress,
    JobState,
    Timing,
    claim_decision,
    dead_reason,
    encode,
    iso,
    match_job_id,
    new_job_id,
    overall_percent,
    parse_job_id,
    parse_state,
)
from greta_core.errors import GretaError, InvalidConfigError, ScalabilityError

HOST = socket.gethostname()
T = Timing(heartbeat=1.0, stale_after=10.0, max_attempts=2)


def running(owner: str, heartbeat: float, attempts: int = 1) -> Job:
    return Job(id=new_job_id(), state=JobState.RUNNING, submitted_at=0.0, started_at=1.0,
               heartbeat_at=heartbeat, owner=owner, attempts=attempts)


def test_states_and_final() -> None:
    assert STATES == ("queued", "running", "succeeded", "failed", "cancelled")
    assert [s.final for s in JobState] == [False, False, True, True, True]
    assert parse_state(" Running ") is JobState.RUNNING
    with pytest.raises(InvalidConfigError, match="Allowed: queued, running, succeeded"):
        parse_state("done")


def test_job_ids_are_uuid4_and_checked() -> None:
    ids = {new_job_id() for _ in range(100)}
    assert len(ids) == 100 and all(uuid.UUID(i).version == 4 for i in ids)
    some = new_job_id()
    assert parse_job_id(some.upper()) == some
    for bad in ("42", "../etc/passwd", str(uuid.uuid1()), ""):
        with pytest.raises(JobNotFoundError, match="is not a job id") as info:
            parse_job_id(bad)
        assert "\n" not in str(info.value)


def test_a_job_is_named_by_its_first_characters() -> None:
    a, b = "3f2b8c1e-0000-4000-8000-000000000001", "3f2b9d00-0000-4000-8000-000000000002"
    ids = [a, b]
    assert match_job_id("3f2b8", ids) == a and match_job_id(" 3F2B9D ", ids) == b
    assert match_job_id(a.upper(), []) == a  # a whole id is taken as it is
    with pytest.raises(JobNotFoundError, match=r"2 jobs have ids starting with '3f2b'.*give more"):
        match_job_id("3f2b", ids)
    with pytest.raises(JobNotFoundError, match="No job id starts with '3f2c'"):
        match_job_id("3f2c", ids)
    for bad in ("3f2", "zzzz", "../3f2b"):  # too short, or not the start of an id
        with pytest.raises(JobNotFoundError, match="is not a job id"):
            match_job_id(bad, ids)


def test_overall_percent_rises_through_the_stages() -> None:
    seen, pct = [], 0.0
    for stage, frac in [("starting", 0), ("statistics", 0.5), ("statistics", 1.0),
                        ("search", 0.0), ("search", 0.5), ("search", 0.4), ("search", 1.0),
                        ("unknown-stage", 0.3), ("done", 1.0)]:
        pct = overall_percent(stage, frac, pct)
        seen.append(pct)
    assert seen == sorted(seen)
    assert seen[1] == 25.0 and seen[4] == 65.0 and seen[-1] == 100.0
    assert overall_percent("search", 7.0) == 95.0  # clamped


def test_record_round_trip_and_status_json() -> None:
    job = Job(id=new_job_id(), state=JobState.RUNNING, submitted_at=1_700_000_000.25,
              started_at=1_700_000_001.0, heartbeat_at=1_700_000_002.5,
              progress=JobProgress("search", 41.5, {"generation": 3, "generations": 8}),
              owner=f"{HOST}:123", attempts=1, cancel_requested=True, queue="greta",
              target="y", data_path="/data/d.csv", config={"data": {"target": "y"}})
    rec = job.to_record()
    assert all(isinstance(v, str) for v in rec.values())
    assert rec["cancel_requested"] == "1" and rec["error"] == ""
    assert Job.from_record(rec) == job
    doc = job.to_dict()
    for key in ("id", "state", "progress", "submitted_at", "started_at", "finished_at", "error"):
        assert key in doc
    assert doc["progress"] == {"stage": "search", "percent": 41.5, "generation": 3,
                               "generations": 8}
    assert doc["submitted_at"] == "2023-11-14T22:13:20.250Z" and doc["finished_at"] is None
    assert job.progress.describe() == "search 42% (generation 3/8)"
    assert encode({"a": None, "b": False, "c": {"x": 1}}) == {"a": "", "b": "0", "c": '{"x":1}'}
    assert iso(None) is None


def test_dead_reason_local_and_remote() -> None:
    alive = {123: True, 456: False}.get
    assert dead_reason(running(f"{HOST}:123", 0.0), 1000.0, T, alive=alive) is None
    reason = dead_reason(running(f"{HOST}:456", 99.0), 100.0, T, alive=alive)
    assert reason and "died" in reason
    remote = running("elsewhere:1", heartbeat=100.0)
    assert dead_reason(remote, 105.0, T) is None
    assert "no heartbeat for 15 s" in (dead_reason(remote, 115.0, T) or "")
    assert dead_reason(remote, 115.0, T, patience=2.0) is None
    queued = Job(id=new_job_id(), state=JobState.QUEUED, submitted_at=0.0)
    assert dead_reason(queued, 1e9, T) is None


def test_claim_decision() -> None:
    alive = {1: True, 2: False}.get
    queued = Job(id=new_job_id(), state=JobState.QUEUED, submitted_at=0.0)
    assert claim_decision(queued, 1.0, T, alive) == "start"
    assert claim_decision(running(f"{HOST}:1", 0.0), 1.0, T, alive) == "skip"  # duplicate
    assert claim_decision(running(f"{HOST}:2", 0.0), 1.0, T, alive) == "start"  # take over
    assert claim_decision(running(f"{HOST}:2", 0.0, attempts=2), 1.0, T, alive) == "give_up"
    assert claim_decision(running("far:9", 0.0), 5.0, T, alive) == "skip"
    assert claim_decision(running("far:9", 0.0), 50.0, T, alive) == "start"
    for state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED):
        done = Job(id=new_job_id(), state=state, submitted_at=0.0)
        assert claim_decision(done, 1.0, T, alive) == "skip"


def test_timing_from_env() -> None:
    assert Timing.from_env({}) == Timing(5.0, 30.0, 2)
    t = Timing.from_env({"GRETA_JOB_HEARTBEAT": "0.5", "GRETA_JOB_STALE_AFTER": "0.1",
                         "GRETA_JOB_MAX_ATTEMPTS": "0"})
    assert t == Timing(0.5, 1.0, 1)  # stale is at least two beats; at least one attempt


@pytest.mark.parametrize("cls,builtin", [(JobNotFoundError, KeyError),
                                         (JobNotFinishedError, RuntimeError),
                                         (BrokerUnavailableError, ConnectionError),
                                         (JobsUnavailableError, ImportError)])
def test_errors_are_greta_errors_and_pickle(cls: type, builtin: type) -> None:
    err = cls("Cannot reach the job broker at redis://:***@h:1/0: refused.")
    assert isinstance(err, GretaError) and isinstance(err, builtin)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls and str(back) == str(err)
    assert issubclass(BrokerUnavailableError, ScalabilityError)
