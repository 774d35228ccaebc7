"""Sampling and repair for sparse boolean masks (pymoo operators)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.core.mutation import Mutation
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling


class SparseSampling(Sampling):
    """Random masks of 1..max_terms terms: half drawn uniformly, half favouring terms that
    are significant alone (``weights``), so the first generation starts near good regions."""

    def __init__(self, max_terms: int, weights: np.ndarray) -> None:
        super().__init__()
        self.max_terms = max_terms
        w = np.asarray(weights, dtype=float) + 1e-12
        self.weights = w / w.sum()

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):  # noqa: ANN001, ANN002, ANN003
        rng = random_state
        m = problem.n_var
        x = np.zeros((n_samples, m), dtype=bool)
        for i in range(n_samples):
            k = int(rng.integers(1, min(self.max_terms, m) + 1))
            p = self.weights if i % 2 == 0 else None
            x[i, rng.choice(m, size=k, replace=False, p=p)] = True
        return x


class TermCountRepair(Repair):
    """Keep every mask hierarchical and between 1 and ``max_terms`` terms.

    The main terms a product or square needs (``parents``) are added; while a mask is too long,
    a random product or square is dropped first (its main terms stay), then a random term."""

    def __init__(self, max_terms: int, parents: Sequence[Sequence[int]] | None = None) -> None:
        super().__init__()
        self.max_terms = max_terms
        self.parents = tuple(tuple(p) for p in parents) if parents and any(parents) else None

    def _do(self, problem, x, random_state=None, **kwargs):  # noqa: ANN001, ANN003
        rng = random_state if random_state is not None else np.random.default_rng(0)
        x = np.asarray(x, dtype=bool).copy()
        for row in x:
            if not row.any():
                row[rng.integers(0, len(row))] = True
            if self.parents is not None:
                self._hierarchical(row, rng)
            on = np.flatnonzero(row)
            if len(on) > self.max_terms:
                row[rng.choice(on, size=len(on) - self.max_terms, replace=False)] = False
        return x

    def _hierarchical(self, row: np.ndarray, rng: np.random.Generator) -> None:
        parents = self.parents
        assert parents is not None
        on = row.nonzero()[0].tolist()
        needed = {p for c in on for p in parents[c]}
        if needed.difference(on):
            on = sorted(needed.union(on))
            row[on] = True
        while len(on) > self.max_terms:
            children = [c for c in on if parents[c]]
            if not children:
                return
            drop = children[int(rng.integers(0, len(children)))]
            row[drop] = False
            on.remove(drop)


class SubsetMutation(Mutation):
    """Add, drop or swap one term (each with equal chance) in a share ``prob`` of the masks.

    Bit-flip mutation on a long, sparse mask almost always adds a term; subset moves keep the
    search balanced between growing and pruning hypotheses. A term to add is drawn half the
    time uniformly, half the time in proportion to how strongly it correlates with what the
    hypothesis leaves unexplained (``problem.residual_scores``), a matching-pursuit step.
    """

    def __init__(self, prob: float = 0.9) -> None:
        super().__init__(prob=prob)

    def _do(self, problem, x, random_state=None, **kwargs):  # noqa: ANN001, ANN003
        rng = random_state
        x = np.asarray(x, dtype=bool).copy()
        m = x.shape[1]
        for row in x:
            on, off = row.nonzero()[0], (~row).nonzero()[0]
            move = rng.integers(0, 3)
            if (move == 0 or len(on) <= 1) and len(off):
                row[self._pick(rng, problem, on, off)] = True
            elif move == 1 and len(on) > 1:
                row[_draw(rng, _leaves(problem, on))] = False
            elif len(off) and m > 1:
                row[_draw(rng, _leaves(problem, on))] = False
                row[self._pick(rng, problem, on, off)] = True
        return x

    @staticmethod
    def _pick(rng, problem, on: np.ndarray, off: np.ndarray) -> int:  # noqa: ANN001
        if rng.random() < 0.5 or not hasattr(problem, "residual_scores"):
            return _draw(rng, off)
        w = problem.residual_scores(on)[off] + 1e-12
        return _draw(rng, off, w / w.sum())


def _leaves(problem, on: np.ndarray) -> np.ndarray | list[int]:  # noqa: ANN001
    """The terms of a hypothesis no other of its terms needs (dropping a needed main term
    would only be undone by the repair)."""
    parents = getattr(problem, "parents", None)
    if not parents or len(on) < 2:
        return on
    terms = on.tolist()
    needed = {p for c in terms for p in parents[c]}
    leaves = [c for c in terms if c not in needed]
    return leaves if leaves else on


def _draw(rng: np.random.Generator, values: np.ndarray | list[int], p: np.ndarray | None = None) -> int:
    """``rng.choice(values, p=p)``, drawing the same numbers from ``rng``, without its
    argument checks (a few microseconds a call, which the mutation makes ~100,000 times)."""
    if p is None:
        return int(values[rng.integers(0, len(values), dtype=np.int64)])
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return int(values[cdf.searchsorted(rng.random(), side="right")])
