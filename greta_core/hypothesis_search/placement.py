"""Where a GA population is evaluated: here, a process pool, Dask or Spark.

:class:`Placement` is the ``evaluator`` of a :class:`HypothesisProblem` that is not evaluated
locally. With ``auto`` it evaluates the first population here, times it, and asks
:func:`decide` whether the remaining generations would finish sooner elsewhere, given the
overheads measured on a 2-core machine (``bench/search_backends.py``). When a cluster fails,
it falls back to local evaluation with a warning, or raises (``fallback=False``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from greta_core.errors import DistributedComputationError, GretaWarning, InvalidConfigError
from greta_core.hypothesis_search.evaluators import Scores, loopback
from greta_core.hypothesis_search.scoring import SearchStats

log = logging.getLogger("greta")
BACKENDS = ("local", "multiprocessing", "dask", "spark", "auto")


@dataclass(frozen=True)
class Cost:
    """Overheads of a backend: start-up (s), per population (s), per MB of packed masks (s)."""

    startup: float
    per_generation: float
    per_mb: float


# Measured with bench/search_backends.py on a 2-core machine (loopback clusters, quiet
# machine): start-up with the statistics shipped, the overhead of a one-mask population, and
# the cost per MB of bit-packed masks. Spark's start-up is a new JVM (9-40 s seen); a session
# already running in this process costs well under 1 s.
COSTS = {
    "multiprocessing": Cost(startup=0.5, per_generation=0.002, per_mb=0.015),
    "dask": Cost(startup=2.0, per_generation=0.010, per_mb=0.05),
    "spark": Cost(startup=20.0, per_generation=0.080, per_mb=0.06),
}
WORTH = 0.9  # distribute only if a population's evaluation takes at most 90 % of local time
# On this machine the driver (packing, checking, the GA operators) shares the cores with
# loopback workers: two workers on two cores evaluated about 1.5x as fast as one, not 2x.
LOOPBACK_EFFICIENCY = 0.75


@dataclass(frozen=True)
class Decision:
    backend: str
    reason: str
    workers: int


def cluster_kind(address: str | None) -> str | None:
    """"spark" for ``spark://``/``local[N]`` masters, "dask" for scheduler addresses."""
    if not address:
        return None
    if address.startswith("spark://") or address.startswith("local"):
        return "spark"
    return "dask"


