"""The test on all rows of a model fixed before looking (DESIGN §5): every column's main terms.

The split answers "which terms, which shape" with honest held-out tests, but it spends half the
rows on the search and the answer moves with the seed. A model chosen before looking at the
target needs no split: every column's main terms (a numeric column's value and missing
indicator, a categorical column's levels) fitted together on every row, each column tested
jointly with the robust (HC4) covariance over every row, the columns corrected together (Holm,
at alpha / 2: the other half stays with the held-out route, so that a column called a driver by
either route keeps the run's error rate). No seed enters it, and it has the power of all the rows.

It runs when every row is in memory (the planning sample holds the whole data) and rows far
outnumber the model's columns (:data:`ROWS_PER_COLUMN`). The sizes it gives are "holding every
other column fixed" in the literal sense: every other column is in the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from greta_core.confirm.holdout import Confirmed, _column_row, _importance, _overall, _robust_tests, effects, r2_of
from greta_core.confirm.layout import Layout
from greta_core.confirm.sandwich import held_out_meat
from greta_core.confirm.sizes import column_sizes
from greta_core.plan.schema import TargetInfo
from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import holm

ROWS_PER_COLUMN = 10  # rows per model column (and 20 more) before the fixed model is tested on all rows
MAIN_KINDS = ("numeric", "categorical")


@dataclass
class AllRows:
    """The fixed model tested on all rows: a :class:`Confirmed` whose column tests carry
    Holm-adjusted p-values (``q_value``) at ``alpha``."""

    model: Confirmed
    rows: int
    alpha: float

    @property
    def passing(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.model.column_tests if c["passed"]}

    def to_dict(self, layout: Layout) -> dict[str, Any]:
        return {"terms": [layout.terms[i].name for i in self.model.terms], "rows": self.rows,
                "alpha": self.alpha, "correction": "holm", "covariance": self.model.holdout["covariance"],
                "r2": self.model.holdout["r2"], "column_tests": self.model.column_tests}


def main_terms(layout: Layout) -> tuple[int, ...]:
    return tuple(i for i, t in enumerate(layout.terms) if t.kind in MAIN_KINDS)


def eligible(rows: float, layout: Layout) -> bool:
    """Whether rows far outnumber the fixed model's design columns."""
    h = main_terms(layout)
    width = sum(len(layout.columns[i]) for i in h)
    return bool(h) and rows >= ROWS_PER_COLUMN * width + 20


def test_all_rows(builder: Any, layout: Layout, everything: Moments, whole: Any, sample: np.ndarray,
                  target: TargetInfo, alpha: float, lin: np.ndarray, shift: np.ndarray,
                  centres: dict[str, float]) -> AllRows:
    """Fit every main term on every row (``everything``: the co-moments of both splits;
    ``whole``: those rows, in memory, for the exact robust middle term; ``builder``: a design
    builder whose held-out split is every row) and test each column at ``alpha / 2``, Holm over
    the columns. ``sample``: held-out rows for the sizes' ranges."""
    h = main_terms(layout)
    fn = held_out_meat(builder, layout, everything, [h], lin, shift)
    sums = fn.empty().merge(fn(whole))
    tests = _robust_tests(everything, sample, layout, h, (sums.meats[0], sums.rows))
    names = list(tests.columns)
    adjusted = holm(np.array([w.p_value if w.df1 else np.nan for _, w in tests.columns.values()]))
    level = alpha / 2.0
    column_tests = [_column_row(name, [layout.terms[h[j]].name for j in js], w, q, level,
                                _importance(everything, layout, h, js))
                    for name, (js, w), q in zip(names, tests.columns.values(), adjusted)]
    r2 = r2_of(everything, np.concatenate([layout.columns[i] for i in h]), layout.width) \
        if target.task == "multiclass" else float(tests.fit.r2.mean())
    overall = _overall(tests, float("nan"), r2, everything.n)
    term_rows = {t["name"]: {"term": t["terms"][0], "q_value": t["q_value"]} for t in column_tests}
    model = Confirmed(h, {}, overall, [], column_tests, any(c["passed"] for c in column_tests), role="all rows")
    model.effects = effects(tests.fit, everything, layout, h, target,
                            {layout.terms[i].name: term_rows[layout.terms[i].sources[0]] for i in h})
    model.sizes = column_sizes(tests.fit, everything, sample, layout, h, centres, target)
    return AllRows(model, int(sums.rows), level)


__all__ = ["AllRows", "eligible", "main_terms", "test_all_rows"]
