"""Sentences of the narrator, and the sizes they quote checked against statsmodels refits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hc4 import ols_hc4

from greta_core.backends import open_backend
from greta_core.confirm.holdout import confirm
from greta_core.hypothesis_search.problem import Scored
from greta_core.ingestion.readers import FileSpec
from greta_core.narrate.templates import Narrator
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze, make_plan, statistics_pass
from greta_core.plan.design import canonical_features, canonical_target, split_keys
from greta_core.stats.centring import recentre
from greta_core.stats.linear import Gram


def _change(d: float, lo: float, hi: float, **extra: Any) -> dict[str, Any]:
    return {"change": d, "ci_low": lo, "ci_high": hi, **extra}


def test_a_numeric_column_in_target_units_holding_the_others_fixed() -> None:
    size = {"kind": "middle half", "from": 2.0, "to": 8.0, "changes": [_change(-3.0, -4.0, -2.0)],
            "predicted": [12.0, 9.0], "association": -1}
    s = Narrator("spend", "regression").column_sentence("Age", size, 1e-5)
    assert s == ("As Age goes from 2.00 to 8.00 (the middle half of its values), spend falls from 12.0 to 9.00 "
                 "(by 3.00, 95% CI 2.00 to 4.00), holding the other columns fixed; confirmed on held-out data, "
                 "q < 0.001.")


def test_a_sign_opposite_to_the_plain_association_is_said() -> None:
    size = {"kind": "middle half", "from": 0.1, "to": 0.3, "changes": [_change(-0.15, -0.2, -0.1)],
            "predicted": [0.5, 0.35], "association": 1}
    s = Narrator("malignant", "binary", "1").column_sentence("compactness", size, 0.01)
    assert "the chance that malignant is '1' falls from 50.0% to 35.0% (by 15.0 points, 95% CI 10.0 to 20.0)" in s
    assert "on its own, without adjusting for the other columns, higher compactness goes with higher the chance" in s


def test_probabilities_never_leave_0_to_100() -> None:
    size = {"kind": "middle half", "from": 1.0, "to": 5.0, "changes": [_change(0.3, 0.2, 0.4)],
            "predicted": [0.8, 1.0], "clipped": True}
    s = Narrator("y", "binary", "yes").column_sentence("x", size, 0.001)
    assert "from 80.0% to 100.0%" in s and "shown clipped" in s
    assert not re.search(r"\d{3,}\.\d points", s)


def test_levels_against_the_reference_and_a_two_valued_column() -> None:
    n = Narrator("churned", "binary", "yes")
    size = {"kind": "levels", "reference": "monthly",
            "levels": [{"level": "one_year", **_change(-0.2, -0.24, -0.17)},
                       {"level": "two_year", **_change(-0.29, -0.32, -0.25)},
                       {"level": "(other)", **_change(0.01, -0.05, 0.07)}]}
    s = n.column_sentence("contract", size, 1e-9)
    assert s.startswith("The chance that churned is 'yes' differs by contract: compared with contract = 'monthly', "
                        "it is 29.0 points lower with 'two_year' (95% CI 25.0 to 32.0) and 20.0 points lower with "
                        "'one_year'")
    assert "(other)" not in s  # its interval spans zero
    flag = {"kind": "two values", "from": 0.0, "to": 1.0, "changes": [_change(0.1, 0.05, 0.15)],
            "predicted": [0.3, 0.4]}
    assert n.column_sentence("has_partner", flag, 0.002).startswith(
        "With has_partner = 1.00 rather than 0, the chance that churned is 'yes' rises from 30.0% to 40.0%")


def test_a_column_that_matters_only_through_an_interaction() -> None:
    size = {"kind": "middle half", "from": 48.8, "to": 73.1, "changes": [_change(-0.001, -0.02, 0.02)],
            "by": [{"column": "calls", "quantile": 0.25, "at": 1.0, "changes": [_change(-0.03, -0.05, -0.006)]},
                   {"column": "calls", "quantile": 0.75, "at": 2.0, "changes": [_change(0.026, 0.003, 0.05)]}]}
    s = Narrator("churned", "binary", "yes").column_sentence("fee", size, 1e-7)
    assert s.startswith("fee matters through its interaction with calls: as fee goes from 48.8 to 73.1")
    assert "falls by 3.0 points (95% CI 0.6 to 5.0) when calls is at its 25th percentile (1.00) but rises by 2.6 " \
           "points (95% CI 0.3 to 5.0) when calls is at its 75th percentile (2.00)" in s


def test_multiclass_names_the_classes_whose_interval_excludes_zero() -> None:
    size = {"kind": "middle half", "from": 1.0, "to": 3.0,
            "changes": [_change(0.12, 0.08, 0.16, **{"class": "b"}), _change(0.01, -0.02, 0.04, **{"class": "c"})]}
    s = Narrator("PID", "multiclass").column_sentence("selfLR", size, 1e-4)
    assert s.startswith("As selfLR goes from 1.00 to 3.00 (the middle half of its values), the share of PID = 'b' "
                        "rises by 12.0 points (95% CI 8.0 to 16.0), holding the other columns fixed")
    assert "'c'" not in s


# --------------------------------------------------- sizes against statsmodels, same rows
def _pipeline_fit(df: pd.DataFrame, tmp_path: Path, terms: list[str]):
    path = tmp_path / "sizes.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=0, sample_size=10_000)
    backend = open_backend("pandas", FileSpec(str(path)), None, {})
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    summary, delta = recentre(summary, layout, plan.target.width)
    centres = {n: plan.centre(n) + d for n, d in delta.items()}
    h = tuple(i for i, t in enumerate(layout.terms) if t.name in terms)
    assert len(h) == len(terms)
    disc = Gram.from_moments(summary.discovery, plan.target.width)
    [c] = confirm([Scored(h, (0.0, 0.0, 0.0), 0.0)], layout, disc, summary.holdout, summary.sample,
                  plan.target, 0.05, 1, centres)
    u1, _ = split_keys(canonical_features(plan, df), 0)
    hold = df[u1 < params.holdout_fraction].reset_index(drop=True)
    return c, centres, hold, plan


def _design(hold: pd.DataFrame, centres: dict[str, float], terms: list[str]) -> pd.DataFrame:
    v = {n: hold[n] - centres[n] for n in centres}
    cols = {}
    for t in terms:
        if "*" in t:
            a, b = t.split("*")
            cols[t] = v[a] * v[b]
        elif t.endswith("^2"):
            cols[t] = v[t[:-2]] ** 2
        else:
            cols[t] = v[t]
    return pd.DataFrame(cols)


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_sizes_equal_a_statsmodels_refit_on_the_same_holdout_rows(tmp_path: Path, task: str) -> None:
    rng = np.random.default_rng(21)
    n = 4000
    df = pd.DataFrame({"a": rng.uniform(0, 10, n), "b": rng.normal(5, 2, n), "c": rng.normal(size=n)})
    eta = 0.3 * df.a - 0.02 * (df.a - 5) ** 2 + 0.2 * df.b + 0.1 * (df.a - 5) * (df.b - 5) + 0.5 * df.c
    if task == "regression":
        df["y"] = eta + rng.normal(size=n)
    elif task == "binary":
        df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-(eta - eta.mean()))), "yes", "no")
    else:
        g = np.column_stack([np.zeros(n), eta - eta.mean(), -0.5 * df.c]) + rng.gumbel(size=(n, 3))
        df["y"] = np.array(["p", "q", "r"])[g.argmax(axis=1)]
    terms = ["a", "b", "c", "a^2", "a*b"]
    c, centres, hold, plan = _pipeline_fit(df, tmp_path, terms)
    x = _design(hold, centres, terms)
    ys = canonical_target(hold["y"], plan.target)
    # several classes: every class is sized, the baseline (first) class too
    classes = {"regression": [None], "binary": plan.target.classes[1:], "multiclass": plan.target.classes}[task]
    r2 = []
    for k, cls in enumerate(classes):
        y = ys.to_numpy(float) if cls is None else (ys == cls).to_numpy(float)
        sd = x.std().to_numpy()  # statsmodels fits unit-sd columns (the same model) to keep its precision
        fit = ols_hc4(y, sm.add_constant(x.to_numpy() / sd))
        r2.append(fit.ols.rsquared)
        means = {n: float(x[n].mean()) for n in ("a", "b", "c")}
        for name in ("a", "b", "c"):
            size = c.sizes[name]
            row = size["changes"][k]
            others = {m: means[m] for m in means if m != name}
            d, se = _contrast(fit, x.columns, sd, name, size["from"], size["to"], centres, others)
            assert row["change"] == pytest.approx(d, rel=1e-7, abs=1e-12), (task, name)
            assert row["std_error"] == pytest.approx(se, rel=1e-7), (task, name)
            assert row.get("class") == (cls if task == "multiclass" else None)
            assert row.get("baseline", False) == (task == "multiclass" and k == 0)
    # one R²: the average over every class, the baseline's too, on held-out and discovery rows
    assert c.holdout["r2"] == pytest.approx(np.mean(r2), rel=1e-9)
    u1, _ = split_keys(canonical_features(plan, df), 0)
    disc = df[u1 >= 0.5].reset_index(drop=True)
    xd, yd = _design(disc, centres, terms), canonical_target(disc["y"], plan.target)
    r2d = [sm.OLS(yd.to_numpy(float) if cls is None else (yd == cls).to_numpy(float),
                  sm.add_constant(xd)).fit().rsquared for cls in classes]
    assert c.discovery["r2"] == pytest.approx(np.mean(r2d), rel=1e-6)


def _contrast(fit, columns, sd, name, lo, hi, centres, others):
    """statsmodels' change in prediction as ``name`` goes from lo to hi, the other columns at
    the design values ``others``, and its HC4 standard error."""
    def row(value: float) -> np.ndarray:
        vals = {**others, name: value - centres[name]}
        out = [1.0]
        for t, s in zip(columns, sd):
            if "*" in t:
                a, b = t.split("*")
                out.append(vals[a] * vals[b] / s)
            elif t.endswith("^2"):
                out.append(vals[t[:-2]] ** 2 / s)
            else:
                out.append(vals[t] / s)
        return np.array(out)

    test = fit.t_test((row(hi) - row(lo))[None, :])
    return float(np.squeeze(test.effect)), float(np.squeeze(test.sd))


def test_every_sentence_quotes_its_own_numbers_and_stays_within_100_points(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame({"tenure": rng.exponential(3, n), "calls": rng.poisson(1.5, n),
                       "plan": rng.choice(["a", "b", "c"], n), "noise": rng.normal(size=n)})
    eta = -0.5 - 0.3 * df.tenure + 0.4 * df.calls + 0.8 * (df.plan == "b")
    df["y"] = np.where(rng.random(n) < 1 / (1 + np.exp(-eta)), "yes", "no")
    path = tmp_path / "sentences.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=2))
    matter = [c for c in doc["columns"] if c["verdict"] == "matters"]
    assert {c["name"] for c in matter} == {"tenure", "calls", "plan"}
    assert doc["summary"].startswith("What goes with y: ")
    for c in matter:
        sentence, size = c["sentence"], c["effect"]
        assert "holding the other columns fixed" in sentence
        for points in re.findall(r"([\d.]+) points", sentence):
            assert float(points) <= 100.0
        rows = size["levels"] if size["kind"] == "levels" else size["changes"]
        shown = [r for r in rows if r["ci_low"] > 0 or r["ci_high"] < 0]
        for r in shown[:3]:
            assert f"{abs(100 * r['change']):.1f} points" in sentence, (sentence, r)
        if size["kind"] != "levels":
            a, b = size["predicted"]
            assert f"from {100 * a:.1f}% to {100 * b:.1f}%" in sentence, (sentence, a, b)
            if not size.get("clipped"):  # the two predictions are the change apart
                assert b - a == pytest.approx(size["changes"][0]["change"], rel=1e-9, abs=1e-12)
    lead = doc["hypotheses"][0]
    assert lead["findings"] == [c["sentence"] for c in matter]
    shares = doc["target_info"]["class_shares"]
    assert shares["yes"] == pytest.approx((df.y == "yes").mean(), abs=1e-12)


def test_a_probability_change_beyond_100_points_is_clipped() -> None:
    from greta_core.confirm.sizes import _clip_probability

    row = _change(-1.1, -1.3, -0.9)
    _clip_probability(row)
    assert row == {"change": -1.0, "ci_low": -1.0, "ci_high": -0.9, "clipped": True}
    size = {"kind": "middle half", "from": 5.0, "to": 53.0, "changes": [row], "predicted": [0.98, 0.0],
            "clipped": True}
    s = Narrator("choice", "binary", "1").column_sentence("ttme", size, 1e-9)
    assert "by 100.0 points, 95% CI 90.0 to 100.0" in s and "shown clipped" in s


def test_a_yes_no_size_from_the_straight_line_says_so() -> None:
    size = {"kind": "two values", "from": 0.0, "to": 1.0, "model": "linear probability",
            "changes": [_change(0.1, 0.05, 0.15)], "predicted": [0.3, 0.4]}
    s = Narrator("churned", "binary", "yes").column_sentence("has_partner", size, 0.01)
    assert "straight-line model" in s
    size["model"] = "logistic"
    assert "straight-line" not in Narrator("churned", "binary", "yes").column_sentence("has_partner", size, 0.01)


def test_a_headline_change_at_a_partners_average_names_that_level() -> None:
    size = {"kind": "middle half", "from": 1.0, "to": 2.0, "predicted": [3.0, 4.0],
            "changes": [_change(1.0, 0.5, 1.5)], "others_at": [{"column": "fee", "at": 60.25, "quantity": "average"}],
            "by": [{"column": "fee", "quantile": 0.25, "at": 50.0, "changes": [_change(0.5, 0.1, 0.9)]},
                   {"column": "fee", "quantile": 0.75, "at": 70.0, "changes": [_change(1.5, 1.0, 2.0)]}]}
    s = Narrator("spend", "regression").column_sentence("calls", size, 0.01)
    assert "holding the other columns fixed and fee at its average (60.2)" in s


def test_no_confirmed_column_says_why_and_never_that_there_is_no_evidence() -> None:
    data = {"rows_used": 189, "rows_holdout": 95, "rows_discovery": 94, "columns_used": ["a", "b", "c"]}
    s = Narrator("bwt", "regression").summary(data, [], [], 500)
    assert "no reliable evidence" not in s and "not evidence that none does" in s
    assert "95 held-out rows" in s and "8.3%" in s  # (1.96 + 0.84)² / 95: the partial R² found 80% of the time


def test_the_answer_comes_first_and_is_called_an_association() -> None:
    data = {"rows_used": 6000, "rows_holdout": 3000, "rows_discovery": 3000, "columns_used": ["a", "b"]}
    hyps = [{"role": "lead", "holdout": {"r2": 0.2, "q_value": 1e-6}}]
    columns = [{"name": "a", "verdict": "matters"}, {"name": "b", "verdict": "not in the model"}]
    s = Narrator("vote", "regression").summary(data, hyps, columns, 500)
    assert s.startswith("What goes with vote: a (most important first).")
    assert "drives" not in s
    assert s.endswith("These are associations in this data: a column can go with vote because it affects it, "
                      "because it follows from it, or because both follow from something else.")
