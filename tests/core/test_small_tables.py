"""A table too small to split: with every row in memory, each column is tested on all rows with
every other column in the model (the verdicts a statsmodels HC4 refit with Holm's correction
gives, whatever the seed); a table too small even for that, or a split left short when not every
row is in memory, is refused in one line that says what the rule is."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hc4 import ols_hc4
from scipy import stats

import greta
from greta_core.errors import DataFormatError
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze
from greta_core.stats.pvalues import holm

TABLES = {"stackloss": "STACKLOSS", "longley": "TOTEMP"}


def table(name: str) -> pd.DataFrame:
    return getattr(sm.datasets, name).load_pandas().data


def reference(df: pd.DataFrame, target: str, level: float) -> dict[str, tuple[float, bool]]:
    """Each column's Wald p-value in the OLS of every column on all rows with the HC4 covariance,
    and whether it passes Holm's correction over the columns at ``level``."""
    names = [c for c in df.columns if c != target]
    fit = ols_hc4(df[target].to_numpy(), np.column_stack([np.ones(len(df)), df[names].to_numpy()]))
    p = []
    for j in range(1, len(names) + 1):
        w = fit.params[j] ** 2 / fit.cov[j, j]
        p.append(stats.f.sf(w, 1, fit.df_resid))
    q = holm(np.array(p))
    return {n: (pv, qv <= level) for n, pv, qv in zip(names, p, q)}


@pytest.mark.parametrize("name", list(TABLES))
def test_a_small_table_is_tested_on_all_rows_as_statsmodels_does(name: str) -> None:
    df, target = table(name), TABLES[name]
    doc = greta.analyze(df, target=target, seed=0).to_dict()
    ref = reference(df, target, 0.025)
    assert doc["all_rows"]["rows"] == len(df) and doc["all_rows"]["alpha"] == 0.025
    got = {c["name"]: c for c in doc["columns"]}
    assert set(got) == set(ref)
    for n, (p, passed) in ref.items():
        assert got[n]["all_rows_test"]["p_value"] == pytest.approx(p, rel=1e-6)
        assert got[n]["verdict"] == ("matters" if passed else "not confirmed")
        assert got[n]["joint_test"]["p_value"] == pytest.approx(p, rel=1e-6)
    assert any(passed for _, passed in ref.values())  # AIRFLOW; ARMED: something to find in both
    assert doc["hypotheses"] == [] and doc["retested"]["tests"] == [] and "segments" not in doc
    assert doc["data"]["split"] is False and doc["data"]["rows_used"] == len(df)
    assert doc["metrics"]["search"]["strategy"] == "none"
    assert "too small to split" in doc["summary"] and f"tested on all {len(df)} rows" in doc["summary"]
    assert "too small to split" in doc["notes"][0]


@pytest.mark.parametrize("name", list(TABLES))
def test_a_small_table_gives_the_same_answer_for_every_seed(name: str) -> None:
    df, target = table(name), TABLES[name]
    docs = [greta.analyze(df, target=target, seed=s).to_dict() for s in range(6)]

    def answer(doc: dict) -> list:
        return [(c["name"], c["verdict"], round(c["joint_test"]["p_value"], 10),
                 round(c["effect"]["changes"][0]["change"], 8) if "effect" in c else None) for c in doc["columns"]]

    assert all(answer(d) == answer(docs[0]) for d in docs)
    assert len({d["summary"] for d in docs}) == 1


def test_nothing_passing_on_a_small_table_says_how_many_rows_would_be_needed() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"x{i}": rng.normal(size=15) for i in range(3)})
    df["y"] = rng.normal(size=15)
    doc = greta.analyze(df, target="y", seed=0).to_dict()
    assert all(c["verdict"] == "not confirmed" for c in doc["columns"])
    s = doc["summary"]
    assert "all 15 rows" in s and "evidence" not in s
    m = re.search(r"about ([\d.]+)% of the variation .* about ([\d,]+) rows", s)
    assert m and 30 < float(m.group(1)) < 80 and 50 <= int(m.group(2).replace(",", "")) <= 300, s


def test_a_split_left_short_names_its_rows_and_the_rule(tmp_path: Path) -> None:
    """Not every row in memory (the engine's planning sample cut at 20 rows): the rows are split,
    and a split left short is refused."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=21), "b": rng.normal(size=21)})
    df["y"] = df["a"] + rng.normal(size=21)
    df.to_csv(tmp_path / "data.csv", index=False)
    refused, ran = [], []
    for seed in range(8):
        try:
            doc = analyze(FileSpec(str(tmp_path / "data.csv")), AnalysisParams(target="y", seed=seed, sample_rows=20))
        except DataFormatError as e:
            refused.append(str(e))
        else:
            ran.append(doc["data"])
    assert refused and ran
    for msg in refused:
        m = re.match(r"Only (\d+) of the 21 rows with a target value fell in the (discovery|holdout) split; "
                     r"each split needs at least 10\b", msg)
        assert m and int(m.group(1)) < 10, msg
        assert "\n" not in msg
    for data in ran:  # the runs that went ahead had at least 10 rows in each split, as the rule says
        assert data["rows_discovery"] >= 10 and data["rows_holdout"] >= 10
        assert data["rows_discovery"] + data["rows_holdout"] == 21 and data["split"] is True


@pytest.mark.parametrize("rows", [5, 9])
def test_a_table_below_the_minimum_is_refused_before_any_split(rows: int) -> None:
    df = pd.DataFrame({"a": np.arange(rows, dtype=float), "y": np.arange(rows, dtype=float) ** 2})
    with pytest.raises(DataFormatError, match=f"only {rows} row.*at least 20 to split off held-out rows, or 10 "):
        greta.analyze(df, target="y", seed=0)


def test_a_table_too_small_for_its_columns_says_how_many_rows_they_need() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({f"x{i}": rng.normal(size=12) for i in range(5)})
    df["y"] = rng.normal(size=12)
    with pytest.raises(DataFormatError, match=r"only 12 rows .* \(5 design columns need at least 14 rows\)"):
        greta.analyze(df, target="y", seed=0)


def greta_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    return subprocess.run([sys.executable, "-m", "greta_cli.app", "run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("name", list(TABLES))
def test_the_cli_runs_a_small_table_and_writes_its_report(name: str, tmp_path: Path) -> None:
    table(name).to_csv(tmp_path / f"{name}.csv", index=False)
    proc = greta_cli("--data", f"{name}.csv", "--target", TABLES[name], "--output", "r.json", "--report", "r.html",
                     cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert doc["hypotheses"] == [] and "too small to split" in page
    assert "No hypotheses were searched: the table was too small to split" in page
    for c in doc["columns"]:
        if c["verdict"] == "matters":
            assert c["name"] in proc.stdout


def test_the_cli_refuses_six_rows_in_one_line(tmp_path: Path) -> None:
    pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) % 4, "y": np.arange(6.0) ** 2}).to_csv(
        tmp_path / "six.csv", index=False)
    proc = greta_cli("--data", "six.csv", "--target", "y", "--report", "r.html", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("greta: error: ") and "only 6 row" in lines[0], proc.stderr
    assert not (tmp_path / "r.html").exists()
