"""Small frozen parameter objects the engine takes (built from the CLI's configuration)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AnalysisParams:
    target: str
    columns: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    row_filter: str | None = None
    # preprocessing
    interactions: bool = True
    squares: bool = True
    logs: bool = True
    max_levels: int = 20
    min_level_fraction: float = 0.005
    max_design_columns: int = 600
    screen_memory_mb: float = 256.0  # working memory of the screening of candidate terms
    max_screen_terms: int = 100_000_000  # most candidate terms screened (products of weak columns left out)
    sample_rows: int = 50000
    batch_rows: int | None = None  # the user's rows per batch (None: sized from the memory limit)
    # search: "auto" scores every hypothesis when there are at most exact_max_hypotheses
    search_strategy: str = "auto"  # auto | exact | genetic
    exact_max_hypotheses: int = 100_000
    pop_size: int = 100
    num_generations: int = 60
    cx_prob: float = 0.9
    mut_prob: float | None = None
    max_terms: int = 8
    patience: int | None = None
    search_max_minutes: float | None = None  # time budget of the genetic search (None: a long one is refused)
    seed: int = 0
    # where the search evaluates populations (``workers`` caps its workers too)
    distributed_backend: str = "local"  # local | multiprocessing | dask | spark | auto
    cluster_address: str | None = None  # Dask scheduler or Spark master; None: local workers
    distributed_fallback: bool = True  # a failed cluster: continue locally (warning) or raise
    # statistics
    alpha: float = 0.05
    holdout_fraction: float = 0.5
    sample_size: int = 5000
    max_hypotheses: int = 10
    # segments: who has the highest or lowest target (conjunctions of a few conditions)
    segments: bool = True
    segments_max_conditions: int = 3
    segments_min_share: float = 0.02
    segments_max_reported: int = 5
    segments_bins: int = 10
    segments_sample_rows: int = 50_000  # discovery rows the segment search runs on
    # execution
    backend: str = "pandas"
    workers: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
