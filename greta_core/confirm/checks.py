"""Checks on the holdout sample: partial dependence and rank-based tests (the logistic check of a
yes/no target is in ``greta_core.confirm.logistic``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from greta_core.confirm.holdout import Confirmed
from greta_core.confirm.layout import Layout
from greta_core.plan.schema import TargetInfo
from greta_core.plan.terms import Term
from greta_core.stats import ranks
from greta_core.stats.moments import Moments


def partial_dependence(c: Confirmed, layout: Layout, m: Moments, sample: np.ndarray,
                       target: TargetInfo, centres: dict[str, float]) -> list[dict[str, Any]]:
    """The predicted target as each feature varies through every term that uses it (its value,
    square, log and products), all other columns held at their means; a feature in a product
    also gets one line per level of its partner (``lines``: the partner at its 25th and 75th
    percentiles). Design values are the columns minus their ``centres``; the grid is reported
    in the column's own units."""
    if target.task == "multiclass":
        return []
    q = layout.width
    beta = {e["column"]: e["estimate"] for e in c.effects}
    ybar = float(m.mean[q])
    terms = [layout.terms[i] for i in c.terms]
    main = {t.name: layout.columns[i] for i, t in enumerate(layout.terms) if t.kind in ("numeric", "categorical")}
    out = []
    for feature in sorted({f for t in terms for f in t.sources}):
        if feature not in main:
            continue
        main_term = layout.terms[int(np.flatnonzero([t.name == feature for t in layout.terms])[0])]
        if main_term.kind == "categorical":
            if main_term.name in {t.name for t in terms}:
                out.append(_categorical_pd(main_term, main[feature], beta, layout, m, ybar))
            continue
        grid = _grid(sample, main[feature])
        if grid is None:
            continue

        def curve(fixed: dict[str, float], feature: str = feature, grid: np.ndarray = grid) -> list[float]:
            """The prediction along the grid, the columns of ``fixed`` at those design values,
            any other column at its mean."""
            ys = np.full(len(grid), ybar)
            for k, t in enumerate(terms):
                col = layout.columns[c.terms[k]][0]
                if feature in t.sources:
                    value = _value(t, feature, grid, m, main, centres.get(feature, 0.0), fixed)
                elif t.kind in ("numeric", "square") and t.sources[0] in fixed:
                    value = fixed[t.sources[0]] ** (2 if t.kind == "square" else 1)
                else:
                    continue
                ys += beta[layout.labels[col]] * (value - m.mean[col])
            return ys.tolist()

        entry: dict[str, Any] = {"term": feature, "kind": "numeric",
                                 "x": (grid + centres.get(feature, 0.0)).tolist(), "y": curve({})}
        partner = next((t.sources[1] if t.sources[0] == feature else t.sources[0] for t in terms
                        if t.kind == "product" and feature in t.sources), None)
        if partner is not None and partner in main:
            values = _present(sample, main[partner])
            if len(values) >= 2:
                entry["lines"] = [{"column": partner, "quantile": share, "at": float(v + centres.get(partner, 0.0)),
                                   "y": curve({partner: float(v)})}
                                  for share, v in zip((0.25, 0.75), np.quantile(values, [0.25, 0.75]))]
        out.append(entry)
    return out


def _present(sample: np.ndarray, cols: np.ndarray) -> np.ndarray:
    v = sample[:, cols[0]]
    return v[sample[:, cols[1]] == 0] if len(cols) == 2 else v


def _grid(sample: np.ndarray, cols: np.ndarray) -> np.ndarray | None:
    v = _present(sample, cols)
    if len(v) < 2:
        return None
    return np.unique(np.quantile(v, np.linspace(0.05, 0.95, 15)))


def _value(t: Term, feature: str, grid: np.ndarray, m: Moments, main: dict, centre: float,
           fixed: dict[str, float] | None = None) -> np.ndarray:
    """The term's design value when ``feature`` is at each grid point (design units: the value
    minus ``centre``), other features at their design values in ``fixed`` or else their means."""
    if t.kind == "numeric":
        return grid
    if t.kind == "square":
        return grid**2
    if t.kind == "log":
        raw = grid + centre
        return np.log(np.maximum(raw, 1e-12)) if t.name.startswith("log(") else np.log1p(np.maximum(raw, 0.0))
    other = t.sources[1] if t.sources[0] == feature else t.sources[0]
    return grid * (fixed or {}).get(other, m.mean[main[other][0]])


def _categorical_pd(term: Term, cols: np.ndarray, beta: dict, layout: Layout, m: Moments, ybar: float) -> dict:
    seen = [k for k, j in enumerate(cols) if layout.labels[j] in beta]
    b = np.array([beta[layout.labels[cols[k]]] for k in seen])
    means = m.mean[cols[seen]]
    ys = [ybar - float(b @ means)] + [ybar + float(b[i] - b @ means) for i in range(len(seen))]
    return {"term": term.name, "kind": "categorical", "x": [term.reference, *(term.levels[k] for k in seen)], "y": ys}


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
    cat = term.kind == "categorical"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if target.task == "regression":
            if cat:
                groups = [y[v == g, 0] for g in np.unique(v)]
                return ("Kruskal-Wallis", *ranks.kruskal(*groups)) if len(groups) > 1 else None
            return ("Spearman rank correlation", *ranks.spearman(v, y[:, 0]))
        cls = (y[:, 0] if target.task == "binary" else _class_codes(y)).astype(int)
        if cat:
            table = np.array([[np.sum((v == g) & (cls == k)) for k in np.unique(cls)] for g in np.unique(v)])
            if table.shape[0] < 2 or table.shape[1] < 2:
                return None
            return ("chi-square test of independence", *ranks.chi2_contingency(table))
        if target.task == "binary":
            a, b = v[cls == 1], v[cls == 0]
            if len(a) == 0 or len(b) == 0:
                return None
            return ("Mann-Whitney U", *ranks.mannwhitneyu(a, b))
        groups = [v[cls == k] for k in np.unique(cls)]
        return ("Kruskal-Wallis", *ranks.kruskal(*groups)) if len(groups) > 1 else None


def _class_codes(y: np.ndarray) -> np.ndarray:
    return np.where(y.max(axis=1) > 0, y.argmax(axis=1) + 1, 0)


def _f(v: float) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None
