"""Background jobs: submit an analysis, watch it, cancel it and collect its results.

Celery runs the jobs; a job registry of our own (Redis for a Redis setup, SQLite for the
embedded default) records each job's state, progress, heartbeat and result, so jobs can be
listed and a dead job told from a slow one. See ``docs/jobs.md``.

Nothing here is imported by ``greta --help``: Celery and Redis load only when a job command
runs. The public names live in their modules: :class:`~.job_manager.JobManager`,
:func:`~.tasks.run_analysis_task`, :class:`~.models.Job`, :class:`~.models.JobState`.
"""

import logging as _logging

# Library logging: without a handler configured (the CLI's job commands), Python would print
# raw warnings such as "job ... marked failed" to stderr; the commands say it themselves.
_logging.getLogger("greta.jobs").addHandler(_logging.NullHandler())
