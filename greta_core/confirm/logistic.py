"""The logistic check of a yes/no target: odds ratios of a confirmed hypothesis' columns.

Two ways to fit it, with the same rows out:

- on the holdout sample the statistics pass keeps (Newton's method on the driver, statsmodels'
  ``Logit`` numbers): the pandas and Dask backends;
- on **all** holdout rows where the rows live: the Spark backend builds each holdout row's design
  columns on the executors and fits Spark MLlib's ``GeneralizedLinearRegression`` (binomial,
  logit link) there (``greta_core.backends.spark_logistic``).

Either way the fit is described by a :class:`LogitFit` in the design's units, and its rows and
method are reported with the odds ratios (``logistic`` of each hypothesis in the results).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from greta_core.confirm.layout import Layout

Z95 = 1.959963984540054  # the normal 97.5% quantile: Wald intervals, as statsmodels' conf_int
MIN_ROWS = 20
BIG_STEP = 10.0  # a one-sd change that multiplies the odds by more than e^10: separation
EXTREME = 1e-8  # fitted probabilities closer than this to 0 or 1 ...
EXTREME_SHARE = 0.01  # ... for more than this share of the rows: separation
SEPARATED = ("The logistic fit shows (near-)separation: in the held-out rows some columns tell the two "
             "classes apart almost perfectly, so their odds ratios have no finite estimate; none are reported.")
METHODS = {"newton": "Newton's method on the driver, as statsmodels' Logit",
           "spark-mllib": "Spark MLlib GeneralizedLinearRegression (binomial, logit) on the executors"}


@dataclass(frozen=True)
class LogitFit:
    """A logistic fit of the target on some design columns (coefficients in the design's units)."""

    columns: tuple[int, ...]  # design column indices (layout order), intercept excluded
    coef: np.ndarray
    std_error: np.ndarray
    rows: int
    converged: bool
    extreme_share: float  # fitted probabilities within EXTREME of 0 or 1
    sd: np.ndarray  # standard deviation of each column on the rows fitted
    method: str  # a key of METHODS
    iterations: int | None = None
    intercept: float = 0.0  # in the design's units (the design columns are centred)
    cov: np.ndarray | None = None  # covariance of (intercept, coef); None: estimate it from the sample

    def separated(self) -> bool:
        """No convergence, fitted probabilities of 0 or 1, or a one-sd change that multiplies the
        odds by more than e^10: the signs of (quasi-)complete separation."""
        big = np.abs(self.coef * self.sd) > BIG_STEP
        return (not self.converged) or self.extreme_share > EXTREME_SHARE or bool(big.any())


def fit_columns(c: Any, layout: Layout, constant: Callable[[int], bool]) -> tuple[int, ...]:
    """The design columns of hypothesis ``c`` that a logistic fit can use (not constant)."""
    cols = np.concatenate([layout.columns[i] for i in c.terms])
    return tuple(int(j) for j in cols if not constant(int(j)))


def odds_rows(fit: LogitFit, layout: Layout) -> list[dict[str, Any]]:
    """One row per column: the log-odds estimate and its standard error, the odds ratio with its
    95% Wald interval, and the two-sided p-value."""
    from scipy.special import ndtr  # the normal tail, without scipy.stats' half second of imports

    rows = []
    for j, b, s in zip(fit.columns, fit.coef, fit.std_error):
        b, s = float(b), float(s)
        p = 2.0 * float(ndtr(-abs(b / s))) if s > 0 else float("nan")
        rows.append({"column": layout.labels[j], "estimate": _f(b), "std_error": _f(s),
                     "odds_ratio": _f(np.exp(b)), "ci_low": _f(np.exp(b - Z95 * s)),
                     "ci_high": _f(np.exp(b + Z95 * s)), "p_value": _f(p)})
    return rows


def describe(fit: LogitFit | None, held_out: int) -> dict[str, Any]:
    """Which rows the logistic fit used and how: the ``logistic`` entry of a hypothesis (empty
    when there was no fit; a note then says why)."""
    if fit is None:
        return {}
    out: dict[str, Any] = {"method": METHODS[fit.method], "rows": int(fit.rows), "held_out_rows": int(held_out),
                           "all_held_out_rows": int(fit.rows) >= int(held_out)}
    if fit.iterations is not None:
        out["iterations"] = int(fit.iterations)
    return out


def rows_phrase(logistic: dict[str, Any]) -> str:
    """"all 10,012 held-out rows" or "a sample of 5,000 of the 10,012 held-out rows"."""
    if logistic.get("all_held_out_rows"):
        return f"all {logistic['rows']:,} held-out rows"
    return f"a sample of {logistic['rows']:,} of the {logistic['held_out_rows']:,} held-out rows"


def fit_sample(c: Any, layout: Layout, sample: np.ndarray) -> tuple[LogitFit | None, str | None]:
    """Logistic regression on the holdout sample the statistics pass kept (statsmodels' Logit
    numbers, without its second of imports: ``greta_core.stats.logistic``)."""
    from greta_core.stats.logistic import logit

    q = layout.width
    y = sample[:, q]
    if len(y) < MIN_ROWS or y.min() == y.max():
        return None, "The logistic fit was skipped: the holdout sample is too small or has one class."
    cols = fit_columns(c, layout, lambda j: not sample[:, j].std() > 0)
    x = sample[:, list(cols)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design = np.column_stack([np.ones(len(y)), x])
            res = logit(y, design, maxiter=200)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as e:  # separation, collinearity
        return None, f"The logistic fit failed ({type(e).__name__}); odds ratios are not reported."
    p = res.fitted
    fit = LogitFit(cols, res.params[1:], res.bse[1:], len(y), res.converged,
                   float(np.mean((p < EXTREME) | (p > 1 - EXTREME))), x.std(axis=0), "newton",
                   res.iterations, float(res.params[0]), res.cov)
    return fit, None


def odds_ratios(fit: LogitFit | None, note: str | None, layout: Layout) -> tuple[list[dict[str, Any]], str | None]:
    """The odds-ratio rows of ``fit``, or none and the note that says why."""
    if fit is None:
        return [], note
    if fit.separated():
        return [], SEPARATED
    return odds_rows(fit, layout), None


def union_columns(fits: Sequence[tuple[int, ...]]) -> list[int]:
    """Every design column some fit needs, in layout order."""
    return sorted({j for cols in fits for j in cols})


@dataclass(frozen=True)
class HoldoutRows:
    """The per-batch function that turns raw rows into holdout rows for the logistic fit: the
    design ``columns`` (layout indices) each divided by its ``scale``, then the 0/1 target.
    Runs where the rows are (a Spark executor), with the statistics pass' own design code."""

    builder: Any  # DesignBuilder of the plan centred at the discovery means
    terms: tuple[Any, ...]  # the layout's terms that hold ``columns``
    positions: tuple[int, ...]  # where each column sits among those terms' columns
    scale: tuple[float, ...]
    row_filter: Callable[[Any], Any] | None = None

    @classmethod
    def of(cls, builder: Any, layout: Layout, columns: Sequence[int], scale: Sequence[float],
           row_filter: Callable[[Any], Any] | None = None) -> HoldoutRows:
        owner = {int(j): i for i, cols in enumerate(layout.columns) for j in cols}
        term_ids = sorted({owner[j] for j in columns})
        sub = Layout.of([layout.terms[i] for i in term_ids])
        where = {int(j): int(k) for i, cols in zip(term_ids, sub.columns)
                 for j, k in zip(layout.columns[i], cols)}
        return cls(builder, tuple(sub.terms), tuple(where[j] for j in columns), tuple(float(v) for v in scale),
                   row_filter)

    @property
    def width(self) -> int:
        return len(self.positions) + 1

    def __call__(self, df: Any) -> np.ndarray:
        if self.row_filter is not None:
            df = self.row_filter(df)
        b = self.builder.batch(df, self.terms)
        held = b.xy[b.n_discovery:]
        out = np.empty((len(held), self.width))
        out[:, :-1] = held[:, list(self.positions)] / np.asarray(self.scale)
        out[:, -1] = held[:, held.shape[1] - b.t]
        return out


def fit_on_all_holdout_rows(backend: Any, hypotheses: Sequence[Any], layout: Layout, holdout: Any,
                            make_rows: Callable[[list[int], list[float]], HoldoutRows],
                            cancel: Callable[[], bool] | None = None) -> list[tuple[LogitFit | None, str | None]]:
    """Each hypothesis' logistic fit on every holdout row, on the backend's executors
    (``backend.rows_frame``). ``holdout``: the holdout moments (which columns vary, their sd)."""
    from greta_core.backends.spark_logistic import column_name, fit_logits

    q = layout.width
    m2 = np.diag(holdout.m2)
    n = float(holdout.n)
    if n < MIN_ROWS or not 0 < holdout.mean[q] * n < n:
        note = "The logistic fit was skipped: the held-out rows are too few or have one class."
        return [(None, note) for _ in hypotheses]
    specs = [fit_columns(c, layout, lambda j: not m2[j] > 0) for c in hypotheses]
    columns = union_columns(specs)
    sd = {j: float(np.sqrt(m2[j] / max(n - 1.0, 1.0))) for j in columns}
    rows = make_rows(columns, [sd[j] for j in columns])
    names = [column_name(j) for j in columns] + ["y"]
    frame = backend.rows_frame(rows, names)
    out: list[tuple[LogitFit | None, str | None]] = []
    for fit in fit_logits(frame, specs, sd, cancel):
        out.append((None, fit) if isinstance(fit, str) else (fit, None))
    return out


def _f(v: float) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


__all__ = ["HoldoutRows", "LogitFit", "describe", "fit_columns", "fit_on_all_holdout_rows", "fit_sample", "odds_ratios",
           "odds_rows", "rows_phrase"]
