"""``greta init``: inspect a data file and write a commented config for it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from greta_cli.output import check_outputs, write_atomic


def init(
    data: Optional[str] = typer.Option(None, "--data", "-d", help="The data file to inspect."),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="The column to explain."),
    output: str = typer.Option("greta.yml", "--output", "-o", help="Where to write the config."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    data_source: Optional[str] = typer.Option(None, "--data-source", hidden=True, help="Deprecated: use --data."),
    data_type: Optional[str] = typer.Option(None, "--data-type", hidden=True, help="File format (data.format): csv, tsv, parquet, excel or jsonl."),
    target_column: Optional[str] = typer.Option(None, "--target-column", hidden=True, help="Deprecated: use --target."),
) -> None:
    """Inspect DATA and write a commented config for explaining TARGET."""
    from greta_cli.commands.common import one_of, relative_to
    from greta_cli.config import config_from_dict, render_config_yaml
    from greta_cli.config.legacy import format_name
    from greta_core.errors import InvalidConfigError
    from greta_core.inspect import inspect_file
    from greta_core.safe_text import shown_name, shown_text

    data = one_of(data, data_source, "data file", "--data-source")
    target = one_of(target, target_column, "target", "--target-column")
    if data is None or target is None:
        missing = " and ".join(f for f, v in (("--data FILE", data), ("--target COLUMN", target)) if v is None)
        msg = f"greta init needs {missing}, e.g. greta init --data sales.csv --target revenue."
        raise InvalidConfigError(msg)
    check_outputs({"--output": output}, {"data": data})
    if Path(output).exists() and not force:
        msg = f"{output!r} already exists. Pass --force to overwrite it, or choose another --output."
        raise InvalidConfigError(msg)
    fields = {"path": relative_to(data, output), "target": target}
    if data_type is not None:
        fields["format"] = format_name(data_type)
    cfg = config_from_dict({"data": fields}, "given to greta init")
    found = inspect_file(data, target, sample_rows=cfg.preprocessing.sample_rows)
    # names shown safely: YAML refuses control characters even in comments
    header = [f"Greta configuration for {shown_text(data)}", "",
              f"Target: {shown_name(target)} ({found['task']})", "Columns:"]
    header += [f"  {shown_name(c['name'])}: {c['kind']}" for c in found["columns"]]
    header += [f"  {shown_name(c['name'])}: dropped ({shown_text(c['reason'])})" for c in found["dropped"]]
    header += ["", "data.path is read relative to this file's folder.",
               "Run it with: greta run " + shown_text(output)]
    write_atomic(output, render_config_yaml(cfg, "\n".join(header)))
    typer.echo(f"wrote {output}: {found['task']} target {target!r}, {len(found['columns'])} usable columns")

