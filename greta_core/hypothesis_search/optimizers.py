"""`GeneticAlgorithmOptimizer`: NSGA-II over hypotheses, one generation at a time.

The operators and the non-dominated sorting come from pymoo. A run with the same statistics
and seed gives the same hypotheses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.duplicate import HashDuplicateElimination
from pymoo.core.population import Population
from pymoo.operators.crossover.pntx import TwoPointCrossover
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from greta_core.errors import CancelledError
from greta_core.hypothesis_search.operators import SparseSampling, SubsetMutation, TermCountRepair
from greta_core.hypothesis_search.placement import Placement
from greta_core.hypothesis_search.problem import HypothesisProblem
from greta_core.hypothesis_search.scoring import Scored, SearchResult
from greta_core.stats.linear import Gram


def _mask_key(individual) -> bytes:  # noqa: ANN001
    """Hash key of an individual's mask (pymoo applies it to its own output again). Kept on
    the individual with the mask it was made from: the mating loop asks ~3,000 times a
    generation, mostly about the same individuals."""
    if isinstance(individual, bytes):
        return individual
    x = individual.X
    memo = individual.data.get("_mask_key")
    if memo is not None and memo[0] is x:
        return memo[1]
    key = np.packbits(np.asarray(x, dtype=bool)).tobytes()
    individual.data["_mask_key"] = (x, key)
    return key


class _MaskDuplicateElimination(HashDuplicateElimination):
    """pymoo's hash-based duplicate elimination on mask keys, with each individual's key
    looked up once per comparison (pymoo's own applies the key function twice)."""

    def __init__(self) -> None:
        super().__init__(_mask_key)

    def _do(self, pop, other, is_duplicate):  # noqa: ANN001, ANN202
        seen = set() if other is None else {_mask_key(o) for o in other}
        for i, individual in enumerate(pop):
            key = _mask_key(individual)
            if key in seen:
                is_duplicate[i] = True
            else:
                seen.add(key)
        return is_duplicate


def _masks(population: Any) -> np.ndarray:
    x = population.get("X") if isinstance(population, Population) else population
    return np.atleast_2d(np.asarray(x, dtype=bool))


class GeneticAlgorithmOptimizer:
    """Search hypotheses (sets of at most ``max_terms`` terms) with NSGA-II.

    Parameters
    ----------
    gram : Gram
        Discovery statistics.
    term_columns : sequence of int arrays
        The design columns of each candidate term.
    distributed_backend : {"auto", "local", "multiprocessing", "dask", "spark"}
        Where populations are evaluated. ``auto`` times the first population here and
        distributes only if that saves time (``backend_info`` says what was chosen and why).
        Every backend gives exactly the local result.
    use_spark : bool
        Shorthand for ``distributed_backend="spark"``.
    cluster_address : str, optional
        Dask scheduler (``tcp://host:port``) or Spark master (``spark://host:port``,
        ``local[N]``); None starts local workers (or uses the active Spark session).
    max_workers : int, optional
        Most workers (processes, Dask threads, Spark cores) to use; None uses all.
    fallback : bool
        When the cluster fails: True continues with local evaluation and a warning; False
        raises :class:`~greta_core.errors.DistributedComputationError`.
    parents : sequence of int sequences, optional
        For each term, the terms a hypothesis must hold with it (``greta_core.plan.terms.parents``):
        hypotheses are kept hierarchical, and a term there only for another needs no partial test.
    patience : int, optional
        Stop early once the front (the feasible, non-dominated hypotheses found so far) has not
        changed for this many generations (an empty front never stops the search); None runs
        every generation.
    time_budget : float, optional
        Seconds the search may take: once a generation ends past them, the search stops
        (``stopped_by_budget``) with the hypotheses found so far; None runs every generation.
    """

    def __init__(self, gram: Gram, term_columns: Sequence[np.ndarray], *, max_terms: int = 5,
                 pop_size: int = 100, num_generations: int = 60, cx_prob: float = 0.9,
                 mut_prob: float | None = None, alpha: float = 0.05, seed: int = 0,
                 patience: int | None = None, use_spark: bool = False, distributed_backend: str = "auto",
                 cluster_address: str | None = None, max_workers: int | None = None,
                 fallback: bool = True, parents: Sequence[Sequence[int]] | None = None,
                 time_budget: float | None = None) -> None:
        self.problem = HypothesisProblem(gram, term_columns, max_terms, alpha, parents)
        backend = "spark" if use_spark else distributed_backend
        self.placement = Placement(self.problem.stats, backend, cluster_address, max_workers, fallback,
                                   num_generations)
        self.num_generations = num_generations
        self.seed = seed
        m = len(term_columns)
        # each term alone, for the sampling weights only: not archived (a lone product or square
        # is no hypothesis) and not counted as an evaluation
        single = self.problem.stats.score_masks(np.eye(m, dtype=bool))[1] if m else np.zeros((0, 3))
        weights = np.sqrt(np.clip(-single[:, 0], 0.0, None)) + 1e-12 if m else np.zeros(0)
        self.algorithm = NSGA2(
            pop_size=pop_size,
            sampling=SparseSampling(max_terms, weights),
            crossover=TwoPointCrossover(prob=cx_prob),
            mutation=SubsetMutation(prob=mut_prob if mut_prob is not None else 0.9),
            repair=TermCountRepair(max_terms, parents),
            eliminate_duplicates=_MaskDuplicateElimination(),
        )
        self.algorithm.setup(self.problem, termination=("n_gen", num_generations), seed=seed, verbose=False)
        self.generation = 0
        self.patience = patience
        self.stopped_early = False
        self._front: tuple | None = None  # after the last generation (None: before the first)
        self._stale = 0
        self.time_budget = time_budget
        self.stopped_by_budget = False
        self._started: float | None = None
        if backend != "local" and m > 0:
            self.problem.evaluator = self.placement

    @property
    def backend_info(self) -> dict[str, Any]:
        """Where populations are evaluated: ``backend``, ``reason``, ``workers`` (and more)."""
        return dict(self.placement.info)

    def evaluate_locally(self, population: Any) -> tuple[np.ndarray, np.ndarray]:
        """Fitness (F: P × 3, G: P × 1) of a population (boolean masks or a pymoo Population)."""
        _, f, g = self.problem.stats.score_masks(_masks(population))
        return f, g[:, None]

    def evaluate_with_multiprocessing(self, population: Any) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`evaluate_locally`, on a pool of worker processes."""
        return self._evaluate_on("multiprocessing", population)

    def evaluate_with_dask_distributed(self, population: Any) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`evaluate_locally`, on the Dask cluster at ``cluster_address`` (or a local one)."""
        return self._evaluate_on("dask", population)

    def evaluate_with_spark(self, population: Any) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`evaluate_locally`, on Spark (the master at ``cluster_address``, the active
        session, or ``local[*]``)."""
        return self._evaluate_on("spark", population)

    def _evaluate_on(self, name: str, population: Any) -> tuple[np.ndarray, np.ndarray]:
        _, f, g = self.placement.evaluator(name).evaluate(_masks(population))
        return f, g[:, None]

    def close(self) -> None:
        """Stop the workers and clusters this optimizer started (``run`` does it at the end)."""
        self.placement.close()

    def __enter__(self) -> GeneticAlgorithmOptimizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def step(self) -> bool:
        """Run one generation; False once the search is over (all generations run, or the
        front of feasible hypotheses unchanged for ``patience`` generations; a search that has
        found no feasible hypothesis yet goes on)."""
        if not self.algorithm.has_next() or self.stopped_early or self.stopped_by_budget:
            return False
        if self._started is None:
            self._started = time.monotonic()
        self.algorithm.next()
        self.generation += 1
        if self.time_budget is not None and self.elapsed >= self.time_budget and self.algorithm.has_next():
            self.stopped_by_budget = True
        if self.patience:
            front = tuple(s.terms for s in self.result().front)
            self._stale = self._stale + 1 if front and front == self._front else 0  # nothing found: go on
            self._front = front
            self.stopped_early = self._stale >= self.patience and self.algorithm.has_next()
        return True

    def run(self, progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None) -> SearchResult:
        try:
            while self.step():
                if progress:
                    progress(self.generation, self.num_generations)
                if cancel and cancel():
                    raise CancelledError("The analysis was cancelled.")
        finally:
            self.close()
        return self.result()

    def result(self) -> SearchResult:
        feasible = list(self.problem.feasible.values())
        front: list[Scored] = []
        if feasible:
            f = np.array([s.objectives for s in feasible])
            idx = NonDominatedSorting().do(f, only_non_dominated_front=True)
            front = sorted((feasible[i] for i in idx), key=lambda s: (len(s.terms), s.objectives))
        return SearchResult(tuple(front), self.problem.evaluations, self.generation, self.seed,
                            stopped_early=self.stopped_early)

    @property
    def elapsed(self) -> float:
        """Seconds since the first generation started."""
        return 0.0 if self._started is None else time.monotonic() - self._started

    @property
    def progress(self) -> float:
        """Share of the search done, in [0, 1] (of its time budget, when that is the nearer end)."""
        done = self.generation / max(self.num_generations, 1)
        if self.time_budget:
            done = max(done, self.elapsed / self.time_budget)
        return min(done, 1.0)
