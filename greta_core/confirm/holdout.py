"""Confirmation on the holdout split (DESIGN §5): robust tests, a verdict per column, one answer.

Each hypothesis from the search is refitted on the holdout statistics. Its tests use the
heteroskedasticity-robust (HC4) covariance (``greta_core.stats.robust``), its middle term summed
over every held-out row (``greta_core.confirm.sandwich``):

- overall: all its columns together;
- each term: the term's columns (a needed main term — one a product or square of its column
  requires — is reported but need not pass alone: it is the effect at the others' averages);
- each column: every term that uses the column (its value and missing indicator, square, log,
  products) together — the column's *verdict*.

Every holdout test of every re-tested hypothesis is corrected together (Benjamini–Hochberg).
A hypothesis is confirmed when its overall test, each term no other term needs, and each of
its columns pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from greta_core.confirm.layout import Layout
from greta_core.confirm.sizes import column_sizes
from greta_core.hypothesis_search.scoring import Scored
from greta_core.plan.schema import TargetInfo
from greta_core.plan.terms import parents
from greta_core.stats.linear import Gram, evaluate, scaled_inverse
from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import benjamini_hochberg, wilks_f
from greta_core.stats.robust import COV_TYPE, RobustFit, WaldTest, robust_fit


@dataclass
class Confirmed:
    terms: tuple[int, ...]
    discovery: dict[str, Any]
    holdout: dict[str, Any]
    term_tests: list[dict[str, Any]]
    column_tests: list[dict[str, Any]]
    confirmed: bool
    effects: list[dict[str, Any]] = field(default_factory=list)
    partial_dependence: list[dict[str, Any]] = field(default_factory=list)
    odds_ratios: list[dict[str, Any]] = field(default_factory=list)
    logistic: dict[str, Any] = field(default_factory=dict)  # which rows and method the odds ratios come from
    rank_checks: list[dict[str, Any]] = field(default_factory=list)
    role: str = "candidate"  # lead | alternative | not confirmed
    sizes: dict[str, dict[str, Any]] = field(default_factory=dict)  # column → its headline effect

    @property
    def passing_columns(self) -> set[str]:
        return {c["name"] for c in self.column_tests if c["passed"]}


@dataclass
class _Tests:
    """The robust tests of one hypothesis before the multiple-testing correction."""

    fit: RobustFit
    overall: WaldTest
    terms: list[WaldTest]
    columns: dict[str, tuple[list[int], WaldTest]]  # column → (term slots, test)


def _discovery(gram: Gram, layout: Layout, hyps: Sequence[tuple[int, ...]]) -> list[dict[str, Any]]:
    ev = evaluate(gram, [[layout.columns[i] for i in h] for h in hyps])
    f, df1, df2 = wilks_f(1.0 - ev.r2, gram.t, np.maximum(ev.k, 1), np.maximum(ev.dfe, 1))
    r2 = ev.r2
    if gram.t > 1:  # several classes: the search ranks by Wilks' lambda; report the R² held-out rows report
        m2 = gram.corr * np.outer(gram.scale, gram.scale)
        r2 = [average_r2(m2, np.concatenate([layout.columns[i] for i in h]), gram.q) for h in hyps]
    return [{"p_value": float(10 ** ev.log10_p[i]), "log10_p": float(ev.log10_p[i]), "r2": float(r2[i]),
             "f_statistic": float(f[i]), "df1": float(df1[i]), "df2": float(df2[i]), "n": int(gram.n)}
            for i in range(len(hyps))]


def _robust_tests(m: Moments, sample: np.ndarray, layout: Layout, h: tuple[int, ...],
                  meat: tuple[np.ndarray, int] | None = None) -> _Tests:
    cols = [layout.columns[i] for i in h]
    fit = robust_fit(m, sample, np.concatenate(cols), layout.width, meat)
    slots, start = [], 0
    for c in cols:
        slots.append(list(range(start, start + len(c))))
        start += len(c)
    by_column: dict[str, list[int]] = {}
    for j, i in enumerate(h):
        for source in layout.terms[i].sources:
            by_column.setdefault(source, []).append(j)
    columns = {name: (js, fit.wald([p for j in js for p in slots[j]])) for name, js in by_column.items()}
    return _Tests(fit, fit.wald(list(range(start))), [fit.wald(s) for s in slots], columns)


def tested(front: Sequence[Scored], max_hypotheses: int) -> list[tuple[int, ...]]:
    """The hypotheses :func:`confirm` re-tests: the first ``max_hypotheses`` of the front."""
    return [s.terms for s in front[:max_hypotheses]]


def confirm(front: Sequence[Scored], layout: Layout, discovery: Gram, held: Moments, sample: np.ndarray,
            target: TargetInfo, alpha: float, max_hypotheses: int,
            centres: dict[str, float] | None = None,
            meats: Sequence[tuple[np.ndarray, int]] | None = None, others: list[float] | None = None) -> list[Confirmed]:
    """Re-test the front on the holdout split; BH-correct every holdout test together.
    ``centres``: what was subtracted from each numeric column (for sizes in its own units).
    ``meats``: each tested hypothesis' robust (HC4) middle term summed over every held-out row, and
    those rows (``greta_core.confirm.sandwich``); without them it is estimated from ``sample``.
    ``others``: p-values of the run's other held-out tests (segments), corrected in the same
    family; replaced in place by their q-values."""
    others = others if others is not None else []
    hyps = tested(front, max_hypotheses)
    if not hyps:
        others[:] = benjamini_hochberg(np.array(others, dtype=float)).tolist()
        return []
    disc = _discovery(discovery, layout, hyps)
    hold_gram = Gram.from_moments(held, discovery.t)
    classic = evaluate(hold_gram, [[layout.columns[i] for i in h] for h in hyps])
    tests = [_robust_tests(held, sample, layout, h, meats[i] if meats is not None else None)
             for i, h in enumerate(hyps)]
    # one family: each overall, term and column test (a column with one term is that term's test)
    family: list[WaldTest] = []
    for tt in tests:
        family += [tt.overall, *tt.terms]
        family += [w for js, w in tt.columns.values() if len(js) > 1]
    corrected = benjamini_hochberg(np.array([w.p_value if w.df1 else np.nan for w in family] + others, dtype=float))
    others[:] = corrected[len(family):].tolist()
    qs = iter(corrected[: len(family)])
    needs = parents(layout.terms)
    out = []
    for i, (h, tt) in enumerate(zip(hyps, tests)):
        q_overall = next(qs)
        q_terms = [next(qs) for _ in h]
        needed = {p for j in h for p in needs[j]}
        term_tests = [_term_row(layout.terms[j].name, w, q, classic.partial_r2_terms[i, k], alpha, j not in needed)
                      for k, (j, w, q) in enumerate(zip(h, tt.terms, q_terms))]
        column_tests = []
        for name, (js, w) in tt.columns.items():
            q = next(qs) if len(js) > 1 else q_terms[js[0]]
            column_tests.append(_column_row(name, [layout.terms[h[j]].name for j in js], w, q, alpha,
                                            _importance(held, layout, h, js)))
        r2 = r2_of(held, np.concatenate([layout.columns[j] for j in h]), layout.width) if target.task == "multiclass" \
            else float(tt.fit.r2.mean())
        hold = _overall(tt, q_overall, r2, held.n)
        ok = (hold["q_value"] <= alpha and all(t["confirmed"] for t in term_tests if t["required"])
              and all(c["passed"] for c in column_tests))
        c = Confirmed(h, disc[i], hold, term_tests, column_tests, bool(ok))
        c.effects = effects(tt.fit, held, layout, h, target, {t["term"]: t for t in term_tests})
        c.sizes = column_sizes(tt.fit, held, sample, layout, h, centres or {}, target)
        out.append(c)
    return out


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _test(w: WaldTest) -> dict[str, Any]:
    return {"f_statistic": _num(w.statistic), "df1": w.df1, "df2": float(w.df2),
            "p_value": _num(w.p_value) if w.df1 else None}


def _term_row(name: str, w: WaldTest, q: float, partial_r2: float, alpha: float, required: bool) -> dict[str, Any]:
    return {"term": name, **_test(w), "q_value": _num(q), "partial_r2": _num(partial_r2),
            "confirmed": bool(np.isfinite(q) and q <= alpha), "required": required}


def _column_row(name: str, terms: list[str], w: WaldTest, q: float, alpha: float,
                importance: float) -> dict[str, Any]:
    return {"name": name, "terms": terms, **_test(w), "q_value": _num(q),
            "passed": bool(np.isfinite(q) and q <= alpha), "importance": importance}


def _overall(tt: _Tests, q: float, r2: float, n: float) -> dict[str, Any]:
    k = tt.fit.k
    adj = 1.0 - (1.0 - r2) * (n - 1.0) / max(n - k - 1.0, 1.0)
    w = tt.overall
    return {"p_value": w.p_value, "log10_p": w.log10_p, "q_value": float(q), "r2": r2, "adj_r2": adj,
            "f_statistic": float(w.statistic), "df1": float(w.df1), "df2": float(w.df2), "n": int(n),
            "covariance": COV_TYPE, "covariance_rows": tt.fit.rows}


def r2_of(m: Moments, cols: np.ndarray, q: int) -> float:
    """R² of the target on ``cols``; see :func:`average_r2`."""
    return average_r2(m.m2, cols, q)


def average_r2(m2: np.ndarray, cols: np.ndarray, q: int) -> float:
    """R² of the target on ``cols`` from the centred co-moments ``m2`` (design columns, then the
    target's). A target with several classes: the average R² of every class's indicator, the
    baseline class's too (its indicator is one minus the others', so its sums of squares are the
    sums over all the others' cross-products) — the one R² reported for such a target."""
    syy = m2[q:, q:]
    t = syy.shape[0]
    if len(cols) == 0:
        return 0.0
    sxy = m2[cols, q:]
    explained = sxy.T @ (scaled_inverse(m2[np.ix_(cols, cols)]) @ sxy)
    total, fitted = np.diag(syy), np.diag(explained)
    if t > 1:
        total, fitted = np.append(total, syy.sum()), np.append(fitted, explained.sum())
    ok = total > 0
    if not ok.any():
        return 0.0
    return float(np.clip(fitted[ok] / total[ok], 0.0, 1.0).mean())


def _importance(m: Moments, layout: Layout, h: tuple[int, ...], slots: list[int]) -> float:
    """Held-out drop in R² when the column's terms leave the model."""
    q = layout.width
    full = np.concatenate([layout.columns[i] for i in h])
    rest = [layout.columns[i] for j, i in enumerate(h) if j not in slots]
    return max(r2_of(m, full, q) - r2_of(m, np.concatenate(rest) if rest else np.zeros(0, int), q), 0.0)


def effects(fit: RobustFit, m: Moments, layout: Layout, h: Sequence[int], target: TargetInfo,
            term_tests: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per design column (and class): the holdout estimate with its robust standard
    error, 95% interval and p-value."""
    q = layout.width
    p, se, tcrit = fit.coefficient_tests()
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
                b, s = float(fit.b[r, c]), float(se[r, c])
                level, ref = _level(term, k)
                row = {"term": term.name, "column": layout.labels[col], "level": level,
                       "reference": ref, "estimate": b, "std_error": s,
                       "ci_low": b - tcrit * s, "ci_high": b + tcrit * s, "p_value": _num(p[r, c]),
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


def select(results: list[Confirmed], max_alternatives: int = 2, max_unconfirmed: int = 3) -> list[Confirmed]:
    """One answer: the best confirmed hypothesis (highest held-out adjusted R²) leads. Another
    confirmed one is kept as an alternative only if it is not nested in the lead and has a column
    with a passing verdict the lead lacks (and neither holds nor is held by a better alternative);
    unconfirmed ones not nested in the lead follow."""
    confirmed = sorted((c for c in results if c.confirmed), key=lambda c: -c.holdout["adj_r2"])
    rest = sorted((c for c in results if not c.confirmed), key=lambda c: c.holdout["log10_p"])
    if not confirmed:
        for c in rest:
            c.role = "not confirmed"
        return rest[:max_unconfirmed]
    lead = confirmed[0]
    lead.role = "lead"
    out = [lead]
    for c in confirmed[1:]:
        if len(out) > max_alternatives:
            break
        nested = any(set(c.terms) <= set(k.terms) or set(k.terms) <= set(c.terms) for k in out[1:])
        if not set(c.terms) <= set(lead.terms) and not c.passing_columns <= lead.passing_columns and not nested:
            c.role = "alternative"
            out.append(c)
    others = [c for c in rest if not set(c.terms) <= set(lead.terms)][:max_unconfirmed]
    for c in others:
        c.role = "not confirmed"
    return out + others
