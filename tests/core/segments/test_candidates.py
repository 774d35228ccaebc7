"""The search's refinements of numeric columns, made for every segment at once, are exactly
those made one segment and one column at a time; the rows kept for segments merge to the same
rows whatever their memory layout."""

from __future__ import annotations

import numpy as np
import pytest

from greta_core.segments.collect import Part
from greta_core.segments.conditions import Condition, Feature
from greta_core.segments.search import _candidates


def one_at_a_time(level, features, columns, offsets, counts, sums):
    """The reference: each segment, each column, each bound or level in turn."""
    parts = []
    for b, (seg, _m) in enumerate(level):
        used = {c.column: c for c in seg}
        for i, j in enumerate(columns):
            f = features[j]
            cnt = counts[offsets[i]:offsets[i + 1], b]
            sm = sums[offsets[i]:offsets[i + 1], b]
            current = used.get(j)
            if f.kind == "numeric":
                lo, hi = (current.low, current.high) if current else (0, f.codes - 1)
                if hi <= lo:
                    continue
                c_cnt = np.concatenate([[0.0], np.cumsum(cnt)])
                c_sum = np.concatenate([[0.0], np.cumsum(sm)])
                up, low = np.arange(lo, hi), np.arange(lo + 1, hi + 1)
                parts.append((np.full(2 * len(up), b), np.full(2 * len(up), j),
                              np.concatenate([np.full(len(up), lo), low]), np.concatenate([up, np.full(len(low), hi)]),
                              np.zeros(2 * len(up), dtype=np.int64),
                              np.concatenate([c_cnt[up + 1] - c_cnt[lo], c_cnt[hi + 1] - c_cnt[low]]),
                              np.concatenate([c_sum[up + 1] - c_sum[lo], c_sum[hi + 1] - c_sum[low]])))
                continue
            have = np.array(sorted(current.levels) if current else range(f.codes), dtype=np.int64)
            if len(have) < 2:
                continue
            bits = np.left_shift(np.int64(1), have)
            k, s = cnt[have], sm[have]
            if len(have) >= 3:
                bits = np.concatenate([bits, bits.sum() - bits])
                k, s = np.concatenate([k, k.sum() - k]), np.concatenate([s, s.sum() - s])
            z = np.zeros(len(bits), dtype=np.int64)
            parts.append((np.full(len(bits), b), np.full(len(bits), j), z, z, bits, k, s))
    if not parts:
        return None
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(7))


def random_level(rng, features, segments):
    level = []
    for _ in range(segments):
        seg = []
        for j in sorted(rng.choice(len(features), rng.integers(0, len(features) + 1), replace=False)):
            f = features[j]
            if f.kind == "numeric":
                lo = int(rng.integers(0, f.codes))
                seg.append(Condition(int(j), lo, int(rng.integers(lo, f.codes))))
            else:
                seg.append(Condition(int(j), levels=frozenset(int(x) for x in rng.choice(f.codes, rng.integers(1, f.codes + 1), replace=False))))
        level.append((tuple(seg), None))
    return level


@pytest.mark.parametrize("seed", range(40))
def test_refinements_at_once_are_those_made_one_at_a_time(seed):
    rng = np.random.default_rng(seed)
    features = []
    for j in range(int(rng.integers(1, 9))):
        if rng.random() < 0.3:
            features.append(Feature(f"c{j}", "categorical", levels=tuple(f"l{i}" for i in range(rng.integers(2, 7)))))
        else:
            features.append(Feature(f"n{j}", "numeric", cuts=tuple(np.sort(rng.random(rng.integers(1, 10))))))
    columns = sorted(rng.choice(len(features), rng.integers(1, len(features) + 1), replace=False).tolist())
    offsets = np.concatenate([[0], np.cumsum([features[j].codes for j in columns])]).astype(np.int64)
    level = random_level(rng, features, int(rng.integers(1, 31)))
    counts = rng.integers(0, 1000, (int(offsets[-1]), len(level))).astype(np.float64)
    sums = rng.standard_normal(counts.shape) * counts
    got = _candidates(level, features, columns, offsets, counts, sums)
    want = one_at_a_time(level, features, columns, offsets, counts, sums)
    if want is None:
        assert got is None
        return
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w)  # the same numbers, to the last bit


def test_kept_rows_merge_alike_in_either_layout():
    rng = np.random.default_rng(0)

    def part(n, order):
        return Part(rng.random(n), np.asarray(rng.integers(0, 11, (n, 5)), dtype=np.uint8, order=order),
                    rng.standard_normal((n, 1)), n, 300)

    a, b = part(250, "C"), part(200, "F")
    merged = a.merge(b)
    keys = np.concatenate([a.key, b.key])
    best = np.argsort(keys, kind="stable")[:300]
    order = np.argsort(merged.key, kind="stable")
    assert np.array_equal(merged.key[order], keys[best])
    assert np.array_equal(merged.codes[order], np.concatenate([a.codes, b.codes])[best])
    assert np.array_equal(merged.y[order], np.concatenate([a.y, b.y])[best])
    assert merged.codes.flags.f_contiguous and merged.seen == 450
