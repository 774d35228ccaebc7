"""Confirm segments on held-out rows: the best distinct segments from the search, each
re-tested inside against outside on rows the search never saw (Welch's test of the difference
of means — for a yes/no target, of rates — whose variance allows the two groups to differ).
The p-values join the run's Benjamini–Hochberg family; the caller sets the q-values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from greta_core.segments.collect import Part
from greta_core.segments.conditions import Feature, Segment, as_data, describe_segment, mask
from greta_core.segments.search import Found, beam_search, quality

Z95 = 1.959963984540054  # the normal distribution's 97.5th percentile
OVERLAP = 0.5  # a segment sharing more than this of its rows with a better one is the same rows


@dataclass
class Tested:
    segment: Segment
    target: int  # which target column (a class's share: -1 for the reference class)
    found: Found
    disc_rows: int
    inside: dict[str, Any] = field(default_factory=dict)
    outside: dict[str, Any] = field(default_factory=dict)
    difference: dict[str, Any] = field(default_factory=dict)
    p_value: float = math.nan
    rows: int = 0
    share: float = math.nan


def targets(y: np.ndarray, task: str) -> list[tuple[int, np.ndarray]]:
    """The target columns searched: the value, the positive class, or every class's share."""
    if task != "multiclass":
        return [(0, y[:, 0])]
    return [(-1, 1.0 - y.sum(axis=1))] + [(i, y[:, i]) for i in range(y.shape[1])]


def search(part: Part, features: Sequence[Feature], task: str, max_conditions: int, min_share: float,
           beam: int, a: float) -> list[tuple[int, Found]]:
    """Every target column's best segments on the discovery rows, best |quality| first."""
    out = []
    for k, y in targets(part.y, task):
        out += [(k, f) for f in beam_search(part.codes, y, features, max_conditions, min_share, beam, a)]
    return sorted(out, key=lambda kf: -abs(kf[1].quality))


def simplify(segment: Segment, codes: np.ndarray, features: Sequence[Feature]) -> tuple[Segment, np.ndarray]:
    """The segment without conditions that leave out no row of it (on the discovery rows)."""
    inside = mask(codes, segment, features)
    for c in list(segment):
        if len(segment) > 1:
            rest = tuple(x for x in segment if x is not c)
            if np.array_equal(mask(codes, rest, features), inside):
                segment = rest
    return segment, inside


def distinct(found: list[tuple[int, Found]], part: Part, features: Sequence[Feature], most: int, task: str,
             a: float) -> list[tuple[int, Found, Segment, int]]:
    """The best segments that are not nested in, nor mostly the same rows as, a better one, and
    that still stand out once the rows of better ones are set aside (a shadow of a better
    segment — its rows overlapping it — is left out)."""
    columns = dict(targets(part.y, task))
    chosen: list[tuple[int, Found, Segment, int]] = []
    masks: list[tuple[np.ndarray, int]] = []  # the chosen segments' rows, and how many
    taken = np.zeros(len(part.y), dtype=bool)
    for k, f in found:
        if len(chosen) >= most:
            break
        m = mask(part.codes, f.segment, features)
        size = int(np.count_nonzero(m))
        if size == 0 or any(np.count_nonzero(m & o) > OVERLAP * min(size, n) for o, n in masks):
            continue
        if masks:  # rows are taken by the segments chosen so far
            y, rest = columns[k], ~taken
            alone = m & rest
            inside = int(np.count_nonzero(alone))
            if inside < 2:
                continue
            q = quality(np.float64(inside), np.float64(y[alone].mean()), int(np.count_nonzero(rest)),
                        float(y[rest].mean()), a)
            if q * np.sign(f.quality) < 0.5 * abs(f.quality):
                continue
        seg, _ = simplify(f.segment, part.codes, features)  # the same rows, fewer words
        chosen.append((k, f, seg, size))
        masks.append((m, size))
        taken |= m
    return chosen


