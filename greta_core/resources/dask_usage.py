"""Dask workers' share of a stage, from each worker process' own counters.

At the start and end of a stage every worker reports (``Client.run``) its CPU time
(``getrusage``), peak resident size, bytes read (``read_chars``), and the bytes it sent to other
processes (``transfer_outgoing_bytes_total``: results fetched by other workers, the scheduler
or the client, counted at their ``sizeof``; of which Greta's summaries, the rest being rows that
Dask moved to balance work). Peak memory per worker is the larger of the
samples the worker's own system monitor took during the stage and, when the stage set a new
peak for that process, its ``ru_maxrss``. A worker restarted during the stage counts from zero.
On a shared cluster the figures include other clients' work on the same workers.
"""

from __future__ import annotations

from typing import Any

MB = 1024 * 1024


def _snapshot(dask_worker: Any, since: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """What one worker reports (runs in the worker process)."""
    import os
    import resource
    import time

    import psutil

    proc = psutil.Process()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    try:
        read = int(proc.io_counters().read_chars)
    except Exception:  # noqa: BLE001 - no io counters on this platform
        read = None
    monitor = getattr(dask_worker, "monitor", None)
    out = {"pid": os.getpid(), "cpu": usage.ru_utime + usage.ru_stime, "maxrss": usage.ru_maxrss * 1024,
           "rss": int(proc.memory_info().rss), "read": read,
           "sent": int(getattr(dask_worker, "transfer_outgoing_bytes_total", 0)),
           "count": int(getattr(monitor, "count", 0)), "time": time.time()}
    start = (since or {}).get(dask_worker.address)
    if start is not None:
        if monitor is not None:
            samples = [m for m in monitor.range_query(start["count"]).get("memory", []) if m is not None]
            out["sampled_peak"] = max(samples, default=0)
        out["summaries"] = sum(n for entry in list(getattr(dask_worker, "transfer_outgoing_log", ()))
                               if entry.get("start", 0) >= start["time"]
                               for key, n in entry.get("keys", {}).items() if "greta-" in str(key))
    return out


class DaskMeter:
    """The worker processes of a distributed Dask cluster."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def begin(self) -> dict[str, dict[str, Any]]:
        return self.client.run(_snapshot)

    def end(self, token: dict[str, dict[str, Any]]) -> dict[str, Any]:
        since = {addr: {"count": snap["count"], "time": snap["time"]} for addr, snap in token.items()}
        now = self.client.run(_snapshot, since=since)
        cpu = read = sent = summaries = 0.0
        peaks = []
        for addr, snap in now.items():
            old = token.get(addr)
            if old is None or old["pid"] != snap["pid"]:  # a new or restarted worker
                old = {"cpu": 0.0, "maxrss": 0, "read": 0, "sent": 0}
            cpu += max(snap["cpu"] - old["cpu"], 0.0)
            if snap["read"] is not None and old["read"] is not None:
                read += max(snap["read"] - old["read"], 0)
            sent += max(snap["sent"] - old["sent"], 0)
            summaries += snap.get("summaries", 0)
            peak = snap["maxrss"] if snap["maxrss"] > old["maxrss"] else max(snap.get("sampled_peak", 0), snap["rss"])
            peaks.append(peak)
        return {"workers_cpu_seconds": cpu, "workers_peak_memory_mb": max(peaks) / MB if peaks else None,
                "workers": len(now), "bytes_read": int(read), "bytes_moved": int(sent), "network_bytes": int(sent),
                "moved": {"worker_transfers": int(sent), "summaries": int(min(summaries, sent)),
                          "rows": int(max(sent - summaries, 0))}}


__all__ = ["DaskMeter"]
