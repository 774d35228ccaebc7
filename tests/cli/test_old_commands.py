"""Configurations and command lines written for earlier releases still run, and give the
answer of their current equivalents; `greta config migrate` rewrites an old file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from greta_cli.app import app
from greta_core.datasets import TRUTH, planted

# the old configuration (data.source relative to the config file's folder)
OLD_CSV = """
data:
  source: planted.csv
  type: csv
  target_column: y
  sheet_name: null
preprocessing:
  missing_strategy: mean
  outlier_method: iqr
  outlier_threshold: 1.5
  normalize_types: true
  feature_engineering: true
  encoding_method: auto
  max_cardinality: 20
  numeric_transforms: [polynomial, trigonometric, logarithmic]
  max_interactions: 5
  feature_selection: false
  selection_method: mutual_info
  max_features: 50
hypothesis_search:
  pop_size: 100
  num_generations: 50
  cx_prob: 0.7
  mut_prob: 0.2
output:
  format: json
  file: {results}
"""
NEW_CSV = """
data: {{path: planted.csv, format: csv, target: y, sheet: null}}
preprocessing: {{max_levels: 20, interactions: true, squares: true, logs: true}}
hypothesis_search: {{pop_size: 100, num_generations: 50, cx_prob: 0.7, mut_prob: 0.2}}
output: {{results: {results}, results_format: json}}
"""
# the second old form: an Excel sheet, no engineered terms, results as YAML
OLD_EXCEL = """
data: {{source: planted.xlsx, type: excel, target_column: z, sheet_name: claims}}
preprocessing: {{missing_strategy: median, feature_engineering: false, max_cardinality: 10,
                 feature_selection: true, selection_method: f_test, max_features: 10}}
hypothesis_search: {{pop_size: 40, num_generations: 20, cx_prob: 0.8, mut_prob: 0.3}}
output: {{format: yaml, file: {results}}}
"""
NEW_EXCEL = """
data: {{path: planted.xlsx, format: excel, target: z, sheet: claims}}
preprocessing: {{max_levels: 10, interactions: false, squares: false, logs: false}}
hypothesis_search: {{pop_size: 40, num_generations: 20, cx_prob: 0.8, mut_prob: 0.3}}
output: {{results: {results}, results_format: yaml}}
"""
FAST = ["--set", "hypothesis_search.num_generations=15", "--set", "hypothesis_search.pop_size=30"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """planted.csv (y explained by x1, x3, x5*x7, cat_a) and planted.xlsx, whose second sheet
    'claims' holds a yes/no target z of the same data."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("old")
    df = planted(2500, "regression", seed=3, features=8)
    df.to_csv(folder / "planted.csv", index=False)
    claims = df.drop(columns="y").assign(z=(df["y"] > df["y"].median()).map({True: "yes", False: "no"}))
    with pd.ExcelWriter(folder / "planted.xlsx") as xl:
        pd.DataFrame({"note": ["see the next sheet"]}).to_excel(xl, sheet_name="readme", index=False)
        claims.to_excel(xl, sheet_name="claims", index=False)
    return folder


def _greta(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greta_cli.app", *args], capture_output=True,
                          text=True, timeout=300, cwd=str(cwd), check=False)


def _terms(doc: dict) -> list[tuple[list[str], bool]]:
    return [(h["terms"], h["confirmed"]) for h in doc["hypotheses"]]


