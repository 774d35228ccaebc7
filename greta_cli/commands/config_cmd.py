"""``greta config migrate``: rewrite a configuration file of an earlier release in the current
format (the key names of today, every key commented)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from greta_cli.output import check_outputs, write_atomic

app = typer.Typer(help="Work with configuration files.", no_args_is_help=True, rich_markup_mode=None)


@app.command("migrate")
def migrate(
    old: Path = typer.Argument(..., help="A configuration file, possibly with the key names of an earlier release."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the new file here (default: print it)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
) -> None:
    """Rewrite OLD with the current key names (old keys with no counterpart are dropped, and
    listed at the top of the new file)."""
    from greta_cli.commands.common import relative_to, show_notices
    from greta_cli.config import load_config, render_config_yaml
    from greta_cli.config.loading import data_path_origin
    from greta_core.errors import InvalidConfigError

    notices: list[str] = []
    cfg = load_config(old, env={}, notices=notices)  # the file alone: no environment baked in
    if output is not None:  # the data is not read here, but a config must not replace it either
        check_outputs({"--output": output}, {"config": str(old), "data": cfg.data.path})
        if Path(output).exists() and not force:
            msg = f"{output!r} already exists. Pass --force to overwrite it, or choose another --output."
            raise InvalidConfigError(msg)
    origin = data_path_origin(cfg)
    if origin is not None:  # keep the data file where the old config pointed
        cfg.data.path = relative_to(os.path.relpath(origin[1]), output) if output else origin[0]
    ignored = [n for n in notices if " is ignored: " in n]
    header = [f"Greta configuration migrated from {old} by `greta config migrate`.",
              "data.path is read relative to this file's folder."]
    if ignored:
        header += ["", "Keys of the earlier format that Greta no longer uses (dropped):"]
        header += [f"  {n.split(' (in ')[0]}" for n in ignored]
    text = render_config_yaml(cfg, "\n".join(header))
    show_notices(notices, None)
    if output is None:
        typer.echo(text, nl=False)
        return
    write_atomic(output, text)
    renamed = len(notices) - len(ignored)
    typer.echo(f"wrote {output}: {renamed} old key name(s) replaced, {len(ignored)} dropped")
