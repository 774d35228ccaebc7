"""Loading a configuration: the YAML file (old key names translated), then the environment,
then ``--set`` and keyword settings, validated into a :class:`GretaConfig`.

Only plain YAML is read (a ``SafeLoader`` that also refuses duplicate keys).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from greta_cli.config.messages import format_errors, show
from greta_cli.config.models import GretaConfig
from greta_cli.config.overrides import apply, env_overrides, parse_override
from greta_core.errors import InvalidConfigError


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> GretaConfig:
    """Build a :class:`GretaConfig` from a YAML file, the environment and ``--set`` overrides.

    Later sources win: the file, then the environment, then ``overrides``.

    Parameters
    ----------
    path
        A YAML file (read with a safe loader: plain values only, no ``!!python`` tags). ``None``
        starts from the defaults; an empty file is an empty configuration.
    overrides
        ``"section.key=value"`` strings, as given to ``--set``. Nested keys are dotted
        (``scalability.dask_config.address=tcp://127.0.0.1:8786``); under
        ``scalability.spark_config`` the rest of the path is one Spark property
        (``scalability.spark_config.spark.master=local[2]``). The value is parsed as YAML, so
        ``5``, ``0.1``, ``true``, ``null`` and ``[a, b]`` get their types; text-only keys such as
        ``data.target`` or ``data.row_filter`` keep the text as written (``null`` still means
        null, and a quoted value is unquoted).
    env
        Environment variables, ``os.environ`` when ``None``. ``GRETA_BROKER_URL`` and
        ``GRETA_RESULT_BACKEND`` set the Celery broker and result store;
        ``GRETA__SECTION__KEY=value`` sets any key (double underscores between parts, key
        names case-insensitive, values parsed like ``overrides``) and wins over those two.
        Under ``SPARK_CONFIG`` the remaining parts, joined by dots and kept as written, name
        the Spark property (``GRETA__SCALABILITY__SPARK_CONFIG__spark__master``).

    Returns
    -------
    GretaConfig
        The validated configuration.

    Raises
    ------
    InvalidConfigError
        With a one-line message naming the file or override, the key, the value received and
        what is allowed: an unreadable or non-mapping file, a ``!!python`` tag, an unknown key
        (with a "Did you mean" hint), a malformed override or a value out of range.
    """
    raw: dict[Any, Any] = {} if path is None else _read_yaml(Path(path))
    file_source = "" if path is None else f"in {path}"
    sources: dict[tuple[str, ...], str] = {}
    for name, keys, value in env_overrides(os.environ if env is None else env):
        apply(raw, keys, value, f"from environment variable {name}", sources)
    for item in (overrides,) if isinstance(overrides, str) else overrides:
        keys, value = parse_override(item)
        apply(raw, keys, value, f"from --set {'.'.join(keys)}", sources)
    return _validate(raw, sources, file_source)


def config_from_dict(data: Mapping[str, Any], source: str = "") -> GretaConfig:
    """Validate a configuration mapping, e.g. the JSON a background job received.

    Parameters
    ----------
    data
        A mapping shaped like the output of :func:`config_to_dict` (``redact=False``).
    source
        Where the mapping came from (``"in job 42"``), shown in error messages.

    Raises
    ------
    InvalidConfigError
        With the same one-line messages as :func:`load_config`.
    """
    if not isinstance(data, Mapping):
        msg = f"A configuration must be a mapping of sections; got {show(data)}."
        raise InvalidConfigError(msg)
    return _validate(copy.deepcopy(dict(data)), {}, source)


def _validate(
    raw: dict[Any, Any], sources: dict[tuple[str, ...], str], default: str
) -> GretaConfig:
    try:
        return GretaConfig.model_validate(raw)
    except ValidationError as exc:
        msg = format_errors(exc, raw, sources, default)
    raise InvalidConfigError(msg)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that also refuses duplicate keys (the last would silently win)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, type(None))):
            continue  # unhashable keys are refused by construct_mapping itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"found duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> dict[Any, Any]:
    where = f"Configuration file '{path}'"
    if path.is_dir():
        msg = f"{where} is a directory, not a YAML file."
        raise InvalidConfigError(msg)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        msg = f"{where} does not exist; check the path or create one with 'greta init'."
        raise InvalidConfigError(msg) from None
    except OSError as exc:
        msg = f"{where} cannot be read: {exc.strerror or exc}."
        raise InvalidConfigError(msg) from None
    try:
        loaded: Any = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        msg = _yaml_problem(where, exc)
        raise InvalidConfigError(msg) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        msg = (f"{where} must hold a mapping of sections (data:, statistics:, ...); "
               f"got {show(loaded)}.")
        raise InvalidConfigError(msg)
    return dict(copy.deepcopy(loaded))  # YAML aliases share objects; overrides must not


def _yaml_problem(where: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    tag = re.match(r"could not determine a constructor for the tag '([^']*)'", problem)
    if tag:
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return (f"{where} uses the YAML tag '{name}'{at}, which is not allowed: a configuration "
                "holds plain values only.")
    return f"{where} is not valid YAML{at}: {problem}."


