"""Beam search for segments on the discovery rows (no held-out row is ever looked at).

A segment's quality balances its size against its gap to everyone:
``share ** a * (mean inside - mean of all)`` (pysubgroup's ``StandardQF``; ``a = 1`` is the
weighted relative accuracy, ``a = 0.5`` ranks like the z-statistic of the difference). The
search refines the best ``beam`` segments one condition at a time, up to ``max_conditions``
conditions (a range on one column is two), keeping segments of at least ``min_share`` of the
rows. Counts come from one matrix product per level: the rows of each beam segment against
the one-hot codes of every column, so every refinement of every segment is scored at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greta_core.segments.conditions import Condition, Feature, Segment, mask

CHUNK_BYTES = 64 << 20  # one-hot block built at a time
KEEP_BYTES = 128 << 20  # one-hot codes kept for the whole search up to this size
MAX_COLUMNS = 100  # columns refined past the first condition


@dataclass(frozen=True)
class Found:
    segment: Segment
    quality: float
    rows: int  # discovery rows inside
    mean: float  # target mean inside (discovery)


def quality(n_in: np.ndarray, mean_in: np.ndarray, n: int, mean: float, a: float) -> np.ndarray:
    return (n_in / n) ** a * (mean_in - mean)


def beam_search(codes: np.ndarray, y: np.ndarray, features: Sequence[Feature], max_conditions: int = 3,
                min_share: float = 0.02, beam: int = 30, a: float = 0.5, keep: int = 200,
                max_columns: int = MAX_COLUMNS) -> list[Found]:
    """The best segments of ``codes`` for the target ``y`` (one column), best |quality| first.
    Past the first condition, only the ``max_columns`` columns whose best single condition
    scores highest are refined (all of them when there are no more)."""
    n = len(y)
    if n == 0 or not features:
        return []
    y = np.asarray(y, dtype=np.float64)
    mean = float(y.mean())
    yc = (y - mean).astype(np.float32)  # centred: float32 sums keep their precision
    least = max(int(np.ceil(min_share * n)), 2)
    onehot = OneHot(codes, features)
    columns = list(range(len(features)))  # the columns refined, in the order of onehot's
    level: list[tuple[Segment, np.ndarray]] = [((), np.ones(n, dtype=bool))]
    pool: dict[Segment, Found] = {}
    for depth in range(max_conditions):
        counts, sums = onehot.counts([m for _, m in level], yc)
        cand = _candidates(level, features, columns, onehot.offsets, counts, sums)
        if cand is None:
            break
        b, j, lo, hi, lv, k, sm = cand
        sizes = np.array([int(m.sum()) for _, m in level])
        ok = (k >= least) & (k < sizes[b])
        b, j, lo, hi, lv, k, sm = (x[ok] for x in (b, j, lo, hi, lv, k, sm))
        mu = mean + sm / np.maximum(k, 1)
        q = quality(k, mu, n, mean, a)
        if depth == 0 and len(columns) > max_columns:  # wide data: refine the strongest columns
            best = np.zeros(len(features))
            np.maximum.at(best, j, np.abs(q))
            columns = sorted(np.argsort(-best, kind="stable")[:max_columns].tolist())
            onehot = OneHot(codes[:, columns], [features[c] for c in columns])
        new: list[Found] = []
        for i in np.argsort(-np.abs(q), kind="stable"):
            if len(new) >= max(beam, keep):
                break
            cond = (Condition(int(j[i]), int(lo[i]), int(hi[i])) if features[j[i]].kind == "numeric"
                    else Condition(int(j[i]), levels=frozenset(_bits(int(lv[i])))))
            seg = tuple(sorted([c for c in level[b[i]][0] if c.column != cond.column] + [cond],
                               key=lambda c: c.column))
            if seg in pool:
                continue
            pool[seg] = f = Found(seg, float(q[i]), int(k[i]), float(mu[i]))
            new.append(f)
        if not new:
            break
        level = [(f.segment, mask(codes, f.segment, features)) for f in new[:beam]]
    return sorted(pool.values(), key=lambda f: -abs(f.quality))[:keep]


def _bits(x: int) -> list[int]:
    return [i for i in range(x.bit_length()) if x >> i & 1]


class OneHot:
    """Rows and target sums of each (column, code) within segments: by a count per column for
    one or two segments (the first level), else by a product with the one-hot codes of every
    column (rows × codes, float32) — built once and kept when it takes at most ``KEEP_BYTES``,
    else rebuilt in blocks of ``CHUNK_BYTES`` on each use."""

    def __init__(self, codes: np.ndarray, features: Sequence[Feature]) -> None:
        self.codes, self.features = codes, features
        self.offsets = np.concatenate([[0], np.cumsum([f.codes for f in features])]).astype(np.int64)
        per_row = 4 * max(len(codes), 1)
        self.blocks, a = [], 0
        for b in range(1, len(features) + 1):  # columns a..b-1 while they fit in CHUNK_BYTES
            if b == len(features) or (self.offsets[b + 1] - self.offsets[a]) * per_row > CHUNK_BYTES:
                self.blocks.append((a, b))
                a = b
        self.fits = self.offsets[-1] * per_row <= KEEP_BYTES
        self.kept: list[np.ndarray] | None = None

    def _block(self, a: int, b: int) -> np.ndarray:
        n = len(self.codes)
        lo, hi = int(self.offsets[a]), int(self.offsets[b])
        onehot = np.zeros((n, hi - lo), dtype=np.float32)
        rows = np.arange(n)
        for j in range(a, b):
            c = self.codes[:, j].astype(np.int64)
            ok = c < self.features[j].codes  # a missing value is in no bin
            onehot[rows[ok], self.offsets[j] - lo + c[ok]] = 1.0
        return onehot

    def counts(self, masks: list[np.ndarray], yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and target sums of each (column, code) within each mask: (codes, masks) each."""
        total, k = int(self.offsets[-1]), len(masks)
        if k <= 2:
            cnt, sm = np.empty((total, k)), np.empty((total, k))
            for b, m in enumerate(masks):
                codes, y = self.codes[m], yc[m].astype(np.float64)
                for j, f in enumerate(self.features):
                    lo, hi = self.offsets[j], self.offsets[j + 1]
                    cnt[lo:hi, b] = np.bincount(codes[:, j], minlength=256)[: f.codes]
                    sm[lo:hi, b] = np.bincount(codes[:, j], weights=y, minlength=256)[: f.codes]
            return cnt, sm
        m = np.column_stack(masks).astype(np.float32)
        rhs = np.concatenate([m, m * yc[:, None]], axis=1)
        out = np.empty((total, rhs.shape[1]), dtype=np.float64)
        if self.kept is None and self.fits:
            self.kept = [self._block(a, b) for a, b in self.blocks]
        for i, (a, b) in enumerate(self.blocks):
            block = self.kept[i] if self.kept is not None else self._block(a, b)
            out[self.offsets[a]:self.offsets[b]] = block.T @ rhs
        return np.rint(out[:, :k]), out[:, k:]


