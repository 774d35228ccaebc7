"""The job, state and progress models, and the pure rules that move a job between states.

A job is stored as a flat record of strings (a Redis hash or a SQLite row, see
``registry.py``); :meth:`Job.from_record` and :func:`encode` convert both ways. The rules
(:func:`claim_decision`, :func:`dead_reason`, :func:`overall_percent`) take plain values and
the current time, so they are tested without Celery, Redis or a clock.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from greta_cli.job_management.errors import JobNotFoundError


class JobState(str, Enum):
    """Where a job is in its life. ``succeeded``, ``failed`` and ``cancelled`` are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


STATES = tuple(s.value for s in JobState)


def parse_state(text: str) -> JobState:
    """The :class:`JobState` named ``text``; a one-line error listing the states otherwise."""
    try:
        return JobState(text.strip().lower())
    except ValueError:
        from greta_core.errors import InvalidConfigError

        msg = f"Unknown job state {text!r}. Allowed: {', '.join(STATES)}."
        raise InvalidConfigError(msg) from None


def new_job_id() -> str:
    """A fresh random job id (UUID4): unguessable, so a result is fetched only by its id."""
    return str(uuid.uuid4())


def parse_job_id(text: str) -> str:
    """Return ``text`` as a canonical UUID4 job id, or raise :class:`JobNotFoundError`."""
    try:
        value = uuid.UUID(str(text).strip())
    except ValueError:
        value = None
    if value is None or value.version != 4:
        msg = (f"{text!r} is not a job id (a UUID4 such as 3f2b8c1e-..., or its first 4 or more "
               "characters). List the jobs with `greta list`.")
        raise JobNotFoundError(msg)
    return str(value)


def match_job_id(text: str, ids: Iterable[str]) -> str:
    """The job id that ``text`` names: a whole id, or the first characters (at least 4) of
    exactly one of ``ids``, as `greta list` shows them. Raises :class:`JobNotFoundError`."""
    t = str(text).strip().lower()
    if len(t) >= 36 or not re.fullmatch(r"[0-9a-f]{4}[0-9a-f-]*", t):
        return parse_job_id(text)
    found = sorted(i for i in ids if i.startswith(t))
    if len(found) == 1:
        return found[0]
    if found:
        msg = (f"{len(found)} jobs have ids starting with {text!r} ({', '.join(found[:3])}"
               f"{', ...' if len(found) > 3 else ''}); give more of the id.")
        raise JobNotFoundError(msg)
    msg = f"No job id starts with {text!r}. List the jobs with `greta list`."
    raise JobNotFoundError(msg)


# ------------------------------------------------------------------------------------ progress
#: Share of the whole job taken by each stage the engine reports, as (start, end) percent.
STAGE_SPANS = {"starting": (0.0, 0.0), "screening": (0.0, 15.0), "statistics": (15.0, 35.0),
               "search": (35.0, 95.0), "holdout": (95.0, 99.0), "done": (100.0, 100.0)}


def overall_percent(stage: str, fraction: float, previous: float = 0.0) -> float:
    """The job's percent done when ``stage`` is ``fraction`` done; never below ``previous``."""
    start, end = STAGE_SPANS.get(stage, (previous, previous))
    frac = min(max(float(fraction), 0.0), 1.0)
    return round(max(previous, start + (end - start) * frac), 1)


@dataclass(frozen=True)
class JobProgress:
    """What a running job last reported: the stage, how far overall, and stage details."""

    stage: str | None = None
    percent: float = 0.0
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"stage": self.stage, "percent": self.percent}
        out.update({k: v for k, v in self.info.items() if k not in out and k != "metrics"})
        return out

    @property
    def metrics(self) -> dict[str, Any]:
        """Resource usage of each finished stage (CPU, peak memory, bytes read and moved)."""
        value = self.info.get("metrics")
        return dict(value) if isinstance(value, Mapping) else {}

    def describe(self, percent: bool = True) -> str:
        if not self.stage:
            return ""
        text = f"{self.stage} {self.percent:.0f}%" if percent else self.stage
        if "generation" in self.info:
            text += f" (generation {self.info['generation']}/{self.info.get('generations', '?')})"
        elif "hypotheses" in self.info:
            text += f" ({self.info['hypotheses']:,}/{self.info.get('total') or 0:,} hypotheses)"
        elif self.info.get("rows"):
            text += f" ({self.info['rows']:,} rows)"
        return text


# ----------------------------------------------------------------------------------------- job
#: Fields of a stored job record, in the order of the SQLite table.
FIELDS = ("id", "state", "submitted_at", "started_at", "finished_at", "heartbeat_at", "stage",
          "percent", "progress", "error", "owner", "attempts", "cancel_requested", "queue",
          "target", "data_path", "config")


