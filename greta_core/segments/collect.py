"""Per-batch collection for segments, in the statistics pass (no pass of its own).

Each batch keeps, as segment codes and target columns, the discovery rows of smallest key (a
uniform sample the search runs on) and the held-out rows of smallest key (every held-out row
while they fit in ``holdout_rows``; else a uniform sample) to confirm on. A row's key comes
from its own values, so the rows kept do not depend on how the data is cut into batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greta_core.plan.design import Rows, smallest
from greta_core.segments.conditions import Coder


@dataclass
class Part:
    """Rows kept of one split: their keys, codes and target columns."""

    key: np.ndarray  # (k,)
    codes: np.ndarray  # (k, p) uint8
    y: np.ndarray  # (k, t)
    seen: int  # rows of this split the part was drawn from
    size: int  # most rows kept

    def merge(self, other: Part) -> Part:
        key = np.concatenate([self.key, other.key])
        codes = _stack(self.codes, other.codes)
        y = np.concatenate([self.y, other.y])
        if len(key) > self.size:
            key, idx = smallest(key, self.size)
            codes, y = _pick(codes, idx), y[idx]
        return Part(key, codes, y, self.seen + other.seen, self.size)

    def in_key_order(self) -> Part:
        """The rows sorted by key: the same order however the data was cut into batches."""
        order = np.argsort(self.key, kind="stable")
        return Part(self.key[order], self.codes[order], self.y[order], self.seen, self.size)

    def by_column(self) -> Part:
        """The same rows with the codes in Fortran order: one column's codes are contiguous, so
        a condition on it reads one run of bytes instead of every row's whole record."""
        return Part(self.key, np.asfortranarray(self.codes), self.y, self.seen, self.size)

    @property
    def complete(self) -> bool:
        """Every row of the split is kept."""
        return len(self.key) == self.seen


def _stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rows of ``a`` then ``b`` in Fortran order (as :meth:`Coder.codes` writes them):
    each column is copied in one run, and the search reads one column at a time."""
    out = np.empty((len(a) + len(b), a.shape[1]), dtype=a.dtype, order="F")
    out[: len(a)], out[len(a):] = a, b
    return out


def _pick(codes: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx`` of ``codes``, still in Fortran order: gathered one column at a time."""
    out = np.empty((len(idx), codes.shape[1]), dtype=codes.dtype, order="F")
    for j in range(codes.shape[1]):
        np.take(codes[:, j], idx, out=out[:, j])
    return out


@dataclass
class SegmentRows:
    discovery: Part
    holdout: Part

    def merge(self, other: SegmentRows) -> SegmentRows:
        return SegmentRows(self.discovery.merge(other.discovery), self.holdout.merge(other.holdout))

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for p in (self.discovery, self.holdout) for a in (p.key, p.codes, p.y))


def empty(p: int, t: int, discovery_rows: int, holdout_rows: int) -> SegmentRows:
    def part(size: int) -> Part:
        return Part(np.zeros(0), np.zeros((0, p), dtype=np.uint8, order="F"), np.zeros((0, t)), 0, size)

    return SegmentRows(part(discovery_rows), part(holdout_rows))


def collect(rows: Rows, coder: Coder, discovery_rows: int, holdout_rows: int,
            below: tuple[float, float] = (1.0, 1.0)) -> SegmentRows:
    """The rows one batch contributes (``rows`` in split order: discovery rows first). ``below``:
    each split's rows are kept only when their key is below it (see :func:`key_bounds`), so that
    the batches of a large data set together hand over about what the merge keeps, not each its
    own ``discovery_rows`` and ``holdout_rows``."""
    nd, n = rows.n_discovery, len(rows)

    def part(start: int, stop: int, size: int, bound: float) -> Part:
        if bound < 1.0:
            idx = start + np.flatnonzero(rows.key[start:stop] < bound)
            key = rows.key[idx]
            if len(idx) > size:
                key, pick = smallest(key, size)
                idx = idx[pick]
        elif stop - start <= size:  # every row is kept: no sort, no copy of the rows first
            idx = slice(start, stop)
            key = rows.key[idx]
        else:
            key, pick = smallest(rows.key[start:stop], size)
            idx = start + pick
        return Part(key, coder.codes(rows, idx), rows.y[idx], stop - start, size)

    return SegmentRows(part(0, nd, discovery_rows, below[0]), part(nd, n, holdout_rows, below[1]))


def key_bounds(rows: int | None, discovery_rows: int, holdout_rows: int, holdout_fraction: float,
               margin: float = 1.5) -> tuple[float, float]:
    """The key below which a batch keeps a split's rows: with ``rows`` rows in all (an estimate),
    a split's ``size`` smallest keys lie below about size / (its rows), and ``margin`` times that
    leaves room for a low estimate. Keys are uniform, so the rows kept are the same smallest keys
    the merge would keep from every row, whenever at least ``size`` fall below the bound (1.0:
    keep every row; unknown or small data)."""
    if not rows:
        return 1.0, 1.0
    split = ((1.0 - holdout_fraction) * rows, holdout_fraction * rows)
    return tuple(min(1.0, margin * size / max(r, 1.0)) for size, r in zip((discovery_rows, holdout_rows), split))


def sizes(p: int, t: int, discovery_rows: int, holdout_rows: int, memory_mb: float) -> tuple[int, int]:
    """Rows kept of each split so that both parts together take at most ``memory_mb``."""
    per_row = p + 8 * t + 8
    fit = int(memory_mb * 2**20 / per_row)
    d = min(discovery_rows, max(fit // 4, 1000))
    return d, min(holdout_rows, max(fit - d, 1000))
