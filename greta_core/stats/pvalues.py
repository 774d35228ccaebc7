"""p-values that stay finite far in the tail.

The search compares hypotheses whose p-values are far below 1e-300 on large data, so the
F-distribution tail is computed in log space (a continued fraction for the regularised
incomplete beta function) wherever scipy's value underflows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

_LN10 = np.log(10.0)
_FAR = 1e-200


def _log_betacf(a: np.ndarray, b: np.ndarray, x: np.ndarray, iters: int = 300) -> np.ndarray:
    """log of the continued fraction of I_x(a, b) (modified Lentz), vectorised over 1-d arrays.

    Each value stops at its own convergence, so it is the same whichever other values are
    computed with it (a hypothesis' p-value does not depend on the population it came with)."""
    tiny = 1e-300
    out = np.empty_like(x)
    live = np.arange(len(x))
    if not len(live):
        return out
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < tiny, tiny, d)
    d = 1.0 / d
    h = np.log(d)
    for m in range(1, iters + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        h += np.log(np.abs(d * c))
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h += np.log(np.abs(delta))
        done = np.abs(delta - 1.0) < 1e-12
        if done.any():
            out[live[done]] = h[done]
            go = ~done
            live, a, b, x, qab, qap, qam, c, d, h = (v[go] for v in (live, a, b, x, qab, qap, qam, c, d, h))
            if not len(live):
                return out
    out[live] = h
    return out


def log10_f_sf(f: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """log10 of P(F(d1, d2) > f), accurate where the probability underflows."""
    f, d1, d2 = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (f, d1, d2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = special.fdtrc(d1, d2, np.maximum(f, 0.0))
        out = np.array(np.log10(p), dtype=float)  # an array even for scalar inputs
    # scipy's fdtrc loses accuracy below ~1e-250 (off by 2x near 1e-280 for some df): switch
    # to the continued fraction well before that; the two agree to 1e-8 in log10 above it.
    far = np.isfinite(f) & (p < _FAR) & (d2 > 0) & (d1 > 0)
    if far.any():
        a, b = d2[far] / 2.0, d1[far] / 2.0
        x = d2[far] / (d2[far] + d1[far] * f[far])
        ln = (
            a * np.log(x)
            + b * np.log1p(-x)
            - np.log(a)
            - special.betaln(a, b)
            + _log_betacf(a, b, x)
        )
        out[far] = ln / _LN10
    return out


def wilks_f(lam: np.ndarray, p: int, q: np.ndarray, dfe: np.ndarray):
    """Rao's F approximation to Wilks' lambda (exact when min(p, q) <= 2).

    ``p`` target columns, ``q`` hypothesis degrees of freedom, ``dfe`` error degrees of freedom.
    Returns (F, df1, df2).
    """
    q = np.asarray(q, dtype=float)
    dfe = np.asarray(dfe, dtype=float)
    lam = np.clip(np.asarray(lam, dtype=float), 1e-300, 1.0)
    a = dfe - (p - q + 1.0) / 2.0
    den = p * p + q * q - 5.0
    with np.errstate(invalid="ignore", divide="ignore"):
        b = np.where(den > 0, np.sqrt(np.maximum(p * p * q * q - 4.0, 0.0) / np.where(den > 0, den, 1.0)), 1.0)
        c = (p * q - 2.0) / 2.0
        df1 = p * q
        df2 = a * b - c
        root = lam ** (1.0 / b)
        f = (1.0 - root) / root * df2 / df1
    return f, df1, df2


def log10_wilks_p(lam: np.ndarray, p: int, q: np.ndarray, dfe: np.ndarray) -> np.ndarray:
    f, df1, df2 = wilks_f(lam, p, q, dfe)
    return log10_f_sf(f, df1, df2)


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaNs stay NaN."""
    def step_up(x: np.ndarray) -> np.ndarray:  # sorted p-values -> their adjusted values
        return np.minimum.accumulate((x * len(x) / np.arange(1, len(x) + 1))[::-1])[::-1]

    return _adjusted(pvalues, step_up)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error); NaNs stay NaN."""
    return _adjusted(pvalues, lambda x: np.maximum.accumulate(x * (len(x) - np.arange(len(x)))))


def _adjusted(pvalues: np.ndarray, adjust: Any) -> np.ndarray:
    """``adjust`` (sorted finite p-values -> adjusted) applied to the finite ``pvalues``, capped
    at 1, in their own order; NaNs stay NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    x = p[ok]
    order = np.argsort(x, kind="stable")
    got = np.empty(len(x))
    got[order] = np.minimum(adjust(x[order]), 1.0)
    out[ok] = got
    return out
