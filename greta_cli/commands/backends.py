"""``greta backends``: what is installed and reachable for the pandas, Dask and Spark backends
(and Redis for background jobs), in a table; then the memory this process may use and the sizes
each engine gets from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def backends(
    config: Path | None = typer.Argument(None, help="YAML config file whose cluster settings to check."),
    set_: list[str] = typer.Option([], "--set", "-s", help="Override a config value: section.key=value (repeatable)."),
    data: str | None = typer.Option(None, "--data", "-d", help="Also say which backend `auto` picks for this data."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Show which backends are installed and which clusters are reachable."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from greta_cli.commands.common import load as load_config

    cfg = load_config(config, list(set_))
    rows = checks(cfg)
    table = Table(title="Greta backends", title_justify="left")
    for name in ("Component", "Status", "Details"):
        table.add_column(name, overflow="fold")
    marks = {True: "[green]ok[/green]", False: "[red]missing[/red]", None: "[dim]not configured[/dim]"}
    for name, ok, detail in rows:
        table.add_row(escape(name), marks[ok], escape(detail))
    con = Console()
    con.print(table)
    con.print(sizes_table(Table))
    path = data or cfg.data.path
    if path:
        con.print(escape(f"auto would use: {auto_choice(cfg, path)}"))


def sizes_table(table_class: Any) -> Any:
    """The memory limit found and what each engine is given inside it."""
    from rich.markup import escape

    from greta_core.resources.memory import mib
    from greta_core.resources.sizing import engine_sizes

    s = engine_sizes()
    title = f"Memory this process may use: {s.limit.describe()}"
    if s.limit.from_cgroup and s.limit.available is not None:
        title += f"; the machine has {mib(s.limit.available)} available"
    table = table_class(title=escape(title) + f", {s.cores} cores", title_justify="left")
    table.add_column("Engine")
    table.add_column("Sized to (setting that overrides it)", overflow="fold")
    for engine, text in s.describe():
        table.add_row(escape(engine), escape(text))
    return table


def checks(cfg: Any) -> list[tuple[str, bool | None, str]]:
    """(component, ok / missing / not configured, details) rows; nothing heavy is imported."""
    from greta_core.ingestion.distributed_utils import (
        DASK_INSTALL,
        SPARK_INSTALL,
        java_status,
        module_version,
        tcp_reachable,
    )

    sc = cfg.scalability
    versions = f"pandas {module_version('pandas')}, pyarrow {module_version('pyarrow')} (built in)"
    rows: list[tuple[str, bool | None, str]] = [("pandas backend", True, versions)]
    for mod, hint in (("dask", DASK_INSTALL), ("distributed", DASK_INSTALL), ("pyspark", SPARK_INSTALL)):
        version = module_version(mod)
        rows.append((mod, version is not None, version or f"not installed: {hint}"))
    java_ok, java = java_status()
    rows.append(("Java (for Spark)", java_ok, java))
    rows.append(_spark_row(sc.spark_config, java_ok, tcp_reachable))
    rows.append(_dask_row(sc.dask_config.address, tcp_reachable))
    rows += _redis_rows(sc.celery_config, module_version, tcp_reachable)
    return rows


def _spark_row(spark_config: dict[str, Any], java_ok: bool, reachable: Any) -> tuple[str, bool | None, str]:
    master = str(spark_config.get("spark.master") or "")
    if master.startswith("spark://"):
        ok, detail = reachable(master[len("spark://"):].split(",")[0], 7077)
        return ("Spark master", ok, f"{master}: {detail}")
    from greta_core.ingestion.distributed_utils import module_version

    usable = java_ok and module_version("pyspark") is not None
    what = master or "local (default)"
    return ("Spark master", usable if master else None,
            f"{what}: {'can start here' if usable else 'needs pyspark and Java'}")


def _dask_row(address: str | None, reachable: Any) -> tuple[str, bool | None, str]:
    if not address:
        local = ("none configured: a local threaded scheduler (or a LocalCluster with "
                 "scalability.dask_config.processes) is used")
        return ("Dask scheduler", None, local)
    ok, detail = reachable(address, 8786)
    if ok:
        detail += _dask_workers(address)
    return ("Dask scheduler", ok, f"{address}: {detail}")


def _dask_workers(address: str) -> str:
    from greta_core.ingestion.distributed_utils import module_version

    if module_version("distributed") is None:
        return ""
    try:
        from distributed import Client

        with Client(address, timeout="3s", set_as_default=False) as client:
            workers = client.scheduler_info().get("workers", {})
            threads = sum(w.get("nthreads", 1) for w in workers.values())
        return f"; {len(workers)} workers, {threads} threads"
    except Exception as e:  # noqa: BLE001 - a report, not a failure
        return f"; cannot list workers ({type(e).__name__})"


def _redis_rows(celery: Any, version: Any, reachable: Any) -> list[tuple[str, bool | None, str]]:
    import shutil

    rows: list[tuple[str, bool | None, str]] = []
    v = version("redis")
    server = shutil.which("redis-server")
    rows.append(("redis (client, server)", bool(v),
                 f"redis-py {v or 'not installed'}; redis-server {'at ' + server if server else 'not on PATH'}"))
    from greta_cli.config import redact_url

    urls = {u for u in (celery.broker_url, celery.result_backend) if u and u.startswith(("redis://", "rediss://"))}
    if not urls:
        rows.append(("Redis broker", None, "none configured: background jobs use the embedded local broker"))
    for url in sorted(urls):
        ok, detail = reachable(url, 6379)
        rows.append(("Redis broker", ok, f"{redact_url(url)}: {detail}"))
    return rows


def auto_choice(cfg: Any, path: str) -> str:
    from greta_core.backends import decide

    opts = {"dask_config": cfg.scalability.dask_config.model_dump(),
            "spark_config": dict(cfg.scalability.spark_config)}
    try:
        d = decide(path, opts)
    except Exception as e:  # noqa: BLE001 - shown, not raised
        return f"none ({e})"
    notes = "".join(f"\n  warning: {w}" for w in d.warnings)
    return f"{d.backend} ({d.reason}){notes}"
