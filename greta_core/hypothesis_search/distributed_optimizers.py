"""The Spark pieces of distributed search: evaluate GA populations on a Spark cluster.

:class:`SparkEvaluator` broadcasts the small discovery statistics (:class:`SearchStats`)
once per run; each population then becomes one Spark job of a few tasks, each task a chunk
of bit-packed masks, answered by the same numpy code as local evaluation (so the fitness is
bit-identical). Spark re-runs the tasks of a lost executor itself (``spark.task.maxFailures``);
a job that still fails is submitted again while the Spark context is alive; a master that
cannot be reached, or a stopped context, raises :class:`DistributedComputationError`.

The session is Greta's quiet, loopback-safe one (``greta_core.ingestion.spark_connector``);
an active session of this process is reused (Spark allows one per process) and is not
stopped afterwards. pyspark is imported only when an evaluator is created.
"""

from __future__ import annotations

from typing import Any

from greta_core.errors import DistributedComputationError, SparkUnavailableError
from greta_core.hypothesis_search.evaluators import Chunk, ChunkedEvaluator, Scores, log, reachable, score_chunk
from greta_core.hypothesis_search.scoring import SearchStats


def spark_session(master: str | None, workers: int | None = None) -> tuple[Any, bool]:
    """The Spark session to evaluate on, and whether it was started here.

    ``master`` None reuses the active session or starts ``local[workers]`` (``local[*]``).
    """
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError as e:
        msg = f'Spark evaluation needs pyspark: {e}. Install it with: pip install "greta[spark]"'
        raise DistributedComputationError(msg) from None
    active = SparkSession.getActiveSession()
    if active is None and SparkContext._active_spark_context is not None:  # noqa: SLF001
        active = SparkSession.builder.getOrCreate()
    if active is not None:
        running = active.sparkContext.master
        if master is None or running == master:
            return active, False
        msg = (f"A Spark session with master {running!r} already runs in this process and Spark allows "
               f"only one, so master {master!r} cannot be used. Set hypothesis_search.cluster_address to "
               f"{running!r} (or null), or run the search in a new process.")
        raise DistributedComputationError(msg)
    if master and master.startswith("spark://"):
        problems = [reachable(hp, 7077) for hp in master[len("spark://"):].split(",")]
        if all(problems):
            msg = (f"The Spark master {master!r} cannot be reached: {'; '.join(map(str, problems))}. "
                   "Start it or fix hypothesis_search.cluster_address.")
            raise DistributedComputationError(msg)
    from greta_core.ingestion.spark_connector import SparkConnector

    try:
        spark = SparkConnector({"spark.master": master} if master else {}, workers=workers).initialize_spark_session()
    except SparkUnavailableError as e:
        raise DistributedComputationError(str(e)) from None
    return spark, True


class SparkEvaluator(ChunkedEvaluator):
    """Evaluate populations on Spark (``master``: ``local[N]``, ``spark://host:port``; None:
    the active session or ``local[*]``). ``session`` passes a session to use as it is."""

    name = "spark"

    def __init__(self, stats: SearchStats, master: str | None = None, workers: int | None = None, *,
                 session: Any = None, **kwargs: Any) -> None:
        self.master = master
        self._owned = False
        if session is None:
            session, self._owned = spark_session(master, workers)
        self.session = session
        self.sc = session.sparkContext
        parallelism = int(self.sc.defaultParallelism)
        super().__init__(stats, min(parallelism, workers) if workers else parallelism, **kwargs)
        try:
            self._bc = self.sc.broadcast(stats)
        except Exception as e:  # noqa: BLE001 - py4j errors
            self.close()
            msg = f"Spark could not broadcast the search statistics: {type(e).__name__}: {e}"
            raise DistributedComputationError(msg) from None

    def _run(self, chunks: list[Chunk], n_var: int) -> dict[int, Scores]:
        bc = self._bc

        def task(item: Chunk) -> tuple[int, Scores]:
            return item[0], score_chunk(bc.value, item[1], n_var)

        error = ""
        for attempt in range(self.retries + 1):
            self._check_alive()
            try:
                rdd = self.sc.parallelize(chunks, len(chunks)).map(task)
                self._submitted([rdd])
                return dict(rdd.collect())
            except Exception as e:  # noqa: BLE001 - py4j wraps every JVM-side failure
                error = " ".join(f"{type(e).__name__}: {e}".split())[:300]
            self._check_alive()
            log.warning("A Spark evaluation job failed (%s); submitting it again (attempt %d of %d).",
                        error, attempt + 1, self.retries)
            self.retried_chunks += len(chunks)
        msg = f"Spark could not evaluate the population after {self.retries + 1} attempts: {error}"
        raise DistributedComputationError(msg)

    def _check_alive(self) -> None:
        stopped = getattr(self.sc, "_jsc", None) is None
        master = str(self.sc.master) if not stopped else (self.master or "?")
        why = None
        if not stopped and master.startswith("spark://"):
            why = reachable(master.split(",")[0], 7077)
        if stopped or why:
            msg = (f"The Spark cluster {master!r} is gone ({'the Spark context was stopped' if stopped else why}). "
                   "Restart it or fix hypothesis_search.cluster_address.")
            raise DistributedComputationError(msg)

    def close(self) -> None:
        bc = getattr(self, "_bc", None)
        if bc is not None and getattr(self.sc, "_jsc", None) is not None:
            try:
                bc.destroy()
            except Exception:  # noqa: BLE001, S110 - the context may be going away
                pass
        self._bc = None
        if self._owned and getattr(self.sc, "_jsc", None) is not None:
            self.session.stop()
            self._owned = False
