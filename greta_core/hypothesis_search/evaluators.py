"""Evaluate a GA population somewhere else: a process pool or a Dask cluster (DESIGN §4).

An evaluator ships the small discovery statistics (:class:`SearchStats`) to its workers once,
then for each population splits the masks into chunks, sends them bit-packed, and gets back
each chunk's term indices, objectives F and constraint g. Every worker runs the same numpy
code as local evaluation on the same matrices, and a hypothesis' fitness never depends on
which other hypotheses share its chunk, so the result is bit-identical to local evaluation.

Faults: chunks whose worker died are sent again (``retries`` times); when the pool or the
cluster is gone, :class:`DistributedComputationError` says so. The caller (the optimizer)
then fails or falls back to local evaluation. The Spark evaluator lives in
``distributed_optimizers.py``. dask is imported only by :class:`DaskEvaluator`.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import os
import pickle
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import numpy as np

from greta_core.errors import DistributedComputationError
from greta_core.hypothesis_search.scoring import SearchStats

log = logging.getLogger("greta")
Chunk = tuple[int, np.ndarray]  # (index, bit-packed masks)
Scores = tuple[np.ndarray, np.ndarray, np.ndarray]  # terms (P × max_terms), F (P × 3), g (P,)


def score_chunk(stats: SearchStats, packed: np.ndarray, n_var: int) -> Scores:
    """What a worker computes: the scores of one chunk of bit-packed masks."""
    masks = np.unpackbits(packed, axis=1, count=n_var).astype(bool)
    return stats.score_masks(masks)


def check_scores(masks: np.ndarray, scores: Scores, max_terms: int) -> None:
    """Refuse results that do not belong to ``masks`` (never a silently wrong answer)."""
    terms, f, g = scores
    p = len(masks)
    if terms.shape != (p, max_terms) or f.shape != (p, 3) or g.shape != (p,):
        msg = (f"Distributed evaluation returned arrays of shapes {terms.shape}, {f.shape}, {g.shape} "
               f"for {p} hypotheses; expected ({p}, {max_terms}), ({p}, 3), ({p},).")
        raise DistributedComputationError(msg)
    real = terms >= 0
    hit = np.take_along_axis(masks, np.maximum(terms, 0), axis=1) | ~real
    count = np.minimum(masks.sum(axis=1), max_terms)
    if not (hit.all() and np.array_equal(real.sum(axis=1), count)):
        msg = "Distributed evaluation returned results that do not match the hypotheses sent."
        raise DistributedComputationError(msg)


def loopback(address: str | None) -> bool:
    if not address or address.startswith("local"):
        return True
    host = urlparse(address if "://" in address else f"tcp://{address}").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


def reachable(address: str, default_port: int, timeout: float = 2.0) -> str | None:
    """None if ``address`` (``tcp://h:p``, ``spark://h:p``, ``h:p``) accepts a TCP connection,
    else why not."""
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"{host}:{port} does not accept connections ({e.strerror or e})"


class ChunkedEvaluator(abc.ABC):
    """Common part: split, pack, send, gather, check. Subclasses implement ``_run``.

    A population becomes ``workers * chunks_per_worker`` chunks of at least ``min_chunk``
    masks: one evaluation call has a fixed cost of a few ms (one batch per hypothesis size),
    so small chunks would cost more than they save.
    """

    name = "chunked"

    def __init__(self, stats: SearchStats, workers: int, chunks_per_worker: int = 1,
                 retries: int = 2, min_chunk: int = 256) -> None:
        self.stats = stats
        self.workers = max(int(workers), 1)
        self.chunks_per_worker = chunks_per_worker
        self.retries = retries
        self.min_chunk = min_chunk
        self.retried_chunks = 0  # chunks sent again after a lost worker (diagnostics)
        self.on_submitted: Callable[[list[Any]], None] | None = None  # gets the chunks in flight

    def evaluate(self, masks: np.ndarray) -> Scores:
        """Term indices, objectives F (P × 3) and constraint g (P,) of boolean masks."""
        masks = np.asarray(masks, dtype=bool)
        p, m = masks.shape
        if p == 0 or m == 0:
            return self.stats.score_masks(masks)
        n = int(min(self.workers * self.chunks_per_worker, max(p // self.min_chunk, 1)))
        bounds = np.linspace(0, p, n + 1).astype(int)
        packed = np.packbits(masks, axis=1)
        chunks = [(i, packed[a:b]) for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
        done = self._run(chunks, m)
        if sorted(done) != list(range(len(chunks))):
            msg = f"Distributed evaluation returned {len(done)} of {len(chunks)} chunks."
            raise DistributedComputationError(msg)
        parts = [done[i] for i in range(len(chunks))]
        scores = tuple(np.concatenate([part[j] for part in parts]) for j in range(3))
        check_scores(masks, scores, self.stats.max_terms)  # type: ignore[arg-type]
        return scores  # type: ignore[return-value]

    @abc.abstractmethod
    def _run(self, chunks: list[Chunk], n_var: int) -> dict[int, Scores]:
        """Score every chunk where the subclass evaluates; a dict from chunk index to scores."""

    def _submitted(self, handles: list[Any]) -> None:
        """Hook for diagnostics and fault tests: the futures (or jobs) of the chunks sent."""
        if self.on_submitted is not None:
            self.on_submitted(handles)

    def close(self) -> None:
        """Release the workers this evaluator started."""

    def __enter__(self) -> ChunkedEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------ multiprocessing
_WORKER: dict[str, Any] = {}


def _mp_init(payload: bytes) -> None:
    from threadpoolctl import threadpool_limits

    _WORKER["blas"] = threadpool_limits(1)  # the workers share the cores: one BLAS thread each
    _WORKER["stats"] = pickle.loads(payload)


def _mp_score(packed: np.ndarray, n_var: int) -> Scores:
    return score_chunk(_WORKER["stats"], packed, n_var)


def _mp_ready() -> int:
    return os.getpid()


class ProcessPoolEvaluator(ChunkedEvaluator):
    """Worker processes on this machine (``forkserver`` start, so safe next to threads).

    The statistics go to each worker once, in its initializer. A worker that dies breaks the
    pool: the pool is started again and the missing chunks are sent again.
    """

    name = "multiprocessing"

    def __init__(self, stats: SearchStats, workers: int | None = None, *, timeout: float = 600.0,
                 **kwargs: Any) -> None:
        super().__init__(stats, workers or os.cpu_count() or 1, **kwargs)
        self.timeout = timeout
        self._payload = pickle.dumps(stats, protocol=5)
        self._pool: Any = None
        self._start()

    def _start(self) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        ctx = mp.get_context(method)
        if method == "forkserver":  # workers fork from a server that has numpy loaded already
            ctx.set_forkserver_preload([__name__])
        try:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx,
                                             initializer=_mp_init, initargs=(self._payload,))
            for f in [self._pool.submit(_mp_ready) for _ in range(self.workers)]:
                f.result(timeout=120)
        except Exception as e:  # noqa: BLE001 - a pool that cannot start is the cluster gone
            self.close()
            msg = f"The multiprocessing pool of {self.workers} workers could not start: {type(e).__name__}: {e}."
            raise DistributedComputationError(msg) from None

    def _run(self, chunks: list[Chunk], n_var: int) -> dict[int, Scores]:
        from concurrent.futures import TimeoutError as FutureTimeout
        from concurrent.futures.process import BrokenProcessPool

        pending, done = dict(chunks), {}
        for attempt in range(self.retries + 1):
            if self._pool is None:
                self._start()
            try:
                futures = {i: self._pool.submit(_mp_score, packed, n_var) for i, packed in pending.items()}
            except BrokenProcessPool:  # a process died after the last call's chunks were all answered
                self.close()
                self._start()
                futures = {i: self._pool.submit(_mp_score, packed, n_var) for i, packed in pending.items()}
            self._submitted(list(futures.values()))
            for i, fut in futures.items():
                try:
                    done[i] = fut.result(timeout=self.timeout)
                except BrokenProcessPool:
                    pass
                except FutureTimeout:
                    msg = f"A multiprocessing worker did not answer within {self.timeout:.0f} s."
                    raise DistributedComputationError(msg) from None
            pending = {i: c for i, c in pending.items() if i not in done}
            if not pending:
                return done
            log.warning("A search worker process died; sending %d chunk(s) again (attempt %d of %d).",
                        len(pending), attempt + 1, self.retries)
            self.retried_chunks += len(pending)
            self.close()
        msg = f"Multiprocessing workers kept dying: {len(pending)} chunk(s) failed {self.retries + 1} times."
        raise DistributedComputationError(msg)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ------------------------------------------------------------------------------------------ Dask
class DaskEvaluator(ChunkedEvaluator):
    """A Dask cluster: an existing scheduler (``address``) or a local cluster of processes.

    The statistics are scattered to every worker once (``broadcast=True``); each chunk is a
    task. Dask itself moves the tasks of a lost worker to the others; a chunk that still fails
    (``KilledWorker``, lost data) is sent again, after scattering the statistics again if they
    were lost. No worker for ``no_worker_timeout`` seconds, or no scheduler, means the cluster
    is gone: :class:`DistributedComputationError`.
    """

    name = "dask"

    def __init__(self, stats: SearchStats, address: str | None = None, workers: int | None = None, *,
                 connect_timeout: float = 10.0, no_worker_timeout: float = 20.0,
                 timeout: float = 600.0, **kwargs: Any) -> None:
        super().__init__(stats, workers or 1, **kwargs)
        self.address = address
        self.no_worker_timeout = no_worker_timeout
        self.timeout = timeout
        self.cluster: Any = None
        self.client: Any = None
        self._stats: Any = None
        self._connect(address, workers, connect_timeout)
        self._scatter()

    def _connect(self, address: str | None, workers: int | None, timeout: float) -> None:
        if address:
            why = reachable(address, 8786)
            if why:
                msg = (f"The Dask scheduler {address!r} cannot be reached: {why}. Start it (dask scheduler) "
                       "or fix hypothesis_search.cluster_address.")
                raise DistributedComputationError(msg)
        try:
            from distributed import Client, LocalCluster
        except ImportError as e:
            msg = f'Dask evaluation needs dask.distributed: {e}. Install it with: pip install "greta[dask]"'
            raise DistributedComputationError(msg) from None
        try:
            if address:
                self.client = Client(address, timeout=timeout, set_as_default=False)
            else:
                self.cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                                            processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                            worker_dashboard_address="127.0.0.1:0",
                                            silence_logs=logging.WARNING)
                self.client = Client(self.cluster, set_as_default=False)
            self.client.wait_for_workers(1, timeout=timeout)
        except Exception as e:  # noqa: BLE001 - tornado, OSError and asyncio errors
            self.close()
            where = f"the Dask scheduler {address!r}" if address else "a local Dask cluster"
            msg = f"Could not use {where}: {type(e).__name__}: {e}."
            raise DistributedComputationError(msg) from None
        threads = sum(w.get("nthreads", 1) for w in self._workers().values())
        self.workers = max(min(threads, workers) if workers else threads, 1)

    def _workers(self) -> dict[str, Any]:
        return dict(self.client.scheduler_info().get("workers", {}))

    def _scatter(self) -> None:
        self._stats = self.client.scatter(self.stats, broadcast=True, hash=False)

    def _run(self, chunks: list[Chunk], n_var: int) -> dict[int, Scores]:
        pending, done = dict(chunks), {}
        for attempt in range(self.retries + 1):
            futures = {i: self.client.submit(score_chunk, self._stats, packed, n_var, pure=False)
                       for i, packed in pending.items()}
            self._submitted(list(futures.values()))
            failed = self._gather(futures, done)
            pending = {i: c for i, c in pending.items() if i not in done}
            if not pending:
                return done
            log.warning("Dask lost %d chunk(s) (%s); sending them again (attempt %d of %d).",
                        len(pending), failed, attempt + 1, self.retries)
            self.retried_chunks += len(pending)
            if self._stats.status != "finished":
                self._scatter()
        msg = f"Dask could not evaluate {len(pending)} chunk(s) after {self.retries + 1} attempts."
        raise DistributedComputationError(msg)

    def _gather(self, futures: dict[int, Any], done: dict[int, Scores]) -> str:
        from distributed import wait

        start = time.monotonic()
        no_workers_since: float | None = None
        while True:
            try:
                with self.client.as_current():
                    wait(list(futures.values()), timeout=0.5)
                break
            except (TimeoutError, OSError):
                pass
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - the scheduler went away
                self._check_alive()
                break
            self._check_alive()
            if self._workers():
                no_workers_since = None
            elif no_workers_since is None:
                no_workers_since = time.monotonic()
            elif time.monotonic() - no_workers_since > self.no_worker_timeout:
                msg = f"The Dask cluster {self.address or '(local)'} has had no worker for {self.no_worker_timeout:.0f} s."
                raise DistributedComputationError(msg)
            if time.monotonic() - start > self.timeout:
                msg = f"Dask did not evaluate the population within {self.timeout:.0f} s."
                raise DistributedComputationError(msg)
        failed = [f"{fut.status}: {self._why(fut)}" for fut in futures.values() if fut.status != "finished"]
        for i, fut in futures.items():
            if fut.status == "finished":
                try:
                    done[i] = fut.result(timeout=self.no_worker_timeout)
                except Exception as e:  # noqa: BLE001 - its worker died after finishing
                    failed.append(f"result lost: {type(e).__name__}")
        self._check_alive()
        return "; ".join(sorted(set(failed)))[:300]

    @staticmethod
    def _why(fut: Any) -> str:
        try:
            e = fut.exception(timeout=1)
        except Exception as err:  # noqa: BLE001
            return type(err).__name__
        return f"{type(e).__name__}: {e}" if e is not None else "cancelled"

    def _check_alive(self) -> None:
        status = getattr(self.client, "status", "closed")
        if status != "running":
            msg = (f"The Dask scheduler {self.address or '(local)'} is gone (client status {status!r}). "
                   "Restart it or fix hypothesis_search.cluster_address.")
            raise DistributedComputationError(msg)

    def close(self) -> None:
        for obj in (self.client, self.cluster):
            if obj is not None:
                try:
                    obj.close()
                except Exception:  # noqa: BLE001, S110 - closing a broken connection
                    pass
        self.client = self.cluster = None
