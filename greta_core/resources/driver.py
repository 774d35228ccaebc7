"""This process' share of a stage: CPU seconds, peak resident memory, bytes read.

Peak memory is exact when the stage set a new peak for the process (its high-water mark grew
during it); otherwise it is the largest resident size seen by a sampler thread (every 50 ms)
during the stage. Bytes read are what the process asked the kernel to read (``read_chars`` of
``/proc/self/io``: files, pipes; not sockets), through psutil.
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from typing import Any, Protocol

MB = 1024 * 1024
SAMPLE_EVERY = 0.05


class Meter(Protocol):
    """Measures some processes over one stage: ``end(begin())`` is that stage's usage."""

    def begin(self) -> Any: ...

    def end(self, token: Any) -> dict[str, Any]: ...


def max_rss_bytes() -> int:
    """The process' peak resident size so far: the kernel's high-water mark of this program
    (``VmHWM`` of /proc/self/status) where there is one, since ``ru_maxrss`` survives ``exec``
    and so also holds the peak of the process this one was started from; else ``ru_maxrss``."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)


def read_chars(proc: Any) -> int | None:
    try:
        return int(proc.io_counters().read_chars)
    except Exception:  # noqa: BLE001 - not on every platform (macOS has no io counters)
        return None


class PeakSampler:
    """A daemon thread that keeps the largest resident size seen since the last ``reset``."""

    def __init__(self, proc: Any, every: float = SAMPLE_EVERY) -> None:
        self.proc, self.every = proc, every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="greta-rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> int:
        try:
            rss = int(self.proc.memory_info().rss)
        except Exception:  # noqa: BLE001 - best effort
            return self.peak
        self.peak = max(self.peak, rss)
        return rss

    def reset(self) -> None:
        self.peak = 0
        self.sample()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)


class DriverMeter:
    """This process: its CPU time, peak memory and bytes read over each stage."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.sampler = PeakSampler(self.proc)

    def begin(self) -> dict[str, Any]:
        self.sampler.reset()
        return {"cpu": time.process_time(), "maxrss": max_rss_bytes(), "read": read_chars(self.proc)}

    def end(self, token: dict[str, Any]) -> dict[str, Any]:
        rss_now = self.sampler.sample()
        maxrss = max_rss_bytes()
        peak = maxrss if maxrss > token["maxrss"] else max(self.sampler.peak, rss_now)
        read = read_chars(self.proc)
        return {"cpu_seconds": time.process_time() - token["cpu"], "driver_peak_memory_mb": peak / MB,
                "bytes_read": read - token["read"] if read is not None and token["read"] is not None else None}

    def close(self) -> None:
        self.sampler.close()


__all__ = ["DriverMeter", "Meter", "PeakSampler", "max_rss_bytes", "read_chars"]
