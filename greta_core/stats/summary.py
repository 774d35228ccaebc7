"""The statistics pass: per-batch summaries and their merge (DESIGN §3).

``summarize`` is the one per-batch function every backend runs; ``Summary.merge`` combines
two summaries of disjoint rows, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from greta_core.plan.design import DesignBuilder
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

    def __sizeof__(self) -> int:
        """Bytes held (its arrays): what Dask counts as moved when a summary changes process."""
        parts = (self.discovery, self.holdout, self.screen)
        arrays = (self.sample_key, self.sample, self.late_missing)
        return object.__sizeof__(self) + sum(p.__sizeof__() for p in parts if p is not None) + sum(a.nbytes for a in arrays)

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
    if len(keys) > k:
        part = np.argpartition(keys, k - 1)[:k]
        keys, rows = keys[part], rows[part]
    order = np.argsort(keys, kind="stable")
    return keys[order], rows[order]


def summarize(
    df: pd.DataFrame,
    builder: DesignBuilder,
    terms: Sequence[Term],
    screen_terms: Sequence[Term] = (),
    sample_size: int = 5000,
) -> Summary:
    """Summarise one batch of raw rows."""
    b = builder.batch(df, terms, screen_terms)
    xy, nd = b.xy, b.n_discovery
    keys, pick = _smallest_index(b.key[nd:], sample_size)
    sample = xy[nd + pick]
    screen = CrossMoments.of(b.e[:nd], xy[:nd, xy.shape[1] - b.t :]) if screen_terms else None
    disc, held = Moments.of_block(xy[:nd]), Moments.of_block(xy[nd:])
    return Summary(disc, held, keys, sample, b.rows_read, b.rows_bad_target, screen, sample_size, b.late_missing)


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
