"""Evidence from many splits, one p-value per column (DESIGN §5, "One split is a lottery").

Meinshausen, Meier & Bühlmann (2009), "p-values for high-dimensional regression", JASA
104:1671–1681. Each of B random splits selects a model on one part of the rows and tests it on
the other; a column left out of a split's model gets p = 1 there, and a column in it gets its
held-out p-value multiplied by the model's size (Bonferroni within the split). For a fixed
γ ∈ (0, 1) the aggregate

    Q(γ) = min(1, q_γ({P⁽ᵇ⁾ / γ : b = 1..B}))

(q_γ the empirical γ-quantile) is a valid p-value: P(Q(γ) ≤ α) ≤ α, because Q(γ) ≤ α means
that at least a share γ of the splits have P⁽ᵇ⁾ ≤ αγ, and by Markov's inequality that happens
with probability at most E[share of P⁽ᵇ⁾ ≤ αγ] / γ ≤ α. Searching γ over [γ_min, 1) costs the
factor (1 − log γ_min):

    P = min(1, (1 − log γ_min) · inf_{γ ∈ [γ_min, 1)} Q(γ)).

The empirical quantile here is the inverse of the empirical distribution function (the
⌈γB⌉-th smallest value), the one for which "Q(γ) ≤ α ⟺ at least γB splits have P⁽ᵇ⁾ ≤ αγ"
holds exactly; over γ in ((k−1)/B, k/B] the k-th smallest value is divided by at most k/B, so
the infimum is a minimum over k = ⌈γ_min B⌉ … B of P₍ₖ₎ · B / k.

With the within-split Bonferroni factor, rejecting the columns whose aggregate is at most α
keeps the family-wise error rate at α (the paper's Theorem 3.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GAMMA_MIN = 0.05


def split_pvalues(raw: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """Per-split p-values ready to aggregate: ``raw`` (B × p) held-out p-values of the columns
    each split's model holds (``selected``, B × p booleans), times that model's size (capped at
    1); 1 for a column a split left out."""
    raw = np.asarray(raw, dtype=np.float64)
    selected = np.asarray(selected, dtype=bool)
    if raw.shape != selected.shape:
        msg = f"raw p-values {raw.shape} and selections {selected.shape} differ in shape"
        raise ValueError(msg)
    size = selected.sum(axis=1, keepdims=True)
    adjusted = np.minimum(np.where(selected, raw, 1.0) * np.maximum(size, 1), 1.0)
    return np.where(selected, adjusted, 1.0)


def quantile_aggregate(pvals: np.ndarray, gamma: float | None = None, gamma_min: float = GAMMA_MIN) -> np.ndarray:
    """Aggregate ``pvals`` (B splits × p columns) into one p-value per column.

    ``gamma`` fixed: Q(γ) = min(1, ⌈γB⌉-th smallest / γ). ``gamma`` None (the default): the
    adaptive aggregate min(1, (1 − log γ_min) · min over γ ∈ [γ_min, 1) of Q(γ))."""
    p = np.asarray(pvals, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2 or p.shape[0] == 0:
        msg = "pvals must be a non-empty (splits × columns) array"
        raise ValueError(msg)
    if np.any(np.isnan(p)) or np.any(p < 0) or np.any(p > 1):
        msg = "p-values must lie in [0, 1]"
        raise ValueError(msg)
    b = p.shape[0]
    ordered = np.sort(p, axis=0)
    if gamma is not None:
        if not 0.0 < gamma < 1.0 + 1e-12:
            msg = f"gamma must lie in (0, 1]; got {gamma}"
            raise ValueError(msg)
        k = _rank(gamma, b)
        return np.minimum(ordered[k - 1] / gamma, 1.0)
    if not 0.0 < gamma_min < 1.0:
        msg = f"gamma_min must lie in (0, 1); got {gamma_min}"
        raise ValueError(msg)
    k = np.arange(_rank(gamma_min, b), b + 1)
    best = np.min(ordered[k - 1] * (b / k)[:, None], axis=0)
    return np.minimum((1.0 - math.log(gamma_min)) * best, 1.0)


def _rank(gamma: float, b: int) -> int:
    """⌈γB⌉, guarded against round-off (0.05 · 20 is 1.0000000000000002 in floating point)."""
    return int(min(max(math.ceil(gamma * b - 1e-9), 1), b))


@dataclass(frozen=True)
class Aggregate:
    """Per column: the aggregated p-value, and in how many of the ``splits`` the column was in
    the split's model (``selected``) and passed its held-out test there (``passed``)."""

    p_value: np.ndarray
    selected: np.ndarray
    passed: np.ndarray
    splits: int


def aggregate_columns(raw: np.ndarray, selected: np.ndarray, passed: np.ndarray,
                      gamma_min: float = GAMMA_MIN) -> Aggregate:
    """The multi-split evidence of each column: ``raw`` held-out p-values (B × p, anything where
    not ``selected``), which columns each split's model held, and which passed there."""
    sel = np.asarray(selected, dtype=bool)
    p = quantile_aggregate(split_pvalues(raw, sel), gamma_min=gamma_min)
    return Aggregate(p, sel.sum(axis=0), (np.asarray(passed, dtype=bool) & sel).sum(axis=0), sel.shape[0])
