"""The configuration as a commented YAML document (``greta init``, ``greta config migrate``)."""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

from greta_cli.config.messages import describe
from greta_cli.config.models import GretaConfig, submodel
from greta_cli.config.redaction import config_to_dict


def render_config_yaml(cfg: GretaConfig, header: str = "", *, redact: bool = False) -> str:
    """Render a configuration as a commented YAML document that :func:`load_config` reads back.

    Every key is preceded by ``#`` comment lines that explain it and list its allowed values.

    Parameters
    ----------
    cfg
        The configuration to write.
    header
        Text put at the top, each line as a comment.
    redact
        Replace passwords by ``***`` (for display; such a document no longer round-trips).

    Returns
    -------
    str
        The YAML text, ending with a newline.
    """
    lines = [f"# {line}".rstrip() if not line.startswith("#") else line
             for line in header.splitlines()]
    _render_model(GretaConfig, config_to_dict(cfg, redact=redact), "", lines)
    return "\n".join(lines) + "\n"


def _render_model(model: Any, values: dict[str, Any], pad: str, lines: list[str]) -> None:
    for name, field in model.model_fields.items():
        if not pad and lines:
            lines.append("")
        sub = submodel(field.annotation)
        comment = field.description or name
        if sub is None:
            comment += f" Allowed: {describe(field.annotation, list(field.metadata))}."
        lines += textwrap.wrap(comment, width=100, initial_indent=f"{pad}# ",
                               subsequent_indent=f"{pad}# ", break_long_words=False,
                               break_on_hyphens=False)
        if sub is not None:
            lines.append(f"{pad}{name}:")
            _render_model(sub, values[name], pad + "  ", lines)
            continue
        value = values[name]
        flow = None if isinstance(value, list) else False  # lists inline, mappings as blocks
        text = yaml.safe_dump({name: value}, default_flow_style=flow, sort_keys=False,
                              allow_unicode=True, width=1_000_000)
        lines += [pad + line for line in text.splitlines()]
