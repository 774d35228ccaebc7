"""Run the analysis for a :class:`GretaConfig`: in this process, or queued as a background job.

The config-to-engine translation lives in :mod:`.params`, which job submission uses too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greta_cli.config import GretaConfig, config_to_dict
from greta_cli.core_integration.params import analysis_params, file_spec

__all__ = ["analysis_params", "file_spec", "run_analysis_async", "run_analysis_pipeline"]

Progress = Callable[[str, float, dict[str, Any]], None]


def run_analysis_pipeline(config: GretaConfig, data_path: Any = None,
                          progress: Progress | None = None,
                          cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run the main job for ``config`` and return the results document.

    ``data_path`` is a path (file, glob, directory of parts, URL) or a Dask or Spark DataFrame,
    which is then analysed where it lives (its engine is the backend).
    """
    from greta_core.errors import ColumnNotFoundError, DataFormatError, TargetError
    from greta_core.ingestion.precheck import refuse_missing_columns

    spec = file_spec(config, data_path)
    params = analysis_params(config)
    try:
        refuse_missing_columns(spec, params)  # from the header, before the scientific stack loads
        from greta_core.pipeline import analyze

        results = analyze(spec, params, progress=progress, cancel=cancel)
    except (ColumnNotFoundError, DataFormatError, TargetError) as e:
        hint = _other_sheets(spec, config.data.target, missing=isinstance(e, ColumnNotFoundError))
        if not hint:
            raise
        raise type(e)(f"{e} {hint}") from None
    cfg = config_to_dict(config, redact=True)
    cfg["data"]["path"] = spec.path
    results["config"] = cfg
    return results


def _other_sheets(spec: Any, column: str | None, missing: bool) -> str:
    """For an Excel file: which other sheet holds ``column``; when the column was ``missing``
    and no sheet has it, which sheets there are. "" when there is nothing to add."""
    from greta_core.ingestion.readers import detect_format, sheets_with_column

    import os

    try:
        if not column or not os.path.isfile(spec.path) or not os.access(spec.path, os.R_OK):
            return ""
        if detect_format(spec.path, spec.format) != "excel":
            return ""
        names, found = sheets_with_column(spec.path, column)
    except Exception:  # noqa: BLE001 - only a hint: the original error stands
        return ""
    read = spec.sheet if spec.sheet is not None else names[0]
    if isinstance(read, int) or (isinstance(read, str) and read.isdigit() and read not in names):
        read = names[int(read)] if 0 <= int(read) < len(names) else read
    others = [n for n in found if n != read]
    if others:
        return (f"Sheet {read!r} was read; {column!r} is on sheet {others[0]!r}: pass "
                f"--set data.sheet={others[0]!r} (or set data.sheet in the config).")
    if missing and len(names) > 1:
        return (f"Sheet {read!r} was read; no sheet of the workbook ({', '.join(map(repr, names))}) "
                f"has a column {column!r} in its first row.")
    return ""


def run_analysis_async(config: GretaConfig, data_path: str | None = None) -> str:
    """Queue the main job for ``config`` as a background job; return its id (a UUID4).

    Jobs go to ``scalability.celery_config`` (or ``GRETA_BROKER_URL``), else to the embedded
    local broker (see docs/jobs.md). Follow the job with
    :class:`greta_cli.job_management.job_manager.JobManager`.

    Raises
    ------
    BackendUnavailableError
        Celery is not installed (``pip install "greta[jobs]"``).
    ScalabilityError
        The broker or the job registry cannot be reached.
    """
    from greta_cli.job_management.job_manager import JobManager

    return JobManager(config).submit_analysis_job(config, data_path).id
