"""Tests of greta_core.plan.schema: what each column is, which are dropped, and the task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from greta_core.errors import ColumnNotFoundError, GretaError, TargetError
from greta_core.plan.schema import (
    MAX_CLASSES,
    MISSING_LEVEL,
    OTHER_LEVEL,
    ColumnInfo,
    canonical,
    infer_column,
    infer_target,
)

N = 1000


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _infer(s: pd.Series, max_levels: int = 20, min_fraction: float = 0.005) -> ColumnInfo | str:
    return infer_column("col", s, max_levels, min_fraction)


def _kind(s: pd.Series, **kw: float) -> str:
    info = _infer(s, **kw)
    assert isinstance(info, ColumnInfo), info
    return info.kind


# ---------------------------------------------------------------------------------- features
def test_numeric(rng: np.random.Generator) -> None:
    info = _infer(pd.Series(rng.normal(size=N)))
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and not info.has_missing
    with_missing = pd.Series(np.where(rng.random(N) < 0.1, np.nan, rng.normal(size=N)))
    info = _infer(with_missing)
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.has_missing


def test_numeric_text_and_skew(rng: np.random.Generator) -> None:
    assert _kind(pd.Series([f"{v:.4f}" for v in rng.normal(size=N)], dtype=object)) == "numeric"
    income = _infer(pd.Series(rng.lognormal(10, 1, size=N)))
    assert isinstance(income, ColumnInfo) and income.skewed and income.positive


@pytest.mark.parametrize("values", [["True", "False"], ["true", "false"], ["T", "F"]])
def test_boolean_text(rng: np.random.Generator, values: list[str]) -> None:
    s = pd.Series(rng.choice(values, N), dtype=object)
    assert _kind(s) == "boolean"
    np.testing.assert_array_equal(canonical(s, "boolean"), (s == values[0]).astype(float))


def test_boolean_dtype(rng: np.random.Generator) -> None:
    assert _kind(pd.Series(rng.choice([True, False], N))) == "boolean"


def test_categorical_pools_rare_levels_into_other(rng: np.random.Generator) -> None:
    s = pd.Series(rng.choice(["a", "b", "c", "rare1", "rare2"], N, p=[0.5, 0.3, 0.196, 0.002, 0.002]))
    info = _infer(s)
    assert isinstance(info, ColumnInfo) and info.kind == "categorical"
    assert info.levels[0] == "a"  # the most common level is the reference
    assert set(info.levels) == {"a", "b", "c", OTHER_LEVEL}
    assert info.levels[-1] == OTHER_LEVEL


def test_categorical_keeps_at_most_max_levels(rng: np.random.Generator) -> None:
    s = pd.Series(rng.choice([f"L{i}" for i in range(30)], N))
    info = _infer(s, max_levels=5)
    assert isinstance(info, ColumnInfo)
    assert len(info.levels) == 6 and info.levels[-1] == OTHER_LEVEL


def test_categorical_with_missing_values(rng: np.random.Generator) -> None:
    s = pd.Series(rng.choice(["a", "b", None], N, p=[0.5, 0.4, 0.1]), dtype=object)
    info = _infer(s)
    assert isinstance(info, ColumnInfo) and info.kind == "categorical" and info.has_missing
    assert MISSING_LEVEL in info.levels
    assert (canonical(s, "categorical")[s.isna()] == MISSING_LEVEL).all()


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"])
def test_datetime_strings(fmt: str) -> None:
    stamps = pd.date_range("2019-03-01", periods=N, freq="7h")
    s = pd.Series(stamps.strftime(fmt), dtype=object)
    assert _kind(s) == "datetime"
    years = canonical(s, "datetime")
    assert years.dtype == np.float64 and years.notna().all()
    assert 2019 < years.min() < years.max() < 2020.5
    assert years.is_monotonic_increasing


def test_datetime_dtype() -> None:
    s = pd.Series(pd.date_range("2020-01-01", periods=N, freq="D"))
    assert _kind(s) == "datetime"
    assert canonical(s, "datetime").iloc[0] == pytest.approx(2020.0, abs=0.01)


def test_id_like_text_is_dropped(rng: np.random.Generator) -> None:
    s = pd.Series([f"cust-{i:06d}" for i in rng.permutation(N)], dtype=object)
    reason = _infer(s)
    assert isinstance(reason, str) and reason.startswith("ID-like")


@pytest.mark.parametrize("start", [0, 1, 1001])
@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_integer_row_numbers_are_dropped(start: int, dtype: str) -> None:
    reason = _infer(pd.Series(np.arange(start, start + N), dtype=dtype))
    assert isinstance(reason, str) and reason.startswith("ID-like")


def test_measured_numeric_with_unique_values_is_kept(rng: np.random.Generator) -> None:
    """DESIGN §3: a measured numeric column is never dropped for having unique values."""
    heights = pd.Series(np.round(rng.normal(170, 10, N), 6))
    assert heights.nunique() == N and _kind(heights) == "numeric"
    counts = pd.Series(np.sort(rng.choice(10**6, N, replace=False)))  # unique, sorted, with gaps
    assert _kind(counts) == "numeric"
    amounts = pd.Series(rng.choice(10**6, N, replace=False))  # unique integers, unordered
    assert _kind(amounts) == "numeric"


@pytest.mark.parametrize(
    "s",
    [
        pd.Series(np.full(N, 3.0)),
        pd.Series(["same"] * N, dtype=object),
        pd.Series([True] * N),
        pd.Series(["true"] * N, dtype=object),
    ],
    ids=["number", "text", "bool", "bool-text"],
)
def test_constant_is_dropped(s: pd.Series) -> None:
    assert _infer(s) == "constant"


@pytest.mark.parametrize(
    "s",
    [pd.Series([np.nan] * N), pd.Series([None] * N, dtype=object)],
    ids=["float", "object"],
)
def test_all_missing_is_dropped(s: pd.Series) -> None:
    assert _infer(s) == "all values missing"


# ------------------------------------------------------------------------------------ target
def _frame(rng: np.random.Generator, target: object) -> pd.DataFrame:
    return pd.DataFrame({"x": rng.normal(size=N), "y": target})


def test_regression_target(rng: np.random.Generator) -> None:
    t = infer_target(_frame(rng, rng.normal(size=N)), "y")
    assert (t.task, t.kind, t.width) == ("regression", "numeric", 1)


def test_numeric_text_target_with_many_values_is_regression(rng: np.random.Generator) -> None:
    t = infer_target(_frame(rng, [f"{v:.3f}" for v in rng.normal(size=N)]), "y")
    assert t.task == "regression"


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_binary_numeric_target(rng: np.random.Generator, dtype: str) -> None:
    t = infer_target(_frame(rng, rng.integers(0, 2, N).astype(dtype)), "y")
    assert (t.task, t.kind, t.classes, t.width) == ("binary", "numeric", ("0", "1"), 1)


def test_binary_numeric_target_positive_is_the_larger_number(rng: np.random.Generator) -> None:
    assert infer_target(_frame(rng, rng.choice([1, 2], N)), "y").classes == ("1", "2")
    assert infer_target(_frame(rng, rng.choice([9, 10], N)), "y").classes == ("9", "10")
    assert infer_target(_frame(rng, rng.choice([-1, 1], N)), "y").classes == ("-1", "1")


@pytest.mark.parametrize(("values", "positive"), [(["yes", "no"], "yes"), (["No", "Yes"], "Yes"),
                                                   (["pos", "neg"], "pos"), (["y", "n"], "y")])
def test_binary_text_target(rng: np.random.Generator, values: list[str], positive: str) -> None:
    t = infer_target(_frame(rng, rng.choice(values, N)), "y")
    assert (t.task, t.kind) == ("binary", "categorical")
    assert t.classes[1] == positive and set(t.classes) == set(values)


def test_binary_text_target_with_missing_values(rng: np.random.Generator) -> None:
    y = pd.Series(rng.choice(["yes", "no", None], N), dtype=object)
    t = infer_target(_frame(rng, y), "y")
    assert t.task == "binary" and t.classes == ("no", "yes")


def test_boolean_target(rng: np.random.Generator) -> None:
    t = infer_target(_frame(rng, rng.choice([True, False], N)), "y")
    assert (t.task, t.kind, t.classes) == ("binary", "boolean", ("False", "True"))


def test_multiclass_target(rng: np.random.Generator) -> None:
    y = rng.choice(["red", "green", "blue"], N, p=[0.2, 0.5, 0.3])
    t = infer_target(_frame(rng, y), "y")
    assert (t.task, t.kind) == ("multiclass", "categorical")
    assert t.classes == ("green", "blue", "red")  # the most common class is the reference
    assert t.width == 2


def test_constant_target_is_an_error(rng: np.random.Generator) -> None:
    for y in (np.full(N, 7.0), ["a"] * N):
        with pytest.raises(TargetError, match="constant") as info:
            infer_target(_frame(rng, y), "y")
        assert "--target" in str(info.value) and "\n" not in str(info.value)


def test_all_missing_target_is_an_error(rng: np.random.Generator) -> None:
    for y in ([np.nan] * N, pd.Series([None] * N, dtype=object)):
        with pytest.raises(TargetError, match="all missing"):
            infer_target(_frame(rng, y), "y")


def test_too_many_classes_is_an_error(rng: np.random.Generator) -> None:
    y = [f"class {i % (MAX_CLASSES + 5)}" for i in range(N)]
    with pytest.raises(TargetError, match=f"at most {MAX_CLASSES} classes") as info:
        infer_target(_frame(rng, y), "y")
    assert str(MAX_CLASSES + 5) in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, GretaError)


def test_unknown_target_suggests_the_close_name(rng: np.random.Generator) -> None:
    df = pd.DataFrame({"income": rng.normal(size=N), "age": rng.normal(size=N)})
    with pytest.raises(ColumnNotFoundError) as info:
        infer_target(df, "incme")
    assert "'income'" in str(info.value) and "Did you mean" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_infinite_values_count_as_missing(rng: np.random.Generator) -> None:
    v = rng.normal(size=N)
    v[[3, 30]] = [np.inf, -np.inf]
    info = _infer(pd.Series(v))
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.has_missing
    text = pd.Series([str(x) for x in v], dtype=object)
    info = _infer(text)
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.has_missing
    for s in (pd.Series(v), text):
        c = canonical(s, "numeric")
        assert c.isna().sum() == 2 and np.isfinite(c.dropna()).all()


def test_numbers_held_as_text_are_flagged_so_backends_read_them_as_text(rng: np.random.Generator) -> None:
    cells = pd.Series([f"{v:.3f}" for v in rng.normal(size=N)], dtype=object)
    cells[::200] = "n.a."  # 0.5% of cells are not numbers
    info = _infer(cells)
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.text and info.has_missing
    clean = _infer(pd.Series(rng.normal(size=N)))
    assert isinstance(clean, ColumnInfo) and not clean.text
    y = pd.Series([f"{v:.3f}" for v in rng.normal(size=N)], dtype=object)
    y[::300] = "?!"
    t = infer_target(_frame(rng, y), "y")
    assert t.task == "regression" and t.text


def test_thousands_separators_are_read_as_numbers(rng: np.random.Generator) -> None:
    x = rng.normal(50_000, 20_000, N).round(2)
    text = pd.Series([f"{v:,.2f}" for v in x], dtype=object)  # 51,234.56 as a spreadsheet exports it
    info = _infer(text)
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.text
    np.testing.assert_array_equal(canonical(text, "numeric").to_numpy(), x)
    odd = pd.Series(["1,5", "12,34", "1,234", "-1,234,567.5", None, "n/a"], dtype=object)
    got = canonical(odd, "numeric").to_numpy()  # only whole groups of three are separators
    np.testing.assert_array_equal(got, [np.nan, np.nan, 1234.0, -1234567.5, np.nan, np.nan])
    target = infer_target(pd.DataFrame({"y": text}), "y")
    assert target.task == "regression" and target.text


# ------------------------------------------------------------------- odd values, honest reasons
def test_dates_in_mixed_formats_are_dropped_with_the_reason() -> None:
    s = pd.Series(["2024-01-05", "05/02/2024", "Mar 7 2024"] * 40)
    reason = _infer(s)
    assert isinstance(reason, str) and reason.startswith("dates in mixed formats"), reason
    assert "YYYY-MM-DD" in reason


@pytest.mark.parametrize("values", [["2024-01-05", "2024-02-07 10:30:00"],  # one date format
                                    ["Jan 5", "Feb 7"]])  # words and digits: not dates
def test_one_date_format_or_plain_text_is_not_called_mixed(values: list[str]) -> None:
    info = _infer(pd.Series(values * 60))
    assert not (isinstance(info, str) and "mixed formats" in info), info


def test_infinite_values_are_counted_in_a_note(rng: np.random.Generator) -> None:
    v = rng.normal(size=N)
    v[[1, 10, 100]] = [np.inf, -np.inf, np.inf]
    info = _infer(pd.Series(v))
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.has_missing
    assert info.note.startswith("3 infinite value(s)") and f"{N:,} sampled rows" in info.note


@pytest.mark.parametrize("values", [[str(2**70 + i) for i in range(200)],
                                    [2**60 + i for i in range(200)]])
def test_distinct_huge_integers_are_not_constant(values: list) -> None:
    reason = _infer(pd.Series(values))
    assert isinstance(reason, str) and reason.startswith("ID-like"), reason
    assert "15-16 digits" in reason


def test_huge_floats_are_measurements() -> None:
    """A float column's digits are already rounded: large whole floats are amounts, not codes."""
    info = _infer(pd.Series([2.0**70 + 2.0**20 * i for i in range(200)]))
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and not info.note


