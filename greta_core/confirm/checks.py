"""Checks on the holdout sample: partial dependence, rank-based tests, logistic odds ratios."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from greta_core.confirm.holdout import Confirmed
from greta_core.confirm.layout import Layout
from greta_core.plan.schema import TargetInfo
from greta_core.plan.terms import Term
from greta_core.stats.moments import Moments


def partial_dependence(c: Confirmed, layout: Layout, m: Moments, sample: np.ndarray,
                       target: TargetInfo) -> list[dict[str, Any]]:
    """The predicted target as each term varies, the other columns held at their means."""
    if target.task == "multiclass":
        return []
    q = layout.width
    by_col = {e["column"]: e["estimate"] for e in c.effects}
    ybar = float(m.mean[q])
    out = []
    for i in c.terms:
        term, cols = layout.terms[i], layout.columns[i]
        beta = np.array([by_col[layout.labels[j]] for j in cols])
        if term.kind == "categorical":
            means = m.mean[cols]
            ys = [ybar - float(beta @ means)] + [ybar + float(beta[k] - beta @ means) for k in range(len(cols))]
            out.append({"term": term.name, "kind": "categorical", "x": [term.reference, *term.levels], "y": ys})
            continue
        v = sample[:, cols[0]]
        if len(cols) == 2:
            v = v[sample[:, cols[1]] == 0]
        if len(v) < 2:
            continue
        grid = np.unique(np.quantile(v, np.linspace(0.05, 0.95, 12)))
        ys = ybar + beta[0] * (grid - m.mean[cols[0]])
        out.append({"term": term.name, "kind": "numeric", "x": grid.tolist(), "y": ys.tolist()})
    return out


def _term_values(term: Term, cols: np.ndarray, sample: np.ndarray) -> np.ndarray:
    if term.kind == "categorical":
        d = sample[:, cols]
        return np.where(d.max(axis=1) > 0, d.argmax(axis=1) + 1, 0)
    return sample[:, cols[0]]


def rank_checks(c: Confirmed, layout: Layout, sample: np.ndarray, target: TargetInfo) -> list[dict[str, Any]]:
    q = layout.width
    y = sample[:, q:]
    out = []
    for i in c.terms:
        term = layout.terms[i]
        v = _term_values(term, layout.columns[i], sample)
        res = _rank_check(term, v, y, target)
        if res is not None:
            method, stat, p = res
            out.append({"term": term.name, "method": method, "statistic": _f(stat), "p_value": _f(p),
                        "n": int(len(v))})
    return out


def _rank_check(term: Term, v: np.ndarray, y: np.ndarray, target: TargetInfo):  # noqa: ANN202
    from scipy import stats

    cat = term.kind == "categorical"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if target.task == "regression":
            if cat:
                groups = [y[v == g, 0] for g in np.unique(v)]
                return ("Kruskal-Wallis", *stats.kruskal(*groups)) if len(groups) > 1 else None
            r = stats.spearmanr(v, y[:, 0])
            return "Spearman rank correlation", r.statistic, r.pvalue
        cls = (y[:, 0] if target.task == "binary" else _class_codes(y)).astype(int)
        if cat:
            table = np.array([[np.sum((v == g) & (cls == k)) for k in np.unique(cls)] for g in np.unique(v)])
            if table.shape[0] < 2 or table.shape[1] < 2:
                return None
            r = stats.chi2_contingency(table)
            return "chi-square test of independence", r.statistic, r.pvalue
        if target.task == "binary":
            a, b = v[cls == 1], v[cls == 0]
            if len(a) == 0 or len(b) == 0:
                return None
            r = stats.mannwhitneyu(a, b)
            return "Mann-Whitney U", r.statistic, r.pvalue
        groups = [v[cls == k] for k in np.unique(cls)]
        return ("Kruskal-Wallis", *stats.kruskal(*groups)) if len(groups) > 1 else None


def _class_codes(y: np.ndarray) -> np.ndarray:
    return np.where(y.max(axis=1) > 0, y.argmax(axis=1) + 1, 0)


def odds_ratios(c: Confirmed, layout: Layout, sample: np.ndarray) -> tuple[list[dict[str, Any]], str | None]:
    """Logistic regression of a binary target on the hypothesis' columns (holdout sample)."""
    import statsmodels.api as sm

    q = layout.width
    cols = np.concatenate([layout.columns[i] for i in c.terms])
    x = sample[:, cols]
    keep = x.std(axis=0) > 0
    y = sample[:, q]
    if len(y) < 20 or y.min() == y.max():
        return [], "The logistic fit was skipped: the holdout sample is too small or has one class."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.Logit(y, sm.add_constant(x[:, keep], has_constant="add")).fit(disp=0, maxiter=200)
    except Exception as e:  # noqa: BLE001 - statsmodels raises several types for separation
        return [], f"The logistic fit failed ({type(e).__name__}); odds ratios are not reported."
    ci = np.asarray(fit.conf_int())
    params, pv = np.asarray(fit.params), np.asarray(fit.pvalues)
    labels = [layout.labels[j] for j, k in zip(cols, keep) if k]
    rows = [{"column": lab, "odds_ratio": _f(np.exp(params[i + 1])), "ci_low": _f(np.exp(ci[i + 1, 0])),
             "ci_high": _f(np.exp(ci[i + 1, 1])), "p_value": _f(pv[i + 1])} for i, lab in enumerate(labels)]
    return rows, None


def _f(v: float) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
