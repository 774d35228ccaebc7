"""``greta init``: inspect a data file and write a commented config for it."""

from __future__ import annotations

from pathlib import Path

import typer

from greta_cli.output import check_writable, write_atomic


def init(
    data: str = typer.Option(..., "--data", "-d", help="The data file to inspect."),
    target: str = typer.Option(..., "--target", "-t", help="The column to explain."),
    output: str = typer.Option("greta.yml", "--output", "-o", help="Where to write the config."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Inspect DATA and write a commented config for explaining TARGET."""
    from greta_cli.config import config_from_dict, render_config_yaml
    from greta_core.errors import InvalidConfigError
    from greta_core.inspect import inspect_file

    check_writable(output)
    if Path(output).exists() and not force:
        msg = f"{output!r} already exists. Pass --force to overwrite it, or choose another --output."
        raise InvalidConfigError(msg)
    cfg = config_from_dict({"data": {"path": data, "target": target}}, "given to greta init")
    found = inspect_file(data, target, sample_rows=cfg.preprocessing.sample_rows)
    header = [f"Greta configuration for {data}", "", f"Target: {target} ({found['task']})", "Columns:"]
    header += [f"  {c['name']}: {c['kind']}" for c in found["columns"]]
    header += [f"  {c['name']}: dropped ({c['reason']})" for c in found["dropped"]]
    header += ["", "Run it with: greta run " + output]
    write_atomic(output, render_config_yaml(cfg, "\n".join(header)))
    typer.echo(f"wrote {output}: {found['task']} target {target!r}, {len(found['columns'])} usable columns")
