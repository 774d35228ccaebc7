"""Linear-model tests computed from co-moments alone, for many hypotheses at once.

Given the standardised co-moment matrix of the design columns and the target columns of one
split, a hypothesis (a list of terms, each a set of design columns) is tested with the
multivariate linear model of the targets on its columns:

- overall: Wilks' lambda of all its columns (for one target column this is exactly the
  F-test of R²; for a 0/1 target, the F-test of Hotelling's T²);
- each term: the partial Wilks' lambda of its columns given the others (the partial F-test).

Work is vectorised over hypotheses: sub-matrices are gathered into padded batches and solved
together, so a hypothesis costs O(k³) in its k columns and nothing in the number of rows.

A wide term (a categorical's level dummies) moves as one block (:class:`Blocks`): its columns
are partialled out of the others once per search (Frisch–Waugh–Lovell), so a hypothesis that
holds it is solved in the columns of its *other* terms only, and costs about what it would
without the categorical, however many levels it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greta_core.stats.moments import Moments
from greta_core.stats.pvalues import log10_wilks_p

_RIDGE = 1e-10
_BUCKETS = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096])


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
        valid = _varies(m, q)
        corr[:q][~valid, :] = 0.0
        corr[:, :q][:, ~valid] = 0.0
        idx = np.arange(q)[~valid]
        corr[idx, idx] = 1.0
        return cls(float(m.n), t, corr, scale, m.mean, valid)

    @property
    def q(self) -> int:
        return self.corr.shape[0] - self.t


def _varies(m: Moments, q: int) -> np.ndarray:
    """Design columns with variance, relative to each column's own magnitude (a column with
    sd 1e-7 around 0 varies; one with sd 1e-9 around 1e9 is constant up to rounding)."""
    var = np.diag(m.m2)[:q] / max(float(m.n), 1.0)
    return (var > 0) & (var > (1e-13 * np.abs(m.mean[:q])) ** 2)


def scaled_inverse(sxx: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    """The (pseudo-)inverse of a co-moment matrix, solved in correlation form so that columns in
    any units keep full precision; directions with relative eigenvalue below ``rcond`` (exact
    collinearity, columns without variance) are dropped."""
    d = np.diag(sxx)
    scale = np.sqrt(np.where(d > 0, d, 1.0))
    corr = sxx / np.outer(scale, scale)
    return np.linalg.pinv(corr, rcond=rcond, hermitian=True) / np.outer(scale, scale)


@dataclass(frozen=True)
class TermTable:
    """The design columns of every candidate term, padded with -1: (terms × widest term)."""

    columns: np.ndarray

    @classmethod
    def of(cls, term_columns: Sequence[np.ndarray]) -> TermTable:
        width = max((len(c) for c in term_columns), default=1) or 1
        table = np.full((max(len(term_columns), 1), width), -1, dtype=np.int64)
        for i, c in enumerate(term_columns):
            table[i, : len(c)] = c
        return cls(table)


@dataclass(frozen=True)
class Evaluation:
    """Tests of P hypotheses: arrays of length P (terms: P × max terms, NaN-padded)."""

    r2: np.ndarray
    log10_p: np.ndarray
    k: np.ndarray
    dfe: np.ndarray
    log10_p_terms: np.ndarray
    partial_r2_terms: np.ndarray


def terms_of_masks(masks: np.ndarray, max_terms: int) -> np.ndarray:
    """Boolean masks (P × terms) → term indices (P × max_terms), padded with -1."""
    masks = np.asarray(masks, dtype=bool)
    order = np.argsort(~masks, axis=1, kind="stable")[:, :max_terms]
    return np.where(np.take_along_axis(masks, order, axis=1), order, -1)


def evaluate(gram: Gram, hypotheses: Sequence[Sequence[np.ndarray]]) -> Evaluation:
    """Test each hypothesis given as a list of design-column index arrays, one per term."""
    flat = [c for h in hypotheses for c in h]
    width = max((len(h) for h in hypotheses), default=1) or 1
    terms = np.full((len(hypotheses), width), -1, dtype=np.int64)
    start = 0
    for i, h in enumerate(hypotheses):
        terms[i, : len(h)] = np.arange(start, start + len(h))
        start += len(h)
    return evaluate_terms(gram, TermTable.of(flat), terms)


@dataclass(frozen=True)
class Blocks:
    """The wide terms of a table (at least ``min_width`` columns with variance, e.g. a
    categorical's level dummies), each reduced to one factor ``A`` (all columns × its columns)
    with ``A @ A.T = S[:, C] S_CC⁻¹ S[C, :]``: what partialling the term out subtracts from
    every co-moment."""

    factors: dict[int, np.ndarray]  # term → A ((q + t) × its columns with variance)
    widths: np.ndarray  # terms: columns with variance (0 for a term that is no block)

    @classmethod
    def of(cls, gram: Gram, table: TermTable, min_width: int = 4) -> Blocks:
        cols = table.columns
        ok = (cols >= 0) & gram.valid[np.maximum(cols, 0)]
        n_valid = ok.sum(axis=1)
        factors = {}
        for i in np.flatnonzero(n_valid >= min_width):
            c = cols[i][ok[i]]
            lam, vec = np.linalg.eigh(gram.corr[np.ix_(c, c)] + _RIDGE * np.eye(len(c)))
            factors[int(i)] = gram.corr[:, c] @ (vec / np.sqrt(np.maximum(lam, _RIDGE)))
        widths = np.where([i in factors for i in range(len(cols))], n_valid, 0)
        return cls(factors, widths)


def evaluate_terms(gram: Gram, table: TermTable, terms: np.ndarray, blocks: Blocks | None = None) -> Evaluation:
    """Test hypotheses given as rows of term indices into ``table`` (-1 = no term).

    With ``blocks``, a hypothesis that holds a wide term is solved with that term partialled
    out (same tests, fewer columns to solve for)."""
    n_h, width = terms.shape
    out = Evaluation(np.zeros(n_h), np.zeros(n_h), np.zeros(n_h, dtype=int), np.zeros(n_h),
                     np.full((n_h, width), np.nan), np.full((n_h, width), np.nan))
    if n_h == 0:
        return out
    block = np.full(n_h, -1)
    if blocks is not None and blocks.factors and width:
        w = np.where(terms >= 0, blocks.widths[np.maximum(terms, 0)], 0)
        pick = w.argmax(axis=1)
        has = w[np.arange(n_h), pick] > 0
        block[has] = pick[has]  # the slot of the widest block term
    chosen = block >= 0
    tests = _Tests()
    if not chosen.all():
        _evaluate_rows(gram, table, terms, np.flatnonzero(~chosen), out, tests)
    if chosen.any():
        assert blocks is not None
        block_term = terms[np.arange(n_h), np.maximum(block, 0)]
        for term in np.unique(block_term[chosen]):
            rows = np.flatnonzero(chosen & (block_term == term))
            _evaluate_rows(gram, table, terms, rows, out, tests, blocks.factors[int(term)], block[rows])
    tests.write(out, gram.t)
    return out


class _Tests:
    """Wilks' lambdas waiting for their p-values, which are then computed in one call for the
    whole population (one value at a time, so each is what it would be alone)."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray | int | None, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, rows: np.ndarray, slot: np.ndarray | int | None, lam: np.ndarray, q: np.ndarray,
            dfe: np.ndarray) -> None:
        """The test of hypotheses ``rows``: overall (``slot`` None) or of the term in ``slot``."""
        self.parts.append((rows, slot, lam, q, dfe))

    def write(self, out: Evaluation, t: int) -> None:
        if not self.parts:
            return
        lam, q, dfe = (np.concatenate([part[i] for part in self.parts]) for i in (2, 3, 4))
        lp = log10_wilks_p(lam, t, q, dfe)
        at = 0
        for rows, slot, part, _, _ in self.parts:
            values, at = lp[at: at + len(part)], at + len(part)
            if slot is None:
                out.log10_p[rows] = values
            else:
                out.log10_p_terms[rows, slot] = values


