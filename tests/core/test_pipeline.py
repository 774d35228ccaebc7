"""The main job end to end on planted data: exactly the truth is confirmed, nothing on noise."""

from __future__ import annotations

import os

import numpy as np
import pytest
from usage import Usage, peak_bounds

from greta_core.datasets import TRUTH, write_planted_csv
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze


def confirmed_features(doc: dict) -> set[str]:
    return {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]}


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory):
    made: dict = {}

    def make(kind: str, seed: int, rows: int = 20000) -> str:
        key = (kind, seed, rows)
        if key not in made:
            path = tmp_path_factory.mktemp("data") / f"{kind}{seed}.csv"
            made[key] = write_planted_csv(str(path), rows, kind, seed)
        return made[key]

    return make


@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("seed", [3, 4])
def test_planted_truth_is_confirmed_and_nothing_else(planted_file, kind, seed):
    doc = analyze(FileSpec(planted_file(kind, seed)), AnalysisParams(target="y", seed=seed))
    assert doc["task"] == kind
    assert confirmed_features(doc) == set(TRUTH)
    best = doc["hypotheses"][0]
    assert best["confirmed"] and set(best["features"]) == set(TRUTH)
    assert "x5*x7" in best["terms"]


def test_regression_estimates_cover_the_planted_coefficients(planted_file):
    doc = analyze(FileSpec(planted_file("regression", 3)), AnalysisParams(target="y", seed=3))
    effects = {e["column"]: e for e in doc["hypotheses"][0]["effects"]}
    for column, truth in [("x1", 2.0), ("x3", -1.5), ("x5*x7", 1.0)]:
        e = effects[column]
        assert e["ci_low"] - 0.05 < truth < e["ci_high"] + 0.05, (column, e)
    # cat_a: level c2 is 0.8 above every other level
    c2 = [e for e in effects.values() if e["term"] == "cat_a" and e["level"] == "c2"]
    others = [e for e in effects.values() if e["term"] == "cat_a" and e["level"] != "c2"]
    if c2:
        assert 0.5 < c2[0]["estimate"] < 1.1
    else:  # c2 is the reference level: every other level is about 0.8 below it
        assert all(-1.1 < e["estimate"] < -0.5 for e in others)


def test_same_seed_same_answer_and_document_shape(planted_file):
    path = planted_file("binary", 3, rows=6000)
    a = analyze(FileSpec(path), AnalysisParams(target="y", seed=5))
    with Usage() as outside:  # the second run: every module it needs is imported
        b = analyze(FileSpec(path), AnalysisParams(target="y", seed=5))
    strip = lambda d: [(h["terms"], h["holdout"]["p_value"]) for h in d["hypotheses"]]  # noqa: E731
    assert strip(a) == strip(b)
    for key in ("schema_version", "target", "task", "data", "hypotheses", "summary", "notes", "metrics", "config"):
        assert key in a
    h = a["hypotheses"][0]
    for key in ("rank", "terms", "features", "confirmed", "discovery", "holdout", "effects", "narrative"):
        assert key in h
    assert {"p_value", "q_value", "r2"} <= set(h["holdout"])
    assert {"term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "q_value"} <= set(h["effects"][0])
    assert h["odds_ratios"] and all(o["odds_ratio"] > 0 for o in h["odds_ratios"])
    assert h["rank_checks"]
    assert_usage(b["metrics"], outside, os.path.getsize(path))


def assert_usage(m: dict, outside: Usage, file_bytes: int) -> None:
    """The run's figures agree with the kernel's counters taken around it (the stages cover
    nearly all of the run), and the statistics pass read the file once (and the first MiB
    again, to estimate its rows)."""
    stages = m["stages"]
    assert list(stages) == ["ingest", "statistics", "search", "confirm", "narrate"]
    assert peak_bounds(outside)[0] <= m["peak_memory_mb"] <= peak_bounds(outside)[1]
    assert 0.8 * outside.wall <= m["wall_seconds"] <= outside.wall
    assert 0.8 * outside.cpu <= m["cpu_seconds"] <= outside.cpu + 0.01
    assert 0.7 * outside.wall <= sum(st["seconds"] for st in stages.values()) <= m["wall_seconds"]
    assert 0.7 * outside.cpu <= sum(st["cpu_seconds"] for st in stages.values()) <= m["cpu_seconds"] + 0.01
    for name, st in stages.items():
        assert 0 <= st["seconds"] and 0 <= st["cpu_seconds"], name
        # the stage's peak: at least what the process held when it began, at most the process' peak
        # (ru_maxrss, which the kernel may update a little after the resident size it sampled)
        top = 1.05 * max(outside.maxrss, outside.rss)
        assert 0.5 * outside.rss0 <= st["driver_peak_memory_mb"] <= top, name
    assert sum(st["bytes_read"] for st in stages.values()) == m["bytes_read"] <= outside.read
    assert m["bytes_read"] >= 0.95 * outside.read
    assert file_bytes <= stages["statistics"]["bytes_read"] <= 1.25 * file_bytes + 2**20
    assert m["workers_cpu_seconds"] is None and m["bytes_moved"] == 0


@pytest.mark.parametrize("seed", range(6))
def test_noise_confirms_nothing(tmp_path, seed):
    path = write_planted_csv(str(tmp_path / "null.csv"), 4000, "null", 500 + seed)
    doc = analyze(FileSpec(path), AnalysisParams(target="y", seed=seed, num_generations=30))
    assert not confirmed_features(doc)
    assert doc["summary"].startswith("No driver of y was confirmed")


def test_holdout_split_is_honest(planted_file):
    doc = analyze(FileSpec(planted_file("regression", 4)), AnalysisParams(target="y", seed=4, holdout_fraction=0.3))
    d = doc["data"]
    assert d["rows_discovery"] + d["rows_holdout"] == d["rows_used"] == 20000
    assert abs(d["rows_holdout"] / d["rows_used"] - 0.3) < 0.02


def test_screening_keeps_an_interaction_without_main_effects(tmp_path):
    rng = np.random.default_rng(0)
    n, p = 8000, 40
    import pandas as pd

    x = rng.standard_normal((n, p))
    df = pd.DataFrame(x, columns=[f"v{i}" for i in range(p)])
    df["y"] = 1.0 * x[:, 4] * x[:, 9] + rng.normal(0, 1, n)
    path = tmp_path / "inter.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=1, max_design_columns=120)
    doc = analyze(FileSpec(str(path)), params)
    assert any("screened" in note for note in doc["notes"])
    assert confirmed_features(doc) == {"v4", "v9"}
    assert "v4*v9" in doc["hypotheses"][0]["terms"]
