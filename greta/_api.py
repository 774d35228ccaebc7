"""``greta.analyze``: the command line's analysis, from Python, on a file or a DataFrame."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

from greta.result import AnalysisResult

SOURCE = "from the argument"


def analyze(data: Any = None, /, target: str | None = None, *, seed: int | None = None,
            backend: str | None = None, config: str | os.PathLike[str] | None = None,
            progress: bool = False, **settings: Any) -> AnalysisResult:
    """Search, confirm and explain what drives ``target`` in ``data``.

    Parameters
    ----------
    data
        A path (CSV, TSV, Parquet, Excel, JSON Lines; a glob, a folder of parts or a URL with
        the Dask or Spark backend), or a DataFrame: pandas (analysed in memory, in batches,
        with no temporary file), Dask or Spark (analysed where it lives, by its engine).
        ``None`` takes ``data.path`` from ``config``. (``data={...}`` as a keyword sets keys
        of the ``data`` section instead.)
    target
        The column to explain (``data.target``).
    seed
        Random seed (``hypothesis_search.seed``): the same seed gives the same answer.
    backend
        ``pandas``, ``dask``, ``spark`` or ``auto`` for a path
        (``scalability.ingestion_backend``); a DataFrame is analysed by its own engine.
    config
        A YAML configuration file, as ``greta run CONFIG`` takes; the arguments win over it.
        Environment variables (``GRETA__...``) are not read: what a notebook runs is in it.
    progress
        Show a progress bar per stage (in a notebook too).
    **settings
        Configuration keys, checked as on the command line: by section,
        ``hypothesis_search={"pop_size": 200}``, or dotted,
        ``**{"hypothesis_search.pop_size": 200}``. ``output={"results": "r.json", "report":
        "r.html"}`` also writes those files.

    Returns
    -------
    AnalysisResult
        The frozen results: ``summary()``, ``hypotheses``, ``columns``, ``to_dict()``, ...

    Raises
    ------
    GretaError
        A problem with the input (one-line message, as the command line prints it): an unknown
        key or a bad value (:class:`~greta_core.errors.InvalidConfigError`), a missing file or
        column, an unusable target, ...
    """
    from greta_cli.config import load_config
    from greta_cli.config.legacy import DeprecatedConfigWarning
    from greta_cli.core_integration.params import is_frame
    from greta_core.errors import InvalidConfigError

    given: dict[str, Any] = dict(settings)
    if data is None and "data" in given and not isinstance(given["data"], Mapping):
        data = given.pop("data")  # analyze(data=df): the data, not the data section's keys
    frame = data if is_frame(data) else None
    if data is not None and frame is None:
        if not isinstance(data, (str, os.PathLike)):
            msg = (f"data must be a path or a pandas, Dask or Spark DataFrame; got a "
                   f"{type(data).__name__}.")
            raise InvalidConfigError(msg)
        given["data.path"] = os.fspath(data)
    for key, value in (("data.target", target), ("hypothesis_search.seed", seed),
                       ("scalability.ingestion_backend", backend)):
        if value is not None:
            given[key] = value
    notices: list[str] = []
    cfg = load_config(config, env={}, settings=given, settings_source=SOURCE, notices=notices)
    for line in notices:
        warnings.warn(line, DeprecatedConfigWarning, stacklevel=2)
    return _run(cfg, frame, progress)


def _run(cfg: Any, frame: Any, progress: bool) -> AnalysisResult:
    from greta_cli.core_integration.integration import run_analysis_pipeline
    from greta_cli.output import check_writable

    for path in (cfg.output.results, cfg.output.report):
        check_writable(path)
    with _bar(progress) as bar:
        doc = run_analysis_pipeline(cfg, data_path=frame, progress=bar)
    result = AnalysisResult.from_document(doc)
    if cfg.output.results:
        result.to_json(cfg.output.results)
    if cfg.output.report:
        result.report(cfg.output.report)
    return result


class _NoBar:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _bar(enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from rich.console import Console

    from greta_cli.display import StageProgress

    console = Console(stderr=True)
    if console.is_jupyter and not _has("ipywidgets"):  # live updates in Jupyter need widgets
        console = Console(stderr=True, force_jupyter=False)
    return StageProgress(console)


def _has(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None

