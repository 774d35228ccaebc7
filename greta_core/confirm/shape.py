"""What held-out means show about a curve (DESIGN §5: a curve is claimed only where binned
held-out means bend too; a step is a step).

A square term fitted to a step (the target flat below a threshold and flat, higher, above it)
passes its test, and the fitted parabola "turns" somewhere that means nothing. Before a turning
point is stated it is checked against the held-out rows themselves: the column's values are cut
into bins at their deciles, and the target's mean in each bin (after the model's other columns
are taken out) is compared with three shapes: a straight line, the fitted curve's shape (a
parabola), a single jump between two neighbouring bins, and a line that changes slope at one
point (a threshold). A turning point is stated only when the parabola explains the bin means best
and the bin means on its two sides move in opposite directions, each clearly; a jump or a bend is
stated when it explains them best and is clear on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_BIN_ROWS = 20
MAX_BINS = 20  # at most 20 bins, each of at least 100 rows, at least 4 (each of 20 rows or more)
CLEAR = 2.5  # |z| a slope or a jump must reach to be "clear" (about p < 0.01, two-sided)
SMALL_SLOPE = 0.25  # beside a bend, a slope under a quarter of the steeper side's reads as flat


@dataclass(frozen=True)
class Bins:
    x: np.ndarray  # mean of the column in each bin
    mean: np.ndarray  # mean of the (partial) target in each bin
    se: np.ndarray  # standard error of that mean
    rows: np.ndarray
    edges: np.ndarray  # upper bound of each bin but the last

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> Bins | None:
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        bins = int(np.clip(len(x) // 100, 4, MAX_BINS))
        cuts = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1])) if len(x) else np.zeros(0)
        which = np.searchsorted(cuts, x, side="right")
        rows = np.bincount(which, minlength=len(cuts) + 1).astype(float)
        if len(rows) < 4 or rows.min() < MIN_BIN_ROWS:
            return None
        sx = np.bincount(which, weights=x) / rows
        sy = np.bincount(which, weights=y) / rows
        var = np.bincount(which, weights=(y - sy[which]) ** 2) / np.maximum(rows - 1, 1)
        # a bin without spread (a yes/no target with no positive in it) would weigh as if exact
        floor = max(0.05 * float(np.var(y)), 1e-300)
        se = np.sqrt(np.maximum(var, floor) / rows)
        return cls(sx, sy, se, rows, cuts)

    def _fit(self, design: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Weighted least squares of the bin means: coefficients, their covariance, the weighted SSE."""
        w = 1.0 / self.se**2
        xtw = design.T * w
        cov = np.linalg.pinv(xtw @ design)
        b = cov @ (xtw @ self.mean)
        r = self.mean - design @ b
        return b, cov, float(np.sum(w * r**2))

    def slope_z(self, keep: np.ndarray) -> float:
        """The z of a straight line's slope through the bin means ``keep`` (0 with fewer than 2)."""
        if keep.sum() < 2:
            return 0.0
        sub = Bins(self.x[keep], self.mean[keep], self.se[keep], self.rows[keep], self.edges[:0])
        b, cov, _ = sub._fit(np.column_stack([np.ones(keep.sum()), sub.x]))
        return float(b[1] / np.sqrt(max(cov[1, 1], 1e-300)))

    def curve_sse(self) -> float:
        x = (self.x - self.x.mean()) / (np.ptp(self.x) or 1.0)
        return self._fit(np.column_stack([np.ones_like(x), x, x * x]))[2]

    def best_jump(self) -> tuple[int, float, float] | None:
        """The step between bins k and k+1 that best explains the bin means: (k, its weighted SSE,
        the z of the jump's size)."""
        best = None
        w = 1.0 / self.se**2
        for k in range(len(self.mean) - 1):
            left, right = slice(0, k + 1), slice(k + 1, None)
            lo = np.average(self.mean[left], weights=w[left])
            hi = np.average(self.mean[right], weights=w[right])
            fitted = np.where(np.arange(len(self.mean)) <= k, lo, hi)
            sse = float(np.sum(w * (self.mean - fitted) ** 2))
            z = (hi - lo) / np.sqrt(1.0 / w[left].sum() + 1.0 / w[right].sum())
            if best is None or sse < best[1]:
                best = (k, sse, float(z))
        return best

    def best_bend(self) -> tuple[float, float, np.ndarray, np.ndarray] | None:
        """The straight line that changes slope at one bin edge (two bins or more on each side)
        and best explains the bin means: (the edge, its weighted SSE, the slopes below and
        above, their z)."""
        best = None
        for k in range(1, len(self.mean) - 2):
            knot = float(self.edges[k])
            design = np.column_stack([np.ones_like(self.x), self.x, np.maximum(self.x - knot, 0.0)])
            b, cov, sse = self._fit(design)
            g = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 1.0]])  # the slope below, the slope above
            slopes = g @ b
            z = slopes / np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", g, cov, g), 1e-300))
            if best is None or sse < best[1]:
                best = (knot, sse, slopes, z)
        return best


