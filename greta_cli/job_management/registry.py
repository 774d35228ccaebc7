"""The job registry: every job's state, progress, heartbeat, config and result.

Celery cannot list jobs nor tell an unknown id from a queued one, so Greta keeps its own
record: a Redis hash per job plus a sorted set of ids (Redis setups), or a SQLite table under
the Greta home (the embedded default). Every change is a compare-and-set
(:meth:`JobRegistry.update` with ``expect``), so two workers, a canceller and a reaper can
race on a job and exactly one wins.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from greta_cli.config import redact_url
from greta_cli.job_management.errors import BrokerUnavailableError
from greta_cli.job_management.models import FIELDS, Job, JobState, encode

_FINAL = tuple(s.value for s in JobState if s.final)
_SUMMARY = tuple(f for f in FIELDS if f != "config")


def private_folder(path: Path) -> Path:
    """Create ``path`` (and its parents) if needed; make it readable by its owner only (0700):
    Greta's data folder holds job configs and results."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name != "nt":
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o700)
        except OSError:  # not ours to change: the files inside are still 0600
            pass
    return path


def private_file(path: Path, create: bool = False) -> None:
    """Make ``path`` readable and writable by its owner only (0600); ``create`` makes an
    empty one (an empty file is a valid SQLite database) when it does not exist."""
    if create and not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError:
            return
    if os.name == "nt":
        return
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass


def job_ttl() -> float:
    """Seconds a finished job (and its result) is kept: ``GRETA_JOB_TTL_DAYS``, default 7."""
    return float(os.environ.get("GRETA_JOB_TTL_DAYS", "") or 7) * 86400


class JobRegistry(ABC):
    """Storage of job records. Values are strings (see :func:`models.encode`)."""

    @abstractmethod
    def create(self, job: Job, payload: str) -> None:
        """Add a new job with the config JSON a worker runs (``payload``)."""

    @abstractmethod
    def fields(self, job_id: str, names: tuple[str, ...] = FIELDS) -> dict[str, str] | None:
        """Some fields of a job's record; None when there is no such job."""

    @abstractmethod
    def ids(self) -> list[str]:
        """Every job id, newest first."""

    @abstractmethod
    def _update(self, job_id: str, changes: dict[str, str], expect: dict[str, str],
                result: str | None, final: bool) -> bool: ...

    @abstractmethod
    def result(self, job_id: str) -> str | None:
        """The results JSON of a succeeded job."""

    @abstractmethod
    def payload(self, job_id: str) -> str | None:
        """The config JSON the job runs with."""

    @abstractmethod
    def delete(self, job_id: str) -> None: ...

    @abstractmethod
    def beat_worker(self, name: str, info: Mapping[str, Any]) -> None:
        """Record that the worker ``name`` is alive (``info`` has ``last_seen``)."""

    @abstractmethod
    def drop_worker(self, name: str) -> None: ...

    @abstractmethod
    def workers(self) -> list[dict[str, Any]]:
        """Every worker record (alive or not)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`BrokerUnavailableError` when the registry cannot be reached."""

    def close(self) -> None:
        return None

    # ----------------------------------------------------------------------- shared helpers
    def get(self, job_id: str) -> Job | None:
        rec = self.fields(job_id)
        return None if rec is None else Job.from_record(rec)

    def list(self, state: JobState | None = None) -> list[Job]:
        """Jobs, newest first, optionally only those in ``state``."""
        jobs = []
        for job_id in self.ids():
            rec = self.fields(job_id, _SUMMARY)
            if rec is None:
                continue
            job = Job.from_record(rec)
            if state is None or job.state is state:
                jobs.append(job)
        return jobs

    def update(self, job_id: str, changes: Mapping[str, Any],
               expect: Mapping[str, Any] | None = None, result: str | None = None) -> bool:
        """Set ``changes`` if the job exists and its fields equal ``expect``; True if done.

        Moving to a final state also stores ``result`` (if given) and starts the job's
        time to live.
        """
        unknown = (set(changes) | set(expect or {})) - set(FIELDS)
        if unknown:
            msg = f"Unknown job fields: {sorted(unknown)}"
            raise ValueError(msg)
        final = str(encode(changes).get("state", "")) in _FINAL
        return self._update(job_id, encode(changes), encode(expect or {}), result, final)


# ------------------------------------------------------------------------------------- SQLite
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs ({', '.join(f'{f} TEXT' + (' PRIMARY KEY' if f == 'id' else '')
                                          for f in FIELDS)}, payload TEXT, result TEXT);
