"""Segments end to end: a planted segment is found on discovery rows and confirmed on held-out
rows with its true bounds; nothing is confirmed on noise; off means no segment work at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from greta_core.datasets import SEGMENT_TRUTH, planted_segment
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze
from greta_core.report import render
from greta_core.segments import Settings, find
from greta_core.segments.collect import Part, SegmentRows
from greta_core.segments.conditions import Feature
from greta_core.stats.pvalues import benjamini_hochberg


def run(df: pd.DataFrame, tmp_path, target: str, seed: int = 0, **kw) -> dict:
    path = tmp_path / f"data{seed}.csv"
    df.to_csv(path, index=False)
    return analyze(FileSpec(str(path)), AnalysisParams(target=target, seed=seed, workers=1, **kw))


@pytest.mark.parametrize("seed", range(5))
def test_planted_segment_is_the_top_confirmed_one_with_its_true_bounds(tmp_path, seed):
    t = SEGMENT_TRUTH
    doc = run(planted_segment(40_000, seed), tmp_path, "churned", seed)
    top = next(s for s in doc["segments"] if s["confirmed"])
    assert top["rank"] == 1 and top["direction"] == "higher" and top["class"] == "yes"
    conds = {c["column"]: c for c in top["conditions"]}
    assert set(conds) == {"plan", "usage", "tenure"}
    assert conds["plan"]["levels"] == [t["plan"]]
    # one quantile step (a tenth of the rows) of uniform(0, 5) and uniform(0, 6) values
    assert conds["usage"]["low"] is None and abs(conds["usage"]["high"] - t["usage_max"]) <= 0.5
    assert conds["tenure"]["high"] is None and abs(conds["tenure"]["low"] - t["tenure_min"]) <= 0.6
    inside = top["inside"]
    assert inside["ci_low"] <= t["rate_inside"] <= inside["ci_high"]
    assert 0.03 < top["share"] < 0.07
    assert top["q_value"] < 0.05 and top["sentence"].startswith("Where plan is gold")


def _coded(df: pd.DataFrame, y: np.ndarray, bins: int = 10) -> tuple[Part, list[Feature]]:
    """Rows as segment codes, as the statistics pass keeps them."""
    feats, cols = [], []
    for name in df.columns:
        v = df[name].to_numpy()
        if v.dtype.kind in "if":
            cuts = np.unique(np.quantile(v, np.arange(1, bins) / bins, method="lower"))
            feats.append(Feature(name, "numeric", cuts=tuple(cuts)))
            cols.append(np.searchsorted(cuts, v, side="left"))
        else:
            levels = tuple(sorted(set(v)))
            feats.append(Feature(name, "categorical", levels=levels))
            cols.append(np.searchsorted(np.array(levels, dtype=object), v))
    codes = np.column_stack(cols).astype(np.uint8)
    return Part(np.arange(len(y), dtype=float), codes, y[:, None].astype(float), len(y), len(y)), feats


def test_noise_confirms_no_segment_in_at_least_19_of_20_runs():
    runs_with_one = 0
    for seed in range(20):
        df = planted_segment(8_000, seed, null=True)
        y = (df.pop("churned") == "yes").to_numpy(float)
        half = len(y) // 2
        disc, feats = _coded(df.iloc[:half], y[:half])
        held, _ = _coded(df.iloc[half:], y[half:])
        held = Part(held.key, held.codes, held.y, held.seen, held.size)
        c = find(SegmentRows(disc, held), feats, "binary", Settings())
        qs = benjamini_hochberg(np.array(c.p_values))
        agree = [t.difference and (t.difference["estimate"] > 0) == (t.found.quality > 0) for t in c.tested]
        runs_with_one += any(q <= 0.05 and a for q, a in zip(qs, agree))
    assert runs_with_one <= 1


def test_a_regression_target_and_a_class_share_get_segments(tmp_path):
    rng = np.random.default_rng(5)
    n = 12_000
    df = pd.DataFrame({"kind": rng.choice(["a", "b", "c"], n), "x": rng.uniform(0, 10, n),
                       "z": rng.normal(size=n)})
    inside = (df["kind"] == "b") & (df["x"] > 7)
    df["spend"] = rng.normal(10, 2, n) + 4 * inside
    df["reason"] = np.where(inside & (rng.random(n) < 0.7), "price",
                            rng.choice(["price", "service", "other"], n, p=[0.2, 0.4, 0.4]))
    doc = run(df.drop(columns="reason"), tmp_path, "spend")
    top = doc["segments"][0]
    assert top["confirmed"] and top["class"] is None and top["inside"]["mean"] > 13
    assert {c["column"] for c in top["conditions"]} == {"kind", "x"}
    assert "the mean of spend" in top["sentence"]
    doc = run(df.drop(columns="spend"), tmp_path, "reason")
    top = doc["segments"][0]
    assert doc["task"] == "multiclass" and top["confirmed"]
    assert {c["column"] for c in top["conditions"]} == {"kind", "x"}
    assert top["class"] == "price" and top["direction"] == "higher"


def test_segments_reported_after_the_drivers(tmp_path):
    doc = run(planted_segment(10_000, 1), tmp_path, "churned", 1)
    md = render(doc, "md")
    assert md.index("## Segments") > md.index("## The model")
    assert doc["segments"][0]["sentence"] in md.replace("\\", "")
    page = render(doc, "html")
    seg = page[page.index("<h2>Segments</h2>"):]
    assert "<svg" in seg.split("<h2>")[1] and "% of rows)" in seg


def test_segments_off_does_no_segment_work(tmp_path, monkeypatch):
    import greta_core.pipeline as pipeline
    import greta_core.segments as segments

    def refuse(*a, **k):
        raise AssertionError("segment work with segments off")

    monkeypatch.setattr(pipeline, "plan_features", refuse)
    monkeypatch.setattr(segments, "collector", refuse)
    monkeypatch.setattr(segments, "find", refuse)
    doc = run(planted_segment(5_000, 2), tmp_path, "churned", 2, segments=False)
    assert "segments" not in doc
    assert "## Segments" not in render(doc, "md")
    with pytest.raises(AssertionError, match="segments off"):
        run(planted_segment(5_000, 2), tmp_path, "churned", 2)


def test_conditions_read_as_words_and_as_data():
    from greta_core.segments.conditions import Condition, as_data, describe

    calls = Feature("support_calls", "numeric", cuts=(0.0, 1.0, 2.0, 4.0), integer=True)
    assert describe(Condition(0, 3, 4), calls) == "support_calls is 3 or more"
    assert describe(Condition(0, 0, 2), calls) == "support_calls is at most 2"
    assert describe(Condition(0, 2, 2), calls) == "support_calls is 2"
    assert as_data(Condition(0, 3, 4), calls) == {"column": "support_calls", "kind": "range", "low": 2.0,
                                                   "high": None, "low_inclusive": False, "high_inclusive": True}
    tenure = Feature("tenure", "numeric", cuts=(0.5, 1.5, 3.0))
    assert describe(Condition(0, 1, 2), tenure) == "tenure is above 0.5 and at most 3"
    partner = Feature("has_partner", "numeric", cuts=(0.0,), integer=True, boolean=True)
    assert describe(Condition(0, 1, 1), partner) == "has_partner is true"
    assert describe(Condition(0, 0, 0), partner) == "has_partner is false"
    contract = Feature("contract", "categorical", levels=("monthly", "one_year", "two_year"))
    assert describe(Condition(0, levels=frozenset({0})), contract) == "contract is monthly"
    assert describe(Condition(0, levels=frozenset({0, 1})), contract) == "contract is not two_year"
    assert as_data(Condition(0, levels=frozenset({1, 0})), contract)["levels"] == ["monthly", "one_year"]


def test_wide_data_refines_its_strongest_columns_only():
    from greta_core.segments.search import beam_search

    rng = np.random.default_rng(3)
    n, p = 6000, 60
    feats = [Feature(f"x{i}", "numeric", cuts=tuple(float(c) for c in range(9))) for i in range(p)]
    codes = rng.integers(0, 10, (n, p)).astype(np.uint8)
    y = ((codes[:, 7] <= 3) & (codes[:, 41] >= 6) & (rng.random(n) < 0.8)).astype(float)
    for most in (5, 100):  # with a cap of 5 columns, 7 and 41 are still among the strongest
        top = beam_search(codes, y, feats, max_columns=most)[0]
        assert [(c.column, c.low, c.high) for c in top.segment] == [(7, 0, 3), (41, 6, 9)]
