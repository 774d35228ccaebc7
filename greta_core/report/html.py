"""Render a results document as one self-contained HTML page (inline CSS and SVG, no script).

The page loads nothing from the network and works offline. Every string taken from the data
is escaped with ``html.escape(..., quote=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from greta_core.report._document import (
    Block,
    Charts,
    Collapsible,
    Heading,
    ImportanceChart,
    ItemList,
    Paragraph,
    SegmentChart,
    Table,
    build,
    effect_label,
    title,
)
from greta_core.report._format import fmt_num, records, text
from greta_core.report.charts import esc, forest_plot, importance_chart, partial_dependence_chart, segment_chart

# Blocks everything but inline styles and inline images, even if some markup slipped through.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_RIGHT = ' class="r"'
_CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f7fafc; color: #1a202c;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 2rem 1.5rem 3rem; background: #fff; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 0 0 .5rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem;
  border-bottom: 1px solid #e2e8f0; }
h3 { font-size: 1.1rem; margin: 1.8rem 0 .4rem; }
p { margin: .5rem 0; } .muted { color: #4a5568; font-size: .92rem; }
ul, ol { padding-left: 1.6rem; } li { margin: .25rem 0; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .92rem; }
caption { text-align: left; font-weight: 600; padding: .2rem 0; }
th, td { border-bottom: 1px solid #e2e8f0; padding: .3rem .7rem; vertical-align: top;
  text-align: left; }
th { background: #edf2f7; } td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; flex-wrap: wrap; gap: .8rem; margin: .6rem 0; }
svg.chart { background: #fff; border: 1px solid #e2e8f0; border-radius: 4px; max-width: 100%;
  height: auto; font: 11px system-ui, sans-serif; fill: #2d3748; }
svg .ttl { font-weight: 600; font-size: 12px; } svg .tick { fill: #718096; font-size: 10px; }
svg .val { fill: #4a5568; font-size: 10px; }
details { margin: 1.2rem 0; } summary { cursor: pointer; font-weight: 600; font-size: 1.1rem; }
main, p, li, td, th, caption { overflow-wrap: anywhere; }
table { display: block; max-width: 100%; overflow-x: auto; }
@media print { body { background: #fff; } main { padding: 0; } }
"""


def to_html(results: Mapping[str, Any]) -> str:
    """Return the report of a validated results document as one self-contained HTML page."""
    body = "\n".join(part for part in (_block(b) for b in build(results)) if part)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title(results))}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{esc(block.text)}</h{block.level}>"
    if isinstance(block, Paragraph):
        tone = f' class="{block.tone}"' if block.tone else ""
        return f"<p{tone}>{esc(block.text)}</p>"
    if isinstance(block, ItemList):
        tag = "ol" if block.ordered else "ul"
        items = "".join(f"<li>{esc(item)}</li>" for item in block.items)
        return f"<{tag}>{items}</{tag}>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Charts):
        return _charts(block)
    if isinstance(block, ImportanceChart):
        chart = importance_chart(block.columns, title=block.title)
        return f'<div class="charts">{chart}</div>' if chart else ""
    if isinstance(block, SegmentChart):
        chart = segment_chart(block.segments, block.overall, block.label, block.percent)
        return f'<div class="charts">{chart}</div>' if chart else ""
    if isinstance(block, Collapsible):
        inner = "\n".join(part for part in (_block(b) for b in block.blocks) if part)
        return f"<details><summary>{esc(block.title)}</summary>\n{inner}\n</details>"
    raise TypeError(f"Unknown report block {block!r}.")


def _cells(tag: str, cells: tuple[str, ...], align: str) -> str:
    return "".join(
        f"<{tag}{_RIGHT if a == 'r' else ''}>{esc(c)}</{tag}>"
        for c, a in zip(cells, align, strict=True)
    )


def _table(block: Table) -> str:
    caption = f"<caption>{esc(block.caption)}</caption>" if block.caption else ""
    head = f"<thead><tr>{_cells('th', block.headers, block.align)}</tr></thead>"
    rows = "".join(f"<tr>{_cells('td', row, block.align)}</tr>" for row in block.rows)
    return f"<table>{caption}{head}<tbody>{rows}</tbody></table>"


def _charts(block: Charts) -> str:
    """The model's effect chart — each column's headline change (middle half of its values, one
    value against the other, each level against the reference) on one comparable axis — then
    the partial dependence of each of its columns."""
    h = block.hypothesis
    rows = _size_rows(h, block.y_label)
    title = f"Change in {block.y_label} across each column's middle half, 95% CI (held-out)"
    if not rows and block.y_label.startswith("P("):  # a yes/no target: no per-unit linear changes
        pass
    elif not rows:  # a results document without sizes: the per-unit estimates
        rows = [(effect_label(e) + (f" [{text(e['class'])}]" if e.get("class") is not None else ""),
                 e.get("estimate"), e.get("ci_low"), e.get("ci_high")) for e in records(h, "effects")]
        title = "Estimates per unit with 95% confidence intervals (held-out)"
    charts = [forest_plot(rows, title)] if rows else []
    charts += [partial_dependence_chart(entry, block.y_label) for entry in records(h, "partial_dependence")]
    charts = [chart for chart in charts if chart]
    return f'<div class="charts">{"".join(charts)}</div>' if charts else ""


def _size_rows(h: Mapping[str, Any], y_label: str) -> list[tuple[str, Any, Any, Any]]:
    scale = 100.0 if y_label.startswith("P(") else 1.0
    rows = []
    for name, size in (h.get("sizes") or {}).items():
        if not isinstance(size, Mapping):
            continue
        if size.get("kind") == "levels":
            items = [(f"{name} = {text(r.get('level'))} vs {text(size.get('reference'))}", r)
                     for r in size.get("levels") or []]
        else:
            span = f"{name} {fmt_num(size.get('from'))} → {fmt_num(size.get('to'))}"
            fixed = [f"{text(f.get('column'))} at its average {fmt_num(f.get('at'))}"
                     for f in size.get("others_at") or [] if isinstance(f, Mapping)]
            head = span + (f" ({', '.join(fixed)})" if fixed else "")
            items = [(head, r) for r in size.get("changes") or []]
            for b in size.get("by") or []:
                if isinstance(b, Mapping):
                    at = f"{name} at {text(b.get('column'))} = {fmt_num(b.get('at'))}"  # the same span
                    items += [(at, r) for r in b.get("changes") or [] if isinstance(r, Mapping)]
        for label, r in items:
            if r.get("class") is not None:
                label += f" [{text(r['class'])}]"
            rows.append((label, *(_times(r.get(k), scale) for k in ("change", "ci_low", "ci_high"))))
    return rows


def _times(value: Any, scale: float) -> Any:
    return value * scale if isinstance(value, (int, float)) else value
