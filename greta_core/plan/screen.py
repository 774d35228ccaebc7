"""Screening candidate terms in bounded memory, on discovery rows only (DESIGN §3).

When the candidate terms take more design columns than the search keeps
(``max_design_columns``), each candidate is tested alone against the target on a uniform
sample of *discovery* rows (never a holdout row), and the strongest are kept, with the main
terms each kept product or square needs. Main terms, logs and squares are scored from their
design columns. Pairwise products, which grow with the square of the number of columns, are
never formed all at once: for a block of columns ``A`` their products with every later
column are scored from three matrix products over the sample rows,

    Σ z_a z_b,   Σ z_a² z_b²   and   Σ z_a z_b ỹ   (ỹ: the whitened, centred targets),

which give each product's variance and its covariance with the targets. The block is sized
so that its arrays fit the memory budget, and only the best scores seen so far are carried
from block to block; the kept set is the one scoring every product at once would give.

A term's score is its own test against the target (Wilks' lambda, the F-test of R² for one
target column), so terms of different widths (a categorical's dummies, a column with its
missing indicator) rank by significance.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from greta_core.confirm.layout import Layout
from greta_core.plan.terms import Plan, Term
from greta_core.stats.linear import scaled_inverse
from greta_core.stats.pvalues import log10_wilks_p

#: float64 arrays a product block holds per candidate (sums, squares, target sums, score, scratch)
BLOCK_ARRAYS = 6
_BYTES = 8


@dataclass(frozen=True)
class Screened:
    """The outcome of screening: the kept terms and what was looked at."""

    terms: tuple[Term, ...]  # main terms first, then engineered terms, each in plan order
    candidates: int  # candidate terms scored
    rows: int  # discovery rows they were scored on
    blocks: int  # blocks of products scored one after the other
    largest_block: int  # most product candidates held in memory at once
    left_out: int  # products not scored because of the cap on candidate terms

    def to_dict(self) -> dict[str, int]:
        """What the results document says about the screening (``data.screening``)."""
        return {"candidate_terms": self.candidates, "kept_terms": len(self.terms), "discovery_rows": self.rows,
                "products_left_out": self.left_out}

    def note(self) -> str:
        engineered = sum(t.engineered for t in self.terms)
        text = (f"{self.candidates:,} candidate terms were screened on {self.rows:,} discovery rows (each "
                f"tested alone against the target); the {len(self.terms):,} strongest ({engineered:,} of them "
                "squares, logs or products) were kept for the search (preprocessing.max_design_columns, "
                "and at most half as many design columns as discovery rows).")
        if self.left_out:
            text += (f" {self.left_out:,} products of weaker columns were not screened, to stay within "
                     "preprocessing.max_screen_terms.")
        return text


def screen_rows(memory_mb: float, width: int, sample_rows: int) -> int:
    """How many discovery rows to screen on: their design columns (``width`` with the targets)
    take at most a quarter of the budget, and never fewer than 200 rows."""
    fit = int(memory_mb * 2**20 / 4 / (_BYTES * max(width, 1)))
    return max(min(sample_rows, fit), 200)


def screen(rows: np.ndarray, plan: Plan, t: int, room: int, memory_mb: float = 256.0,
           max_candidates: int = 100_000_000, workers: int = 1) -> Screened:
    """Keep the strongest candidate terms of ``plan`` within ``room`` design columns.

    ``rows`` holds discovery rows only: the design columns of ``plan.listed`` (main terms,
    logs, squares), then the ``t`` target columns. Products of ``plan.interacting`` columns
    are scored in blocks whose arrays take at most about ``memory_mb`` MiB (less the rows
    themselves); at most ``max_candidates`` terms are scored in all (the products of the
    columns that score weakest alone are left out first). ``workers`` blocks are scored side
    by side (one BLAS thread each), within the same budget.
    """
    listed = plan.listed
    layout = Layout.of(listed)
    x, y = rows[:, : layout.width], rows[:, layout.width :]
    n = x.shape[0]
    yw = _whitened(y)
    lp_listed, _ = _listed_scores(x, yw, layout, t)
    main = {term.name: i for i, term in enumerate(listed) if not term.engineered}
    cols, left_out = _product_columns(plan, main, lp_listed, max_candidates - len(listed))
    z = x[:, [int(layout.columns[main[plan.interacting[c]]][0]) for c in cols]]
    keep = 2 * max(room, 1)
    budget = memory_mb * 2**20 - rows.nbytes - 3 * z.nbytes
    top, blocks, largest = _product_scores(z, yw, keep, max(budget, 0.0), max(workers, 1))
    pair_i, pair_j = _pair_of(top[1], len(cols))
    lam = 1.0 - top[0]
    lp_products = np.where(n - 2 > 0, log10_wilks_p(lam, t, np.ones_like(lam), np.full_like(lam, max(n - 2, 1))), 0.0)
    products = [(float(lp), len(listed) + int(k), plan.product(cols[a], cols[b]))
                for lp, k, a, b in zip(lp_products, top[1], pair_i, pair_j)]
    kept = _select(listed, lp_listed, products, main, room)
    return Screened(tuple(kept), len(listed) + len(cols) * (len(cols) - 1) // 2, n, blocks, largest, left_out)


def _whitened(y: np.ndarray) -> np.ndarray:
    """The targets centred and rotated so that their co-moment matrix is the identity (over the
    directions in which they vary)."""
    yc = y - y.mean(axis=0) if len(y) else y
    syy = yc.T @ yc
    val, vec = np.linalg.eigh(syy)
    ok = val > 1e-12 * max(float(val.max(initial=0.0)), 1e-300)
    return yc @ (vec[:, ok] / np.sqrt(val[ok]))


def _listed_scores(x: np.ndarray, yw: np.ndarray, layout: Layout, t: int) -> tuple[np.ndarray, np.ndarray]:
    """log10 p and Wilks' lambda of each listed term tested alone."""
    n = x.shape[0]
    xc = x - x.mean(axis=0) if n else x
    cy = xc.T @ yw  # (columns × targets)
    css = np.einsum("ij,ij->j", xc, xc)
    widths = np.array([len(c) for c in layout.columns])
    lam = np.ones(len(widths))
    one = np.flatnonzero(widths == 1)
    first = np.array([int(c[0]) for c in layout.columns], dtype=np.int64)
    lam[one] = 1.0 - _ratio(np.sum(cy[first[one]] ** 2, axis=1), css[first[one]])
    for i in np.flatnonzero(widths > 1):
        c = layout.columns[i]
        h = cy[c].T @ scaled_inverse(xc[:, c].T @ xc[:, c]) @ cy[c]
        lam[i] = float(np.clip(np.linalg.det(np.eye(h.shape[0]) - h), 0.0, 1.0)) if h.size else 1.0
    dfe = n - 1.0 - widths
    lp = np.where(dfe > 0, log10_wilks_p(lam, t, widths, np.maximum(dfe, 1.0)), 0.0)
    return lp, lam


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den in [0, 1], 0 where the denominator has no variance to speak of."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(r, 0.0, 1.0)


