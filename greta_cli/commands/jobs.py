"""Background job commands: ``greta submit``, ``status``, ``results``, ``cancel``, ``list`` and
``worker`` (see docs/jobs.md). Celery, Redis and the engine are imported inside the commands,
so ``greta --help`` stays instant."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

import typer

_CONFIG_HELP = "YAML config whose scalability.celery_config names the broker (default: env)."
_ID_HELP = "The job id printed by `greta submit`, or its first characters (at least 4)."


def _manager(config: Optional[Path], **kwargs: Any) -> Any:
    from greta_cli.commands.common import load as load_config
    from greta_cli.job_management.job_manager import JobManager

    return JobManager(load_config(config), **kwargs)


def _overrides(set_: list[str], **values: Any) -> list[str]:
    out = list(set_)
    for key, value in values.items():
        if value is not None:
            out.append(f"{key}={json.dumps(value) if isinstance(value, str) else value}")
    return out


def submit(
    config: Optional[Path] = typer.Argument(None, help="YAML config file (see `greta init`)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Data file to analyse."),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="The column to explain."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (same seed, same answer)."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config value: section.key=value (repeatable)."),
    json_: bool = typer.Option(False, "--json", help='Print {"id": ...} instead of the bare id.'),
    no_worker: bool = typer.Option(False, "--no-worker", help="Do not start a local worker (embedded broker only)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Queue an analysis as a background job and print its id."""
    from greta_cli.commands.common import load as load_config
    from greta_cli.job_management.job_manager import JobManager
    from greta_cli.job_management.monitor import alive_workers

    cfg = load_config(config, _overrides(set_, **{"data.path": data, "data.target": target,
                                                  "hypothesis_search.seed": seed}))
    manager = JobManager(cfg, autostart=False if no_worker else None)
    job = manager.submit_analysis_job(cfg)
    typer.echo(json.dumps({"id": job.id}) if json_ else job.id)
    hint = f"greta: queued job {job.id} on {manager.engine.describe()}. Watch it: greta status {job.id} --watch"
    if not manager.engine.embedded and not alive_workers(manager.registry, manager.timing, manager.engine.queue):
        hint += f"\ngreta: warning: no worker is serving queue {manager.engine.queue!r}; start one with `greta worker`."
    if sys.stderr.isatty() or "warning" in hint:
        typer.echo(hint, err=True)


