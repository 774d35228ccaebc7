"""Streaming readers for CSV/TSV, Parquet, Excel and JSON Lines files.

Every reader yields pandas batches of at most ``batch_rows`` rows, so peak memory does not
grow with the number of rows. Problems with the file become one-line :class:`DataFormatError`
messages that name the file and the fix.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greta_core.errors import DataFileNotFoundError, DataFileUnreadableError, DataFormatError

FORMATS = ("csv", "tsv", "parquet", "excel", "jsonl")
NULL_VALUES = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "none", "-", "?", "#N/A"]
_EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
    ".pq": "parquet", ".xlsx": "excel", ".xlsm": "excel", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".json": "jsonl",
}
#: Compressed text, recognised by its first bytes: pyarrow decompresses it while streaming.
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".zst", ".zstd")
_UNREAD_MAGIC = (b"\xfd7zXZ\x00", b"\x5d\x00\x00")  # xz and legacy lzma: not read
_HEADER_LIMIT = 1 << 24  # bytes of a header row (the column names) read at most


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
    name = Path(path)
    if name.suffix.lower() in _COMPRESSED_SUFFIXES:  # data.tsv.gz: the format of data.tsv
        name = name.with_suffix("")
    return _EXTENSIONS.get(name.suffix.lower(), "csv")


def compression(path: str) -> str | None:
    """The codec of a gzip, bzip2 or zstd compressed file (from its first bytes), else None."""
    with open(path, "rb") as f:
        head = f.read(4)
    return next((codec for magic, codec in _MAGIC if head.startswith(magic)), None)


def open_text(path: str) -> Any:
    """The file's bytes as a pyarrow input stream, decompressed if it is compressed."""
    import pyarrow as pa

    return pa.input_stream(path, compression=compression(path))


_CODEC_NAMES = {"gzip": "gzip", "bz2": "bzip2", "zstd": "zstd"}


def damaged_message(path: str, err: BaseException) -> str | None:
    """The one-line message for a compressed file whose stream ends early or is corrupt (an
    interrupted download or copy), else None."""
    codec = compression(path) if os.path.isfile(path) else None
    if codec is None:
        return None
    text = str(err).lower()
    truncated = isinstance(err, EOFError) or "truncated" in text or "ended before" in text
    corrupt = any(w in text for w in ("invalid", "corrupt", "crc", "incorrect", "bad ", "error -3"))
    if not (truncated or corrupt):
        return None
    what = "ends early (the file is truncated)" if truncated else f"is corrupt ({_text(err, 80)})"
    return (f"{path!r} is damaged: its {_CODEC_NAMES[codec]} compressed stream {what}, as after an "
            "interrupted download or copy. Download it again, or compress the original file again.")


def xz_message(path: str) -> str:
    return (f"{path!r} is xz (or lzma) compressed, which Greta does not read. Decompress it (unxz FILE), "
            "or compress it with gzip, bzip2 or zstd instead.")


