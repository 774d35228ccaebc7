"""What a hypothesis is scored on, free of any search library: the objectives and constraint
of a hypothesis (:class:`SearchStats`), one scored hypothesis (:class:`Scored`) and a search's
answer (:class:`SearchResult`). The genetic search (pymoo) and the exact search both use them.

Objectives (all minimised): significance (−(−log10 p) of the overall test), effect size (−R²),
parsimony (number of terms). Constraint: every term pulls its weight — its partial test on the
discovery split is significant at ``alpha / number of candidate terms`` — except a main term
that is there for a product or square of its column (the effect at the others' averages need
not be).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greta_core.stats.linear import Blocks, Evaluation, Gram, TermTable, evaluate_terms, terms_of_masks


@dataclass(frozen=True)
class Scored:
    """One evaluated hypothesis."""

    terms: tuple[int, ...]
    objectives: tuple[float, float, float]
    violation: float


@dataclass(frozen=True)
class SearchResult:
    front: tuple[Scored, ...]  # feasible, non-dominated, distinct; fewest terms first
    evaluations: int
    generations: int
    seed: int
    strategy: str = "genetic"  # genetic | exact
    space: int | None = None  # exact: how many hypotheses there are (every one was scored)
    stopped_early: bool = False  # genetic: the front stood still for ``patience`` generations


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
    blocks: Blocks | None = None  # wide terms (categoricals), each solved as one block

    def objectives(self, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray, Evaluation]:
        """Objectives F (P × 3) and constraint g (P,) of hypotheses given as term indices."""
        ev = evaluate_terms(self.gram, self.table, terms, self.blocks)
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

    @classmethod
    def of(cls, gram: Gram, term_columns: Sequence[np.ndarray], max_terms: int, alpha: float,
           parents: Sequence[Sequence[int]] | None = None) -> SearchStats:
        """The statistics of a search over ``term_columns`` (the design columns of each term)."""
        table = TermTable.of([np.asarray(c, dtype=int) for c in term_columns])
        log10_alpha_term = float(np.log10(alpha / max(len(term_columns), 1)))
        parent = parent_matrix(parents) if parents and any(parents) else None
        return cls(gram, table, max_terms, log10_alpha_term, parent, Blocks.of(gram, table))


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
