"""``greta run``: the main job, from a data file to confirmed, explained findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from greta_cli.output import check_writable, is_tty, report_format, write_atomic


def run(
    config: Optional[Path] = typer.Argument(None, help="YAML config file (see `greta init`)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Data file: CSV, TSV, Parquet, Excel or JSON Lines."),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="The column to explain."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the results JSON here."),
    report: Optional[str] = typer.Option(None, "--report", "-r", help="Write a report here (.html, .md or .txt)."),
    backend: Optional[str] = typer.Option(None, "--backend", "-b", help="pandas, dask, spark or auto."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (same seed, same answer)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config value: section.key=value (repeatable)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Search, confirm and explain what drives TARGET in DATA."""
    from greta_cli.config import load_config
    from greta_cli.core_integration.integration import run_analysis_pipeline

    overrides = list(set_)
    for key, value in (("data.path", data), ("data.target", target), ("output.results", output),
                       ("output.report", report), ("scalability.ingestion_backend", backend),
                       ("hypothesis_search.seed", seed)):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value) if isinstance(value, str) else value}")
    cfg = load_config(config, overrides)
    quiet = quiet or cfg.output.quiet
    out, rep = cfg.output.results, cfg.output.report
    check_writable(out)
    check_writable(rep)
    rep_fmt = report_format(rep) if rep else None
    with _progress(not quiet and is_tty(_stderr())) as progress:
        results = run_analysis_pipeline(cfg, progress=progress)
    texts = {out: json.dumps(results, indent=2, allow_nan=False, default=_json_default)} if out else {}
    if rep:
        from greta_core.report import render

        texts[rep] = render(results, rep_fmt)
    for path, text in texts.items():
        write_atomic(path, text)
    if quiet:
        return
    if is_tty():
        from greta_cli.display import show_results

        show_results(results, saved=list(texts))
    elif not out:
        typer.echo(json.dumps(results, indent=2, allow_nan=False, default=_json_default))


def _json_default(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def _stderr() -> Any:
    import sys

    return sys.stderr


class _NoProgress:
    def __enter__(self):  # noqa: ANN204
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from greta_cli.display import StageProgress

    return StageProgress()
