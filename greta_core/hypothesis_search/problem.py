"""`HypothesisProblem`: the objectives and constraints of a hypothesis, for pymoo.

A hypothesis is a boolean mask over the candidate terms. Objectives (all minimised):
significance (−(−log10 p) of the overall test), effect size (−R²), parsimony (number of
terms). Hypotheses are hierarchical (the repair operator adds a product's or a square's main
terms). Constraint: every term pulls its weight — its partial test on the discovery split is
significant at ``alpha / number of candidate terms`` — except a main term that is there for a
product or square of its column (the effect at the others' averages need not be).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pymoo.core.problem import Problem

from greta_core.hypothesis_search.scoring import Scored, SearchStats, needed, parent_matrix
from greta_core.stats.linear import Gram, terms_of_masks

__all__ = ["HypothesisProblem", "Scored", "SearchStats", "needed", "parent_matrix"]


class HypothesisProblem(Problem):
    """The search problem. ``evaluator`` (None: this process) computes the fitness of a
    population elsewhere; the archive of evaluated and feasible hypotheses is always kept
    here, in the driver process."""

    def __init__(self, gram: Gram, term_columns: Sequence[np.ndarray], max_terms: int, alpha: float,
                 parents: Sequence[Sequence[int]] | None = None) -> None:
        super().__init__(n_var=len(term_columns), n_obj=3, n_ieq_constr=1, xl=0, xu=1, vtype=bool)
        self.gram = gram
        self.max_terms = max_terms
        self.parents = tuple(tuple(p) for p in parents) if parents is not None else None
        self.stats = SearchStats.of(gram, term_columns, max_terms, alpha, self.parents)
        self.table = self.stats.table
        self.log10_alpha_term = self.stats.log10_alpha_term
        self.evaluator: Any = None  # has .evaluate(masks) -> (terms, F, g); see evaluators.py
        self.evaluations = 0
        self.archive: dict[tuple[int, ...], Scored] = {}
        self.feasible: dict[tuple[int, ...], Scored] = {}
        self._residuals: dict[bytes, np.ndarray] = {}  # residual_scores by hypothesis

    def score(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Objectives F (P × 3) and constraint G (P × 1) of boolean masks (P × terms).

        A hypothesis scored before is served from the archive (its fitness depends on the
        statistics alone, never on the population it came with, so the answer is the same);
        only new ones are scored, here or by ``evaluator``, and counted in ``evaluations``.
        """
        masks = np.asarray(masks, dtype=bool)
        keys = _keys(terms_of_masks(masks, self.max_terms))
        new: dict[tuple[int, ...], int] = {}
        for i, key in enumerate(keys):
            if key not in self.archive:
                new.setdefault(key, i)
        if new:
            self._archive(masks[list(new.values())])
        found = [self.archive[key] for key in keys]
        f = np.array([s.objectives for s in found], dtype=float).reshape(len(keys), 3)
        g = np.array([s.violation for s in found], dtype=float)
        return f, g[:, None]

    def _archive(self, masks: np.ndarray) -> None:
        """Score hypotheses not scored before and keep them (the feasible ones apart)."""
        if self.evaluator is None:
            terms = terms_of_masks(masks, self.max_terms)
            f, g, _ = self.stats.objectives(terms)
        else:
            terms, f, g = self.evaluator.evaluate(masks)
        self.evaluations += len(masks)
        for key, fi, gi in zip(_keys(terms), f.tolist(), g.tolist()):
            self.archive[key] = Scored(key, (fi[0], fi[1], fi[2]), gi)
            if gi <= 0:
                self.feasible[key] = self.archive[key]

    def residual_scores(self, terms: np.ndarray) -> np.ndarray:
        """For each candidate term, its strongest squared correlation with the part of the
        targets that ``terms`` (sorted term indices) leave unexplained (zero for columns
        without variance). Remembered: a converging population asks for the same ones again."""
        key = np.asarray(terms, dtype=np.int64).tobytes()
        hit = self._residuals.get(key)
        if hit is None:
            if len(self._residuals) >= 20_000:
                self._residuals.clear()
            hit = self._residuals[key] = self._residual_scores(terms)
        return hit

    def _residual_scores(self, terms: np.ndarray) -> np.ndarray:
        g, q = self.gram, self.gram.q
        cols = self.table.columns[terms].ravel()
        cols = cols[(cols >= 0)]
        cols = cols[g.valid[cols]]
        r = g.corr[:q, q:]
        if len(cols):
            sxx = g.corr[np.ix_(cols, cols)] + 1e-10 * np.eye(len(cols))
            b = np.linalg.solve(sxx, g.corr[cols, q:])
            r = r - g.corr[:q, cols] @ b
        col_score = np.concatenate([(r * r).sum(axis=1), [0.0]])
        return col_score[self.table.columns].max(axis=1)

    def _evaluate(self, x, out, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        f, g = self.score(x)
        out["F"] = f
        out["G"] = g


def _keys(terms: np.ndarray) -> list[tuple[int, ...]]:
    """The archive key of each row of term indices (its terms, without the -1 padding)."""
    counts = (terms >= 0).sum(axis=1).tolist()
    return [tuple(row[:n]) for row, n in zip(terms.tolist(), counts)]
