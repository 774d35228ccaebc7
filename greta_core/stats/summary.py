"""The statistics pass: per-batch summaries and their merge (DESIGN §3).

``summarize`` is the one per-batch function every backend runs; ``Summary.merge`` combines
two summaries of disjoint rows, in any order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from greta_core.plan.design import DesignBuilder, Program, Rows, smallest
from greta_core.plan.terms import Term
from greta_core.stats.local_copy import RowsCopy, join
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
    copy_files: Any = None  # where a local copy holds these rows (stats.local_copy)
    segments: Any = None  # rows kept as segment codes (greta_core.segments.collect), when segments are on

    def __sizeof__(self) -> int:
        """Bytes held (its arrays): what Dask counts as moved when a summary changes process."""
        parts = (self.discovery, self.holdout, self.screen)
        arrays = (self.sample_key, self.sample, self.late_missing)
        held = self.segments.nbytes if self.segments is not None else 0
        return (object.__sizeof__(self) + sum(p.__sizeof__() for p in parts if p is not None)
                + sum(a.nbytes for a in arrays) + held)

    def merge(self, other: Summary) -> Summary:
        keys, rows = _smallest(self.sample_key, self.sample, other.sample_key, other.sample, self.sample_size)
        screen_key, screen = self.screen_key, self.screen
        if self.screen_size:
            screen_key, screen = _smallest(self.screen_key, self.screen, other.screen_key, other.screen,
                                           self.screen_size)
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
            copy_files=join(self.copy_files, other.copy_files),
            segments=_merge_segments(self.segments, other.segments),
        )


def _merge_segments(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a.merge(b)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return b if a.size == 0 else a if b.size == 0 else a + b


def _smallest(key_a: np.ndarray, a: np.ndarray, key_b: np.ndarray, b: np.ndarray,
              k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of smallest key of ``a`` and ``b`` together, in increasing key order. The
    rows are gathered from each side, never first copied into one array (a sample of a wide
    design is megabytes, and each merge would copy both)."""
    keys, idx = smallest(np.concatenate([key_a, key_b]), k)
    out = np.empty((len(idx),) + a.shape[1:], dtype=np.result_type(a, b))
    first = idx < len(a)
    out[first] = a[idx[first]]
    out[~first] = b[idx[~first] - len(a)]
    return keys, out


def summarize(
    df: pd.DataFrame,
    builder: DesignBuilder,
    terms: Sequence[Term],
    screen_terms: Sequence[Term] = (),
    sample_size: int = 5000,
    screen_size: int = 0,
    copy: RowsCopy | None = None,
    segments: Any = None,
) -> Summary:
    """Summarise one batch of raw rows. With ``screen_terms``, also keep the ``screen_size``
    discovery rows of smallest key in the design of those terms (a uniform sample to screen
    candidate terms on). With ``copy``, the batch's rows are also written to it.

    The design is written a few thousand rows at a time into one small buffer (it stays in the
    CPU's cache) and each block's co-moments are merged: the statistics of one block of the
    whole batch, without writing and reading the batch's full design matrix.

    ``segments``: a callable turning the batch's rows into the rows kept for segments
    (``greta_core.segments.collect``); None does no segment work."""
    rows, read, bad, late = builder.prepare(df)
    prog = builder.program(terms)
    q, t, nd, n = prog.width, rows.y.shape[1], rows.n_discovery, len(rows)
    buf = np.empty((block_rows(q + t, len(prog.ops)), q + t), dtype=np.float64, order="F")
    disc, held = _moments(builder, rows, prog, 0, nd, buf), _moments(builder, rows, prog, nd, n, buf)
    del buf
    keys, pick = smallest(rows.key[nd:], sample_size)
    sample = np.empty((len(pick), q + t), dtype=np.float64, order="F")
    if len(pick):
        chosen = rows.take(nd + pick)
        builder.fill(chosen, prog, 0, len(pick), sample)
        sample[:, q:] = chosen.y
    e, e_key = np.zeros((0, 0)), np.zeros(0)
    if screen_terms:
        e, e_key = builder.screen_rows(rows, builder.program(screen_terms), screen_size)
    files = None if copy is None else copy.write(rows)
    return Summary(disc, held, keys, np.ascontiguousarray(sample), read, bad, e, sample_size, late,
                   e_key, screen_size if screen_terms else 0, copy_files=files,
                   segments=segments(rows) if segments else None)


def block_rows(width: int, ops: int = 1) -> int:
    """Rows of design written and summarised at a time: a block of about 16 MB (it stays in a
    shared L3 cache), at least 2,048 rows and at most 8,192 — more rows when the design needs
    many numpy calls (scattered terms), so each call does enough work."""
    rows = (16 << 20) // (8 * max(width, 1))
    return int(min(max(rows, 2048, 16 * ops), 8192))


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


def empty_summary(q: int, t: int, screen_width: int = 0, sample_size: int = 5000, screen_size: int = 0) -> Summary:
    """The summary of no rows; ``screen_width`` design columns of screened terms are kept on up
    to ``screen_size`` discovery rows."""
    screen = np.zeros((0, screen_width + t if screen_size else 0))
    return Summary(Moments.empty(q + t), Moments.empty(q + t), np.zeros(0), np.zeros((0, q + t)),
                   0, 0, screen, sample_size, screen_size=screen_size)