def status(
    job_id: str = typer.Argument(..., help=_ID_HELP),
    watch: bool = typer.Option(False, "--watch", "-w", help="Follow the job until it ends (exit 0 if it succeeded, 1 if not)."),
    json_: bool = typer.Option(False, "--json", help="Print JSON (with --watch: one object per change)."),
    interval: float = typer.Option(0.5, "--interval", help="Seconds between checks with --watch.", min=0.05),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also show each finished stage's time, CPU, peak memory and bytes read and moved."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Show a job's state and progress."""
    manager = _manager(config)
    job = manager.get_job_status(manager.resolve_job_id(job_id))
    _serve_queued(manager, [job])
    if not watch:
        typer.echo(json.dumps(job.to_dict()) if json_ else _describe(job))
        if verbose and not json_:
            from greta_cli.usage import stage_table

            typer.echo(stage_table(job.progress.metrics))
        return
    if json_ or not sys.stderr.isatty():
        job = _watch_lines(manager, job, interval, json_)
    else:
        job = _watch_bar(manager, job, interval)
        typer.echo(_describe(job))
    raise typer.Exit(0 if job.state.value == "succeeded" else 1)


def _watch_lines(manager: Any, job: Any, interval: float, as_json: bool) -> Any:
    last = None
    while True:
        text = json.dumps(job.to_dict()) if as_json else _line(job)
        key = (job.state, job.progress.stage, job.progress.percent)
        if key != last:
            typer.echo(text)
            last = key
        if job.state.final:
            return job
        time.sleep(interval)
        job = manager.get_job_status(job.id)


def _watch_bar(manager: Any, job: Any, interval: float) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
               TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(job.state.value, total=100, detail="")
        while True:
            detail = job.progress.describe(percent=False) if job.state.value == "running" else ""
            bar.update(task, description=job.state.value, completed=job.progress.percent, detail=detail)
            if job.state.final:
                return job
            time.sleep(interval)
            job = manager.get_job_status(job.id)


def _when(t: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _line(job: Any) -> str:
    detail = job.progress.describe() if job.state.value == "running" else ""
    return f"{job.id}  {job.state.value}" + (f"  {detail}" if detail else "")


def _describe(job: Any) -> str:
    from greta_core.safe_text import shown_name, shown_text

    rows = [("job", job.id), ("state", job.state.value)]
    if job.progress.stage:
        rows.append(("progress", job.progress.describe()))
    rows += [("target", shown_name(job.target or "-")), ("data", shown_text(job.data_path or "-")),
             ("submitted", _when(job.submitted_at)), ("started", _when(job.started_at)),
             ("finished", _when(job.finished_at))]
    if job.attempts > 1:
        rows.append(("attempts", str(job.attempts)))
    if job.cancel_requested and not job.state.final:
        rows.append(("cancel", "requested"))
    if job.error:
        rows.append(("error", shown_text(job.error)))
    if job.state.value == "succeeded":
        rows.append(("results", f"greta results {job.id} --output results.json"))
    return "\n".join(f"{k:<10} {v}" for k, v in rows)


def results(
    job_id: str = typer.Argument(..., help=_ID_HELP),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write here instead of printing."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="json, md, html or text (default: from --output, else json)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Print or save the results of a succeeded job."""
    from greta_cli.output import check_outputs, report_format, write_atomic
    from greta_core.report import render

    fmt = fmt or (report_format(output) if output else "json")
    manager = _manager(config)
    job = manager.get_job_status(manager.resolve_job_id(job_id))
    check_outputs({"--output": output}, {"job's data": job.data_path})
    doc = manager.get_job_result(job.id)
    text = render(doc, fmt)
    if output:
        write_atomic(output, text)
        typer.echo(f"wrote {output}", err=True)
    else:
        typer.echo(text, nl=not text.endswith("\n"))


def cancel(
    job_id: str = typer.Argument(..., help=_ID_HELP),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Cancel a queued or running job."""
    manager = _manager(config)
    before = manager.get_job_status(manager.resolve_job_id(job_id))
    if before.state.final:
        typer.echo(f"Job {before.id} had already {_past(before.state.value)}; nothing to cancel.")
        return
    job = manager.cancel_job(before.id)
    if job.state.value == "cancelled":
        typer.echo(f"Cancelled job {job.id}.")
    else:
        typer.echo(f"Job {job.id} {_past(job.state.value)} before it could be cancelled.")


def _serve_queued(manager: Any, jobs: list[Any]) -> None:
    """Queued jobs that no live worker takes: with the embedded broker, start a worker (or
    say how); else say so (stderr)."""
    hint = manager.serve_queued()
    if hint:
        typer.echo(hint, err=True)
    for line in manager.untaken_warnings(jobs):
        typer.echo(line, err=True)


def _past(state: str) -> str:
    return {"succeeded": "succeeded", "failed": "failed", "cancelled": "been cancelled"}.get(state, state)


def list_(
    state: Optional[str] = typer.Option(None, "--state", help="Only jobs in this state: queued, running, succeeded, failed or cancelled."),
    json_: bool = typer.Option(False, "--json", help="Print a JSON list of job objects."),
    limit: int = typer.Option(50, "--limit", "-n", help="Show at most this many (newest first); 0 for all.", min=0),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help=_CONFIG_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """List jobs, newest first."""
    from greta_cli.job_management.models import parse_state

    wanted = parse_state(state) if state else None
    manager = _manager(config)
    jobs = manager.list_jobs(wanted)
    _serve_queued(manager, jobs)
    jobs = jobs[:limit] if limit else jobs
    if json_:
        typer.echo(json.dumps([j.to_dict() for j in jobs], indent=2))
        return
    if not jobs:
        typer.echo("No jobs" + (f" in state {wanted.value}." if wanted else ". Queue one with `greta submit`."))
        return
    from greta_core.safe_text import shown_name

    head = ("ID", "STATE", "PROGRESS", "SUBMITTED", "TARGET", "DATA")
    rows = [(j.id, j.state.value, f"{j.progress.percent:.0f}% {j.progress.stage or ''}".strip()
             if j.state.value == "running" else "", _when(j.submitted_at), shown_name(j.target or "-"),
             shown_name(Path(j.data_path).name if j.data_path else "-")) for j in jobs]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        typer.echo("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())


def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="Jobs run at once by this worker.", min=1),
    queues: Optional[str] = typer.Option(None, "--queues", "-Q", help="Comma-separated queues to serve (default: the configured queue, 'greta')."),
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="debug, info, warning or error."),
    idle_timeout: float = typer.Option(0.0, "--idle-timeout", help="Stop after this many seconds with no queued or running job (0: never).", min=0),
    config: Optional[Path] = typer.Option(None, "--config", help=_CONFIG_HELP),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Run a worker that executes background jobs (stop it with Ctrl-C)."""
    from importlib.util import find_spec

    from greta_cli.commands.common import load as load_config
    from greta_cli.job_management.engine import engine_from_config
    from greta_cli.job_management.errors import jobs_unavailable

    if find_spec("celery") is None:
        raise jobs_unavailable("Workers")
    from greta_cli.job_management.worker import run_worker

    engine = engine_from_config(load_config(config))
    if engine.uses_redis:
        from greta_cli.job_management.registry import open_registry

        open_registry(engine.registry_url).ping()  # one clear line if Redis is down
    typer.echo(f"greta: worker for {engine.describe()}, queue {queues or engine.queue!r}", err=True)
    run_worker(engine, concurrency=concurrency, queues=queues, loglevel=loglevel,
               idle_timeout=idle_timeout)