def test_a_few_huge_integer_codes_are_levels() -> None:
    info = _infer(pd.Series([str(2**70 + i % 3) for i in range(300)]))
    assert isinstance(info, ColumnInfo) and info.kind == "categorical" and "codes" in info.note
    assert len([lv for lv in info.levels if lv != OTHER_LEVEL]) == 3


@pytest.mark.parametrize("cells", [[{"a": 1}, {"a": 2}], [[1, 2], [3]], [np.arange(2), np.arange(3)]])
def test_nested_cells_are_not_supported_not_id_like(cells: list) -> None:
    reason = _infer(pd.Series(cells * 100, dtype=object))
    assert isinstance(reason, str) and reason.startswith("nested type not supported"), reason


def test_columns_typed_together_as_one_by_one() -> None:
    """infer_columns reads float columns out of the sample together; every verdict is
    infer_column's (missing, infinite, constant, ID-like, skewed, negative, empty columns)."""
    from greta_core.plan.schema import infer_columns

    rng = np.random.default_rng(8)
    n = 300
    df = pd.DataFrame({
        "normal": rng.normal(size=n), "lognormal": np.exp(rng.normal(size=n)), "ids": np.arange(n, dtype=float),
        "holes": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)), "constant": np.full(n, 3.0),
        "empty": np.full(n, np.nan), "infinite": np.where(rng.random(n) < 0.05, np.inf, rng.random(n)),
        "three": rng.integers(0, 3, n).astype(float), "negative": -np.exp(rng.normal(size=n)),
        "text": rng.choice(["a", "b"], n), "ints": rng.integers(0, 9, n),
    })
    names = list(df.columns)
    assert infer_columns(df, names, 20, 0.005) == [infer_column(c, df[c], 20, 0.005) for c in names]


