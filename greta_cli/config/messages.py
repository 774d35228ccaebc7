"""One-line error messages about configuration keys and values, and the words that describe
which values a key accepts (shared by the error messages and the rendered YAML)."""

from __future__ import annotations

import reprlib
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import ValidationError

from greta_cli.config.models import GretaConfig, dict_value, submodel
from greta_cli.config.redaction import redact_values
from greta_core.errors import GretaError, did_you_mean

_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_MISSING = object()


class _Key(str):
    """A key name that ``did_you_mean`` compares by its text but shows as a dotted path."""

    dotted: str

    def __new__(cls, name: str, dotted: str) -> _Key:
        obj = super().__new__(cls, name)
        obj.dotted = dotted
        return obj

    def __repr__(self) -> str:
        return repr(self.dotted)


def unknown_key(parent: tuple[str, ...], name: str, model: Any, source: str) -> str:
    what = "key" if parent else "section"
    dotted = ".".join((*parent, str(name)))
    options = [_Key(n, ".".join((*parent, n))) for n in model.model_fields]
    hint = did_you_mean(str(name), list(options))
    if not hint:
        label = f"keys of '{'.'.join(parent)}'" if parent else "sections"
        hint = f" Valid {label}: {', '.join(model.model_fields)}."
    where = f" ({source})" if source else ""
    return f"Unknown configuration {what} '{dotted}'{where}.{hint}"


def format_errors(exc: ValidationError, raw: dict[Any, Any],
                   sources: dict[tuple[str, ...], str], default: str) -> str:
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for err in exc.errors(include_url=False):
        groups.setdefault(_locate(err["loc"])[:3], []).append(err)
    sentences = []
    for (kind, keys, name), errs in groups.items():
        source = next((sources[keys[:n]] for n in range(len(keys), 0, -1)
                       if keys[:n] in sources), default)
        if kind == "unknown":
            sentences.append(unknown_key(keys, name, _model_at(keys), source))
            continue
        own = (errs[0].get("ctx") or {}).get("error")
        if isinstance(own, GretaError):  # a validator's own one-line message (data.row_filter)
            where = f" ({source})" if source else ""
            text = own.message.rstrip(".")
            sentences.append(f"{text}{where}.")
            continue
        _, _, _, annotation, metadata = _locate(errs[0]["loc"])
        prefix = "" if sentences else "Invalid configuration: "
        if kind == "field" and errs[0]["type"] == "value_error":  # a validator's own sentence
            said = str(errs[0].get("ctx", {}).get("error", errs[0]["msg"]))
            sentences.append(f"{prefix}'{'.'.join(keys)}' = {said}{f' ({source})' if source else ''}.")
            continue
        only_bounds = kind == "field" and all(e["type"] in _BOUND_ERRORS for e in errs)
        allowed = _bounds(metadata) if only_bounds else describe(annotation, metadata)
        value = _lookup(raw, keys)
        shown = show(errs[0]["input"] if value is _MISSING else value)
        where = f" ({source})" if source else ""
        sentences.append(f"{prefix}'{'.'.join(keys)}' must be {allowed}; got {shown}{where}.")
    more = f" ({len(sentences) - 3} more problems not shown.)" if len(sentences) > 3 else ""
    return " ".join(sentences[:3]) + more


def _locate(loc: tuple[Any, ...]) -> tuple[str, tuple[str, ...], str, Any, list[Any]]:
    """Map an error location to (kind, field keys, unknown name, annotation, constraints)."""
    model: Any = GretaConfig
    keys: list[str] = []
    for i, part in enumerate(loc):
        if part not in model.model_fields:
            return "unknown", tuple(keys), str(part), None, []
        field = model.model_fields[part]
        keys.append(part)
        value_type = dict_value(field.annotation)
        if value_type is not None and i + 1 < len(loc):
            return "item", (*keys, str(loc[i + 1])), "", value_type, []
        model = submodel(field.annotation)
        if model is None:
            return "field", tuple(keys), "", field.annotation, list(field.metadata)
    return "section", tuple(keys), "", model, []


def _model_at(keys: tuple[str, ...]) -> Any:
    model: Any = GretaConfig
    for key in keys:
        model = submodel(model.model_fields[key].annotation)
    return model


def _lookup(raw: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(raw, dict) or key not in raw:
            return _MISSING
        raw = raw[key]
    return raw


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 6
_REPR.maxlevel = 3


def show(value: Any) -> str:
    """Show a received value on one line, YAML-like for null and booleans, passwords hidden."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return _REPR.repr(redact_values(value))


def _bounds(metadata: list[Any]) -> str:
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    found = {k: getattr(m, k) for m in metadata for k in words if hasattr(m, k)}
    return " and ".join(f"{words[k]} {v}" for k, v in found.items())


def describe(annotation: Any, metadata: list[Any]) -> str:
    """Say in words which values a field accepts, e.g. 'an integer at least 4, or null'."""
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(annotation))
    if origin in (Union, types.UnionType):
        args = get_args(annotation)
        parts = ["a boolean" if a is bool else describe(a, metadata)
                 for a in args if a is not type(None)]
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
        return f"{text}, or null" if type(None) in args else text
    if origin is list:
        return "a list of " + _plural(get_args(annotation)[0])
    if origin is dict:
        return "a mapping of names to " + _plural(get_args(annotation)[1])
    if submodel(annotation):
        return "a mapping with the keys " + ", ".join(annotation.model_fields)
    if annotation is bool:
        return "true or false"
    if annotation is str:
        size = next((m.min_length for m in metadata if hasattr(m, "min_length")), 0)
        return "a non-empty string" if size else "a string"
    noun = {int: "an integer", float: "a number"}.get(annotation, str(annotation))
    bounds = _bounds(metadata)
    return f"{noun} {bounds}" if bounds else noun


def _plural(annotation: Any) -> str:
    names = {str: "strings", int: "integers", float: "numbers", bool: "booleans"}
    args = get_args(annotation) or (annotation,)
    words = [names.get(a, str(a)) for a in args]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


