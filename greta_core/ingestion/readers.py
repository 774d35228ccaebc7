"""Streaming readers for CSV/TSV, Parquet, Excel and JSON Lines files.

Every reader yields pandas batches of at most ``batch_rows`` rows, so peak memory does not
grow with the number of rows. Problems with the file become one-line :class:`DataFormatError`
messages that name the file and the fix.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greta_core.errors import DataFileNotFoundError, DataFormatError

FORMATS = ("csv", "tsv", "parquet", "excel", "jsonl")
NULL_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none", "-", "?", "#N/A"]
_EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class FileSpec:
    """Where the data is and how to read it."""

    path: str
    format: str = "auto"
    sheet: str | int | None = None
    delimiter: str | None = None
    decimal: str | None = None  # decimal mark of delimited text: "." or ","; None detects it
    batch_rows: int = 65536
    options: dict[str, Any] = field(default_factory=dict)


def detect_format(path: str, fmt: str = "auto") -> str:
    """The file's format: from ``fmt`` unless "auto", else from magic bytes and extension."""
    if fmt != "auto":
        if fmt not in FORMATS:
            msg = f"Unknown data format {fmt!r}. Allowed: auto, {', '.join(FORMATS)}."
            raise DataFormatError(msg)
        return fmt
    with open(path, "rb") as f:
        head = f.read(4)
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"PK":
        return "excel"
    return _EXTENSIONS.get(Path(path).suffix.lower(), "csv")


def check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        msg = f"Data file {path!r} does not exist. Check the path (--data or data.path)."
        raise DataFileNotFoundError(msg)
    if p.is_dir():
        msg = f"Data path {path!r} is a directory; give a file (--data FILE)."
        raise DataFormatError(msg)
    if p.stat().st_size == 0:
        msg = f"Data file {path!r} is empty: it needs a header row and at least two data rows."
        raise DataFormatError(msg)


class CsvReader:
    """Delimited text through pyarrow's streaming CSV reader."""

    def __init__(self, spec: FileSpec, fmt: str) -> None:
        self.spec = spec
        self.delimiter = spec.delimiter or ("\t" if fmt == "tsv" else None)
        self.decimal = spec.decimal or "."
        self.columns = self._header()

    def _header(self) -> list[str]:
        with open(self.spec.path, "rb") as f:
            raw = f.read(1 << 16)
        if b"\x00" in raw:
            msg = (f"{self.spec.path!r} is not a text file (it contains binary data). "
                   "Give a CSV, TSV, Parquet, Excel (.xlsx) or JSON Lines file.")
            raise DataFormatError(msg)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            if len(raw) - e.start > 4:  # not just a multi-byte character cut at the end
                msg = (f"{self.spec.path!r} is not UTF-8 text (byte {e.start}). "
                       "Save it as UTF-8 CSV, or as Parquet or Excel.")
                raise DataFormatError(msg) from None
            text = raw[: e.start].decode("utf-8-sig")
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            msg = f"{self.spec.path!r} has no header row: the first line must name the columns."
            raise DataFormatError(msg)
        if self.delimiter is None:
            self.delimiter = _sniff_delimiter(lines[:50])
        if self.spec.decimal is None:
            self.decimal = sniff_decimal(lines[1:200], self.delimiter)
        header = next(csv.reader([lines[0]], delimiter=self.delimiter))
        _check_names(header, self.spec.path)
        return header

    def iter_batches(self, columns: list[str] | None, types: dict[str, Any] | None) -> Iterator:
        """Batches of at most ``batch_rows`` rows. A column typed as numbers (by ``types`` or
        by pyarrow's guess from the first block) that holds text further down is read again
        as text from there on: its batches then hold strings, which the plan parses per batch."""
        import pyarrow as pa

        types = dict(types or {})
        done = 0  # rows already yielded: a restart skips them
        while True:
            try:
                for batch in self._batches(columns, types, done):
                    yield batch
                    done += batch.num_rows
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                if "Empty CSV file" in str(e):  # a header line and no newline after it: no rows
                    return
                name = self._mistyped(e, types)
                if name is None:
                    raise DataFormatError(_arrow_message(self.spec.path, e, self.columns)) from None
                types[name] = pa.string()

    def _batches(self, columns: list[str] | None, types: dict[str, Any], skip: int) -> Iterator:
        from pyarrow import csv as pcsv

        read = pcsv.ReadOptions(use_threads=True, block_size=1 << 22, encoding="utf8")
        parse = pcsv.ParseOptions(delimiter=self.delimiter)
        conv = pcsv.ConvertOptions(
            null_values=NULL_VALUES, strings_can_be_null=True, include_columns=columns,
            column_types=types, decimal_point=self.decimal,
        )
        seen = 0
        for batch in pcsv.open_csv(self.spec.path, read_options=read, parse_options=parse,
                                   convert_options=conv):
            start = max(skip - seen, 0)
            seen += batch.num_rows
            if start < batch.num_rows:
                yield from _slices(batch.slice(start) if start else batch, self.spec.batch_rows)

    def _mistyped(self, err: Exception, types: dict[str, Any]) -> str | None:
        """The column whose cell could not be converted to its (guessed) type, if it is not
        read as text yet."""
        import pyarrow as pa

        m = re.match(r"In CSV column #(\d+): CSV conversion error to ", " ".join(str(err).split()))
        if not m or int(m.group(1)) >= len(self.columns):
            return None
        name = self.columns[int(m.group(1))]
        return None if types.get(name) == pa.string() else name


