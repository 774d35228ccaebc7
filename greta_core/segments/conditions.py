"""The conditions a segment is made of, planned before the data pass.

Each numeric column is cut at its quantiles in the planning sample (at most ``bins`` bins;
cut points are values the sample holds, repeated ones merged); each categorical column keeps
the plan's levels. A row is then a few small integer codes: its bin in each numeric column
(``MISSING`` where the value is missing) and its level in each categorical one. A condition
is a range of bins (``low <= x <= high`` in cut points) or a set of levels; a segment is a
conjunction of conditions on different columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from greta_core.plan.design import Rows
from greta_core.plan.schema import canonical
from greta_core.plan.terms import Plan

MISSING = 255  # the code of a missing numeric value: in no range
MAX_LEVELS = 63  # a categorical with more levels makes no conditions (level sets are 64-bit masks)


@dataclass(frozen=True)
class Feature:
    """One column as segment conditions see it."""

    name: str
    kind: str  # "numeric" (bins between cut points) or "categorical" (levels)
    cuts: tuple[float, ...] = ()  # numeric: bin b holds cuts[b-1] < x <= cuts[b]
    levels: tuple[str, ...] = ()  # categorical: code i is levels[i] (the reference first)
    integer: bool = False  # numeric: every sample value is a whole number
    boolean: bool = False  # a yes/no column held as 0/1: its conditions read "is true" / "is false"

    @property
    def codes(self) -> int:
        return len(self.cuts) + 1 if self.kind == "numeric" else len(self.levels)


@dataclass(frozen=True)
class Condition:
    """One column's condition: bins ``low..high`` (numeric) or a set of level codes."""

    column: int
    low: int = 0
    high: int = 0
    levels: frozenset[int] = frozenset()


Segment = tuple[Condition, ...]  # sorted by column


class Coder:
    """Turns a batch's rows into segment codes (``uint8``, one column per feature)."""

    def __init__(self, plan: Plan, features: Sequence[Feature]) -> None:
        self.features = tuple(features)
        numeric = [c.name for c in plan.columns if c.kind != "categorical"]
        where = {n: i for i, n in enumerate(numeric)}
        self._numeric = [(j, where[f.name], np.asarray(f.cuts, dtype=np.float64) - plan.centre(f.name))
                         for j, f in enumerate(self.features) if f.kind == "numeric"]
        self._categorical = [(j, f.name) for j, f in enumerate(self.features) if f.kind == "categorical"]

    @property
    def width(self) -> int:
        return len(self.features)

    def codes(self, rows: Rows, idx: np.ndarray | slice) -> np.ndarray:
        """The codes of rows ``idx`` of a batch (numeric values there are centred), one column
        after another in memory (Fortran order): each column is written in one contiguous run."""
        out = np.empty((len(rows.key[idx]), self.width), dtype=np.uint8, order="F")
        for j, k, cuts in self._numeric:
            v, col = rows.values[idx, k], out[:, j]
            if len(cuts) <= 16:  # a few comparisons beat a binary search per value
                np.greater(v, cuts[0], out=col, casting="unsafe")
                for c in cuts[1:]:
                    col += v > c
            else:
                col[:] = np.searchsorted(cuts, v, side="left")
            col[rows.missing[idx, k]] = MISSING
        for j, name in self._categorical:
            out[:, j] = rows.codes[name][idx] + 1  # -1 (the reference) is code 0
        return out


def plan_features(sample: pd.DataFrame, plan: Plan, bins: int) -> list[Feature]:
    """Bins of each numeric column (quantiles of the planning sample) and levels of each
    categorical column of the plan."""
    out = []
    for col in plan.columns:
        if col.kind == "categorical":
            if 2 <= len(col.levels) <= MAX_LEVELS:
                out.append(Feature(col.name, "categorical", levels=tuple(col.levels)))
            continue
        v = canonical(sample[col.name], col.kind, col.decimal).to_numpy(np.float64)
        v = v[np.isfinite(v)]
        if len(v) < 2:
            continue
        qs = np.quantile(v, np.arange(1, bins) / bins, method="lower")
        cuts = np.unique(qs)
        cuts = cuts[cuts < v.max()]  # a cut at the maximum leaves an empty bin above it
        if len(cuts):
            out.append(Feature(col.name, "numeric", cuts=tuple(float(c) for c in cuts),
                               integer=bool(np.all(v == np.round(v))), boolean=col.kind == "boolean"))
    return out


def mask(codes: np.ndarray, segment: Segment, features: Sequence[Feature]) -> np.ndarray:
    """Which rows (of a codes matrix) are in the segment."""
    inside = np.ones(len(codes), dtype=bool)
    for c in segment:
        col = codes[:, c.column]
        if features[c.column].kind == "numeric":
            inside &= (col >= c.low) & (col <= c.high)
        else:
            table = np.zeros(256, dtype=bool)
            table[list(c.levels)] = True
            inside &= table[col]
    return inside


def _num(v: float, integer: bool) -> str:
    if integer:
        return f"{int(round(v)):,}" if abs(v) >= 1e4 else str(int(round(v)))
    return f"{v:.4g}"


def as_data(c: Condition, f: Feature) -> dict[str, object]:
    """The condition as data: the column and its levels, or its bounds (low < x <= high,
    either bound None when open)."""
    if f.kind == "categorical":
        return {"column": f.name, "kind": "levels", "levels": [f.levels[i] for i in sorted(c.levels)]}
    low = f.cuts[c.low - 1] if c.low > 0 else None
    high = f.cuts[c.high] if c.high < len(f.cuts) else None
    return {"column": f.name, "kind": "range", "low": low, "high": high, "low_inclusive": False,
            "high_inclusive": True}


def describe(c: Condition, f: Feature) -> str:
    """The condition in words: "contract is monthly", "support_calls is 3 or more",
    "tenure_years is at most 1.5", "age is above 30 and at most 45"."""
    if f.kind == "categorical":
        names = [f.levels[i] for i in sorted(c.levels)]
        rest = [lv for i, lv in enumerate(f.levels) if i not in c.levels]
        if len(names) == 1:
            return f"{f.name} is {names[0]}"
        if len(rest) == 1:
            return f"{f.name} is not {rest[0]}"
        return f"{f.name} is one of {', '.join(names)}"
    low = f.cuts[c.low - 1] if c.low > 0 else None
    high = f.cuts[c.high] if c.high < len(f.cuts) else None
    if f.boolean and f.cuts == (0.0,):
        return f"{f.name} is {'false' if high is not None else 'true'}"
    parts = []
    if low is not None:
        parts.append(f"{_num(low + 1, True)} or more" if f.integer else f"above {_num(low, False)}")
    if high is not None:
        parts.append(f"at most {_num(high, f.integer)}")
    if f.integer and low is not None and high is not None and low + 1 == high:
        return f"{f.name} is {_num(high, True)}"
    if f.integer and low is not None and high is not None:
        return f"{f.name} is {_num(low + 1, True)} to {_num(high, True)}"
    return f"{f.name} is {' and '.join(parts)}"


def describe_segment(segment: Segment, features: Sequence[Feature]) -> str:
    words = [describe(c, features[c.column]) for c in segment]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
