"""The memory this process may use: the smallest cgroup limit on its own group and the groups
above it (cgroup v2 ``memory.max``, v1 ``memory.limit_in_bytes``), else the machine's available
memory. Every engine is sized from it (:mod:`greta_core.resources.sizing`).

Only ``/proc`` and ``/sys/fs/cgroup`` are read: no import beyond the standard library, so the
command line can call it before anything heavy loads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a huge page-aligned number


@dataclass(frozen=True)
class MemoryLimit:
    """What this process (with its children) may use, and where that figure comes from."""

    bytes: int
    source: str  # "cgroup v1 memory.limit_in_bytes of /a/b" or "available memory"
    group: Path | None = None  # the cgroup directory whose limit binds (None: no cgroup limit)
    version: int = 0  # 1 or 2 for a cgroup limit, else 0
    available: int | None = None  # the machine's available memory, for reference

    @property
    def from_cgroup(self) -> bool:
        return self.group is not None

    def describe(self) -> str:
        """E.g. "700 MiB (cgroup v1 memory.limit_in_bytes of /user/greta)"."""
        return f"{mib(self.bytes)} ({self.source})"

    def oom_kills(self, machine: bool = True) -> int | None:
        """How many processes the kernel has killed for going over this limit so far: the
        group's ``oom_kill`` counter, else (with ``machine``) the machine's, which counts every
        process on it; None where the kernel does not count them."""
        if self.group is not None:
            name = "memory.events" if self.version == 2 else "memory.oom_control"
            count = _field(self.group / name, "oom_kill")
            if count is not None:
                return count
        return _field(Path("/proc/vmstat"), "oom_kill") if machine else None


def mib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 10 * 2**30 else f"{n / 2**20:,.0f} MiB"


def memory_limit(proc: str | Path = "/proc") -> MemoryLimit:
    """The memory this process may use (see the module docstring)."""
    proc = Path(proc)
    available = available_memory(proc)
    best: tuple[int, str, Path, int] | None = None
    for version, group, mount in _own_groups(proc):
        for path in _up_to_mount(group, mount):
            name = "memory.max" if version == 2 else "memory.limit_in_bytes"
            value = _number(path / name)
            if value is not None and value < UNLIMITED and (best is None or value < best[0]):
                where = "/" + "/".join(path.relative_to(mount.path).parts)
                best = (value, f"cgroup v{version} {name} of {where}", path, version)
    if best is None:
        return MemoryLimit(available, "available memory", available=available)
    value, source, path, version = best
    return MemoryLimit(value, source, path, version, available)


def available_memory(proc: Path = Path("/proc")) -> int:
    """The machine's available memory (``MemAvailable``), or psutil's figure off Linux."""
    meminfo = _field(proc / "meminfo", "MemAvailable:")
    if meminfo is not None:
        return meminfo * 1024
    import psutil

    return int(psutil.virtual_memory().available)


# ------------------------------------------------------------------------------- the cgroups
@dataclass(frozen=True)
class _Mount:
    root: str  # the part of the hierarchy mounted here ("/" outside a container)
    path: Path  # where it is mounted


def _own_groups(proc: Path) -> list[tuple[int, str, _Mount]]:
    """(version, this process's group, the mount that holds it) for the memory controller."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
        mounts = (proc / "self" / "mountinfo").read_text().splitlines()
    except OSError:
        return []
    v1 = [m for m in map(_mount, mounts) if m and m[0] == "cgroup" and "memory" in m[2]]
    v2 = [m for m in map(_mount, mounts) if m and m[0] == "cgroup2"]
    found = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, group = parts
        if "memory" in controllers.split(",") and v1:
            found.append((1, group, v1[0][1]))
        elif parts[0] == "0" and controllers == "" and v2:
            found.append((2, group, v2[0][1]))
    return found


def _mount(line: str) -> tuple[str, _Mount, list[str]] | None:
    """(file system type, the mount, super options) of one ``mountinfo`` line."""
    fields = line.split()
    if " - " not in line or len(fields) < 5:
        return None
    after = line.split(" - ", 1)[1].split()
    if len(after) < 3:
        return None
    return after[0], _Mount(fields[3], Path(_unescape(fields[4]))), after[2].split(",")


def _unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _up_to_mount(group: str, mount: _Mount) -> list[Path]:
    """The directories of ``group`` and of every group above it that the mount shows."""
    root = mount.root.rstrip("/")
    if root and (group == root or group.startswith(root + "/")):
        group = group[len(root):]  # a container sees its own group as the mount's root
    elif root:
        return [mount.path]  # the group lies outside what is mounted: only the mount's limit is seen
    parts = [p for p in group.split("/") if p]
    return [mount.path.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


def _number(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2): no limit


def _field(path: Path, key: str) -> int | None:
    """The number after ``key`` on its line of a "key value" file."""
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == key and parts[1].isdigit():
                return int(parts[1])
    except OSError:
        return None
    return None


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def release_arrow_memory() -> None:
    """Give back to the system the memory pyarrow's allocator keeps for reuse (it keeps what a
    big read used, which counts against a memory limit until the process ends)."""
    import sys

    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()


#: What to lower on each backend when the analysis does not fit in its memory limit.
SMALLER = {
    "pandas": "preprocessing.batch_rows",
    "dask": "scalability.dask_config.blocksize (or n_workers)",
    "spark": "spark.driver.memory in scalability.spark_config (or use fewer cores, spark.master: local[1])",
}


def memory_kill_message(limit: MemoryLimit, kills_before: int | None, backend: str = "auto",
                        what: str = "the analysis", machine: bool = True) -> str | None:
    """One line for a user whose process the kernel killed over ``limit`` (None when its
    ``oom_kill`` counter shows no kill since ``kills_before``; ``machine`` as in
    :meth:`MemoryLimit.oom_kills`)."""
    now = limit.oom_kills(machine)
    if kills_before is None or now is None or now <= kills_before:
        return None
    lower = SMALLER.get(backend) or "; ".join(f"{v} ({k})" for k, v in SMALLER.items())
    return (f"The kernel stopped {what}: it needed more memory than this process may use, "
            f"{limit.describe()}. Raise that limit, or lower {lower}.")
