"""Make user data safe to show on a terminal or in a text or Markdown report.

Column names, levels and file names come from the data, so they may hold anything: an escape
sequence that retitles the window, clears the screen or draws a fake link, a bidi override that
shows text in another order, or 70,000 characters. Before any of it is shown:

- control characters (C0, DEL, C1) and the bidi embeddings, overrides and isolates
  (U+202A-U+202E, U+2066-U+2069, and the marks U+200E, U+200F, U+061C) are shown escaped,
  ``\\x1b`` or ``\\u202e``; newline and tab are kept only where they lay out prose;
- a long name is shortened in the middle (``first…last``), at most :data:`NAME_LIMIT` characters.

The results JSON keeps the real names: only what is shown to a reader changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

NAME_LIMIT = 100  # characters of a name shown
RUN_LIMIT = 200  # a longer run of non-space characters in any text is shortened to NAME_LIMIT
ELLIPSIS = "…"

_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_ESCAPES.update({c: f"\\u{c:04x}" for c in _BIDI})
#: What JSON leaves raw but a terminal may act on, as JSON escapes (the same string once parsed).
JSON_ESCAPES = {c: f"\\u{c:04x}" for c in (0x7F, *range(0x80, 0xA0), *_BIDI)}
_KEEP_LAYOUT = {c: s for c, s in _ESCAPES.items() if c not in (0x09, 0x0A)}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in _ESCAPES) + "]")
_LONG_RUN = re.compile(rf"\S{{{RUN_LIMIT + 1},}}")

# Keys of a results document whose values (or list items) are names or levels from the data;
# and keys of mappings whose own keys are names (class shares, effect sizes per column).
_NAME_KEYS = frozenset({"name", "target", "column", "columns", "level", "reference", "class",
                        "classes", "positive_class", "term", "terms", "features", "x"})
_KEYED_BY_NAME = frozenset({"class_shares", "sizes"})


def escape_controls(value: str, keep_layout: bool = False) -> str:
    """``value`` with every control and bidi character shown escaped (``\\x1b``, ``\\u202e``);
    with ``keep_layout``, newlines and tabs are kept."""
    if not _UNSAFE.search(value):
        return value
    return value.translate(_KEEP_LAYOUT if keep_layout else _ESCAPES)


def shorten(value: str, limit: int = NAME_LIMIT) -> str:
    """``value`` cut in the middle to at most ``limit`` characters: ``"first…last"``."""
    if len(value) <= limit:
        return value
    head = (limit - len(ELLIPSIS) + 1) // 2
    tail = limit - len(ELLIPSIS) - head
    return value[:head] + ELLIPSIS + (value[-tail:] if tail else "")


def shown_name(value: object) -> str:
    """A name or level as it is shown: every control character escaped, at most
    :data:`NAME_LIMIT` characters."""
    return shorten(escape_controls(str(value)))


def shown_text(value: object) -> str:
    """A message or sentence as it is shown: control characters escaped (newlines and tabs
    kept), and any run of more than :data:`RUN_LIMIT` non-space characters shortened."""
    text = escape_controls(str(value), keep_layout=True)
    return _LONG_RUN.sub(lambda m: shorten(m.group(0)), text) if len(text) > RUN_LIMIT else text


def for_display(results: Any) -> Any:
    """A copy of a results document for showing: each name and level that is unsafe or long is
    replaced, wherever it appears (in sentences and terms too), by :func:`shown_name`; then
    every string goes through :func:`shown_text`."""
    names: set[str] = set()
    _collect(results, names, False)
    changed = {n: shown_name(n) for n in names if n and shown_name(n) != n}
    if changed:  # one pass per string; the longest name first, so a name inside another is whole
        pattern = re.compile("|".join(re.escape(n) for n in sorted(changed, key=len, reverse=True)))

        def fix(s: str) -> str:
            return shown_text(pattern.sub(lambda m: changed[m.group(0)], s))
    else:
        fix = shown_text
    return _walk(results, fix)


def _collect(obj: Any, names: set[str], is_name: bool) -> None:
    if isinstance(obj, str):
        if is_name:
            names.add(obj)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            if key in _KEYED_BY_NAME and isinstance(value, Mapping):
                names.update(k for k in value if isinstance(k, str))
            _collect(value, names, key in _NAME_KEYS)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _collect(item, names, is_name)


def _walk(obj: Any, fix: Any) -> Any:
    if isinstance(obj, str):
        return fix(obj)
    if isinstance(obj, Mapping):
        return {fix(k) if isinstance(k, str) else k: _walk(v, fix) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_walk(item, fix) for item in obj]
    return obj
