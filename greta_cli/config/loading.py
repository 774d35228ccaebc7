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

from greta_cli.config.legacy import MIGRATE_HINT, DeprecatedConfigWarning, translate
from greta_cli.config.messages import format_errors, show
from greta_cli.config.models import GretaConfig
from greta_cli.config.overrides import apply, env_overrides, parse_override, settings_items
from greta_core.errors import InvalidConfigError

_ORIGIN = "_greta_data_path_origin"  # kept beside the fields: not dumped, not compared


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    settings_source: str = "from --override",
    notices: list[str] | None = None,
) -> GretaConfig:
    """Build a :class:`GretaConfig` from a YAML file, the environment and ``--set`` overrides.

    Later sources win: the file, then the environment, then ``overrides``, then ``settings``.
    Key names of earlier releases (``data.source``, ``preprocessing.max_cardinality``, ...) are
    translated (see :mod:`greta_cli.config.legacy`). A relative ``data.path`` in the file is
    read relative to the file's folder.

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
    settings
        Python values by key: ``{"hypothesis_search": {"pop_size": 200}}`` or
        ``{"hypothesis_search.pop_size": 200}`` (``greta.analyze``, ``greta run --override``).
    settings_source
        How error messages name where ``settings`` came from.
    notices
        Receives one line per old key name translated or ignored (each once). ``None`` issues
        them as :class:`DeprecatedConfigWarning` warnings instead.

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
    raw: dict[Any, Any] = {}
    file_source = "" if path is None else f"in {path}"
    found: list[str] = []
    sources: dict[tuple[str, ...], str] = {}
    origin = None
    if path is not None:
        done = translate(_read_yaml(Path(path)), file_source)
        raw, sources = done.raw, done.sources
        found += done.notices
        origin = _relative_to_file(raw, Path(path))
    for name, keys, value in env_overrides(os.environ if env is None else env):
        apply(raw, keys, value, f"from environment variable {name}", sources)
    for item in (overrides,) if isinstance(overrides, str) else overrides:
        keys, value = parse_override(item)
        apply(raw, keys, value, f"from --set {'.'.join(keys)}", sources)
    if settings:
        items, more = settings_items(settings, settings_source)
        found += more
        for keys, value, source in items:
            apply(raw, keys, value, source, sources)
    cfg = _validate(raw, sources, file_source)
    if origin is not None and cfg.data.path == origin[1]:
        object.__setattr__(cfg, _ORIGIN, (*origin, str(path)))
    _tell(found, notices)
    return cfg


def data_path_origin(cfg: GretaConfig) -> tuple[str, str, str] | None:
    """``(as written, as resolved, config file)`` when ``cfg.data.path`` is a relative path
    from a config file, read relative to that file's folder; else None."""
    return vars(cfg).get(_ORIGIN)


def _relative_to_file(raw: dict[Any, Any], path: Path) -> tuple[str, str] | None:
    data = raw.get("data")
    written = data.get("path") if isinstance(data, dict) else None
    if not isinstance(written, str) or not written.strip() or "://" in written:
        return None
    if os.path.isabs(os.path.expanduser(written)):
        return None
    resolved = str(path.parent / written) if str(path.parent) not in ("", ".") else written
    data["path"] = resolved
    return written, resolved


def _tell(found: list[str], notices: list[str] | None) -> None:
    lines = list(dict.fromkeys(found))
    if notices is not None:
        notices.extend(n for n in lines if n not in notices)
        return
    if lines:
        import warnings

        hint = f" {MIGRATE_HINT}" if any("deprecated" in n for n in lines) else ""
        for line in lines:
            warnings.warn(line + hint, DeprecatedConfigWarning, stacklevel=3)


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
    done = translate(copy.deepcopy(dict(data)), source)
    _tell(done.notices, None)
    return _validate(done.raw, done.sources, source)


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


