"""The statistics pass: per-batch summaries and their merge (DESIGN §3).

``summarize`` is the one per-batch function every backend runs; ``Summary.merge`` combines
two summaries of disjoint rows, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from greta_core.plan.design import DesignBuilder, smallest
from greta_core.plan.terms import Term
from greta_core.stats.moments import Moments


@dataclass
class Summary:
    discovery: Moments
    holdout: Moments
    sample_key: np.ndarray  # holdout rows kept for rank checks: the smallest keys
    sample: np.ndarray  # (k, q + t)
    rows_read: int
    rows_bad_target: int
    screen: np.ndarray  # (k, m + t) discovery rows kept to screen terms on (never holdout rows)
    sample_size: int
    late_missing: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    screen_key: np.ndarray = field(default_factory=lambda: np.zeros(0))
    screen_size: int = 0
    screening: dict[str, int] | None = None  # how the terms of this pass were screened, if they were

    def merge(self, other: Summary) -> Summary:
        keys = np.concatenate([self.sample_key, other.sample_key])
        rows = np.concatenate([self.sample, other.sample])
        keys, rows = _smallest(keys, rows, self.sample_size)
        screen_key, screen = self.screen_key, self.screen
        if self.screen_size:
            screen_key, screen = _smallest(np.concatenate([self.screen_key, other.screen_key]),
                                           np.concatenate([self.screen, other.screen]), self.screen_size)
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
            screen_key,
            self.screen_size,
        )


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return b if a.size == 0 else a if b.size == 0 else a + b


def _smallest(keys: np.ndarray, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    keys, idx = smallest(keys, k)
    return keys, rows[idx]


def summarize(
    df: pd.DataFrame,
    builder: DesignBuilder,
    terms: Sequence[Term],
    screen_terms: Sequence[Term] = (),
    sample_size: int = 5000,
    screen_size: int = 0,
) -> Summary:
    """Summarise one batch of raw rows. With ``screen_terms``, also keep the ``screen_size``
    discovery rows of smallest key in the design of those terms (a uniform sample to screen
    candidate terms on)."""
    b = builder.batch(df, terms, screen_terms, screen_size if screen_terms else None)
    xy, nd = b.xy, b.n_discovery
    keys, pick = smallest(b.key[nd:], sample_size)
    sample = xy[nd + pick]
    disc, held = Moments.of_block(xy[:nd]), Moments.of_block(xy[nd:])
    return Summary(disc, held, keys, sample, b.rows_read, b.rows_bad_target, b.e, sample_size, b.late_missing,
                   b.e_key, screen_size if screen_terms else 0)


def empty_summary(q: int, t: int, screen_width: int = 0, sample_size: int = 5000, screen_size: int = 0) -> Summary:
    """The summary of no rows; ``screen_width`` design columns of screened terms are kept on up
    to ``screen_size`` discovery rows."""
    screen = np.zeros((0, screen_width + t if screen_size else 0))
    return Summary(Moments.empty(q + t), Moments.empty(q + t), np.zeros(0), np.zeros((0, q + t)),
                   0, 0, screen, sample_size, screen_size=screen_size)
