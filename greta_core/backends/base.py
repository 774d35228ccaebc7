"""The one narrow interface a backend offers (DESIGN §2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pandas as pd

from greta_core.stats.summary import Summary

BatchFn = Callable[[pd.DataFrame], Summary]
Progress = Callable[[int], None]


class DataBackend(Protocol):
    name: str
    decimal: str  # the decimal mark of numbers the backend hands over as text: "." or ","

    def columns(self) -> list[str]: ...

    def sample(self, n: int) -> pd.DataFrame: ...

    def estimate_rows(self) -> int | None: ...

    def reduce(self, fn: BatchFn, empty: Summary, columns: list[str], kinds: dict[str, str],
               progress: Progress | None = None, cancel: Callable[[], bool] | None = None) -> Summary: ...

    def info(self) -> dict[str, Any]: ...
