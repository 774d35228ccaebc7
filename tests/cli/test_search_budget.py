"""`greta run` with a genetic search too long to run unasked (refused before the statistics pass,
with its estimate and how to shorten it), with a time budget that stops it (said in the results,
the notes and -v), and with absurd worker counts (refused when the configuration is read)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

GRETA = str(Path(sys.executable).with_name("greta"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greta_core.datasets import write_planted_csv

    path = tmp_path_factory.mktemp("search-budget") / "planted.csv"
    write_planted_csv(str(path), 5_000, "regression", 1)
    return path


def greta(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GRETA, "run", "--data", str(data), "--target", "y", *args], capture_output=True, text=True,
                          timeout=300)


def test_a_search_of_centuries_is_refused_up_front(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    t = time.monotonic()
    got = greta(data, "-o", str(out), "--set", "hypothesis_search.pop_size=100000",
                "--set", "hypothesis_search.num_generations=10000000")
    assert got.returncode == 2 and time.monotonic() - t < 120, got.stderr
    assert got.stderr.startswith("greta: error: The genetic search would take about") and got.stderr.count("\n") == 1
    assert "years" in got.stderr and "hypothesis_search.max_minutes" in got.stderr and "patience" in got.stderr
    assert not out.exists()


def test_a_time_budget_stops_the_search_and_says_so(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    t = time.monotonic()
    got = greta(data, "-o", str(out), "-q", "-v", "--set", "hypothesis_search.num_generations=10000000",
                "--set", "hypothesis_search.max_minutes=0.05")
    assert got.returncode == 0, got.stderr
    assert time.monotonic() - t < 120
    doc = json.loads(out.read_text())
    search = doc["metrics"]["search"]
    assert search["stopped_by_budget"] and search["max_minutes"] == 0.05 and search["estimate_seconds"] > 3600
    assert 1 < doc["metrics"]["search_generations"] < 10_000_000
    assert any(n.startswith("The search stopped after its time budget") for n in doc["notes"])
    assert "the search stopped after its time budget" in got.stderr and "search: estimated" in got.stderr
    assert doc["hypotheses"] and doc["hypotheses"][0]["confirmed"]


def test_a_search_that_fits_records_its_estimate(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    got = greta(data, "-o", str(out), "-q", "--set", "hypothesis_search.strategy=genetic")
    assert got.returncode == 0, got.stderr
    search = json.loads(out.read_text())["metrics"]["search"]
    assert 0 < search["estimate_seconds"] < 60 and not search["stopped_by_budget"]


def test_thousands_of_workers_on_a_small_machine_are_refused_when_the_config_is_read(data: Path) -> None:
    from greta_core.resources.memory import cpu_count

    got = greta(data, "--set", "hypothesis_search.max_workers=4096")
    assert got.returncode == 2 and got.stderr.count("\n") == 1, got.stderr
    assert "'hypothesis_search.max_workers' = 4,096 is more than 8 workers per core" in got.stderr
    assert f"at most {8 * cpu_count()} without a cluster" in got.stderr
    ok = greta(data, "-q", "--set", "hypothesis_search.max_workers=4096",
               "--set", 'hypothesis_search.cluster_address="tcp://127.0.0.1:1"', "--set", "hypothesis_search.pop_size=8",
               "--set", "hypothesis_search.num_generations=1")
    assert "max_workers" not in ok.stderr  # on a cluster's machines: not this machine's cores


def test_the_progress_bar_shows_the_estimate_and_the_budget() -> None:
    import io

    from rich.console import Console

    from greta_cli.display import StageProgress

    buf = io.StringIO()
    with StageProgress(Console(file=buf, width=160, force_terminal=False)) as progress:
        progress("search", 0.5, {"generation": 30, "generations": 10_000_000, "estimate_seconds": 7200.0,
                                 "max_minutes": 5})
        progress("search", 1.0, {"generation": 61, "generations": 10_000_000, "estimate_seconds": 7200.0,
                                 "max_minutes": 5, "stopped_by_budget": True})
    text = buf.getvalue()
    assert "generation 61/10,000,000, estimated 2.0 h (budget 5 min) (stopped after its time budget)" in text
