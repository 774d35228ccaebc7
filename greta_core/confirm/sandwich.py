"""The robust (HC4) middle terms: each tested hypothesis' over every held-out row, each fixed
model's over every row (DESIGN §5).

The statistics pass gives each held-out fit exactly (slopes, means and (X'X)⁻¹ come from the
co-moments), but the sandwich's middle term Σ g_i g_i' / (1 − h_i)² needs every held-out row's
residual and leverage, and a few rows of high leverage and large noise can decide it: a sample
of rows often misses them. Once the search has chosen the few hypotheses to confirm, one narrow
pass reads the rows again and, batch by batch, builds the design columns those hypotheses use
on the held-out rows only (the statistics pass' own design code, split hash and row filter) and
adds up each hypothesis' middle term with its fit held fixed (``greta_core.stats.robust``). The
same pass sums the middle terms of the models fixed before looking over every row, discovery
rows too (``greta_core.confirm.all_rows``). The per-batch function is the same on every backend
(``backend.reduce``); the sums merge by addition. When the rows are already in memory, it runs
on them directly, with no second read; when the statistics pass kept a local copy of the rows,
it runs on that copy's files.
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

BLOCK_ROWS = 8192  # rows whose design is built and summed at a time


@dataclass
class MeatSums:
    """Each tested hypothesis' robust (HC4) middle term summed over some held-out rows, and
    each fixed model's over all of those rows (``greta_core.confirm.all_rows``)."""

    meats: tuple[np.ndarray, ...]
    rows: int  # held-out rows summed
    rows_read: int  # rows read (before the row filter and the split)
    fixed: tuple[np.ndarray, ...] = ()  # each fixed model's middle term, over every row
    all_rows: int = 0  # rows summed for the fixed models (discovery and held-out)

    def __sizeof__(self) -> int:  # what Dask counts when it moves a summary between processes
        return object.__sizeof__(self) + sum(m.nbytes for m in self.meats + self.fixed)

    def merge(self, other: MeatSums) -> MeatSums:
        return MeatSums(tuple(a + b for a, b in zip(self.meats, other.meats)), self.rows + other.rows,
                        self.rows_read + other.rows_read, tuple(a + b for a, b in zip(self.fixed, other.fixed)),
                        self.all_rows + other.all_rows)


@dataclass(frozen=True)
class HeldOutMeat:
    """The per-batch function: raw rows → :class:`MeatSums` of their held-out rows (and of all
    their rows, for the fixed models).

    The design columns are built by the builder of the statistics pass (its centres and split)
    and mapped with the same affine map that recentred the statistics
    (``greta_core.stats.centring``), so each row is exactly the row the co-moments summarise."""

    builder: Any  # the DesignBuilder of the statistics pass
    terms: tuple[Any, ...]  # the terms whose design columns are built
    positions: tuple[int, ...]  # where each needed layout column sits among those terms' columns
    lin: np.ndarray  # (s, s) the recentring map on the needed columns
    shift: np.ndarray  # (s,)
    fits: tuple[tuple[Any, Ols], ...]  # each hypothesis: its columns among the needed, its fit
    row_filter: Callable[[Any], Any] | None = None
    fixed: tuple[tuple[Any, Ols], ...] = ()  # each fixed model, fitted on every row

    @property
    def sources(self) -> list[str]:
        """The columns whose values the terms need."""
        return list(dict.fromkeys(s for t in self.terms for s in t.sources))

    def empty(self) -> MeatSums:
        return MeatSums(tuple(np.zeros((f.width, f.width)) for _, f in self.fits), 0, 0,
                        tuple(np.zeros((f.width, f.width)) for _, f in self.fixed), 0)

    def __call__(self, df: Any) -> MeatSums:
        read = len(df)
        if self.row_filter is not None:
            df = self.row_filter(df)
        return self.of_rows(self.builder.split_rows(df, self.sources, held_out_only=not self.fixed), read)

    def of_rows(self, rows: Any, read: int) -> MeatSums:
        """:class:`MeatSums` of rows in the design's input form (``Rows``, in split order), e.g.
        a batch's rows from the statistics pass' local copy (``greta_core.stats.local_copy``).
        Without fixed models only the held-out rows are built."""
        prog = self.builder.program(self.terms)
        meats = [np.zeros((f.width, f.width)) for _, f in self.fits]
        fixed = [np.zeros((f.width, f.width)) for _, f in self.fixed]
        n, nd = len(rows), rows.n_discovery
        first = 0 if self.fixed else nd
        buf = np.empty((min(n - first, BLOCK_ROWS), prog.width), dtype=np.float64, order="F")
        where = list(self.positions)
        whole = where == list(range(prog.width))  # every built column is needed, in order
        # the recentring map is the identity plus a shift but for a few columns (recentred products
        # and squares mix in their main terms' columns): only those rows are multiplied out
        mixed = np.flatnonzero((self.lin != np.eye(len(self.lin))).any(axis=1))
        extra = (self.lin - np.eye(len(self.lin)))[mixed]
        shifted = bool(self.shift.any())
        for a in range(first, n, BLOCK_ROWS):
            b = min(a + BLOCK_ROWS, n)
            x = buf[: b - a]
            self.builder.fill(rows, prog, a, b, x)
            src = x if whole else x[:, where]
            xs = src + self.shift if shifted else src
            if len(mixed):
                xs = xs if xs is not src else src.copy()
                xs[:, mixed] += src @ extra.T
            y = rows.y[a:b]
            for meat, (cols, fit) in zip(fixed, self.fixed):
                meat += hc_meat(fit, xs[:, cols], y)
            lo = max(nd - a, 0)  # the block's first held-out row
            if lo < b - a:
                for meat, (cols, fit) in zip(meats, self.fits):
                    meat += hc_meat(fit, xs[lo:, cols], y[lo:])
        return MeatSums(tuple(meats), n - nd, read, tuple(fixed), n if self.fixed else 0)