def decide(eval_seconds: float, population: int, n_var: int, generations_left: int,
           address: str | None = None, workers: int | None = None) -> Decision:
    """``auto``: evaluate locally unless another backend would save time over the search.

    ``eval_seconds`` is the measured local evaluation time of a population of ``population``
    masks over ``n_var`` terms.
    """
    cores = os.cpu_count() or 1
    name = cluster_kind(address) or "multiprocessing"
    n = workers or cores
    effective = min(n, cores) * LOOPBACK_EFFICIENCY if loopback(address) else n
    if effective <= 1:
        return Decision("local", f"only {min(n, cores)} worker(s) on {cores} core(s) would be available", 1)
    cost = COSTS[name]
    startup = cost.startup
    if name == "spark" and "pyspark" in sys.modules:
        startup = 1.0  # a session may be running already
    mb = population * ((n_var + 7) // 8) / 1e6
    remote = cost.per_generation + cost.per_mb * mb + eval_seconds / effective
    saved = generations_left * (eval_seconds - remote) - startup
    where = f"{name} ({address})" if address else f"{name} with {n} workers"
    facts = (f"a population of {population} over {n_var} terms takes {eval_seconds * 1e3:.1f} ms to evaluate "
             f"here, about {remote * 1e3:.1f} ms on {where}")
    if remote <= WORTH * eval_seconds and saved > 0:
        return Decision(name, f"{facts}, saving about {saved:.1f} s over {generations_left} generations "
                        f"after {startup:.1f} s to start", n)
    return Decision("local", f"{facts}; not worth {startup:.1f} s to start and the transfer "
                    f"(expected saving {saved:.1f} s over {generations_left} generations)", 1)


def make_evaluator(name: str, stats: SearchStats, address: str | None, workers: int | None) -> Any:
    """Start the evaluator of backend ``name``: on ``address`` if it is that kind of cluster,
    else on local workers (a process pool, a local Dask cluster, the active or a local Spark)."""
    address = address if cluster_kind(address) == name else None
    if name == "multiprocessing":
        from greta_core.hypothesis_search.evaluators import ProcessPoolEvaluator

        return ProcessPoolEvaluator(stats, workers)
    if name == "dask":
        from greta_core.hypothesis_search.evaluators import DaskEvaluator

        return DaskEvaluator(stats, address, workers)
    if name == "spark":
        from greta_core.hypothesis_search.distributed_optimizers import SparkEvaluator

        return SparkEvaluator(stats, address, workers)
    msg = f"Unknown search backend {name!r}. Allowed: {', '.join(BACKENDS)}."
    raise InvalidConfigError(msg)


class Placement:
    """Evaluates populations for a problem on the chosen backend; keeps the choice and why."""

    def __init__(self, stats: SearchStats, requested: str, address: str | None, workers: int | None,
                 fallback: bool, generations: int) -> None:
        if requested not in BACKENDS:
            msg = (f"The 'distributed_backend' of the search must be one of {', '.join(BACKENDS)}. "
                   f"Got {requested!r} instead.")
            raise InvalidConfigError(msg)
        kind = cluster_kind(address)
        if requested in ("dask", "spark") and kind not in (None, requested):
            form = "spark://host:port or local[N]" if requested == "spark" else "tcp://host:port"
            msg = (f"hypothesis_search.cluster_address {address!r} is a {kind} address but distributed_backend "
                   f"is {requested!r}. Give a {requested} address ({form}) or null for local workers.")
            raise InvalidConfigError(msg)
        self.stats, self.requested, self.address = stats, requested, address
        self.workers, self.fallback, self.generations = workers, fallback, generations
        self.evaluators: dict[str, Any] = {}
        self.active: Any = None
        self.decided = requested == "local"
        why = "distributed_backend is 'local'" if requested == "local" else "not decided yet"
        self.info: dict[str, Any] = {"backend": "local", "reason": why, "workers": 1, "requested": requested}

    def evaluator(self, name: str) -> Any:
        """The (cached) evaluator of backend ``name``."""
        if name not in self.evaluators:
            self.evaluators[name] = make_evaluator(name, self.stats, self.address, self.workers)
        return self.evaluators[name]

    def evaluate(self, masks: np.ndarray) -> Scores:
        if not self.decided:
            self.decided = True
            if self.requested == "auto":
                return self._auto(masks)
            self._use(self.requested, f"distributed_backend is {self.requested!r}")
        if self.active is None:
            return self.stats.score_masks(masks)
        try:
            return self.active.evaluate(masks)
        except DistributedComputationError as e:
            self._fall_back(e)
            return self.stats.score_masks(masks)

    def _auto(self, masks: np.ndarray) -> Scores:
        t = time.perf_counter()
        out = self.stats.score_masks(masks)
        seconds = time.perf_counter() - t
        d = decide(seconds, len(masks), masks.shape[1], max(self.generations - 1, 0), self.address, self.workers)
        log.info("Search backend (auto): %s, because %s.", d.backend, d.reason)
        if d.backend == "local":
            self.info.update(backend="local", reason=d.reason, workers=1)
        else:
            self._use(d.backend, d.reason)
        return out

    def _use(self, name: str, reason: str) -> None:
        try:
            self.active = self.evaluator(name)
        except DistributedComputationError as e:
            self.info.update(backend=name)
            self._fall_back(e)
            return
        self.info.update(backend=name, reason=reason, workers=self.active.workers)

    def _fall_back(self, error: DistributedComputationError) -> None:
        name = self.info.get("backend")
        self.close()
        self.decided, self.requested = True, "local"  # stays local from here on
        if not self.fallback:
            raise error
        msg = (f"Distributed search evaluation on {name} failed, so the search continues with local "
               f"evaluation (same results, possibly slower): {error}")
        warnings.warn(msg, GretaWarning, stacklevel=2)
        self.info.update(backend="local", reason=f"fell back from {name}: {error}", workers=1, fallback=True)

    def close(self) -> None:
        """Release the workers; a later evaluation starts them again (unless fallen back)."""
        for e in self.evaluators.values():
            self.info["retried_chunks"] = self.info.get("retried_chunks", 0) + e.retried_chunks
            e.close()
        self.evaluators.clear()
        if self.active is not None:
            self.active = None
            self.decided = False
            self.requested = self.info["backend"]  # the choice made stays made
