#!/usr/bin/env python3
"""Chaos run of background jobs: workers and Redis killed at random while jobs run.

usage: python bench/chaos.py [--jobs 100] [--workers 2] [--minutes 10] [--every 15]
                             [--rows 3000] [--seed 1] [--settle 600]

It starts, on loopback, a private `redis-server` on a free port with persistence (AOF,
`--appendonly yes --appendfsync always`: a Redis killed with SIGKILL comes back with every
message and job record it acknowledged) and W `greta worker` processes (concurrency 1 each,
the default heartbeat, hence the default visibility timeout of 60 s). It submits N small
analyses of a generated data set (5 different seeds) spread over the first 70 % of the run,
and for ``--minutes`` minutes, every ``--every`` seconds on average (at random), does one of:

- SIGKILL a worker's main process (its pool process runs on, an orphan);
- SIGKILL a worker's whole process group (a crash, a container killed);
- SIGKILL a worker's pool process (the kernel's OOM killer does that);
- stop Redis (SHUTDOWN) or SIGKILL it,

and restarts what it killed after a few seconds, as a supervisor (systemd, Kubernetes) would:
Redis on the same port with its data, a worker whenever its slot is empty. Submits that meet
a stopped Redis are retried. Then it waits (``--settle`` seconds at most) until every job is
final and compares each succeeded job's hypotheses and verdicts with a plain run of the same
config in this process. It prints a table: every job must be ``succeeded`` with the plain
run's result, or ``failed`` with a reason; none stuck, none lost, none run twice to
completion.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jobs_load import free_port, make_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (1, 2, 3, 4, 5)
SETTINGS = ["hypothesis_search.pop_size=40", "hypothesis_search.num_generations=100",
            "hypothesis_search.patience=null", "hypothesis_search.strategy=genetic"]


def essentials(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What must match a plain run: the hypotheses, their terms, verdicts and p-values."""
    return [(h["rank"], tuple(h["terms"]), h["confirmed"], h["holdout"]["p_value"],
             h["holdout"].get("q_value"), h["discovery"]["p_value"],
             tuple((t["term"], t["p_value"]) for t in h["term_tests"]))
            for h in results["hypotheses"]]


class Redis:
    """A private redis-server with an append-only file, restarted on the same port."""

    def __init__(self, port: int, folder: Path, log: Path) -> None:
        self.port, self.folder, self.log = port, folder, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            sys.exit("redis-server is not installed (apt-get install redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--protected-mode", "yes",
                 "--dir", str(self.folder), "--save", "", "--appendonly", "yes",
                 "--appendfsync", "always"], stdout=out, stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.RedisError:  # still loading its file
                time.sleep(0.05)
        sys.exit(f"redis-server did not start again on port {self.port}; see {self.log}")

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def shutdown(self) -> None:
        import redis

        try:
            redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2).shutdown()
        except redis.RedisError:
            pass  # it closes the connection as it stops
        assert self.proc is not None
        self.proc.wait(60)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)


