"""``greta run``: the main job, from a data file to confirmed, explained findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from greta_cli.output import check_outputs, is_tty, report_format, write_atomic


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
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors and each stage's resource usage."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="After the run, print each stage's time, CPU, peak memory and bytes read and moved."),
    async_: bool = typer.Option(False, "--async", help="Queue it as a background job and print the job id (see `greta submit`)."),
    config_opt: Optional[Path] = typer.Option(None, "--config", "-c", hidden=True, help="Deprecated: give CONFIG as the argument."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", hidden=True, help="Format of --output: json or yaml (output.results_format)."),
    override: Optional[str] = typer.Option(None, "--override", hidden=True, help="Deprecated: settings as a JSON object; use --set."),
) -> None:
    """Search, confirm and explain what drives TARGET in DATA."""
    from greta_cli.commands.common import load, one_of, parse_json_settings
    from greta_cli.core_integration.integration import run_analysis_pipeline
    from greta_cli.watch import fork_watched, memory_kills_explained

    config = one_of(config, config_opt, "config file", "--config")
    overrides, flags = list(set_), {}
    for key, value, flag in (("data.path", data, "--data"), ("data.target", target, "--target"),
                             ("output.results", output, "--output"), ("output.report", report, "--report"),
                             ("output.results_format", fmt, "--format"),
                             ("scalability.ingestion_backend", backend, "--backend"),
                             ("hypothesis_search.seed", seed, "--seed")):
        if value is not None:
            overrides.append(f"{key}={json.dumps(value) if isinstance(value, str) else value}")
            flags[key] = flag
    cfg = load(config, overrides, flags, parse_json_settings(override), quiet=quiet)
    if (async_ or cfg.scalability.async_processing) and _submitted(cfg):
        return
    quiet = quiet or cfg.output.quiet
    out, rep = cfg.output.results, cfg.output.report
    check_outputs({flags.get("output.results", "output.results"): out,
                   flags.get("output.report", "output.report"): rep},
                  {"data": cfg.data.path, "config": config and str(config)})
    rep_fmt = report_format(rep, has_format_option=False) if rep else None
    backend = cfg.scalability.ingestion_backend
    fork_watched(backend, [out, rep])
    with _progress(not quiet and is_tty(_stderr())) as progress, memory_kills_explained(backend):
        results = run_analysis_pipeline(cfg, progress=progress)
    as_yaml = results_format(out, cfg.output.results_format) == "yaml"
    texts = {out: _results_text(results, as_yaml)} if out else {}
    if rep:
        from greta_core.report import render

        texts[rep] = render(results, rep_fmt)
    for path, text in texts.items():
        write_atomic(path, text)
    if verbose or debug:
        from greta_cli.usage import search_line, stage_table

        metrics = results.get("metrics", {})
        typer.echo(stage_table(metrics.get("stages")), err=True)
        line = search_line(metrics.get("search"), (metrics.get("stages") or {}).get("search", {}).get("seconds"))
        if line:
            typer.echo(line, err=True)
    if quiet:
        return
    if is_tty() or out:  # piped with the results saved: the same summary, as plain text
        from greta_cli.display import show_results

        show_results(results, saved=list(texts))
    else:
        typer.echo(_results_text(results, as_yaml), nl=not as_yaml)


def results_format(path: Optional[str], fmt: Optional[str]) -> str:
    """json or yaml: as configured, else from the file's extension (.yaml or .yml: yaml)."""
    if fmt:
        return fmt
    return "yaml" if path and Path(path).suffix.lower() in (".yaml", ".yml") else "json"


def _results_text(results: dict[str, Any], as_yaml: bool) -> str:
    text = json.dumps(results, indent=2, allow_nan=False, default=_json_default)
    if not as_yaml:
        return text
    import yaml

    return yaml.safe_dump(json.loads(text), sort_keys=False, allow_unicode=True, width=100)


def _submitted(cfg: Any) -> bool:
    """Queue ``cfg`` as a background job and print its id; False (with a warning) when no job
    engine is usable, so the caller runs the analysis in the foreground instead."""
    from greta_core.errors import BackendUnavailableError, ScalabilityError

    try:
        from greta_cli.core_integration.integration import run_analysis_async

        job_id = run_analysis_async(cfg)
    except (BackendUnavailableError, ScalabilityError) as e:
        typer.echo(f"greta: warning: {e} Running in the foreground instead.", err=True)
        return False
    typer.echo(job_id)
    typer.echo(f"greta: queued job {job_id}. Watch it: greta status {job_id} --watch; "
               f"collect it: greta results {job_id} --output results.json", err=True)
    return True


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
