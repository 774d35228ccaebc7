"""Shared by the distributed search tests (a plain module: test modules cannot import conftest)."""

from __future__ import annotations

import os
from typing import Any

# Small searches: a fixed number of generations (no early stop), so every run does the same work.
SEARCH = {"pop_size": 60, "num_generations": 12, "patience": None, "seed": 11, "max_terms": 5}


def outcome(opt: Any, result: Any) -> dict[str, Any]:
    """Everything a search produced that must match across backends, exactly."""
    return {"front": [(s.terms, s.objectives, s.violation) for s in result.front],
            "archive": sorted((k, s.objectives, s.violation) for k, s in opt.problem.archive.items()),
            "evaluations": result.evaluations, "generations": result.generations}


def exit_worker(*_args: Any) -> None:
    """Sent in place of a chunk: the worker process that takes it dies at once, mid-evaluation."""
    os._exit(1)
