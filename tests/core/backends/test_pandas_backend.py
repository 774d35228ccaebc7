"""The pandas backend's pass over a CSV file cut into byte ranges (parsed side by side) gives
the rows and the statistics of one read of the whole file: with quoted values (line breaks,
delimiters and doubled quotes inside), text further down a numeric column, compressed text
and Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from greta_core.backends.pandas_backend import PandasBackend, arrow_types, to_pandas
from greta_core.ingestion.readers import FileSpec, Unsplittable, open_reader
from greta_core.params import AnalysisParams
from greta_core.pipeline import make_plan
from greta_core.plan.design import DesignBuilder
from greta_core.stats.summary import empty_summary, summarize

ROWS = 60_000  # ~4 MB of CSV: a few ranges of 1 MiB (the smallest range)
BATCH = 10_000  # rows per range: about 0.7 MB, so ranges are 1 MiB


def _frame(rows: int = ROWS, seed: int = 0, notes: str = "plain") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(rows, 4)).round(6), columns=["x1", "x2", "x3", "x4"])
    df["group"] = rng.choice(np.array(["north", "south, east", "west"], dtype=object), rows)
    df.loc[rng.random(rows) < 0.03, "x2"] = np.nan
    lines = "\n".join(["a value", "of many", "lines"] * 4)  # most line breaks are inside quotes
    words = np.array(["ok", 'said "no"', "a, b", lines if notes == "newlines" else "c"], dtype=object)
    df["note"] = rng.choice(words, rows) if notes != "plain" else "n"
    df["y"] = 2 * df.x1 - df.x3 * df.x4 + (df.group == "west") + rng.normal(size=rows)
    return df


def _plan_and_pass(path: Path) -> tuple[Any, Any, list, list[str], dict[str, str]]:
    spec = FileSpec(str(path), batch_rows=BATCH)
    backend = PandasBackend(spec, workers=2)
    params = AnalysisParams(target="y", seed=3)
    plan = make_plan(backend.sample(10_000), backend.columns(), params)
    terms = list(plan.terms)
    kinds = {c.name: "text" if c.text else c.kind for c in plan.columns} | {"y": "numeric"}
    return backend, DesignBuilder(plan, 3, 0.5), terms, [c.name for c in plan.columns] + ["y"], kinds


def _passes(path: Path, reference: Path | None = None) -> tuple[Any, Any, int]:
    """The backend's pass over ``path`` and one block of all the rows of ``reference`` (the
    same rows, read in one stream), with the same plan."""
    backend, builder, terms, cols, kinds = _plan_and_pass(path)
    q, width = sum(t.width for t in terms), 1

    def fn(df: pd.DataFrame) -> Any:
        return summarize(df, builder, terms, (), 2000)

    got = backend.reduce(fn, empty_summary(q, width, 0, 2000), cols, kinds)
    reader = open_reader(FileSpec(str(reference or path)))
    whole = pd.concat([to_pandas(b) for b in reader.iter_batches(cols, arrow_types(kinds))], ignore_index=True)
    return got, summarize(whole, builder, terms, (), 2000), backend.partitions


def _same(got: Any, one: Any) -> None:
    assert got.rows_read == one.rows_read == ROWS
    for a, b in ((got.discovery, one.discovery), (got.holdout, one.holdout)):
        assert a.n == b.n
        np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a.m2, b.m2, rtol=1e-11, atol=1e-9)
    np.testing.assert_array_equal(got.sample_key, one.sample_key)
    np.testing.assert_array_equal(got.sample, one.sample)
    np.testing.assert_array_equal(got.late_missing, one.late_missing)


@pytest.mark.parametrize("notes", ["plain", "quoted"])
def test_ranges_give_the_statistics_of_one_block(tmp_path: Path, notes: str) -> None:
    path = tmp_path / "d.csv"
    _frame(notes=notes).to_csv(path, index=False)
    reader = open_reader(FileSpec(str(path), batch_rows=BATCH))
    parts = reader.parts(None, None)
    assert parts is not None and len(parts) >= 3
    got, one, ranges = _passes(path)
    assert ranges == len(parts)  # read in ranges, not as one stream
    _same(got, one)


def test_ranges_hold_every_row_once_in_order(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    df = _frame(notes="quoted")
    df.to_csv(path, index=False)
    reader = open_reader(FileSpec(str(path), batch_rows=BATCH))
    rows = pd.concat([to_pandas(b) for part in reader.parts(None, None) for b in part.batches()],
                     ignore_index=True)
    stream = pd.concat([to_pandas(b) for b in reader.iter_batches(None, None)], ignore_index=True)
    pd.testing.assert_frame_equal(rows, stream)
    assert rows["note"].isin(['said "no"', "a, b"]).sum() > ROWS // 3


def test_quoted_line_breaks_give_the_statistics_of_one_block(tmp_path: Path) -> None:
    """Many values hold a line break: a cut may fall inside one; the file is then read as one
    stream, with the same answer."""
    path = tmp_path / "d.csv"
    df = _frame(notes="newlines")
    df.to_csv(path, index=False)
    parts = open_reader(FileSpec(str(path), batch_rows=BATCH)).parts(None, None)
    with pytest.raises(Unsplittable):
        for part in parts:
            list(part.batches())
    got, one, _ = _passes(path)
    _same(got, one)
    whole = pd.concat([to_pandas(b) for b in open_reader(FileSpec(str(path))).iter_batches(None, None)],
                      ignore_index=True)
    pd.testing.assert_series_equal(whole["note"], df["note"])


@pytest.mark.parametrize(("data", "ok"), [
    (b'1,"a, b",2\n3,"say ""hi""",4\n', True),
    (b'1,"",2\n"x",y,"z"\r\n', True),
    (b'1,"open\n2,3,4\n', False),  # a quoted value left open at the end of the range
    (b'1,5" screen,2\n', False),  # a quote inside a value: plain text to CSV, not cut here
    (b'1,"a"b,2\n', False),  # text after a closing quote
    (b"1,2,3\n", True),
])
def test_quotes_are_checked_before_a_range_is_trusted(data: bytes, ok: bool) -> None:
    from greta_core.ingestion.readers import _check_quotes

    if ok:
        _check_quotes(data, ",")
    else:
        with pytest.raises(Unsplittable):
            _check_quotes(data, ",")


