"""A yes/no target is sized in its own model (DESIGN §5): changes in predicted probability from
the logistic fit, averaged over the held-out rows, checked against statsmodels' ``Logit`` fitted
on the same held-out rows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from greta_core.backends import open_backend
from greta_core.confirm.holdout import confirm
from greta_core.confirm.layout import Layout
from greta_core.confirm.logistic import LogitFit, fit_sample
from greta_core.confirm.sizes import logistic_curves, logistic_sizes
from greta_core.hypothesis_search.problem import Scored
from greta_core.ingestion.readers import FileSpec
from greta_core.narrate.templates import Narrator
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze, make_plan, statistics_pass
from greta_core.plan.design import canonical_features, split_keys
from greta_core.plan.schema import TargetInfo
from greta_core.plan.terms import Term
from greta_core.stats.centring import recentre
from greta_core.stats.linear import Gram
from greta_core.stats.logistic import logit

TERMS = ["balance", "income", "student", "balance^2", "balance*income"]


def default_like(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """A rare-event table like ISLR's Default: about 3% default; students carry larger balances
    (so they default more on their own) but default less at a given balance; on the log-odds
    scale balance is a straight line and does not interact with income."""
    rng = np.random.default_rng(seed)
    student = rng.random(n) < 0.3
    balance = np.maximum(rng.normal(750 + 300 * student, 450), 0.0)
    income = np.maximum(rng.normal(np.where(student, 18_000, 40_000), 9_000), 500.0)
    eta = -10.9 + 0.0058 * balance + 0.000003 * income - 0.65 * student
    y = rng.random(n) < expit(eta)
    return pd.DataFrame({"balance": balance.round(2), "income": income.round(2),
                         "student": np.where(student, "Yes", "No"), "y": np.where(y, "yes", "no")})


def _setup(df: pd.DataFrame, tmp_path: Path, terms: list[str], seed: int = 0):
    """The pipeline's confirmation of hypothesis ``terms`` on ``df`` with its logistic fit on all
    held-out rows, and the held-out rows themselves."""
    path = tmp_path / "default.csv"
    df.to_csv(path, index=False)
    params = AnalysisParams(target="y", seed=seed, sample_size=20_000, squares=True, interactions=True)
    backend = open_backend("pandas", FileSpec(str(path)), None, {})
    plan = make_plan(backend.sample(params.sample_rows), backend.columns(), params)
    summary, layout, _ = statistics_pass(backend, plan, params, lambda *a: None, None)
    summary, delta = recentre(summary, layout, 1)
    centres = {n: plan.centre(n) + d for n, d in delta.items()}
    h = tuple(i for i, t in enumerate(layout.terms) if t.name in terms)
    assert len(h) == len(terms)
    disc = Gram.from_moments(summary.discovery, 1)
    [c] = confirm([Scored(h, (0.0, 0.0, 0.0), 0.0)], layout, disc, summary.holdout, summary.sample,
                  plan.target, 0.05, 1)
    fit, note = fit_sample(c, layout, summary.sample)
    assert fit is not None, note
    u1, _ = split_keys(canonical_features(plan, df), seed)
    held = df[u1 < params.holdout_fraction].reset_index(drop=True)
    assert len(held) == summary.sample.shape[0] == summary.holdout.n  # every held-out row is fitted
    args = (fit, summary.holdout, summary.sample, layout, c.terms, centres, plan.target, 0.05)
    return c, args, held


def _design(held: pd.DataFrame, terms: list[str], **fixed: object) -> np.ndarray:
    """The design statsmodels is given: raw (uncentred) squares and products, which span the
    same model as Greta's centred ones."""
    d = held.assign(**fixed)
    cols = {"balance": d["balance"], "income": d["income"], "student": (d["student"] == "Yes").astype(float),
            "balance^2": d["balance"] ** 2, "balance*income": d["balance"] * d["income"]}
    x = np.column_stack([cols[t].to_numpy(float) for t in terms])
    return sm.add_constant(x, has_constant="add")


def _apc(res, held: pd.DataFrame, terms: list[str], lo: dict, hi: dict) -> tuple[float, float]:
    """The average predictive comparison P(hi) − P(lo) over the rows by statsmodels' fit, and
    its delta-method standard error from a numerical gradient of the average."""
    x0, x1 = _design(held, terms, **lo), _design(held, terms, **hi)

    def ame(b: np.ndarray) -> float:
        return float(np.mean(expit(x1 @ b) - expit(x0 @ b)))

    b = res.params
    cov = res.cov_params()
    g = np.zeros(len(b))
    for j in range(len(b)):
        step = 1e-4 * np.sqrt(cov[j, j])
        e = np.zeros(len(b))
        e[j] = step
        g[j] = (ame(b + e) - ame(b - e)) / (2 * step)
    return ame(b), float(np.sqrt(g @ cov @ g))


