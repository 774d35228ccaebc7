"""Backends that hold the rows: a registry of import strings, imported on demand."""

from __future__ import annotations

import importlib
from typing import Any

from greta_core.errors import BackendUnavailableError

BACKENDS = {
    "pandas": "greta_core.backends.pandas_backend:PandasBackend",
}
CHOICES = ("pandas", "dask", "spark", "auto")


def get_backend(name: str) -> Any:
    """The backend class registered under ``name``."""
    if name == "auto":
        name = "pandas"
    if name not in BACKENDS:
        if name in CHOICES:
            msg = (f"The {name!r} backend is not available in this version of Greta. "
                   "Use --backend pandas (or auto).")
        else:
            msg = f"Unknown backend {name!r}. Allowed: {', '.join(CHOICES)}."
        raise BackendUnavailableError(msg)
    module, _, attr = BACKENDS[name].partition(":")
    return getattr(importlib.import_module(module), attr)
