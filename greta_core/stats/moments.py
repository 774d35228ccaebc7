"""Mergeable centred co-moments (Chan, Golub & LeVeque's pairwise update).

A :class:`Moments` holds the count, the means and the centred cross-product matrix of a set
of columns. Summaries of any two disjoint sets of rows merge exactly, in any order, without
ever forming the raw X'X of uncentred data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Moments:
    n: float
    mean: np.ndarray
    m2: np.ndarray

    def __sizeof__(self) -> int:  # what Dask counts when it moves a summary between processes
        return object.__sizeof__(self) + self.mean.nbytes + self.m2.nbytes

    @classmethod
    def empty(cls, q: int) -> Moments:
        return cls(0.0, np.zeros(q), np.zeros((q, q)))

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        """Moments of the rows of ``x`` (n × q)."""
        n = x.shape[0]
        if n == 0:
            return cls.empty(x.shape[1])
        mean = x.mean(axis=0)
        xc = x - mean
        return cls(float(n), mean, xc.T @ xc)

    @classmethod
    def of_block(cls, x: np.ndarray) -> Moments:
        """Moments of the rows of ``x``, centring ``x`` in place (the caller's scratch)."""
        if x.shape[0] == 0:
            return cls.empty(x.shape[1])
        mean = x.mean(axis=0)
        x -= mean
        return cls(float(x.shape[0]), mean, x.T @ x)

    def merge(self, other: Moments) -> Moments:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + np.outer(delta, delta) * (self.n * other.n / n)
        return Moments(n, mean, m2)

    def covariance(self) -> np.ndarray:
        return self.m2 / max(self.n - 1.0, 1.0)


@dataclass
class CrossMoments:
    """Cheap screening sums: each column's variance and its co-moment with the targets."""

    n: float
    mean_e: np.ndarray  # (m,)
    mean_y: np.ndarray  # (t,)
    c_ee: np.ndarray  # (m,)
    c_ey: np.ndarray  # (m, t)

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + sum(a.nbytes for a in (self.mean_e, self.mean_y, self.c_ee, self.c_ey))

    @classmethod
    def empty(cls, m: int, t: int) -> CrossMoments:
        return cls(0.0, np.zeros(m), np.zeros(t), np.zeros(m), np.zeros((m, t)))

    @classmethod
    def of(cls, e: np.ndarray, y: np.ndarray) -> CrossMoments:
        n = e.shape[0]
        if n == 0:
            return cls.empty(e.shape[1], y.shape[1])
        me, my = e.mean(axis=0), y.mean(axis=0)
        ec, yc = e - me, y - my
        return cls(float(n), me, my, np.einsum("ij,ij->j", ec, ec), ec.T @ yc)

    def merge(self, other: CrossMoments) -> CrossMoments:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        w = self.n * other.n / n
        de, dy = other.mean_e - self.mean_e, other.mean_y - self.mean_y
        return CrossMoments(
            n,
            self.mean_e + de * (other.n / n),
            self.mean_y + dy * (other.n / n),
            self.c_ee + other.c_ee + de * de * w,
            self.c_ey + other.c_ey + np.outer(de, dy) * w,
        )
