"""Render a results document as GitHub-flavoured Markdown."""

from __future__ import annotations

import re
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

# Markup a plain string could start: backslash escapes, code, emphasis, strikethrough, table
# cells, raw HTML ("<" before a tag-like character), entities, links ("]" before "(", "[" or
# ":"), and block markers (heading, list, quote, reference definition) at the start.
_INLINE = re.compile(
    r"[\\`*|~]"
    r"|(?<!\w)_|_(?!\w)"
    r"|<(?=[A-Za-z/!?])"
    r"|&(?=#?\w+;)"
    r"|\](?=[(\[:])"
)
_START = re.compile(r"^([\[>]|[#+\-=](?=\s|$))")
_LEADING_NUMBER = re.compile(r"^(\d+)([.)])(?=\s|$)")


def escape(value: str, block_start: bool = True) -> str:
    """Backslash-escape Markdown syntax in a plain string so that it renders literally.

    With ``block_start`` (the string starts a paragraph, heading or list item), markers that
    only count at the start of a block (``#``, ``-``, ``>``, ``1.``, ``[label]:``) are escaped too.
    """
    escaped = _INLINE.sub(lambda m: "\\" + m.group(0), " ".join(value.split()))
    if not block_start:
        return escaped
    escaped = _START.sub(lambda m: "\\" + m.group(0), escaped)
    return _LEADING_NUMBER.sub(r"\1\\\2", escaped)


def to_markdown(results: Mapping[str, Any]) -> str:
    """Return the report of a validated results document as Markdown. Names from the data
    are shown safely (:func:`greta_core.safe_text.for_display`) and their Markdown escaped."""
    parts = [_block(block) for block in build(for_display(results))]
    return "\n\n".join(part for part in parts if part) + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return "#" * block.level + " " + escape(block.text)
    if isinstance(block, Paragraph):
        return f"*{escape(block.text)}*" if block.tone == "muted" else escape(block.text)
    if isinstance(block, ItemList):
        return _list(block)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, (Charts, ImportanceChart, SegmentChart)):
        return ""
    if isinstance(block, Collapsible):
        inner = [_block(b) for b in (Heading(2, block.title), *block.blocks)]
        return "\n\n".join(part for part in inner if part)
    raise TypeError(f"Unknown report block {block!r}.")


def _list(block: ItemList) -> str:
    if block.ordered:
        return "\n".join(f"{i}. {escape(item)}" for i, item in enumerate(block.items, 1))
    return "\n".join(f"- {escape(item)}" for item in block.items)


def _row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(escape(cell, block_start=False) for cell in cells) + " |"


def _table(block: Table) -> str:
    rule = "| " + " | ".join("---:" if a == "r" else "---" for a in block.align) + " |"
    lines = [_row(block.headers), rule, *(_row(row) for row in block.rows)]
    if block.caption:
        lines.insert(0, f"**{escape(block.caption)}**\n")
    return "\n".join(lines)