class Slot:
    """One worker slot: a `greta worker` process, started again whenever it is gone."""

    def __init__(self, n: int, env: dict[str, str], log: Path) -> None:
        self.n, self.env, self.log = n, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.groups: list[int] = []  # every process group started (orphans are killed at the end)
        self.restart_at = 0.0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "greta_cli.app", "worker", "--concurrency", "1",
                 "--loglevel", "info"], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=str(ROOT))
        self.groups.append(self.proc.pid)

    def pool_child(self) -> int | None:
        import psutil

        try:
            kids = psutil.Process(self.proc.pid).children() if self.proc else []
        except psutil.Error:
            return None
        return kids[0].pid if kids else None

    def end(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        for group in self.groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc is not None:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass


class Chaos:
    def __init__(self, a: argparse.Namespace, tmp: Path) -> None:
        self.a, self.tmp = a, tmp
        self.rng = random.Random(a.seed)
        self.redis = Redis(free_port(), tmp / "redis", tmp / "redis.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
        env.update(GRETA_HOME=str(tmp / "home"), GRETA_AUTOSTART_WORKER="0",
                   GRETA_BROKER_URL=self.redis.url, OPENBLAS_NUM_THREADS="1",
                   PYTHONUNBUFFERED="1")
        self.env = env
        self.slots = [Slot(i, env, tmp / f"worker{i}.log") for i in range(a.workers)]
        self.events: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.redis_back_at = 0.0
        self.stop = threading.Event()
        self.submitted: list[tuple[str, int]] = []
        self.submit_retries = 0

    # ------------------------------------------------------------------------ supervision
    def supervise(self) -> None:
        """Start a worker in every empty slot (after its delay), as systemd would."""
        while not self.stop.is_set():
            with self.lock:
                for slot in self.slots:
                    if not slot.alive and time.monotonic() >= slot.restart_at:
                        if slot.proc is not None:
                            self.events["worker (re)started"] += 1
                        slot.start()
                        slot.restart_at = time.monotonic() + 3  # if it fails, again in 3 s
            self.stop.wait(0.5)

    def chaos(self, until: float) -> None:
        kinds = ["worker main SIGKILL", "worker group SIGKILL", "pool process SIGKILL",
                 "Redis SHUTDOWN", "Redis SIGKILL"]
        weights = [0.25, 0.2, 0.2, 0.15, 0.2]
        while True:
            wait = self.rng.expovariate(1 / self.a.every)
            if time.monotonic() + wait > until:
                return
            time.sleep(wait)
            kind = self.rng.choices(kinds, weights)[0]
            self.note(kind)
            if kind.startswith("Redis"):
                with self.lock:
                    (self.redis.shutdown if "SHUTDOWN" in kind else self.redis.kill)()
                self.events[kind] += 1
                time.sleep(self.rng.uniform(2, 12))
                with self.lock:
                    self.redis.start()
                continue
            with self.lock:
                alive = [s for s in self.slots if s.alive]
                if not alive:
                    continue
                slot = self.rng.choice(alive)
                assert slot.proc is not None
                try:
                    if kind == "worker main SIGKILL":
                        os.kill(slot.proc.pid, signal.SIGKILL)
                    elif kind == "worker group SIGKILL":
                        os.killpg(slot.proc.pid, signal.SIGKILL)
                    else:
                        child = slot.pool_child()
                        if child is None:
                            continue
                        os.kill(child, signal.SIGKILL)
                        self.note(f"  pool process {child}")
                except ProcessLookupError:
                    continue
                self.events[kind] += 1
                if kind != "pool process SIGKILL":
                    self.note(f"  worker {slot.proc.pid}")
                    slot.proc.wait(10)
                    slot.restart_at = time.monotonic() + self.rng.uniform(1, 8)

    def note(self, what: str) -> None:
        with open(self.tmp / "faults.log", "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {what}\n")

    # -------------------------------------------------------------------------- the jobs
    def manager(self) -> Any:
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("GRETA")})
        from greta_cli.job_management.job_manager import JobManager

        return JobManager(None, autostart=False)

    def config(self, data: Path, seed: int) -> Any:
        from greta_cli.config import load_config

        return load_config(None, [f"data.path={data}", "data.target=y",
                                  f"hypothesis_search.seed={seed}", *SETTINGS])

    def submit_all(self, manager: Any, data: Path, over: float) -> None:
        from greta_cli.job_management.errors import BrokerUnavailableError

        gap = over / self.a.jobs
        start = time.monotonic()
        for i in range(self.a.jobs):
            time.sleep(max(0.0, start + i * gap - time.monotonic()))
            seed = SEEDS[i % len(SEEDS)]
            while True:
                try:
                    job = manager.submit_analysis_job(self.config(data, seed))
                    break
                except BrokerUnavailableError:
                    self.submit_retries += 1
                    time.sleep(1)
            self.submitted.append((job.id, seed))


def read_jobs(manager: Any, ids: list[str]) -> dict[str, Any] | None:
    from greta_cli.job_management.errors import BrokerUnavailableError

    try:
        return {i: j for i in ids if (j := _get(manager, i)) is not None}
    except BrokerUnavailableError:
        return None


