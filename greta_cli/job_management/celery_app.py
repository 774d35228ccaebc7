"""The Celery app factory: JSON messages only, and the delivery settings that proved safe.

``make_celery_app(engine)`` builds an app for one :class:`~.engine.Engine`. The module's
``app`` attribute is built on first use from the environment (``GRETA_BROKER_URL``, ...), so
Celery's own tools work too::

    celery -A greta_cli.job_management.celery_app worker -Q greta
    celery -A greta_cli.job_management.celery_app flower --address=127.0.0.1 --port=5555
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from greta_cli.job_management import fs_transport
from greta_cli.job_management.delivery import TASK_NAME, app_engine, publish, registry_for
from greta_cli.job_management.engine import Engine, engine_from_config

__all__ = ["TASK_NAME", "app_engine", "make_celery_app", "publish", "registry_for"]


def make_celery_app(engine: Engine | None = None, *, client: bool = False) -> Any:
    """A Celery app whose broker, result store and queue come from ``engine``.

    ``client=True`` builds an app that only sends and revokes jobs: it has no result store
    (results are read from the job registry), which keeps ``greta submit`` fast.
    """
    from celery import Celery

    fs_transport.register()
    engine = engine or engine_from_config()
    app = Celery("greta", set_as_current=False)
    app.greta_engine = engine  # with its secrets; never in app.conf, which `inspect conf` shows
    app.conf.update(_settings(engine))
    if client:
        app.conf.result_backend = None
    else:
        _connect_worker_signals(app)
    return app


def _settings(engine: Engine) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "broker_url": engine.broker_url,
        "result_backend": engine.result_backend,
        # JSON only: a pickle message is refused ("Refusing to deserialize untrusted content").
        "task_serializer": "json", "result_serializer": "json", "event_serializer": "json",
        "accept_content": ["json"], "result_accept_content": ["json"],
        # Delivery: ack after the task ran, requeue when its process dies, one job at a time.
        "task_acks_late": True, "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1, "task_track_started": True, "result_extended": True,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": engine.queue,
        "task_routes": {TASK_NAME: {"queue": engine.queue}},
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0,
                                      "interval_step": 0.2, "interval_max": 0.5},
        "result_expires": timedelta(days=7),
        "imports": ("greta_cli.job_management.tasks",),
        "worker_hijack_root_logger": True,
        # For people reading `celery inspect conf`: the URLs without their passwords.
        "greta_engine": engine.to_dict(redact=True),
        "greta_idle_timeout": 0.0,
    }
    if engine.embedded:
        conf["broker_transport_options"] = {
            "data_folder_in": str(engine.folder("broker", "queue")),
            "data_folder_out": str(engine.folder("broker", "queue")),
            "control_folder": str(engine.folder("broker", "control")),
            "processed_folder": str(engine.folder("broker", "claimed")),
            "store_processed": False, "polling_interval": 0.1,
        }
    elif engine.uses_redis:
        conf["broker_transport_options"] = {**redelivery_options(engine.visibility_timeout),
                                            "socket_connect_timeout": 3}
        conf["worker_send_task_events"] = conf["task_send_sent_event"] = True  # for Flower
        conf["redis_socket_connect_timeout"] = 3
    else:
        conf["broker_transport_options"] = {"visibility_timeout": engine.visibility_timeout}
    if engine.result_backend.startswith("db+sqlite"):
        from greta_cli.job_management.registry import private_file

        engine.folder()
        if engine.result_backend == f"db+sqlite:///{engine.home / 'results.db'}":
            private_file(engine.home / "results.db", create=True)
        conf["database_engine_options"] = {"connect_args": {"timeout": 30}}
        conf["database_short_lived_sessions"] = True
    return conf


def redelivery_options(visibility_timeout: int) -> dict[str, Any]:
    """Kombu's Redis transport options that bound how long a taken but unacknowledged message
    waits: ``visibility_timeout``, and a sweep for such messages often enough to keep to it
    (kombu's default sweep runs every 10 s but scans only every tenth time: 100 s)."""
    sweep = max(1, min(10, visibility_timeout // 6))
    return {"visibility_timeout": visibility_timeout, "unacked_restore_interval": sweep,
            "unacked_restore_throttle": 1,
            # a sweeper killed while it holds the sweep's lock blocks the others this long
            "unacked_mutex_expire": max(10, min(300, visibility_timeout))}


def _connect_worker_signals(app: Any) -> None:
    """Start the worker monitor (heartbeat, recovery of dead jobs) in a worker of ``app``."""
    from celery import signals

    def ready(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return
        from greta_cli.job_management.monitor import WorkerMonitor

        monitor = WorkerMonitor(app, sender)
        app.greta_monitor = monitor
        monitor.start()

    def shutdown(sender: Any = None, **_: Any) -> None:
        monitor = getattr(app, "greta_monitor", None)
        if monitor is not None:
            monitor.stop()

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        globals()["app"] = globals()["celery"] = make_celery_app()
        return globals()[name]
    raise AttributeError(name)
