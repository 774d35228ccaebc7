"""greta.analyze from Python: a path, or a pandas, Dask or Spark DataFrame gives the hypotheses
`greta run` gives on the same data saved as a file; settings are checked as on the command
line; the result is frozen and renders as the reports do."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from engines import need

import greta
from greta_core.errors import DataFormatError, GretaError, InvalidConfigError

SEARCH = {"hypothesis_search.pop_size": 40, "hypothesis_search.num_generations": 20}


@pytest.fixture(scope="module")
def planted_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greta_core.datasets import write_planted_csv

    return Path(write_planted_csv(str(tmp_path_factory.mktemp("api") / "planted.csv"), 3000,
                                  "regression", 5, features=8))


@pytest.fixture(scope="module")
def frame(planted_csv: Path) -> Any:
    import pandas as pd

    return pd.read_csv(planted_csv)


@pytest.fixture(scope="module")
def by_cli(planted_csv: Path) -> dict[str, Any]:
    """`greta run` on the file, as a user types it."""
    out = planted_csv.with_name("cli.json")
    sets = [a for k, v in SEARCH.items() for a in ("--set", f"{k}={v}")]
    proc = subprocess.run([sys.executable, "-m", "greta_cli.app", "run", "--data", str(planted_csv),
                           "--target", "y", "--seed", "0", *sets, "--output", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text())


def _confirmed(doc: dict[str, Any]) -> list[list[str]]:
    return [h["terms"] for h in doc["hypotheses"] if h["confirmed"]]


def test_a_path_gives_what_greta_run_gives(planted_csv: Path, by_cli: dict[str, Any]) -> None:
    result = greta.analyze(str(planted_csv), target="y", seed=0, **SEARCH)
    assert result.confirmed == _confirmed(by_cli) and result.confirmed
    assert [h["holdout"]["p_value"] for h in result.to_dict()["hypotheses"]] == \
        [h["holdout"]["p_value"] for h in by_cli["hypotheses"]]
    segments = result.segments  # one row per segment tested, as `greta run` wrote them
    assert list(segments["description"]) == [s["description"] for s in by_cli["segments"]]
    assert list(segments["q_value"]) == [s["q_value"] for s in by_cli["segments"]]
    assert segments["confirmed"].any() and {"inside", "inside_low", "outside", "share"} <= set(segments.columns)


def test_a_pandas_frame_gives_what_greta_run_gives(frame: Any, by_cli: dict[str, Any]) -> None:
    result = greta.analyze(frame, target="y", seed=0,
                           hypothesis_search={"pop_size": 40, "num_generations": 20})
    assert result.confirmed == _confirmed(by_cli)
    assert greta.analyze(data=frame, target="y", seed=0, **SEARCH).confirmed == result.confirmed
    doc = result.to_dict()
    assert doc["data"]["backend"] == "pandas" and doc["data"]["source"] == "<pandas DataFrame>"
    assert doc["data"]["rows"] == len(frame) and doc["data"]["format"] == "pandas"


def test_a_dask_frame_gives_what_greta_run_gives(frame: Any, by_cli: dict[str, Any]) -> None:
    need("dask", "dask")
    import dask.dataframe as dd

    result = greta.analyze(dd.from_pandas(frame, npartitions=3), target="y", seed=0, **SEARCH)
    assert result.confirmed == _confirmed(by_cli)
    assert list(result.segments["description"]) == [s["description"] for s in by_cli["segments"]]
    assert result.to_dict()["data"]["backend"] == "dask"


def test_a_spark_frame_gives_what_greta_run_gives(spark_local: Any, frame: Any,
                                                  by_cli: dict[str, Any]) -> None:
    result = greta.analyze(spark_local.createDataFrame(frame), target="y", seed=0, **SEARCH)
    assert result.confirmed == _confirmed(by_cli)
    assert list(result.segments["description"]) == [s["description"] for s in by_cli["segments"]]
    assert result.to_dict()["data"]["backend"] == "spark"


# ------------------------------------------------------------------------------- settings
def test_bad_settings_raise_the_command_lines_message(planted_csv: Path) -> None:
    from greta_cli.config import load_config

    with pytest.raises(InvalidConfigError) as cli:
        load_config(None, ["hypothesis_search.pop_size=99999999999999999999"], env={})
    with pytest.raises(InvalidConfigError) as api:
        greta.analyze(planted_csv, target="y", hypothesis_search={"pop_size": 99999999999999999999})
    assert str(api.value) == str(cli.value).replace("from --set", "from the argument")
    with pytest.raises(InvalidConfigError, match="Did you mean 'hypothesis_search.pop_size'"):
        greta.analyze(planted_csv, target="y", **{"hypothesis_search.pop_sise": 50})
    with pytest.raises(GretaError, match="does not exist"):
        greta.analyze(planted_csv.with_name("nope.csv"), target="y")
    with pytest.raises(GretaError, match="Target column 'Y ' is not in the data"):
        greta.analyze(planted_csv, target="Y ")
    with pytest.raises(InvalidConfigError, match="got a list"):
        greta.analyze([1, 2, 3], target="y")
    with pytest.raises(InvalidConfigError, match="got a list"):
        greta.analyze(data=[1, 2, 3], target="y")


def test_old_names_work_with_a_warning(frame: Any, by_cli: dict[str, Any]) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = greta.analyze(frame, data={"target_column": "y"}, seed=0, **SEARCH)
    assert result.confirmed == _confirmed(by_cli)
    assert [str(w.message) for w in seen if issubclass(w.category, greta.GretaWarning)] == \
        ["'data.target_column' is deprecated: use 'data.target' (from the argument)."]


def test_a_frame_with_unnamed_columns_is_refused(frame: Any) -> None:
    numbered = frame.copy()
    numbered.columns = range(len(frame.columns))
    with pytest.raises(DataFormatError, match=r"df.columns = df.columns.astype\(str\)"):
        greta.analyze(numbered, target="0")


# --------------------------------------------------------------------------------- result
@pytest.fixture(scope="module")
def result(frame: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("out")
    return greta.analyze(frame, target="y", seed=0, progress=True,
                         output={"results": str(folder / "r.json"), "report": str(folder / "r.html")},
                         **SEARCH)


def test_the_result_is_frozen(result: Any) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.target = "x"  # type: ignore[misc]
    doc = result.to_dict()
    doc["hypotheses"].clear()
    assert result.to_dict()["hypotheses"] and result.target == "y" and result.task == "regression"


def test_the_result_renders_as_the_reports(result: Any, tmp_path: Path) -> None:
    result.to_json(tmp_path / "saved.json")
    assert json.loads((tmp_path / "saved.json").read_text()) == result.to_dict()
    text = subprocess.run([sys.executable, "-m", "greta_cli.app", "report", str(tmp_path / "saved.json"),
                           "--format", "text"], capture_output=True, text=True, check=True).stdout
    assert result.summary() + "\n" == text or result.summary() == text
    html = result._repr_html_()
    assert html.startswith('<div class="greta-report">') and "<svg" in html
    assert "<body" not in html and "<html" not in html and "<h1>" in html
    result.report(tmp_path / "r.md")
    assert (tmp_path / "r.md").read_text().lstrip().startswith("#")
    with pytest.raises(InvalidConfigError, match="report format"):
        result.report(tmp_path / "r.pdf")


def test_the_output_settings_write_the_files(result: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = next(p for p in tmp_path_factory.getbasetemp().glob("out*") if (p / "r.json").exists())
    assert json.loads((folder / "r.json").read_text()) == result.to_dict()
    assert (folder / "r.html").read_text().lower().startswith("<!doctype html>")


def test_progress_shows_the_stages(frame: Any, capfd: pytest.CaptureFixture[str]) -> None:
    greta.analyze(frame.head(600), target="y", seed=0, progress=True,
                  hypothesis_search={"pop_size": 8, "num_generations": 2})
    err = capfd.readouterr().err
    assert "Reading & summarising" in err and "Searching hypotheses" in err


def test_hypotheses_and_columns_as_data_frames(result: Any) -> None:
    hyps = result.hypotheses
    assert list(hyps.columns) == ["rank", "terms", "features", "confirmed", "r2", "p_value",
                                  "q_value", "discovery_p_value", "narrative"]
    assert hyps["rank"].tolist() == list(range(1, len(hyps) + 1))
    assert hyps.loc[hyps["confirmed"], "terms"].tolist() == result.confirmed
    assert result.hypotheses is not hyps  # a new frame each time: the result stays as it was
    cols = result.columns
    assert list(cols.columns) == ["name", "verdict", "joint_test", "importance", "direction"]
    doc = result.to_dict()
    if not doc.get("columns"):
        assert cols.empty
        doc["columns"] = [{"name": "x1", "verdict": "matters", "joint_test": {"p_value": 1e-9},
                           "importance": 0.4, "direction": "up"},
                          {"name": "x2", "verdict": "no evidence", "joint_test": {"p_value": 0.7},
                           "importance": 0.0, "direction": None}]
    listed = greta.AnalysisResult.from_document(doc).columns
    assert listed["name"].tolist() == [c["name"] for c in doc["columns"]]
    assert listed["verdict"].tolist() == [c["verdict"] for c in doc["columns"]]
