"""Held-out rows rebuilt from a data file, their design columns written out by hand, and
statsmodels' Logit refitted on them: what the odds ratios of a yes/no target are compared with.

The rows are chosen as the pipeline chooses them (``split_keys`` of the feature values: the
holdout rows, and the holdout sample as the ``sample_size`` of them with the smallest second
key); the design columns are the columns minus the centres the results report, their products
and squares, a missing value's indicator and 0/1 columns of a categorical's levels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def held_out_rows(path: str, params: Any, sample: bool = True) -> pd.DataFrame:
    """The held-out rows of the CSV file ``path`` under ``params`` (AnalysisParams): the holdout
    sample (``sample``), or every held-out row."""
    from greta_core.backends import open_backend
    from greta_core.ingestion.readers import FileSpec
    from greta_core.pipeline import make_plan
    from greta_core.plan.design import canonical_features, split_keys

    df = pd.read_csv(path, float_precision="round_trip")  # the exact values: the split hashes them
    backend = open_backend("pandas", FileSpec(path), None, {})
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    u1, u2 = split_keys(canonical_features(plan, df), params.seed)
    held = np.flatnonzero(u1 < params.holdout_fraction)
    if sample:
        held = held[np.argsort(u2[held], kind="stable")[: params.sample_size]]
    return df.iloc[held].reset_index(drop=True)


def design(rows: pd.DataFrame, doc: dict[str, Any], labels: list[str]) -> pd.DataFrame:
    """The design columns named ``labels`` (as the results name them) of ``rows``, with the
    centres of ``doc`` (the results)."""
    from greta_core.plan.schema import MISSING_LEVEL

    centre = {c["name"]: c["centre"] for c in doc["data"]["columns_used"] if c["kind"] == "numeric"}
    v = {n: (rows[n] - c).fillna(0.0) for n, c in centre.items()}  # a missing value sits at the centre
    out = {}
    for label in labels:
        if "=" in label:
            name, level = label.split("=", 1)
            out[label] = (rows[name].isna() if level == MISSING_LEVEL else rows[name] == level).astype(float)
        elif label.endswith(":missing"):
            out[label] = rows[label[: -len(":missing")]].isna().astype(float)
        elif "*" in label:
            a, b = label.split("*")
            out[label] = v[a] * v[b]
        elif label.endswith("^2"):
            out[label] = v[label[:-2]] ** 2
        else:
            out[label] = v[label]
    return pd.DataFrame(out)


def statsmodels_logit(rows: pd.DataFrame, x: pd.DataFrame, target: str = "y", positive: str = "yes") -> Any:
    """statsmodels' ``Logit(y, [1, x]).fit()`` (its default Newton's method)."""
    import statsmodels.api as sm

    y = (rows[target] == positive).to_numpy(float)
    return sm.Logit(y, sm.add_constant(x.to_numpy(), has_constant="add")).fit(disp=0, maxiter=200)