CREATE INDEX IF NOT EXISTS jobs_submitted ON jobs (submitted_at);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE TABLE IF NOT EXISTS workers (name TEXT PRIMARY KEY, info TEXT);
"""


class SQLiteRegistry(JobRegistry):
    """The embedded registry: one SQLite file (WAL mode), shared by the processes of a user."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                if self._conn is None or self._pid != os.getpid():  # never share across fork
                    self._conn = self._connect()
                    self._pid = os.getpid()
                yield self._conn
            except sqlite3.Error as e:
                msg = (f"Cannot use the job registry {str(self.path)!r}: {e}. Check that the "
                       "folder is writable, or set GRETA_HOME to another folder.")
                raise BrokerUnavailableError(msg) from None

    def _connect(self) -> sqlite3.Connection:
        private_folder(self.path.parent)
        private_file(self.path, create=True)  # 0600 from the start, never readable by others
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(_SCHEMA)
        for suffix in ("", "-wal", "-shm"):
            private_file(Path(f"{self.path}{suffix}"))
        return conn

    def create(self, job: Job, payload: str) -> None:
        rec = job.to_record()
        cols = [*FIELDS, "payload"]
        values = [rec.get(f, "") for f in FIELDS] + [payload]
        with self._db() as db:
            db.execute(f"INSERT INTO jobs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       values)

    def fields(self, job_id: str, names: tuple[str, ...] = FIELDS) -> dict[str, str] | None:
        with self._db() as db:
            row = db.execute(f"SELECT {', '.join(names)} FROM jobs WHERE id = ?",
                             (job_id,)).fetchone()
        return None if row is None else dict(zip(names, row))

    def ids(self) -> list[str]:
        with self._db() as db:
            db.execute("DELETE FROM jobs WHERE state IN (?, ?, ?) AND "
                       "CAST(finished_at AS REAL) < ?", (*_FINAL, time.time() - job_ttl()))
            rows = db.execute("SELECT id FROM jobs ORDER BY CAST(submitted_at AS REAL) DESC, "
                              "rowid DESC").fetchall()
        return [r[0] for r in rows]

    def list(self, state: JobState | None = None) -> list[Job]:
        self.ids()  # prunes expired jobs
        query = f"SELECT {', '.join(_SUMMARY)} FROM jobs"
        args: tuple[str, ...] = ()
        if state is not None:
            query, args = query + " WHERE state = ?", (state.value,)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY CAST(submitted_at AS REAL) DESC, rowid DESC",
                              args).fetchall()
        return [Job.from_record(dict(zip(_SUMMARY, r))) for r in rows]

    def _update(self, job_id: str, changes: dict[str, str], expect: dict[str, str],
                result: str | None, final: bool) -> bool:
        sets = [f"{k} = ?" for k in changes]
        args: list[Any] = list(changes.values())
        if result is not None:
            sets.append("result = ?")
            args.append(result)
        where = ["id = ?", *(f"COALESCE({k}, '') = ?" for k in expect)]
        args += [job_id, *expect.values()]
        with self._db() as db:
            cur = db.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE {' AND '.join(where)}",
                             args)
        return cur.rowcount == 1

    def result(self, job_id: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT result FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def payload(self, job_id: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT payload FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def delete(self, job_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def beat_worker(self, name: str, info: Mapping[str, Any]) -> None:
        with self._db() as db:
            db.execute("INSERT OR REPLACE INTO workers (name, info) VALUES (?, ?)",
                       (name, json.dumps(dict(info))))

    def drop_worker(self, name: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM workers WHERE name = ?", (name,))

    def workers(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT info FROM workers").fetchall()
        return [json.loads(r[0]) for r in rows]

    def ping(self) -> None:
        with self._db() as db:
            db.execute("SELECT 1")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


# -------------------------------------------------------------------------------------- Redis
_CAS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local i = 2
for _ = 1, tonumber(ARGV[1]) do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v == false then v = '' end
  if v ~= ARGV[i + 1] then return 0 end
  i = i + 2
end
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i = i + 2 end
if ARGV[i] == '1' then redis.call('SET', KEYS[2], ARGV[i + 1]) end
local ttl = tonumber(ARGV[i + 2])
if ttl > 0 then
  for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ttl) end
end
local state = redis.call('HGET', KEYS[1], 'state')
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('SREM', KEYS[4], id)
redis.call('SREM', KEYS[5], id)
if state == 'queued' then redis.call('SADD', KEYS[4], id) end
if state == 'running' then redis.call('SADD', KEYS[5], id) end
return 1
"""


class RedisRegistry(JobRegistry):
    """The registry of a Redis setup: ``greta:job:ID`` hashes, a ``greta:jobs`` sorted set of
    every id, and ``greta:state:queued``/``greta:state:running`` sets of the active ones (so
    workers scan only those)."""

    prefix = "greta"

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._redis_errors = (redis.RedisError, OSError)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=15,
                                           health_check_interval=30, decode_responses=True)
        self._cas = self.client.register_script(_CAS)

    def _key(self, job_id: str, part: str = "") -> str:
        return f"{self.prefix}:job:{job_id}" + (f":{part}" if part else "")

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self._redis_errors as e:
            reason = " ".join(str(e).split()).rstrip(".") or type(e).__name__
            msg = (f"Cannot reach the job broker at {redact_url(self.url)}: {reason}. Start Redis "
                   "there, or fix scalability.celery_config.broker_url (or GRETA_BROKER_URL).")
            raise BrokerUnavailableError(msg) from None

    def create(self, job: Job, payload: str) -> None:
        with self._guard():
            pipe = self.client.pipeline(transaction=True)
            pipe.hset(self._key(job.id), mapping=job.to_record())
            pipe.set(self._key(job.id, "payload"), payload)
            pipe.zadd(f"{self.prefix}:jobs", {job.id: job.submitted_at})
            if not job.state.final:
                pipe.sadd(self._active(job.state), job.id)
            pipe.execute()

    def _active(self, state: JobState) -> str:
        return f"{self.prefix}:state:{state.value}"

    def fields(self, job_id: str, names: tuple[str, ...] = FIELDS) -> dict[str, str] | None:
        with self._guard():
            values = self.client.hmget(self._key(job_id), list(names))
        if all(v is None for v in values):
            return None
        return {n: (v or "") for n, v in zip(names, values)}

    def ids(self) -> list[str]:
        with self._guard():
            ids = self.client.zrevrange(f"{self.prefix}:jobs", 0, -1)
            pipe = self.client.pipeline(transaction=False)
            for job_id in ids:
                pipe.exists(self._key(job_id))
            gone = [i for i, there in zip(ids, pipe.execute()) if not there]
            if gone:  # expired finished jobs
                self.client.zrem(f"{self.prefix}:jobs", *gone)
        return [i for i in ids if i not in set(gone)]

    def list(self, state: JobState | None = None) -> list[Job]:
        if state is not None and not state.final:
            with self._guard():
                ids = list(self.client.smembers(self._active(state)))
        else:
            ids = self.ids()
        with self._guard():
            pipe = self.client.pipeline(transaction=False)
            for job_id in ids:
                pipe.hmget(self._key(job_id), list(_SUMMARY))
            rows = pipe.execute()
        jobs = [Job.from_record(dict(zip(_SUMMARY, r))) for r in rows if r[0]]
        jobs.sort(key=lambda j: j.submitted_at, reverse=True)
        return [j for j in jobs if state is None or j.state is state]

    def _update(self, job_id: str, changes: dict[str, str], expect: dict[str, str],
                result: str | None, final: bool) -> bool:
        args: list[str] = [str(len(expect))]
        for k, v in expect.items():
            args += [k, v]
        args.append(str(len(changes)))
        for k, v in changes.items():
            args += [k, v]
        args += ["1" if result is not None else "0", result or "",
                 str(int(job_ttl())) if final else "0"]
        keys = [self._key(job_id), self._key(job_id, "result"), self._key(job_id, "payload"),
                self._active(JobState.QUEUED), self._active(JobState.RUNNING)]
        with self._guard():
            return bool(self._cas(keys=keys, args=args))

    def result(self, job_id: str) -> str | None:
        with self._guard():
            return self.client.get(self._key(job_id, "result"))

    def payload(self, job_id: str) -> str | None:
        with self._guard():
            return self.client.get(self._key(job_id, "payload"))

    def delete(self, job_id: str) -> None:
        with self._guard():
            self.client.delete(self._key(job_id), self._key(job_id, "result"),
                               self._key(job_id, "payload"))
            self.client.zrem(f"{self.prefix}:jobs", job_id)
            for state in (JobState.QUEUED, JobState.RUNNING):
                self.client.srem(self._active(state), job_id)

    def beat_worker(self, name: str, info: Mapping[str, Any]) -> None:
        with self._guard():
            self.client.hset(f"{self.prefix}:workers", name, json.dumps(dict(info)))

    def drop_worker(self, name: str) -> None:
        with self._guard():
            self.client.hdel(f"{self.prefix}:workers", name)

    def workers(self) -> list[dict[str, Any]]:
        with self._guard():
            return [json.loads(v) for v in self.client.hvals(f"{self.prefix}:workers")]

    def ping(self) -> None:
        with self._guard():
            self.client.ping()

    def close(self) -> None:
        self.client.close()


def open_registry(url: str) -> JobRegistry:
    """The registry at ``url``: ``redis://...`` or ``sqlite:///path``."""
    if url.startswith("sqlite:///"):
        return SQLiteRegistry(url[len("sqlite:///"):])
    return RedisRegistry(url)
