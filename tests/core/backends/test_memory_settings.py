"""`greta run` in a kernel memory cgroup (as in a container) with settings that cannot fit in
it: refused before the work that needs the memory, in one line that names the setting, its
value, the largest value that fits and the limit with its source; exit 2, no traceback, no
output file. And Spark's JVM killed over the limit: the one memory line, no Py4J or pyspark
traceback before it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from backends_kit import MemoryCgroup
from engines import need_spark

GRETA = str(Path(sys.executable).with_name("greta"))
MiB = 2**20
LIMIT = 512 * MiB


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greta_core.datasets import write_planted_csv

    path = tmp_path_factory.mktemp("memory-settings") / "planted.csv"
    write_planted_csv(str(path), 100_000, "regression", 1)
    return path


def run_capped(limit: int, data: Path, tmp_path: Path, *settings: str, backend: str = "pandas") -> tuple[int, str]:
    out, log = tmp_path / "results.json", tmp_path / "greta.log"
    cmd = [GRETA, "run", "--data", str(data), "--target", "y", "--backend", backend, "-o", str(out), "-q"]
    for s in settings:
        cmd += ["--set", s]
    with MemoryCgroup(limit) as group:
        status = group.run(cmd, log)
    assert not out.exists()  # refused or killed: no output
    return status, log.read_text()


def one_error_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.startswith("greta: error:")]
    assert len(lines) == 1 and "Traceback" not in text and "py4j" not in text.lower(), text
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize(("setting", "value", "fits"), [
    ("preprocessing.screen_memory_mb", "1000000", 192),
    ("statistics.sample_size", "10000000", None),
    ("preprocessing.batch_rows", "10000000", None),
    ("hypothesis_search.max_workers", "16", 2),  # worker processes of the search, 96 MiB each
])
def test_a_setting_that_cannot_fit_is_refused_with_the_largest_that_fits(
        data: Path, tmp_path: Path, setting: str, value: str, fits: int | None) -> None:
    extra = ["hypothesis_search.distributed_backend=multiprocessing"] if "workers" in setting else []
    status, text = run_capped(LIMIT, data, tmp_path, f"{setting}={value}", *extra)
    assert status == 2, text
    line = one_error_line(text)
    assert line.startswith(f"greta: error: {setting}={int(value):,} needs about"), line
    assert "512 MiB (cgroup v" in line
    got = int(re.search(r"the largest value that fits is ([\d,]+)", line).group(1).replace(",", ""))
    if fits is not None:
        assert got == fits
    # the largest value that fits runs to the end under the same limit
    out, log = tmp_path / "results.json", tmp_path / "greta.log"
    cmd = [GRETA, "run", "--data", str(data), "--target", "y", "-o", str(out), "-q", "--set", f"{setting}={got}",
           *[a for e in extra for a in ("--set", e)]]
    with MemoryCgroup(LIMIT) as group:
        status = group.run(cmd, log)
    assert status == 0 and out.exists(), log.read_text()


@pytest.mark.slow
def test_a_local_spark_that_cannot_start_in_the_limit_is_refused_before_its_jvm(data: Path, tmp_path: Path) -> None:
    status, text = run_capped(1024 * MiB, data, tmp_path, backend="spark")
    assert status == 2, text
    line = one_error_line(text)
    assert "a local Spark needs at least" in line and "1,024 MiB (cgroup v" in line
    assert "spark.driver.memory" in line and "Using incubator modules" not in text  # no JVM was started


@pytest.mark.slow
def test_spark_killed_over_the_limit_says_so_in_one_line(data: Path, tmp_path: Path) -> None:
    need_spark()
    status, text = run_capped(700 * MiB, data, tmp_path, 'scalability.spark_config={"spark.driver.memory": "512m"}',
                              backend="spark")
    assert status == 2, text
    line = one_error_line(text)
    assert "needed more memory than this process may use, 700 MiB (cgroup v" in line, line
    assert "spark.driver.memory" in line
    others = [ln for ln in text.splitlines() if ln.strip() and ln != line]
    assert all("incubator" in ln for ln in others), text  # the JVM's own start-up notice at most
