"""The Celery task. It only passes the job id and the JSON config on (``runner.py`` holds the
logic), following Celery's advice that a task handle serialization and delivery, "with the
actual logic implemented elsewhere"."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from greta_cli.job_management.celery_app import TASK_NAME, app_engine, registry_for


@shared_task(bind=True, name=TASK_NAME, acks_late=True, reject_on_worker_lost=True,
             track_started=True)
def run_analysis_task(self: Any, job_id: str, config_json: str) -> dict[str, Any]:
    """Run the analysis job ``job_id`` with ``config_json`` (a ``config_to_dict`` document).

    Progress, heartbeat, cancellation and the result go through the job registry; the
    return value is a small summary (``{"job_id", "state", "ran", ...}``) for Celery.
    """
    from greta_cli.job_management.runner import execute_job

    return execute_job(job_id, config_json, registry_for(app_engine(self.app)))
