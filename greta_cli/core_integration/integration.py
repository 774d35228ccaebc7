"""Turn a :class:`GretaConfig` into the engine's parameters and run the analysis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greta_cli.config import GretaConfig, config_to_dict
from greta_core.errors import InvalidConfigError

Progress = Callable[[str, float, dict[str, Any]], None]


def file_spec(config: GretaConfig, data_path: Any = None) -> Any:
    from greta_core.ingestion.readers import FileSpec

    if data_path is not None and not isinstance(data_path, (str, bytes)) and hasattr(data_path, "columns"):
        # A Dask or Spark DataFrame from the Python API: the backend uses it as it is.
        kind = type(data_path).__module__.split(".")[0]
        return FileSpec(path=f"<{kind} DataFrame>", batch_rows=config.preprocessing.batch_rows,
                        options={"dataframe": data_path})
    path = data_path or config.data.path
    if not path:
        msg = "No data file given. Pass --data FILE or set data.path in the config."
        raise InvalidConfigError(msg)
    d, p = config.data, config.preprocessing
    return FileSpec(path=str(path), format=d.format, sheet=d.sheet, delimiter=d.delimiter, decimal=d.decimal,
                    batch_rows=p.batch_rows)


def analysis_params(config: GretaConfig) -> Any:
    from greta_core.params import AnalysisParams

    d, p, h, s = config.data, config.preprocessing, config.hypothesis_search, config.statistics
    if not d.target:
        msg = "No target column given. Pass --target COLUMN or set data.target in the config."
        raise InvalidConfigError(msg)
    return AnalysisParams(
        target=d.target, columns=tuple(d.columns) if d.columns else None, exclude=tuple(d.exclude),
        row_filter=d.row_filter, interactions=p.interactions, squares=p.squares, logs=p.logs,
        max_levels=p.max_levels, min_level_fraction=p.min_level_fraction,
        max_design_columns=p.max_design_columns, sample_rows=p.sample_rows, pop_size=h.pop_size,
        num_generations=h.num_generations, cx_prob=h.cx_prob, mut_prob=h.mut_prob,
        max_terms=h.max_terms, patience=h.patience, seed=h.seed, alpha=s.alpha, holdout_fraction=s.holdout_fraction,
        sample_size=s.sample_size, max_hypotheses=s.max_hypotheses,
        backend=config.scalability.ingestion_backend, workers=h.max_workers,
        distributed_backend=h.distributed_backend, cluster_address=h.cluster_address,
        distributed_fallback=h.distributed_fallback,
        extra={"dask_config": config.scalability.dask_config.model_dump(),
               "spark_config": dict(config.scalability.spark_config)},
    )


def run_analysis_pipeline(config: GretaConfig, data_path: Any = None,
                          progress: Progress | None = None,
                          cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run the main job for ``config`` and return the results document.

    ``data_path`` is a path (file, glob, directory of parts, URL) or a Dask or Spark DataFrame,
    which is then analysed where it lives (its engine is the backend).
    """
    from greta_core.pipeline import analyze

    from greta_core.errors import ColumnNotFoundError, DataFormatError, TargetError

    spec = file_spec(config, data_path)
    try:
        results = analyze(spec, analysis_params(config), progress=progress, cancel=cancel)
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
