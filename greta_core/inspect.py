"""A quick look at a data file: the target's task and each column's kind."""

from __future__ import annotations

from typing import Any

from greta_core.backends.pandas_backend import PandasBackend
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import make_plan, planning_rows


def inspect_file(path: str, target: str, sample_rows: int = 50000) -> dict[str, Any]:
    """Infer the plan from a sample of ``path`` (no statistics pass)."""
    backend = PandasBackend(FileSpec(path))
    params = AnalysisParams(target=target, sample_rows=sample_rows)
    rows = planning_rows(params, len(backend.columns()))
    sample = backend.sample(rows)
    plan = make_plan(sample, backend.columns(), params, getattr(backend, "decimal", "."), len(sample) < rows)
    return {
        "task": plan.target.task,
        "classes": list(plan.target.classes),
        "columns": [{"name": c.name, "kind": c.kind} for c in plan.columns],
        "dropped": [{"name": n, "reason": r} for n, r in plan.dropped],
        "terms": plan.candidate_count,
    }
