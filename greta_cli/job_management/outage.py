"""Rate-limited warnings about an unreachable job registry (shared by jobs and the monitor)."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("greta.jobs")


class Outage:
    """Warnings about an unreachable registry, rate-limited: one line when an outage starts,
    one every ``every`` seconds while it lasts, and one when the registry is back. A registry
    that flaps (down, up, down again) is announced at most once every ``every`` seconds."""

    def __init__(self, what: str, every: float = 30.0) -> None:
        self.what, self.every = what, every
        self._lock = threading.Lock()
        self._since: float | None = None  # when the current outage started
        self._said = -float("inf")  # when an outage was last announced
        self._announced = False  # the current outage was announced
        self._missed = 0
        self.back_at = -float("inf")  # time.monotonic() when the last outage ended

    def failed(self, action: str, err: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._missed += 1
            if self._since is None:
                self._since = now
            if now - self._said < self.every:
                return
            self._said = now
            if not self._announced:
                self._announced = True
                log.warning("%s: %s not written: %s (retrying; further warnings every %.0f s "
                            "while it lasts)", self.what, action, err, self.every)
            else:
                log.warning("%s: the job registry is still unreachable after %.0f s (%d writes "
                            "or reads missed): %s", self.what, now - self._since, self._missed,
                            err)

    def ok(self) -> None:
        if self._since is None:
            return
        with self._lock:
            if self._since is None:
                return
            self.back_at = time.monotonic()
            down, announced = self.back_at - self._since, self._announced
            self._since, self._missed, self._announced = None, 0, False
        if announced:
            log.warning("%s: the job registry is reachable again (after %.0f s)", self.what, down)
