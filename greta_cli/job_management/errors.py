"""Errors of the job commands. Each is a :class:`GretaError`: the CLI prints one line, exit 2."""

from __future__ import annotations

from greta_core.errors import BackendUnavailableError, GretaError, ScalabilityError


class JobNotFoundError(GretaError, KeyError):
    """No job has this id (or the text is not a job id at all)."""


class JobNotFinishedError(GretaError, RuntimeError):
    """Results were asked for a job that has not succeeded."""


class BrokerUnavailableError(ScalabilityError, ConnectionError):
    """The broker or the job registry cannot be reached."""


class JobsUnavailableError(BackendUnavailableError):
    """Celery (the ``jobs`` extra) is not installed."""


def jobs_unavailable(what: str = "Background jobs") -> JobsUnavailableError:
    msg = f'{what} need Celery, which is not installed. Install it with: pip install "greta[jobs]"'
    return JobsUnavailableError(msg)