def _interval(mean: float, var: float, n: int, binary: bool) -> tuple[float, float]:
    if n < 2:
        return math.nan, math.nan
    if binary:  # Wilson's interval: honest near 0% and 100%
        z = Z95
        centre = (mean + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(mean * (1 - mean) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half
    half = special.stdtrit(n - 1, 0.975) * math.sqrt(var / n)
    return mean - half, mean + half


def _group(y: np.ndarray, binary: bool) -> tuple[dict[str, Any], float]:
    n = len(y)
    mean = float(y.mean()) if n else math.nan
    var = float(y.var(ddof=1)) if n > 1 else math.nan
    low, high = _interval(mean, var, n, binary)
    if binary and n > 1:  # a rate of 0% or 100% in a few rows is not certain: its variance is kept off zero
        shrunk = (float(y.sum()) + 0.5) / (n + 1)
        var = shrunk * (1 - shrunk) * n / (n - 1)
    return {"rows": n, "mean": mean, "ci_low": low, "ci_high": high}, var


def test(found: list[tuple[int, Found, Segment, int]], disc: Part, held: Part, features: Sequence[Feature],
         task: str) -> list[Tested]:
    """Each segment inside against outside on the held-out rows."""
    binary = task != "regression"
    columns = dict(targets(held.y, task))
    d_scale = disc.seen / max(len(disc.key), 1)
    h_scale = held.seen / max(len(held.key), 1)
    out = []
    for k, f, seg, disc_rows in found:
        y = columns[k]
        m = mask(held.codes, seg, features)
        inside, v_in = _group(y[m], binary)
        outside, v_out = _group(y[~m], binary)
        t = Tested(seg, k, f, disc_rows, inside, outside)
        n1, n2 = inside["rows"], outside["rows"]
        if n1 >= 2 and n2 >= 2:
            diff = inside["mean"] - outside["mean"]
            a, b = v_in / n1, v_out / n2
            se = math.sqrt(a + b)
            df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1)) if a + b > 0 else 1.0
            half = special.stdtrit(df, 0.975) * se
            t.difference = {"estimate": diff, "ci_low": diff - half, "ci_high": diff + half}
            if se > 0:
                t.p_value = float(2 * special.stdtr(df, -abs(diff) / se))
            elif diff != 0:
                t.p_value = 0.0
        t.share = n1 / max(len(held.key), 1)
        t.rows = int(round(disc_rows * d_scale + n1 * h_scale))
        out.append(t)
    return out


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (_num(v) if isinstance(v, float) else v) for k, v in d.items()}


def as_results(tested: list[Tested], qs: Sequence[float], features: Sequence[Feature], classes: Sequence[str],
               task: str, alpha: float, held: Part) -> list[dict[str, Any]]:
    """The results document's ``segments``: one entry per tested segment, in the search's order."""
    out = []
    for rank, (t, q) in enumerate(zip(tested, qs), 1):
        direction = "higher" if t.found.quality > 0 else "lower"
        diff = t.difference.get("estimate")
        agrees = diff is not None and (diff > 0) == (t.found.quality > 0)
        confirmed = bool(q is not None and math.isfinite(q) and q <= alpha and agrees)
        cls = None
        if task == "multiclass":
            cls = classes[0] if t.target < 0 else classes[t.target + 1]
        elif task == "binary":
            cls = classes[1]
        out.append({
            "rank": rank, "conditions": [as_data(c, features[c.column]) for c in t.segment],
            "description": describe_segment(t.segment, features), "direction": direction, "class": cls,
            "rows": t.rows, "share": _num(t.share), "rows_holdout": t.inside["rows"],
            "holdout_complete": held.complete,
            "inside": _clean(t.inside), "outside": _clean(t.outside), "difference": _clean(t.difference) or None,
            "p_value": _num(t.p_value), "q_value": _num(q), "confirmed": confirmed,
            "discovery": {"rows": t.disc_rows, "mean": _num(t.found.mean), "quality": _num(t.found.quality)},
        })
    return out
