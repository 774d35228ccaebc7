"""Where jobs go: the broker, the result store and the job registry, from the configuration.

``scalability.celery_config.broker_url`` (or ``GRETA_BROKER_URL``) names the broker. With
none, jobs use the embedded default under ``$GRETA_HOME`` (or the platform's user data
folder): Celery's filesystem transport (made safe for several processes), a SQLite result store and a SQLite job registry, so
``greta submit`` works on a laptop with no server. A Redis broker (or result store) also
holds the job registry, so every machine that shares it sees the same jobs.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greta_cli.config import GretaConfig, redact_url

EMBEDDED_BROKER = "gretafs://localhost/"  # the filesystem transport, see fs_transport.py
_REDIS = ("redis://", "rediss://")


def greta_home() -> Path:
    """Greta's data folder: ``$GRETA_HOME``, else the platform's user data folder."""
    env = os.environ.get("GRETA_HOME", "").strip()
    if env:
        return Path(env).expanduser().resolve()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "greta"


@dataclass(frozen=True)
class Engine:
    """The resolved job settings: URLs (with secrets; never print them unredacted)."""

    broker_url: str
    result_backend: str
    queue: str
    visibility_timeout: int  # seconds before Redis hands an unacknowledged message out again
    home: Path
    registry_url: str  # a redis:// URL, or sqlite:///path for the embedded registry

    @property
    def embedded(self) -> bool:
        return self.broker_url.startswith(("gretafs://", "filesystem://"))

    @property
    def uses_redis(self) -> bool:
        return self.broker_url.startswith(_REDIS)

    def folder(self, *parts: str) -> Path:
        """A folder under the home, created if needed; the home itself is private (0700)."""
        from greta_cli.job_management.registry import private_folder

        private_folder(self.home)
        path = self.home.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def describe(self) -> str:
        """The broker for messages: its URL with the password hidden, or 'embedded (...)'."""
        if self.embedded:
            return f"the embedded broker in {self.home}"
        return redact_url(self.broker_url)

    def to_dict(self, redact: bool = False) -> dict[str, Any]:
        """The settings as a dict; ``redact=True`` hides the passwords in the URLs."""
        hide = redact_url if redact else (lambda url: url)
        return {"broker_url": hide(self.broker_url), "result_backend": hide(self.result_backend),
                "queue": self.queue, "visibility_timeout": self.visibility_timeout,
                "home": str(self.home), "registry_url": hide(self.registry_url)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Engine:
        return cls(**{**data, "home": Path(data["home"])})


def engine_from_config(config: GretaConfig | None = None) -> Engine:
    """Resolve where jobs go from ``config`` (default: the defaults plus the environment)."""
    if config is None:
        from greta_cli.config import load_config

        config = load_config(None)
    c = config.scalability.celery_config
    home = greta_home()
    broker = (c.broker_url or "").strip() or EMBEDDED_BROKER
    local_results = f"db+sqlite:///{home / 'results.db'}"
    backend = (c.result_backend or "").strip()
    check_redis_url(broker, "broker_url", "GRETA_BROKER_URL")
    check_redis_url(backend, "result_backend", "GRETA_RESULT_BACKEND")
    if not backend:
        backend = broker if broker.startswith(_REDIS) else local_results
    if broker.startswith(_REDIS):
        registry = broker
    elif backend.startswith(_REDIS):
        registry = backend
    else:
        registry = f"sqlite:///{home / 'jobs.db'}"
    visibility = c.visibility_timeout or auto_visibility_timeout()
    return Engine(broker_url=broker, result_backend=backend, queue=c.queue,
                  visibility_timeout=int(visibility), home=home, registry_url=registry)


def auto_visibility_timeout(timing: Any = None) -> int:
    """Seconds before Redis delivers an unacknowledged job message again, sized to the job
    heartbeat: twice the silence after which a running job is presumed dead (60 s with the
    default 5 s heartbeat). A message whose worker vanished after taking it (killed, or cut off
    from Redis) is then delivered again within about a minute, not Celery's default hour.

    A job that runs longer is delivered again while it runs; the job registry makes that copy
    harmless: a worker that gets it finds the job running with a fresh heartbeat and skips it
    (see ``models.claim_decision``), or takes it over if its worker died.
    """
    if timing is None:
        from greta_cli.job_management.models import Timing

        timing = Timing.from_env()
    return max(5, math.ceil(2 * timing.stale_after))


def check_redis_url(url: str, key: str, env: str) -> None:
    """Refuse a Redis URL that names no host (``redis://:pw@/0``, ``redis:///0``): redis-py
    would silently connect to 127.0.0.1:6379. The message hides the password."""
    if not url.startswith(_REDIS):
        return
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if host:
        return
    from greta_core.errors import InvalidConfigError

    msg = (f"The Redis URL {redact_url(url)} in scalability.celery_config.{key} (or {env}) "
           "names no host, and Redis would silently be reached at 127.0.0.1:6379. Write the "
           "host in it, e.g. redis://:PASSWORD@127.0.0.1:6379/0 (a #, ? or / in the password "
           "must be percent-encoded).")
    raise InvalidConfigError(msg)