def _get(manager: Any, job_id: str) -> Any:
    from greta_cli.job_management.errors import JobNotFoundError

    try:
        return manager.get_job_status(job_id)
    except JobNotFoundError:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=15.0,
                    help="mean seconds between two faults")
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--settle", type=float, default=600.0,
                    help="seconds to wait, after the faults end, for every job to be final")
    ap.add_argument("--keep", action="store_true", help="keep the logs (printed folder)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="greta-chaos-"))
    data = tmp / "data.csv"
    make_data(data, a.rows)

    # The plain runs the jobs are compared with, one per seed.
    from greta_cli.config import load_config
    from greta_cli.core_integration.integration import run_analysis_pipeline
    from greta_cli.job_management.runner import results_json

    reference = {}
    for seed in SEEDS:
        cfg = load_config(None, [f"data.path={data}", "data.target=y",
                                 f"hypothesis_search.seed={seed}", *SETTINGS], env={})
        t0 = time.perf_counter()
        reference[seed] = essentials(json.loads(results_json(run_analysis_pipeline(cfg))))
        plain = time.perf_counter() - t0

    run = Chaos(a, tmp)
    run.redis.start()
    supervisor = threading.Thread(target=run.supervise, daemon=True)
    manager = None
    extra: list[Any] = []
    try:
        supervisor.start()
        manager = run.manager()
        t0 = time.monotonic()
        until = t0 + a.minutes * 60
        submitter = threading.Thread(target=run.submit_all,
                                     args=(manager, data, 0.7 * a.minutes * 60), daemon=True)
        submitter.start()
        run.chaos(until)
        submitter.join()
        with run.lock:
            if not run.redis.up:
                run.redis.start()
        calm = time.monotonic()
        ids = [i for i, _ in run.submitted]
        jobs: dict[str, Any] = {}
        while time.monotonic() - calm < a.settle:
            got = read_jobs(manager, ids)
            if got is not None:
                jobs = got
                if len(jobs) == len(ids) and all(j.state.final for j in jobs.values()):
                    break
            time.sleep(1)
        settled = time.monotonic() - calm
        extra = [j for j in manager.list_jobs() if j.id not in set(ids)]
        results = {}
        for i, j in jobs.items():
            if j.state.value == "succeeded":
                results[i] = essentials(manager.get_job_result(i))
    finally:
        run.stop.set()
        supervisor.join(5)
        for slot in run.slots:
            slot.end()
        if run.redis.up:
            run.redis.kill()
        if manager is not None:
            manager.close()

    logs = "".join(s.log.read_text(errors="replace") for s in run.slots)
    seeds = dict(run.submitted)
    ended = Counter(re.findall(r"job ([0-9a-f-]{36}) ran to its end: succeeded", logs))
    started = Counter(re.findall(r"job ([0-9a-f-]{36}): attempt \d+ started", logs))
    discarded = len(re.findall(r"job [0-9a-f-]{36} ran to its end: lost", logs))
    skipped = len(re.findall(r"job [0-9a-f-]{36} not run: skip", logs))
    resent = len(re.findall(r"job [0-9a-f-]{36}: queued for .* sent again", logs))
    requeued = len(re.findall(r"job [0-9a-f-]{36}: .*; queued again", logs))
    states = Counter(j.state.value for j in jobs.values())
    same = sum(1 for i, r in results.items() if r == reference[seeds[i]])
    different = len(results) - same
    failed = [j for j in jobs.values() if j.state.value == "failed"]
    reasons = Counter(re.sub(r"\([^)]*\)|[0-9a-f-]{36}", "(…)", j.error or "")[:160]
                      for j in failed if j.error)
    stuck = [j for j in jobs.values() if not j.state.final]
    lost = len(ids) - len(jobs)
    twice = sum(1 for i in ids if ended[i] > 1)
    twice_different = sum(1 for i in ids if ended[i] > 1 and i in results
                          and results[i] != reference[seeds[i]])
    e2e = [j.finished_at - j.submitted_at for j in jobs.values() if j.finished_at]
    attempts = Counter(j.attempts for j in jobs.values())

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{a.jobs} jobs on {a.workers} workers, faults for {a.minutes:g} min (one every "
          f"{a.every:g} s on average, seed {a.seed}), {a.rows} rows a job, plain run "
          f"{plain:.1f} s, {os.cpu_count()} cores, load average {load:.1f}")
    print("\n| outcome | jobs |\n|---|---:|")
    rows = [("succeeded, same hypotheses and verdicts as a plain run", same),
            ("succeeded, different result", different),
            ("failed, with a reason", sum(1 for j in failed if j.error)),
            ("failed, no reason", sum(1 for j in failed if not j.error)),
            ("cancelled", states.get("cancelled", 0)),
            ("stuck (queued or running at the end)", len(stuck)),
            ("lost (submitted, unknown to the registry)", lost),
            ("run to completion twice or more", twice),
            ("… of them with different results", twice_different)]
    for name, n in rows:
        print(f"| {name} | {n} |")
    print("\n| fault or recovery | count |\n|---|---:|")
    for name, n in sorted(run.events.items()):
        print(f"| {name} | {n} |")
    for name, n in (("submits retried (Redis down)", run.submit_retries),
                    ("job runs started", sum(started.values())),
                    ("jobs queued again by a monitor (their process died)", requeued),
                    ("copies delivered while the job ran or after it ended, skipped", skipped),
                    ("runs that ended after losing their job (nothing written)", discarded),
                    ("messages sent again by an idle worker (lost or stranded)", resent),
                    ("records left by a submit that failed as Redis stopped (run anyway)",
                     len(extra))):
        print(f"| {name} | {n} |")
    print(f"\nattempts per job: {dict(sorted(attempts.items()))}; submit→final median "
          f"{statistics.median(e2e) if e2e else float('nan'):.1f} s, max "
          f"{max(e2e) if e2e else float('nan'):.1f} s; every job final "
          f"{settled:.0f} s after the faults ended")
    for reason, n in reasons.most_common():
        print(f"failed ({n}): {reason}")
    for j in stuck[:5]:
        print(f"stuck: {j.id} {j.state.value} {j.progress.to_dict()}")
    if a.keep or stuck or lost or different or twice_different:
        print(f"logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    bad = stuck or lost or different or twice_different or any(not j.error for j in failed)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
