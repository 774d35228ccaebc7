"""Greta from Python: find, test and explain what drives a target column.

>>> import greta
>>> result = greta.analyze("churn.csv", target="churned", seed=0)   # or a DataFrame
>>> print(result.summary())
>>> result.hypotheses          # a pandas DataFrame; in a notebook `result` shows the report

Importing ``greta`` is light: pandas, the engine and any cluster library load on the first
:func:`analyze`.
"""

from __future__ import annotations

from typing import Any

from greta._api import analyze
from greta.result import AnalysisResult
from greta_core import __version__
from greta_core.errors import GretaError, GretaWarning

__all__ = ["AnalysisResult", "GretaError", "GretaWarning", "__version__", "analyze"]


def __dir__() -> list[str]:
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name == "DeprecatedConfigWarning":
        from greta_cli.config.legacy import DeprecatedConfigWarning

        return DeprecatedConfigWarning
    raise AttributeError(f"module 'greta' has no attribute {name!r}")