def _product_columns(plan: Plan, main: dict[str, int], lp: np.ndarray, room: int) -> tuple[list[int], int]:
    """The interacting columns (indices into ``plan.interacting``) whose products are scored:
    all of them, or the strongest alone whose products fit ``room`` candidates."""
    k = len(plan.interacting)
    if k * (k - 1) // 2 <= room:
        return list(range(k)), 0
    fit = int((1 + np.sqrt(1 + 8 * max(room, 0))) // 2)
    while fit * (fit - 1) // 2 > room:
        fit -= 1
    strength = np.array([lp[main[name]] for name in plan.interacting])
    best = np.argsort(strength, kind="stable")[:fit]
    return sorted(int(c) for c in best), k * (k - 1) // 2 - fit * (fit - 1) // 2


def _product_scores(z: np.ndarray, yw: np.ndarray, keep: int, budget: float,
                    workers: int = 1) -> tuple[tuple[np.ndarray, np.ndarray], int, int]:
    """The ``keep`` best product scores (1 − Wilks' lambda of z_a·z_b alone) and their pair
    numbers (the pair's place in ``itertools.combinations`` order), best first, ties by pair
    number; also the number of blocks and the most candidates one block held. ``workers``
    blocks are scored side by side, each within its share of ``budget`` bytes; the result does
    not depend on how many."""
    n, k = z.shape
    best_s, best_k = np.zeros(0), np.zeros(0, dtype=np.int64)
    if k < 2 or n == 0:
        return (best_s, best_k), 0, 0
    cells = max(int(budget // (BLOCK_ARRAYS * _BYTES * workers)), k)
    z2 = z * z
    spans, a0 = [], 0
    while a0 < k - 1:
        a1 = min(a0 + max(cells // (k - a0 - 1), 1), k - 1)  # partners of a0: a0 + 1 .. k - 1
        spans.append((a0, a1))
        a0 = a1

    def best_of(a0: int, a1: int, floor: float) -> tuple[np.ndarray, np.ndarray, int]:
        s = _block_scores(z, z2, yw, a0, a1, n)
        return (*_best_cells(s, a0, k, keep, floor), s.size)

    largest = 0
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for a0, a1 in spans:
            floor = float(best_s[-1]) if len(best_s) >= keep else 0.0  # a lower bound of the final floor
            pending.append(pool.submit(best_of, a0, a1, floor))
            while len(pending) >= workers:
                best_s, best_k, size = _merged(best_s, best_k, *pending.popleft().result(), keep)
                largest = max(largest, size)
        while pending:
            best_s, best_k, size = _merged(best_s, best_k, *pending.popleft().result(), keep)
            largest = max(largest, size)
    return (best_s, best_k), len(spans), largest


def _merged(best_s: np.ndarray, best_k: np.ndarray, s: np.ndarray, pairs: np.ndarray, size: int,
            keep: int) -> tuple[np.ndarray, np.ndarray, int]:
    scores, pairs = np.concatenate([best_s, s]), np.concatenate([best_k, pairs])
    order = np.lexsort((pairs, -scores))[:keep]
    return scores[order], pairs[order], size


def _block_scores(z: np.ndarray, z2: np.ndarray, yw: np.ndarray, a0: int, a1: int, n: int) -> np.ndarray:
    """Scores of the products z_a·z_b for a in [a0, a1) and b in (a0, k), as an
    (a1 − a0) × (k − a0 − 1) array; cells with b <= a (no pair) are −1. Two arrays of the
    block's size are held, plus a mask (``BLOCK_ARRAYS`` counts them with the selection's)."""
    za, rest = z[:, a0:a1], z[:, a0 + 1 :]
    q = z2[:, a0:a1].T @ z2[:, a0 + 1 :]  # Σ z_a² z_b²
    p = za.T @ rest  # Σ z_a z_b
    np.multiply(p, p, out=p)
    p *= 1.0 / n
    np.subtract(q, p, out=p)  # the product's centred sum of squares
    q *= 1e-10
    flat = p <= q  # constant up to rounding
    if yw.shape[1] == 1:  # Σ z_a z_b ỹ (ỹ sums to 0): the product's co-moment with the target
        np.matmul((za * yw).T, rest, out=q)
        np.multiply(q, q, out=q)
    else:
        q = _squared_sum(za, rest, yw)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(q, p, out=q)
    q[flat] = 0.0
    np.minimum(q, 1.0, out=q)
    q[np.tril_indices(a1 - a0, -1, q.shape[1])] = -1.0  # b <= a
    return q


def _squared_sum(za: np.ndarray, rest: np.ndarray, yw: np.ndarray) -> np.ndarray:
    """Σ_j (Σ z_a z_b ỹ_j)² over the target columns (a multiclass target)."""
    out = np.zeros((za.shape[1], rest.shape[1]))
    for j in range(yw.shape[1]):
        g = (za * yw[:, j : j + 1]).T @ rest
        np.multiply(g, g, out=g)
        out += g
    return out


def _best_cells(s: np.ndarray, a0: int, k: int, keep: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """The block's scores that can be among the ``keep`` best (at least ``floor`` and at least
    the block's own keep-th best; ties all kept) and their pair numbers."""
    flat = s.reshape(-1)
    if flat.size > keep:
        floor = max(floor, float(np.partition(flat, flat.size - keep)[flat.size - keep]))
    cells = np.flatnonzero(flat >= max(floor, 0.0))
    r, c = np.divmod(cells, s.shape[1])
    a, b = r + a0, c + a0 + 1
    pair = a * k - a * (a + 1) // 2 + (b - a - 1)  # place in combinations(range(k), 2)
    return flat[cells], pair.astype(np.int64)


def _pair_of(pair: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of each pair number in ``itertools.combinations(range(k), 2)`` order."""
    starts = np.array([a * k - a * (a + 1) // 2 for a in range(k)], dtype=np.int64)
    a = np.searchsorted(starts, pair, side="right") - 1
    return a, pair - starts[a] + a + 1


def _select(listed: tuple[Term, ...], lp_listed: np.ndarray, products: list[tuple[float, int, Term]],
            main: dict[str, int], room: int) -> list[Term]:
    """The strongest terms within ``room`` design columns: every main term when they all fit,
    else main terms compete too; a product or square comes with its columns' main terms."""
    chosen: set[int] = set()
    width = 0
    mains = [i for i, term in enumerate(listed) if not term.engineered]
    if sum(listed[i].width for i in mains) <= room:
        chosen.update(mains)
        width = sum(listed[i].width for i in mains)
    extra: dict[int, Term] = {}
    cands = [(float(lp_listed[i]), i, term) for i, term in enumerate(listed) if i not in chosen]
    for lp, order, term in sorted(cands + products, key=lambda c: (c[0], c[1])):
        if width >= room:
            break
        need = [order] + [main[s] for s in term.sources if term.kind in ("product", "square")
                          and main.get(s) is not None and main[s] not in chosen]
        need = list(dict.fromkeys(need))
        cost = sum(listed[i].width if i < len(listed) else term.width for i in need)
        if width + cost > room:
            continue
        for i in need:
            if i < len(listed):
                chosen.add(i)
            else:
                extra[i] = term
        width += cost
    kept = [listed[i] for i in sorted(chosen) if not listed[i].engineered]
    kept += [listed[i] for i in sorted(chosen) if listed[i].engineered]
    return kept + [extra[i] for i in sorted(extra)]
