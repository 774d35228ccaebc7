"""Errors and warnings raised by Greta.

Every error derives from :class:`GretaError` and from the builtin it refines, so existing
``except KeyError`` or ``except ValueError`` clauses still catch it. Each takes one message
argument (passed to ``super().__init__``) so that it pickles across process boundaries.
"""

from __future__ import annotations


class GretaError(Exception):
    """Base class of every error a user can cause or fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message,))


class InvalidConfigError(GretaError, ValueError):
    """A configuration key or value is not allowed."""


class DataFileNotFoundError(GretaError, FileNotFoundError):
    """The data file does not exist."""


class DataFileUnreadableError(GretaError, PermissionError):
    """The data file exists but cannot be read (no permission, an I/O error)."""


class DataFormatError(GretaError, ValueError):
    """The data cannot be read or has an unusable shape."""


class ColumnNotFoundError(GretaError, KeyError):
    """A named column is not in the data."""


class TargetError(GretaError, ValueError):
    """The target column cannot be analysed (constant, empty, ...)."""


class BackendUnavailableError(GretaError, ImportError):
    """A requested backend is not installed or not usable."""


class CancelledError(GretaError, RuntimeError):
    """The analysis was cancelled by its caller."""


class ScalabilityError(GretaError, RuntimeError):
    """A distributed engine failed."""


class SparkUnavailableError(ScalabilityError):
    """Spark was requested but cannot be used."""


class DistributedComputationError(ScalabilityError):
    """A computation on a cluster failed or the cluster is gone."""


class MemoryLimitError(GretaError, ValueError):
    """A setting needs more memory than this process may use."""


class GretaWarning(UserWarning):
    """Base class of Greta's warnings, to simplify filtering."""


def did_you_mean(name: str, options: list[str], n: int = 3) -> str:
    """Return a "Did you mean ...?" hint for ``name`` among ``options`` ("" if none is close)."""
    import difflib

    close = difflib.get_close_matches(name, options, n=n, cutoff=0.5)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def short_list(names: object, n: int = 12) -> str:
    """The first ``n`` names, quoted, with how many there are in all when there are more."""
    cols = [str(c) for c in names]  # type: ignore[attr-defined]
    more = f", ... ({len(cols)} in all)" if len(cols) > n else ""
    return ", ".join(repr(c) for c in cols[:n]) + more


def missing_target_message(target: str, columns: list[str]) -> str:
    return f"Target column {target!r} is not in the data.{did_you_mean(target, columns)} Columns: {short_list(columns)}."


def missing_column_message(name: str, columns: list[str]) -> str:
    return f"Column {name!r} (in data.columns or data.exclude) is not in the data.{did_you_mean(name, columns)}"
