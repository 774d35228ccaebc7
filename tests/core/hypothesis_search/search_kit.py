"""Shared by the distributed search tests (a plain module: test modules cannot import conftest)."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

# Small searches: a fixed number of generations (no early stop), so every run does the same work.
SEARCH = {"pop_size": 60, "num_generations": 12, "patience": None, "seed": 11, "max_terms": 5}


def outcome(opt: Any, result: Any) -> dict[str, Any]:
    """Everything a search produced that must match across backends, exactly."""
    return {"front": [(s.terms, s.objectives, s.violation) for s in result.front],
            "archive": sorted((k, s.objectives, s.violation) for k, s in opt.problem.archive.items()),
            "evaluations": result.evaluations, "generations": result.generations}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(message: str) -> None:
    """Skip a test whose engine is missing; fail it on CI (``CI=true``)."""
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{message} (CI=true: a missing Dask/Spark/Java is a failure)")
    pytest.skip(message)


def need(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        unavailable(f'{module} is not installed (pip install "greta[{extra}]")')