def _candidates(level: list[tuple[Segment, np.ndarray]], features: Sequence[Feature], columns: list[int],
                offsets: np.ndarray, counts: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Every way to narrow each segment by one bound or level on one of ``columns`` (whose codes
    are rows ``offsets[i]:offsets[i + 1]`` of ``counts`` and ``sums``), as arrays: segment,
    column, low and high bin (numeric), level bits (categorical), rows and target sum. They come
    segment by segment, column by column; on a numeric column, first each new upper bound, then
    each new lower bound.

    The numeric columns' candidates of every segment are made at once (the rows and sums in a
    range are differences of running sums, the same additions in the same order as one column
    at a time); a categorical column's levels, a few per segment, one at a time."""
    nb, nc = len(level), len(columns)
    numeric = np.array([features[j].kind == "numeric" for j in columns], dtype=bool)
    parts: list[tuple[np.ndarray, ...]] = []
    order: list[np.ndarray] = []  # each part's (segment, column) pair: b * nc + i
    if numeric.any():
        # running sums over each numeric column's bins, one zero row before each column's
        num = np.flatnonzero(numeric)
        width = offsets[num + 1] - offsets[num]
        start = np.concatenate([[0], np.cumsum(width + 1)[:-1]])
        c_cnt, c_sum = np.zeros((int(np.sum(width + 1)), nb)), np.zeros((int(np.sum(width + 1)), nb))
        for i, a, w in zip(num, start, width):
            np.cumsum(counts[offsets[i]:offsets[i + 1]], axis=0, out=c_cnt[a + 1:a + 1 + w])
            np.cumsum(sums[offsets[i]:offsets[i + 1]], axis=0, out=c_sum[a + 1:a + 1 + w])
        # each (segment, numeric column): its current bounds (the whole column when unused)
        lo = np.zeros((nb, len(num)), dtype=np.int64)
        hi = np.broadcast_to(width - 1, (nb, len(num))).copy()
        where = {int(columns[i]): n for n, i in enumerate(num)}
        for b, (seg, _m) in enumerate(level):
            for c in seg:
                if c.column in where:
                    lo[b, where[c.column]], hi[b, where[c.column]] = c.low, c.high
        span = hi - lo  # new upper bounds lo..hi-1, then as many new lower bounds lo+1..hi
        pb, pn = np.nonzero(span > 0)  # row-major: segment by segment, column by column
        n = span[pb, pn]
        first = np.repeat(np.cumsum(2 * n) - 2 * n, 2 * n)
        r = np.arange(int(np.sum(2 * n))) - first
        eb, en, elo, ehi, en_ = (np.repeat(x, 2 * n) for x in (pb, pn, lo[pb, pn], hi[pb, pn], n))
        upper = r < en_
        low = np.where(upper, elo, elo + 1 + r - en_)
        high = np.where(upper, elo + r, ehi)
        base = start[en]
        parts.append((eb, np.asarray(columns)[num][en], low, high, np.zeros(len(r), dtype=np.int64),
                      c_cnt[base + high + 1, eb] - c_cnt[base + low, eb],
                      c_sum[base + high + 1, eb] - c_sum[base + low, eb]))
        order.append(eb * nc + num[en])
    for b, (seg, _m) in enumerate(level):
        used = {c.column: c for c in seg}
        for i, j in enumerate(columns):
            f = features[j]
            if numeric[i]:
                continue
            cnt = counts[offsets[i]:offsets[i + 1], b]
            sm = sums[offsets[i]:offsets[i + 1], b]
            current = used.get(j)
            have = np.array(sorted(current.levels) if current else range(f.codes), dtype=np.int64)
            if len(have) < 2:
                continue
            bits = np.left_shift(np.int64(1), have)
            k, s = cnt[have], sm[have]
            if len(have) >= 3:  # every level but one, too
                bits = np.concatenate([bits, bits.sum() - bits])
                k, s = np.concatenate([k, k.sum() - k]), np.concatenate([s, s.sum() - s])
            z = np.zeros(len(bits), dtype=np.int64)
            parts.append((np.full(len(bits), b), np.full(len(bits), j), z, z, bits, k, s))
            order.append(np.full(len(bits), b * nc + i))
    if not parts or not sum(len(o) for o in order):
        return None
    at = np.argsort(np.concatenate(order), kind="stable")
    return tuple(np.concatenate([p[i] for p in parts])[at] for i in range(7))