@pytest.fixture(scope="module")
def default_df() -> pd.DataFrame:
    return default_like()


def test_rare_event_sizes_match_statsmodels_logit(default_df, tmp_path):
    c, args, held = _setup(default_df, tmp_path, TERMS)
    sizes = logistic_sizes(*args)
    terms = TERMS
    x = _design(held, terms)
    sx = x.std(axis=0)
    sx[[0, 3]] = 1.0  # the constant and the 0/1 student column as they are (get_margeff's dummy)
    res = sm.Logit((held["y"] == "yes").to_numpy(float), x / sx).fit(disp=0, maxiter=200)
    # back to the raw columns' units (a fit on scaled columns keeps statsmodels' precision)
    res_params, res_cov = res.params / sx, res.cov_params() / np.outer(sx, sx)
    sm_fit = type("Fit", (), {"params": res_params, "cov_params": lambda self: res_cov})()
    assert (held["y"] == "yes").mean() == pytest.approx(0.03, abs=0.01)  # a rare target

    for name in ("balance", "income"):
        lo, hi = np.quantile(held[name], [0.25, 0.75])
        size = sizes[name]
        assert size["model"] == "logistic" and size["kind"] == "middle half"
        assert (size["from"], size["to"]) == pytest.approx((lo, hi))
        d, se = _apc(sm_fit, held, terms, {name: lo}, {name: hi})
        row = size["changes"][0]
        assert row["change"] == pytest.approx(d, rel=1e-4, abs=1e-7)
        assert row["std_error"] == pytest.approx(se, rel=1e-3)
        assert row["ci_low"] == pytest.approx(d - 1.959964 * se, rel=1e-3, abs=1e-6)
        a, b = size["predicted"]
        assert b - a == pytest.approx(d, rel=1e-6, abs=1e-9)
    # the balance size is a change of about a point or two, as the observed rates say, not the
    # straight line's seven
    lo, hi = sizes["balance"]["from"], sizes["balance"]["to"]
    assert 0.0 < sizes["balance"]["changes"][0]["change"] < 0.04
    linear = c.sizes["balance"]["changes"][0]["change"]
    assert linear > 1.5 * sizes["balance"]["changes"][0]["change"]
    observed = held.loc[held["balance"].between(hi - 50, hi + 50), "y"].eq("yes").mean() - \
        held.loc[held["balance"].between(lo - 50, lo + 50), "y"].eq("yes").mean()
    assert abs(sizes["balance"]["changes"][0]["change"] - observed) < 0.015

    # student, one level against the reference: statsmodels' own average discrete change
    [row] = sizes["student"]["levels"]
    assert sizes["student"]["reference"] == "No" and row["level"] == "Yes"
    d, se = _apc(sm_fit, held, terms, {"student": "No"}, {"student": "Yes"})
    assert row["change"] == pytest.approx(d, rel=1e-4) and row["std_error"] == pytest.approx(se, rel=1e-3)
    me = res.get_margeff(at="overall", dummy=True).summary_frame()
    assert row["change"] == pytest.approx(me.iloc[2, 0], rel=1e-4)
    assert row["std_error"] == pytest.approx(me.iloc[2, 1], rel=1e-2)
    assert row["change"] < 0  # less default given balance and income

    # the square and the product are claimed only when their Wald test in the logit passes
    for name, term, j in (("balance", "balance^2", 4), ("balance", "balance*income", 5)):
        check = next(k for k in sizes[name]["scale_checks"] if k["term"] == term)
        assert check["p_value"] == pytest.approx(res.pvalues[j], rel=1e-3)
        assert check["holds"] == (res.pvalues[j] <= 0.05)
    assert not any(k["holds"] for k in sizes["balance"]["scale_checks"])  # both planted away
    assert "turns_at" not in sizes["balance"] and "by" not in sizes["balance"] and "by" not in sizes["income"]
    narrator = Narrator("y", "binary", "yes")
    sentence = narrator.column_sentence("balance", sizes["balance"], 0.001)
    assert "curve" not in sentence and "depends on" not in sentence and "interaction" not in sentence


