"""What the Dask and Spark backends share.

- finding the parts of a data set (a file, a glob, a directory of parts such as Spark and Dask
  write, local or an fsspec URL) and their format, delimiter and columns;
- reading a sample on the driver exactly as the pandas backend does (pyarrow, same options),
  so every backend builds the same plan from the same rows;
- the per-partition step: slice a partition into batches, run the per-batch function on each
  and merge the summaries;
- probes of what is installed and reachable (no heavy import: ``find_spec``, a TCP connect,
  ``java -version``).

Nothing here imports dask or pyspark.
"""

from __future__ import annotations

import csv
import glob as globmod
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from greta_core.errors import DataFileNotFoundError, DataFormatError
from greta_core.ingestion.readers import NULL_VALUES, FileSpec, compression

SPARK_INSTALL = 'pip install "greta[spark]"'
DASK_INSTALL = 'pip install "greta[dask]"'
PART_FORMATS = ("csv", "tsv", "parquet")
_EXT = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_GLOB = re.compile(r"[*?\[]")
_NULLS = frozenset(NULL_VALUES)


# ------------------------------------------------------------------------------ the data's parts
@dataclass(frozen=True)
class Source:
    """A data set made of one or more part files of one format."""

    path: str  # as the user gave it
    files: tuple[str, ...]  # local paths or full URLs, in a stable (sorted) order
    format: str  # csv | tsv | parquet
    delimiter: str | None
    columns: tuple[str, ...]
    nbytes: int
    remote: bool
    storage_options: dict[str, Any] = field(default_factory=dict)
    decimal: str = "."  # the decimal mark of delimited text
    compressed: bool = False  # gzip, bzip2 or zstd compressed text (local files): one stream a file

    @property
    def is_csv(self) -> bool:
        return self.format in ("csv", "tsv")


def is_url(path: str) -> bool:
    """True for ``scheme://...`` paths other than ``file://`` (those are local)."""
    scheme = urlparse(path).scheme
    return "://" in path and len(scheme) > 1 and scheme != "file"


def local_path(path: str) -> str:
    return path.removeprefix("file://")


def is_multi(path: str) -> bool:
    """True if ``path`` is a glob, a directory or a URL: inputs the pandas backend cannot read."""
    return is_url(path) or bool(_GLOB.search(path)) or os.path.isdir(local_path(path))


