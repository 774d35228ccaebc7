"""Per-stage resource usage of this process: CPU seconds, peak memory and bytes read are
measured per stage, not per run (the engines' worker figures are tested with the engines, in
tests/core/backends)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from greta_core.metrics import StageClock, totals
from greta_core.resources import STAGE_KEYS

MIB = 2**20


def test_each_stage_has_its_own_peak_memory_cpu_and_bytes_read(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(np.random.default_rng(0).bytes(8 * MIB))
    clock = StageClock()
    try:
        with clock.stage("before"):
            pass
        with clock.stage("big"):
            block = np.ones(300 * MIB // 8)  # 300 MiB, every page touched
            block[::512] += 1.0
            del block
        with clock.stage("read"):
            assert len(data.read_bytes()) == 8 * MIB
        with clock.stage("busy"):
            t0 = time.process_time()
            while time.process_time() - t0 < 0.3:
                sum(range(10_000))
    finally:
        clock.close()
    st = clock.stages
    for entry in st.values():
        assert set(STAGE_KEYS) <= set(entry)
        assert entry["workers_cpu_seconds"] is None and entry["bytes_moved"] == 0
    assert st["big"]["driver_peak_memory_mb"] >= st["before"]["driver_peak_memory_mb"] + 250
    assert st["read"]["driver_peak_memory_mb"] < st["big"]["driver_peak_memory_mb"] - 250  # not the run's peak
    assert st["read"]["bytes_read"] >= 8 * MIB > st["before"]["bytes_read"]
    assert st["busy"]["cpu_seconds"] >= 0.3 > st["read"]["cpu_seconds"]
    run = totals(st)
    assert run["bytes_read"] == sum(e["bytes_read"] for e in st.values()) and run["workers_cpu_seconds"] is None


def test_the_peak_is_this_programs_own_not_that_of_the_process_it_was_started_from() -> None:
    """``ru_maxrss`` survives ``exec``: a small run started from a big process (a notebook, a
    job worker, this test) would report its parent's peak. The peak is the program's own, as
    the kernel's high-water mark of its memory (VmHWM) gives it."""
    import subprocess
    import sys

    ballast = np.ones(600 * MIB // 8)  # this process holds 600 MiB more when it starts the child
    code = ("from greta_core.metrics import peak_memory_mb; from greta_core.resources.driver import max_rss_bytes; "
            "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024; "
            "print(peak_memory_mb(), max_rss_bytes() / 2**20, hwm)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    del ballast
    peak, max_rss, own = map(float, proc.stdout.split())
    assert own < 300  # the child itself holds far less than its parent
    assert peak == pytest.approx(own, abs=2) and max_rss == pytest.approx(own, abs=2), (peak, max_rss, own)
