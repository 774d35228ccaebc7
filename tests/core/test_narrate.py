"""Sentences of the narrator: a feature seen through several terms at once (its curve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from greta_core.ingestion.readers import FileSpec
from greta_core.narrate.templates import Narrator
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze

X = [0.0, 1.0, 2.0, 3.0, 4.0]


def _entry(y: list[float]) -> dict[str, Any]:
    return {"term": "age", "kind": "numeric", "x": X, "y": y}


def test_a_monotone_curve_gives_both_ends() -> None:
    s = Narrator("spend", "regression").curve(_entry([10.0, 8.0, 6.5, 5.5, 5.0]), ["age", "age^2"])
    assert s == ("Taken together (age and age^2), as age runs through the middle 90% of its values, spend "
                 "falls from 10.0 at age = 0 to 5.00 at 4.00, other columns at their averages.")


def test_a_valley_and_a_peak_are_named_with_where_they_turn() -> None:
    n = Narrator("spend", "regression")
    assert "falls from 10.0 at age = 0 to a low of 2.00 near 2.00, then rises to 9.00 at 4.00" in \
        n.curve(_entry([10.0, 5.0, 2.0, 5.0, 9.0]), ["age", "age^2"])
    assert "rises from 1.00 at age = 0 to a high of 9.00 near 3.00, then falls to 4.00 at 4.00" in \
        n.curve(_entry([1.0, 4.0, 7.0, 9.0, 4.0]), ["age", "age^2"])
    # a dip smaller than a tenth of the curve's range is not a turn
    assert "falls from 10.0 at age = 0 to 0.500 at 4.00" in n.curve(_entry([10.0, 6.0, 2.0, 0.4, 0.5]), ["age", "age^2"])


def test_a_probability_curve_is_in_percent_and_skipped_when_it_leaves_0_to_100() -> None:
    n = Narrator("churned", "binary", "yes")
    s = n.curve(_entry([0.48, 0.4, 0.3, 0.2, 0.05]), ["age", "age*fee"])
    assert "the chance that churned is 'yes' falls from 48.0% at age = 0 to 5.0% at 4.00" in s
    assert n.curve(_entry([0.3, 0.2, 0.1, 0.0, -0.1]), ["age", "age*fee"]) is None
    assert n.curve(_entry([0.3] * 5), ["age", "age*fee"]) is None  # flat: nothing to say


def test_findings_add_the_curve_only_for_a_feature_in_several_terms(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 4000
    df = pd.DataFrame({"age": rng.uniform(0, 10, n), "other": rng.normal(size=n)})
    df["y"] = (df.age - 5) ** 2 + 2 * df.other + rng.normal(size=n)
    path = tmp_path / "valley.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=1, interactions=False, logs=False))
    best = doc["hypotheses"][0]
    assert best["confirmed"] and {"age", "age^2", "other"} <= set(best["terms"])
    curves = [f for f in best["findings"] if f.startswith("Taken together")]
    assert len(curves) == 1 and curves[0].startswith("Taken together (age and age^2), as age runs")
    assert "falls from" in curves[0] and "to a low of" in curves[0] and "then rises to" in curves[0]
    assert curves[0] in best["narrative"]
