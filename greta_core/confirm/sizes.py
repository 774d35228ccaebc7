"""Effect sizes in units a reader knows (DESIGN §6).

A per-unit coefficient of ``tenure_years^2`` or of a product means little to a reader. The
headline size of a column is the change in the predicted target (for a yes/no target: in the
probability of the positive class) as the column moves across the middle half of its values —
from its 25th to its 75th percentile — through every term that uses it, the other columns at
their averages; a two-valued column goes from one value to the other; a categorical's levels are
each compared with the reference level. The change is linear in the coefficients, so its 95%
interval comes from the robust covariance (the delta method is exact here). For a column in a
product, the change is also given with the other column at its own 25th and 75th percentiles;
for a curve, where it turns when that lies inside the data and the held-out means turn there
too, or the jump they show instead (``shape.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from greta_core.confirm.layout import Layout
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
        for j, i in using:
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
        if len(self.classes) == 1 and any(self.layout.terms[i].kind == "square" for _, i in using):
            out.update(curve_shape(values, self._partial(name), self._turning_point(name, using, values)))
        out["association"] = self._association(values, name)
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
            for c, cls in enumerate(self.classes):
                d, s = float(self.fit.b[r, c]), float(se[r, c])
                row = {"level": term.levels[k], "change": d, "ci_low": d - self.tcrit * s,
                       "ci_high": d + self.tcrit * s, "std_error": s}
                if cls is not None:
                    row["class"] = cls
                rows.append(row)
        return {"kind": "levels", "reference": term.reference, "levels": rows}
