"""The statistics pass: per-batch summaries and their merge (DESIGN §3).

``summarize`` is the one per-batch function every backend runs; ``Summary.merge`` combines
two summaries of disjoint rows, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from greta_core.plan.design import DesignBuilder, Program, Rows
from greta_core.plan.terms import Term
from greta_core.stats.moments import CrossMoments, Moments


@dataclass
class Summary:
    discovery: Moments
    holdout: Moments
    sample_key: np.ndarray  # holdout rows kept for rank checks: the smallest keys
    sample: np.ndarray  # (k, q + t)
    rows_read: int
    rows_bad_target: int
    screen: CrossMoments | None  # discovery-only screening sums of engineered terms
    sample_size: int
    late_missing: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def merge(self, other: Summary) -> Summary:
        keys = np.concatenate([self.sample_key, other.sample_key])
        rows = np.concatenate([self.sample, other.sample])
        keys, rows = _smallest(keys, rows, self.sample_size)
        screen = self.screen.merge(other.screen) if self.screen is not None and other.screen is not None else self.screen
        return Summary(
            self.discovery.merge(other.discovery),
            self.holdout.merge(other.holdout),
            keys,
            rows,
            self.rows_read + other.rows_read,
            self.rows_bad_target + other.rows_bad_target,
            screen,
            self.sample_size,
            _add(self.late_missing, other.late_missing),
        )


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return b if a.size == 0 else a if b.size == 0 else a + b


def _smallest(keys: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(keys))
    if len(keys) > k:
        idx = np.argpartition(keys, k - 1)[:k]
    idx = idx[np.argsort(keys[idx], kind="stable")]
    return keys[idx], rows[idx]  # one gather of the rows


def summarize(
    df: pd.DataFrame,
    builder: DesignBuilder,
    terms: Sequence[Term],
    screen_terms: Sequence[Term] = (),
    sample_size: int = 5000,
) -> Summary:
    """Summarise one batch of raw rows.

    The design is written a few thousand rows at a time into one small buffer (it stays in the
    CPU's cache) and each block's co-moments are merged: the same statistics as one block of
    the whole batch, at about half the cost of writing and reading the full design matrix."""
    rows, read, bad, late = builder.prepare(df)
    prog = builder.program(terms)
    q, t, nd, n = prog.width, rows.y.shape[1], rows.n_discovery, len(rows)
    buf = np.empty((block_rows(q + t), q + t), dtype=np.float64, order="F")
    disc, held = _moments(builder, rows, prog, 0, nd, buf), _moments(builder, rows, prog, nd, n, buf)
    keys, pick = _smallest_index(rows.key[nd:], sample_size)
    sample = np.empty((len(pick), q + t), dtype=np.float64, order="F")
    if len(pick):
        chosen = rows.take(nd + pick)
        builder.fill(chosen, prog, 0, len(pick), sample)
        sample[:, q:] = chosen.y
    screen = _screen(builder, rows, builder.program(screen_terms), nd) if screen_terms else None
    return Summary(disc, held, keys, np.ascontiguousarray(sample), read, bad, screen, sample_size, late)


def block_rows(width: int) -> int:
    """Rows of design written and summarised at a time: a block of about 8 MB (a shared L3
    cache's share), at least 256 rows and at most 8,192."""
    return int(min(max((8 << 20) // (8 * max(width, 1)), 256), 8192))


def _moments(builder: DesignBuilder, rows: Rows, prog: Program, start: int, stop: int,
             buf: np.ndarray) -> Moments:
    q = prog.width
    acc = Moments.empty(buf.shape[1])
    for a in range(start, stop, len(buf)):
        b = min(a + len(buf), stop)
        x = buf[: b - a]
        builder.fill(rows, prog, a, b, x)
        x[:, q:] = rows.y[a:b]
        acc = acc.merge(Moments.of_block(x))
    return acc


def _screen(builder: DesignBuilder, rows: Rows, prog: Program, nd: int) -> CrossMoments:
    """Discovery-only screening sums of the engineered terms of ``prog``."""
    acc = CrossMoments.empty(prog.width, rows.y.shape[1])
    buf = np.empty((block_rows(prog.width), prog.width), dtype=np.float64, order="F")
    for a in range(0, nd, len(buf)):
        b = min(a + len(buf), nd)
        e = buf[: b - a]
        builder.fill(rows, prog, a, b, e)
        acc = acc.merge(CrossMoments.of(e, rows.y[a:b]))
    return acc


def _smallest_index(keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(len(keys))
    if len(keys) > k:
        idx = np.argpartition(keys, k - 1)[:k]
    idx = idx[np.argsort(keys[idx], kind="stable")]
    return keys[idx], idx


def empty_summary(q: int, t: int, n_screen: int, sample_size: int) -> Summary:
    screen = CrossMoments.empty(n_screen, t) if n_screen else None
    return Summary(Moments.empty(q + t), Moments.empty(q + t), np.zeros(0), np.zeros((0, q + t)),
                   0, 0, screen, sample_size)
