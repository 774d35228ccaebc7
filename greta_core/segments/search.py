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


@dataclass(frozen=True)
class Found:
    segment: Segment
    quality: float
    rows: int  # discovery rows inside
    mean: float  # target mean inside (discovery)


def quality(n_in: np.ndarray, mean_in: np.ndarray, n: int, mean: float, a: float) -> np.ndarray:
    return (n_in / n) ** a * (mean_in - mean)


def beam_search(codes: np.ndarray, y: np.ndarray, features: Sequence[Feature], max_conditions: int = 3,
                min_share: float = 0.02, beam: int = 30, a: float = 0.5, keep: int = 200) -> list[Found]:
    """The best segments of ``codes`` for the target ``y`` (one column), best |quality| first."""
    n = len(y)
    if n == 0 or not features:
        return []
    y = np.asarray(y, dtype=np.float64)
    mean = float(y.mean())
    yc = (y - mean).astype(np.float32)  # centred: float32 sums keep their precision
    least = max(int(np.ceil(min_share * n)), 2)
    offsets = np.concatenate([[0], np.cumsum([f.codes for f in features])])
    level: list[tuple[Segment, np.ndarray]] = [((), np.ones(n, dtype=bool))]
    pool: dict[Segment, Found] = {}
    for _depth in range(max_conditions):
        counts, sums = _bin_counts(codes, features, offsets, [m for _, m in level], yc)
        cands: dict[Segment, Found] = {}
        for b, (seg, m) in enumerate(level):
            n_b = int(m.sum())
            used = {c.column: c for c in seg}
            for j, f in enumerate(features):
                cnt = counts[offsets[j]:offsets[j + 1], b]
                sm = sums[offsets[j]:offsets[j + 1], b]
                for cond, k, s in _refinements(j, f, used.get(j), cnt, sm):
                    if k < least or k >= n_b:
                        continue
                    new = tuple(sorted([c for c in seg if c.column != j] + [cond], key=lambda c: c.column))
                    if new in cands or new in pool:
                        continue
                    mu = mean + s / k
                    q = float(quality(np.float64(k), np.float64(mu), n, mean, a))
                    cands[new] = Found(new, q, int(k), float(mu))
        if not cands:
            break
        pool.update(cands)
        best = sorted(cands.values(), key=lambda f: -abs(f.quality))[:beam]
        level = [(f.segment, mask(codes, f.segment, features)) for f in best]
    return sorted(pool.values(), key=lambda f: -abs(f.quality))[:keep]


def _bin_counts(codes: np.ndarray, features: Sequence[Feature], offsets: np.ndarray, masks: list[np.ndarray],
                yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and target sums of each (column, code) within each mask: (codes, segments) each."""
    n = len(yc)
    m = np.column_stack(masks).astype(np.float32)
    rhs = np.concatenate([m, m * yc[:, None]], axis=1)
    total = int(offsets[-1])
    out = np.empty((total, rhs.shape[1]), dtype=np.float64)
    per_col = max(1, int(CHUNK_BYTES // max(4 * n * max(f.codes for f in features), 1)))
    for a in range(0, len(features), per_col):
        b = min(a + per_col, len(features))
        lo, hi = int(offsets[a]), int(offsets[b])
        onehot = np.zeros((n, hi - lo), dtype=np.float32)
        rows = np.arange(n)
        for j in range(a, b):
            c = codes[:, j].astype(np.int64)
            ok = c < features[j].codes  # a missing value is in no bin
            onehot[rows[ok], offsets[j] - lo + c[ok]] = 1.0
        out[lo:hi] = onehot.T @ rhs
    k = len(masks)
    return np.rint(out[:, :k]), out[:, k:]


def _refinements(j: int, f: Feature, current: Condition | None, cnt: np.ndarray, sm: np.ndarray):
    """Each way to narrow column ``j``'s condition by one bound or level: (condition, rows, sum)."""
    if f.kind == "numeric":
        lo, hi = (current.low, current.high) if current else (0, f.codes - 1)
        c_cnt, c_sum = np.cumsum(cnt), np.cumsum(sm)
        below_n = c_cnt[lo - 1] if lo > 0 else 0.0
        below_s = c_sum[lo - 1] if lo > 0 else 0.0
        for u in range(lo, hi):  # a new upper bound: bins lo..u
            yield Condition(j, lo, u), c_cnt[u] - below_n, c_sum[u] - below_s
        for low in range(lo + 1, hi + 1):  # a new lower bound: bins low..hi
            yield Condition(j, low, hi), c_cnt[hi] - c_cnt[low - 1], c_sum[hi] - c_sum[low - 1]
        return
    have = sorted(current.levels) if current else list(range(f.codes))
    if len(have) < 2:
        return
    for i in have:
        yield Condition(j, levels=frozenset([i])), cnt[i], sm[i]
    if len(have) >= 3:
        tot_n, tot_s = cnt[have].sum(), sm[have].sum()
        for i in have:
            yield Condition(j, levels=frozenset(x for x in have if x != i)), tot_n - cnt[i], tot_s - sm[i]
