"""Holdout tests, Benjamini–Hochberg across all of them, and the estimates of each term."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from greta_core.confirm.layout import Layout
from greta_core.hypothesis_search.problem import Scored
from greta_core.plan.schema import TargetInfo
from greta_core.stats.linear import Gram, evaluate
from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import benjamini_hochberg, wilks_f


@dataclass
class Confirmed:
    terms: tuple[int, ...]
    discovery: dict[str, Any]
    holdout: dict[str, Any]
    term_tests: list[dict[str, Any]]
    confirmed: bool
    effects: list[dict[str, Any]] = field(default_factory=list)
    partial_dependence: list[dict[str, Any]] = field(default_factory=list)
    odds_ratios: list[dict[str, Any]] = field(default_factory=list)
    rank_checks: list[dict[str, Any]] = field(default_factory=list)


def _tests(gram: Gram, layout: Layout, hyps: Sequence[tuple[int, ...]]) -> dict[str, np.ndarray]:
    ev = evaluate(gram, [[layout.columns[i] for i in h] for h in hyps])
    f, df1, df2 = wilks_f(1.0 - ev.r2, gram.t, np.maximum(ev.k, 1), np.maximum(ev.dfe, 1))
    return {"ev": ev, "f": f, "df1": df1, "df2": df2}


def _overall(t: dict[str, np.ndarray], i: int, n: float) -> dict[str, Any]:
    ev = t["ev"]
    k, r2 = int(ev.k[i]), float(ev.r2[i])
    adj = 1.0 - (1.0 - r2) * (n - 1.0) / max(n - k - 1.0, 1.0)
    return {"p_value": float(10 ** ev.log10_p[i]), "log10_p": float(ev.log10_p[i]), "r2": r2,
            "adj_r2": adj, "f_statistic": float(t["f"][i]), "df1": float(t["df1"][i]),
            "df2": float(t["df2"][i]), "n": int(n)}


def confirm(front: Sequence[Scored], layout: Layout, discovery: Gram, holdout: Gram,
            holdout_moments: Moments, target: TargetInfo, alpha: float, max_hypotheses: int) -> list[Confirmed]:
    """Re-test the front on the holdout split; BH-correct every holdout test together."""
    hyps = [s.terms for s in front[:max_hypotheses]]
    if not hyps:
        return []
    disc, hold = _tests(discovery, layout, hyps), _tests(holdout, layout, hyps)
    ev = hold["ev"]
    pvals = [10 ** ev.log10_p] + [10 ** ev.log10_p_terms[:, j] for j in range(ev.log10_p_terms.shape[1])]
    qs = benjamini_hochberg(np.concatenate(pvals)).reshape(len(pvals), len(hyps))
    out = []
    for i, h in enumerate(hyps):
        tt = []
        for j, term_i in enumerate(h):
            p = 10 ** ev.log10_p_terms[i, j]
            tt.append({"term": layout.terms[term_i].name, "p_value": _num(p), "q_value": _num(qs[j + 1, i]),
                       "partial_r2": _num(ev.partial_r2_terms[i, j]),
                       "confirmed": bool(np.isfinite(qs[j + 1, i]) and qs[j + 1, i] <= alpha)})
        d = _overall(disc, i, discovery.n)
        o = _overall(hold, i, holdout.n)
        o["q_value"] = float(qs[0, i])
        ok = o["q_value"] <= alpha and all(t["confirmed"] for t in tt)
        c = Confirmed(h, d, o, tt, bool(ok))
        c.effects = effects(holdout_moments, layout, h, target, {t["term"]: t for t in tt})
        out.append(c)
    return out


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def coefficients(m: Moments, cols: np.ndarray, q: int) -> dict[str, np.ndarray]:
    """OLS of the targets on ``cols`` from centred co-moments."""
    cxx = m.m2[np.ix_(cols, cols)]
    cxy = m.m2[cols, q:]
    w = np.linalg.pinv(cxx)
    b = w @ cxy
    e = m.m2[q:, q:] - cxy.T @ b
    dfe = max(m.n - 1.0 - len(cols), 1.0)
    s2 = np.diag(e) / dfe
    se = np.sqrt(np.maximum(np.outer(np.diag(w), s2), 0.0))
    return {"b": b, "se": se, "dfe": np.array(dfe)}


def effects(m: Moments, layout: Layout, h: Sequence[int], target: TargetInfo,
            term_tests: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    q = layout.width
    cols = np.concatenate([layout.columns[i] for i in h])
    fit = coefficients(m, cols, q)
    dfe = float(fit["dfe"])
    tcrit = float(special.stdtrit(dfe, 0.975))
    sd = np.sqrt(np.maximum(np.diag(m.m2), 0.0) / max(m.n - 1.0, 1.0))
    rows, r = [], 0
    classes = target.classes[1:] if target.task == "multiclass" else (None,)
    for i in h:
        term = layout.terms[i]
        for k, col in enumerate(layout.columns[i]):
            if m.m2[col, col] <= 0:  # a level or indicator never seen in the holdout rows
                r += 1
                continue
            for c, cls in enumerate(classes):
                b, se = float(fit["b"][r, c]), float(fit["se"][r, c])
                p = float(2 * special.stdtr(dfe, -abs(b / se))) if se > 0 else None
                level, ref = _level(term, k)
                row = {"term": term.name, "column": layout.labels[col], "level": level,
                       "reference": ref, "estimate": b, "std_error": se,
                       "ci_low": b - tcrit * se, "ci_high": b + tcrit * se, "p_value": p,
                       "q_value": term_tests[term.name]["q_value"],
                       "standardized": b * sd[col] / sd[q + c] if sd[q + c] > 0 else None}
                if cls is not None:
                    row["class"] = cls
                rows.append(row)
            r += 1
    return rows


def _level(term: Any, k: int) -> tuple[str | None, str | None]:
    if term.kind == "categorical":
        return term.levels[k], term.reference
    if k == 1:  # the missing indicator of a numeric term
        return "missing", "present"
    return None, None


def rank(results: list[Confirmed]) -> list[Confirmed]:
    """Confirmed first (best held-out adjusted R² first), then the rest by held-out p."""
    return sorted(results, key=lambda c: (not c.confirmed, -c.holdout["adj_r2"] if c.confirmed else c.holdout["log10_p"]))
