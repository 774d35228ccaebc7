"""The Dask backend: the statistics pass as one task per partition and a tree of merges.

Where it runs (``scalability.dask_config``):

- ``address`` set: the scheduler there (``tcp://host:port``);
- ``processes: true``: a LocalCluster of worker processes on 127.0.0.1 (``n_workers``,
  ``threads_per_worker``, ``memory_limit``), closed when the backend is;
- otherwise Dask's threaded scheduler in this process (``n_workers`` × ``threads_per_worker``
  threads, else ``workers``).

What is not set is sized from the memory this process may use (``greta_core.resources.sizing``):
the threads or workers and their memory, and ``blocksize``, the bytes of a file per partition.

A Dask DataFrame passed through the Python API is used as it is (and a distributed Client
that is already the default is used for it). Each partition is cut into ``batch_rows`` slices
and summarised by the same per-batch function as the pandas backend, so the answer is the same.
"""

from __future__ import annotations

import logging
import time
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from greta_core.errors import (
    BackendUnavailableError,
    CancelledError,
    DistributedComputationError,
    GretaError,
)
from greta_core.ingestion.distributed_utils import (
    DASK_INSTALL,
    Source,
    estimate_rows,
    merge_all,
    resolve_source,
    sample_frame,
    summarize_file,
    summarize_partition,
    tree_levels,
)
from greta_core.ingestion.readers import NULL_VALUES, FileSpec
from greta_core.metrics import peak_memory_mb
from greta_core.resources.sizing import engine_sizes
from greta_core.stats.summary import Summary

try:
    import dask
    import dask.dataframe as dd
except ImportError as e:  # pragma: no cover - exercised only without the extra
    _msg = f"The Dask backend needs dask[dataframe,distributed] ({e}). Install it with: {DASK_INSTALL}"
    raise BackendUnavailableError(_msg) from None

log = logging.getLogger("greta")
DEFAULT_BLOCKSIZE = 64 << 20
FAN_IN = 8


def _parse_bytes(text: str | int | None) -> int | None:
    if text is None or text == "auto":
        return None
    if isinstance(text, int):
        return text
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