def check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        msg = f"Data file {path!r} does not exist. Check the path (--data or data.path)."
        raise DataFileNotFoundError(msg)
    if p.is_dir():
        msg = f"Data path {path!r} is a directory; give a file (--data FILE)."
        raise DataFormatError(msg)
    if not p.is_file():
        msg = (f"Data path {path!r} is not a regular file (a pipe, socket or device). Save the "
               "data to a file and give its path (--data FILE).")
        raise DataFormatError(msg)
    try:
        with open(p, "rb") as f:
            f.read(1)
    except OSError as e:
        reason = "permission denied" if isinstance(e, PermissionError) else _text(e)
        msg = (f"Cannot read data file {path!r}: {reason}. Give your user read permission "
               "(e.g. chmod u+r FILE), or copy the file to a folder you can read.")
        raise DataFileUnreadableError(msg) from None
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
        try:
            raw, end = _first_record(self.spec.path)
        except (OSError, EOFError) as e:  # a damaged compressed file
            msg = damaged_message(self.spec.path, e) or \
                f"Cannot read {self.spec.path!r}: {_text(e)}. Check that the file is complete."
            raise DataFormatError(msg) from None
        if raw.startswith(_UNREAD_MAGIC):
            raise DataFormatError(xz_message(self.spec.path))
        if b"\x00" in raw:
            msg = (f"{self.spec.path!r} is not a text file (it contains binary data). "
                   "Give a CSV, TSV, Parquet, Excel (.xlsx) or JSON Lines file; gzip, bzip2 "
                   "and zstd compressed text is read as well.")
            raise DataFormatError(msg)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            if len(raw) - e.start > 4:  # not just a multi-byte character cut at the end
                msg = (f"{self.spec.path!r} is not UTF-8 text (byte {e.start}). "
                       "Save it as UTF-8 CSV, or as Parquet or Excel.")
                raise DataFormatError(msg) from None
            text = raw[: e.start].decode("utf-8-sig")
        first = raw[:end].decode("utf-8-sig", errors="replace").rstrip("\r")
        if not first.strip():
            msg = f"{self.spec.path!r} has no header row: the first line must name the columns."
            raise DataFormatError(msg)
        lines = text[len(first):].lstrip("\r\n").splitlines()
        if self.delimiter is None:
            self.delimiter = _sniff_delimiter([first.replace("\n", " "), *lines[:49]])
        if self.spec.decimal is None:
            self.decimal = sniff_decimal(lines[:199], self.delimiter)
        header = next(csv.reader(io.StringIO(first, newline=""), delimiter=self.delimiter))
        self.long_integers = _long_integers(header, lines[:199], self.delimiter)
        # about a thousand rows a block (the header's length stands for a row's), within 4-64 MiB:
        # a wide file's per-batch work grows with its columns, not its rows
        self.block_size = max(1 << 22, min(1 << 26, 1024 * end), 2 * end)
        self.data_start = end + 1  # the first data byte (of the decompressed text)
        rows = raw[self.data_start:].count(b"\n")  # none: a single row, or lines ending in "\r" alone
        self.row_bytes = (len(raw) - self.data_start) / rows if rows else 0.0
        _check_names(header, self.spec.path)
        return header

    def iter_batches(self, columns: list[str] | None, types: dict[str, Any] | None) -> Iterator:
        """Batches of at most ``batch_rows`` rows. A column typed as numbers (by ``types`` or
        by pyarrow's guess from the first block) that holds text further down is read again
        as text from there on: its batches then hold strings, which the plan parses per batch."""
        import pyarrow as pa

        types = dict(types or {})
        for name in self.long_integers:  # as text: pyarrow would round them to doubles
            types.setdefault(name, pa.string())
        done = 0  # rows already yielded: a restart skips them
        while True:
            try:
                for batch in self._batches(columns, types, done):
                    yield batch
                    done += batch.num_rows
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, EOFError) as e:
                damaged = damaged_message(self.spec.path, e)
                if damaged:
                    raise DataFormatError(damaged) from None
                if not isinstance(e, pa.ArrowException):
                    raise
                if "Empty CSV file" in str(e):  # a header line and no newline after it: no rows
                    return
                name = self._mistyped(e, types)
                if name is None:
                    raise DataFormatError(_arrow_message(self.spec.path, e, self.columns)) from None
                types[name] = pa.string()

    def _batches(self, columns: list[str] | None, types: dict[str, Any], skip: int) -> Iterator:
        from pyarrow import csv as pcsv

        read = pcsv.ReadOptions(use_threads=True, block_size=self.block_size, encoding="utf8")
        seen = 0
        for batch in pcsv.open_csv(open_text(self.spec.path), read_options=read, parse_options=self._parse(),
                                   convert_options=self._convert(columns, types)):
            start = max(skip - seen, 0)
            seen += batch.num_rows
            if start < batch.num_rows:
                yield from _slices(batch.slice(start) if start else batch, self.spec.batch_rows)

    def _parse(self) -> Any:
        from pyarrow import csv as pcsv

        # a quoted value may hold line breaks anywhere in the file, not only in the header
        return pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)

    def _convert(self, columns: list[str] | None, types: dict[str, Any]) -> Any:
        from pyarrow import csv as pcsv

        return pcsv.ConvertOptions(null_values=NULL_VALUES, strings_can_be_null=True, include_columns=columns,
                                   column_types=types, decimal_point=self.decimal)

    def parts(self, columns: list[str], types: dict[str, Any] | None) -> list[CsvPart] | None:
        """The data cut into byte ranges of about ``batch_rows`` rows that threads parse side by
        side (DESIGN §2: every core parses, memory stays flat), or None when the file is not
        worth cutting or cannot be cut (compressed text, fewer than two ranges).

        A range starts after a line break. A line break inside a quoted value is no place to
        cut; each range checks, where it has quotes, that they pair up as CSV writes them and
        raises :class:`Unsplittable` otherwise — the caller then reads the file as one stream."""
        import pyarrow as pa

        path = self.spec.path
        if compression(path) or not self.row_bytes:
            return None
        size = os.path.getsize(path)
        step = range_bytes(self.spec.batch_rows, self.row_bytes)
        if size - self.data_start < 2 * step:
            return None
        types = dict(types or {})
        for name in self.long_integers:
            types.setdefault(name, pa.string())
        starts = list(range(self.data_start, size, step))
        return [CsvPart(self, columns, types, a, min(a + step, size), size, a == self.data_start)
                for a in starts]

    def _mistyped(self, err: Exception, types: dict[str, Any]) -> str | None:
        """The column whose cell could not be converted to its (guessed) type, if it is not
        read as text yet."""
        import pyarrow as pa

        m = re.match(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to ", " ".join(str(err).split()))
        if not m or int(m.group(1)) >= len(self.columns):
            return None
        name = self.columns[int(m.group(1))]
        return None if types.get(name) == pa.string() else name


class Unsplittable(Exception):
    """A CSV file that cannot be cut into byte ranges safely (a quoted line break at a cut, or
    quotes used in a way CSV does not write them): read it as one stream instead."""


def range_bytes(batch_rows: int, row_bytes: float) -> int:
    """Bytes of CSV text one thread parses at a time: about ``batch_rows`` rows, within
    [1 MiB, 64 MiB]. A range, its parsed columns and their design stay in memory together."""
    return int(min(max(batch_rows * row_bytes, 1 << 20), 64 << 20))


_WINDOW = 1 << 16


class CsvPart:
    """One byte range of a CSV file: the records that start in ``[nominal, stop)``. Parsing it
    (:meth:`batches`) reads only those bytes and runs in the calling thread."""

    def __init__(self, reader: CsvReader, columns: list[str], types: dict[str, Any], nominal: int,
                 stop: int, size: int, first: bool) -> None:
        self.reader, self.columns, self.types = reader, columns, types
        self.nominal, self.stop, self.size, self.first = nominal, stop, size, first

    def batches(self) -> Iterator[Any]:
        """Arrow batches of at most ``batch_rows`` rows; text where a column typed as numbers
        holds text in this range (as the stream does from such a row on)."""
        import pyarrow as pa

        data = self._bytes()
        if not data:
            return
        _check_quotes(data, self.reader.delimiter)
        types = dict(self.types)
        while True:
            try:
                table = self._read(pa.py_buffer(data), types)
                break
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                if "Empty CSV file" in str(e):
                    return
                name = self.reader._mistyped(e, types)
                if name is None:  # the stream reports it, with the file's own row numbers
                    raise Unsplittable(str(e)) from None
                types[name] = pa.string()
        yield from table.to_batches(max_chunksize=self.reader.spec.batch_rows)

    def _read(self, data: Any, types: dict[str, Any]) -> Any:
        from pyarrow import csv as pcsv

        read = pcsv.ReadOptions(use_threads=False, block_size=max(data.size, 1), encoding="utf8",
                                column_names=self.reader.columns)
        return pcsv.read_csv(data, read_options=read, parse_options=self.reader._parse(),
                             convert_options=self.reader._convert(self.columns, types))

    def _bytes(self) -> bytes:
        """The records starting in this range: from the first line start at or after
        ``nominal`` to the first one at or after ``stop`` (where the next range begins)."""
        with open(self.reader.spec.path, "rb") as f:
            begin = self.nominal if self.first else _line_start(f, self.nominal, self.size)
            end = _line_start(f, self.stop, self.size)
            if begin >= end:
                return b""
            f.seek(begin)
            return f.read(end - begin)


def _line_start(f: Any, pos: int, size: int) -> int:
    """The first position at or after ``pos`` that follows a line break (or the end)."""
    if pos >= size:
        return size
    at = pos - 1
    while at < size:
        f.seek(at)
        chunk = f.read(_WINDOW)
        i = chunk.find(b"\n")
        if i >= 0:
            return at + i + 1
        if not chunk:
            break
        at += len(chunk)
    return size


def _check_quotes(data: bytes, delimiter: str) -> None:
    """Raise :class:`Unsplittable` unless ``data`` (whole records, from a record's start) uses
    quotes only as CSV writes them: a quote opens a value at its start, closes it before a
    delimiter or line break, and is doubled inside it. Then no value is left open at the end,
    and the range was cut between records; a range without quotes needs no check."""
    import numpy as np

    if data.find(b'"') < 0:
        return
    buf = np.frombuffer(data, dtype=np.uint8)
    q = np.flatnonzero(buf == 0x22)
    if len(q) % 2:
        raise Unsplittable("a quoted value is left open at the end of a range")
    opens, closes = q[0::2], q[1::2]
    sep = ord(delimiter)
    before = buf[np.maximum(opens - 1, 0)]
    escaped = np.zeros(len(opens), dtype=bool)
    escaped[1:] = opens[1:] == closes[:-1] + 1  # the second quote of a doubled one
    ok_open = (opens == 0) | (before == sep) | (before == 0x0A) | escaped
    after = buf[np.minimum(closes + 1, len(buf) - 1)]
    doubled = np.zeros(len(closes), dtype=bool)
    doubled[:-1] = opens[1:] == closes[:-1] + 1
    ok_close = ((closes == len(buf) - 1) | (after == sep) | (after == 0x0A) | (after == 0x0D) | doubled)
    if not (ok_open.all() and ok_close.all()):
        raise Unsplittable("quotes are used in a way that CSV does not write them")


_LONG_INTEGER = re.compile(r"\s*[+-]?\d{16,}\s*")


def _long_integers(header: list[str], lines: list[str], delimiter: str) -> list[str]:
    """Columns with whole numbers of 16 or more digits in the first rows: floats cannot hold
    them exactly (2**70 + 1 == 2**70 + 2 as a double), so they are read as text."""
    found: set[int] = set()
    for row in csv.reader(lines, delimiter=delimiter):
        found.update(i for i, cell in enumerate(row[: len(header)]) if _LONG_INTEGER.fullmatch(cell))
    return [header[i] for i in sorted(found)]


def open_head(path: str) -> Any:
    """The file's bytes, decompressed, for reading its first lines: the standard library for
    plain, gzip and bzip2 files (no pyarrow import, so a bad header is refused quickly)."""
    codec = compression(path)
    if codec is None:
        return open(path, "rb")
    if codec == "gzip":
        import gzip

        return gzip.open(path, "rb")
    if codec == "bz2":
        import bz2

        return bz2.open(path, "rb")
    return open_text(path)


def _first_record(path: str) -> tuple[bytes, int]:
    """The file's first bytes, at least its whole first record (the header row, which can be
    long and hold quoted line breaks), and where that record ends."""
    chunk = 1 << 16
    with open_head(path) as f:
        raw = f.read(chunk)
        while True:
            end = _record_end(raw)
            if end is not None:
                return raw + f.read(chunk), end
            more = f.read(max(chunk, len(raw)))
            if not more or len(raw) > _HEADER_LIMIT:
                return raw, len(raw)
            raw += more


def _record_end(raw: bytes) -> int | None:
    """Where the first record of delimited text ends in ``raw`` (None: not within ``raw``).

    A line break inside a quoted field does not end it. As in CSV, a quote opens a quoted
    field only at the start of a field (after a delimiter, which is not known yet: any of
    ``, ; tab |``), so ``5" screen`` is plain text.
    """
    quoted, start_of_field, i, n = False, True, 0, len(raw)
    while i < n:
        c = raw[i]
        if quoted:
            if c == 0x22:  # "
                if i + 1 < n and raw[i + 1] == 0x22:
                    i += 1  # "" is a quote inside the field
                else:
                    quoted = False
        elif c == 0x0A:  # \n
            return i
        elif c == 0x22 and start_of_field:
            quoted = True
        start_of_field = not quoted and c in b",;\t|"
        i += 1
    return None


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


# 1,5 or 3.455,84 or 3 455,84 (thousands grouped by a dot, a space, a no-break space U+00A0,
# a narrow no-break space U+202F or an apostrophe)
_COMMA_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?P<g>[. \u00a0\u202f'])\d{3}(?:(?P=g)\d{3})*|\d+),\d+")
_POINT_NUMBER = re.compile(r"[+-]?\d*\.\d+(?:[eE][+-]?\d+)?")
_DOT_GROUPED = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")  # 1.234: a decimal point, or thousands


def sniff_decimal(lines: list[str], delimiter: str) -> str:
    """"," when numbers are written with a decimal comma (1,5 or 3.455,84 in a file delimited
    by ";" or a tab, as spreadsheets export them in much of Europe) and none with a decimal
    point (1.234 may be a thousand with a dot between groups: it counts for neither), else "."."""
    if delimiter == ",":
        return "."
    comma = point = 0
    for row in csv.reader(lines, delimiter=delimiter):
        for cell in row:
            cell = cell.strip()
            comma += bool(_COMMA_NUMBER.fullmatch(cell))
            point += bool(_POINT_NUMBER.fullmatch(cell)) and not _DOT_GROUPED.fullmatch(cell)
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
    conv = re.match(r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to \w+: invalid value '(.*)'$", text)
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
    """JSON Lines through pyarrow's streaming reader. pyarrow fixes the fields from the first
    block (4 MB); a field first seen further down makes the file be read again with every
    field declared (found by one scan of the keys), from the row where it stopped."""

    def __init__(self, spec: FileSpec) -> None:
        self.spec = spec
        self._schema: Any = None
        first = next(self.iter_batches(None, None), None)
        if first is None:
            msg = f"{spec.path!r} has no JSON records."
            raise DataFormatError(msg)
        self.columns = list(first.schema.names)

    def iter_batches(self, columns: list[str] | None, types: dict[str, Any] | None) -> Iterator:
        import pyarrow as pa

        done = 0
        while True:
            try:
                for batch in self._batches(columns, done):
                    yield batch
                    done += batch.num_rows
                return
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError, OSError, EOFError) as e:
                damaged = damaged_message(self.spec.path, e)
                if damaged:
                    raise DataFormatError(damaged) from None
                if "unexpected field" not in str(e) or self._schema is not None:
                    msg = (f"Cannot read {self.spec.path!r} as JSON Lines (one JSON object per "
                           f"line): {_text(e)}.")
                    raise DataFormatError(msg) from None
                self._schema = self._full_schema()

    def _batches(self, columns: list[str] | None, skip: int) -> Iterator:
        from pyarrow import json as pjson

        parse = pjson.ParseOptions(explicit_schema=self._schema) if self._schema else None
        reader = pjson.open_json(open_text(self.spec.path), parse_options=parse,
                                 read_options=pjson.ReadOptions(block_size=1 << 22))
        seen = 0
        for batch in reader:
            start = max(skip - seen, 0)
            seen += batch.num_rows
            if start < batch.num_rows:
                batch = batch.slice(start) if start else batch
                yield from _slices(batch.select(columns) if columns else batch,
                                   self.spec.batch_rows)

    def _full_schema(self) -> Any:
        """Every field of the file with the type of its values (text when they disagree)."""
        import json

        import pyarrow as pa

        kinds: dict[str, set[type]] = {}
        with open_text(self.spec.path) as f:
            for line in io.TextIOWrapper(f, encoding="utf-8"):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # pyarrow names the broken line when it gets there
                for key, value in (record.items() if isinstance(record, dict) else ()):
                    kinds.setdefault(key, set()).add(type(value))
        fields = []
        for key, seen in kinds.items():
            seen.discard(type(None))
            if seen <= {bool} and seen:
                kind = pa.bool_()
            elif seen <= {int} and seen:
                kind = pa.int64()
            elif seen <= {int, float} and seen:
                kind = pa.float64()
            elif seen <= {str} or not seen:
                kind = pa.string()
            else:  # nested or mixed values: pyarrow infers them (the plan drops nested ones)
                continue
            fields.append(pa.field(key, kind))
        return pa.schema(fields)


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
        try:
            ws = self._sheet(wb, sheet, names)
        except DataFormatError:
            wb.close()
            raise
        self._sheet_name = ws.title
        return self._guarded(ws.iter_rows(values_only=True), wb)

    def _sheet(self, wb: Any, sheet: str | int | None, names: list[str]) -> Any:
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
        return ws

    def _guarded(self, rows: Iterator[tuple], wb: Any) -> Iterator[tuple]:
        """The sheet's rows; a damaged sheet (bad XML, bad zip entry) is a one-line error.
        The workbook's file is closed when the rows are done with (or dropped)."""
        try:
            yield from rows
        except Exception as e:  # noqa: BLE001 - openpyxl/zipfile/XML raise many types
            msg = (f"Cannot read sheet {self._sheet_name!r} of {self.spec.path!r}: the workbook "
                   f"is damaged ({type(e).__name__}: {_text(e, 120)}). Save it again as .xlsx, "
                   "or export CSV.")
            raise DataFormatError(msg) from None
        finally:
            wb.close()

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


def sheets_with_column(path: str, column: str) -> tuple[list[str], list[str]]:
    """The sheets of the workbook ``path`` and those whose header row has ``column``."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        found = []
        for ws in wb.worksheets:
            header = next(ws.iter_rows(max_row=1, values_only=True), ())
            if column in [("" if h is None else str(h)) for h in header]:
                found.append(ws.title)
        return list(wb.sheetnames), found
    finally:
        wb.close()


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


__all__ = ["CsvPart", "FileSpec", "Unsplittable", "open_reader", "range_bytes", "detect_format", "FORMATS", "NULL_VALUES"]
