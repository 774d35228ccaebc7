"""Greta's configuration: models, loading from file, environment and ``--set``, and rendering."""

from greta_cli.config.config import (
    CeleryConfig,
    DaskConfig,
    DataConfig,
    GretaConfig,
    HypothesisSearchConfig,
    OutputConfig,
    PreprocessingConfig,
    ScalabilityConfig,
    SegmentsConfig,
    StatisticsConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    redact_url,
    render_config_yaml,
)

__all__ = [
    "CeleryConfig",
    "DaskConfig",
    "DataConfig",
    "GretaConfig",
    "HypothesisSearchConfig",
    "OutputConfig",
    "PreprocessingConfig",
    "ScalabilityConfig",
    "SegmentsConfig",
    "StatisticsConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "redact_url",
    "render_config_yaml",
]
