"""The CLI commands as a user types them: run, init, report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greta_cli.app import app
from greta_core.datasets import TRUTH, write_planted_csv

FAST = ["--set", "hypothesis_search.num_generations=25"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "planted.csv"
    write_planted_csv(str(path), 6000, "regression", 2)
    return path


def test_run_writes_results_and_report(data, tmp_path):
    out, rep = tmp_path / "r.json", tmp_path / "r.html"
    res = CliRunner().invoke(app, ["run", "--data", str(data), "--target", "y", "--seed", "2",
                                   "--output", str(out), "--report", str(rep), "--quiet", *FAST])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 2 and doc["target"] == "y" and doc["task"] == "regression"
    assert {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]} == set(TRUTH)
    assert doc["config"]["hypothesis_search"]["seed"] == 2
    html = rep.read_text()
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "<svg" in html and "x5*x7" in html


def test_run_piped_without_output_prints_json(data):
    proc = subprocess.run([sys.executable, "-m", "greta_cli.app", "run", "--data", str(data), "--target", "y",
                           *FAST], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["hypotheses"][0]["confirmed"]


def test_run_piped_with_output_prints_the_summary_as_text(data, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "greta_cli.app", "run", "--data", str(data), "--target", "y",
                           "--output", str(out), *FAST], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("What goes with y: ") and "\x1b[" not in proc.stdout
    assert "Greta analysed 6,000 rows" in proc.stdout
    assert "What goes with y" in proc.stdout and f"wrote {out}" in proc.stdout
    assert json.loads(out.read_text())["hypotheses"][0]["confirmed"]


def test_run_verbose_prints_each_stage_resource_usage(data, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "greta_cli.app", "run", "--data", str(data), "--target", "y",
                           "--output", str(out), "-v", "--quiet", *FAST], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].split() == ["stage", "time", "CPU", "driver", "CPU", "workers", "peak", "driver", "peak",
                                "workers", "read", "moved", "network"]
    stages = json.loads(out.read_text())["metrics"]["stages"]
    assert [ln.split()[0] for ln in lines[1:6]] == list(stages) == ["ingest", "statistics", "search", "confirm", "narrate"]
    search = json.loads(out.read_text())["metrics"]["search"]
    assert lines[6:] == ([] if search["strategy"] == "exact" else [lines[6]])
    assert all(ln.startswith("search: estimated ") for ln in lines[6:])  # the genetic search's estimate
    row = lines[2].split()  # statistics: one process, so no worker figures and nothing moved
    assert row[1] == f"{stages['statistics']['seconds']:.2f}" and row[5] == row[8] == "-"
    assert row[-4:] == ["0", "B", "0", "B"]


def _results(path, tmp_path):
    out = tmp_path / f"{path.stem}.json"
    res = CliRunner().invoke(app, ["run", "--data", str(path), "--target", "y", "--seed", "2",
                                   "--output", str(out), "--quiet", *FAST])
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def test_decimal_comma_file_gives_the_same_answer(data, tmp_path):
    """A spreadsheet export with ';' between fields and decimal commas (1,5) is read as numbers."""
    import pandas as pd

    euro = tmp_path / "planted-euro.csv"
    pd.read_csv(data).to_csv(euro, index=False, sep=";", decimal=",")
    point, comma = _results(data, tmp_path), _results(euro, tmp_path)
    assert [h["terms"] for h in comma["hypotheses"]] == [h["terms"] for h in point["hypotheses"]]
    assert [h["holdout"]["p_value"] for h in comma["hypotheses"]] == \
        [h["holdout"]["p_value"] for h in point["hypotheses"]]


def test_thousands_separators_give_the_same_answer(data, tmp_path):
    """Numbers exported with thousands separators ("12,345.678") are read as numbers."""
    import math

    import pandas as pd

    df = pd.read_csv(data)
    df["x1"] = (df["x1"] * 10_000).round(3)
    df["y"] = (df["y"] * 1_000).round(3)
    plain, grouped = tmp_path / "plain.csv", tmp_path / "grouped.csv"
    df.to_csv(plain, index=False, float_format="%.3f")
    df.assign(x1=df["x1"].map("{:,.3f}".format), y=df["y"].map("{:,.3f}".format)).to_csv(grouped, index=False)
    assert '"' in grouped.read_text()[:2000]  # quoted: the separators are in the file
    # The text is parsed by another parser than pyarrow's, which may differ in a number's last
    # bit, and the split hashes the exact values: compare what was found, not the split.
    for doc in (_results(plain, tmp_path), _results(grouped, tmp_path)):
        best = doc["hypotheses"][0]
        assert best["confirmed"] and {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]} \
            == set(TRUTH)
        slope = next(e["estimate"] for e in best["effects"] if e["column"] == "x1")
        assert math.isclose(slope, 2 * 1_000 / 10_000, rel_tol=0.05)  # y = 2·x1 + ..., rescaled


def test_init_then_run_from_config(data, tmp_path):
    cfg = tmp_path / "greta.yml"
    res = CliRunner().invoke(app, ["init", "--data", str(data), "--target", "y", "-o", str(cfg)])
    assert res.exit_code == 0, res.output
    text = cfg.read_text()
    assert "cat_a: categorical" in text and "x1: numeric" in text and "target: y" in text
    again = CliRunner().invoke(app, ["init", "--data", str(data), "--target", "y", "-o", str(cfg)])
    assert again.exit_code != 0  # refuses to overwrite without --force
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["run", str(cfg), "--output", str(out), "--quiet", *FAST])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["hypotheses"]


def test_report_renders_saved_results(data, tmp_path):
    out = tmp_path / "r.json"
    CliRunner().invoke(app, ["run", "--data", str(data), "--target", "y", "--output", str(out), "--quiet", *FAST])
    md = tmp_path / "r.md"
    res = CliRunner().invoke(app, ["report", str(out), "-o", str(md)])
    assert res.exit_code == 0, res.output
    assert "x1" in md.read_text() and md.read_text().lstrip().startswith("#")
    res = CliRunner().invoke(app, ["report", str(out), "--format", "text"])
    assert res.exit_code == 0 and "confirmed" in res.output.lower()


def test_same_seed_same_results_json(data, tmp_path):
    docs = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        CliRunner().invoke(app, ["run", "--data", str(data), "--target", "y", "--seed", "9", "--output", str(out), "--quiet", *FAST])
        doc = json.loads(out.read_text())
        docs.append([(h["terms"], h["holdout"]["p_value"], h["narrative"]) for h in doc["hypotheses"]])
    assert docs[0] == docs[1]


def test_wide_file_is_screened_within_the_budget_set_on_the_command_line(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    x = rng.standard_normal((400, 150))
    df = pd.DataFrame(np.round(x, 5), columns=[f"c{i}" for i in range(150)])
    df["y"] = np.round(2 * x[:, 42] + rng.normal(0, 1, 400), 5)
    path, out = tmp_path / "wide.csv", tmp_path / "r.json"
    df.to_csv(path, index=False)
    res = CliRunner().invoke(app, ["run", "--data", str(path), "--target", "y", "--output", str(out), "--quiet",
                                   "--set", "preprocessing.screen_memory_mb=16",
                                   "--set", "preprocessing.max_screen_terms=5000", *FAST])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["config"]["preprocessing"]["screen_memory_mb"] == 16
    # 150 columns and their squares, then the products of the 97 strongest alone (4,656 ≤ 4,700)
    assert doc["data"]["screening"]["candidate_terms"] == 300 + 97 * 96 // 2
    note = next(n for n in doc["notes"] if "candidate terms were screened" in n)
    assert "products of weaker columns were not screened" in note
    assert [c["name"] for c in doc["columns"] if c["verdict"] == "matters"] == ["c42"]
