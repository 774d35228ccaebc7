"""What several commands share: loading the configuration with its notices shown once each,
and errors about a value given by an option naming that option."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import typer


def load(config: Optional[Path], overrides: Sequence[str] = (), flags: Optional[dict[str, str]] = None,
         settings: Optional[dict[str, Any]] = None, quiet: bool = False) -> Any:
    """The configuration from ``config``, the environment, ``overrides`` (``--set`` strings) and
    ``settings`` (``--override`` JSON). Old key names are translated with one warning line each
    on stderr (none with ``quiet``); an error about a value from an option names the option."""
    from greta_cli.config import load_config
    from greta_core.errors import InvalidConfigError

    notices: list[str] = []
    try:
        cfg = load_config(config, list(overrides), settings=settings, notices=notices)
    except InvalidConfigError as e:
        msg = str(e)
        for key, flag in (flags or {}).items():  # options come after --set, so they set the value
            msg = msg.replace(f"(from --set {key})", f"(from {flag})")
        if msg == str(e):
            raise
        raise InvalidConfigError(msg) from None
    if not (quiet or cfg.output.quiet):
        show_notices(notices, config)
    return cfg


def show_notices(notices: list[str], config: Optional[Path]) -> None:
    """One stderr line per notice; a hint to migrate the file if it uses old names."""
    from greta_core.safe_text import shown_text

    for line in notices:
        typer.echo(f"greta: warning: {shown_text(line)}", err=True)
    if config is not None and any("deprecated" in n and f"in {config}" in n for n in notices):
        typer.echo(f"greta: hint: `greta config migrate {config} -o NEW.yml` rewrites it with "
                   "the current names.", err=True)


def parse_json_settings(text: Optional[str], flag: str = "--override") -> Optional[dict[str, Any]]:
    """The JSON object given to ``--override`` (``'{"hypothesis_search": {"pop_size": 50}}'``)."""
    from greta_core.errors import InvalidConfigError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        msg = (f"{flag} must be a JSON object such as '{{\"hypothesis_search\": {{\"pop_size\": "
               f"50}}}}'; got {text!r} ({e.msg} at character {e.pos}).")
        raise InvalidConfigError(msg) from None
    if not isinstance(value, dict):
        msg = (f"{flag} must be a JSON object of sections and keys, such as "
               f"'{{\"statistics\": {{\"alpha\": 0.01}}}}'; got {text!r}.")
        raise InvalidConfigError(msg)
    return value


def one_of(positional: Optional[Any], option: Optional[Any], name: str, flag: str) -> Optional[Any]:
    """The value given either as the argument or by its older option, not both."""
    from greta_core.errors import InvalidConfigError

    if positional is not None and option is not None and str(positional) != str(option):
        msg = (f"Two {name}s given: {str(positional)!r} and {str(option)!r} ({flag}). "
               f"Give the {name} once.")
        raise InvalidConfigError(msg)
    return positional if positional is not None else option


def relative_to(data: str, config: str) -> str:
    """``data`` (a path from the current folder) as a config file at ``config`` reads it: relative
    to the config file's folder. Absolute paths and URLs are kept."""
    if "://" in data or os.path.isabs(os.path.expanduser(data)):
        return data
    try:
        return os.path.relpath(os.path.abspath(data), os.path.abspath(Path(config).parent))
    except ValueError:  # another drive on Windows
        return os.path.abspath(data)