def curve_shape(x: np.ndarray, y: np.ndarray, turn: float | None) -> dict[str, object]:
    """What the bin means of ``y`` (the target with the model's other columns taken out) over
    ``x`` (the column's observed values, held-out rows) show about a fitted curve turning at
    ``turn``: ``{"turns_at": turn}`` when they turn there too; ``{"jump": ...}`` when a single
    step explains them best, ``{"bend": ...}`` when a line that changes slope at one point does;
    else nothing to claim beyond the size. Shapes are compared by their weighted squared error
    plus two per parameter (a knot counts as one), as AIC would."""
    bins = Bins.of(np.asarray(x, float), np.asarray(y, float))
    if bins is None:
        return {}
    scores: dict[str, float] = {"curve": bins.curve_sse() + 2 * 3}
    jump, bend = bins.best_jump(), bins.best_bend()
    if jump is not None and abs(jump[2]) >= CLEAR:
        scores["jump"] = jump[1] + 2 * 3
    if bend is not None and abs(bend[3][1] - bend[3][0]) > 0 and _clear_change(bins, bend):
        scores["bend"] = bend[1] + 2 * 4
    shape = min(scores, key=scores.get)
    if shape == "jump":
        k = jump[0]
        change = _side(bins, slice(k + 1, None)) - _side(bins, slice(0, k + 1))
        return {"jump": {"at": float(bins.edges[k]), "change": change, "bins": len(bins.mean)}}
    if shape == "bend":
        knot, _, slopes, z = bend
        steeper = float(np.max(np.abs(slopes)))
        side = [_direction(zi) if abs(si) >= SMALL_SLOPE * steeper else "flat" for si, zi in zip(slopes, z)]
        return {"bend": {"at": knot, "slope_below": float(slopes[0]), "slope_above": float(slopes[1]),
                         "direction_below": side[0], "direction_above": side[1], "bins": len(bins.mean)}}
    if turn is None:
        return {}
    left, right = bins.x < turn, bins.x > turn
    zl, zr = bins.slope_z(left), bins.slope_z(right)
    if abs(zl) >= CLEAR and abs(zr) >= CLEAR and np.sign(zl) != np.sign(zr):
        return {"turns_at": float(turn)}
    return {}


def _clear_change(bins: Bins, bend: tuple) -> bool:
    """Whether the slope clearly changes at the bend (the z of the change of slope)."""
    knot = bend[0]
    design = np.column_stack([np.ones_like(bins.x), bins.x, np.maximum(bins.x - knot, 0.0)])
    b, cov, _ = bins._fit(design)
    return bool(abs(b[2]) / np.sqrt(max(cov[2, 2], 1e-300)) >= CLEAR)


def _direction(z: float) -> str:
    return "flat" if abs(z) < CLEAR else ("up" if z > 0 else "down")


def _side(bins: Bins, part: slice) -> float:
    return float(np.average(bins.mean[part], weights=bins.rows[part]))
