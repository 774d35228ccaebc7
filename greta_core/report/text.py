"""Render a results document as plain text for a terminal or a pipe (no markup)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from greta_core.report._document import (
    Block,
    Charts,
    Collapsible,
    Heading,
    ImportanceChart,
    SegmentChart,
    ItemList,
    Paragraph,
    Table,
    build,
)
from greta_core.safe_text import for_display

WIDTH = 88
_GAP = "  "
_MIN_COLUMN = 10


def to_text(results: Mapping[str, Any], width: int = WIDTH) -> str:
    """Return the report of a validated results document as plain text wrapped at ``width``.

    Names from the data are shown safely (:func:`greta_core.safe_text.for_display`)."""
    parts = [_block(block, width) for block in build(for_display(results))]
    return "\n\n".join(part for part in parts if part) + "\n"


def display_width(value: str) -> int:
    """Return the number of terminal columns ``value`` takes (wide East Asian characters: 2)."""
    return sum(_char_width(c) for c in value)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def wrap(value: str, width: int) -> list[str]:
    """Split ``value`` into lines of at most ``width`` display columns, breaking long words.

    Each character's width is measured once, so a long text wraps in linear time."""
    lines: list[str] = []
    line, used = "", 0
    for word in value.split():
        for piece, size in _split_word(word, width):
            if line and used + 1 + size > width:
                lines.append(line)
                line, used = "", 0
            line, used = (f"{line} {piece}", used + 1 + size) if line else (piece, size)
    return [*lines, line] if line or not lines else lines


def _split_word(word: str, width: int) -> list[tuple[str, int]]:
    """``word`` in pieces of at most ``width`` display columns (a wide character that does not
    fit starts the next piece), each with its width."""
    pieces: list[tuple[str, int]] = []
    start, used = 0, 0
    for i, char in enumerate(word):
        w = _char_width(char)
        if i > start and used + w > width:
            pieces.append((word[start:i], used))
            start, used = i, 0
        used += w
    pieces.append((word[start:], used))
    return pieces


def _wrap(value: str, width: int, indent: str = "", hanging: str = "") -> str:
    lines = wrap(value, max(1, width - len(indent)))
    rest = hanging or " " * len(indent)
    return "\n".join([indent + lines[0], *(rest + line for line in lines[1:])])


def _block(block: Block, width: int) -> str:
    if isinstance(block, Heading):
        return _heading(block, width)
    if isinstance(block, Paragraph):
        return _wrap(block.text, width)
    if isinstance(block, ItemList):
        return _list(block, width)
    if isinstance(block, Table):
        return _table(block, width)
    if isinstance(block, (Charts, ImportanceChart, SegmentChart)):
        return ""
    if isinstance(block, Collapsible):
        inner = [_block(b, width) for b in (Heading(2, block.title), *block.blocks)]
        return "\n\n".join(part for part in inner if part)
    raise TypeError(f"Unknown report block {block!r}.")


def _heading(block: Heading, width: int) -> str:
    title = _wrap(block.text, width)
    if block.level == 3:
        return title
    rule = "=" if block.level == 1 else "-"
    longest = max(display_width(line) for line in title.splitlines())
    return f"{title}\n{rule * longest}"


def _list(block: ItemList, width: int) -> str:
    items = []
    for i, item in enumerate(block.items, 1):
        marker = f"{i:>2}. " if block.ordered else "  - "
        items.append(_wrap(item, width, indent=marker, hanging=" " * len(marker)))
    return "\n".join(items)


def _column_widths(block: Table, width: int) -> list[int]:
    rows = [block.headers, *block.rows]
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(block.headers))]
    excess = sum(widths) + len(_GAP) * (len(widths) - 1) - width
    while excess > 0:  # narrow the widest column, one column of characters at a time
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= _MIN_COLUMN:
            break
        widths[widest] -= 1
        excess -= 1
    return widths


def _cell_lines(value: str, width: int) -> list[str]:
    return [value] if display_width(value) <= width else wrap(value, width)


def _pad(value: str, width: int, align: str) -> str:
    space = " " * max(0, width - display_width(value))
    return space + value if align == "r" else value + space


def _row(cells: tuple[str, ...], widths: list[int], align: str) -> list[str]:
    wrapped = [_cell_lines(cell, w) for cell, w in zip(cells, widths, strict=True)]
    height = max(len(lines) for lines in wrapped)
    out = []
    for k in range(height):
        parts = [
            _pad(lines[k] if k < len(lines) else "", w, a)
            for lines, w, a in zip(wrapped, widths, align, strict=True)
        ]
        out.append(_GAP.join(parts).rstrip())
    return out


def _table(block: Table, width: int) -> str:
    widths = _column_widths(block, width)
    lines = [_wrap(block.caption, width)] if block.caption else []
    lines += _row(block.headers, widths, block.align)
    lines.append(_GAP.join("-" * w for w in widths))
    for row in block.rows:
        lines += _row(row, widths, block.align)
    return "\n".join(lines)