class DaskBackend:
    """Rows held by Dask; see the module docstring for where the work runs."""

    name = "dask"

    def __init__(self, spec: FileSpec, workers: int | None = None, **options: Any) -> None:
        self.spec = spec
        self.batch_rows = spec.batch_rows
        cfg = dict(options.get("dask_config") or {})
        self.frame = spec.options.get("dataframe") if spec.options else None
        self.source: Source | None = None
        if self.frame is None:
            self.source = resolve_source(spec, options.get("storage_options"))
        self.format = self.source.format if self.source else "dask"
        # numbers with a decimal comma come as text and are parsed per batch, as on pandas
        self.decimal = self.source.decimal if self.source else (spec.decimal or ".")
        self.client: Any = None
        self._owned: list[Any] = []
        self.threads = 0
        self.address: str | None = None
        self.worker_memory = _parse_bytes(cfg.get("memory_limit"))
        self.sizes = engine_sizes()
        self._finalizer = weakref.finalize(self, _close_all, self._owned)
        self._connect(cfg, workers)
        # a partition (and the frames made from it) must fit well inside a worker's memory
        limit = self.worker_memory
        given = _parse_bytes(options.get("blocksize") or cfg.get("blocksize"))
        self.blocksize = int(given or (min(DEFAULT_BLOCKSIZE, max(limit // 32, 1 << 20)) if limit
                                       else self.sizes.dask_partition(self.threads)))
        self.partitions = 0
        self.rows = 0
        self.seconds = 0.0

    # ---------------------------------------------------------------------------- the cluster
    def _connect(self, cfg: dict[str, Any], workers: int | None) -> None:
        if cfg.get("address"):
            self.client = self._client(cfg["address"])
            self.address = str(cfg["address"])
        elif cfg.get("processes"):
            self.client = self._local_cluster(cfg, workers)
        else:
            self.client = _default_client() if self.frame is not None else None
            if self.client is None:
                n = (cfg.get("n_workers") or 1) * (cfg.get("threads_per_worker") or 1)
                self.threads = workers or (n if (cfg.get("n_workers") or cfg.get("threads_per_worker"))
                                           else self.sizes.dask_threads)
                return
        info = self.client.scheduler_info(n_workers=-1) if _takes_n_workers(self.client) else self.client.scheduler_info()
        workers_info = list(info.get("workers", {}).values())
        self.threads = sum(w.get("nthreads", 1) for w in workers_info)
        self.address = self.address or info.get("address")
        limits = [int(w["memory_limit"]) for w in workers_info if w.get("memory_limit")]
        if limits:
            self.worker_memory = min(limits)

    def _client(self, address: str) -> Any:
        from distributed import Client

        from greta_core.ingestion.distributed_utils import tcp_reachable

        reachable, detail = tcp_reachable(address, 8786)
        if not reachable:
            msg = (f"Cannot reach the Dask scheduler at {address}: {detail}. Start it (dask scheduler) or "
                   "fix scalability.dask_config.address (null starts a local cluster).")
            raise DistributedComputationError(msg)
        try:
            client = Client(address, timeout="10s", set_as_default=False)
        except (OSError, TimeoutError) as e:
            msg = (f"Cannot reach the Dask scheduler at {address}: {' '.join(str(e).split())[:200]}. "
                   "Start it (dask scheduler) or fix scalability.dask_config.address (null starts a local cluster).")
            raise DistributedComputationError(msg) from None
        self._owned.append(client)
        return client

    def _local_cluster(self, cfg: dict[str, Any], workers: int | None) -> Any:
        from distributed import Client, LocalCluster

        # The statistics pass holds no data between tasks: spilling is useless, and a paused
        # worker would wait forever. Above the limit the nanny restarts the worker instead. A task
        # that fails raises its error here: the workers' own log of it would be a second message.
        memory = {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False,
                  "distributed.worker.memory.pause": False}
        with dask.config.set(memory):
            cluster = LocalCluster(
                n_workers=cfg.get("n_workers") or workers or self.sizes.dask_workers,
                threads_per_worker=cfg.get("threads_per_worker") or 1, processes=True,
                memory_limit=cfg.get("memory_limit") or self.sizes.dask_worker_memory, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.CRITICAL,
            )
        self._owned.append(cluster)
        client = Client(cluster, set_as_default=False)
        self._owned.insert(0, client)
        return client

    def close(self) -> None:
        """Close the client and the local cluster this backend started (not a user's)."""
        self._finalizer()

    # ----------------------------------------------------------------------------- the data
    def columns(self) -> list[str]:
        return list(self.frame.columns) if self.frame is not None else list(self.source.columns)  # type: ignore[union-attr]

    def sample(self, n: int) -> Any:
        if self.frame is not None:
            return self.frame.head(n, npartitions=-1, compute=True).reset_index(drop=True)
        return sample_frame(self.source, n, self.batch_rows)  # type: ignore[arg-type]

    def estimate_rows(self) -> int | None:
        return estimate_rows(self.source) if self.source is not None else None

    def _read(self, columns: list[str], kinds: dict[str, str]) -> Any:
        if self.frame is not None:
            return self.frame[columns]
        src = self.source
        assert src is not None
        so = src.storage_options or None
        if src.format == "parquet":
            return dd.read_parquet(list(src.files), columns=columns, storage_options=so,
                                   blocksize=self.blocksize, split_row_groups="adaptive",
                                   parquet_file_extension=None)
        numbers = "float64" if src.decimal == "." else "object"  # 1,5: parsed per batch as text
        dtype = {c: numbers if kinds.get(c) == "numeric" else "object" for c in columns}
        return dd.read_csv(list(src.files), sep=src.delimiter, usecols=columns, dtype=dtype,
                           na_values=NULL_VALUES, keep_default_na=False, engine="pyarrow",
                           blocksize=self.blocksize, storage_options=so)

    # ------------------------------------------------------------------------ the statistics
    def reduce(self, fn: Callable[[Any], Summary], empty: Summary, columns: list[str],
               kinds: dict[str, str], progress: Callable[[int], None] | None = None,
               cancel: Callable[[], bool] | None = None) -> Summary:
        t0 = time.perf_counter()
        if cancel and cancel():
            raise CancelledError("The analysis was cancelled.")
        src = self.source
        # compressed text cannot be cut: a task streams each file through the pandas reader
        parts = list(src.files) if src is not None and src.compressed else self._read(columns, kinds).to_delayed()
        self.partitions += len(parts)
        if not parts:
            return empty
        token = uuid.uuid4().hex[:10]
        fn_d = dask.delayed(fn, pure=True, traverse=False)
        empty_d = dask.delayed(empty, pure=True, traverse=False)
        pinned = self.client is not None
        if src is not None and src.compressed:
            leaves = [dask.delayed(summarize_file, pure=False)(
                fn_d, empty_d, src, p, list(columns), dict(kinds), self.batch_rows, pinned,
                dask_key_name=f"greta-summary-{token}-{i}") for i, p in enumerate(parts)]
        else:
            leaves = [dask.delayed(summarize_partition, pure=False)(
                fn_d, empty_d, p, self.batch_rows, (), pinned, dask_key_name=f"greta-summary-{token}-{i}")
                for i, p in enumerate(parts)]
        total = self.estimate_rows() or 0
        try:
            if self.client is None:
                result = self._threaded(leaves, token, len(parts), total, progress, cancel)
            else:
                result = self._distributed(leaves, token, total, progress, cancel)
        except GretaError:
            raise
        except Exception as e:
            msg = f"The Dask computation failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
            raise DistributedComputationError(msg) from e
        self.rows += result.rows_read
        self.seconds += time.perf_counter() - t0
        if progress:
            progress(result.rows_read)
        return result

    def _threaded(self, leaves: list[Any], token: str, n: int, total: int,
                  progress: Callable[[int], None] | None, cancel: Callable[[], bool] | None) -> Summary:
        from dask.callbacks import Callback
        from threadpoolctl import threadpool_limits

        level = leaves
        for _ in tree_levels(len(leaves), FAN_IN):
            level = [dask.delayed(merge_all, pure=False)(*level[i:i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
        done = [0]
        prefix = f"greta-summary-{token}"

        def pretask(key: Any, dsk: Any, state: Any) -> None:
            if cancel and cancel():
                raise CancelledError("The analysis was cancelled.")

        def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            if str(key).startswith(prefix):
                done[0] += 1
                if progress and total:
                    progress(int(total * done[0] / n))

        with threadpool_limits(1), Callback(pretask=pretask, posttask=posttask):
            (result,) = dask.compute(level[0], scheduler="threads", num_workers=self.threads)
        return result

    def _distributed(self, leaves: list[Any], token: str, total: int,
                     progress: Callable[[int], None] | None, cancel: Callable[[], bool] | None) -> Summary:
        from distributed import as_completed

        client = self.client
        futures = client.compute(leaves)
        level = futures
        for depth, ranges in enumerate(tree_levels(len(level), FAN_IN)):
            level = [client.submit(merge_all, *level[a:b], key=f"greta-merge-{token}-{depth}-{a}")
                     for a, b in ranges]
        root = level[0]
        n = len(futures)
        pending = as_completed(futures, loop=client.loop)
        del futures, level
        done = 0
        try:
            for fut in pending:
                if fut.status == "error":
                    fut.result()  # raises the worker's exception
                done += 1
                del fut
                if cancel and cancel():
                    raise CancelledError("The analysis was cancelled.")
                if progress and total:
                    progress(int(total * done / n))
            return root.result()
        except BaseException:
            client.cancel([root], force=True)
            raise

    def usage_meter(self) -> Any:
        """The meter of the worker processes (None for the threaded scheduler: all work is here)."""
        if self.client is None:
            return None
        from greta_core.resources.dask_usage import DaskMeter

        return DaskMeter(self.client)

    def info(self) -> dict[str, Any]:
        where = self.address or ("threads" if self.client is None else "distributed")
        return {
            "backend": self.name, "partitions": self.partitions, "workers": self.threads,
            "cluster": where, "partition_bytes": self.blocksize, "statistics_seconds": self.seconds,
            "statistics_rows_per_second": self.rows / self.seconds if self.seconds > 0 else None,
            "driver_peak_memory_mb": peak_memory_mb(),
        }


def _default_client() -> Any:
    import sys

    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def _takes_n_workers(client: Any) -> bool:
    import inspect

    try:
        return "n_workers" in inspect.signature(client.scheduler_info).parameters
    except (TypeError, ValueError):
        return False


def _close_all(owned: list[Any]) -> None:
    for thing in owned:
        try:
            thing.close()
        except Exception:
            log.debug("closing %r failed", thing, exc_info=True)
    owned.clear()


__all__ = ["DaskBackend"]
