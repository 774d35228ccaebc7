"""Spark executors' share of a stage: Spark's own task metrics, and the Python workers' reports.

The JVM side comes from the application's status store (what the Spark UI and its REST API
show, read through the driver's JVM, so it works with the UI off): for every Spark stage that
ran during the Greta stage, the executors' task CPU time, bytes read from storage
(``inputBytes``), shuffle bytes written and read, the task results sent to the driver
(``resultSize``), and the executors' peak JVM memory (heap + off-heap, or the JVM's resident
size when ``spark.executor.processTreeMetrics.enabled`` is on).

The Python workers that run Greta's per-batch code are separate processes that Spark does not
measure: each task adds its own CPU seconds, peak resident size and the Arrow bytes it took
from and gave back to the JVM to an accumulator (:class:`TaskUsage`).
"""

from __future__ import annotations

import resource
import time
from typing import Any

from pyspark.accumulators import AccumulatorParam

MB = 1024 * 1024
FIELDS = ("cpu", "peak", "to_python", "from_python", "tasks")


class UsageParam(AccumulatorParam):
    """(CPU seconds, peak bytes, bytes to Python, bytes from Python, tasks): sums, and a maximum."""

    def zero(self, value: Any) -> tuple[float, int, int, int, int]:
        return (0.0, 0, 0, 0, 0)

    def addInPlace(self, a: Any, b: Any) -> tuple[float, int, int, int, int]:  # noqa: N802 - pyspark's name
        return (a[0] + b[0], max(a[1], b[1]), a[2] + b[2], a[3] + b[3], a[4] + b[4])


class TaskUsage:
    """Measures one task in a Python worker; ``took``/``gave`` count the Arrow bytes in and out.
    The peak is exact when the task set a new peak for the worker process (``ru_maxrss``),
    else the largest resident size seen between batches."""

    def __init__(self, accumulator: Any) -> None:
        self.acc = accumulator
        self.bytes_in = self.bytes_out = 0

    def __enter__(self) -> TaskUsage:
        self.cpu0 = time.process_time()
        self.max0 = _maxrss()
        self.peak = _rss()
        return self

    def took(self, nbytes: int) -> None:
        self.bytes_in += int(nbytes)
        self.peak = max(self.peak, _rss())

    def gave(self, nbytes: int) -> None:
        self.bytes_out += int(nbytes)
        self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        if self.acc is None:
            return
        top = _maxrss()
        peak = top if top > self.max0 else max(self.peak, _rss())
        self.acc.add((time.process_time() - self.cpu0, peak, self.bytes_in, self.bytes_out, 1))


def _maxrss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        return 0


class SparkMeter:
    """The executors of a classic Spark session, and the Python workers of ``backend``."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.sc = backend.spark.sparkContext

    def begin(self) -> dict[str, Any]:
        self._settle()
        acc = self.sc.accumulator((0.0, 0, 0, 0, 0), UsageParam())
        self.backend.task_usage = acc  # the backend's Python tasks report to it from now on
        return {"last_stage": max((s.stageId() for s in self._stages()), default=-1), "acc": acc}

    def end(self, token: dict[str, Any]) -> dict[str, Any]:
        self._settle()
        sums = dict.fromkeys(("cpu_ns", "input", "shuffle_read", "shuffle_remote", "shuffle_write", "result"), 0)
        jvm_peak = 0
        for s in self._stages():
            if s.stageId() <= token["last_stage"]:
                continue
            sums["cpu_ns"] += s.executorCpuTime()
            sums["input"] += s.inputBytes()
            sums["shuffle_read"] += s.shuffleReadBytes()
            sums["shuffle_remote"] += s.shuffleRemoteBytesRead()
            sums["shuffle_write"] += s.shuffleWriteBytes()
            sums["result"] += s.resultSize()
            jvm_peak = max(jvm_peak, _jvm_peak(s))
        cpu, py_peak, to_py, from_py, tasks = token["acc"].value
        moved = {"shuffle_write": int(sums["shuffle_write"]), "shuffle_read": int(sums["shuffle_read"]),
                 "shuffle_remote_read": int(sums["shuffle_remote"]), "task_results": int(sums["result"]),
                 "to_python": int(to_py), "from_python": int(from_py)}
        network = moved["shuffle_read"] + moved["task_results"]
        peaks = [p for p in (jvm_peak, py_peak) if p]
        return {"workers_cpu_seconds": sums["cpu_ns"] / 1e9 + cpu,
                "workers_peak_memory_mb": max(peaks) / MB if peaks else None,
                "executor_jvm_peak_memory_mb": jvm_peak / MB if jvm_peak else None,
                "python_workers_peak_memory_mb": py_peak / MB if py_peak else None,
                "python_tasks": int(tasks), "bytes_read": int(sums["input"]),
                "bytes_moved": network + moved["to_python"] + moved["from_python"], "network_bytes": network,
                "moved": moved}

    def _store(self) -> Any:
        return self.sc._jsc.sc().statusStore()

    def _stages(self) -> list[Any]:
        gateway = self.sc._gateway
        seq = self._store().stageList(None, False, False, gateway.new_array(gateway.jvm.double, 0), None)
        return [seq.apply(i) for i in range(seq.size())]

    def _settle(self) -> None:
        """Let the listener bus deliver the finished tasks' metrics to the status store."""
        try:
            self.sc._jsc.sc().listenerBus().waitUntilEmpty(5000)
        except Exception:  # noqa: BLE001 - best effort: figures may then lag by a few tasks
            pass


def _jvm_peak(stage: Any) -> int:
    metrics = stage.peakExecutorMetrics()
    if not metrics.isDefined():
        return 0
    m = metrics.get()
    rss = m.getMetricValue("ProcessTreeJVMRSSMemory")
    return int(rss) if rss > 0 else int(m.getMetricValue("JVMHeapMemory") + m.getMetricValue("JVMOffHeapMemory"))


__all__ = ["SparkMeter", "TaskUsage", "UsageParam"]