# ------------------------------------------------------------ numbers written as text
def _formatted(values: np.ndarray, group: str, decimal: str) -> list[str]:
    """``values`` as a spreadsheet writes them: thousands grouped by ``group``, ``decimal`` mark."""
    out = []
    for v in values:
        text = f"{abs(v):,.2f}".replace(",", "\0").replace(".", decimal).replace("\0", group)
        out.append(("-" if v < 0 else "") + text)
    return out


@pytest.mark.parametrize(("group", "decimal"), [
    (".", ","), (" ", ","), ("\u00a0", ","), ("\u202f", ","), ("'", ","),
    (",", "."), (" ", "."), ("\u00a0", "."), ("\u202f", "."),
])
@pytest.mark.parametrize("dtype", [object, "string[pyarrow]"])  # as pyarrow readers and Dask hand them over
def test_grouped_numbers_read_as_the_numbers_they_write(group: str, decimal: str, dtype: object) -> None:
    from greta_core.plan.schema import to_numbers

    truth = np.round(np.random.default_rng(1).normal(0, 3e6, 500), 2)
    text = pd.Series(_formatted(truth, group, decimal), dtype=dtype)
    assert any(group in t for t in text)
    np.testing.assert_array_equal(to_numbers(text, decimal).to_numpy(), truth)
    info = _infer(text) if decimal == "." else infer_column("col", text, 20, 0.005, decimal)
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.text and info.decimal == decimal
    np.testing.assert_array_equal(canonical(text, "numeric", decimal).to_numpy(), truth)