@dataclass(frozen=True)
class Job:
    """One background analysis as the registry knows it. Times are POSIX seconds (UTC)."""

    id: str
    state: JobState
    submitted_at: float
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    error: str | None = None
    owner: str | None = None
    attempts: int = 0
    cancel_requested: bool = False
    queue: str | None = None
    target: str | None = None
    data_path: str | None = None
    config: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The object ``greta status --json`` prints (and ``greta list --json`` lists)."""
        return {
            "id": self.id, "state": self.state.value, "progress": self.progress.to_dict(),
            "submitted_at": iso(self.submitted_at), "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "error": self.error,
            "heartbeat_at": iso(self.heartbeat_at), "attempts": self.attempts,
            "cancel_requested": self.cancel_requested, "queue": self.queue,
            "target": self.target, "data": self.data_path, "metrics": self.progress.metrics,
        }

    def to_record(self) -> dict[str, str]:
        """The flat record of strings the registry stores."""
        return encode({
            "id": self.id, "state": self.state, "submitted_at": self.submitted_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "heartbeat_at": self.heartbeat_at, "stage": self.progress.stage,
            "percent": self.progress.percent, "progress": dict(self.progress.info),
            "error": self.error, "owner": self.owner, "attempts": self.attempts,
            "cancel_requested": self.cancel_requested, "queue": self.queue,
            "target": self.target, "data_path": self.data_path, "config": self.config,
        })

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Job:
        """Read a stored record back (missing or empty fields become ``None``/defaults)."""
        def text(name: str) -> str | None:
            value = rec.get(name)
            if isinstance(value, bytes):
                value = value.decode()
            return None if value in (None, "") else str(value)

        def number(name: str) -> float | None:
            value = text(name)
            return None if value is None else float(value)

        def mapping(name: str) -> dict[str, Any]:
            value = text(name)
            return json.loads(value) if value else {}

        progress = JobProgress(text("stage"), number("percent") or 0.0, mapping("progress"))
        return cls(
            id=text("id") or "", state=JobState(text("state") or "queued"),
            submitted_at=number("submitted_at") or 0.0, started_at=number("started_at"),
            finished_at=number("finished_at"), heartbeat_at=number("heartbeat_at"),
            progress=progress, error=text("error"), owner=text("owner"),
            attempts=int(number("attempts") or 0),
            cancel_requested=text("cancel_requested") == "1", queue=text("queue"),
            target=text("target"), data_path=text("data_path"), config=mapping("config") or None,
        )


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """Encode field values as the registry's strings: None is "", booleans "1"/"0"."""
    out = {}
    for key, value in values.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, JobState):
            out[key] = value.value
        elif isinstance(value, (Mapping, list)):
            out[key] = json.dumps(dict(value) if isinstance(value, Mapping) else value,
                                  separators=(",", ":"), allow_nan=False)
        elif isinstance(value, float):
            out[key] = repr(value)
        else:
            out[key] = str(value)
    return out


def iso(t: float | None) -> str | None:
    """POSIX seconds as ISO 8601 UTC (``2026-01-31T12:00:00.123Z``); None stays None."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")[:-6] + "Z"


# ------------------------------------------------------------------------- ownership and death
def owner_id(pid: int | None = None) -> str:
    """Who runs a job: ``host:pid`` of the process executing it."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (zombies count as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def local_owner_alive(owner: str | None, alive: Callable[[int], bool] = pid_alive,
                      since: float | None = None) -> bool | None:
    """True/False when ``owner`` is a process on this machine; None when it is elsewhere.

    With ``since`` (when the owner took the job), a process with that id started later is
    another one that reuses the id of the dead owner: False.
    """
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if not alive(int(pid)):
        return False
    return since is None or not _started_after(int(pid), since)


def _started_after(pid: int, when: float, slack: float = 2.0) -> bool:
    """Whether process ``pid`` started more than ``slack`` seconds after ``when``."""
    try:
        import psutil

        return psutil.Process(pid).create_time() > when + slack
    except Exception:  # noqa: BLE001 - unknown: assume it is the same process
        return False


@dataclass(frozen=True)
class Timing:
    """How often a running job beats and when silence means it is dead (seconds)."""

    heartbeat: float = 5.0
    stale_after: float = 30.0
    max_attempts: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Timing:
        env = os.environ if env is None else env
        beat = float(env.get("GRETA_JOB_HEARTBEAT", "") or 5.0)
        stale = float(env.get("GRETA_JOB_STALE_AFTER", "") or max(30.0, 6 * beat))
        attempts = int(env.get("GRETA_JOB_MAX_ATTEMPTS", "") or 2)
        return cls(heartbeat=beat, stale_after=max(stale, 2 * beat), max_attempts=max(attempts, 1))


def dead_reason(job: Job, now: float, timing: Timing, *, patience: float = 1.0,
                alive: Callable[[int], bool] = pid_alive) -> str | None:
    """Why a ``running`` job is dead, or None while it may still be alive.

    A job run on this machine is dead once its process is gone; one run elsewhere once no
    heartbeat came for ``patience * stale_after`` seconds.
    """
    if job.state is not JobState.RUNNING:
        return None
    local = local_owner_alive(job.owner, alive,
                              since=job.started_at if alive is pid_alive else None)
    if local is True:
        return None
    silent = now - (job.heartbeat_at or job.started_at or job.submitted_at)
    if local is False:
        return f"the worker process running it ({job.owner}) died"
    if silent > patience * timing.stale_after:
        return (f"its worker ({job.owner or 'unknown'}) sent no heartbeat for {silent:.0f} s "
                "and is presumed dead (killed, out of memory, or its machine stopped)")
    return None


def claim_decision(job: Job, now: float, timing: Timing,
                   alive: Callable[[int], bool] = pid_alive) -> str:
    """What a worker that received ``job``'s message does: "start", "skip" or "give_up".

    "start" takes a queued job, or takes over a running job whose worker died (a redelivered
    message). A job already final, or running alive elsewhere (a duplicate delivery), is
    skipped. A job that used up its attempts is given up (marked failed).
    """
    if job.state is JobState.QUEUED:
        return "start" if job.attempts < timing.max_attempts else "give_up"
    if job.state is JobState.RUNNING and dead_reason(job, now, timing, alive=alive):
        return "start" if job.attempts < timing.max_attempts else "give_up"
    return "skip"
