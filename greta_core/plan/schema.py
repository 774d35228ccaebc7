"""Type inference on a sample: what each column is, and which to drop (with a reason)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from greta_core.errors import ColumnNotFoundError, TargetError, missing_target_message

MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
MAX_CLASSES = 20
_POSITIVE = ("1", "1.0", "true", "yes", "y", "t", "positive", "pos")


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: str  # numeric | boolean | categorical | datetime
    has_missing: bool = False
    levels: tuple[str, ...] = ()  # categorical: kept levels, reference first
    positive: bool = False  # numeric with strictly positive sample values
    skewed: bool = False
    nonnegative: bool = False
    text: bool = False  # numbers the sample held as text (some cells are not numbers): read as text
    note: str = ""  # what a reader of the results should know about the column's values
    decimal: str = "."  # the decimal mark of numbers held as text: "." or ","


@dataclass(frozen=True)
class TargetInfo:
    name: str
    task: str  # regression | binary | multiclass
    kind: str  # numeric | boolean | categorical
    classes: tuple[str, ...] = ()  # reference class first; binary: (negative, positive)
    text: bool = False  # numbers the sample held as text (some cells are not numbers): read as text
    decimal: str = "."  # the decimal mark of numbers held as text: "." or ","

    @property
    def width(self) -> int:
        return 1 if self.task != "multiclass" else len(self.classes) - 1


def canonical(series: pd.Series, kind: str, decimal: str = ".") -> pd.Series:
    """A column in the form every backend agrees on: float64 numbers or str levels. Numbers
    held as text are read with ``decimal`` as their decimal mark."""
    if kind in ("numeric",):
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            return _finite(to_numbers(series, decimal))
        return _finite(series.astype("float64"))
    if kind == "boolean":
        return _booleans(series)
    if kind == "datetime":
        ts = pd.to_datetime(series, errors="coerce", utc=True, format="mixed") if not pd.api.types.is_datetime64_any_dtype(series.dtype) else series
        if getattr(ts.dt, "tz", None) is None:
            ts = ts.dt.tz_localize("UTC")
        days = (ts - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(days=365.25)
        return (days + 1970.0).astype("float64")
    return _levels(series)


_GROUP_SEPARATORS = " \u00a0\u202f'"  # space, no-break space, narrow no-break space, apostrophe


def _grouped(decimal: str) -> str:
    """A number whose thousands are grouped by one separator, with ``decimal`` as its decimal
    mark: 1,234,567.8 and 1 234.5 for "."; 1.234.567,8 and 1 234,5 for ","."""
    seps = ("," if decimal == "." else ".") + _GROUP_SEPARATORS
    groups = "|".join(rf"(?:{re.escape(sep)}\d{{3}})+" for sep in seps)  # no back-references: RE2 too
    return rf"^\s*[+-]?[1-9]\d{{0,2}}(?:{groups})(?:{re.escape(decimal)}\d+)?\s*$"  # 0,123 groups nothing


_GROUPED = {d: _grouped(d) for d in ".,"}


def to_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Text to float64 (NaN where a value is not a number) with ``decimal`` as the decimal mark.

    Thousands separators are read as spreadsheets export formatted numbers: 1,234,567.8 (or
    1 234 567.8) with a decimal point; 1.234.567,8 (or with a space, a no-break space U+00A0
    or a narrow no-break space U+202F) with a decimal comma. With a decimal comma, a dot is
    a thousands separator only (3.5 is not a number there). This is the one parser of numbers
    held as text: every backend runs it on every batch."""
    try:
        grouped = values.str.match(_GROUPED[decimal])
    except AttributeError:  # no text at all (numbers held in an object column)
        return pd.to_numeric(values, errors="coerce").astype("float64")
    found = grouped.to_numpy()
    missing = pd.isna(found)
    held = missing & values.notna().to_numpy()  # numbers held as numbers among text (an Excel column)
    grouped = pd.Series(np.where(missing, False, found).astype(bool), index=values.index)
    text = values
    if grouped.any():
        text = text.where(~grouped, text.str.replace(r"[^\d+\-.,]", "", regex=True))
        if decimal == ".":
            text = text.where(~grouped, text.str.replace(",", "", regex=False))
        else:
            text = text.where(~grouped, text.str.replace(".", "", regex=False))
    if decimal == ",":
        dotted = text.str.contains(".", regex=False, na=False)
        text = text.where(~dotted).str.replace(",", ".", regex=False)
    out = pd.to_numeric(text, errors="coerce").astype("float64")
    if held.any():
        out = out.where(~held, pd.to_numeric(values.where(held), errors="coerce").astype("float64"))
    return out