def test_a_product_that_holds_on_the_logit_scale_is_sized_at_both_partner_levels(tmp_path):
    rng = np.random.default_rng(3)
    n = 8000
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    df["y"] = np.where(rng.random(n) < expit(-1.0 + 0.8 * df["a"] + 0.2 * df["b"] + 0.9 * df["a"] * df["b"]),
                       "yes", "no")
    c, args, held = _setup(df, tmp_path, ["a", "b", "a*b"])
    sizes = logistic_sizes(*args)
    [check] = sizes["a"]["scale_checks"]
    assert check["holds"]
    terms_x = np.column_stack([np.ones(len(held)), held["a"], held["b"], held["a"] * held["b"]])
    res = sm.Logit((held["y"] == "yes").to_numpy(float), terms_x).fit(disp=0)
    lo, hi = np.quantile(held["a"], [0.25, 0.75])
    by = sizes["a"]["by"]
    assert [b["quantile"] for b in by] == [0.25, 0.75]
    for b in by:
        x0 = np.column_stack([np.ones(len(held)), np.full(len(held), lo), np.full(len(held), b["at"]),
                              np.full(len(held), lo * b["at"])])
        x1 = x0.copy()
        x1[:, 1], x1[:, 3] = hi, hi * b["at"]
        want = float(np.mean(expit(x1 @ res.params) - expit(x0 @ res.params)))
        assert b["changes"][0]["change"] == pytest.approx(want, rel=1e-4)
    # the chart draws one line per level of b, each labelled
    curve = next(e for e in logistic_curves(*args) if e["term"] == "a")
    assert [(line["column"], line["quantile"]) for line in curve["lines"]] == [("b", 0.25), ("b", 0.75)]
    low, high = curve["lines"]
    assert np.ptp(high["y"]) > np.ptp(low["y"])  # steeper where b is higher
    sentence = Narrator("y", "binary", "yes").column_sentence("a", sizes["a"], 0.001)
    assert "depends on b" in sentence or "interaction with b" in sentence


def test_average_change_interval_covers(tmp_path):
    """In a small simulation the 95% delta-method interval of the average change covers the true
    average change (the true model's, over the same rows) in about 95% of the fits."""
    rng = np.random.default_rng(7)
    terms = [Term("x", "numeric", ("x",), ("x",)), Term("z", "numeric", ("z",), ("z",))]
    layout = Layout.of(terms)
    target = TargetInfo("y", "binary", "categorical", ("no", "yes"))
    truth = np.array([-3.0, 1.0, 0.5])
    hits, reps = 0, 300
    for _ in range(reps):
        n = 1500
        x, z = rng.normal(size=n), rng.normal(size=n)
        xx = np.column_stack([np.ones(n), x, z])
        y = (rng.random(n) < expit(xx @ truth)).astype(float)
        sample = np.column_stack([x, z, y])
        res = logit(y, xx)
        fit = LogitFit((0, 1), res.params[1:], res.bse[1:], n, True, 0.0, np.ones(2), "newton", 0,
                       float(res.params[0]), res.cov)
        size = logistic_sizes(fit, None, sample, layout, (0, 1), {}, target, 0.05)["x"]
        lo, hi = size["from"], size["to"]
        x0, x1 = xx.copy(), xx.copy()
        x0[:, 1], x1[:, 1] = lo, hi
        true = float(np.mean(expit(x1 @ truth) - expit(x0 @ truth)))
        row = size["changes"][0]
        hits += row["ci_low"] <= true <= row["ci_high"]
    assert 0.92 <= hits / reps <= 0.98, hits / reps


def test_the_report_of_a_rare_event_is_sized_by_the_logit(default_df, tmp_path):
    path = tmp_path / "d.csv"
    default_df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=0, sample_size=20_000))
    lead = doc["hypotheses"][0]
    assert lead["confirmed"] and "balance" in lead["features"]
    assert all(s.get("model") == "logistic" for s in lead["sizes"].values())
    balance = next(c for c in doc["columns"] if c["name"] == "balance")
    assert 0.0 < balance["effect"]["changes"][0]["change"] < 0.04
    assert "curve turns" not in " ".join(lead["findings"])


def test_churn_report_draws_the_fee_at_both_call_levels_and_no_per_unit_probabilities():
    from greta_core.report import render

    examples = Path(__file__).resolve().parents[3] / "examples"
    doc = analyze(FileSpec(str(examples / "churn.csv")), AnalysisParams(target="churned", seed=0))
    lead = doc["hypotheses"][0]
    assert "monthly_fee*support_calls" in lead["terms"]
    fee = next(e for e in lead["partial_dependence"] if e["term"] == "monthly_fee")
    low, high = fee["lines"]
    assert (low["column"], low["quantile"], high["quantile"]) == ("support_calls", 0.25, 0.75)
    # the sentence says the fee lowers churn at few calls and raises it at more; so do the lines
    assert low["y"][-1] < low["y"][0] and high["y"][-1] > high["y"][0]
    html = render(doc, "html")
    assert f"at support_calls = {low['at']:.2f} (25th percentile)" in html
    assert re.search(r">monthly_fee at support_calls = 1\.00<", html)  # the forest plot's row names the level
    for fmt in ("text", "md", "html"):
        report = render(doc, fmt)
        assert "per unit" not in report and "linear probability model)" not in report


