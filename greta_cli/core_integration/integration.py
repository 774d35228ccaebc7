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
    from greta_core.pipeline import analyze

    spec = file_spec(config, data_path)
    results = analyze(spec, analysis_params(config), progress=progress, cancel=cancel)
    cfg = config_to_dict(config, redact=True)
    cfg["data"]["path"] = spec.path
    results["config"] = cfg
    return results


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
