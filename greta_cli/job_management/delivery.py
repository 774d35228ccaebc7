"""What both the Celery app and the worker monitor need, without Celery: the task's name, how a
job message is sent, the engine an app was built for, and this process's job registry.

Kept apart so that ``celery_app`` (which starts the monitor) and ``monitor`` (which sends jobs
again) each import it, and not each other.
"""

from __future__ import annotations

import os
from typing import Any

from greta_cli.job_management.engine import Engine
from greta_cli.job_management.registry import JobRegistry, open_registry

TASK_NAME = "greta.run_analysis"
_registries: dict[tuple[int, str], JobRegistry] = {}


def publish(app: Any, job_id: str, payload: str, queue: str) -> None:
    """Send the message that runs job ``job_id`` (its Celery task id is the job id)."""
    app.send_task(TASK_NAME, args=[job_id, payload], task_id=job_id, queue=queue,
                  argsrepr=f"({job_id!r}, '<config>')", kwargsrepr="{}")


def app_engine(app: Any) -> Engine:
    """The :class:`Engine` ``app`` was made for (kept on the app, not in its conf)."""
    engine = getattr(app, "greta_engine", None)
    if engine is None:
        msg = "This Celery app was not made by greta_cli.job_management.celery_app.make_celery_app."
        raise RuntimeError(msg)
    return engine


def registry_for(engine: Engine) -> JobRegistry:
    """This process's registry for ``engine`` (one per process: never shared across fork)."""
    key = (os.getpid(), engine.registry_url)
    if key not in _registries:
        _registries[key] = open_registry(engine.registry_url)
    return _registries[key]