def test_one_decimal_mark_at_a_time() -> None:
    """With a decimal comma, a dot only groups thousands (3.5 is no number); with a decimal
    point, a comma only groups them (3,5 is none)."""
    from greta_core.plan.schema import to_numbers

    text = pd.Series(["1.234", "1,234", "3.5", "3,5", "1.234,5", "1,234.5", "0,123", "1 2", "12", None],
                     dtype=object)
    nan = np.nan
    np.testing.assert_array_equal(to_numbers(text, ","), [1234.0, 1.234, nan, 3.5, 1234.5, nan, 0.123, nan, 12.0, nan])
    np.testing.assert_array_equal(to_numbers(text, "."), [1.234, 1234.0, 3.5, nan, nan, 1234.5, nan, nan, 12.0, nan])
    mixed = pd.Series([1, "2,5", 3.5, None], dtype=object)  # an Excel column: numbers among text
    assert to_numbers(mixed, ",").tolist()[:3] == [1.0, 2.5, 3.5]


def test_numbers_in_the_other_decimal_convention_are_read_with_it_and_named() -> None:
    """A feature whose numbers plainly use the other decimal mark is read with it, with a note;
    a target so written is refused with the fix (its numbers decide what the analysis is)."""
    truth = np.round(np.random.default_rng(2).normal(size=N), 3)
    values = pd.Series([f"{v:.3f}".replace(".", ",") for v in truth])
    info = _infer(values)
    assert isinstance(info, ColumnInfo) and info.kind == "numeric" and info.text and info.decimal == ","
    assert "decimal commas (e.g." in info.note and "decimal mark is '.'" in info.note
    np.testing.assert_array_equal(canonical(values, "numeric", info.decimal).to_numpy(), truth)
    back = infer_column("col", values.str.replace(",", "."), 20, 0.005, ",")
    assert isinstance(back, ColumnInfo) and back.decimal == "." and "decimal points" in back.note
    with pytest.raises(TargetError, match=r"Target column 'y' holds numbers written with decimal commas .*"
                                          r"--set data.decimal=','"):
        infer_target(pd.DataFrame({"y": values}), "y")