def held_out_meat(builder: Any, layout: Layout, holdout: Moments, hypotheses: Sequence[tuple[int, ...]],
                  lin: np.ndarray, shift: np.ndarray,
                  row_filter: Callable[[Any], Any] | None = None,
                  everything: Moments | None = None, fixed: Sequence[tuple[int, ...]] = ()) -> HeldOutMeat:
    """The per-batch function for ``hypotheses`` (tuples of term indices of ``layout``), fitted
    on the (recentred) ``holdout`` moments, and for the ``fixed`` models, fitted on
    ``everything`` (the moments of every row); ``lin`` and ``shift``: the recentring map of the
    statistics' design rows (identity and zero when nothing was recentred)."""
    q = layout.width
    model_cols = [np.concatenate([layout.columns[i] for i in h]) for h in hypotheses]
    fixed_cols = [np.concatenate([layout.columns[i] for i in h]) for h in fixed]
    fits = [ols(holdout, cols, q) for cols in model_cols]
    fixed_fits = [ols(everything, cols, q) for cols in fixed_cols] if fixed else []
    needed = set(int(j) for cols in model_cols + fixed_cols for j in cols)
    # a recentred product or square is a combination of its own column and its main terms' columns
    for j in list(needed):
        needed.update(int(i) for i in np.flatnonzero(lin[j, :q]))
    columns = sorted(needed)
    index = {j: i for i, j in enumerate(columns)}
    rows = HoldoutRows.of(builder, layout, columns, [1.0] * len(columns))
    sub = np.asarray(columns)

    def local(cols_list: list[np.ndarray], fitted: list[Ols]) -> tuple[tuple[Any, Ols], ...]:
        """Each model's columns among the needed ones (a slice, a view, when they are all of them in order)."""
        out = []
        for cols, fit in zip(cols_list, fitted):
            at = np.array([index[int(j)] for j in cols], dtype=int)
            out.append((slice(None) if np.array_equal(at, np.arange(len(columns))) else at, fit))
        return tuple(out)

    return HeldOutMeat(builder, rows.terms, rows.positions, lin[np.ix_(sub, sub)].copy(), shift[sub].copy(),
                       local(model_cols, fits), row_filter, local(fixed_cols, fixed_fits))


__all__ = ["HeldOutMeat", "MeatSums", "held_out_meat"]
