"""Turn a batch of rows into design columns, target columns and split assignments.

This is the per-batch code every backend runs, so all backends give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from greta_core.plan.schema import MISSING_LEVEL, OTHER_LEVEL, TargetInfo, canonical
from greta_core.plan.terms import Plan, Term

_U53 = float(2**-53)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class Batch:
    """One batch in design form: only rows with a usable target are kept."""

    xy: np.ndarray  # (n, q + t) design columns of the requested terms, then the target columns
    e: np.ndarray  # (k, m + t) screened terms' design columns, then the targets: k discovery rows
    e_key: np.ndarray  # (k,) the sampling key of each row of ``e`` (the smallest of the batch's)
    t: int
    n_discovery: int  # rows [0, n_discovery) are discovery rows, the rest holdout rows
    key: np.ndarray  # (n,) uniform in [0, 1): order of the holdout sample
    rows_read: int
    rows_bad_target: int
    late_missing: np.ndarray  # per plan column: missing values in a column planned without any


def canonical_features(plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """The feature columns of the plan in canonical types, in plan order."""
    dtypes = df.dtypes
    # numbers already held as numbers are converted together (a wide file has thousands)
    plain = [c.name for c in plan.columns if c.kind == "numeric" and dtypes[c.name].kind in "if"]
    values: dict[str, np.ndarray] = {}
    if len(plain) > 1:
        block = df[plain].to_numpy(np.float64, copy=True)
        block[np.isinf(block)] = np.nan  # as canonical(): ±inf counts as missing
        values = {name: block[:, i] for i, name in enumerate(plain)}
    data = {c.name: values[c.name] if c.name in values else canonical(df[c.name], c.kind).to_numpy()
            for c in plan.columns}
    return pd.DataFrame(data, index=pd.RangeIndex(len(df)))


def canonical_frame(plan: Plan, df: pd.DataFrame) -> pd.DataFrame:
    """Columns of the plan (and the target, last) in canonical types, in plan order."""
    frame = canonical_features(plan, df)
    frame[plan.target.name] = canonical_target(df[plan.target.name], plan.target).to_numpy()
    return frame


def canonical_target(s: pd.Series, t: TargetInfo) -> pd.Series:
    """The target as float64 (regression) or as its class names. Numbers and booleans are
    parsed first, so 1, 1.0 and "1.0" (or True and "true") name the same class whichever way
    a backend typed the column."""
    if t.task == "regression":
        return canonical(s, "numeric")
    if t.kind == "numeric":
        return canonical(canonical(s, "numeric"), "categorical")
    if t.kind == "boolean":
        return canonical(canonical(s, "boolean").map({0.0: "False", 1.0: "True"}), "categorical")
    return canonical(s, "categorical")


def _mix(h: np.ndarray) -> np.ndarray:
    """A bijective 64-bit finaliser (splitmix64's): every input bit moves every output bit."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def split_keys(frame: pd.DataFrame, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent uniforms per row from a hash of the row's own values and the seed.

    Pass the feature columns only: a split that depends on the target biases both splits.
    pandas' hash key reaches text columns only, so the seed is also mixed into every row's
    hash: the seed moves the split whatever the column types."""
    key = f"greta{seed:011d}"[-16:]
    h = pd.util.hash_pandas_object(frame, index=False, hash_key=key).to_numpy(np.uint64)
    h = _mix(h ^ _mix(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)))
    u1 = (h >> np.uint64(11)).astype(np.float64) * _U53
    with np.errstate(over="ignore"):
        h2 = h * _MIX
    u2 = ((h2 ^ (h2 >> np.uint64(29))) >> np.uint64(11)).astype(np.float64) * _U53
    return u1, u2


def smallest(keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest keys in increasing order, and their positions."""
    idx = np.arange(len(keys))
    if len(keys) > k:
        idx = np.argpartition(keys, k - 1)[:k] if k > 0 else idx[:0]
    idx = idx[np.argsort(keys[idx], kind="stable")]
    return keys[idx], idx


class DesignBuilder:
    def __init__(self, plan: Plan, seed: int, holdout_fraction: float) -> None:
        self.plan = plan
        self.seed = seed
        self.holdout_fraction = holdout_fraction
        self.kinds = {c.name: c.kind for c in plan.columns}

    def batch(self, df: pd.DataFrame, terms: Sequence[Term], screen: Sequence[Term] = (),
              screen_rows: int | None = None) -> Batch:
        """Design rows of ``df``: discovery rows first, then holdout rows. With ``screen``, also
        the design columns of those terms (and the targets) on the ``screen_rows`` discovery
        rows of smallest key (all discovery rows if None): a uniform sample that is the same
        whatever the batching, since each row's key comes from its own values."""
        frame = canonical_features(self.plan, df)
        y, ok = self.target(canonical_target(df[self.plan.target.name], self.plan.target))
        # The hash sees the feature values only, never the target: identical rows land in the
        # same split, and were the target hashed too, each split would tie the target to the
        # features (on low-cardinality data, confirmed "findings" on pure noise).
        u1, u2 = split_keys(frame, self.seed)
        rows = np.flatnonzero(ok)
        hold = u1[rows] < self.holdout_fraction
        order = np.argsort(hold, kind="stable")
        rows = rows[order]
        kept = frame.take(rows).reset_index(drop=True)
        t = y.shape[1]
        xy = self.matrix(kept, terms, extra=t)
        xy[:, xy.shape[1] - t :] = y[rows]
        n_disc = int(len(rows) - hold.sum())
        e, e_key = np.zeros((0, 0)), np.zeros(0)
        if screen:
            e_key, pick = smallest(u2[rows[:n_disc]], n_disc if screen_rows is None else screen_rows)
            e = self.matrix(kept.take(pick).reset_index(drop=True), screen, extra=t)
            e[:, e.shape[1] - t :] = y[rows[pick]]
        return Batch(xy, e, e_key, t, n_disc, u2[rows], len(df), int((~ok).sum()), self.late_missing(kept))

    def late_missing(self, frame: pd.DataFrame) -> np.ndarray:
        """Missing values in numeric columns the planning sample saw complete: they are used at
        the column's centre with no indicator, and counted so the results can say so."""
        out = np.zeros(len(self.plan.columns), dtype=np.int64)
        which = [i for i, c in enumerate(self.plan.columns) if c.kind != "categorical" and not c.has_missing]
        if which:
            names = [self.plan.columns[i].name for i in which]
            out[which] = np.isnan(frame[names].to_numpy(np.float64)).sum(axis=0)
        return out

    def target(self, s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        t = self.plan.target
        if t.task == "regression":
            v = s.to_numpy(np.float64)
            ok = np.isfinite(v)
            return np.where(ok, v, 0.0)[:, None], ok
        classes = np.array(t.classes, dtype=object)
        values = s.to_numpy(object)
        ok = np.isin(values, classes) & (values != MISSING_LEVEL)
        if t.task == "binary":
            return (values == t.classes[1]).astype(np.float64)[:, None], ok
        return np.column_stack([(values == c).astype(np.float64) for c in classes[1:]]), ok

    def matrix(self, frame: pd.DataFrame, terms: Sequence[Term], extra: int = 0) -> np.ndarray:
        """Design columns of ``terms`` (column-major, so each column is written contiguously),
        followed by ``extra`` columns left for the caller to fill."""
        n = len(frame)
        width = sum(t.width for t in terms)
        x = np.empty((n, width + extra), dtype=np.float64, order="F")
        filled = self._values(frame, terms)

        def value(name: str) -> np.ndarray:
            """The column centred at its centre, 0 (the centre) where missing."""
            if name not in filled:
                v = frame[name].to_numpy(np.float64) - self.plan.centre(name)
                filled[name] = np.where(np.isnan(v), 0.0, v)
            return filled[name]

        j = 0
        for term in terms:
            j = self._fill(x, j, term, frame, value)
        return x

    def _values(self, frame: pd.DataFrame, terms: Sequence[Term]) -> dict[str, np.ndarray]:
        """The centred values (0 where missing) of the numeric columns the terms use, converted
        together when there are many (as ``matrix``'s ``value`` does one by one)."""
        names = list(dict.fromkeys(s for t in terms if t.kind not in ("categorical",) for s in t.sources))
        if len(names) < 16:
            return {}
        v = frame[names].to_numpy(np.float64) - np.array([self.plan.centre(n) for n in names])
        v = np.asfortranarray(np.where(np.isnan(v), 0.0, v))
        return {name: v[:, i] for i, name in enumerate(names)}

    def _fill(self, x: np.ndarray, j: int, term: Term, frame: pd.DataFrame, value) -> int:  # noqa: ANN001
        src = term.sources
        if term.kind == "numeric":
            x[:, j] = value(src[0])
            if term.width == 2:
                x[:, j + 1] = np.isnan(frame[src[0]].to_numpy(np.float64))
        elif term.kind == "categorical":
            self._dummies(x[:, j : j + term.width], term, frame[src[0]].to_numpy(object))
        elif term.kind == "product":
            np.multiply(value(src[0]), value(src[1]), out=x[:, j])
        elif term.kind == "square":
            np.square(value(src[0]), out=x[:, j])
        elif term.kind == "log":  # of the value itself, the centre where missing
            v = value(src[0]) + self.plan.centre(src[0])
            x[:, j] = np.log(np.maximum(v, 1e-12)) if term.name.startswith("log(") else np.log1p(np.maximum(v, 0.0))
        return j + term.width

    @staticmethod
    def _dummies(out: np.ndarray, term: Term, values: np.ndarray) -> None:
        out[:] = 0.0
        levels = list(term.levels)
        codes = pd.Categorical(values, categories=levels).codes  # -1: reference or unknown
        if OTHER_LEVEL in levels:
            known = set(levels) | {term.reference}
            unknown = (codes < 0) & ~pd.Series(values).isin(known).to_numpy()
            codes = np.where(unknown, levels.index(OTHER_LEVEL), codes)
        rows = np.nonzero(codes >= 0)[0]
        out[rows, codes[rows]] = 1.0


__all__ = ["Batch", "DesignBuilder", "canonical_features", "canonical_frame", "canonical_target",
           "smallest", "split_keys", "MISSING_LEVEL"]
