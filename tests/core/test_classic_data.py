"""A classic data set shipped with statsmodels gives the answer its literature gives.

Fair (1978), "A Theory of Extramarital Affairs" (Journal of Political Economy 86:45-61), the
women's survey shipped as ``statsmodels.datasets.fair``: the chance of having had an affair
falls with the rating of the marriage and with religiousness, and rises with years married
(Fair's Tobit and the logit in statsmodels' documentation agree on these signs).
"""

from __future__ import annotations

import pytest

from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze


@pytest.fixture(scope="module")
def fair_csv(tmp_path_factory):
    import statsmodels.api as sm

    df = sm.datasets.fair.load_pandas().data
    df["had_affair"] = (df.pop("affairs") > 0).astype(int)
    path = tmp_path_factory.mktemp("fair") / "fair.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_fair_affairs_drivers(fair_csv):
    doc = analyze(FileSpec(fair_csv), AnalysisParams(target="had_affair", seed=1, squares=False,
                                                     interactions=False, logs=False))
    best = doc["hypotheses"][0]
    assert best["confirmed"]
    assert {"rate_marriage", "yrs_married", "religious"} <= set(best["features"])
    sign = {e["term"]: e["estimate"] for e in best["effects"]}
    assert sign["rate_marriage"] < 0
    assert sign["religious"] < 0
    assert sign["yrs_married"] > 0
    ors = {o["column"]: o["odds_ratio"] for o in best["odds_ratios"]}
    assert ors["rate_marriage"] < 1 < ors["yrs_married"]


def test_fair_with_engineered_terms_still_finds_the_main_drivers(fair_csv):
    doc = analyze(FileSpec(fair_csv), AnalysisParams(target="had_affair", seed=1))
    confirmed = {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]}
    assert {"rate_marriage", "yrs_married", "religious"} <= confirmed
