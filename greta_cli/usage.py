"""Per-stage resource usage as a plain-text table (``greta run -v``, ``greta status -v``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HEADERS = ("stage", "time", "CPU driver", "CPU workers", "peak driver", "peak workers", "read", "moved",
           "network")


def size(n: Any) -> str:
    from greta_core.report._format import fmt_bytes

    return "-" if n is None else fmt_bytes(n)


def _seconds(v: Any) -> str:
    return "-" if v is None else f"{float(v):.2f} s"


def _mb(v: Any) -> str:
    return "-" if v is None else f"{float(v):,.0f} MiB"


def stage_rows(stages: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, ...]]:
    rows = []
    for name, s in stages.items():
        rows.append((name, _seconds(s.get("seconds")), _seconds(s.get("cpu_seconds")),
                     _seconds(s.get("workers_cpu_seconds")), _mb(s.get("driver_peak_memory_mb")),
                     _mb(s.get("workers_peak_memory_mb")), size(s.get("bytes_read")), size(s.get("bytes_moved")),
                     size(s.get("network_bytes"))))
    return rows


def stage_table(stages: Mapping[str, Mapping[str, Any]] | None) -> str:
    """One line per stage: time, CPU seconds, peak memory, bytes read, bytes moved (of which
    over the network on a cluster); "-" where a part does not exist (no worker processes)."""
    if not stages:
        return "resource usage: none recorded yet"
    rows = [HEADERS, *stage_rows(stages)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    return "\n".join(lines)


def search_line(search: Mapping[str, Any] | None, seconds: Any = None) -> str | None:
    """What the genetic search was estimated to take before it ran, and whether its time
    budget stopped it (None for the exact search)."""
    if not search or search.get("estimate_seconds") is None:
        return None
    from greta_core.hypothesis_search.cost import duration

    text = f"search: estimated {duration(search['estimate_seconds'])} before it ran"
    if seconds is not None:
        text += f", took {duration(float(seconds))}"
    if search.get("max_minutes"):
        text += f"; time budget {search['max_minutes']:g} min (hypothesis_search.max_minutes)"
        text += ": the search stopped after its time budget" if search.get("stopped_by_budget") else ""
    return text


__all__ = ["search_line", "size", "stage_table"]
