"""A table too small to split says what the rule is, in numbers that agree with the runs that go
ahead on the same rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import greta
from greta_core.errors import DataFormatError


def test_a_split_left_short_names_its_rows_and_the_rule() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=21), "b": rng.normal(size=21)})
    df["y"] = df["a"] + rng.normal(size=21)
    refused, ran = [], []
    for seed in range(8):
        try:
            doc = greta.analyze(df, target="y", seed=seed).to_dict()
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
        assert data["rows_discovery"] + data["rows_holdout"] == 21


@pytest.mark.parametrize("rows", [5])
def test_a_table_below_the_minimum_is_refused_before_any_split(rows: int) -> None:
    df = pd.DataFrame({"a": np.arange(rows, dtype=float), "y": np.arange(rows, dtype=float)})
    with pytest.raises(DataFormatError, match=f"only {rows} row"):
        greta.analyze(df, target="y", seed=0)
