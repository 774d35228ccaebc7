"""Exact search: every hierarchical hypothesis of at most ``max_terms`` terms, scored in batches.

With few candidate terms the whole space is small (statsmodels' ``spector`` data: 9 terms, 381
hypotheses of at most 5 terms), and scoring all of it in a few vectorised batches costs far
less than a genetic search of 6,000 evaluations: the answer is then exact, needs no random
numbers, and is the same for the same data on every machine.

A hypothesis is a set of *free* terms (main terms and logs, which need no other term) plus
any engineered terms whose parents are all among them (a product ``a*b`` needs ``a`` and
``b``, a square its column). :class:`HypothesisSpace` counts and lists these sets without
building the power set: for each set of free terms, the engineered terms it allows, and each
choice of those that fits in ``max_terms``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Any

import numpy as np

from greta_core.errors import CancelledError, InvalidConfigError
from greta_core.hypothesis_search.scoring import Scored, SearchResult, SearchStats
from greta_core.stats.linear import Gram

STRATEGIES = ("auto", "exact", "genetic")
#: The most hypotheses ``strategy="exact"`` enumerates when asked for explicitly.
EXACT_HARD_LIMIT = 20_000_000
_CELLS = 1_000_000  # design cells (hypotheses × columns²) scored per batch: ~8 MB per array


class HypothesisSpace:
    """Every hierarchical set of at most ``max_terms`` of the candidate terms.

    ``parents[c]`` lists the terms that term ``c`` needs (``greta_core.plan.terms.parents``).
    Only two levels are supported (a needed term needs nothing itself), which is what the plan
    builds; otherwise :attr:`supported` is False.
    """

    def __init__(self, parents: Sequence[Sequence[int]], max_terms: int) -> None:
        self.terms = len(parents)
        self.max_terms = max_terms
        free = [i for i, ps in enumerate(parents) if not ps]
        kids = [c for c, ps in enumerate(parents) if ps]
        pos = {t: k for k, t in enumerate(free)}
        self.supported = all(p in pos and len(parents[c]) <= 2 for c in kids for p in parents[c])
        self.free = np.array(free, dtype=np.int64)
        self.children = np.array(kids, dtype=np.int64)
        pairs = [[pos[p] for p in parents[c]] for c in kids] if self.supported else []
        self._needs = np.array([(p[0], p[-1]) for p in pairs], dtype=np.int64).reshape(-1, 2)

    def count(self, limit: int) -> int | None:
        """How many hypotheses there are, or None when there are more than ``limit`` (or the
        space is not :attr:`supported`). Costs about as much as listing the sets of free terms."""
        if not self.supported:
            return None
        k, f = self.max_terms, len(self.free)
        if sum(comb(f, a) for a in range(1, min(k, f) + 1)) > limit:
            return None  # every set of free terms is a hypothesis on its own
        total = 0
        for a, _, allowed in self._free_sets():
            ways = [sum(comb(e, j) for j in range(k - a + 1)) for e in range(allowed.shape[1] + 1)]
            total += int(np.asarray(ways)[allowed.sum(axis=1)].sum())
            if total > limit:
                return None
        return total

    def batches(self, rows: int) -> Iterator[np.ndarray]:
        """Every hypothesis once, as term indices (≤ ``rows`` × max_terms, sorted, -1 after)."""
        k = self.max_terms
        for a, sets, allowed in self._free_sets():
            chosen = self.free[sets]
            e = allowed.sum(axis=1)
            for size in np.unique(e):
                group = e == size
                base = chosen[group]
                kids = self.children[np.nonzero(allowed[group])[1].reshape(len(base), int(size))]
                for j in range(min(k - a, size) + 1):
                    picks = np.array(list(combinations(range(size), j)), dtype=np.int64).reshape(comb(size, j), j)
                    hyp = np.concatenate([np.repeat(base, len(picks), axis=0),
                                          kids[:, picks].reshape(len(base) * len(picks), j)], axis=1)
                    hyp.sort(axis=1)
                    out = np.full((len(hyp), k), -1, dtype=np.int64)
                    out[:, : a + j] = hyp
                    for start in range(0, len(out), rows):
                        yield out[start: start + rows]

    def _free_sets(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """For each size a: the sets of free terms (positions, n × a) and which engineered
        terms each allows (n × children)."""
        f = len(self.free)
        for a in range(1, min(self.max_terms, f) + 1):
            sets = np.array(list(combinations(range(f), a)), dtype=np.int64).reshape(comb(f, a), a)
            member = np.zeros((len(sets), f), dtype=bool)
            np.put_along_axis(member, sets, True, axis=1)
            allowed = member[:, self._needs[:, 0]] & member[:, self._needs[:, 1]]
            yield a, sets, allowed


@dataclass(frozen=True)
class Choice:
    """Which search runs, and why."""

    strategy: str  # exact | genetic
    space: int | None  # exact: the number of hypotheses
    reason: str


def choose(parents: Sequence[Sequence[int]], max_terms: int, strategy: str = "auto",
           limit: int = 100_000) -> Choice:
    """``auto``: the exact search when there are at most ``limit`` hypotheses, else the genetic
    one; ``exact`` and ``genetic`` as asked (``exact`` refuses a space larger than
    :data:`EXACT_HARD_LIMIT`)."""
    if strategy not in STRATEGIES:
        msg = f"Unknown search strategy {strategy!r}. Allowed: {', '.join(STRATEGIES)}."
        raise InvalidConfigError(msg)
    m = len(parents)
    if strategy == "genetic":
        return Choice("genetic", None, "hypothesis_search.strategy is 'genetic'")
    space = HypothesisSpace(parents, max_terms)
    if strategy == "exact":
        n = space.count(EXACT_HARD_LIMIT)
        if n is None:
            msg = (f"hypothesis_search.strategy='exact' cannot list every hypothesis of at most {max_terms} of "
                   f"{m} candidate terms: there are more than {EXACT_HARD_LIMIT:,}. Use 'auto' or 'genetic', "
                   "or lower hypothesis_search.max_terms.")
            raise InvalidConfigError(msg)
        return Choice("exact", n, f"hypothesis_search.strategy is 'exact': all {n:,} hypotheses scored")
    n = space.count(limit)
    if n is None:
        return Choice("genetic", None, f"{m} candidate terms give more than {limit:,} hypotheses of at most "
                                       f"{max_terms} terms (hypothesis_search.exact_max_hypotheses)")
    return Choice("exact", n, f"{m} candidate terms give {n:,} hypotheses of at most {max_terms} terms, "
                              f"no more than hypothesis_search.exact_max_hypotheses ({limit:,}): all scored")


class ExactSearch:
    """Score every hierarchical hypothesis of at most ``max_terms`` terms; the answer is the
    non-dominated set of the feasible ones, exactly what the genetic search approximates.

    Same interface as :class:`~greta_core.hypothesis_search.optimizers.GeneticAlgorithmOptimizer`
    where the pipeline uses it: :meth:`run` and :attr:`backend_info`.
    """

    def __init__(self, gram: Gram, term_columns: Sequence[np.ndarray], *, max_terms: int = 5,
                 alpha: float = 0.05, parents: Sequence[Sequence[int]] | None = None, seed: int = 0) -> None:
        parents = tuple(tuple(p) for p in parents) if parents is not None else tuple(() for _ in term_columns)
        self.stats = SearchStats.of(gram, term_columns, max_terms, alpha, parents)
        self.space = HypothesisSpace(parents, max_terms)
        self.seed = seed
        blocks = self.stats.blocks
        wide = blocks.widths if blocks is not None else np.zeros(len(term_columns), dtype=int)
        solved = sorted((len(c) for c, w in zip(term_columns, wide) if not w), reverse=True)[:max_terms]
        cols, block = max(sum(solved), 1), int(max(wide, default=0))
        self.rows = int(np.clip(_CELLS // (cols * (cols + block)), 256, 16384))  # hypotheses per batch

    @property
    def backend_info(self) -> dict[str, Any]:
        return {"backend": "local", "reason": "exact search: every hypothesis scored in this process",
                "workers": 1}

    def run(self, progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None, total: int | None = None) -> SearchResult:
        """Score every hypothesis; ``progress(done, total)`` after each batch (``total``: the
        space's size when already counted)."""
        total = total if total is not None else self.space.count(EXACT_HARD_LIMIT) or 0
        done = 0
        kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # feasible: terms, F, g
        for terms in self.space.batches(self.rows):
            f, g, _ = self.stats.objectives(terms)
            ok = g <= 0
            kept.append((terms[ok], f[ok], g[ok]))
            done += len(terms)
            if progress:
                progress(done, max(total, done))
            if cancel and cancel():
                raise CancelledError("The analysis was cancelled.")
        terms, f, g = (np.concatenate(parts) for parts in zip(*kept)) if kept else (np.zeros((0, 1)),) * 3
        front = [Scored(tuple(int(i) for i in terms[r] if i >= 0), tuple(float(v) for v in f[r]), float(g[r]))
                 for r in non_dominated(f.reshape(-1, 3))]
        front.sort(key=lambda s: (len(s.terms), s.objectives))
        return SearchResult(tuple(front), done, 0, self.seed, "exact", done)

    def close(self) -> None:
        """Nothing to release (the interface of the genetic search)."""


def non_dominated(f: np.ndarray) -> np.ndarray:
    """Rows of ``f`` (n × 3, minimised; the third objective takes few values) that no other row
    dominates. Equal rows do not dominate each other."""
    if len(f) == 0:
        return np.zeros(0, dtype=np.int64)
    candidates = []
    for size in np.unique(f[:, 2]):  # first the front within each size: a 2-D sweep
        rows = np.flatnonzero(f[:, 2] == size)
        order = rows[np.lexsort((f[rows, 1], f[rows, 0]))]
        a, b = f[order, 0], f[order, 1]
        new = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
        start = np.maximum.accumulate(np.where(new, np.arange(len(order)), 0))
        best_before = np.r_[np.inf, np.minimum.accumulate(b)[:-1]]
        candidates.append(order[best_before[start] > b])
    c = np.concatenate(candidates)
    fc = f[c]
    le = (fc[:, None, :] <= fc[None, :, :]).all(axis=2)
    lt = (fc[:, None, :] < fc[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return np.sort(c[~dominated])