def _slices(batch: Any, rows: int) -> Iterator[Any]:
    """An Arrow batch cut into batches of at most ``rows`` rows (zero-copy)."""
    if batch.num_rows <= rows:
        yield batch
        return
    for start in range(0, batch.num_rows, rows):
        yield batch.slice(start, rows)


def _text(err: Exception, limit: int = 200) -> str:
    """An error's text on one line, cut to ``limit`` characters, without a final period."""
    text = " ".join(str(err).split()).rstrip(".")
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text or type(err).__name__


def _sniff_delimiter(lines: list[str]) -> str:
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


_COMMA_NUMBER = re.compile(r"[+-]?\d+,\d+")
_POINT_NUMBER = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")


def sniff_decimal(lines: list[str], delimiter: str) -> str:
    """"," when numbers are written with a decimal comma (1,5 in a file delimited by ";" or a
    tab, as spreadsheets export them in much of Europe) and none with a decimal point, else "."."""
    if delimiter == ",":
        return "."
    comma = point = 0
    for row in csv.reader(lines, delimiter=delimiter):
        for cell in row:
            cell = cell.strip()
            comma += bool(_COMMA_NUMBER.fullmatch(cell))
            point += bool(_POINT_NUMBER.fullmatch(cell))
    return "," if comma and not point else "."


def _check_names(header: list[str], path: str) -> None:
    seen: set[str] = set()
    dup = sorted({h for h in header if h in seen or seen.add(h)})  # type: ignore[func-returns-value]
    if dup:
        msg = (f"{path!r} has duplicate column names: {', '.join(repr(d) for d in dup)}. "
               "Rename them so every column has its own name.")
        raise DataFormatError(msg)
    empty = [i + 1 for i, h in enumerate(header) if not str(h).strip()]
    if empty and len(header) > 1:
        msg = f"{path!r} has columns without a name (position {empty[0]}). Name every column."
        raise DataFormatError(msg)


def _arrow_message(path: str, err: Exception, names: list[str] | None = None) -> str:
    text = _text(err, 1000)
    conv = re.match(r"In CSV column #(\d+): CSV conversion error to \w+: invalid value '(.*)'$", text)
    if conv and names and int(conv.group(1)) < len(names):
        value = conv.group(2) if len(conv.group(2)) <= 40 else conv.group(2)[:37] + "..."
        return (f"Cannot read {path!r}: column {names[int(conv.group(1))]!r} holds numbers but "
                f"also {value!r}. Leave such cells empty (missing) or correct them.")
    fields = re.match(r"CSV parse error: Expected (\d+) columns, got (\d+): (.*)", text)
    if fields:
        want, got, row = fields.groups()
        row = row if len(row) <= 60 else row[:57] + "..."
        return (f"Cannot parse {path!r}: a row has {got} fields where the header has {want} "
                f"(near {row!r}). Check for unbalanced quotes or rows with a different number of "
                "fields.")
    if "quote" in text.lower():
        return (f"Cannot parse {path!r}: {_text(err)}. Check for unbalanced quotes or rows "
                "with a different number of fields.")
    return f"Cannot read {path!r}: {_text(err, 240)}."


class ParquetReader:
    def __init__(self, spec: FileSpec) -> None:
        import pyarrow.parquet as pq

        self.spec = spec
        try:
            self._file = pq.ParquetFile(spec.path, pre_buffer=False)
        except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a broken file
            msg = (f"Cannot read {spec.path!r} as Parquet: {_text(e)}. Write it again, or export "
                   "CSV.")
            raise DataFormatError(msg) from None
        self.columns = list(self._file.schema_arrow.names)
        _check_names(self.columns, spec.path)

    def iter_batches(self, columns: list[str] | None, types: dict[str, Any] | None) -> Iterator:
        try:
            yield from self._file.iter_batches(batch_size=self.spec.batch_rows, columns=columns)
        except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
            msg = (f"Cannot read {self.spec.path!r} as Parquet: {_text(e)}. Write it again, or "
                   "export CSV.")
            raise DataFormatError(msg) from None