def _evaluate_rows(gram: Gram, table: TermTable, terms: np.ndarray, rows: np.ndarray, out: Evaluation,
                   tests: _Tests, factor: np.ndarray | None = None, block_slot: np.ndarray | None = None) -> None:
    sub = terms[rows]
    if factor is not None:
        sub = sub.copy()
        sub[np.arange(len(rows)), block_slot] = -1  # the block is partialled out, not solved for
    idx, slot = _layout(gram, table, sub)
    k = (slot >= 0).sum(axis=1)
    bucket = _BUCKETS[np.searchsorted(_BUCKETS, np.maximum(k, 1))]
    for size in np.unique(bucket):
        part = np.flatnonzero(bucket == size)
        blk = None if factor is None else (factor, block_slot[part])  # type: ignore[index]
        _evaluate_bucket(gram, idx[part, :size], slot[part, :size], rows[part], terms.shape[1], out, tests, blk)


def _layout(gram: Gram, table: TermTable, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and term slots of each hypothesis, real columns first (-1 after)."""
    n_h, width = terms.shape
    cols = np.where(terms[:, :, None] >= 0, table.columns[np.maximum(terms, 0)], -1)
    real = cols >= 0
    real &= gram.valid[np.maximum(cols, 0)]
    slots = np.broadcast_to(np.arange(width)[None, :, None], cols.shape)
    cols, real, slots = cols.reshape(n_h, -1), real.reshape(n_h, -1), slots.reshape(n_h, -1)
    order = np.argsort(~real, axis=1, kind="stable")
    keep = np.take_along_axis(real, order, axis=1)
    idx = np.where(keep, np.take_along_axis(cols, order, axis=1), 0)
    slot = np.where(keep, np.take_along_axis(slots, order, axis=1), -1)
    return idx, slot


def _logdet(a: np.ndarray) -> np.ndarray:
    if a.shape[-1] == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.maximum(a[:, 0, 0], 1e-300))
    return np.linalg.slogdet(a)[1]


def _evaluate_bucket(gram: Gram, idx: np.ndarray, slot: np.ndarray, rows: np.ndarray,
                     width: int, out: Evaluation, tests: _Tests,
                     block: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Tests of the hypotheses ``rows`` from their columns ``idx`` (term ``slot`` of each, -1:
    padding); their p-values are left to ``tests``. ``block``: a wide term's factor and slot,
    partialled out of every co-moment."""
    t, q = gram.t, gram.q
    size = idx.shape[1]
    real = slot >= 0
    k = real.sum(axis=1)
    eye = np.eye(size)
    both = real[:, :, None] & real[:, None, :]
    sxx = gram.corr[idx[:, :, None], idx[:, None, :]]
    sxy = gram.corr[idx, q:] * real[:, :, None]
    syy = gram.corr[q:, q:]
    ld_yy = float(np.linalg.slogdet(syy)[1])
    if block is not None:
        factor, block_slot = block
        ld_e_rest = _logdet(_residual(np.where(both, sxx, eye) + _RIDGE * eye, sxy, syy)[2])
        a = factor[idx] * real[:, :, None]
        ay = factor[q:]
        sxx = sxx - a @ np.swapaxes(a, 1, 2)
        sxy = sxy - a @ ay.T
        syy = syy - ay @ ay.T
        k = k + factor.shape[1]
    sxx = np.where(both, sxx, eye) + _RIDGE * eye
    w, b, e = _residual(sxx, sxy, syy)
    ld_e = _logdet(e)
    lam = np.exp(np.minimum(ld_e - ld_yy, 0.0))
    dfe = gram.n - 1.0 - k
    ok = (dfe > 0) & (k > 0)
    out.r2[rows] = np.where(ok, 1.0 - lam, 0.0)
    tests.add(rows[ok], None, lam[ok], k[ok], np.maximum(dfe, 1)[ok])
    out.k[rows] = k
    out.dfe[rows] = dfe
    for j in range(width):
        m = slot == j
        d = m.sum(axis=1)
        has = (d > 0) & ok
        if not has.any():
            continue
        hj = _hypothesis_matrix(w, b, m, d, eye)
        lam_j = np.exp(np.minimum(ld_e - _logdet(e + hj), 0.0))
        tests.add(rows[has], j, lam_j[has], d[has], np.maximum(dfe, 1)[has])
        out.partial_r2_terms[rows, j] = np.where(has, 1.0 - lam_j, np.nan)
    if block is not None:  # the block's own test: the model without it against the model with it
        d = np.full(len(rows), factor.shape[1])
        lam_c = np.exp(np.minimum(ld_e - ld_e_rest, 0.0))
        tests.add(rows[ok], block_slot[ok], lam_c[ok], d[ok], np.maximum(dfe, 1)[ok])
        out.partial_r2_terms[rows, block_slot] = np.where(ok, 1.0 - lam_c, np.nan)


def _residual(sxx: np.ndarray, sxy: np.ndarray, syy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Sxx⁻¹, coefficients, residual co-moments of the targets) of a batch of regressions."""
    w = np.linalg.inv(sxx)
    b = w @ sxy
    return w, b, syy - np.swapaxes(sxy, 1, 2) @ b


def _hypothesis_matrix(w: np.ndarray, b: np.ndarray, m: np.ndarray, d: np.ndarray,
                       eye: np.ndarray) -> np.ndarray:
    """H = B_j' (W_jj)^-1 B_j for the columns ``m`` of each hypothesis (t × t each)."""
    n_b, t = b.shape[0], b.shape[2]
    hj = np.zeros((n_b, t, t))
    one = d == 1
    if one.any():
        c = np.argmax(m[one], axis=1)
        r = np.flatnonzero(one)
        bc = b[r, c, :]
        hj[one] = bc[:, :, None] * bc[:, None, :] / w[r, c, c][:, None, None]
    many = d > 1
    if many.any():
        mm = m[many]
        wjj = np.where(mm[:, :, None] & mm[:, None, :], w[many], eye)
        bj = b[many] * mm[:, :, None]
        hj[many] = np.swapaxes(bj, 1, 2) @ np.linalg.solve(wjj, bj)
    return hj
