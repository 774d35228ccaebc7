"""Refuse an analysis that names columns the data does not have, before anything heavy loads.

Reading a delimited text file's header takes a few milliseconds and only the standard
library; importing the scientific stack to find out that ``--target`` is misspelt took
seconds. This module imports neither pandas, numpy nor pyarrow, and the messages are the
ones the full analysis would give.
"""

from __future__ import annotations

import os
from typing import Any

from greta_core.errors import ColumnNotFoundError, GretaError, missing_column_message, missing_target_message


def header_columns(spec: Any) -> list[str] | None:
    """The column names of a local CSV or TSV file (plain, gzip or bzip2) from its header
    alone; None for anything else (other formats, DataFrames, globs, URLs, unreadable files),
    which the full analysis then reads and judges as before."""
    from greta_core.ingestion.readers import CsvReader, compression, detect_format

    if spec.options.get("dataframe") is not None or not os.path.isfile(spec.path):
        return None
    try:
        fmt = detect_format(spec.path, spec.format)
        if fmt not in ("csv", "tsv") or compression(spec.path) not in (None, "gzip", "bz2"):
            return None
        return list(CsvReader(spec, fmt).columns)
    except (GretaError, OSError, ValueError):
        return None


def refuse_missing_columns(spec: Any, params: Any) -> None:
    """Raise :class:`ColumnNotFoundError` when the target or a column of ``data.columns`` or
    ``data.exclude`` is not in the file's header."""
    columns = header_columns(spec)
    if columns is None:
        return
    if params.target not in columns:
        raise ColumnNotFoundError(missing_target_message(params.target, columns))
    for name in list(params.columns or ()) + list(params.exclude):
        if name not in columns:
            raise ColumnNotFoundError(missing_column_message(name, columns))