def test_the_old_csv_config_gives_the_answer_of_the_new_one(folder: Path, tmp_path: Path) -> None:
    (folder / "old.yml").write_text(OLD_CSV.format(results=tmp_path / "old.json"))
    (folder / "new.yml").write_text(NEW_CSV.format(results=tmp_path / "new.json"))
    old = _greta("run", "--config", str(folder / "old.yml"), "--quiet", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert old.stderr == ""  # --quiet: nothing but errors
    shown = _greta("run", "--config", str(folder / "old.yml"), "--output", str(tmp_path / "o2.json"),
                   cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = [ln for ln in shown.stderr.splitlines() if ln.startswith("greta: warning: ")]
    keys = [ln.split("'")[1] for ln in lines]
    assert len(keys) == 18 and len(set(keys)) == 18  # one line per old key, each once
    assert "greta: warning: 'data.source' is deprecated: use 'data.path'" in shown.stderr
    assert "'preprocessing.missing_strategy' is ignored: Greta models missing values with " \
           "indicators" in shown.stderr
    assert shown.stderr.count("greta config migrate") == 1
    new = _greta("run", str(folder / "new.yml"), "--quiet", cwd=tmp_path)
    assert new.returncode == 0 and new.stderr == "", new.stderr
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("old.json", "new.json"))
    assert _terms(a) == _terms(b) and a["hypotheses"][0]["confirmed"]
    assert {f for h in a["hypotheses"] if h["confirmed"] for f in h["features"]} == set(TRUTH)
    assert [h["holdout"]["p_value"] for h in a["hypotheses"]] == \
        [h["holdout"]["p_value"] for h in b["hypotheses"]]


def test_the_old_excel_config_gives_the_answer_of_the_new_one(folder: Path, tmp_path: Path) -> None:
    (folder / "old-xl.yml").write_text(OLD_EXCEL.format(results=tmp_path / "old.yml"))
    (folder / "new-xl.yml").write_text(NEW_EXCEL.format(results=tmp_path / "new.yml"))
    old = CliRunner().invoke(app, ["run", "--config", str(folder / "old-xl.yml"), "--quiet"])
    assert old.exit_code == 0, old.output
    new = CliRunner().invoke(app, ["run", str(folder / "new-xl.yml"), "--quiet"])
    assert new.exit_code == 0, new.output
    a, b = (yaml.safe_load((tmp_path / n).read_text()) for n in ("old.yml", "new.yml"))
    assert a["task"] == "binary" and a["data"]["format"] == "excel"
    assert _terms(a) == _terms(b) and a["hypotheses"][0]["confirmed"]
    assert not any("*" in t or "^2" in t or "log" in t for h in a["hypotheses"] for t in h["terms"])


def test_mixing_old_and_new_names_is_one_line_exit_2(folder: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.yml"
    mixed.write_text("data: {source: a.csv, path: b.csv, target: y}\n")
    proc = _greta("run", "--config", str(mixed), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "'data.source'" in proc.stderr and "keep only 'data.path'" in proc.stderr


def test_run_old_flags_output_format_override(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.out"
    res = CliRunner().invoke(app, [
        "run", "-c", str(_new(folder)),
        "--output", str(out), "--format", "yaml", "--quiet",
        "--override", ('{"hypothesis_search": {"pop_size": 30, "num_generations": 15}, '
                       '"preprocessing": {"max_cardinality": 12}}')])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(out.read_text())  # YAML, whatever the extension
    assert not out.read_text().lstrip().startswith("{")
    assert doc["config"]["hypothesis_search"]["pop_size"] == 30
    assert doc["config"]["preprocessing"]["max_levels"] == 12
    piped = _greta("run", "--data", str(folder / "planted.csv"), "--target", "y", "--format", "yaml",
                   *FAST, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert yaml.safe_load(piped.stdout)["target"] == "y" and not piped.stdout.startswith("{")


def _new(folder: Path) -> Path:
    path = folder / "new-flags.yml"
    path.write_text(NEW_CSV.format(results="null"))
    return path


@pytest.mark.parametrize(("args", "expect"), [
    (["--override", "{not json"], "--override must be a JSON object"),
    (["--override", "[1, 2]"], "--override must be a JSON object"),
    (["--override", '{"hypothesis_search": {"pop_size": 99999999999999999999}}'],
     "'hypothesis_search.pop_size' must be at least 4 and at most 100000"),
    (["--format", "xml"], "'output.results_format' must be one of 'json', 'yaml', or null; got 'xml' (from --format)"),
])
def test_bad_old_flags_are_one_line_exit_2(folder: Path, tmp_path: Path, args: list[str],
                                            expect: str) -> None:
    proc = _greta("run", "--data", str(folder / "planted.csv"), "--target", "y", *args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert expect in proc.stderr and "Traceback" not in proc.stderr


def test_report_old_flags(folder: Path, tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    res = CliRunner().invoke(app, ["run", "--data", str(folder / "planted.csv"), "--target", "y",
                                   "--output", str(results), "--quiet", *FAST])
    assert res.exit_code == 0, res.output
    for fmt, check in (("markdown", lambda t: t.lstrip().startswith("#")),
                       ("html", lambda t: t.lower().startswith("<!doctype html>")),
                       ("text", lambda t: "confirmed" in t.lower() and "<" not in t[:50])):
        out = tmp_path / f"report.{fmt}"
        res = CliRunner().invoke(app, ["report", "--input-file", str(results), "--output", str(out),
                                       "--format", fmt])
        assert res.exit_code == 0, res.output
        assert check(out.read_text()), fmt
    shown = CliRunner().invoke(app, ["report", "--input-file", str(results)])
    assert shown.exit_code == 0 and "x1" in shown.output


def test_init_old_flags_write_the_current_format(folder: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "config.yml"
    cfg.parent.mkdir()
    res = CliRunner().invoke(app, ["init", "--output", str(cfg), "--data-source",
                                   str(folder / "planted.csv"), "--data-type", "CSV",
                                   "--target-column", "y"])
    assert res.exit_code == 0, res.output
    doc = yaml.safe_load(cfg.read_text())
    assert doc["data"]["format"] == "csv" and doc["data"]["target"] == "y"
    assert "source" not in doc["data"] and "target_column" not in doc["data"]
    # the path is written relative to the config file's folder, which is how it is read
    assert (cfg.parent / doc["data"]["path"]).resolve() == (folder / "planted.csv").resolve()
    missing = CliRunner().invoke(app, ["init", "--data-source", str(folder / "planted.csv")])
    assert missing.exit_code == 2 and "needs --target COLUMN" in missing.output


def test_config_migrate_rewrites_an_old_file(folder: Path, tmp_path: Path) -> None:
    (folder / "old-m.yml").write_text(OLD_CSV.format(results="null"))
    new = tmp_path / "migrated" / "new.yml"
    new.parent.mkdir()
    proc = _greta("config", "migrate", str(folder / "old-m.yml"), "-o", str(new), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "10 old key name(s) replaced, 8 dropped" in proc.stdout
    text = new.read_text()
    assert "missing_strategy" in text.split("\ndata:")[0]  # listed in the header as dropped
    doc = yaml.safe_load(text)
    assert not Path(doc["data"]["path"]).is_absolute()
    assert (new.parent / doc["data"]["path"]).resolve() == (folder / "planted.csv").resolve()
    assert doc["preprocessing"]["max_levels"] == 20 and "max_cardinality" not in doc["preprocessing"]
    # the new file loads with no notice, and means what the old one did
    from greta_cli.config import load_config

    notices: list[str] = []
    fresh = load_config(new, env={}, notices=notices)
    assert notices == []
    old = load_config(folder / "old-m.yml", env={}, notices=[])
    assert Path(fresh.data.path).resolve() == Path(old.data.path).resolve()
    assert fresh.model_dump(exclude={"data": {"path"}}) == old.model_dump(exclude={"data": {"path"}})
    again = _greta("config", "migrate", str(folder / "old-m.yml"), "-o", str(new), cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_data_path_from_a_config_is_read_from_its_folder(folder: Path, tmp_path: Path) -> None:
    cfg = folder / "relative.yml"
    cfg.write_text("data: {path: planted.csv, target: y}\n")
    ok = _greta("run", str(cfg), "--quiet", "--output", str(tmp_path / "r.json"), *FAST, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    lost = folder / "lost.yml"
    lost.write_text("data: {path: nowhere/planted.csv, target: y}\n")
    proc = _greta("run", str(lost), *FAST, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "relative to that file's folder" in proc.stderr
    assert str(folder / "nowhere" / "planted.csv") in proc.stderr and str(lost) in proc.stderr


def test_absurd_numbers_are_one_line_exit_2(folder: Path, tmp_path: Path) -> None:
    proc = _greta("run", "--data", str(folder / "planted.csv"), "--target", "y",
                  "--set", "hypothesis_search.pop_size=99999999999999999999", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stdout == ""
    assert "'hypothesis_search.pop_size' must be at least 4 and at most 100000; got " \
           "99999999999999999999 (from --set hypothesis_search.pop_size)" in proc.stderr


@pytest.mark.parametrize(("command", "hidden"), [
    ("run", ["--config", "--override", "--format"]), ("report", ["--input-file"]),
    ("init", ["--data-source", "--data-type", "--target-column"])])
def test_old_flags_are_hidden_from_help(command: str, hidden: list[str]) -> None:
    res = CliRunner().invoke(app, [command, "--help"])
    assert res.exit_code == 0
    assert not [flag for flag in hidden if flag in res.output]