def test_numbers_with_both_decimal_marks_are_named() -> None:
    values = pd.Series([f"{v:.4f}" for v in np.random.default_rng(3).normal(size=N)])
    values[::2] = values[::2].str.replace(".", ",")
    with pytest.raises(TargetError, match=r"both decimal commas .* and decimal points .* one decimal mark"):
        infer_target(pd.DataFrame({"y": values}), "y")
    reason = _infer(values)
    assert isinstance(reason, str) and "both decimal commas" in reason and "ID-like" not in reason


def test_id_like_codes_are_still_ids_not_numbers() -> None:
    for codes in ([f"A-{i:05d}" for i in range(N)], [f"{i:04d}-{i % 7}" for i in range(N)]):
        reason = _infer(pd.Series(codes))
        assert isinstance(reason, str) and reason.startswith("ID-like"), reason


@pytest.mark.parametrize(("cells", "kind"), [
    ([{"a": 1.0, "b": "x"}, {"a": 2.0, "b": "y"}], "a struct column"),
    ([[1.0, 2.0], [3.0]], "a list column"),
    ([np.arange(2.0), np.arange(3.0)], "a list column"),
    ([[("k", 1)], [("k", 2), ("j", 3)]], "a map column"),  # how pyarrow hands a map over to pandas
])
def test_a_nested_target_is_refused_in_one_line(cells: list, kind: str) -> None:
    df = pd.DataFrame({"y": pd.Series(cells * 100, dtype=object), "x": np.arange(200.0)})
    with pytest.raises(TargetError, match=rf"Target column 'y' is {kind} .* cannot be analysed.* another --target"):
        infer_target(df, "y")
