"""From a :class:`GretaConfig` to the engine's inputs: where the data is (``FileSpec``) and the
frozen ``AnalysisParams``. Used by the foreground run and by job submission alike, so neither
depends on the other."""

from __future__ import annotations

import os
from typing import Any

from greta_cli.config import GretaConfig
from greta_cli.config.loading import data_path_origin
from greta_core.errors import DataFileNotFoundError, InvalidConfigError


def is_frame(data: Any) -> bool:
    """True for a pandas, Dask or Spark DataFrame (checked without importing any of them)."""
    return data is not None and not isinstance(data, (str, bytes, os.PathLike)) \
        and hasattr(data, "columns")


def file_spec(config: GretaConfig, data_path: Any = None) -> Any:
    from greta_core.ingestion.readers import FileSpec

    if is_frame(data_path):
        # A DataFrame from the Python API: the backend of its engine uses it as it is.
        kind = type(data_path).__module__.split(".")[0]
        return FileSpec(path=f"<{kind} DataFrame>", batch_rows=batch_rows(config),
                        options={"dataframe": data_path})
    path = data_path or config.data.path
    if not path:
        msg = "No data file given. Pass --data FILE or set data.path in the config."
        raise InvalidConfigError(msg)
    if data_path is None:
        check_config_path(config)
    d, p = config.data, config.preprocessing
    return FileSpec(path=str(path), format=d.format, sheet=d.sheet, delimiter=d.delimiter, decimal=d.decimal,
                    batch_rows=batch_rows(config))


def batch_rows(config: GretaConfig) -> int:
    """``preprocessing.batch_rows``, else sized from the memory this process may use."""
    if config.preprocessing.batch_rows:
        return config.preprocessing.batch_rows
    from greta_core.resources.sizing import engine_sizes

    return engine_sizes().batch_rows


def check_config_path(config: GretaConfig) -> None:
    """A relative ``data.path`` from a config file is read relative to that file's folder: if
    nothing is there, say so, and where Greta looked."""
    origin = data_path_origin(config)
    if origin is None:
        return
    written, resolved, cfg_file = origin
    if any(c in resolved for c in "*?[") or os.path.exists(resolved):
        return
    msg = (f"Data file {written!r} does not exist: data.path in {cfg_file!r} is read relative to "
           f"that file's folder, so Greta looked for {os.path.abspath(resolved)!r}. Fix data.path "
           "(relative to the config file, or absolute), or pass --data FILE.")
    raise DataFileNotFoundError(msg)


def analysis_params(config: GretaConfig) -> Any:
    from greta_core.params import AnalysisParams

    d, p, h, s = config.data, config.preprocessing, config.hypothesis_search, config.statistics
    g = config.segments
    if not d.target:
        msg = "No target column given. Pass --target COLUMN or set data.target in the config."
        raise InvalidConfigError(msg)
    from greta_core.plan.row_filter import parse_optional

    parse_optional(d.row_filter)  # a config built in Python skips the model's checks: refuse here too
    return AnalysisParams(
        target=d.target, columns=tuple(d.columns) if d.columns else None, exclude=tuple(d.exclude),
        row_filter=d.row_filter, interactions=p.interactions, squares=p.squares, logs=p.logs,
        max_levels=p.max_levels, min_level_fraction=p.min_level_fraction,
        max_design_columns=p.max_design_columns, screen_memory_mb=p.screen_memory_mb,
        max_screen_terms=p.max_screen_terms, sample_rows=p.sample_rows, batch_rows=p.batch_rows, search_strategy=h.strategy,
        exact_max_hypotheses=h.exact_max_hypotheses, pop_size=h.pop_size,
        num_generations=h.num_generations, cx_prob=h.cx_prob, mut_prob=h.mut_prob,
        max_terms=h.max_terms, patience=h.patience, search_max_minutes=h.max_minutes, seed=h.seed, alpha=s.alpha, holdout_fraction=s.holdout_fraction,
        sample_size=s.sample_size, max_hypotheses=s.max_hypotheses,
        segments=g.enabled, segments_max_conditions=g.max_conditions, segments_min_share=g.min_share,
        segments_max_reported=g.max_reported, segments_bins=g.bins, segments_sample_rows=g.sample_rows,
        backend=config.scalability.ingestion_backend, workers=h.max_workers,
        distributed_backend=h.distributed_backend, cluster_address=h.cluster_address,
        distributed_fallback=h.distributed_fallback,
        extra={"dask_config": config.scalability.dask_config.model_dump(),
               "spark_config": dict(config.scalability.spark_config)},
    )
