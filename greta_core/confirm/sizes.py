"""Effect sizes in units a reader knows (DESIGN §6).

A per-unit coefficient of ``tenure_years^2`` or of a product means little to a reader. The
headline size of a column is the change in the predicted target as the column moves across the
middle half of its values — from its 25th to its 75th percentile — through every term that uses
it, the other columns at their averages; a two-valued column goes from one value to the other; a
categorical's levels are each compared with the reference level. The change is linear in the
coefficients, so its 95% interval comes from the robust covariance (the delta method is exact
here). For a column in a product, the change is also given with the other column at its own 25th
and 75th percentiles; for a curve, where it turns when that lies inside the data and the held-out
means turn there too, or the jump or bend they show instead (``shape.py``).

A target with several classes is sized in every class's share, the baseline (first) class's
too: its change is minus the sum of the others', its interval from their joint covariance.

A yes/no target is sized in its own model (:func:`logistic_sizes`): the change in predicted
probability from the logistic fit, averaged over the held-out rows; a curve or a dependence on
another column is described only where it holds on that scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from greta_core.confirm.layout import Layout
from greta_core.confirm.logistic import Z95
from greta_core.confirm.shape import curve_shape
from greta_core.plan.schema import TargetInfo
from greta_core.stats.moments import Moments
from greta_core.stats.robust import RobustFit


def _clip_probability(row: dict[str, Any]) -> None:
    """A change in a probability stays within ±1 (±100 points), its interval too; a straight-line
    model that says otherwise is marked ``clipped``."""
    for key in ("change", "ci_low", "ci_high"):
        if abs(row[key]) > 1.0:
            row[key] = max(min(row[key], 1.0), -1.0)
            row["clipped"] = True


def column_sizes(fit: RobustFit, m: Moments, sample: np.ndarray, layout: Layout, h: Sequence[int],
                 centres: dict[str, float], target: TargetInfo) -> dict[str, dict[str, Any]]:
    """The headline size of each column of hypothesis ``h`` (see the module's docstring)."""
    sizer = _Sizer(fit, m, sample, layout, tuple(h), centres, target)
    out = {}
    for name in dict.fromkeys(s for i in h for s in layout.terms[i].sources):
        size = sizer.size(name)
        if size is not None:
            if target.task == "binary":
                size["model"] = "linear probability"
            out[name] = size
    return out


class _Sizer:
    def __init__(self, fit: RobustFit, m: Moments, sample: np.ndarray, layout: Layout, h: tuple[int, ...],
                 centres: dict[str, float], target: TargetInfo) -> None:
        self.fit, self.m, self.sample, self.layout, self.h = fit, m, sample, layout, h
        self.centres, self.target = centres, target
        self.q = layout.width
        self.slot: list[int] = []  # first slot (coefficient row) of each term of h
        start = 0
        for i in h:
            self.slot.append(start)
            start += len(layout.columns[i])
        self.main = {t.name: i for i, t in enumerate(layout.terms) if not t.engineered}
        self.classes = list(target.classes[1:]) if target.task == "multiclass" else [None]
        self.tcrit = fit.coefficient_tests()[2]

    # ------------------------------------------------------------------ values of a column
    def _raw(self, name: str) -> np.ndarray:
        """The column's values in the holdout sample (rows where it is present), own units."""
        cols = self.layout.columns[self.main[name]]
        v = self.sample[:, cols[0]]
        if len(cols) == 2:
            v = v[self.sample[:, cols[1]] == 0]
        # back in the column's own units, without the rounding noise of subtracting and adding
        # the centre (1.0 stays 1.0, not 0.9999999999998)
        return np.array([float(f"{x:.12g}") for x in v + self.centres.get(name, 0.0)])

    def _has_curve(self, using: list[tuple[int, int]]) -> bool:
        """Whether the model gives the column a curve (a square) to check against the data."""
        return any(self.layout.terms[i].kind == "square" for _, i in using)

    def _partial(self, name: str) -> np.ndarray:
        """The target in the holdout sample less the fitted part of the model's other columns,
        on the rows of :meth:`_raw` (one target column)."""
        y = self.sample[:, self.q].copy()
        for j, i in enumerate(self.h):
            if name not in self.layout.terms[i].sources:
                cols = list(self.layout.columns[i])
                y -= self.sample[:, cols] @ self.fit.b[self.slot[j]:self.slot[j] + len(cols), 0]
        cols = self.layout.columns[self.main[name]]
        return y[self.sample[:, cols[1]] == 0] if len(cols) == 2 else y

    def _design(self, name: str, x: float) -> float:
        return x - self.centres.get(name, 0.0)

    def _mean_design(self, name: str) -> float:
        return float(self.m.mean[self.layout.columns[self.main[name]][0]])

    def _term_value(self, i: int, name: str, x: float, others: dict[str, float]) -> float:
        """Design value of term ``i`` with ``name`` at ``x`` and every other column at its
        design value in ``others`` (default: its holdout mean)."""
        term = self.layout.terms[i]
        v = self._design(name, x)
        if term.kind == "numeric":
            return v
        if term.kind == "square":
            return v * v
        if term.kind == "log":
            return float(np.log(max(x, 1e-12)) if term.name.startswith("log(") else np.log1p(max(x, 0.0)))
        other = term.sources[1] if term.sources[0] == name else term.sources[0]
        return v * others.get(other, self._mean_design(other))

    # ------------------------------------------------------------------ sizes
    def size(self, name: str) -> dict[str, Any] | None:
        main = self.layout.terms[self.main[name]] if name in self.main else None
        if main is not None and main.kind == "categorical":
            return self._levels(name) if self.main[name] in self.h else None
        values = self._raw(name) if name in self.main else np.zeros(0)
        if len(values) < 2:
            return None
        distinct = np.unique(values)
        if len(distinct) == 2:
            lo, hi, kind = float(distinct[0]), float(distinct[1]), "two values"
        else:
            lo, hi = (float(v) for v in np.quantile(values, [0.25, 0.75]))
            kind = "middle half"
            if lo == hi:
                lo, hi = (float(v) for v in np.quantile(values, [0.1, 0.9]))
                kind = "middle 80%"
            if lo == hi:
                return None
        using = [(j, i) for j, i in enumerate(self.h) if name in self.layout.terms[i].sources]
        out: dict[str, Any] = {"kind": kind, "from": lo, "to": hi, **self._change(name, using, lo, hi, {})}
        by = []
        for j, i in self._by_partners(name, using):
            term = self.layout.terms[i]
            if term.kind != "product":
                continue
            other = term.sources[1] if term.sources[0] == name else term.sources[0]
            ov = self._raw(other)
            if len(ov) < 2:
                continue
            for share, at in zip((0.25, 0.75), np.quantile(ov, [0.25, 0.75])):
                at = float(at)
                ch = self._change(name, using, lo, hi, {other: self._design(other, at)})
                by.append({"column": other, "quantile": share, "at": at, "changes": ch["changes"]})
        if by:
            out["by"] = by
        fixed = self._fixed_partners(name, using)
        if fixed:
            out["others_at"] = fixed
        if len(self.classes) == 1 and self._has_curve(using):
            out.update(curve_shape(values, self._partial(name), self._turning_point(name, using, values)))
        out["association"] = self._association(values, name)
        return out

    def _by_partners(self, name: str, using: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The terms of ``using`` through which the column's size may depend on another column."""
        return using

    def _fixed_partners(self, name: str, using: list[tuple[int, int]]) -> list[dict[str, Any]]:
        """The columns the headline change holds at a value (own units): each partner in a
        product, at its holdout average."""
        out = []
        for _, i in using:
            term = self.layout.terms[i]
            if term.kind == "product":
                other = term.sources[1] if term.sources[0] == name else term.sources[0]
                out.append({"column": other, "at": self._mean_design(other) + self.centres.get(other, 0.0),
                            "quantity": "average"})
        return out

    def _change(self, name: str, using: list[tuple[int, int]], lo: float, hi: float,
                others: dict[str, float]) -> dict[str, Any]:
        k = self.fit.k
        g = np.zeros(k)
        level = np.zeros((2, k))
        for j, i in using:
            s = self.slot[j]
            a, b = self._term_value(i, name, lo, others), self._term_value(i, name, hi, others)
            g[s] = b - a
            mean = self.m.mean[self.layout.columns[i][0]]
            level[:, s] = (a - mean, b - mean)
        changes, levels = [], []
        for c, cls in enumerate(self.classes):
            beta = self.fit.b[:, c]
            v = self.fit.cov[c * k:(c + 1) * k, c * k:(c + 1) * k]
            d = float(g @ beta)
            se = float(np.sqrt(max(g @ v @ g, 0.0)))
            row = {"change": d, "ci_low": d - self.tcrit * se, "ci_high": d + self.tcrit * se, "std_error": se}
            if cls is not None:
                row["class"] = cls
            changes.append(row)
            ybar = float(self.m.mean[self.q + c])
            levels.append([ybar + float(level[0] @ beta), ybar + float(level[1] @ beta)])
        if self.target.task == "multiclass":
            changes.insert(0, self._baseline(np.tile(g, len(self.classes))))
        if self.target.task != "regression":
            for row in changes:
                _clip_probability(row)
        out: dict[str, Any] = {"changes": changes}
        if any(row.get("clipped") for row in changes):
            out["clipped"] = True
        if self.target.task != "multiclass":
            lv = levels[0]
            out["predicted"] = lv
            if self.target.task == "binary" and (min(lv) < 0.0 or max(lv) > 1.0):
                out["predicted"] = [min(max(v, 0.0), 1.0) for v in lv]
                out["clipped"] = True
        return out

    def _baseline(self, g: np.ndarray) -> dict[str, Any]:
        """The change of the baseline class (the first, which has no column of its own): the class
        shares sum to one, so it is minus the sum of the other classes' changes ``g · b_c`` (``g``
        stacks the contrast of every class, class-major as the covariance), its variance
        ``g' V g`` from the covariance of all classes' slopes."""
        d = -float(g @ self.fit.b.T.ravel())
        se = float(np.sqrt(max(g @ self.fit.cov @ g, 0.0)))
        return {"change": d, "ci_low": d - self.tcrit * se, "ci_high": d + self.tcrit * se, "std_error": se,
                "class": self.target.classes[0], "baseline": True}

    def _turning_point(self, name: str, using: list[tuple[int, int]], values: np.ndarray) -> float | None:
        """Where a curve with a square turns (others at their averages), if inside the middle 90%
        of the values (one-target models only)."""
        if len(self.classes) != 1:
            return None
        lin = sq = 0.0
        for j, i in using:
            term = self.layout.terms[i]
            b = float(self.fit.b[self.slot[j], 0])
            if term.kind == "numeric":
                lin += b
            elif term.kind == "square":
                sq += b
            elif term.kind == "product":
                other = term.sources[1] if term.sources[0] == name else term.sources[0]
                lin += b * self._mean_design(other)
            else:
                return None  # a log term: no closed form
        if sq == 0.0:
            return None
        x = self.centres.get(name, 0.0) - lin / (2.0 * sq)
        lo, hi = np.quantile(values, [0.05, 0.95])
        return float(x) if lo < x < hi else None

    def _association(self, values: np.ndarray, name: str) -> int | None:
        """The sign of the column's plain (unadjusted) rank correlation with the target in the
        holdout sample: +1, −1, or 0 when it is not clearly either (|rho| < 0.02 or p > 0.05);
        None for a target with several classes."""
        if len(self.classes) != 1:
            return None
        from greta_core.stats.ranks import spearman

        cols = self.layout.columns[self.main[name]]
        rows = self.sample[:, cols[1]] == 0 if len(cols) == 2 else np.ones(len(self.sample), bool)
        y = self.sample[rows, self.q]
        if len(values) < 10 or np.ptp(values) == 0 or np.ptp(y) == 0:
            return 0
        rho, p = spearman(values, y)
        if not np.isfinite(rho) or abs(rho) < 0.02 or p > 0.05:
            return 0
        return 1 if rho > 0 else -1

    def _levels(self, name: str) -> dict[str, Any]:
        i = self.main[name]
        term = self.layout.terms[i]
        j = self.h.index(i)
        se = self.fit.std_errors()
        rows = []
        for k, col in enumerate(self.layout.columns[i]):
            if self.m.m2[col, col] <= 0:
                continue
            r = self.slot[j] + k
            if self.target.task == "multiclass":
                unit = np.zeros(self.fit.k)
                unit[r] = 1.0
                rows.append({"level": term.levels[k], **self._baseline(np.tile(unit, len(self.classes)))})
            for c, cls in enumerate(self.classes):
                d, s = float(self.fit.b[r, c]), float(se[r, c])
                row = {"level": term.levels[k], "change": d, "ci_low": d - self.tcrit * s,
                       "ci_high": d + self.tcrit * s, "std_error": s}
                if cls is not None:
                    row["class"] = cls
                else:
                    row.update(self._marginal(i, k))
                rows.append(row)
        return {"kind": "levels", "reference": term.reference, "levels": rows}

    def _marginal(self, i: int, k: int) -> dict[str, Any]:
        """The plain (unadjusted) comparison of level ``k`` of categorical term ``i`` with its
        reference in the holdout sample: the target's mean (a yes/no target's rate) in each,
        ``marginal`` = [reference, level]; nothing when either has no row or several classes."""
        if len(self.classes) != 1:
            return {}
        d = self.sample[:, self.layout.columns[i]]
        y = self.sample[:, self.q]
        at, ref = d[:, k] == 1, ~(d == 1).any(axis=1)
        if not at.any() or not ref.any():
            return {}
        return {"marginal": [float(y[ref].mean()), float(y[at].mean())]}


# ---------------------------------------------------------------------- a yes/no target
def logistic_sizes(fit: Any, m: Moments, sample: np.ndarray, layout: Layout, h: Sequence[int],
                   centres: dict[str, float], target: TargetInfo, alpha: float) -> dict[str, dict[str, Any]]:
    """The headline size of each column of hypothesis ``h`` for a yes/no target, from its logistic
    fit ``fit`` (a :class:`greta_core.confirm.logistic.LogitFit` with its intercept).

    The size is an *average predictive comparison*: for every row of the holdout sample, the
    predicted probability with the column at its 75th percentile minus that with it at its 25th
    (the row's other columns as they are), averaged over the rows — the change in the chance of
    the positive class that the logistic model gives as the column moves across its middle half.
    Its 95% interval comes from the fit's covariance by the delta method. A curve (square) or a
    dependence on another column (product) is described only where that term's own Wald test in
    the logistic fit passes at ``alpha``; each such test is listed in the size's ``scale_checks``."""
    sizer = _LogitSizer(fit, m, sample, layout, tuple(h), centres, target, alpha)
    out = {}
    for name in dict.fromkeys(s for i in h for s in layout.terms[i].sources):
        size = sizer.size(name)
        if size is not None:
            out[name] = size
    return out


class _LogitSizer(_Sizer):
    def __init__(self, fit: Any, m: Moments, sample: np.ndarray, layout: Layout, h: tuple[int, ...],
                 centres: dict[str, float], target: TargetInfo, alpha: float) -> None:
        from scipy.special import ndtr

        self.fit, self.m, self.sample, self.layout, self.h = fit, m, sample, layout, h
        self.centres, self.target, self.alpha = centres, target, alpha
        self.q = layout.width
        self.main = {t.name: i for i, t in enumerate(layout.terms) if not t.engineered}
        self.classes = [None]
        self.tcrit = Z95
        self.pos = {int(j): k for k, j in enumerate(fit.columns)}  # design column → coefficient position
        self.beta = np.concatenate([[fit.intercept], fit.coef])
        self.x = np.column_stack([np.ones(len(sample)), sample[:, list(fit.columns)]])
        self.cov = fit.cov if fit.cov is not None else _sample_covariance(self.x, self.beta, fit.rows)
        se = np.sqrt(np.maximum(np.diag(self.cov)[1:], 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.p = np.where(se > 0, 2.0 * ndtr(-np.abs(fit.coef / se)), np.nan)

    # ------------------------------------------------------------------ the logistic scale
    def _term_p(self, i: int) -> float:
        """The two-sided Wald p-value of a one-column term in the logistic fit (NaN if absent)."""
        j = int(self.layout.columns[i][0])
        return float(self.p[self.pos[j]]) if j in self.pos else float("nan")

    def _holds(self, i: int) -> bool:
        p = self._term_p(i)
        return bool(np.isfinite(p) and p <= self.alpha)

    def _main_values(self, name: str) -> np.ndarray:
        """Each sample row's design value of the numeric column ``name``."""
        return self.sample[:, self.layout.columns[self.main[name]][0]]

    def _rows(self, settings: dict[str, float]) -> np.ndarray:
        """The logistic design of every sample row with each column of ``settings`` set to its
        value (own units) in every row, the terms that use it recomputed, the rest as observed."""
        x = self.x.copy()
        for i in self.h:
            term = self.layout.terms[i]
            if not any(s in settings for s in term.sources) or term.kind == "categorical":
                continue
            cols = self.layout.columns[i]
            name = next(s for s in term.sources if s in settings)
            if term.kind == "product":
                a, b = term.sources
                va = self._design(a, settings[a]) if a in settings else self._main_values(a)
                vb = self._design(b, settings[b]) if b in settings else self._main_values(b)
                value = va * vb
            else:
                value = self._term_value(i, name, settings[name], {})
            self._put(x, int(cols[0]), value)
            if term.kind == "numeric" and len(cols) == 2:
                self._put(x, int(cols[1]), 0.0)  # present
        return x

    def _put(self, x: np.ndarray, j: int, value: Any) -> None:
        if j in self.pos:
            x[:, 1 + self.pos[j]] = value

    def _compare(self, x0: np.ndarray, x1: np.ndarray) -> dict[str, Any]:
        """The average over rows of P(x1) − P(x0), its delta-method interval, and both averages."""
        from scipy.special import expit

        p0, p1 = expit(x0 @ self.beta), expit(x1 @ self.beta)
        d = float(np.mean(p1 - p0))
        g = ((p1 * (1.0 - p1)) @ x1 - (p0 * (1.0 - p0)) @ x0) / len(p0)
        se = float(np.sqrt(max(g @ self.cov @ g, 0.0)))
        return {"change": d, "ci_low": d - Z95 * se, "ci_high": d + Z95 * se, "std_error": se,
                "levels": [float(np.mean(p0)), float(np.mean(p1))]}

    # ------------------------------------------------------------------ sizes
    def size(self, name: str) -> dict[str, Any] | None:
        out = super().size(name)
        if out is None:
            return None
        out["model"] = "logistic"
        checks = [{"term": self.layout.terms[i].name, "kind": self.layout.terms[i].kind,
                   "p_value": _finite(self._term_p(i)), "holds": self._holds(i)}
                  for i in self.h if name in self.layout.terms[i].sources
                  and self.layout.terms[i].kind in ("square", "product")]
        if checks:
            out["scale_checks"] = checks
        return out

    def _change(self, name: str, using: list[tuple[int, int]], lo: float, hi: float,
                others: dict[str, float]) -> dict[str, Any]:
        at = {o: v + self.centres.get(o, 0.0) for o, v in others.items()}  # own units
        row = self._compare(self._rows({**at, name: lo}), self._rows({**at, name: hi}))
        levels = row.pop("levels")
        return {"changes": [row], "predicted": levels}

    def _by_partners(self, name: str, using: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(j, i) for j, i in using if self.layout.terms[i].kind != "product" or self._holds(i)]

    def _fixed_partners(self, name: str, using: list[tuple[int, int]]) -> list[dict[str, Any]]:
        return []  # the other columns keep each row's own values

    def _has_curve(self, using: list[tuple[int, int]]) -> bool:
        """Only a square that holds on the logistic scale gives the column a curve."""
        return any(self.layout.terms[i].kind == "square" and self._holds(i) for _, i in using)

    def _partial(self, name: str) -> np.ndarray:
        """The yes/no target in the holdout sample less the logistic fit's prediction, plus the
        prediction from the column's own terms with the other columns' part at its average: the
        observed rates around the column's fitted curve, on the rows of :meth:`_raw`."""
        from scipy.special import expit

        eta = self.x @ self.beta
        own = np.zeros(len(self.x))
        for i in self.h:
            if name in self.layout.terms[i].sources:
                for j in self.layout.columns[i]:
                    if int(j) in self.pos:
                        k = 1 + self.pos[int(j)]
                        own += self.x[:, k] * self.beta[k]
        y = self.sample[:, self.q] - expit(eta) + expit(own + float(np.mean(eta - own)))
        cols = self.layout.columns[self.main[name]]
        return y[self.sample[:, cols[1]] == 0] if len(cols) == 2 else y

    def _turning_point(self, name: str, using: list[tuple[int, int]], values: np.ndarray) -> float | None:
        """Where the log-odds (and so the probability) turns, others at their averages: only when
        the square holds on the logistic scale and the turn lies inside the middle 90%."""
        lin = sq = 0.0
        for _, i in using:
            term = self.layout.terms[i]
            j = int(self.layout.columns[i][0])
            b = float(self.fit.coef[self.pos[j]]) if j in self.pos else 0.0
            if term.kind == "numeric":
                lin += b
            elif term.kind == "square":
                if not self._holds(i):
                    return None
                sq += b
            elif term.kind == "product":
                other = term.sources[1] if term.sources[0] == name else term.sources[0]
                lin += b * float(np.mean(self._main_values(other)))
            else:
                return None
        if sq == 0.0:
            return None
        x = self.centres.get(name, 0.0) - lin / (2.0 * sq)
        lo, hi = np.quantile(values, [0.05, 0.95])
        return float(x) if lo < x < hi else None

    def _levels(self, name: str) -> dict[str, Any]:
        i = self.main[name]
        term = self.layout.terms[i]
        cols = self.layout.columns[i]
        base = self.x.copy()
        for j in cols:
            self._put(base, int(j), 0.0)
        rows = []
        for k, col in enumerate(cols):
            if int(col) not in self.pos:
                continue
            x1 = base.copy()
            self._put(x1, int(col), 1.0)
            row = self._compare(base, x1)
            row.pop("levels")
            rows.append({"level": term.levels[k], **row, **self._marginal(i, k)})
        return {"kind": "levels", "reference": term.reference, "levels": rows, "model": "logistic"}

    # ------------------------------------------------------------------ curves
    def _average_p(self, x: np.ndarray) -> float:
        from scipy.special import expit

        return float(np.mean(expit(x @ self.beta)))

    def curves(self) -> list[dict[str, Any]]:
        out = []
        for name in sorted({s for i in self.h for s in self.layout.terms[i].sources}):
            if name not in self.main:
                continue
            i = self.main[name]
            term = self.layout.terms[i]
            if term.kind == "categorical":
                if i not in self.h:
                    continue
                cols = [int(j) for j in self.layout.columns[i]]
                base = self.x.copy()
                for j in cols:
                    self._put(base, j, 0.0)
                xs, ys = [term.reference], [self._average_p(base)]
                for k, j in enumerate(cols):
                    if j in self.pos:
                        x1 = base.copy()
                        self._put(x1, j, 1.0)
                        xs.append(term.levels[k])
                        ys.append(self._average_p(x1))
                out.append({"term": name, "kind": "categorical", "x": xs, "y": ys})
                continue
            values = self._raw(name)
            if len(values) < 2:
                continue
            grid = np.unique(np.quantile(values, np.linspace(0.05, 0.95, 15)))
            entry: dict[str, Any] = {"term": name, "kind": "numeric", "x": grid.tolist(),
                                     "y": [self._average_p(self._rows({name: float(v)})) for v in grid]}
            lines = []
            for i2 in self.h:
                t2 = self.layout.terms[i2]
                if t2.kind != "product" or name not in t2.sources or not self._holds(i2):
                    continue
                other = t2.sources[1] if t2.sources[0] == name else t2.sources[0]
                ov = self._raw(other)
                if len(ov) < 2:
                    continue
                for share, at in zip((0.25, 0.75), np.quantile(ov, [0.25, 0.75])):
                    lines.append({"column": other, "quantile": share, "at": float(at),
                                  "y": [self._average_p(self._rows({name: float(v), other: float(at)})) for v in grid]})
                break  # one partner per chart
            if lines:
                entry["lines"] = lines
            out.append(entry)
        return out


def _sample_covariance(x: np.ndarray, beta: np.ndarray, rows: int) -> np.ndarray:
    """The covariance of a logistic fit on ``rows`` rows estimated from a uniform sample ``x`` of
    them: the inverse of the sample's information scaled up to ``rows`` rows (a fit on every
    held-out row, by Spark MLlib, gives standard errors but not their covariance)."""
    from scipy.special import expit

    p = expit(x @ beta)
    info = (x.T * (p * (1.0 - p))) @ x * (rows / max(len(x), 1))
    return np.linalg.pinv(info)


def _finite(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def logistic_curves(fit: Any, m: Moments, sample: np.ndarray, layout: Layout, h: Sequence[int],
                    centres: dict[str, float], target: TargetInfo, alpha: float) -> list[dict[str, Any]]:
    """Partial dependence of a yes/no target from its logistic fit: the predicted probability
    averaged over the holdout sample's rows as each column of ``h`` moves through its values
    (5th to 95th percentile), or level by level. A column whose product with another holds on
    the logistic scale gets one line per level of that column (its 25th and 75th percentiles)."""
    sizer = _LogitSizer(fit, m, sample, layout, tuple(h), centres, target, alpha)
    return sizer.curves()
