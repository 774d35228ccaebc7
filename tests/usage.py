"""What the kernel counted over a block of code, for this process and for worker processes:
the figures an analysis reports about itself are checked against these.

    with Usage(workers=lambda: [pid, ...]) as outside:
        doc = analyze(...)
    outside.cpu, outside.read, outside.maxrss, outside.workers_cpu, ...

``figures()`` are the same as a dict (JSON, from another process), ``measured(figures)`` them back.

Worker CPU includes the CPU of the children a worker has reaped (a Spark executor's Python
workers); a worker that appears during the block counts from zero.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import psutil

MIB = 2**20


@dataclass(frozen=True)
class Counters:
    cpu: float  # seconds, with the reaped children's
    read: int  # read_chars
    rss: float  # MiB
    hwm: float  # peak resident size (VmHWM), MiB


def counters(pid: int) -> Counters | None:
    try:
        p = psutil.Process(pid)
        t = p.cpu_times()
        read = p.io_counters().read_chars
        rss = p.memory_info().rss / MIB
        with open(f"/proc/{pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (psutil.Error, OSError, StopIteration):
        return None  # gone
    return Counters(t.user + t.system + t.children_user + t.children_system, read, rss, hwm)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    try:
        p = psutil.Process(pid)
        return [pid] + [c.pid for c in p.children(recursive=True)]
    except psutil.Error:
        return []


def own_peak() -> float:
    """This program's peak resident size so far, MiB: VmHWM (``ru_maxrss`` would also hold the
    peak of the process it was started from)."""
    c = counters(os.getpid())
    assert c is not None
    return c.hwm


class Usage:
    def __init__(self, workers: Callable[[], list[int]] | None = None) -> None:
        self.find = workers

    def __enter__(self) -> Usage:
        self.proc = psutil.Process()
        self.maxrss0 = own_peak()
        self.rss0 = self.proc.memory_info().rss / MIB
        self.w0 = {pid: c for pid in (self.find() if self.find else []) if (c := counters(pid))}
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        self.read0 = self.proc.io_counters().read_chars
        return self

    def __exit__(self, *exc: object) -> None:
        self.read = self.proc.io_counters().read_chars - self.read0
        self.wall, self.cpu = time.perf_counter() - self.t0, time.process_time() - self.cpu0
        self.maxrss = own_peak()
        self.rss = self.proc.memory_info().rss / MIB
        w1 = {pid: c for pid in (self.find() if self.find else []) if (c := counters(pid))}
        zero = Counters(0.0, 0, 0.0, 0.0)
        self.workers_cpu = sum(max(c.cpu - self.w0.get(pid, zero).cpu, 0.0) for pid, c in w1.items())
        self.workers_read = sum(max(c.read - self.w0.get(pid, zero).read, 0) for pid, c in w1.items())
        self.workers_hwm = max((c.hwm for c in w1.values()), default=0.0)
        self.workers_rss0 = min((c.rss for c in self.w0.values()), default=0.0)
        self.workers = w1

    FIGURES = ("maxrss0", "maxrss", "rss0", "rss", "wall", "cpu", "read", "workers_cpu", "workers_read",
               "workers_hwm", "workers_rss0")

    def figures(self) -> dict[str, Any]:
        return {"workers_measured": self.find is not None, **{k: getattr(self, k) for k in self.FIGURES}}


def peak_bounds(outside: Any) -> tuple[float, float]:
    """Where the run's own peak (MiB) must lie: between this program's peak before and after
    it, within 1% (VmHWM is the larger of a lazily updated high-water mark and the resident
    size now, so two reads a moment apart may differ a little either way)."""
    return 0.99 * outside.maxrss0 - 1.0, 1.01 * outside.maxrss + 1.0


def measured(figures: dict[str, Any]) -> Any:
    """A ``Usage``'s figures, as attributes (``find`` set when worker processes were measured)."""
    return SimpleNamespace(find=True if figures["workers_measured"] else None,
                           **{k: figures[k] for k in Usage.FIGURES})
