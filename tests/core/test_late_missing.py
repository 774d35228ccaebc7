"""Missing values that first appear after the planning rows: the column gets its missing-value
indicator (the data are read again) instead of sitting at its average, where values missing
because of the outcome bend a straight effect into a false curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import greta


def _late_mnar(seed: int, n: int = 40_000, first_missing: int = 5_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m, x2, x3 = rng.normal(size=(3, n))
    y = 0.5 * m + 0.3 * x2 + rng.normal(size=n)
    # missing only after the planning rows, and more often where y is high (not at random)
    gone = (np.arange(n) >= first_missing) & (rng.random(n) < 1 / (1 + np.exp(-2 * (y - 1.0))))
    return pd.DataFrame({"m": np.where(gone, np.nan, m), "x2": x2, "x3": x3, "y": y})


@pytest.mark.parametrize("seed", [0, 1])
def test_late_missing_values_get_their_indicator_and_make_no_curve(seed: int) -> None:
    df = _late_mnar(seed)
    doc = greta.analyze(df, target="y", seed=seed, preprocessing={"sample_rows": 2000}).to_dict()
    lead = next(h for h in doc["hypotheses"] if h["role"] == "lead")
    assert "m^2" not in lead["terms"], lead["terms"]
    assert set(lead["terms"]) == {"m", "x2"}
    m = next(c for c in doc["columns"] if c["name"] == "m")
    assert m["verdict"] == "matters"
    assert m["joint_test"]["df1"] == 2  # the value and its missing-value indicator
    assert any("'m'" in n and "missing values appeared only after" in n for n in doc["notes"])
    assert doc["data"]["rows_used"] == len(df)  # read again, not counted twice
    # the middle half comes from observed values only, not the filled-in ones
    lo, hi = np.nanquantile(df["m"], [0.25, 0.75])
    assert m["effect"]["from"] == pytest.approx(lo, abs=0.06)
    assert m["effect"]["to"] == pytest.approx(hi, abs=0.06)


def test_columns_complete_in_the_planning_rows_are_read_once() -> None:
    df = _late_mnar(0, first_missing=0)  # the planning rows see the missing values
    doc = greta.analyze(df, target="y", seed=0, preprocessing={"sample_rows": 2000}).to_dict()
    assert not any("appeared only after" in n for n in doc["notes"])
    m = next(c for c in doc["columns"] if c["name"] == "m")
    assert m["joint_test"]["df1"] == 2