def test_text_further_down_a_numeric_column(tmp_path: Path) -> None:
    """A range whose numbers column holds text is read again with that column as text, as the
    stream does from such a row on: the same rows and statistics."""
    path = tmp_path / "d.csv"
    df = _frame()
    df["x1"] = df["x1"].astype(object)
    df.loc[[ROWS - 100, ROWS - 50], "x1"] = "unknown"
    df.to_csv(path, index=False)
    reader = open_reader(FileSpec(str(path), batch_rows=BATCH))
    types = {"x1": pa.float64(), "y": pa.float64()}
    batches = [to_pandas(b) for part in reader.parts(["x1", "y"], types) for b in part.batches()]
    assert batches[0]["x1"].dtype == np.float64 and batches[-1]["x1"].dtype == object
    x1 = pd.to_numeric(pd.concat([b["x1"] for b in batches], ignore_index=True).astype(object), errors="coerce")
    np.testing.assert_array_equal(x1.to_numpy(float), pd.to_numeric(df["x1"], errors="coerce").to_numpy(float))
    got, one, _ = _passes(path)
    _same(got, one)


@pytest.mark.parametrize("fmt", ["gzip", "parquet"])
def test_compressed_csv_and_parquet_give_the_statistics_of_the_ranges(tmp_path: Path, fmt: str) -> None:
    df = _frame(notes="quoted")
    plain = tmp_path / "d.csv"
    df.to_csv(plain, index=False)
    if fmt == "gzip":
        other = tmp_path / "d.csv.gz"
        with pa.CompressedOutputStream(str(other), "gzip") as f:
            f.write(plain.read_bytes())
        assert open_reader(FileSpec(str(other), batch_rows=BATCH)).parts(None, None) is None
    else:
        other = tmp_path / "d.parquet"
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        table = pcsv.read_csv(plain, convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
        pq.write_table(table, other, row_group_size=4_000)  # the same numbers as the CSV's
    got, _, ranges = _passes(plain)
    assert ranges >= 3
    theirs, one, _ = _passes(other, reference=plain)
    _same(theirs, one)
    _same(got, one)


def test_lines_ending_in_a_carriage_return_alone_are_one_stream(tmp_path: Path) -> None:
    """Old Mac text has no line feed to cut at: it is read as one stream, not one huge range."""
    path = tmp_path / "d.csv"
    path.write_bytes(_frame().to_csv(index=False, lineterminator="\r").encode())
    reader = open_reader(FileSpec(str(path), batch_rows=BATCH))
    assert reader.parts(None, None) is None
    assert sum(b.num_rows for b in reader.iter_batches(None, None)) == ROWS
