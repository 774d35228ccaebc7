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
    data = {c.name: values[c.name] if c.name in values else canonical(df[c.name], c.kind, c.decimal).to_numpy()
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
        return canonical(s, "numeric", t.decimal)
    if t.kind == "numeric":
        return canonical(canonical(s, "numeric", t.decimal), "categorical")
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


@dataclass
class Rows:
    """One batch's rows in the form the design is built from, in split order (discovery rows,
    then holdout rows; only rows with a usable target value)."""

    values: np.ndarray  # (n, p) F-order: numeric columns minus their centres, 0 where missing
    missing: np.ndarray  # (n, p) bool: the value was missing
    codes: dict[str, np.ndarray]  # categorical term -> (n,) index of its dummy, -1 for none
    y: np.ndarray  # (n, t) target columns
    key: np.ndarray  # (n,) uniform in [0, 1): order of the holdout sample
    n_discovery: int

    def __len__(self) -> int:
        return len(self.y)

    def take(self, idx: np.ndarray) -> Rows:
        """The rows ``idx`` (of this batch), e.g. a sample of holdout rows."""
        return Rows(np.asfortranarray(self.values[idx]), self.missing[idx],
                    {k: v[idx] for k, v in self.codes.items()}, self.y[idx], self.key[idx], 0)


@dataclass(frozen=True)
class Program:
    """How to write the design columns of a list of terms: runs of like columns become one
    numpy call each (a row of products a*b, a*c, ... is one broadcast multiply)."""

    ops: tuple[tuple, ...]
    width: int


class DesignBuilder:
    def __init__(self, plan: Plan, seed: int, holdout_fraction: float) -> None:
        self.plan = plan
        self.seed = seed
        self.holdout_fraction = holdout_fraction
        self.kinds = {c.name: c.kind for c in plan.columns}
        self.numeric = [c.name for c in plan.columns if c.kind != "categorical"]
        self.position = {name: i for i, name in enumerate(self.numeric)}
        self.centres = np.array([plan.centre(n) for n in self.numeric], dtype=np.float64)
        self.categorical = [t for t in plan.main_terms if t.kind == "categorical"]
        self._programs: dict[tuple[str, ...], Program] = {}

    # ------------------------------------------------------------------ rows of a batch
    def prepare(self, df: pd.DataFrame) -> tuple[Rows, int, int, np.ndarray]:
        """The batch's rows in split order, the rows read, the rows without a usable target
        and the late missing values (see :meth:`late_missing_of`)."""
        frame = canonical_features(self.plan, df)
        y, ok = self.target(canonical_target(df[self.plan.target.name], self.plan.target))
        # The hash sees the feature values only, never the target: identical rows land in the
        # same split, and were the target hashed too, each split would tie the target to the
        # features (on low-cardinality data, confirmed "findings" on pure noise).
        u1, u2 = split_keys(frame, self.seed)
        rows = np.flatnonzero(ok)
        hold = u1[rows] < self.holdout_fraction
        rows = rows[np.argsort(hold, kind="stable")]
        values, missing, codes = self._inputs(frame, rows)
        n_disc = int(len(rows) - hold.sum())
        late = self.late_missing_of(missing)
        return Rows(values, missing, codes, y[rows], u2[rows], n_disc), len(df), int((~ok).sum()), late

    def holdout(self, df: pd.DataFrame, sources: Sequence[str] | None = None) -> Rows:
        """The batch's holdout rows only (with a usable target, split as :meth:`prepare` splits
        them, in the batch's order): for a pass that needs nothing of the discovery rows. With
        ``sources``, only those columns' values are read out (the design of terms made of them
        can be filled; the others are left at 0)."""
        return self.split_rows(df, sources, held_out_only=True)

    def split_rows(self, df: pd.DataFrame, sources: Sequence[str] | None = None,
                   held_out_only: bool = False) -> Rows:
        """The batch's rows with a usable target in split order, as :meth:`prepare` orders them
        (discovery rows, then holdout rows; ``held_out_only``: holdout rows alone), reading out
        only the columns ``sources`` when given (see :meth:`holdout`)."""
        frame = canonical_features(self.plan, df)  # every column: the split hashes them all
        y, ok = self.target(canonical_target(df[self.plan.target.name], self.plan.target))
        u1, u2 = split_keys(frame, self.seed)
        rows = np.flatnonzero(ok)
        hold = u1[rows] < self.holdout_fraction
        rows = rows[hold] if held_out_only else rows[np.argsort(hold, kind="stable")]
        n_disc = 0 if held_out_only else int(len(rows) - hold.sum())
        if sources is None:
            values, missing, codes = self._inputs(frame, rows)
        else:
            values, missing, codes = self._some_inputs(frame, rows, set(sources))
        return Rows(values, missing, codes, y[rows], u2[rows], n_disc)

    def _some_inputs(self, frame: pd.DataFrame, rows: np.ndarray, sources: set[str]) -> tuple[np.ndarray, np.ndarray, dict]:
        """:meth:`_inputs` of the columns ``sources`` only."""
        values = np.zeros((len(rows), len(self.numeric)), order="F")
        missing = np.zeros(values.shape, dtype=bool, order="F")
        names = [c for c in self.numeric if c in sources]
        if names:
            idx = [self.position[c] for c in names]
            block = frame[names].to_numpy(np.float64)[rows]
            miss = np.isnan(block)
            block -= self.centres[idx]
            block[miss] = 0.0  # the centre
            values[:, idx], missing[:, idx] = block, miss
        codes = {t.name: _codes(t, frame[t.sources[0]].to_numpy(object)[rows])
                 for t in self.categorical if t.sources[0] in sources}
        return values, missing, codes

    def _inputs(self, frame: pd.DataFrame, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict]:
        n = len(frame) if rows is None else len(rows)
        if self.numeric:  # converted together: a wide file has thousands of numeric columns
            block = frame[self.numeric].to_numpy(np.float64)
            # rows picked from the transposed block come out column by column: one copy, not two
            values = np.asfortranarray(block if rows is None else block.T[:, rows].T)
        else:
            values = np.zeros((n, 0), order="F")
        missing = np.isnan(values)
        values -= self.centres
        values[missing] = 0.0  # the centre
        codes = {}
        for term in self.categorical:
            v = frame[term.sources[0]].to_numpy(object)
            codes[term.name] = _codes(term, v if rows is None else v[rows])
        return values, missing, codes

    def late_missing(self, frame: pd.DataFrame) -> np.ndarray:
        """:meth:`late_missing_of` the rows of the canonical ``frame``."""
        values = frame[self.numeric].to_numpy(np.float64) if self.numeric else np.zeros((len(frame), 0))
        return self.late_missing_of(np.isnan(values))

    def late_missing_of(self, missing: np.ndarray) -> np.ndarray:
        """Missing values in numeric columns the planning sample saw complete: they are used at
        the column's centre with no indicator, and counted so the results can say so."""
        out = np.zeros(len(self.plan.columns), dtype=np.int64)
        which = [i for i, c in enumerate(self.plan.columns) if c.kind != "categorical" and not c.has_missing]
        if which:
            cols = [self.position[self.plan.columns[i].name] for i in which]
            out[which] = missing[:, cols].sum(axis=0)
        return out

    # ------------------------------------------------------------------ design columns
    def program(self, terms: Sequence[Term]) -> Program:
        key = tuple(t.name for t in terms)
        if key not in self._programs:
            self._programs[key] = _compile(terms, self.position, self.plan)
        return self._programs[key]

    def fill(self, rows: Rows, program: Program, start: int, stop: int, out: np.ndarray) -> None:
        """Write the design columns of rows ``[start, stop)`` into ``out`` (its first columns)."""
        v = rows.values[start:stop]
        for op in program.ops:
            kind, j, w = op[0], op[1], op[2]
            dst = out[:, j : j + w]
            if kind == "copy":
                dst[:] = v[:, op[3] : op[3] + w]
            elif kind == "missing":
                dst[:, 0] = rows.missing[start:stop, op[3]]
            elif kind == "product":
                np.multiply(v[:, op[3] : op[3] + 1], v[:, op[4] : op[4] + w], out=dst)
            elif kind == "square":
                np.square(v[:, op[3] : op[3] + w], out=dst)
            elif kind == "log":
                x = v[:, op[3]] + op[4]
                dst[:, 0] = np.log(np.maximum(x, 1e-12)) if op[5] else np.log1p(np.maximum(x, 0.0))
            else:  # dummies
                dst[:] = 0.0
                c = rows.codes[op[3]][start:stop]
                r = np.flatnonzero(c >= 0)
                dst[r, c[r]] = 1.0

    def screen_rows(self, rows: Rows, program: Program, size: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The design columns of ``program`` (and the targets) on the ``size`` discovery rows of
        smallest key (all if None): a uniform sample that is the same whatever the batching,
        since each row's key comes from its own values; and those keys."""
        nd = rows.n_discovery
        e_key, pick = smallest(rows.key[:nd], nd if size is None else size)
        chosen = rows.take(pick)
        t = rows.y.shape[1]
        e = np.empty((len(pick), program.width + t), dtype=np.float64, order="F")
        self.fill(chosen, program, 0, len(pick), e)
        e[:, program.width :] = chosen.y
        return e, e_key

    def batch(self, df: pd.DataFrame, terms: Sequence[Term], screen: Sequence[Term] = (),
              screen_rows: int | None = None) -> Batch:
        """Design rows of ``df``: discovery rows first, then holdout rows. With ``screen``, also
        the design columns of those terms (and the targets) on the ``screen_rows`` discovery
        rows of smallest key (all discovery rows if None), see :meth:`screen_rows`."""
        rows, read, bad, late = self.prepare(df)
        t = rows.y.shape[1]
        prog = self.program(terms)
        xy = np.empty((len(rows), prog.width + t), dtype=np.float64, order="F")
        self.fill(rows, prog, 0, len(rows), xy)
        xy[:, prog.width :] = rows.y
        e, e_key = np.zeros((0, 0)), np.zeros(0)
        if screen:
            e, e_key = self.screen_rows(rows, self.program(screen), screen_rows)
        return Batch(xy, e, e_key, t, rows.n_discovery, rows.key, read, bad, late)

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
        """Design columns of ``terms`` for the rows of the canonical ``frame``, in its order
        (column-major), followed by ``extra`` columns left for the caller to fill."""
        values, missing, codes = self._inputs(frame, None)
        rows = Rows(values, missing, codes, np.zeros((len(frame), 0)), np.zeros(len(frame)), len(frame))
        prog = self.program(terms)
        x = np.empty((len(frame), prog.width + extra), dtype=np.float64, order="F")
        self.fill(rows, prog, 0, len(frame), x)
        return x


def _codes(term: Term, values: np.ndarray) -> np.ndarray:
    """Each value's dummy column of the categorical ``term``: -1 for the reference level; a
    level the plan does not know goes to "(other)" when there is one, else to the reference.
    The distinct values are looked up once (a batch holds few of them)."""
    levels = list(term.levels)
    where = {lv: i for i, lv in enumerate(levels)}
    unknown = levels.index(OTHER_LEVEL) if OTHER_LEVEL in levels else -1
    codes, uniques = pd.factorize(values)
    lookup = np.array([where.get(u, -1 if u == term.reference else unknown) for u in uniques] + [unknown],
                      dtype=np.int64)
    return lookup[codes]  # code -1 (a missing value) picks the last entry: unknown


def _compile(terms: Sequence[Term], position: dict[str, int], plan: Plan) -> Program:
    ops: list[list] = []
    j = 0
    for term in terms:
        src = term.sources
        if term.kind == "numeric":
            _run(ops, ["copy", j, 1, position[src[0]]], 3)
            if term.width == 2:
                ops.append(["missing", j + 1, 1, position[src[0]]])
        elif term.kind == "categorical":
            ops.append(["dummies", j, term.width, term.name])
        elif term.kind == "product":
            _run(ops, ["product", j, 1, position[src[0]], position[src[1]]], 4)
        elif term.kind == "square":
            _run(ops, ["square", j, 1, position[src[0]]], 3)
        elif term.kind == "log":
            ops.append(["log", j, 1, position[src[0]], plan.centre(src[0]), term.name.startswith("log(")])
        j += term.width
    return Program(tuple(tuple(op) for op in ops), j)


def _run(ops: list[list], op: list, moving: int) -> None:
    """Append ``op`` (one column), or widen the previous op of its kind by one column when both
    the design column and the source column at index ``moving`` are the next ones."""
    last = ops[-1] if ops else None
    if (last is not None and last[0] == op[0] and last[1] + last[2] == op[1]
            and last[moving] + last[2] == op[moving] and last[3:moving] == op[3:moving]):
        last[2] += 1
    else:
        ops.append(op)


__all__ = ["Batch", "DesignBuilder", "Program", "Rows", "canonical_features", "canonical_frame",
           "canonical_target", "smallest", "split_keys", "MISSING_LEVEL"]