class JsonLinesReader:
    def __init__(self, spec: FileSpec) -> None:
        self.spec = spec
        first = next(self.iter_batches(None, None), None)
        if first is None:
            msg = f"{spec.path!r} has no JSON records."
            raise DataFormatError(msg)
        self.columns = list(first.schema.names)

    def iter_batches(self, columns: list[str] | None, types: dict[str, Any] | None) -> Iterator:
        import pyarrow as pa
        from pyarrow import json as pjson

        try:
            reader = pjson.open_json(self.spec.path, read_options=pjson.ReadOptions(block_size=1 << 22))
            for batch in reader:
                yield from _slices(batch.select(columns) if columns else batch, self.spec.batch_rows)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as e:
            msg = (f"Cannot read {self.spec.path!r} as JSON Lines (one JSON object per line): "
                   f"{_text(e)}.")
            raise DataFormatError(msg) from None


class ExcelReader:
    """Rows of one sheet, streamed with openpyxl's read-only mode."""

    def __init__(self, spec: FileSpec) -> None:
        self.spec = spec
        rows = self._rows()
        header = next(rows, None)
        if header is None:
            msg = f"Sheet {self._sheet_name!r} of {spec.path!r} is empty."
            raise DataFormatError(msg)
        self.columns = [("" if h is None else str(h)) for h in header]
        _check_names(self.columns, spec.path)

    def _rows(self) -> Iterator[tuple]:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(self.spec.path, read_only=True, data_only=True)
        except Exception as e:  # noqa: BLE001 - BadZipFile, KeyError, InvalidFileException, XML errors
            msg = (f"Cannot read {self.spec.path!r} as an Excel workbook ({type(e).__name__}: "
                   f"{_text(e, 160)}). Save it again as .xlsx, or export CSV.")
            raise DataFormatError(msg) from None
        sheet = self.spec.sheet
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
            i = int(sheet)
            if not 0 <= i < len(names):
                msg = f"Sheet index {i} is out of range: {self.spec.path!r} has sheets {names}."
                raise DataFormatError(msg)
            ws = wb[names[i]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            msg = f"Sheet {sheet!r} is not in {self.spec.path!r}. Sheets: {names}."
            raise DataFormatError(msg)
        self._sheet_name = ws.title
        return self._guarded(ws.iter_rows(values_only=True))

    def _guarded(self, rows: Iterator[tuple]) -> Iterator[tuple]:
        """The sheet's rows; a damaged sheet (bad XML, bad zip entry) is a one-line error."""
        try:
            yield from rows
        except Exception as e:  # noqa: BLE001 - openpyxl/zipfile/XML raise many types
            msg = (f"Cannot read sheet {self._sheet_name!r} of {self.spec.path!r}: the workbook "
                   f"is damaged ({type(e).__name__}: {_text(e, 120)}). Save it again as .xlsx, "
                   "or export CSV.")
            raise DataFormatError(msg) from None

    def iter_batches(self, columns: list[str] | None, types: dict[str, Any] | None) -> Iterator:
        import pandas as pd

        rows = self._rows()
        next(rows, None)
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= self.spec.batch_rows:
                yield _frame(pd, chunk, self.columns, columns)
                chunk = []
        if chunk:
            yield _frame(pd, chunk, self.columns, columns)


def _frame(pd: Any, rows: list[tuple], names: list[str], columns: list[str] | None) -> Any:
    width = len(names)
    df = pd.DataFrame([tuple(r[:width]) + (None,) * (width - len(r)) for r in rows], columns=names)
    return df[columns] if columns else df


def open_reader(spec: FileSpec) -> Any:
    """A reader for ``spec``: it has ``columns`` and ``iter_batches(columns, types)``."""
    check_file(spec.path)
    fmt = detect_format(spec.path, spec.format)
    if fmt in ("csv", "tsv"):
        return CsvReader(spec, fmt)
    if fmt == "parquet":
        return ParquetReader(spec)
    if fmt == "excel":
        return ExcelReader(spec)
    return JsonLinesReader(spec)


def file_size(path: str) -> int:
    return os.path.getsize(path)


__all__ = ["FileSpec", "open_reader", "detect_format", "FORMATS", "NULL_VALUES"]
