#!/usr/bin/env python3
"""Load figure of background jobs: N jobs submitted at once to W workers. Prints a table.

usage: python bench/jobs_load.py [--jobs 30] [--workers 2] [--rows 3000] [--cli-submits 5]
                                 [--broker redis|embedded|both]

For each broker it starts what it needs on loopback (a private `redis-server` on a free
port; the embedded broker in a temporary GRETA_HOME), W `greta worker` processes
(concurrency 1 each), submits N small analyses (y = 2*x1 + noise, 4 features, pop 10,
3 generations) in a burst through `JobManager.submit_analysis_job`, waits until every job
is final, checks none was lost or run twice, and stops everything. It also times
`greta submit` as a user types it (a fresh process each, imports included).

Figures: throughput (jobs / wall time from the first submit to the last finish), submit
latency (median, max) in process and on the command line, and time from submit to finish.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["hypothesis_search.pop_size=10", "hypothesis_search.num_generations=3"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_data(path: Path, rows: int) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 4))
    y = 2 * x[:, 0] + rng.normal(size=rows)
    lines = ["x1,x2,x3,x4,y"] + [",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def start_redis(port: int) -> subprocess.Popen:
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    proc = subprocess.Popen([exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    for _ in range(200):
        try:
            client.ping()
            return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"redis-server did not start on port {port}")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen([sys.executable, "-m", "greta_cli.app", "worker", "--concurrency",
                             "1", "--loglevel", "info"], env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, cwd=str(ROOT))
    out.close()
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"worker did not start; see {log}")
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen, group: bool) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.terminate()  # the main process: a warm shutdown
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
        proc.wait(10)
    if group:
        try:  # pool processes left behind
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run(broker: str, a: argparse.Namespace, tmp: Path, data: Path) -> dict[str, float]:
    home = tmp / f"home-{broker}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    env.update(GRETA_HOME=str(home), GRETA_AUTOSTART_WORKER="0", OPENBLAS_NUM_THREADS="1")
    redis_proc = None
    if broker == "redis":
        port = free_port()
        redis_proc = start_redis(port)
        env["GRETA_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ.update({k: v for k, v in env.items() if k.startswith("GRETA")})
    if broker != "redis":
        os.environ.pop("GRETA_BROKER_URL", None)
    logs = [tmp / f"{broker}-worker{i}.log" for i in range(a.workers)]
    workers = []
    try:
        workers = [start_worker(env, log) for log in logs]
        from greta_cli.config import load_config
        from greta_cli.job_management.job_manager import JobManager

        cfg = load_config(None, [f"data.path={data}", "data.target=y", *TINY])
        manager = JobManager(cfg, autostart=False)
        manager.submit_analysis_job(cfg)  # warm up (imports, connections); not counted
        time.sleep(2)
        latencies, ids = [], []
        t0 = time.perf_counter()
        for _ in range(a.jobs):
            s = time.perf_counter()
            ids.append(manager.submit_analysis_job(cfg).id)
            latencies.append(time.perf_counter() - s)
        want = set(ids)
        while True:
            jobs = {j.id: j for j in manager.list_jobs() if j.id in want}
            if len(jobs) == len(want) and all(j.state.final for j in jobs.values()):
                break
            if time.perf_counter() - t0 > 600:
                sys.exit("jobs did not finish within 600 s")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        states = Counter(j.state.value for j in jobs.values())
        text = "".join(log.read_text(errors="replace") for log in logs)
        runs = Counter(re.findall(r"job ([0-9a-f-]{36}): attempt \d+ started", text))
        lost = len(want - set(runs))
        twice = sum(1 for i in want if runs[i] > 1)
        e2e = [jobs[i].finished_at - jobs[i].submitted_at for i in ids]
        cli = []
        for _ in range(a.cli_submits):
            s = time.perf_counter()
            subprocess.run([sys.executable, "-m", "greta_cli.app", "submit", "--data", str(data),
                            "--target", "y", *[x for kv in TINY for x in ("--set", kv)]],
                           env=env, check=True, capture_output=True)
            cli.append(time.perf_counter() - s)
        return {"succeeded": states.get("succeeded", 0), "lost": lost, "twice": twice,
                "wall": wall, "throughput": a.jobs / wall,
                "sub_med": statistics.median(latencies) * 1000, "sub_max": max(latencies) * 1000,
                "cli_med": statistics.median(cli) if cli else float("nan"),
                "cli_max": max(cli) if cli else float("nan"),
                "e2e_med": statistics.median(e2e), "e2e_max": max(e2e)}
    finally:
        for w in workers:
            stop(w, group=True)
        if redis_proc is not None:
            stop(redis_proc, group=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--cli-submits", type=int, default=5)
    ap.add_argument("--broker", choices=["redis", "embedded", "both"], default="both")
    a = ap.parse_args()
    brokers = ["redis", "embedded"] if a.broker == "both" else [a.broker]
    with tempfile.TemporaryDirectory(prefix="greta-jobs-bench-") as tmp:
        data = Path(tmp) / "data.csv"
        make_data(data, a.rows)
        rows = [(b, run(b, a, Path(tmp), data)) for b in brokers]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{a.jobs} jobs, {a.workers} workers (concurrency 1 each), {a.rows} rows a job, "
          f"{os.cpu_count()} cores, load average {load:.1f}")
    print("| broker | ok | lost | run twice | wall s | jobs/s | submit median ms | "
          "submit max ms | CLI submit median s | CLI submit max s | submit→done median s "
          "| submit→done max s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b, r in rows:
        print(f"| {b} | {r['succeeded']}/{a.jobs} | {r['lost']} | {r['twice']} | "
              f"{r['wall']:.1f} | {r['throughput']:.2f} | {r['sub_med']:.1f} | "
              f"{r['sub_max']:.1f} | {r['cli_med']:.2f} | {r['cli_max']:.2f} | "
              f"{r['e2e_med']:.1f} | {r['e2e_max']:.1f} |")


if __name__ == "__main__":
    main()
