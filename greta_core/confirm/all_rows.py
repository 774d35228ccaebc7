"""The test on all rows of models fixed before looking at the target (DESIGN §5).

The split answers "which terms, which shape" with honest held-out tests, but it spends half the
rows on the search and its answer moves with the seed. A model chosen before looking at the
target needs no split. Two such models are fitted on every row:

- the *main-terms* model: every column's main terms (a numeric column's value and missing
  indicator, a categorical column's levels);
- the *all-terms* model: every candidate term of the plan (squares, logs, products too), when
  the plan's terms were not screened (screening looks at the target), they take at most
  :data:`ALL_TERMS_MAX_COLUMNS` design columns and rows far outnumber them.

No model is fixed when screening had to drop main terms (it looked at the target to choose
them). Each column is tested in each model jointly over its terms, with the robust (HC4) covariance
summed over every row; all these tests are corrected together (Holm, at alpha / 2: the other
half stays with the held-out route, so that a column called a driver by either keeps the run's
error rate). A column passes when one of its tests passes. No seed enters it, and it has the
power of all the rows. The fits come from the co-moments of both splits; each model's middle
term is summed over every row by the narrow pass after the search (``greta_core.confirm.sandwich``:
on the rows in memory, the statistics pass' local copy, or the source again). A model is fitted
when rows outnumber its design columns :data:`ROWS_PER_COLUMN` times over (and
:data:`EXTRA_ROWS` more); the main-terms model is also fitted on a small table, when it has at
most :data:`SMALL_COLUMNS` design columns and leaves :data:`SMALL_RESIDUAL_DF` residual degrees
of freedom (stackloss: 21 rows, 3 columns; longley: 16 rows, 6 columns). Sizes from the
main-terms model hold every other column fixed in the literal sense: every other column is in
the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from greta_core.confirm.holdout import Confirmed, _column_row, _importance, _overall, _robust_tests, effects, r2_of
from greta_core.confirm.layout import Layout
from greta_core.confirm.sizes import column_sizes
from greta_core.plan.schema import TargetInfo
from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import holm

ROWS_PER_COLUMN = 3
EXTRA_ROWS = 10
#: The all-terms model's most design columns: its robust middle term costs rows × columns² (20
#: columns give 230 terms: about 10 s over 40,000 rows). Past it, with rows enough for the model,
#: the lead model's held-out tests judge curves and products instead.
ALL_TERMS_MAX_COLUMNS = 120
#: Rows × squared side of the fixed models' middle terms (design columns × target columns) when
#: the rows are not in memory (a second pass sums them): 4·10¹⁰ is 1M rows of a 200-column main-terms model, about
#: the work of the statistics pass' co-moments of a 250-column design. Past it the all-terms
#: model, then the main-terms model, are left out (the split alone decides).
MAX_CELLS = 4e10
SMALL_COLUMNS = 10  # a main-terms model this narrow is fitted on a small table ...
SMALL_RESIDUAL_DF = 8  # ... when it leaves this many residual degrees of freedom
MAIN_KINDS = ("numeric", "categorical")
TEST_KEYS = ("f_statistic", "df1", "df2", "p_value", "q_value", "passed")


@dataclass
class AllRows:
    """The fixed models tested on all rows. ``model``: the main-terms model (its column tests
    carry Holm-adjusted p-values as ``q_value``); ``all_terms``: the all-terms model's column
    tests, when it was fitted."""

    model: Confirmed
    rows: int
    alpha: float
    all_terms: list[dict[str, Any]] | None = None
    terms: dict[str, list[str]] = field(default_factory=dict)
    held_out_shapes: bool = False  # no all-terms model, though rows were many (terms screened, or too costly)

    def column(self, name: str) -> dict[str, Any] | None:
        """The column's test on all rows: the one that passed (the main-terms model's first),
        else the main-terms model's; with ``model``: "main terms" or "all terms"."""
        found = [{**{k: c[k] for k in TEST_KEYS}, "importance": c["importance"], "terms": c["terms"], "model": m}
                 for m, tests in (("main terms", self.model.column_tests), ("all terms", self.all_terms or []))
                 for c in tests if c["name"] == name]
        return next((c for c in found if c["passed"]), found[0] if found else None)

    @property
    def passing(self) -> list[str]:
        names = [c["name"] for c in self.model.column_tests]
        return [n for n in names if (self.column(n) or {}).get("passed")]

    def note(self, also: bool = True) -> str:
        """What was tested and what passed; ``also``: besides the held-out tests (not when the
        table was too small to split)."""
        models = "every column's main terms" + (", and every candidate term," if self.all_terms is not None else "")
        k = len(self.model.column_tests) + len(self.all_terms or [])
        passed = self.passing
        return (f"The columns were {'also ' if also else ''}tested on all {self.rows:,} rows in models fixed "
                "before looking at the "
                f"target ({models} fitted together; HC4, Holm's correction over the {k} column tests at alpha / 2 = "
                f"{self.alpha:g}): " + (f"{', '.join(passed)} passed." if passed else "none passed."))

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "alpha": self.alpha, "correction": "holm", "covariance": self.model.holdout["covariance"],
                "models": [{"name": "main terms", "terms": self.terms["main terms"], "r2": self.model.holdout["r2"],
                            "column_tests": self.model.column_tests}]
                + ([{"name": "all terms", "terms": self.terms["all terms"], "column_tests": self.all_terms}]
                   if self.all_terms is not None else [])}


def main_terms(layout: Layout) -> tuple[int, ...]:
    return tuple(i for i, t in enumerate(layout.terms) if t.kind in MAIN_KINDS)


