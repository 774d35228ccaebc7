"""``greta run`` under watch: the analysis runs in a forked child, and this process only waits
for it. When the kernel kills the child for memory (a container's or a systemd slice's limit,
or the machine's), nobody else could tell the user: this process says so in one line, removes
half-written output files and ends the engines the child left behind, then exits with status 2
instead of a silent 137.

Only the ``greta`` command watches (:func:`enable` is called by ``greta_cli.app.main``), and only
where ``fork`` exists; ``GRETA_NO_WATCH=1`` runs the analysis in this process.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greta_core.resources.memory import MemoryLimit

_enabled = False
PR_SET_CHILD_SUBREAPER = 36


def enable() -> None:
    global _enabled
    _enabled = hasattr(os, "fork") and os.environ.get("GRETA_NO_WATCH", "") in ("", "0")


def fork_watched(backend: str, outputs: Iterable[str | None]) -> None:
    """Return in a child that does the work; in this process, wait for it and exit as it did."""
    if not _enabled:
        return
    from greta_core.resources.memory import memory_limit

    limit = memory_limit()
    kills = limit.oom_kills()
    started = time.time()
    _become_subreaper()
    gc.freeze()  # the child's collections then leave the shared pages alone (no copy on write)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the child too; it answers
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: os.kill(pid, s))
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        os._exit(code)
    _end_orphans()
    _remove_partial(outputs, started)
    from greta_core.resources.memory import memory_kill_message

    oom = memory_kill_message(limit, kills, backend) if -code == signal.SIGKILL else None
    message = oom or _signal_message(-code, limit)
    if sys.stderr.isatty():
        sys.stderr.write("\x1b[?25h\n")  # the child's progress bar hid the cursor
    sys.stderr.write(f"greta: error: {message}\n")
    sys.stderr.flush()
    os._exit(2)


@contextmanager
def memory_kills_explained(backend: str) -> Iterator[None]:
    """Where the kernel killed one of the engine's processes (a Spark JVM, a Dask worker) over
    this process's cgroup limit, the engine's error becomes the one line that says so. (Only the
    group's own counter is trusted here: the machine's counts other people's processes too.)"""
    from greta_core.errors import GretaError, ScalabilityError
    from greta_core.resources.memory import memory_kill_message, memory_limit

    limit = memory_limit()
    kills = limit.oom_kills(machine=False)
    try:
        yield
    except Exception as e:
        if isinstance(e, GretaError) and not isinstance(e, ScalabilityError):
            raise  # a problem with the input or the settings, said as it is
        message = memory_kill_message(limit, kills, backend, "a process of the analysis", machine=False)
        if message is None:
            raise
        raise ScalabilityError(message) from e


def _signal_message(sig: int, limit: MemoryLimit) -> str:
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    text = f"The analysis was killed ({name})."
    if sig == signal.SIGKILL:
        text += (f" If it ran out of memory, this process may use {limit.describe()}: "
                 "raise that limit or lower preprocessing.batch_rows.")
    return text


def _become_subreaper() -> None:
    """Have the child's own children (a Spark JVM, Dask workers) come back to this process if
    the child dies, so they can be ended (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _end_orphans() -> None:
    """Terminate what the killed child started (it would run on, holding memory and ports)."""
    try:
        import psutil

        orphans = psutil.Process().children(recursive=True)
    except Exception:  # noqa: BLE001 - best effort
        return
    for p in orphans:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(orphans, timeout=3)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass


def _remove_partial(outputs: Iterable[str | None], since: float) -> None:
    """Remove the temporary files an interrupted atomic write left beside the outputs."""
    for out in outputs:
        if not out:
            continue
        target = Path(out)
        for tmp in target.parent.glob(f".{target.name}.*"):
            try:
                if tmp.stat().st_mtime >= since - 1:
                    tmp.unlink()
            except OSError:
                pass
