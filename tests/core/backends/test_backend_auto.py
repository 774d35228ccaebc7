"""The ``auto`` decision, its fallbacks (each a warning naming what is missing and how to
install it), explicit requests that cannot be met, and that a small file stays on the plain
pandas path without importing dask or pyspark."""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from engines import free_port, need, unavailable

import greta_core.backends as registry
from greta_core.backends import choose_backend, decide, open_backend
from greta_core.errors import (
    BackendUnavailableError,
    DistributedComputationError,
    InvalidConfigError,
    ScalabilityError,
    SparkUnavailableError,
)
from greta_core.ingestion import should_use_spark
from greta_core.ingestion.readers import FileSpec

BIG = {"auto_threshold_bytes": 1}  # any file counts as larger than the available memory


@pytest.fixture
def big_file(planted: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(registry, "SMALL_FILE_BYTES", 0)
    return planted["csv-file"]


def _missing(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    import greta_core.ingestion.distributed_utils as du
    import greta_core.ingestion.spark_connector as sc

    real = du.module_version
    fake = lambda name: None if name in modules else real(name)
    monkeypatch.setattr(du, "module_version", fake)
    monkeypatch.setattr(sc, "module_version", fake)


def test_small_file_is_pandas(planted: dict[str, str]) -> None:
    d = decide(planted["csv-file"], {})
    assert d.backend == "pandas" and not d.warnings
    assert not should_use_spark(planted["csv-file"])


def test_directory_glob_and_url_need_dask_or_spark(planted: dict[str, str]) -> None:
    assert decide(planted["parquet-parts"], {}).backend == "dask"
    assert decide(planted["csv-parts"] + "/part-*.csv", {}).backend == "dask"


def test_big_file_goes_to_spark_when_usable(big_file: str) -> None:
    from greta_core.ingestion.spark_connector import spark_problem

    problem = spark_problem("local[*]")
    if problem:
        unavailable(f"Spark is not usable here: {problem}")
    assert decide(big_file, BIG).backend == "spark"
    assert should_use_spark(big_file, options=BIG)
    assert should_use_spark(big_file, estimated_rows=10**12, options={})


def test_fallback_spark_to_dask_warns_with_install_command(big_file: str, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    _missing(monkeypatch, "pyspark")
    with caplog.at_level(logging.WARNING, logger="greta"):
        assert choose_backend("auto", FileSpec(big_file), dict(BIG)) == "dask"
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "pyspark is not installed" in warning and 'pip install "greta[spark]"' in warning
    assert "falling back to dask" in warning


def test_fallback_to_pandas_warns_twice(big_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _missing(monkeypatch, "pyspark", "dask")
    d = decide(big_file, BIG)
    assert d.backend == "pandas" and len(d.warnings) == 2
    assert 'pip install "greta[spark]"' in d.warnings[0] and 'pip install "greta[dask]"' in d.warnings[1]
    assert "dask is not installed" in d.warnings[1]


def test_missing_java_is_a_fallback_reason(big_file: str, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    d = decide(big_file, BIG)
    assert d.backend == "dask" and "Java not found" in d.warnings[0]


def test_parts_with_nothing_installed_is_a_clear_error(planted: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _missing(monkeypatch, "pyspark", "dask")
    with pytest.raises(BackendUnavailableError, match=r'pip install "greta\[dask\]"'):
        decide(planted["csv-parts"], {})


def test_decimal_comma_is_found_for_dask_and_refused_by_spark(tmp_path: Path) -> None:
    from greta_core.backends.spark_backend import _refuse_unread_text
    from greta_core.errors import DataFormatError
    from greta_core.ingestion.distributed_utils import resolve_source

    path = tmp_path / "euro.csv"
    path.write_text("a;y\n" + "".join(f"{i},5;{i * 2},25\n" for i in range(50)))
    source = resolve_source(FileSpec(str(path)))
    assert (source.delimiter, source.decimal, source.columns) == (";", ",", ("a", "y"))
    with pytest.raises(DataFormatError, match=r"decimal comma .* Use --backend dask or pandas"):
        _refuse_unread_text(source)
    assert resolve_source(FileSpec(str(path), decimal=".")).decimal == "."  # told: no decimal commas


def test_compressed_text_is_found_for_dask_and_refused_by_spark(tmp_path: Path) -> None:
    import gzip

    from greta_core.backends.spark_backend import _refuse_unread_text
    from greta_core.errors import DataFormatError
    from greta_core.ingestion.distributed_utils import estimate_rows, resolve_source

    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"a,y\n" + b"".join(b"%d,%d\n" % (i, i * 2) for i in range(50))))
    source = resolve_source(FileSpec(str(path)))
    assert (source.format, source.delimiter, source.columns, source.compressed) == ("csv", ",", ("a", "y"), True)
    assert estimate_rows(source) is None  # the compressed size says little about the rows
    with pytest.raises(DataFormatError, match=r"compressed text, which the Spark backend does not read"):
        _refuse_unread_text(source)


def test_configured_cluster_is_preferred(planted: dict[str, str], dask_cluster: Any) -> None:
    d = decide(planted["csv-file"], {"dask_config": {"address": dask_cluster.address}})
    assert d.backend == "dask" and "scheduler is configured" in d.reason
    dead = f"tcp://127.0.0.1:{free_port()}"
    d = decide(planted["csv-file"], {"dask_config": {"address": dead}})
    assert d.backend == "pandas" and "not reachable" in d.warnings[0]


def test_spark_requested_with_a_bad_master_raises(planted: dict[str, str]) -> None:
    master = f"spark://127.0.0.1:{free_port()}"
    with pytest.raises(SparkUnavailableError, match="not reachable") as info:
        open_backend("spark", FileSpec(planted["csv-file"]), options={"spark_config": {"spark.master": master}})
    assert isinstance(info.value, ScalabilityError)
    assert pickle.loads(pickle.dumps(info.value)).message == info.value.message


def test_spark_requested_without_java_raises(planted: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(SparkUnavailableError, match="Java not found"):
        open_backend("spark", FileSpec(planted["csv-file"]), options={"spark_config": {"spark.master": "local[1]"}})


def test_unreachable_dask_scheduler_raises(planted: dict[str, str]) -> None:
    need("distributed", "dask")
    with pytest.raises(DistributedComputationError, match="Cannot reach the Dask scheduler"):
        open_backend("dask", FileSpec(planted["csv-file"]),
                     options={"dask_config": {"address": f"tcp://127.0.0.1:{free_port()}"}})


def test_unknown_backend_and_wrong_frame(planted: dict[str, str]) -> None:
    with pytest.raises(BackendUnavailableError, match="Allowed: pandas, dask, spark, auto"):
        choose_backend("polars", FileSpec(planted["csv-file"]))
    import pandas as pd

    frame = pd.DataFrame({"a": [1]})
    assert choose_backend("auto", FileSpec("<frame>", options={"dataframe": frame})) == "pandas"
    with pytest.raises(InvalidConfigError, match="'dask' backend was asked for"):
        choose_backend("dask", FileSpec("<frame>", options={"dataframe": frame}))

    class Table:  # another library's frame
        columns = ["a"]

    with pytest.raises(InvalidConfigError, match="a pandas, Dask or Spark DataFrame"):
        choose_backend("auto", FileSpec("<frame>", options={"dataframe": Table()}))


def test_auto_on_a_small_file_imports_neither_dask_nor_pyspark(planted: dict[str, str], tmp_path: Path) -> None:
    """``greta run`` exactly as a user types it, with scalability enabled and ``auto``."""
    out = tmp_path / "r.json"
    argv = ["greta", "run", "--data", planted["csv-file"], "--target", "y", "--output", str(out), "-q",
            "--backend", "auto", "--set", "scalability.enabled=true",
            "--set", "hypothesis_search.num_generations=3", "--set", "hypothesis_search.pop_size=20"]
    code = (f"import sys, json\nsys.argv = {argv!r}\nfrom greta_cli.app import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pyspark', 'py4j'))\n"
            "print(json.dumps(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    doc = json.loads(out.read_text())
    assert doc["data"]["backend"] == "pandas" and doc["metrics"]["backend"] == "pandas"


def test_auto_passes_over_a_local_spark_that_does_not_fit_the_memory_limit(
        big_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    need("dask", "dask")
    from greta_core.ingestion import spark_connector
    from greta_core.resources import memory, sizing

    limit = memory.MemoryLimit(2**20, "cgroup v1 memory.limit_in_bytes of /job", Path("/nonexistent"), 1)
    real = sizing.engine_sizes
    monkeypatch.setattr(memory, "memory_limit", lambda: limit)
    monkeypatch.setattr(sizing, "engine_sizes", lambda: real(limit, 2))
    monkeypatch.setattr(spark_connector, "spark_problem", lambda master: None)  # pyspark and Java are fine
    d = decide(big_file, {})
    assert d.backend == "dask" and "larger than this process's memory limit (1.0 MB)" in d.reason
    assert "1 MiB (cgroup v1 memory.limit_in_bytes of /job)" in d.warnings[0]
    assert "spark.driver.memory" in d.warnings[0]
    mine = {"spark_config": {"spark.driver.memory": "600m"}}  # the user's heap: Spark is tried
    assert registry.backend_problem("spark", mine) is None
    assert decide(big_file, mine).backend == "spark"