def _finite(v: pd.Series) -> pd.Series:
    """±inf is no usable value: it counts as missing (0 plus the missing indicator)."""
    inf = np.isinf(v.to_numpy())
    return v.where(~inf) if inf.any() else v


def _levels(series: pd.Series) -> pd.Series:
    """Levels as str, missing as MISSING_LEVEL (vectorised: this runs on every batch)."""
    mask = series.isna().to_numpy()
    if pd.api.types.is_float_dtype(series.dtype):
        v = series.to_numpy(np.float64)
        whole = np.isfinite(v) & (v == np.round(v))
        if whole[~mask].all():
            series = pd.Series(np.where(mask, 0, v).astype(np.int64), index=series.index)
    if series.dtype != object or not _all_str(series):
        series = series.astype(str)
    out = series.to_numpy(object).copy()
    out[mask] = MISSING_LEVEL
    return pd.Series(out, index=series.index, dtype=object)


def _all_str(series: pd.Series) -> bool:
    """Whether the first 50 values that are not missing are str (looked for in the first rows
    before the whole column: this runs on every batch)."""
    values = series.to_numpy(object)
    head = values[:200]
    sample = head[pd.notna(head)][:50]
    if len(sample) < 50 and len(values) > len(head):
        sample = values[pd.notna(values)][:50]
    return all(type(v) is str for v in sample)


