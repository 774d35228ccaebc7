"""Where each term's columns sit in the co-moment matrix of a pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greta_core.plan.terms import Term


@dataclass(frozen=True)
class Layout:
    terms: tuple[Term, ...]
    columns: tuple[np.ndarray, ...]  # design column indices of each term
    labels: tuple[str, ...]  # one per design column

    @classmethod
    def of(cls, terms: Sequence[Term]) -> Layout:
        cols, start = [], 0
        for t in terms:
            cols.append(np.arange(start, start + t.width))
            start += t.width
        labels = tuple(lab for t in terms for lab in t.labels)
        return cls(tuple(terms), tuple(cols), labels)

    @property
    def width(self) -> int:
        return len(self.labels)
