"""Values from the environment (``GRETA__SECTION__KEY``), ``--set section.key=value`` and
Python keyword settings, checked against the models before they are applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, get_args

import yaml

from greta_cli.config.legacy import translate
from greta_cli.config.messages import show, unknown_key
from greta_cli.config.models import GretaConfig, dict_value, submodel
from greta_core.errors import InvalidConfigError

ENV_PREFIX = "GRETA__"
_NULLS = {"", "~", "null", "Null", "NULL"}
ENV_SHORTCUTS = {
    "GRETA_BROKER_URL": ("scalability", "celery_config", "broker_url"),
    "GRETA_RESULT_BACKEND": ("scalability", "celery_config", "result_backend"),
}



def parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    key, eq, text = str(item).partition("=")
    parts = key.strip().split(".")
    if not eq or not all(parts):
        problem = "has no '='" if not eq else "has an empty key"
        msg = (f"The override {item!r} {problem}; write it as section.key=value, "
               "e.g. --set statistics.alpha=0.01.")
        raise InvalidConfigError(msg)
    keys, annotation = resolve(parts, f"from --set {key.strip()}")
    return keys, parse_value(text, annotation)


def env_overrides(env: Mapping[str, str]) -> list[tuple[str, tuple[str, ...], Any]]:
    found: list[tuple[str, tuple[str, ...], Any]] = []
    for name, shortcut in ENV_SHORTCUTS.items():
        if env.get(name, "").strip():
            found.append((name, shortcut, env[name].strip()))
    for name in sorted(n for n in env if n.startswith(ENV_PREFIX)):
        parts = name[len(ENV_PREFIX):].split("__")
        if not all(parts):
            msg = (f"The environment variable {name} has an empty key; write it as "
                   "GRETA__SECTION__KEY, e.g. GRETA__STATISTICS__ALPHA=0.01.")
            raise InvalidConfigError(msg)
        keys, annotation = resolve(parts, f"from environment variable {name}", fold_case=True)
        found.append((name, keys, parse_value(env[name], annotation)))
    return found


def resolve(
    parts: Sequence[str], source: str, fold_case: bool = False
) -> tuple[tuple[str, ...], Any]:
    """Check a key path against the models; return it and the annotation of its value."""
    model: Any = GretaConfig
    keys: list[str] = []
    for i, part in enumerate(parts):
        name = part.lower() if fold_case else part
        if model is None:
            msg = (f"Unknown configuration key '{'.'.join([*keys, part])}' ({source}): "
                   f"'{'.'.join(keys)}' is a single value, not a section.")
            raise InvalidConfigError(msg)
        if name not in model.model_fields:
            raise InvalidConfigError(unknown_key(tuple(keys), name, model, source))
        keys.append(name)
        annotation = model.model_fields[name].annotation
        value_type = dict_value(annotation)
        if value_type is not None and i + 1 < len(parts):  # the rest is one dict key
            return (*keys, ".".join(parts[i + 1:])), value_type
        model = submodel(annotation)
    return tuple(keys), model if model is not None else annotation


def parse_value(text: str, annotation: Any) -> Any:
    """Parse an override value as YAML; text-only keys keep the text unless it is quoted or null."""
    stripped = text.strip()
    if set(get_args(annotation) or (annotation,)) <= {str, type(None)}:
        if stripped in _NULLS:
            return None
        if stripped[:1] not in ("'", '"'):
            return stripped  # `data.target=2020` and `data.target=#id` name columns as written
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return stripped


def apply(raw: dict[Any, Any], keys: tuple[str, ...], value: Any, source: str,
           sources: dict[tuple[str, ...], str]) -> None:
    node = raw
    for i, key in enumerate(keys[:-1]):
        if node.get(key) is None:
            node[key] = {}
        elif not isinstance(node[key], dict):
            dotted = ".".join(keys[:i + 1])
            msg = (f"Invalid configuration: '{dotted}' must be a mapping of keys; "
                   f"got {show(node[key])} (cannot apply the value {source}).")
            raise InvalidConfigError(msg)
        node = node[key]
    node[keys[-1]] = value
    for old in [k for k in sources if k[:len(keys)] == keys]:
        del sources[old]
    sources[keys] = source




def settings_items(settings: Mapping[str, Any], source: str
                   ) -> tuple[list[tuple[tuple[str, ...], Any, str]], list[str]]:
    """Python settings as ``(keys, value, source)`` to apply, and notices about old names.

    ``settings`` maps a section to a mapping of its keys (``{"hypothesis_search": {"pop_size":
    200}}``) or a dotted key to a value (``{"hypothesis_search.pop_size": 200}``); both may be
    mixed. Keys are checked as ``--set`` keys are (unknown ones get a "Did you mean" hint).
    """
    if not isinstance(settings, Mapping):
        msg = f"Settings must be a mapping of configuration keys to values; got {show(settings)}."
        raise InvalidConfigError(msg)
    nested: dict[str, Any] = {}
    for key, value in settings.items():
        section, dot, rest = str(key).partition(".")
        if not dot:
            if isinstance(value, Mapping) and isinstance(nested.get(section), dict):
                nested[section].update(value)
            else:
                nested[section] = dict(value) if isinstance(value, Mapping) else value
        else:
            body = nested.setdefault(section, {})
            if not isinstance(body, dict):
                msg = f"The setting {key!r} conflicts with the value given for {section!r}."
                raise InvalidConfigError(msg)
            body[rest] = value
    done = translate(nested, source)
    items: list[tuple[tuple[str, ...], Any, str]] = []

    def walk(parts: tuple[str, ...], value: Any) -> None:
        label = f"{source} {'.'.join(parts)}"
        keys, annotation = resolve(parts, label)
        if isinstance(value, Mapping) and submodel(annotation) is not None:
            for k, v in value.items():
                walk((*keys, *str(k).split(".")), v)
            return
        items.append((keys, value, done.sources.get(keys, f"{source} {'.'.join(keys)}")))

    for section, value in done.raw.items():
        walk((str(section),), value)
    return items, done.notices