def width(layout: Layout, h: tuple[int, ...]) -> int:
    return sum(len(layout.columns[i]) for i in h)


def fits(rows: float, layout: Layout, h: tuple[int, ...]) -> bool:
    """Whether rows far outnumber the design columns of the model of terms ``h``."""
    return bool(h) and rows >= ROWS_PER_COLUMN * width(layout, h) + EXTRA_ROWS


def rows_needed(layout: Layout) -> int:
    """The fewest rows on which the main-terms model is fitted. A narrow model needs only
    :data:`SMALL_RESIDUAL_DF` residual degrees of freedom: its few coefficients are estimated
    well enough from a small table (the textbook regressions of stackloss and longley), and the
    t and F reference distributions with those degrees of freedom allow for the small sample."""
    w = width(layout, main_terms(layout))
    return w + 1 + SMALL_RESIDUAL_DF if w <= SMALL_COLUMNS else ROWS_PER_COLUMN * w + EXTRA_ROWS


def eligible(rows: float, layout: Layout) -> bool:
    """Whether the main-terms model is fitted on these rows (the all-terms model keeps :func:`fits`)."""
    return bool(main_terms(layout)) and rows >= rows_needed(layout)


def fixed_models(layout: Layout, everything: Moments, all_terms: bool = True,
                 rows_read: float | None = None) -> tuple[list[tuple[int, ...]], bool]:
    """The models fixed before looking that are fitted on these rows (``everything``: the
    co-moments of both splits): the main-terms model and, when ``all_terms`` (no term was
    screened: screening looks at the target), the all-terms model if it fits; and whether the
    lead model's held-out tests judge curves and products instead (no all-terms model though the
    rows were many). With ``rows_read`` (rows not in memory: the middle terms take a second pass
    over them), the models' middle terms must cost at most :data:`MAX_CELLS` row-cells."""
    main = main_terms(layout)
    if not eligible(everything.n, layout):
        return [], False
    models = [main]
    every = tuple(range(len(layout.terms)))
    # the all-terms model, but for its cost (more than ALL_TERMS_MAX_COLUMNS design columns, or
    # MAX_CELLS below): without it, the held-out tests judge curves and products
    could = all_terms and every != main and fits(everything.n, layout, every)
    if could and layout.width <= ALL_TERMS_MAX_COLUMNS:
        models.append(every)
    if rows_read is not None:
        t = len(everything.mean) - layout.width  # target columns: a model's middle term is (t × width)²
        while models and rows_read * sum((t * width(layout, h)) ** 2 for h in models) > MAX_CELLS:
            models.pop()
    return models, len(models) == 1 and (not all_terms or could)


def too_costly(layout: Layout, everything: Moments, rows_read: float) -> str:
    """Why the main-terms model was not fitted on rows not in memory (:data:`MAX_CELLS`)."""
    w = width(layout, main_terms(layout))
    k = (len(everything.mean) - layout.width) * w  # its robust variance's side: a block per target column
    return (f"The columns were not tested on all rows: the model of every column's main terms has {w:,} design "
            f"columns, and its robust variance over {rows_read:,.0f} rows would cost {rows_read * k * k:.1e} "
            f"row-column² (more than {MAX_CELLS:.0e}); the held-out tests alone decide, so the answer may move "
            "with the seed. Fewer columns (or a sample of the rows) let every row be used.")


def test_all_rows(layout: Layout, everything: Moments, models: list[tuple[int, ...]],
                  meats: tuple[np.ndarray, ...], rows: int, sample: np.ndarray, target: TargetInfo,
                  alpha: float, centres: dict[str, float], held_out_shapes: bool = False) -> AllRows:
    """Test each column in each fixed model (:func:`fixed_models`) fitted on every row
    (``everything``: the co-moments of both splits; ``meats``: each model's robust middle term
    summed over those ``rows``, ``greta_core.confirm.sandwich``). ``sample``: held-out rows for
    the sizes' ranges."""
    main = models[0]
    tests = [_robust_tests(everything, sample, layout, h, (meat, rows)) for h, meat in zip(models, meats)]
    flat = [(m, name, js, w) for m, tt in enumerate(tests) for name, (js, w) in tt.columns.items()]
    adjusted = holm(np.array([w.p_value if w.df1 else np.nan for *_, w in flat]))
    level = alpha / 2.0
    out: list[list[dict[str, Any]]] = [[] for _ in models]
    for (m, name, js, w), q in zip(flat, adjusted):
        h = models[m]
        out[m].append(_column_row(name, [layout.terms[h[j]].name for j in js], w, q, level,
                                  _importance(everything, layout, h, js)))
    fit = tests[0]
    r2 = r2_of(everything, np.concatenate([layout.columns[i] for i in main]), layout.width) \
        if target.task == "multiclass" else float(fit.fit.r2.mean())
    by_column = {c["name"]: c for c in out[0]}
    model = Confirmed(main, {}, _overall(fit, float("nan"), r2, everything.n), [], out[0],
                      any(c["passed"] for c in out[0]), role="all rows")
    model.effects = effects(fit.fit, everything, layout, main, target,
                            {layout.terms[i].name: {"q_value": by_column[layout.terms[i].sources[0]]["q_value"]}
                             for i in main})
    model.sizes = column_sizes(fit.fit, everything, sample, layout, main, centres, target)
    names = {"main terms": [layout.terms[i].name for i in main]}
    if len(models) > 1:
        names["all terms"] = [layout.terms[i].name for i in models[1]]
    return AllRows(model, int(rows), level, out[1] if len(models) > 1 else None, names, held_out_shapes)

__all__ = ["AllRows", "eligible", "fixed_models", "main_terms", "rows_needed", "test_all_rows", "too_costly"]
