"""Centre every numeric column at its discovery mean, exactly, after the statistics pass.

The pass forms squares and products from columns centred at a centre known before it (the
planning sample's mean), which removes their magnitude. The discovery means are known only
after the pass; moving each centre by its small remaining offset δ is a linear map of the
design columns, so the co-moments, means and sampled rows are mapped exactly:

    x − δx,    (x − δx)(z − δz) = xz − δz·x − δx·z + δxδz,    (x − δx)² = x² − 2δx·x + δx².

Afterwards a main effect in a model with squares or products is the effect at the others'
discovery averages, whatever the file's order or units.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from greta_core.stats.moments import Moments
from greta_core.stats.summary import Summary


def recentre(s: Summary, layout: Any, t: int) -> tuple[Summary, dict[str, float]]:
    """The summary with every numeric main term and every square and product centred at the
    discovery means, and each column's offset δ (design units) that was removed."""
    main = {term.name: int(cols[0]) for term, cols in zip(layout.terms, layout.columns) if term.kind == "numeric"}
    delta = {name: float(s.discovery.mean[c]) for name, c in main.items()}
    lin, shift = centring_map(delta, layout, t)
    out = replace(s, discovery=_map(s.discovery, lin, shift), holdout=_map(s.holdout, lin, shift),
                  sample=s.sample @ lin.T + shift if len(s.sample) else s.sample)
    return out, delta


def centring_map(delta: dict[str, float], layout: Any, t: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine map ``x ↦ lin·x + shift`` of a row of design columns (then the ``t`` target
    columns) that :func:`recentre` applies, given each numeric main term's offset ``delta``. A
    design row built by the statistics pass' own builder, mapped with it, is that row of the
    recentred design."""
    q = layout.width
    main = {term.name: int(cols[0]) for term, cols in zip(layout.terms, layout.columns) if term.kind == "numeric"}
    lin = np.eye(q + t)
    shift = np.zeros(q + t)
    for term, cols in zip(layout.terms, layout.columns):
        j = int(cols[0])
        if term.kind == "numeric":
            shift[j] = -delta[term.name]
        elif term.kind == "product" and all(x in main for x in term.sources):
            a, b = term.sources
            lin[j, main[a]] -= delta[b]
            lin[j, main[b]] -= delta[a]
            shift[j] = delta[a] * delta[b]
        elif term.kind == "square" and term.sources[0] in main:
            a = term.sources[0]
            lin[j, main[a]] -= 2.0 * delta[a]
            shift[j] = delta[a] ** 2
    return lin, shift


def _map(m: Moments, lin: np.ndarray, shift: np.ndarray) -> Moments:
    if m.n == 0:
        return m
    m2 = lin @ m.m2 @ lin.T
    return Moments(m.n, lin @ m.mean + shift, (m2 + m2.T) / 2.0)
