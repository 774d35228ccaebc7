"""The key names of earlier Greta releases, translated to the current ones.

A configuration written for an earlier release still runs: each old key is mapped to its
counterpart with one deprecation notice naming the new key; an old key with no counterpart is
accepted and noted once as ignored, with the reason. Writing an old and a new name for the
same setting in one place is an error (which one was meant?). ``greta config migrate`` writes
the translated file in the current format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from greta_core.errors import GretaWarning, InvalidConfigError


class DeprecatedConfigWarning(GretaWarning, FutureWarning):
    """A configuration uses a key name of an earlier release (translated, or ignored)."""


MIGRATE_HINT = "`greta config migrate OLD.yml -o NEW.yml` rewrites a file in the current format."

# (section, old key) -> new key in the same section
RENAMED: dict[tuple[str, str], str] = {
    ("data", "source"): "path",
    ("data", "type"): "format",
    ("data", "target_column"): "target",
    ("data", "sheet_name"): "sheet",
    ("preprocessing", "max_cardinality"): "max_levels",
    ("output", "file"): "results",
    ("output", "format"): "results_format",
}

_OUTLIERS = "Greta never drops rows as outliers (filter rows explicitly with data.row_filter)"
_SELECTION = "the search selects terms itself: every term must pass its own test"
# (section, old key) -> why it has no counterpart
IGNORED: dict[tuple[str, str], str] = {
    ("preprocessing", "missing_strategy"): "Greta models missing values with indicators",
    ("preprocessing", "outlier_method"): _OUTLIERS,
    ("preprocessing", "outlier_threshold"): _OUTLIERS,
    ("preprocessing", "normalize_types"): "column types are always inferred from a sample",
    ("preprocessing", "encoding_method"): ("categorical columns are always encoded as level "
                                           "dummies, rare levels pooled"),
    ("preprocessing", "feature_selection"): _SELECTION,
    ("preprocessing", "selection_method"): _SELECTION,
    ("preprocessing", "max_features"): ("every column is a candidate (see "
                                        "preprocessing.max_design_columns)"),
}

# old keys that switch several current ones: (section, old key) -> the current keys it sets
DERIVED: dict[tuple[str, str], tuple[str, ...]] = {
    ("preprocessing", "feature_engineering"): ("interactions", "squares", "logs"),
    ("preprocessing", "numeric_transforms"): ("squares", "logs"),
    ("preprocessing", "max_interactions"): ("interactions",),
}

_FORMATS = {"xlsx": "excel", "xls": "excel", "xlsm": "excel", "json": "jsonl", "ndjson": "jsonl",
            "txt": "csv", "pq": "parquet"}
_TRANSFORMS = {"polynomial": "squares", "square": "squares", "squares": "squares",
               "logarithmic": "logs", "log": "logs", "logs": "logs"}


@dataclass
class Translation:
    """The current-format mapping, the notices to show once each, and where values came from."""

    raw: dict[Any, Any]
    notices: list[str] = field(default_factory=list)
    sources: dict[tuple[str, ...], str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.notices)


def translate(raw: Mapping[Any, Any], where: str = "") -> Translation:
    """Map the old key names in ``raw`` (a whole configuration) to the current ones.

    Parameters
    ----------
    raw
        A configuration mapping as read from YAML (not modified).
    where
        Where it came from (``"in old.yml"``), used in notices and errors.

    Returns
    -------
    Translation
        ``raw`` with the old keys replaced, a notice per old key (in file order), and for each
        translated key its source (``"as data.source in old.yml"``) for error messages.

    Raises
    ------
    InvalidConfigError
        An old and a new name for the same setting appear together.
    """
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    result = Translation(out)
    at = f" ({where})" if where else ""
    for section, body in out.items():
        if not isinstance(body, dict):
            continue
        derived: dict[str, bool] = {}
        for key in list(body):
            old = (section, key)
            if old in RENAMED:
                new = RENAMED[old]
                _no_clash(body, key, (new,), section, where)
                body[new] = _value(old, body.pop(key))
                result.sources[(section, new)] = f"as {section}.{key}{' ' + where if where else ''}"
                result.notices.append(f"'{section}.{key}' is deprecated: use '{section}.{new}'{at}.")
            elif old in IGNORED:
                body.pop(key)
                result.notices.append(f"'{section}.{key}' is ignored: {IGNORED[old]}{at}.")
            elif old in DERIVED:
                targets = DERIVED[old]
                _no_clash(body, key, targets, section, where)
                value = body.pop(key)
                for name, on in _derive(old, value, where).items():
                    derived[name] = derived.get(name, True) and on
                names = ", ".join(f"'{section}.{t}'" for t in targets)
                extra = _derived_note(old, value)
                result.notices.append(f"'{section}.{key}' is deprecated: use {names}{extra}{at}.")
        for name, on in derived.items():
            body[name] = on
            result.sources.setdefault((section, name), f"from old keys{' ' + where if where else ''}")
    return result


def _no_clash(body: dict[Any, Any], old: str, new: tuple[str, ...], section: str,
              where: str) -> None:
    both = [n for n in new if n in body]
    if both:
        place = f" {where}" if where else ""
        msg = (f"'{section}.{old}' (an earlier release's name) and '{section}.{both[0]}' both "
               f"set the same thing{place}; keep only '{section}.{both[0]}'.")
        raise InvalidConfigError(msg)


def format_name(value: str) -> str:
    """The current name of a data format as earlier releases wrote it (xlsx: excel, ...)."""
    text = value.strip().lower().lstrip(".")
    return _FORMATS.get(text, text)


def _value(old: tuple[str, str], value: Any) -> Any:
    if old == ("data", "type") and isinstance(value, str):
        return format_name(value)
    if old == ("output", "format") and isinstance(value, str):
        text = value.strip().lower()
        return "yaml" if text == "yml" else text
    return value


def _derive(old: tuple[str, str], value: Any, where: str) -> dict[str, bool]:
    """The current boolean keys an old switch stands for."""
    key = f"{old[0]}.{old[1]}"
    place = f" ({where})" if where else ""
    if old[1] == "feature_engineering":
        if not isinstance(value, bool):
            msg = f"Invalid configuration: '{key}' must be true or false; got {value!r}{place}."
            raise InvalidConfigError(msg)
        return dict.fromkeys(("interactions", "squares", "logs"), value)
    if old[1] == "max_interactions":
        if value is None:
            return {"interactions": True}
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            msg = (f"Invalid configuration: '{key}' must be a whole number at least 0 (0 turns "
                   f"the products off); got {value!r}{place}.")
            raise InvalidConfigError(msg)
        return {"interactions": value > 0}
    items = [] if value is None else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        msg = (f"Invalid configuration: '{key}' must be a list of transforms such as "
               f"[polynomial, logarithmic]; got {value!r}{place}.")
        raise InvalidConfigError(msg)
    chosen = {_TRANSFORMS.get(i.strip().lower()) for i in items}
    return {"squares": "squares" in chosen, "logs": "logs" in chosen}


def _derived_note(old: tuple[str, str], value: Any) -> str:
    if old[1] == "max_interactions":
        return " (every pairwise product is a candidate; 0 turns them off)"
    if old[1] == "numeric_transforms" and isinstance(value, list):
        other = [str(i) for i in value if str(i).strip().lower() not in _TRANSFORMS]
        if other:
            return f" ({', '.join(other)} terms are not made)"
    return ""
