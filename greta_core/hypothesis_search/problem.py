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
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymoo.core.problem import Problem

from greta_core.stats.linear import Evaluation, Gram, TermTable, evaluate_terms, terms_of_masks


@dataclass(frozen=True)
class Scored:
    """One evaluated hypothesis."""

    terms: tuple[int, ...]
    objectives: tuple[float, float, float]
    violation: float


@dataclass(frozen=True)
class SearchStats:
    """Everything a hypothesis' fitness depends on: the small discovery statistics.

    This is what distributed evaluation ships to the workers once per run (scatter /
    broadcast); afterwards only masks travel. It pickles cheaply (a few numpy arrays).
    """

    gram: Gram
    table: TermTable
    max_terms: int
    log10_alpha_term: float
    parent: np.ndarray | None = None  # (terms × terms) bool: parent[a, c] when c needs a

    def objectives(self, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray, Evaluation]:
        """Objectives F (P × 3) and constraint g (P,) of hypotheses given as term indices."""
        ev = evaluate_terms(self.gram, self.table, terms)
        size = (terms >= 0).sum(axis=1).astype(float)
        lp = ev.log10_p_terms
        real = np.arange(lp.shape[1])[None, :] < size[:, None]
        if self.parent is not None and terms.shape[1]:
            real &= ~needed(self.parent, terms)
        lp = np.where(real, np.where(np.isnan(lp), 0.0, lp), -np.inf)
        worst = lp.max(axis=1) if lp.shape[1] else np.zeros(len(terms))
        g = np.where(size > 0, worst - self.log10_alpha_term, 1.0)
        f = np.column_stack([ev.log10_p, -ev.r2, size])
        return f, g, ev

    def score_masks(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Term indices (P × max_terms), F (P × 3) and g (P,) of boolean masks (P × terms)."""
        terms = terms_of_masks(np.asarray(masks, dtype=bool), self.max_terms)
        f, g, _ = self.objectives(terms)
        return terms, f, g


def parent_matrix(parents: Sequence[Sequence[int]]) -> np.ndarray:
    """parent[a, c] is True when term c may appear only together with term a."""
    m = len(parents)
    out = np.zeros((m, m), dtype=bool)
    for c, ps in enumerate(parents):
        out[list(ps), c] = True
    return out


def needed(parent: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """(P × width) True where a slot's term is a parent of another term of the hypothesis."""
    t = np.maximum(terms, 0)
    rel = parent[t[:, :, None], t[:, None, :]] & (terms >= 0)[:, None, :] & (terms >= 0)[:, :, None]
    return rel.any(axis=2)


class HypothesisProblem(Problem):
    """The search problem. ``evaluator`` (None: this process) computes the fitness of a
    population elsewhere; the archive of evaluated and feasible hypotheses is always kept
    here, in the driver process."""

    def __init__(self, gram: Gram, term_columns: Sequence[np.ndarray], max_terms: int, alpha: float,
                 parents: Sequence[Sequence[int]] | None = None) -> None:
        super().__init__(n_var=len(term_columns), n_obj=3, n_ieq_constr=1, xl=0, xu=1, vtype=bool)
        self.gram = gram
        self.table = TermTable.of([np.asarray(c, dtype=int) for c in term_columns])
        self.max_terms = max_terms
        self.log10_alpha_term = float(np.log10(alpha / max(len(term_columns), 1)))
        self.parents = tuple(tuple(p) for p in parents) if parents is not None else None
        parent = parent_matrix(self.parents) if self.parents and any(self.parents) else None
        self.stats = SearchStats(gram, self.table, max_terms, self.log10_alpha_term, parent)
        self.evaluator: Any = None  # has .evaluate(masks) -> (terms, F, g); see evaluators.py
        self.evaluations = 0
        self.archive: dict[tuple[int, ...], Scored] = {}
        self.feasible: dict[tuple[int, ...], Scored] = {}
        self._residuals: dict[bytes, np.ndarray] = {}  # residual_scores by hypothesis

    def score(self, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, Evaluation | None]:
        """Objectives F (P × 3) and constraint G (P × 1) of boolean masks (P × terms).

        The third value is the full :class:`Evaluation` when evaluated here, else None.
        """
        masks = np.asarray(masks, dtype=bool)
        ev: Evaluation | None = None
        if self.evaluator is None:
            terms = terms_of_masks(masks, self.max_terms)
            f, g, ev = self.stats.objectives(terms)
        else:
            terms, f, g = self.evaluator.evaluate(masks)
        self.evaluations += len(masks)
        for c, fi, gi in zip(terms.tolist(), f.tolist(), g.tolist()):
            key = tuple(i for i in c if i >= 0)
            if key not in self.archive:
                self.archive[key] = Scored(key, (fi[0], fi[1], fi[2]), gi)
                if gi <= 0:
                    self.feasible[key] = self.archive[key]
        return f, g[:, None], ev

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
        f, g, _ = self.score(x)
        out["F"] = f
        out["G"] = g
