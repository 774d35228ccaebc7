"""``greta run`` under watch: the analysis runs in a child process, and the parent says in one
line how it ended when it was killed (the memory-limit case itself, with a real cgroup, is in
tests/core/backends/test_backend_out_of_core.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greta_cli.watch import memory_kills_explained
from greta_core.errors import DataFormatError, ScalabilityError
from greta_core.resources.memory import MemoryLimit

GRETA = str(Path(sys.executable).with_name("greta"))


def counting_limit(tmp_path: Path, kills: int) -> MemoryLimit:
    (tmp_path / "memory.oom_control").write_text(f"oom_kill_disable 0\noom_kill {kills}\n")
    return MemoryLimit(512 * 2**20, "cgroup v1 memory.limit_in_bytes of /job", tmp_path, 1)


def test_an_engine_error_after_a_kernel_kill_names_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("greta_core.resources.memory.memory_limit", lambda: counting_limit(tmp_path, 4))
    with pytest.raises(ScalabilityError, match=r"512 MiB \(cgroup v1 .* of /job\).*spark.driver.memory") as e:
        with memory_kills_explained("spark"):
            counting_limit(tmp_path, 5)  # the kernel killed the JVM ...
            raise ConnectionRefusedError(111, "Connection refused")  # ... and py4j lost it
    assert isinstance(e.value.__cause__, ConnectionRefusedError)


def test_other_errors_pass_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("greta_core.resources.memory.memory_limit", lambda: counting_limit(tmp_path, 4))
    with pytest.raises(ValueError, match="not a memory kill"), memory_kills_explained("dask"):
        raise ValueError("not a memory kill")
    with pytest.raises(DataFormatError, match="not a text file"), memory_kills_explained("dask"):
        counting_limit(tmp_path, 5)  # another process in the group was killed meanwhile
        raise DataFormatError("not a text file")  # the user's input is still what is wrong


def test_only_the_groups_own_counter_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    # no cgroup limit: the machine's counter counts everyone's processes, so it proves nothing
    machine = MemoryLimit(8 * 2**30, "available memory")
    monkeypatch.setattr("greta_core.resources.memory.memory_limit", lambda: machine)
    monkeypatch.setattr(MemoryLimit, "oom_kills", lambda self, machine=True: 9 if machine else None)
    with pytest.raises(ConnectionRefusedError), memory_kills_explained("spark"):
        raise ConnectionRefusedError(111, "Connection refused")


def planted_csv(path: Path, rows: int) -> Path:
    from greta_core.datasets import write_planted_csv

    write_planted_csv(str(path), rows, "regression", 1)
    return path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the watch needs fork")
def test_a_killed_analysis_is_reported_and_its_partial_output_removed(tmp_path: Path) -> None:
    import psutil

    data = planted_csv(tmp_path / "data.csv", 400_000)
    out = tmp_path / "results.json"
    proc = subprocess.Popen([GRETA, "run", "--data", str(data), "--target", "y", "-o", str(out), "-q"],
                            stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while not parent.children() and time.monotonic() < deadline:
        time.sleep(0.05)
    (child,) = parent.children()
    time.sleep(1.0)  # well into the analysis
    (tmp_path / f".{out.name}.abc123").write_text("{")  # what an interrupted atomic write leaves
    child.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [err.strip()] and err.startswith("greta: error: The analysis was killed (SIGKILL)")
    assert "may use" in err and "preprocessing.batch_rows" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the watch needs fork")
def test_the_watch_keeps_the_exit_status_and_the_output(tmp_path: Path) -> None:
    data = planted_csv(tmp_path / "data.csv", 2_000)
    bad = subprocess.run([GRETA, "run", "--data", str(data), "--target", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("greta: error:") and "nope" in bad.stderr
    out = tmp_path / "results.json"
    good = subprocess.run([GRETA, "run", "--data", str(data), "--target", "y", "-o", str(out)],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert out.exists() and "y" in good.stdout  # the child's summary reaches the terminal
