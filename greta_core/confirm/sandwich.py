"""The robust (HC4) middle term of each tested hypothesis, over every held-out row (DESIGN §5).

The statistics pass gives each held-out fit exactly (slopes, means and (X'X)⁻¹ come from the
co-moments), but the sandwich's middle term Σ g_i g_i' / (1 − h_i)² needs every held-out row's
residual and leverage, and a few rows of high leverage and large noise can decide it: a sample
of rows often misses them. Once the search has chosen the few hypotheses to confirm, one narrow
pass reads the rows again and, batch by batch, builds the design columns those hypotheses use
on the held-out rows only (the statistics pass' own design code, split hash and row filter) and
adds up each hypothesis' middle term with its fit held fixed (``greta_core.stats.robust``). The
per-batch function is the same on every backend (``backend.reduce``); the sums merge by
addition. When the rows are already in memory, it runs on them directly, with no second read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from greta_core.confirm.layout import Layout
from greta_core.confirm.logistic import HoldoutRows
from greta_core.stats.moments import Moments
from greta_core.stats.robust import Ols, hc_meat, ols

BLOCK_ROWS = 8192  # held-out rows whose design is built and summed at a time


@dataclass
class MeatSums:
    """Each tested hypothesis' robust (HC4) middle term summed over some held-out rows."""

    meats: tuple[np.ndarray, ...]
    rows: int  # held-out rows summed
    rows_read: int  # rows read (before the row filter and the split)

    def __sizeof__(self) -> int:  # what Dask counts when it moves a summary between processes
        return object.__sizeof__(self) + sum(m.nbytes for m in self.meats)

    def merge(self, other: MeatSums) -> MeatSums:
        return MeatSums(tuple(a + b for a, b in zip(self.meats, other.meats)), self.rows + other.rows,
                        self.rows_read + other.rows_read)


@dataclass(frozen=True)
class HeldOutMeat:
    """The per-batch function: raw rows → :class:`MeatSums` of their held-out rows.

    The design columns are built by the builder of the statistics pass (its centres) and mapped
    with the same affine map that recentred the statistics (``greta_core.stats.centring``), so
    each row is exactly the row the held-out co-moments summarise."""

    builder: Any  # the DesignBuilder of the statistics pass
    terms: tuple[Any, ...]  # the terms whose design columns are built
    positions: tuple[int, ...]  # where each needed layout column sits among those terms' columns
    lin: np.ndarray  # (s, s) the recentring map on the needed columns
    shift: np.ndarray  # (s,)
    fits: tuple[tuple[np.ndarray, Ols], ...]  # each hypothesis: its columns among the needed, its fit
    row_filter: Callable[[Any], Any] | None = None

    @property
    def sources(self) -> list[str]:
        """The columns whose values the terms need."""
        return list(dict.fromkeys(s for t in self.terms for s in t.sources))

    def empty(self) -> MeatSums:
        return MeatSums(tuple(np.zeros((f.width, f.width)) for _, f in self.fits), 0, 0)

    def __call__(self, df: Any) -> MeatSums:
        read = len(df)
        if self.row_filter is not None:
            df = self.row_filter(df)
        rows = self.builder.holdout(df, self.sources)
        prog = self.builder.program(self.terms)
        meats = [np.zeros((f.width, f.width)) for _, f in self.fits]
        n = len(rows)
        buf = np.empty((min(n, BLOCK_ROWS), prog.width), dtype=np.float64, order="F")
        where = list(self.positions)
        for a in range(0, n, BLOCK_ROWS):
            b = min(a + BLOCK_ROWS, n)
            x = buf[: b - a]
            self.builder.fill(rows, prog, a, b, x)
            xs = x[:, where] @ self.lin.T + self.shift
            y = rows.y[a:b]
            for meat, (cols, fit) in zip(meats, self.fits):
                meat += hc_meat(fit, xs[:, cols], y)
        return MeatSums(tuple(meats), n, read)


def held_out_meat(builder: Any, layout: Layout, holdout: Moments, hypotheses: Sequence[tuple[int, ...]],
                  lin: np.ndarray, shift: np.ndarray,
                  row_filter: Callable[[Any], Any] | None = None) -> HeldOutMeat:
    """The per-batch function for ``hypotheses`` (tuples of term indices of ``layout``), fitted
    on the (recentred) ``holdout`` moments; ``lin`` and ``shift``: the recentring map of the
    statistics' design rows (identity and zero when nothing was recentred)."""
    q = layout.width
    model_cols = [np.concatenate([layout.columns[i] for i in h]) for h in hypotheses]
    fits = [ols(holdout, cols, q) for cols in model_cols]
    needed = set(int(j) for cols in model_cols for j in cols)
    # a recentred product or square is a combination of its own column and its main terms' columns
    for j in list(needed):
        needed.update(int(i) for i in np.flatnonzero(lin[j, :q]))
    columns = sorted(needed)
    index = {j: i for i, j in enumerate(columns)}
    rows = HoldoutRows.of(builder, layout, columns, [1.0] * len(columns))
    sub = np.asarray(columns)
    local = tuple((np.array([index[int(j)] for j in cols], dtype=int), fit) for cols, fit in zip(model_cols, fits))
    return HeldOutMeat(builder, rows.terms, rows.positions, lin[np.ix_(sub, sub)].copy(), shift[sub].copy(),
                       local, row_filter)


__all__ = ["HeldOutMeat", "MeatSums", "held_out_meat"]
