"""Resource usage per stage of an analysis: CPU seconds, peak memory, bytes read, bytes moved.

A :class:`Meter` measures one part of the system over a stage: :class:`DriverMeter` this
process (always), and a backend's meter its worker processes — Dask workers from their own
counters, Spark executors from Spark's status store and the Python workers' own reports
(``meter_for(backend)``). ``greta_core.metrics.StageClock`` runs them around each stage and
merges what they measured into ``metrics["stages"][name]`` (docs/backends.md, "Reading the
metrics").
"""

from __future__ import annotations

from typing import Any

from greta_core.resources.driver import DriverMeter, Meter

#: Keys every stage carries (None where a part does not exist, e.g. no worker processes).
STAGE_KEYS = ("seconds", "cpu_seconds", "workers_cpu_seconds", "driver_peak_memory_mb",
              "workers_peak_memory_mb", "bytes_read", "bytes_moved", "network_bytes")


def meter_for(backend: Any) -> Meter | None:
    """The meter of ``backend``'s worker processes, or None when all work runs in this process
    (pandas, Dask's threaded scheduler)."""
    make = getattr(backend, "usage_meter", None)
    return make() if callable(make) else None


__all__ = ["STAGE_KEYS", "DriverMeter", "Meter", "meter_for"]
