"""Per-stage timings, throughput, CPU time, peak memory, bytes read and bytes moved.

``StageClock.stage(name)`` times a stage and runs the meters of ``greta_core.resources``
around it: this process always, and the backend's worker processes once ``attach`` has
given their meter. Each stage's entry carries every key of ``resources.STAGE_KEYS``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("greta")


def peak_memory_mb() -> float:
    """This program's peak resident size so far (see ``resources.driver.max_rss_bytes``)."""
    from greta_core.resources.driver import max_rss_bytes

    return max_rss_bytes() / (1024 * 1024)


class StageClock:
    def __init__(self, measure: bool = True) -> None:
        from greta_core.resources import DriverMeter

        self.stages: dict[str, dict[str, Any]] = {}
        self.start = time.perf_counter()
        self.cpu0 = time.process_time()
        self.driver = DriverMeter() if measure else None
        self.workers: Any = None

    def attach(self, meter: Any) -> None:
        """Measure the backend's worker processes too, from the next stage on."""
        self.workers = meter

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0, c0 = time.perf_counter(), time.process_time()
        driver = self.driver.begin() if self.driver else None
        workers, meter = self._begin_workers()
        try:
            yield
        finally:
            entry: dict[str, Any] = {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}
            entry.update(_blank())
            if driver is not None and self.driver is not None:
                entry.update(self.driver.end(driver))
            if meter is not None:
                entry.update(_combine(entry, self._end_workers(meter, workers)))
            self.stages[name] = entry

    def _begin_workers(self) -> tuple[Any, Any]:
        meter = self.workers
        if meter is None:
            return None, None
        try:
            return meter.begin(), meter
        except Exception:  # noqa: BLE001 - metrics never fail an analysis
            log.debug("worker metrics unavailable", exc_info=True)
            return None, None

    @staticmethod
    def _end_workers(meter: Any, token: Any) -> dict[str, Any]:
        try:
            return dict(meter.end(token))
        except Exception:  # noqa: BLE001 - metrics never fail an analysis
            log.debug("worker metrics unavailable", exc_info=True)
            return {}

    def seconds(self, name: str) -> float:
        return float(self.stages.get(name, {}).get("seconds", 0.0))

    def close(self) -> None:
        if self.driver is not None:
            self.driver.close()

    def metrics(self, rows: int, evaluations: int, search_seconds: float) -> dict[str, Any]:
        wall = time.perf_counter() - self.start
        data_s = self.seconds("ingest") + self.seconds("statistics")
        out = {
            "stages": self.stages,
            "wall_seconds": wall,
            "cpu_seconds": time.process_time() - self.cpu0,
            "rows_per_second": rows / data_s if data_s > 0 else None,
            "peak_memory_mb": peak_memory_mb(),
            "evaluations": evaluations,
            "evaluations_per_second": evaluations / search_seconds if search_seconds > 0 else None,
        }
        out.update(totals(self.stages))
        return out


def _blank() -> dict[str, Any]:
    return {"workers_cpu_seconds": None, "driver_peak_memory_mb": None, "workers_peak_memory_mb": None,
            "bytes_read": None, "bytes_moved": 0, "network_bytes": 0}


def _combine(driver: dict[str, Any], workers: dict[str, Any]) -> dict[str, Any]:
    """The workers' figures, with bytes read added to the driver's."""
    out = dict(workers)
    if "bytes_read" in workers:
        mine, theirs = driver.get("bytes_read"), workers["bytes_read"]
        out["bytes_read"] = None if mine is None and theirs is None else (mine or 0) + (theirs or 0)
    return out


def totals(stages: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Whole-run figures from the stages: sums of CPU and bytes, the largest worker peak."""
    def total(key: str) -> float | None:
        values = [s.get(key) for s in stages.values() if s.get(key) is not None]
        return sum(values) if values else None

    peaks = [s["workers_peak_memory_mb"] for s in stages.values() if s.get("workers_peak_memory_mb") is not None]
    return {"workers_cpu_seconds": total("workers_cpu_seconds"), "bytes_read": total("bytes_read"),
            "bytes_moved": total("bytes_moved"), "network_bytes": total("network_bytes"),
            "workers_peak_memory_mb": max(peaks) if peaks else None}
