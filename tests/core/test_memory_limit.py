"""The memory this process may use, read from a fake /proc and cgroup tree (cgroup v1 and v2,
nested groups, a container's view), and the engine sizes made from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from greta_core.resources.memory import UNLIMITED, MemoryLimit, memory_kill_message, memory_limit
from greta_core.resources.sizing import DRIVER, PARTITION_FACTOR, SPARK_MIN_HEAP, engine_sizes

MiB = 2**20


def fake_proc(tmp: Path, cgroup: str, mounts: list[str], meminfo_kb: int = 8 * 2**20) -> Path:
    proc = tmp / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "cgroup").write_text(cgroup)
    (proc / "self" / "mountinfo").write_text("\n".join(mounts) + "\n")
    (proc / "meminfo").write_text(f"MemTotal: 16000000 kB\nMemAvailable: {meminfo_kb} kB\n")
    (proc / "vmstat").write_text("pgfault 10\noom_kill 7\n")
    return proc


def v1_mount(path: Path, root: str = "/") -> str:
    return f"35 31 0:32 {root} {path} rw,relatime shared:9 - cgroup cgroup rw,memory"


def v2_mount(path: Path, root: str = "/") -> str:
    return f"41 31 0:38 {root} {path} rw,relatime - cgroup2 cgroup2 rw"


def write(path: Path, text: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for line in text.split(";"):
        name, value = line.split("=")
        (path / name).write_text(value + "\n")


def test_v1_the_smallest_limit_above_the_own_group_binds(tmp_path: Path) -> None:
    mem = tmp_path / "memory"
    write(mem, f"memory.limit_in_bytes={UNLIMITED + 4096}")
    write(mem / "slice", f"memory.limit_in_bytes={700 * MiB};memory.oom_control=oom_kill_disable 0\nunder_oom 0\noom_kill 2")
    write(mem / "slice" / "job", f"memory.limit_in_bytes={2048 * MiB}")
    proc = fake_proc(tmp_path, "4:memory:/slice/job\n3:cpu,cpuacct:/\n0::/\n", [v1_mount(mem), "1 0 8:1 / / rw - ext4 /dev/vda rw"])
    got = memory_limit(proc)
    assert got.bytes == 700 * MiB and got.version == 1 and got.group == mem / "slice"
    assert got.source == "cgroup v1 memory.limit_in_bytes of /slice"
    assert got.describe() == "700 MiB (cgroup v1 memory.limit_in_bytes of /slice)"
    assert got.available == 8 * 2**30
    assert got.oom_kills() == 2


def test_v2_max_means_no_limit_and_a_parent_limit_binds(tmp_path: Path) -> None:
    root = tmp_path / "unified"
    write(root / "user.slice", f"memory.max={512 * MiB};memory.events=low 0\nhigh 0\nmax 4\noom 1\noom_kill 1")
    write(root / "user.slice" / "greta.scope", "memory.max=max")
    proc = fake_proc(tmp_path, "0::/user.slice/greta.scope\n", [v2_mount(root)])
    got = memory_limit(proc)
    assert (got.bytes, got.version, got.oom_kills()) == (512 * MiB, 2, 1)
    assert got.source == "cgroup v2 memory.max of /user.slice"


def test_a_container_sees_its_own_group_as_the_mount_root(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    write(root, f"memory.max={1024 * MiB}")
    proc = fake_proc(tmp_path, "0::/docker/abc\n", [v2_mount(root, "/docker/abc")])
    assert memory_limit(proc).bytes == 1024 * MiB


def test_without_a_limit_the_available_memory_is_used(tmp_path: Path) -> None:
    root = tmp_path / "unified"
    write(root, "memory.max=max")
    proc = fake_proc(tmp_path, "0::/\n", [v2_mount(root)], meminfo_kb=3 * 2**20)
    got = memory_limit(proc)
    assert (got.bytes, got.source, got.group) == (3 * 2**30, "available memory", None)
    # no group: the machine's counter, the real /proc/vmstat's (a kill may land in between)
    before = machine_oom_kills()
    kills = got.oom_kills()
    after = machine_oom_kills()
    if before is None:
        assert kills is None
    else:
        assert kills is not None and before <= kills <= after
    assert got.oom_kills(machine=False) is None  # nothing counts for this process alone


def machine_oom_kills() -> int | None:
    """The ``oom_kill`` line of the real /proc/vmstat (None where the kernel has none)."""
    try:
        lines = Path("/proc/vmstat").read_text().splitlines()
    except OSError:
        return None
    return next((int(v) for k, v in (line.split() for line in lines) if k == "oom_kill"), None)


def test_a_limit_above_the_machine_is_still_the_limit_found(tmp_path: Path) -> None:
    # the figure is the cgroup's; the engines are sized from it (the machine's available
    # memory is reported beside it by `greta backends`)
    mem = tmp_path / "memory"
    write(mem / "g", f"memory.limit_in_bytes={64 * 2**30}")
    proc = fake_proc(tmp_path, "9:memory:/g\n", [v1_mount(mem)], meminfo_kb=2**20)
    got = memory_limit(proc)
    assert got.bytes == 64 * 2**30 and got.available == 2**30


def test_the_kill_message_names_the_limit_and_the_setting(tmp_path: Path) -> None:
    group = tmp_path / "g"
    write(group, "memory.oom_control=oom_kill_disable 0\noom_kill 3")
    limit = MemoryLimit(700 * MiB, "cgroup v1 memory.limit_in_bytes of /g", group, 1)
    assert memory_kill_message(limit, 3, "dask") is None  # no kill since
    assert memory_kill_message(limit, None, "dask") is None  # not counted: nothing is claimed
    msg = memory_kill_message(limit, 2, "dask")
    assert msg is not None and "700 MiB (cgroup v1 memory.limit_in_bytes of /g)" in msg
    assert "scalability.dask_config.blocksize" in msg and "\n" not in msg
    assert "spark.driver.memory" in (memory_kill_message(limit, 2, "spark") or "")
    everything = memory_kill_message(limit, 2, "auto") or ""
    assert all(s in everything for s in ("preprocessing.batch_rows", "blocksize", "spark.driver.memory"))


# ------------------------------------------------------------------------------------ sizing
def sizes(mib: int, cores: int = 2):
    return engine_sizes(MemoryLimit(mib * MiB, "test"), cores)


@pytest.mark.parametrize("mib", [384, 700, 1024, 2048, 4096])
def test_the_engines_fit_in_the_limit(mib: int) -> None:
    s = sizes(mib)
    dask = DRIVER + s.dask_threads * s.dask_blocksize * PARTITION_FACTOR
    assert dask <= mib * MiB or s.dask_blocksize == MiB  # the least partition, on the least memory
    assert s.batch_rows <= 65536


def test_more_memory_never_gets_smaller_sizes() -> None:
    prev = None
    for mib in (256, 384, 700, 1024, 1536, 2048, 3072, 8192, 65536):
        s = sizes(mib)
        now = (s.batch_rows, s.dask_threads * s.dask_blocksize, s.dask_workers * s.dask_worker_memory,
               s.spark_heap, s.spark_cores)
        if prev is not None:
            assert all(a >= b for a, b in zip(now, prev)), (mib, now, prev)
        prev = now


def test_a_large_machine_keeps_the_engines_defaults() -> None:
    s = sizes(24 * 1024, cores=8)
    assert (s.batch_rows, s.dask_threads, s.dask_blocksize) == (65536, 8, 64 * MiB)
    assert (s.dask_workers, s.spark_cores, s.spark_driver_memory(), s.spark_fits) == (4, 8, "1024m", True)


def test_short_memory_gives_fewer_threads_and_smaller_parts() -> None:
    s = sizes(384)
    assert (s.dask_threads, s.batch_rows) == (1, 8192) and s.dask_blocksize < 8 * MiB
    assert s.spark_heap == SPARK_MIN_HEAP and s.spark_cores == 1 and not s.spark_fits
    assert any("below" in text for _, text in s.describe())


def test_spark_settings_are_sized_and_the_users_win(monkeypatch: pytest.MonkeyPatch) -> None:
    from greta_core.ingestion import spark_connector
    from greta_core.resources import sizing

    short = engine_sizes(MemoryLimit(1400 * MiB, "cgroup v1 memory.limit_in_bytes of /job"), cores=2)
    monkeypatch.setattr(sizing, "engine_sizes", lambda: short)
    conf = spark_connector.SparkConnector().settings(8192)
    assert conf["spark.master"] == "local[1]" and conf["spark.driver.memory"] == "512m"
    assert conf["spark.sql.files.maxPartitionBytes"] == str(32 * MiB)
    assert conf["spark.sql.execution.arrow.maxRecordsPerBatch"] == "8192"
    mine = spark_connector.SparkConnector({"spark.master": "local[2]", "spark.driver.memory": "3g"}).settings()
    assert (mine["spark.master"], mine["spark.driver.memory"]) == ("local[2]", "3g")
    assert spark_connector.SparkConnector(workers=2).master == "local[2]"
