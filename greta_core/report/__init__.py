"""Render a Greta results document (``docs/results.md``) as JSON, Markdown, plain text or HTML.

Pure functions: they take the results dict and return a string. Nothing is printed or written,
and only the standard library is imported, so ``import greta_core.report`` is cheap.

>>> text = render(results, "md")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from greta_core.errors import DataFormatError, InvalidConfigError
from greta_core.report.html import to_html
from greta_core.report.markdown import to_markdown
from greta_core.safe_text import JSON_ESCAPES
from greta_core.report.text import to_text

__all__ = [
    "FORMATS",
    "SCHEMA_VERSIONS",
    "render",
    "to_html",
    "to_json",
    "to_markdown",
    "to_text",
    "validate_results",
]

FORMATS = ("json", "md", "html", "text")
SCHEMA_VERSIONS = (1, 2)
_REQUIRED = ("target", "task", "hypotheses")


def validate_results(obj: object) -> dict[str, Any]:
    """Return ``obj`` if it is a Greta results document this version can render.

    Raises:
        DataFormatError: ``obj`` is not a mapping, lacks ``schema_version``, ``target``,
            ``task`` or ``hypotheses``, has an unsupported schema version, or a
            ``hypotheses`` value that is not a list. The message is one line.
    """
    hint = "Hint: pass the JSON written by 'greta run --output results.json'."
    if not isinstance(obj, Mapping):
        kind = type(obj).__name__
        msg = f"Not a Greta results document: expected a JSON object, got {kind}. {hint}"
        raise DataFormatError(msg)
    if "schema_version" not in obj:
        msg = f"Not a Greta results document: the 'schema_version' key is missing. {hint}"
        raise DataFormatError(msg)
    version = obj["schema_version"]
    if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
        supported = ", ".join(map(str, SCHEMA_VERSIONS))
        msg = (
            f"Unsupported results schema_version {version!r}; this Greta reads version "
            f"{supported}. Hint: upgrade Greta to read newer results."
        )
        raise DataFormatError(msg)
    missing = [key for key in _REQUIRED if key not in obj]
    if missing:
        msg = f"Not a Greta results document: missing {', '.join(map(repr, missing))}. {hint}"
        raise DataFormatError(msg)
    if not isinstance(obj["hypotheses"], (list, tuple)):
        kind = type(obj["hypotheses"]).__name__
        msg = f"Invalid Greta results document: 'hypotheses' must be a list, got {kind}."
        raise DataFormatError(msg)
    return obj if isinstance(obj, dict) else dict(obj)


def _plain(value: Any) -> Any:
    """Return ``value`` as plain JSON data: NaN and infinities become None, numpy scalars
    and arrays become Python numbers and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "tolist"):  # numpy scalar or array, without importing numpy
        return _plain(value.tolist())
    return str(value)


def to_json(results: Mapping[str, Any]) -> str:
    """Return the results document as indented, standard JSON (no NaN), UTF-8 text kept.

    Control and bidi characters that JSON would leave raw (DEL, C1, U+202E, ...) are written
    as ``\\u202e``-style escapes: the same strings once parsed, and nothing a terminal acts on."""
    text = json.dumps(_plain(results), indent=2, ensure_ascii=False, allow_nan=False)
    return text.translate(JSON_ESCAPES) + "\n"


_RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "json": to_json,
    "md": to_markdown,
    "html": to_html,
    "text": to_text,
}


def render(results: dict[str, Any], fmt: str) -> str:
    """Render a results document as a string.

    Args:
        results: a results document as described in ``docs/results.md``.
        fmt: one of :data:`FORMATS`: "json", "md" (Markdown), "html" (one self-contained
            page with inline SVG charts) or "text" (plain text wrapped at 88 columns).

    Raises:
        InvalidConfigError: ``fmt`` is not one of :data:`FORMATS`.
        DataFormatError: ``results`` is not a Greta results document (see
            :func:`validate_results`).
    """
    if fmt not in FORMATS:
        msg = (
            f"The report format must be one of {', '.join(map(repr, FORMATS))}. "
            f"Got {fmt!r} instead."
        )
        raise InvalidConfigError(msg)
    return _RENDERERS[fmt](validate_results(results))