def test_the_whole_retested_family_is_stored_and_its_q_values_check_out(tmp_path):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(6)})
    df["y"] = 0.3 * df.x0 + 0.2 * df.x1 + 0.1 * df.x2 * df.x3 + rng.normal(size=n)
    path = tmp_path / "family.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=1))
    family = doc["retested"]
    count = len(family["hypotheses"])
    assert count >= len(doc["hypotheses"])
    said = "the best one was re-tested" if count == 1 else f"the best {count} were re-tested"
    assert said in doc["summary"]
    assert any(f"The {len(family['tests'])} held-out tests of the {count} re-tested" in n for n in doc["notes"])
    p = np.array([t["p_value"] for t in family["tests"]], dtype=float)
    q = np.array([t["q_value"] for t in family["tests"]], dtype=float)
    ok = np.isfinite(p)
    assert np.allclose(multipletests(p[ok], method="fdr_bh")[1], q[ok], rtol=1e-9)
    shown = {tuple(h["terms"]): h for h in doc["hypotheses"]}
    for r, h in enumerate(family["hypotheses"]):
        if tuple(h["terms"]) in shown:
            overall = next(t for t in family["tests"] if t["hypothesis"] == r and t["test"] == "overall")
            assert overall["q_value"] == pytest.approx(shown[tuple(h["terms"])]["holdout"]["q_value"])


def test_a_category_that_goes_the_other_way_on_its_own_says_so(default_df, tmp_path):
    """Default-like data: students default more on their own (they carry larger balances) and
    less at a given balance."""
    path = tmp_path / "d.csv"
    default_df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=0, sample_size=20_000))
    student = next(c for c in doc["columns"] if c["name"] == "student")
    [row] = student["effect"]["levels"]
    before, after = row["marginal"]
    assert after > before and row["ci_high"] < 0
    assert "on its own it goes the other way" in student["sentence"]
    assert f"{100 * after:.1f}% with 'Yes' against {100 * before:.1f}% with 'No'" in student["sentence"]


def test_endpoints_that_round_alike_are_written_apart():
    narrator = Narrator("y", "regression")
    size = {"kind": "middle half", "from": 2023.6, "to": 2024.4, "association": 0,
            "changes": [{"change": 1.0, "ci_low": 0.5, "ci_high": 1.5, "std_error": 0.25}], "predicted": [1.0, 2.0]}
    assert "goes from 2,023.6 to 2,024.4" in narrator.column_sentence("year", size, 0.01)
    size.update({"from": 1.0001e9, "to": 1.0004e9})
    assert "goes from 1.0001e+09 to 1.0004e+09" in narrator.column_sentence("t", size, 0.01)


def test_missing_values_are_a_level_called_missing_not_other(tmp_path):
    rng = np.random.default_rng(2)
    n = 4000
    plan = rng.choice(["a", "b", "c"], n).astype(object)
    gone = rng.random(n) < 0.003  # too rare for a level of their own (under 0.5% of the rows)
    plan[gone] = None
    y = rng.normal(size=n) + np.where(plan == "b", 1.0, 0.0) + np.where(gone, 3.0, 0.0)
    df = pd.DataFrame({"plan": plan, "noise": rng.normal(size=n), "y": y})
    path = tmp_path / "m.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=0))
    col = next(c for c in doc["columns"] if c["name"] == "plan")
    levels = [r["level"] for r in col["effect"]["levels"]]
    assert "(other)" not in levels and "(missing)" in levels
    assert "with plan missing" in col["sentence"]


def test_a_separated_logistic_fit_leaves_straight_line_sizes_that_say_so(tmp_path):
    rng = np.random.default_rng(4)
    n = 4000
    z = rng.normal(size=n)
    df = pd.DataFrame({"z": z, "w": rng.normal(size=n), "y": np.where(z > 0, "yes", "no")})
    path = tmp_path / "s.csv"
    df.to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", seed=0))
    col = next(c for c in doc["columns"] if c["name"] == "z")
    assert col["effect"]["model"] == "linear probability" and "straight-line model" in col["sentence"]
    assert any("straight-line" in n and "was not usable" in n for n in doc["notes"])
    assert not any("from a logistic fit on" in n for n in doc["notes"])