def _level_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _booleans(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype("float64")
    text = series.astype(object).map(lambda v: None if v is None or v != v else str(v).strip().lower())
    mapped = text.map({"true": 1.0, "t": 1.0, "yes": 1.0, "y": 1.0, "1": 1.0,
                       "false": 0.0, "f": 0.0, "no": 0.0, "n": 0.0, "0": 0.0})
    return mapped.astype("float64")


def infer_target(sample: pd.DataFrame, target: str, decimal: str = ".") -> TargetInfo:
    """What the target is; ``decimal`` is the decimal mark of numbers held as text (a backend
    may hand the target over as text)."""
    return replace(_infer_target(sample, target, decimal), decimal=decimal)


def _infer_target(sample: pd.DataFrame, target: str, decimal: str) -> TargetInfo:
    if target not in sample.columns:
        msg = missing_target_message(target, [str(c) for c in sample.columns])
        raise ColumnNotFoundError(msg)
    s = sample[target]
    values = s.dropna()
    if values.empty:
        msg = f"Target column {target!r} has no values (all missing). Choose another --target."
        raise TargetError(msg)
    nested = _nested(values)
    if nested:
        msg = (f"Target column {target!r} is {nested} (nested values), which cannot be analysed. "
               "Choose another --target, or flatten it into plain columns and choose one of them.")
        raise TargetError(msg)
    is_num = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
    distinct = values.unique()
    if is_num and len(distinct) > 2:
        return TargetInfo(target, "regression", "numeric")
    levels = sorted(map(_level_text, distinct[: MAX_CLASSES + 1]))
    if len(levels) == 1:
        msg = f"Target column {target!r} is constant (every value is {levels[0]!r}): there is nothing to explain. Choose another --target."
        raise TargetError(msg)
    if len(levels) == 2:
        if is_num:  # the larger number is the positive class: 0/1 → 1, 1/2 → 2, 9/10 → 10
            neg, pos = sorted(levels, key=float)
        else:
            pos = next((lv for lv in levels if lv.lower() in _POSITIVE), levels[1])
            neg = levels[0] if pos == levels[1] else levels[1]
        kind = "numeric" if is_num else ("boolean" if pd.api.types.is_bool_dtype(s.dtype) else "categorical")
        return TargetInfo(target, "binary", kind, (neg, pos))
    if is_num:
        return TargetInfo(target, "regression", "numeric")
    if len(levels) > MAX_CLASSES:
        numeric = to_numbers(values, decimal)
        if numeric.notna().mean() > 0.98:
            return TargetInfo(target, "regression", "numeric", text=True, decimal=decimal)
        uniq = values.astype(str).value_counts(sort=False)
        kind, convention = _other_convention(pd.Series(uniq.index, dtype=object), uniq.to_numpy(), len(values),
                                             decimal)
        if kind == "other":
            other = "," if decimal == "." else "."
            msg = (f"Target column {target!r} holds {convention}, so they are read as text. Set the decimal "
                   f"mark: --set data.decimal={other!r} (columns written with the other mark are still read).")
            raise TargetError(msg)
        if kind:
            msg = f"Target column {target!r} holds {convention}."
            raise TargetError(msg)
        msg = (f"Target column {target!r} has {len(distinct)} distinct text values; Greta explains a numeric "
               f"target or one with at most {MAX_CLASSES} classes. Choose another --target or group its values.")
        raise TargetError(msg)
    counts = _levels(values).value_counts()
    ordered = tuple(sorted(counts.index, key=lambda lv: (-counts[lv], lv)))
    return TargetInfo(target, "multiclass", "categorical", ordered)


def infer_columns(sample: pd.DataFrame, names: list[str], max_levels: int,
                  min_level_fraction: float, decimal: str = ".") -> list[ColumnInfo | str]:
    """:func:`infer_column` of each named column. Columns of float64 numbers, all of a wide
    file's columns as a rule, are read out of the sample together. ``decimal`` is the decimal
    mark of numbers held as text (a backend may hand any column over as text)."""
    dtypes = sample.dtypes
    floats = [n for n in names if dtypes[n] == np.float64]
    block = np.asfortranarray(sample[floats].to_numpy()) if len(floats) > 1 else None
    where = {n: i for i, n in enumerate(floats)} if block is not None else {}
    found = [_float_column(n, block[:, where[n]]) if n in where  # type: ignore[index]
             else infer_column(n, sample[n], max_levels, min_level_fraction, decimal) for n in names]
    if decimal == ".":
        return found
    # numbers held as numbers are in the file's convention (text ones carry their own mark)
    return [replace(info, decimal=decimal) if isinstance(info, ColumnInfo) and not info.text else info
            for info in found]


def _float_column(name: str, arr: np.ndarray) -> ColumnInfo | str:
    """:func:`infer_column` of a float64 column, with numpy alone."""
    values = arr[~np.isnan(arr)]
    if len(values) == 0:
        return "all values missing"
    inf = np.isinf(values)
    info = _numeric(name, values[~inf], bool(len(values) < len(arr)) or bool(inf.any()))
    return _with_infinite(info, int(inf.sum()), len(arr))


def infer_column(name: str, s: pd.Series, max_levels: int, min_level_fraction: float,
                 decimal: str = ".") -> ColumnInfo | str:
    """The column's kind, or the reason it is dropped."""
    values = s.dropna()
    n = len(values)
    if n == 0:
        return "all values missing"
    missing = bool(len(values) < len(s))
    if pd.api.types.is_bool_dtype(s.dtype):
        return _two_valued(name, values, "boolean", missing)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnInfo(name, "datetime", missing) if values.nunique() > 1 else "constant"
    if pd.api.types.is_numeric_dtype(s.dtype):
        if _too_long(values):
            return _codes(name, s, values, max_levels, min_level_fraction)
        v = values.astype("float64")
        inf = np.isinf(v.to_numpy())
        info = _numeric(name, v[~inf], missing or bool(inf.any()))
        return _with_infinite(info, int(inf.sum()), len(s))
    nested = _nested(values)
    if nested:
        return f"nested type not supported ({nested}); flatten it into plain columns to use it"
    counts = values.astype(str).value_counts(sort=False)
    uniq = pd.Series(counts.index, dtype=object)
    if _looks_boolean(uniq):
        return _two_valued(name, uniq, "boolean", missing)
    numeric = to_numbers(uniq, decimal)
    if counts.to_numpy()[numeric.notna().to_numpy()].sum() >= 0.98 * n:
        if _too_long(uniq):
            return _codes(name, s, values, max_levels, min_level_fraction)
        return _text_numbers(name, values, len(s), missing, decimal)
    kind, convention = _other_convention(uniq, counts.to_numpy(), n, decimal)
    if kind == "other":  # the column's own decimal mark is plain to see: read with it, and say so
        other = "," if decimal == "." else "."
        info = _text_numbers(name, values, len(s), missing, other)
        if not isinstance(info, ColumnInfo):
            return info
        note = f"{convention}: read with {_MARKS[other]} (the column's own mark)"
        return replace(info, note="; ".join(filter(None, [note, info.note])))
    if kind:
        return convention
    mixed = _mixed_dates(uniq)
    if mixed:
        return mixed
    if _looks_datetime(uniq):
        return ColumnInfo(name, "datetime", missing)
    distinct = len(uniq)
    if distinct == 1 and not missing:
        return "constant"
    if distinct > 50 and distinct >= 0.9 * n:
        return f"ID-like: {distinct} distinct values in {n} sampled rows"
    return _categorical(name, s, max_levels, min_level_fraction)


def _text_numbers(name: str, values: pd.Series, rows: int, missing: bool, decimal: str) -> ColumnInfo | str:
    """A column of numbers held as text, read with ``decimal`` as their decimal mark."""
    raw = to_numbers(values, decimal)
    parsed = _finite(raw)
    info = _numeric(name, parsed.dropna(), True if parsed.isna().any() else missing)
    info = _with_infinite(info, int(np.isinf(raw.to_numpy()).sum()), rows)
    return replace(info, text=True, decimal=decimal) if isinstance(info, ColumnInfo) else info


_MARKS = {".": "decimal points", ",": "decimal commas"}


def _other_convention(uniq: pd.Series, counts: np.ndarray, n: int, decimal: str) -> tuple[str, str]:
    """Whether distinct text values ``uniq`` (seen ``counts`` times in ``n`` values) are numbers,
    but not with ``decimal`` as their decimal mark, and what to say: ("other", ...) when they
    are written with the other mark, ("both", ...) when with both marks, else ("", "")."""
    other = "," if decimal == "." else "."
    mine, theirs = to_numbers(uniq, decimal).notna().to_numpy(), to_numbers(uniq, other).notna().to_numpy()
    if counts[mine | theirs].sum() < 0.98 * n or not theirs.any():
        return "", ""
    example = str(uniq[theirs & ~mine].iloc[0]) if (theirs & ~mine).any() else str(uniq[theirs].iloc[0])
    if counts[theirs].sum() >= 0.98 * n:
        return "other", (f"numbers written with {_MARKS[other]} (e.g. {example!r}) where the file's decimal "
                         f"mark is {decimal!r}")
    mixed = str(uniq[mine & ~theirs].iloc[0]) if (mine & ~theirs).any() else str(uniq[mine].iloc[0])
    return "both", (f"numbers written with both {_MARKS[other]} (e.g. {example!r}) and {_MARKS[decimal]} "
                    f"(e.g. {mixed!r}), so they are read as text; write every number with one decimal mark "
                    "and set it with --set data.decimal")


_LONG_INT = r"^\s*[+-]?\d{16,}\s*$"


def _too_long(values: pd.Series) -> bool:
    """Whole numbers past float64's 15-16 digits whose distinct values floats cannot tell
    apart (2**70 + 1 and 2**70 + 2): codes or IDs, not measurements."""
    if values.dtype.kind == "f":  # already floats: the digits are gone (and str() shows 1e+16)
        return False
    if pd.api.types.is_integer_dtype(values.dtype):
        big = values.abs() > 2**53 if values.dtype.kind == "i" else values > 2**53
        if not big.any():
            return False
        return values.nunique() > values.astype("float64").nunique()
    text = values.astype(str)
    if not text.str.match(_LONG_INT).any():
        return False
    return text.str.strip().nunique() > to_numbers(text).nunique()


def _codes(name: str, s: pd.Series, values: pd.Series, max_levels: int,
           min_fraction: float) -> ColumnInfo | str:
    """A column of whole numbers too long for arithmetic: used as levels, like text codes."""
    distinct, n = values.astype(str).nunique(), len(values)
    if distinct > 50 and distinct >= 0.9 * n:
        return (f"ID-like: {distinct} distinct whole numbers in {n} sampled rows, longer than the "
                "15-16 digits a number can hold exactly (codes, not measurements)")
    info = _categorical(name, s.astype(object).where(s.notna(), None).map(
        lambda v: v if v is None else str(v).strip()), max_levels, min_fraction)
    note = "whole numbers longer than 15-16 digits, used as levels (codes), not as amounts"
    return replace(info, note=note) if isinstance(info, ColumnInfo) else info


def _with_infinite(info: ColumnInfo | str, count: int, rows: int) -> ColumnInfo | str:
    if not count or not isinstance(info, ColumnInfo):
        return info
    note = (f"{count:,} infinite value(s) (inf or -inf) in the {rows:,} sampled rows are "
            "treated as missing (0 with a missing-value indicator)")
    return replace(info, has_missing=True, note=note)


def _nested(values: pd.Series) -> str:
    """What nested values (struct, list or map cells of Parquet or JSON) a column holds."""
    for v in values.head(20):
        if isinstance(v, dict):
            return "a struct column"
        if isinstance(v, (list, tuple, np.ndarray)):  # a map's cells are lists of (key, value)
            pairs = len(v) > 0 and all(isinstance(p, tuple) and len(p) == 2 for p in v)
            return "a map column" if pairs else "a list column"
    return ""


_TIME_OF_DAY = r"[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:Z|[+-]\d{2}:?\d{2})?$"
_DATE_LIKE = r"\d.*[-/. ]|[-/. ].*\d"


def _mixed_dates(text: pd.Series) -> str:
    """A drop reason when the values are dates written in several formats, else ""."""
    head = text.head(200).astype(str).str.strip()
    if len(head) < 2 or not head.str.contains(r"\d", regex=True).all():
        return ""
    if not head.str.contains(_DATE_LIKE, regex=True).all():
        return ""
    parsed = pd.to_datetime(head, errors="coerce", format="mixed")
    if parsed.notna().mean() <= 0.95:
        return ""
    dates = head.str.replace(_TIME_OF_DAY, "", regex=True)
    shapes = dates.str.replace(r"\d+", "9", regex=True).str.replace(r"[A-Za-z]+", "a", regex=True)
    kinds = shapes.value_counts()
    if len(kinds) < 2:
        return ""
    examples = [head[shapes == k].iloc[0] for k in kinds.index[:2]]
    return (f"dates in mixed formats (e.g. {examples[0]!r} and {examples[1]!r}), which cannot be "
            "read safely (is 03/04 March or April?); write them in one format, e.g. YYYY-MM-DD")


def _two_valued(name: str, values: pd.Series, kind: str, missing: bool) -> ColumnInfo | str:
    return ColumnInfo(name, kind, missing) if values.nunique() > 1 else "constant"


def _looks_boolean(uniq: pd.Series) -> bool:
    if len(uniq) > 4:
        return False
    low = {str(v).strip().lower() for v in uniq}
    return 1 < len(low) <= 2 and low <= {"true", "false", "t", "f"}


def _looks_datetime(text: pd.Series) -> bool:
    head = text.head(200)
    if not head.str.contains(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}/\d{1,2}/\d{2,4}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(head, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.95)


def _numeric(name: str, v: pd.Series | np.ndarray, missing: bool) -> ColumnInfo | str:
    arr = np.asarray(v)
    distinct = len(np.unique(arr))
    if distinct <= 1:
        return "constant"
    if distinct == len(arr) >= 20 and np.all(arr == np.round(arr)):
        span = arr.max() - arr.min() + 1
        if span == distinct and (np.all(np.diff(arr) > 0) or np.all(np.diff(arr) < 0)):
            return "ID-like: integers that number the rows"
    lo = float(arr.min())
    skew = _skew(arr.astype(np.float64, copy=False)) if distinct > 2 else 0.0
    return ColumnInfo(name, "numeric", missing, positive=lo > 0, skewed=skew > 1.0 and distinct > 10,
                      nonnegative=lo >= 0)


def _skew(v: np.ndarray) -> float:
    """The sample skewness of finite values, computed as ``pandas.Series.skew`` does (its
    bias-adjusted Fisher-Pearson coefficient, rounding noise below 1e-14 taken as zero)."""
    n = len(v)
    if n < 3:
        return float("nan")
    adjusted = v - v.sum(dtype=np.float64) / n
    adjusted2 = adjusted**2
    m2 = float(adjusted2.sum(dtype=np.float64))
    m3 = float((adjusted2 * adjusted).sum(dtype=np.float64))
    m2, m3 = (0.0 if abs(m2) < 1e-14 else m2), (0.0 if abs(m3) < 1e-14 else m3)
    if m2 == 0:
        return 0.0
    return float((n * (n - 1) ** 0.5 / (n - 2)) * (m3 / m2**1.5))


def _categorical(name: str, s: pd.Series, max_levels: int, min_fraction: float) -> ColumnInfo | str:
    counts = _levels(s).value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    keep = [lv for lv, c in counts.items() if c >= max(min_fraction * len(s), 5)][:max_levels]
    if len(keep) < 2 and len(counts) >= 2:
        keep = list(counts.index[:2])
    # "(other)" also catches levels first seen after the sample; unused, it has no variance and
    # drops out of the tests.
    if len(counts) < 2:
        return "constant"
    if MISSING_LEVEL not in keep and set(counts.index) - set(keep) == {MISSING_LEVEL}:
        keep.append(MISSING_LEVEL)  # the only rare "level" is missing values: call them so, not "(other)"
    levels = tuple(keep) + (OTHER_LEVEL,)
    return ColumnInfo(name, "categorical", MISSING_LEVEL in counts.index, levels=levels)
