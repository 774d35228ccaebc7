"""The odds ratios of a yes/no target, their 95% intervals and p-values, and the separation
check, against statsmodels' ``Logit`` refitted on the same held-out rows, rebuilt here from the
file (``tests/refits.py``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from refits import design, held_out_rows, statsmodels_logit
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from greta_core.confirm.logistic import SEPARATED
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze

SEED = 4


def _run(df: pd.DataFrame, tmp_path: Path, **kw: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """The results of ``df`` and the rows its logistic fit used (the holdout sample)."""
    path = tmp_path / "data.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=SEED, **kw)
    return analyze(FileSpec(str(path)), params), held_out_rows(str(path), params)


def test_odds_ratios_equal_a_statsmodels_logit_on_the_same_held_out_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    n = 16_000
    df = pd.DataFrame({"a": rng.normal(3, 2, n), "b": rng.uniform(0, 10, n), "noise": rng.normal(size=n),
                       "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])})
    eta = (-0.4 + 0.5 * (df.a - 3) - 0.15 * df.b + 0.12 * (df.a - 3) * (df.b - 5)
           + 0.7 * (df.plan == "pro") - 0.4 * (df.plan == "plus"))
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), "yes", "no")
    doc, rows = _run(df, tmp_path)
    confirmed = [h for h in doc["hypotheses"] if h["confirmed"]]
    assert confirmed and any("a*b" in h["terms"] for h in confirmed)
    for h in confirmed:
        info, odds = h["logistic"], h["odds_ratios"]
        # a sample of the held-out rows: the rows rebuilt here are that sample
        assert info["rows"] == len(rows) == 5000 < info["held_out_rows"] == doc["data"]["rows_holdout"]
        labels = [o["column"] for o in odds]
        assert {"a", "b", "plan=plus", "plan=pro", "a*b"} <= set(labels)
        fit = statsmodels_logit(rows, design(rows, doc, labels))
        assert fit.mle_retvals["converged"]
        ci = np.exp(fit.conf_int()[1:])
        for o, b, se, (lo, hi), p in zip(odds, fit.params[1:], fit.bse[1:], ci, fit.pvalues[1:]):
            assert o["estimate"] == pytest.approx(b, rel=1e-7, abs=1e-12), o
            assert o["std_error"] == pytest.approx(se, rel=1e-7), o
            assert o["odds_ratio"] == pytest.approx(np.exp(b), rel=1e-7), o
            assert (o["ci_low"], o["ci_high"]) == pytest.approx((lo, hi), rel=1e-7), o
            assert o["p_value"] == pytest.approx(p, rel=1e-6, abs=0.0), o
    lead = {o["column"]: o for o in confirmed[0]["odds_ratios"]}
    assert lead["a"]["odds_ratio"] > 1 > lead["b"]["odds_ratio"] and lead["plan=pro"]["ci_low"] > 1


def test_separated_rows_give_no_odds_ratios_where_statsmodels_finds_separation(tmp_path: Path) -> None:
    """``a`` tells the classes apart perfectly: on the same rows statsmodels' Logit does not
    converge (a ConvergenceWarning) and predicts every row's class with certainty, and Greta
    reports no odds ratio, but a note that says why."""
    rng = np.random.default_rng(9)
    n = 6000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = np.where(df.a > 0.2, "yes", "no")
    doc, rows = _run(df, tmp_path)
    confirmed = [h for h in doc["hypotheses"] if h["confirmed"]]
    assert confirmed and all("a" in h["terms"] for h in confirmed)
    for h in confirmed:
        labels = list(h["terms"])  # numeric columns only: one design column each
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            fit = statsmodels_logit(rows, design(rows, doc, labels))
            p = fit.predict()
        assert any(issubclass(w.category, ConvergenceWarning) for w in seen)
        assert not fit.mle_retvals["converged"]
        assert np.mean((p < 1e-8) | (p > 1 - 1e-8)) > 0.95, np.mean((p < 1e-8) | (p > 1 - 1e-8))
        assert h["odds_ratios"] == []
    assert SEPARATED in doc["notes"]
