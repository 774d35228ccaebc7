"""Segments: who has the highest (or lowest) target, found on discovery rows and confirmed on
held-out rows in the same run (DESIGN §5).

- ``conditions``: the bins and levels planned from the planning sample, and rows as codes;
- ``collect``: the per-batch rows kept in the statistics pass (no pass of its own);
- ``search``: beam search on the discovery rows;
- ``confirm``: the distinct best segments re-tested on held-out rows;
- ``narrate``: one sentence per segment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from greta_core.plan.design import Rows
from greta_core.segments.collect import key_bounds, SegmentRows, collect, sizes
from greta_core.segments.conditions import Coder, Feature


@dataclass(frozen=True)
class Settings:
    max_conditions: int = 3
    min_share: float = 0.02
    max_reported: int = 5
    bins: int = 10
    discovery_rows: int = 50_000
    holdout_rows: int = 1_000_000
    memory_mb: float = 64.0  # rows kept for segments (both splits), at most
    beam: int = 30
    quality_a: float = 0.5  # share ** a * (mean inside - mean of all)


def collector(plan: Any, features: Sequence[Feature], settings: Settings, rows: int | None = None,
              holdout_fraction: float = 0.5) -> Callable[[Rows], SegmentRows]:
    """The per-batch function keeping rows for segments (picklable: it travels to workers).
    ``rows``: an estimate of the rows in all, so each batch keeps only its share (``key_bounds``)."""
    d, h = sizes(len(features), plan.target.width, settings.discovery_rows, settings.holdout_rows,
                 settings.memory_mb)
    return partial(collect, coder=Coder(plan, features), discovery_rows=d, holdout_rows=h,
                   below=key_bounds(rows, d, h, holdout_fraction))


@dataclass
class Candidates:
    """The segments chosen on the discovery rows and their held-out tests (p-values not yet
    corrected: they join the run's Benjamini–Hochberg family)."""

    tested: list
    features: tuple[Feature, ...]
    rows: SegmentRows

    @property
    def p_values(self) -> list[float]:
        return [t.p_value for t in self.tested]


def find(rows: SegmentRows, features: Sequence[Feature], task: str, settings: Settings) -> Candidates:
    from greta_core.segments.confirm import distinct, search, test

    # the search sees one order on every backend; the codes are read a column at a time (a
    # condition's mask, a column's counts), so each part's are laid out column after column
    rows = SegmentRows(rows.discovery.in_key_order().by_column(), rows.holdout.by_column())
    found = search(rows.discovery, features, task, settings.max_conditions, settings.min_share, settings.beam,
                   settings.quality_a)
    chosen = distinct(found, rows.discovery, features, settings.max_reported, task, settings.quality_a)
    return Candidates(test(chosen, rows.discovery, rows.holdout, features, task), tuple(features), rows)


def results(c: Candidates, qs: Sequence[float], target: Any, alpha: float) -> list[dict[str, Any]]:
    from greta_core.segments.confirm import as_results
    from greta_core.segments.narrate import sentence

    out = as_results(c.tested, qs, c.features, target.classes, target.task, alpha, c.rows.holdout)
    for s in out:
        s["sentence"] = sentence(s, target.name, target.task)
    return out
