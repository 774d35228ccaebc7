"""The row filter language: parsed, checked and evaluated with pandas, never run as Python."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from greta_core.errors import ColumnNotFoundError, DataFormatError, InvalidConfigError
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze
from greta_core.plan.row_filter import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Compare,
    Member,
    Missing,
    Not,
    Or,
    RowFilter,
    parse,
)

ATTACK = "@pd.core.frame.com.builtins.__import__('os').system('id > p') == 0 or x1 == x1"
# (filter, the offending token, its position)
BAD = [
    (ATTACK, "@", 1),
    ("__import__('os').system('touch p')", "__import__", 1),
    ("x1 > 0 or __import__('os').system('touch p') == 0", "__import__", 11),
    ("@limit < x1", "@", 1),
    ("x1 > @limit", "@", 6),
    ("x1.isna()", ".", 3),
    ("segment.str.contains('a')", ".", 8),
    ("x1.__class__ == 1", ".", 3),
    ("(lambda: 1)() == 1", ":", 8),
    ("abs(x1) > 1", "abs", 1),
    ("x1 > len('aa')", "len", 6),
    ("f'{x1}' == 'a'", "f'{x1}'", 1),
    ("segment == f'{1}'", "f'{1}'", 12),
    ("segment == 'a\\x27'", "\\", 14),
    ("x1 + 1 > 2", "+", 4),
    ("x1 > 2 * 3", "*", 8),
    ("x1 > x2", "x2", 6),
    ("x1 == x1", "x1", 7),
    ("1 < x1 < 2", "<", 8),
    ("x1 == None", "None", 7),
    ("x1 in [1, 'a']", "'a'", 11),
    ("flag < true", "<", 6),
    ("x1 >", "", 5),
    ("", "", 1),
    ("x1 > 0 and", "", 11),
    ("(x1 > 0", "", 8),
    ("segment == 'north", "'north", 12),
    ("x1 ~ 2", "~", 4),
    ("x1 > 3abc", "3abc", 6),
    ("x1 > 0; import os", ";", 7),
    ("[x for x in y] == 1", "[", 1),
    ("{1: 2} == 1", "{", 1),
]


def frame(n: int = 500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "n": rng.integers(0, 5, size=n),
        "segment": rng.choice(np.array(["north", "south", "east", "west"], dtype=object), size=n),
        "flag": rng.random(n) < 0.5,
        "a b": rng.normal(size=n),
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 400, size=n), unit="D"),
    })
    df.loc[rng.random(n) < 0.1, "x1"] = np.nan
    df.loc[rng.random(n) < 0.1, "segment"] = None
    df.loc[rng.random(n) < 0.1, "when"] = pd.NaT
    return df


# (filter, the same rows computed independently with pandas)
SAME = [
    ("x1 > 0", lambda d: d.x1 > 0),
    ("x1 > 0 and segment == 'north'", lambda d: (d.x1 > 0) & (d.segment == "north")),
    ('x1 <= -0.5 or segment != "west"', lambda d: (d.x1 <= -0.5) | (d.segment.notna() & (d.segment != "west"))),
    ("x1 != 0", lambda d: d.x1.notna() & (d.x1 != 0)),
    ("not x1 > 0", lambda d: ~(d.x1 > 0)),
    ("not (x1 > 0 or segment == 'east')", lambda d: ~((d.x1 > 0) | (d.segment == "east"))),
    ("`a b` > 0.3", lambda d: d["a b"] > 0.3),
    ("0.3 < `a b`", lambda d: d["a b"] > 0.3),
    ("segment in ['north', \"south\"]", lambda d: d.segment.isin(["north", "south"])),
    ("segment not in ['north', 'south']", lambda d: d.segment.notna() & ~d.segment.isin(["north", "south"])),
    ("n in (1, 3,)", lambda d: d.n.isin([1, 3])),
    ("n >= 2 and n < 4", lambda d: (d.n >= 2) & (d.n < 4)),
    ("n = 2", lambda d: d.n == 2),
    ("x1 is missing", lambda d: d.x1.isna()),
    ("segment is not missing and when is missing", lambda d: d.segment.notna() & d.when.isna()),
    ("flag == true", lambda d: d.flag),
    ("flag != True", lambda d: ~d.flag),
    ("when >= '2020-06-01'", lambda d: d.when >= pd.Timestamp("2020-06-01")),
    ("segment > 'm'", lambda d: d.segment.notna() & (d.segment.fillna("") > "m")),
    ("x1 > -1e-1 & (n == 0 | n == 4)", lambda d: (d.x1 > -0.1) & ((d.n == 0) | (d.n == 4))),
    ("n < 1_000 and x1 > 0", lambda d: (d.n < 1000) & (d.x1 > 0)),
]


@pytest.mark.parametrize(("text", "token", "pos"), BAD)
def test_bad_filters_name_the_token_and_its_position(text: str, token: str, pos: int) -> None:
    with pytest.raises(InvalidConfigError) as e:
        parse(text)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("Invalid row filter (data.row_filter): ")
    shown = f"unexpected {token!r}" if token else "unexpected end of the filter"
    assert f"{shown} at position {pos}" in msg, msg
    assert "never run as Python" in msg


def test_attacks_create_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "d.csv"
    frame().drop(columns=["when"]).assign(y=lambda d: d.n * 2.0).to_csv(data, index=False)
    for text, _, _ in BAD[:4]:
        with pytest.raises(InvalidConfigError):
            analyze(FileSpec(str(data)), AnalysisParams(target="y", row_filter=text))
    assert sorted(os.listdir(tmp_path)) == ["d.csv"]


def test_depth_and_length_are_capped() -> None:
    ok = "(" * MAX_DEPTH + "x1 > 0" + ")" * MAX_DEPTH
    assert parse(ok).node == Compare("x1", ">", 0)
    for deep in ("(" * 9_000 + "x1 > 0" + ")" * 9_000, "not " * 4_000 + "x1 > 0"):
        with pytest.raises(InvalidConfigError, match=f"more than {MAX_DEPTH} deep"):
            parse(deep)
    with pytest.raises(InvalidConfigError, match="characters long"):
        parse("x1 > 0 or " * 3000 + "x1 > 0")
    long = " or ".join(f"n == {i}" for i in range(1500))  # a long chain of `or` is no nesting
    assert len(parse(long).node.operands) == 1500  # type: ignore[union-attr]
    assert len(long) < MAX_LENGTH


def test_the_tree_is_immutable_and_pickles() -> None:
    f = parse("not (a > 1 and `b c` in ['x', 'y']) or d is not missing")
    assert f.node == Or((Not(And((Compare("a", ">", 1), Member("b c", ("x", "y"))))), Missing("d", True)))
    assert f.columns() == ("a", "b c", "d")
    with pytest.raises(AttributeError):
        f.node.operands = ()  # type: ignore[misc,union-attr]
    assert pickle.loads(pickle.dumps(f)) == f
    err = InvalidConfigError("x")
    assert str(pickle.loads(pickle.dumps(err))) == "x"


@pytest.mark.parametrize(("text", "expected"), SAME)
def test_rows_kept_match_pandas(text: str, expected: object) -> None:
    df = frame()
    f = parse(text)
    want = np.asarray(expected(df), dtype=bool)  # type: ignore[operator]
    assert 0 < want.sum() < len(df), "the case must keep some rows and drop others"
    np.testing.assert_array_equal(f.mask(df), want)
    pd.testing.assert_frame_equal(f(df), df[want])


def test_text_read_columns_give_the_same_rows() -> None:
    """The statistics pass reads a CSV column that is not "numeric" as text: a number, a yes/no
    value and a date compare with it as with the typed column of the planning sample."""
    df = frame()
    as_text = df.astype({"n": object, "flag": object, "x1": object})
    as_text["n"] = df.n.astype(str)
    as_text["flag"] = df.flag.map({True: "true", False: "False"})
    as_text["x1"] = [None if v != v else repr(v) for v in df.x1]
    for text in ("n in [1, 3]", "n > 2", "flag == true", "flag != false", "x1 < 0.2", "x1 is missing"):
        np.testing.assert_array_equal(parse(text).mask(as_text), parse(text).mask(df), err_msg=text)


def test_columns_are_checked_with_a_hint() -> None:
    f = parse("segmnt == 'north' and x1 > 0")
    with pytest.raises(ColumnNotFoundError) as e:
        f.check_columns(list(frame().columns))
    assert str(e.value) == "Column 'segmnt' (in data.row_filter) is not in the data. Did you mean 'segment'?"


@pytest.mark.parametrize(("text", "words"), [
    ("x1 == 'north'", "holds numbers and cannot be compared with the text 'north'"),
    ("n == '3'", "without quotes (n == 3)"),
    ("segment > 3", "holds text (such as"),
    ("segment == true", "holds no true/false values"),
    ("flag == 1", "holds true/false values; compare it with true or false"),
    ("when > 3", "holds dates"),
    ("when > 'soon'", "'soon' is not a date"),
])
def test_constants_are_checked_against_the_columns(text: str, words: str) -> None:
    with pytest.raises(InvalidConfigError, match="^Invalid row filter") as e:
        parse(text).check_types(frame())
    assert words in str(e.value)


def test_dask_keeps_the_same_rows() -> None:
    dd = pytest.importorskip("dask.dataframe")
    df = frame()
    ddf = dd.from_pandas(df, npartitions=3)
    for text, _ in SAME:
        f = parse(text)
        got = f.to_dask(ddf).compute(scheduler="sync")
        pd.testing.assert_index_equal(got.index, f(df).index, obj=text)


def data_file(tmp_path: Path) -> str:
    rng = np.random.default_rng(5)
    n = 3000
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                       "region": rng.choice(["north", "south"], size=n), "id": np.arange(n)})
    df["y"] = 2 * df.x1 + np.where(df.region == "north", 1.0, -1.0) * df.x2 + rng.normal(size=n)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_the_analysis_reads_only_the_rows_kept(tmp_path: Path) -> None:
    """A filter on a column the analysis leaves out (data.exclude): the pass reads it too."""
    path = data_file(tmp_path)
    doc = analyze(FileSpec(path), AnalysisParams(target="y", exclude=("id",), row_filter="id < 1000 and region == 'north'"))
    df = pd.read_csv(path)
    assert doc["data"]["rows"] == int(((df.id < 1000) & (df.region == "north")).sum())
    assert "id" not in [c["name"] for c in doc["data"]["columns_used"]]
    assert doc["config"]["row_filter"] == "id < 1000 and region == 'north'"


def test_analysis_errors_are_one_line(tmp_path: Path) -> None:
    path = data_file(tmp_path)
    with pytest.raises(ColumnNotFoundError, match="Column 'regoin' .* Did you mean 'region'"):
        analyze(FileSpec(path), AnalysisParams(target="y", row_filter="regoin == 'north'"))
    with pytest.raises(DataFormatError, match="keeps none of the 3,000 rows"):
        analyze(FileSpec(path), AnalysisParams(target="y", row_filter="region == 'nowhere'"))
    with pytest.raises(InvalidConfigError, match="column 'region' holds text"):
        analyze(FileSpec(path), AnalysisParams(target="y", row_filter="region > 3"))


def test_a_row_filter_is_a_callable_value() -> None:
    f = parse("x1 > 0")
    assert isinstance(f, RowFilter) and str(f) == "x1 > 0"
    assert f == parse("x1 > 0") and hash(f) == hash(parse("x1 > 0"))
