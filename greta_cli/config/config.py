"""Greta's configuration, by concern:

- :mod:`.models` — the pydantic models (``GretaConfig`` and its sections);
- :mod:`.loading` — file, then environment, then ``--set`` (``load_config``, ``config_from_dict``);
- :mod:`.legacy` — the key names of earlier releases, translated with a deprecation line each;
- :mod:`.overrides` — environment variables, ``--set`` and keyword settings;
- :mod:`.messages` — one-line error messages;
- :mod:`.redaction` — passwords out of everything shown (``redact_url``, ``config_to_dict``);
- :mod:`.rendering` — the commented YAML document (``render_config_yaml``).

This module keeps the public names in one place (DESIGN §9). The package imports pydantic and
PyYAML only, so ``greta --help`` stays fast.
"""

from __future__ import annotations

from greta_cli.config.loading import config_from_dict, load_config
from greta_cli.config.models import (
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
)
from greta_cli.config.redaction import config_to_dict, redact_url
from greta_cli.config.rendering import render_config_yaml

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
