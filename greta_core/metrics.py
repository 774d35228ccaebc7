"""Per-stage timings, throughput, peak memory and CPU time."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def peak_memory_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class StageClock:
    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}
        self.start = time.perf_counter()
        self.cpu0 = time.process_time()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.stages[name] = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}

    def seconds(self, name: str) -> float:
        return self.stages.get(name, {}).get("seconds", 0.0)

    def metrics(self, rows: int, evaluations: int, search_seconds: float) -> dict[str, Any]:
        wall = time.perf_counter() - self.start
        data_s = self.seconds("ingest") + self.seconds("statistics")
        return {
            "stages": self.stages,
            "wall_seconds": wall,
            "cpu_seconds": time.process_time() - self.cpu0,
            "rows_per_second": rows / data_s if data_s > 0 else None,
            "peak_memory_mb": peak_memory_mb(),
            "evaluations": evaluations,
            "evaluations_per_second": evaluations / search_seconds if search_seconds > 0 else None,
        }
