"""A row filter evaluated on a pandas batch, with vectorised pandas/numpy operations only.

Each comparison looks at the column's values as the constant's kind: a number compares with
the column's numbers (text that is not a number counts as missing), text with its text (dates
with the date the text names), true/false with its yes/no values ("true", "yes", 1, ...).
A comparison with a missing value is False.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from greta_core.errors import InvalidConfigError
from greta_core.plan.row_filter import TRUE_TEXT, And, Compare, Constant, Member, Missing, Node, Not, Or

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_TRUE = [k for k, v in TRUE_TEXT.items() if v]
_FALSE = [k for k, v in TRUE_TEXT.items() if not v]


def mask(node: Node, df: pd.DataFrame) -> np.ndarray:
    """The rows of ``df`` that ``node`` keeps, as a boolean numpy array."""
    if isinstance(node, Compare):
        return _compare(df[node.column], node.op, node.value, node.column)
    if isinstance(node, Member):
        return _member(df[node.column], node.values, node.negated, node.column)
    if isinstance(node, Missing):
        missing = df[node.column].isna().to_numpy(dtype=bool)
        return ~missing if node.negated else missing
    if isinstance(node, Not):
        return ~mask(node.operand, df)
    combine = np.logical_and if isinstance(node, And) else np.logical_or
    assert isinstance(node, (And, Or))
    out = mask(node.operands[0], df)
    for part in node.operands[1:]:
        out = combine(out, mask(part, df))
    return out


def check(series: pd.Series, column: str, value: Constant) -> None:
    """InvalidConfigError when ``value`` cannot be compared with the values of ``series``
    (a sample of the column): dates with a number, numbers with text, ..."""
    if isinstance(value, bool):
        found = _booleans(series, column)
        if series.notna().any() and np.isnan(found).all():
            msg = (f"Invalid row filter (data.row_filter): column {column!r} holds no true/false values "
                   f"(such as {_example(series)}), so it cannot be compared with {str(value).lower()}.")
            raise InvalidConfigError(msg)
    elif isinstance(value, (int, float)):
        numbers = _numbers(series, column)
        if series.notna().any() and numbers.dtype.kind == "f" and np.isnan(numbers).all():
            msg = (f"Invalid row filter (data.row_filter): column {column!r} holds text (such as "
                   f"{_example(series)}), not numbers; compare it with quoted text ({_name(column)} == 'text').")
            raise InvalidConfigError(msg)
    else:
        _compare(series.head(1), "==", value, column)


def _compare(s: pd.Series, op: str, value: Constant, column: str) -> np.ndarray:
    fn = _OPS[op]
    if isinstance(value, bool):
        b = _booleans(s, column)
        with np.errstate(invalid="ignore"):
            return ~np.isnan(b) & fn(b, 1.0 if value else 0.0)
    if isinstance(value, (int, float)):
        a = _numbers(s, column)
        with np.errstate(invalid="ignore"):
            out = np.asarray(fn(a, value), dtype=bool)
        return out & ~np.isnan(a) if a.dtype.kind == "f" else out
    kind = _kind(s)
    if kind == "date":
        got = fn(s, _timestamp(value, s, column))
        return np.asarray(got, dtype=bool) & s.notna().to_numpy(dtype=bool)
    _text_only(kind, s, column, value)
    if op in ("==", "!=") and s.dtype == object:  # text as read: str or None, compared as it is
        hit = (s == value).to_numpy(dtype=bool)
        return hit if op == "==" else ~hit & s.notna().to_numpy(dtype=bool)
    return fn(s.astype("string"), value).fillna(False).to_numpy(dtype=bool)


def _member(s: pd.Series, values: tuple[Constant, ...], negated: bool, column: str) -> np.ndarray:
    first = values[0]
    if isinstance(first, bool):
        b = _booleans(s, column)
        present, hit = ~np.isnan(b), np.isin(b, [1.0 if v else 0.0 for v in values])
    elif isinstance(first, (int, float)):
        a = _numbers(s, column)
        present = ~np.isnan(a) if a.dtype.kind == "f" else np.ones(len(a), dtype=bool)
        hit = np.isin(a, list(values))
    elif _kind(s) == "date":
        present = s.notna().to_numpy(dtype=bool)
        hit = s.isin([_timestamp(v, s, column) for v in values]).to_numpy(dtype=bool)
    else:
        _text_only(_kind(s), s, column, first)
        text = s.astype("string")
        present, hit = text.notna().to_numpy(dtype=bool), text.isin(list(values)).to_numpy(dtype=bool)
    return present & (~hit if negated else hit)


def _kind(s: pd.Series) -> str:
    t = s.dtype
    if pd.api.types.is_bool_dtype(t):
        return "bool"
    if pd.api.types.is_numeric_dtype(t):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(t):
        return "date"
    if pd.api.types.is_timedelta64_dtype(t):
        return "duration"
    return "text"


def _numbers(s: pd.Series, column: str) -> np.ndarray:
    kind = _kind(s)
    if kind == "number":
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iu":
            return s.to_numpy()  # exact: no round trip through floats
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == "text":
        values = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    what = {"bool": "true/false values; compare it with true or false",
            "date": "dates; compare it with a quoted date (d >= '2020-01-31')"}.get(kind, f"{kind}s")
    msg = f"Invalid row filter (data.row_filter): column {column!r} holds {what}, not with a number."
    raise InvalidConfigError(msg)


def _booleans(s: pd.Series, column: str) -> np.ndarray:
    kind = _kind(s)
    if kind in ("bool", "number"):
        a = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where((a == 0.0) | (a == 1.0), a, np.nan)
    if kind == "text":
        text = s.astype("string").str.strip().str.lower()
        yes = text.isin(_TRUE).to_numpy(dtype=bool)
        no = text.isin(_FALSE).to_numpy(dtype=bool)
        return np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    msg = f"Invalid row filter (data.row_filter): column {column!r} holds {kind}s, which cannot be true or false."
    raise InvalidConfigError(msg)


def _text_only(kind: str, s: pd.Series, column: str, value: Constant) -> None:
    if kind == "text":
        return
    what = {"number": "numbers", "bool": "true/false values"}.get(kind, f"{kind}s")
    hint = f"{_name(column)} == {value}" if kind == "number" and _is_number(str(value)) else \
        f"{_name(column)} == true" if kind == "bool" else f"{_name(column)} == 3"
    msg = (f"Invalid row filter (data.row_filter): column {column!r} holds {what} and cannot be compared "
           f"with the text {value!r}; write the constant without quotes ({hint}).")
    raise InvalidConfigError(msg)


def _timestamp(value: Constant, s: pd.Series, column: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(str(value))
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if ts is pd.NaT:
        msg = (f"Invalid row filter (data.row_filter): column {column!r} holds dates and {value!r} is not a "
               f"date; write a date in quotes ({_name(column)} >= '2020-01-31').")
        raise InvalidConfigError(msg) from None
    tz = getattr(s.dt, "tz", None)
    if tz is not None and ts.tzinfo is None:
        return ts.tz_localize(tz)
    if tz is None and ts.tzinfo is not None:
        return ts.tz_convert("UTC").tz_localize(None)
    return ts


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _name(column: str) -> str:
    return column if column.isidentifier() else f"`{column}`"


def _example(s: pd.Series) -> str:
    present = s.dropna()
    return repr(present.iloc[0]) if len(present) else "none"