def _data_file(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not (base.startswith(("_", ".")) or base.endswith(".crc"))


def list_parts(path: str, storage_options: dict[str, Any] | None = None) -> tuple[list[str], int]:
    """The data files of ``path`` (sorted) and their total size in bytes."""
    if is_url(path):
        return _list_remote(path, storage_options or {})
    p = local_path(path)
    if _GLOB.search(p):
        files = [f for f in globmod.glob(p, recursive=True) if os.path.isfile(f) and _data_file(f)]
    elif os.path.isdir(p):
        files = []
        for root, dirs, names in os.walk(p):
            dirs[:] = sorted(d for d in dirs if _data_file(d))
            files += [os.path.join(root, n) for n in names if _data_file(n)]
    elif os.path.isfile(p):
        files = [p]
    else:
        msg = f"Data path {path!r} does not exist. Check the path (--data or data.path)."
        raise DataFileNotFoundError(msg)
    files = sorted(files)
    if not files:
        msg = f"No data files found at {path!r} (files named _* or .* are skipped). Check the path or glob."
        raise DataFileNotFoundError(msg)
    return files, sum(os.path.getsize(f) for f in files)


def _list_remote(path: str, storage_options: dict[str, Any]) -> tuple[list[str], int]:
    import fsspec

    try:
        fs, root = fsspec.core.url_to_fs(path, **storage_options)
        if _GLOB.search(root):
            found = fs.glob(root, detail=True)
        elif fs.isdir(root):
            found = fs.find(root, detail=True)
        else:
            found = {root: fs.info(root)}
    except (FileNotFoundError, ImportError, ValueError, OSError) as e:
        msg = f"Cannot list {path!r}: {type(e).__name__}: {' '.join(str(e).split())[:200]}."
        raise DataFileNotFoundError(msg) from None
    items = sorted((k, v) for k, v in found.items() if v.get("type") != "directory" and _data_file(k))
    if not items:
        msg = f"No data files found at {path!r} (files named _* or .* are skipped)."
        raise DataFileNotFoundError(msg)
    return [fs.unstrip_protocol(k) for k, _ in items], sum(int(v.get("size") or 0) for _, v in items)


def open_binary(path: str, storage_options: dict[str, Any] | None = None) -> Any:
    if is_url(path):
        import fsspec

        return fsspec.open(path, "rb", **(storage_options or {})).open()
    return open(local_path(path), "rb")


def part_format(files: list[str], fmt: str, storage_options: dict[str, Any] | None = None) -> str:
    if fmt != "auto":
        if fmt not in PART_FORMATS:
            msg = (f"The Dask and Spark backends read CSV, TSV and Parquet; got format {fmt!r}. "
                   "Use --backend pandas for Excel and JSON Lines files.")
            raise DataFormatError(msg)
        return fmt
    ext = {_EXT.get(Path(urlparse(f).path if is_url(f) else f).suffix.lower()) for f in files}
    ext.discard(None)
    if len(ext) == 1:
        return ext.pop()
    if len(ext) > 1:
        msg = f"The parts of the data set mix formats ({', '.join(sorted(ext))}); give a glob that selects one."
        raise DataFormatError(msg)
    with open_binary(files[0], storage_options) as f:
        head = f.read(4)
    if head[:2] == b"PK":
        msg = "The Dask and Spark backends do not read Excel files. Use --backend pandas, or save as CSV or Parquet."
        raise DataFormatError(msg)
    return "parquet" if head == b"PAR1" else "csv"


def resolve_source(spec: FileSpec, storage_options: dict[str, Any] | None = None) -> Source:
    """Find the parts of ``spec.path`` and read their format, delimiter and column names."""
    so = dict(storage_options or {})
    files, nbytes = list_parts(spec.path, so)
    fmt = part_format(files, spec.format, so)
    decimal, compressed = ".", False
    if fmt == "parquet":
        columns, delim = _parquet_columns(files[0], so), None
    else:
        delim, decimal, columns = _csv_layout(files[0], spec.delimiter or ("\t" if fmt == "tsv" else None), so,
                                              spec.decimal)
        compressed = not is_url(spec.path) and any(compression(local_path(f)) for f in files)
    from greta_core.ingestion.readers import _check_names

    _check_names(list(columns), spec.path)
    return Source(spec.path, tuple(files), fmt, delim, tuple(columns), nbytes, is_url(spec.path), so, decimal,
                  compressed)


def _parquet_columns(path: str, so: dict[str, Any]) -> list[str]:
    import pyarrow.parquet as pq

    try:
        with open_binary(path, so) as f:
            return list(pq.read_schema(f).names)
    except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a broken file
        msg = f"Cannot read {path!r} as Parquet: {' '.join(str(e).split())[:200]}."
        raise DataFormatError(msg) from None


def _csv_header(path: str, delimiter: str | None, so: dict[str, Any],
                decimal: str | None = None) -> tuple[str, list[str]]:
    delim, _, columns = _csv_layout(path, delimiter, so, decimal)
    return delim, columns


def _csv_layout(path: str, delimiter: str | None, so: dict[str, Any],
                decimal: str | None = None) -> tuple[str, str, list[str]]:
    """The delimiter, decimal mark and column names of a CSV part (compressed or not)."""
    from greta_core.ingestion.readers import (
        _UNREAD_MAGIC,
        _sniff_delimiter,
        damaged_message,
        open_head,
        sniff_decimal,
        xz_message,
    )

    try:
        if is_url(path):
            with open_binary(path, so) as f:
                raw = f.read(1 << 16)
        else:
            with open_head(local_path(path)) as f:
                raw = f.read(1 << 16)
    except (OSError, EOFError) as e:
        msg = damaged_message(local_path(path), e) or f"Cannot read {path!r}: {' '.join(str(e).split())[:200]}."
        raise DataFormatError(msg) from None
    if raw.startswith(_UNREAD_MAGIC):
        raise DataFormatError(xz_message(path))
    if b"\x00" in raw:
        msg = f"{path!r} is not a text file (it contains binary data). Give CSV, TSV or Parquet parts."
        raise DataFormatError(msg)
    lines = raw.decode("utf-8-sig", errors="ignore").splitlines()
    if not lines or not lines[0].strip():
        msg = f"{path!r} has no header row: the first line must name the columns."
        raise DataFormatError(msg)
    delim = delimiter or _sniff_delimiter(lines[:50])
    mark = decimal or sniff_decimal(lines[1:200], delim)
    return delim, mark, next(csv.reader([lines[0]], delimiter=delim))


# ------------------------------------------------------------------------- reading on the driver
def iter_arrow_batches(source: Source, columns: list[str] | None = None,
                       types: dict[str, Any] | None = None, batch_rows: int = 65536) -> Iterator[Any]:
    """Arrow record batches of every part in order, read as the pandas backend reads a file.

    Local parts go through the pandas backend's own readers; remote parts through pyarrow with
    the same options, on an fsspec file.
    """
    from greta_core.ingestion.readers import open_reader

    for path in source.files:
        if not source.remote:
            spec = FileSpec(path=local_path(path), format=source.format, delimiter=source.delimiter,
                            decimal=source.decimal if source.is_csv else None, batch_rows=batch_rows)
            yield from open_reader(spec).iter_batches(columns, types)
            continue
        yield from _remote_batches(source, path, columns, types, batch_rows)


def _remote_batches(source: Source, path: str, columns: list[str] | None,
                    types: dict[str, Any] | None, batch_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import csv as pcsv

    try:
        with open_binary(path, source.storage_options) as f:
            if source.format == "parquet":
                # pre_buffer=False: with it, pyarrow keeps every row group read so far (memory grows)
                yield from pq.ParquetFile(f, pre_buffer=False).iter_batches(batch_size=batch_rows, columns=columns)
                return
            yield from pcsv.open_csv(
                f, read_options=pcsv.ReadOptions(use_threads=True, block_size=1 << 22, encoding="utf8"),
                parse_options=pcsv.ParseOptions(delimiter=source.delimiter),
                convert_options=pcsv.ConvertOptions(null_values=NULL_VALUES, strings_can_be_null=True,
                                                    include_columns=columns, column_types=types or {},
                                                    decimal_point=source.decimal))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as e:
        msg = f"Cannot read {path!r}: {' '.join(str(e).split())[:240]}."
        raise DataFormatError(msg) from None


def sample_frame(source: Source, n: int, batch_rows: int = 65536) -> Any:
    """The first ``n`` rows (parts in order), typed as the pandas backend types its sample."""
    import pandas as pd

    frames, rows = [], 0
    for batch in iter_arrow_batches(source, batch_rows=batch_rows):
        frames.append(batch.to_pandas(split_blocks=batch.num_columns <= 1000, self_destruct=False))
        rows += len(frames[-1])
        if rows >= n:
            break
    if not frames:
        return pd.DataFrame(columns=list(source.columns))
    return pd.concat(frames, ignore_index=True).head(n)


def estimate_rows(source: Source) -> int | None:
    """Rows in the data set: exact for Parquet (footers), from the line length for CSV."""
    if source.compressed:  # the compressed size says little about the rows
        return None
    try:
        if source.format == "parquet":
            import pyarrow.parquet as pq

            total = 0
            for path in source.files[:2000]:
                with open_binary(path, source.storage_options) as f:
                    total += pq.ParquetFile(f).metadata.num_rows
            return total if len(source.files) <= 2000 else int(total * len(source.files) / 2000)
        with open_binary(source.files[0], source.storage_options) as f:
            head = f.read(1 << 20)
        lines = max(head.count(b"\n") - 1, 1)
        return int(source.nbytes / max(len(head) / (lines + 1), 1))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- per-partition work
def nulls_to_none(df: Any, columns: list[str]) -> Any:
    """Text values that the pandas backend reads as missing ("NA", "-", ...) become None.

    Spark's CSV reader knows one null string only; the pandas backend knows ``NULL_VALUES``.
    """
    for c in columns:
        if c in df.columns and df[c].dtype == object:
            col = df[c]
            mask = col.isin(_NULLS).to_numpy()
            if mask.any():
                df[c] = col.where(~mask, None)
    return df


def summarize_file(fn: Callable[[Any], Any], empty: Any, source: Source, path: str, columns: list[str],
                   kinds: dict[str, str], batch_rows: int, pin_blas: bool = False) -> Any:
    """Stream one local part file (a compressed one cannot be cut) through the pandas backend's
    reader and run ``fn`` on each batch: memory holds one batch, not the whole file."""
    from greta_core.backends.pandas_backend import arrow_types, to_pandas
    from greta_core.ingestion.readers import open_reader

    if pin_blas:
        pin_blas_once()
    spec = FileSpec(path=local_path(path), format=source.format, delimiter=source.delimiter,
                    decimal=source.decimal, batch_rows=batch_rows)
    acc = empty
    for batch in open_reader(spec).iter_batches(columns, arrow_types(kinds)):
        acc = acc.merge(fn(to_pandas(batch)))
    return acc


def summarize_partition(fn: Callable[[Any], Any], empty: Any, df: Any, batch_rows: int,
                        text_columns: tuple[str, ...] | list[str] = (), pin_blas: bool = False) -> Any:
    """Run ``fn`` on slices of at most ``batch_rows`` rows of ``df`` and merge the summaries.

    ``pin_blas`` limits BLAS to one thread for the rest of this (worker) process: parallelism
    comes from partitions processed side by side (DESIGN §3).
    """
    if pin_blas:
        pin_blas_once()
    acc = empty
    for start in range(0, len(df), batch_rows):  # slices, not one copy of the whole partition
        part = df.iloc[start:start + batch_rows].reset_index(drop=True)
        acc = acc.merge(fn(nulls_to_none(part, list(text_columns)) if text_columns else part))
    return acc


_PINNED: list[Any] = []


def pin_blas_once() -> None:
    if not _PINNED:
        from threadpoolctl import threadpool_limits

        _PINNED.append(threadpool_limits(1))


def merge_all(*summaries: Any) -> Any:
    """Merge summaries in the given order (one node of a tree reduction)."""
    acc = summaries[0]
    for s in summaries[1:]:
        acc = acc.merge(s)
    return acc


def tree_levels(n: int, fan_in: int = 8) -> list[list[tuple[int, int]]]:
    """Index ranges merged at each level of a ``fan_in``-ary tree over ``n`` leaves."""
    levels, width = [], n
    while width > 1:
        level = [(i, min(i + fan_in, width)) for i in range(0, width, fan_in)]
        levels.append(level)
        width = len(level)
    return levels


# --------------------------------------------------------------------- installed and reachable
def module_version(name: str) -> str | None:
    """The installed version of a distribution/module, without importing it (None if absent)."""
    import importlib.metadata
    import importlib.util

    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "installed"


def java_status(timeout: float = 15.0) -> tuple[bool, str]:
    """Whether a Java runtime is found (JAVA_HOME, then PATH) and its version line."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    if not java or not os.path.exists(java):
        where = f"JAVA_HOME={home} has no bin/java" if home else "no `java` on PATH and JAVA_HOME is not set"
        return False, f"Java not found ({where}); install a JDK 17 or later (e.g. apt-get install openjdk-17-jre-headless)"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"{java} -version failed: {e}"
    text = (out.stderr or out.stdout).strip().splitlines()
    if out.returncode != 0:
        return False, f"{java} -version failed: {text[-1] if text else out.returncode}"
    return True, text[0] if text else java


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """Host and port of ``tcp://h:p``, ``spark://h:p``, ``redis://user:pw@h:p/0`` or ``h:p``."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def tcp_reachable(address: str, default_port: int, timeout: float = 2.0) -> tuple[bool, str]:
    host, port = host_port(address, default_port)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, f"{host}:{port} accepts connections"
    except OSError as e:
        return False, f"{host}:{port} is not reachable ({e.strerror or e})"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"


def peak_rss_mb() -> float:
    from greta_core.metrics import peak_memory_mb

    return peak_memory_mb()


def dumps(obj: Any) -> bytes:
    import pickle

    return pickle.dumps(obj, protocol=5)


def loads(data: bytes) -> Any:
    import pickle

    return pickle.loads(data)


__all__ = [
    "DASK_INSTALL", "SPARK_INSTALL", "Source", "estimate_rows", "host_port",
    "is_multi", "is_url", "iter_arrow_batches", "java_status", "list_parts", "merge_all",
    "module_version", "resolve_source", "sample_frame", "summarize_partition", "tcp_reachable",
    "tree_levels",
]
