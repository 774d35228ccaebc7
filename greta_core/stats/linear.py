"""Linear-model tests computed from co-moments alone, for many hypotheses at once.

Given the standardised co-moment matrix of the design columns and the target columns of one
split, a hypothesis (a list of terms, each a set of design columns) is tested with the
multivariate linear model of the targets on its columns:

- overall: Wilks' lambda of all its columns (for one target column this is exactly the
  F-test of R²; for a 0/1 target, the F-test of Hotelling's T²);
- each term: the partial Wilks' lambda of its columns given the others (the partial F-test).

Work is vectorised over hypotheses: sub-matrices are gathered into padded batches and solved
together, so a hypothesis costs O(k³) in its k columns and nothing in the number of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import log10_wilks_p

_RIDGE = 1e-10
_BUCKETS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


@dataclass(frozen=True)
class Gram:
    """Standardised co-moments of q design columns followed by t target columns."""

    n: float
    t: int
    corr: np.ndarray
    scale: np.ndarray
    mean: np.ndarray
    valid: np.ndarray  # design columns with variance in this split

    @classmethod
    def from_moments(cls, m: Moments, t: int) -> Gram:
        diag = np.diag(m.m2).copy()
        scale = np.sqrt(np.where(diag > 0, diag, 1.0))
        corr = m.m2 / np.outer(scale, scale)
        q = m.m2.shape[0] - t
        valid = diag[:q] > 1e-12 * max(float(m.n), 1.0)
        corr[:q][~valid, :] = 0.0
        corr[:, :q][:, ~valid] = 0.0
        idx = np.arange(q)[~valid]
        corr[idx, idx] = 1.0
        return cls(float(m.n), t, corr, scale, m.mean, valid)

    @property
    def q(self) -> int:
        return self.corr.shape[0] - self.t


@dataclass(frozen=True)
class Evaluation:
    """Tests of P hypotheses: arrays of length P (terms: P × max terms, NaN-padded)."""

    r2: np.ndarray
    log10_p: np.ndarray
    k: np.ndarray
    dfe: np.ndarray
    log10_p_terms: np.ndarray
    partial_r2_terms: np.ndarray


def _bucket(k: int) -> int:
    for b in _BUCKETS:
        if k <= b:
            return b
    return k


def evaluate(gram: Gram, hypotheses: Sequence[Sequence[np.ndarray]]) -> Evaluation:
    """Test each hypothesis (a list of design-column index arrays, one per term)."""
    n_h = len(hypotheses)
    width = max((len(h) for h in hypotheses), default=1) or 1
    out = Evaluation(
        r2=np.zeros(n_h),
        log10_p=np.zeros(n_h),
        k=np.zeros(n_h, dtype=int),
        dfe=np.zeros(n_h),
        log10_p_terms=np.full((n_h, width), np.nan),
        partial_r2_terms=np.full((n_h, width), np.nan),
    )
    layouts = [_layout(gram, h) for h in hypotheses]
    groups: dict[int, list[int]] = {}
    for i, (cols, _) in enumerate(layouts):
        groups.setdefault(_bucket(len(cols)), []).append(i)
    for size, members in groups.items():
        _evaluate_bucket(gram, [layouts[i] for i in members], np.array(members), size, width, out)
    return out


def _layout(gram: Gram, terms: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    cols, slots = [], []
    for j, c in enumerate(terms):
        c = np.asarray(c, dtype=int)
        c = c[gram.valid[c]]
        cols.append(c)
        slots.append(np.full(len(c), j))
    if not cols:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    return np.concatenate(cols), np.concatenate(slots)


def _evaluate_bucket(gram, layouts, members, size, width, out) -> None:  # noqa: ANN001
    n_b, t, q = len(layouts), gram.t, gram.q
    idx = np.zeros((n_b, size), dtype=int)
    slot = np.full((n_b, size), -1)
    for i, (cols, slots) in enumerate(layouts):
        idx[i, : len(cols)] = cols
        slot[i, : len(cols)] = slots
    real = slot >= 0
    k = real.sum(axis=1)
    eye = np.eye(size)
    sxx = gram.corr[idx[:, :, None], idx[:, None, :]]
    both = real[:, :, None] & real[:, None, :]
    sxx = np.where(both, sxx, eye) + _RIDGE * eye
    sxy = gram.corr[idx, q:] * real[:, :, None]
    syy = gram.corr[q:, q:]
    w = np.linalg.inv(sxx)
    b = w @ sxy
    e = syy - np.swapaxes(sxy, 1, 2) @ b
    _, ld_e = np.linalg.slogdet(e)
    _, ld_yy = np.linalg.slogdet(syy)
    lam = np.exp(np.minimum(ld_e - ld_yy, 0.0))
    dfe = gram.n - 1.0 - k
    ok = (dfe > 0) & (k > 0)
    out.r2[members] = np.where(ok, 1.0 - lam, 0.0)
    out.log10_p[members] = np.where(ok, log10_wilks_p(lam, t, np.maximum(k, 1), np.maximum(dfe, 1)), 0.0)
    out.k[members] = k
    out.dfe[members] = dfe
    for j in range(width):
        m = slot == j
        d = m.sum(axis=1)
        has = (d > 0) & ok
        if not has.any():
            continue
        wjj = np.where(m[:, :, None] & m[:, None, :], w, eye)
        bj = b * m[:, :, None]
        hj = np.swapaxes(bj, 1, 2) @ np.linalg.solve(wjj, bj)
        _, ld_eh = np.linalg.slogdet(e + hj)
        lam_j = np.exp(np.minimum(ld_e - ld_eh, 0.0))
        lp = log10_wilks_p(lam_j, t, np.maximum(d, 1), np.maximum(dfe, 1))
        out.log10_p_terms[members, j] = np.where(has, lp, np.nan)
        out.partial_r2_terms[members, j] = np.where(has, 1.0 - lam_j, np.nan)
