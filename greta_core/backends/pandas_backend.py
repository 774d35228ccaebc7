"""The local backend: the file (or an in-memory pandas DataFrame) is cut into batches and
summarised by a thread pool. A plain CSV file is cut into byte ranges, so the workers parse
it too: every core reads, and memory holds a few ranges at a time.

BLAS is pinned to one thread per worker (threadpoolctl) and parallelism comes from batches
processed side by side, which is much faster on a busy machine than threaded BLAS.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from greta_core.errors import CancelledError, DataFormatError
from greta_core.ingestion.readers import CsvReader, FileSpec, Unsplittable, open_reader
from greta_core.stats.summary import Summary

log = logging.getLogger("greta")


def _merged(fn: Callable[[pd.DataFrame], Summary], empty: Summary, batches: Iterable[Any]) -> Summary:
    acc = empty
    for batch in batches:
        acc = acc.merge(fn(to_pandas(batch)))
    return acc


def to_pandas(batch: Any) -> pd.DataFrame:
    if isinstance(batch, pd.DataFrame):
        return batch
    # a wide batch as one block per type: thousands of one-column blocks make every step slow
    return batch.to_pandas(split_blocks=batch.num_columns <= 1000, self_destruct=False)


def arrow_types(kinds: dict[str, str]) -> dict[str, Any]:
    import pyarrow as pa

    return {c: (pa.float64() if k == "numeric" else pa.string()) for c, k in kinds.items()}


class FrameReader:
    """Batches of an in-memory pandas DataFrame: row slices, never a copy of the whole frame
    and no file. The columns keep their dtypes, as a Dask DataFrame's partitions do."""

    def __init__(self, frame: pd.DataFrame, batch_rows: int) -> None:
        names = list(frame.columns)
        bad = next((c for c in names if not isinstance(c, str)), None)
        if bad is not None:
            msg = (f"The DataFrame has a column named {bad!r}, which is not text. Name every "
                   "column with text, e.g. df.columns = df.columns.astype(str).")
            raise DataFormatError(msg)
        if len(set(names)) < len(names):
            dup = sorted({c for c in names if names.count(c) > 1})
            msg = f"The DataFrame has duplicate column names: {dup}. Give every column its own name."
            raise DataFormatError(msg)
        self.frame, self.columns, self.batch_rows = frame, names, batch_rows
        self.rows = len(frame)

    def iter_batches(self, columns: list[str] | None, types: Any = None) -> Any:
        where = None if columns is None else self.frame.columns.get_indexer(columns)
        for start in range(0, self.rows, self.batch_rows):
            rows = slice(start, start + self.batch_rows)
            part = self.frame.iloc[rows] if where is None else self.frame.iloc[rows, where]
            yield part.reset_index(drop=True)


class PandasBackend:
    name = "pandas"

    def __init__(self, spec: FileSpec, workers: int | None = None) -> None:
        self.spec = spec
        frame = spec.options.get("dataframe") if spec.options else None
        self.reader = open_reader(spec) if frame is None else FrameReader(frame, spec.batch_rows)
        self.format = None if frame is None else "pandas"
        # the decimal mark of numbers held as text: the one found in delimited text, else as set
        self.decimal = getattr(self.reader, "decimal", None) or spec.decimal or "."
        self.workers = workers or min(os.cpu_count() or 1, 4)
        self.partitions = 0

    def columns(self) -> list[str]:
        return list(self.reader.columns)

    def sample(self, n: int) -> pd.DataFrame:
        frames, rows = [], 0
        for batch in self.reader.iter_batches(None, None):
            df = to_pandas(batch)
            frames.append(df)
            rows += len(df)
            if rows >= n:
                break
        if not frames:
            return pd.DataFrame(columns=self.columns())
        return pd.concat(frames, ignore_index=True).head(n)

    def estimate_rows(self) -> int | None:
        if isinstance(self.reader, FrameReader):
            return self.reader.rows
        meta = getattr(getattr(self.reader, "_file", None), "metadata", None)
        if meta is not None:
            return int(meta.num_rows)
        if self.spec.path and self.reader.__class__.__name__ == "CsvReader":
            from greta_core.ingestion.readers import compression

            if compression(self.spec.path):  # the file's size says little about its rows
                return None
            with open(self.spec.path, "rb") as f:
                head = f.read(1 << 20)
            lines = max(head.count(b"\n") - 1, 1)
            return int(os.path.getsize(self.spec.path) / max(len(head) / (lines + 1), 1))
        return None

    def reduce(self, fn: Callable[[pd.DataFrame], Summary], empty: Summary, columns: list[str],
               kinds: dict[str, str], progress: Callable[[int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> Summary:
        """One pass. A plain CSV file is cut into byte ranges that the workers parse and
        summarise side by side; other sources are read as one stream whose batches the workers
        summarise. Summaries merge in the order of the rows, so the result does not depend on
        which worker finished first."""
        csv = isinstance(self.reader, CsvReader)
        types = arrow_types(kinds) if csv else None
        parts = self.reader.parts(columns, types) if csv else None
        if parts:
            try:
                return self._run(parts, lambda part: _merged(fn, empty, part.batches()), empty, progress, cancel)
            except Unsplittable as e:
                log.debug("Reading %s as one stream: %s", self.spec.path, e)
        return self._run(self.reader.iter_batches(columns, types), lambda b: fn(to_pandas(b)), empty,
                         progress, cancel)

    def _run(self, items: Iterable[Any], work: Callable[[Any], Summary], empty: Summary,
             progress: Callable[[int], None] | None, cancel: Callable[[], bool] | None) -> Summary:
        from threadpoolctl import threadpool_limits

        acc, pending = empty, deque()
        self.partitions = 0

        def take() -> None:
            nonlocal acc
            acc = acc.merge(pending.popleft().result())
            if progress:
                progress(acc.rows_read)

        with threadpool_limits(1):
            pool = ThreadPoolExecutor(self.workers)
            try:
                for item in items:
                    if cancel and cancel():
                        raise CancelledError("The analysis was cancelled.")
                    pending.append(pool.submit(work, item))
                    self.partitions += 1
                    while len(pending) > self.workers:
                        take()
                while pending:
                    take()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        return acc

    def info(self) -> dict[str, Any]:
        return {"backend": self.name, "partitions": self.partitions, "workers": self.workers}
