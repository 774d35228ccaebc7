"""Hand-written inline SVG charts: a forest plot of effects and partial-dependence charts.

Each function returns one ``<svg>`` element as a string, with no script, no external resource
and every data string HTML-escaped, so it can be pasted into a self-contained HTML page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from greta_core.report._format import as_float, fmt_num, text

ACCENT = "#2b6cb0"
INK = "#2d3748"
GRID = "#e2e8f0"
ZERO = "#c53030"
_CHAR_PX = 6.6  # average width of one character at the chart font size
MAX_BARS = 40
_VAL, _TICK, _TTL = ' class="val"', ' class="tick"', ' class="ttl"'

ForestRow = tuple[str, Any, Any, Any]  # label, estimate, ci_low, ci_high


def esc(value: object) -> str:
    """Escape a value for HTML/SVG text and attributes."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class _Scale:
    lo: float
    hi: float
    px0: float
    px1: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return round(self.px0 + (value - self.lo) / span * (self.px1 - self.px0), 2)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Return round tick values covering [lo, hi], about ``count`` of them."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    if not math.isfinite(raw) or raw <= 0:
        return [lo, hi]
    base = 10.0 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = [(first + i) * step for i in range(count + 2)]
    return [0.0 if abs(t) < step * 1e-9 else t for t in ticks if t <= hi + step * 1e-9]


def fmt_tick(value: float, ticks: Sequence[float]) -> str:
    """Format a tick value with just enough decimals to tell the ticks apart."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else abs(value)
    if step == 0 or not 1e-4 <= step < 1e6:
        return fmt_num(value)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step * 10**decimals, 6) % 1:  # a step such as 2.5 or 0.25
        decimals += 1
    return f"{value:,.{decimals}f}"


def _domain(values: Sequence[float], include_zero: bool) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.06
    return lo - pad, hi + pad


def _clip(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    head = (
        f'<svg class="chart" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>"
    )
    return head + "".join(body) + "</svg>"


def _text(x: float, y: float, value: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{esc(value)}</text>'


def _x_axis(scale: _Scale, y0: float, y1: float) -> list[str]:
    parts, ticks = [], nice_ticks(scale.lo, scale.hi)
    for tick in ticks:
        x = scale(tick)
        parts.append(f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="{GRID}"/>')
        parts.append(_text(x, y1 + 13, fmt_tick(tick, ticks), "middle", _TICK))
    return parts


def _zero_line(scale: _Scale, y0: float, y1: float) -> str:
    if not scale.lo <= 0 <= scale.hi:
        return ""
    x = scale(0.0)
    return f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="{ZERO}" stroke-dasharray="4 3"/>'


def _forest_row(row: ForestRow, y: float, scale: _Scale, label_chars: int) -> str:
    label, est, low, high = row[0], as_float(row[1]), as_float(row[2]), as_float(row[3])
    ci = f"[{fmt_num(low)}, {fmt_num(high)}]" if low is not None or high is not None else ""
    parts = [
        f"<g><title>{esc(f'{label}: {fmt_num(est)} {ci}'.strip())}</title>",
        _text(6, y + 4, _clip(label, label_chars)),
    ]
    if low is not None and high is not None:
        parts.append(
            f'<line x1="{scale(low)}" y1="{y}" x2="{scale(high)}" y2="{y}" '
            f'stroke="{INK}" stroke-width="2"/>'
        )
    if est is not None:
        parts.append(f'<circle cx="{scale(est)}" cy="{y}" r="4" fill="{ACCENT}"/>')
    parts.append(_text(scale.px1 + 10, y + 4, f"{fmt_num(est)} {ci}".strip(), extra=_VAL))
    return "".join(parts) + "</g>"


DOWN = "#c05621"


IMPORTANCE_TITLE = ("R² each column carries (blue: higher values raise it, orange: lower it, "
                    "grey: no single direction)")


def importance_chart(columns: Sequence[Mapping[str, Any]], width: int = 760, title: str = IMPORTANCE_TITLE) -> str:
    """Horizontal bars of the held-out R² each column carries (or the R² said by ``title``),
    coloured by direction (blue: higher values raise the target, orange: lower it, grey: it
    depends)."""
    rows = [(text(c.get("name")), v, c.get("direction")) for c in columns
            if (v := as_float(c.get("importance"))) is not None]
    if not rows:
        return ""
    label_chars = min(28, max(len(r[0]) for r in rows))
    scale = _Scale(0.0, max(v for _, v, _ in rows) * 1.08 or 1.0, 12 + label_chars * _CHAR_PX, width - 200)
    height = 40 + 22 * len(rows) + 20
    body = [_text(6, 16, _clip(title, int(width / _CHAR_PX)), extra=_TTL), *_x_axis(scale, 26, height - 22)]
    for i, (label, value, direction) in enumerate(rows):
        y = 30 + 22 * i
        colour = {"up": ACCENT, "down": DOWN}.get(direction, "#a0aec0")
        x1 = scale(value)
        body.append(
            f"<g><title>{esc(f'{label}: {fmt_num(value)}')}</title>{_text(6, y + 11, _clip(label, label_chars))}"
            f'<rect x="{scale.px0}" y="{y}" width="{max(1.0, x1 - scale.px0):.2f}" height="14" fill="{colour}"/>'
            f"{_text(x1 + 4, y + 11, fmt_num(value), extra=_VAL)}</g>"
        )
    return _svg(width, height, title, body)


def forest_plot(rows: Sequence[ForestRow], title: str, width: int = 760) -> str:
    """Return a forest plot: each estimate as a dot on its 95% CI bar, with a zero line.

    ``rows`` holds (label, estimate, ci_low, ci_high); missing numbers are left out.
    Returns "" when no row has a finite number.
    """
    numbers = [v for row in rows for v in (as_float(x) for x in row[1:]) if v is not None]
    if not numbers:
        return ""
    label_chars = min(40, max(len(row[0]) for row in rows))
    left = 12 + label_chars * _CHAR_PX
    lo, hi = _domain(numbers, include_zero=True)
    scale = _Scale(lo, hi, left, width - 250)
    top, step = 28.0, 22.0
    bottom = top + step * len(rows)
    body = [
        _text(6, 16, _clip(title, int(width / _CHAR_PX)), extra=_TTL),
        *_x_axis(scale, top - 8, bottom),
        _zero_line(scale, top - 8, bottom),
    ]
    body += [
        _forest_row(row, top + step * i + step / 2 - 6, scale, label_chars)
        for i, row in enumerate(rows)
    ]
    return _svg(width, bottom + 22, title, body)


def _y_axis(scale: _Scale, x0: float, x1: float) -> list[str]:
    parts, ticks = [], nice_ticks(scale.lo, scale.hi, count=4)
    for tick in ticks:
        y = scale(tick)
        parts.append(f'<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="{GRID}"/>')
        parts.append(_text(x0 - 4, y + 4, fmt_tick(tick, ticks), "end", _TICK))
    return parts


def _numeric_points(entry: Mapping[str, Any]) -> list[tuple[float, float]]:
    xs, ys = entry.get("x"), entry.get("y")
    if not isinstance(xs, (list, tuple)) or not isinstance(ys, (list, tuple)):
        return []
    pairs = [(as_float(x), as_float(y)) for x, y in zip(xs, ys, strict=False)]
    return sorted((x, y) for x, y in pairs if x is not None and y is not None)


_ORDINAL = {0.25: "25th", 0.75: "75th"}
LINE_COLOURS = (ACCENT, "#dd6b20", "#2f855a")


def _lines(entry: Mapping[str, Any]) -> list[tuple[str, list[tuple[float, float]]]]:
    """The chart's lines: one per level of the column's partner in a product (``lines``, each
    labelled with the level it fixes), else the one line of the entry."""
    out = []
    for line in entry.get("lines") or []:
        if not isinstance(line, Mapping):
            continue
        points = _numeric_points({"x": entry.get("x"), "y": line.get("y")})
        share = _ORDINAL.get(as_float(line.get("quantile")) or 0.0)
        label = f"{text(line.get('column'))} = {fmt_num(line.get('at'))}"
        if share:
            label += f" ({share} percentile)" if len(label) < 24 else f" ({share} pct.)"
        if points:
            out.append((label, points))
    if out:
        return out
    points = _numeric_points(entry)
    return [("", points)] if points else []


def line_chart(entry: Mapping[str, Any], y_label: str, width: int = 300) -> str:
    """Return a partial-dependence line chart of a numeric term ("" without finite points); a
    column in a product is drawn once per level of its partner, each line labelled."""
    lines = _lines(entry)
    if not lines:
        return ""
    term = text(entry.get("term"))
    legend = [label for label, _ in lines if label]
    top = 30 + 14 * len(legend)
    height = 170 + 14 * len(legend)
    xs = [x for _, points in lines for x, _ in points]
    ys = [y for _, points in lines for _, y in points]
    sx = _Scale(*_domain(xs, include_zero=False), 56, width - 12)
    sy = _Scale(*_domain(ys, include_zero=False), height - 22, top)
    body = [
        _text(6, 16, _clip(f"{y_label} by {term}", 46), extra=_TTL),
        *_y_axis(sy, 56, width - 12),
        *_x_axis(sx, top, height - 22),
    ]
    for k, (label, points) in enumerate(lines):
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        dash = ' stroke-dasharray="5 3"' if k % 2 else ""
        path = " ".join(f"{sx(x)},{sy(y)}" for x, y in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        if label:
            y = 30 + 14 * k
            body.append(f'<line x1="8" y1="{y - 4}" x2="26" y2="{y - 4}" stroke="{colour}" stroke-width="2"{dash}/>')
            body.append(_text(30, y, _clip(f"at {label}", 44)))
        where = f" at {label}" if label else ""
        if len(points) <= 30:
            body += [
                f'<circle cx="{sx(x)}" cy="{sy(y)}" r="2.5" fill="{colour}">'
                f"<title>{esc(f'{term} = {fmt_num(x)}{where}: {fmt_num(y)}')}</title></circle>"
                for x, y in points
            ]
    return _svg(width, height, f"Partial dependence of {y_label} on {term}", body)


def _bar(label: str, value: float, y: float, scale: _Scale, label_chars: int) -> str:
    x0, x1 = sorted((scale(0.0), scale(value)))
    rect = f'<rect x="{x0}" y="{y}" width="{max(1.0, x1 - x0):.2f}" height="14" fill="{ACCENT}"/>'
    return (
        f"<g><title>{esc(f'{label}: {fmt_num(value)}')}</title>"
        f"{_text(6, y + 11, _clip(label, label_chars))}{rect}"
        f"{_text(scale.px1 + 4, y + 11, fmt_num(value), extra=_VAL)}</g>"
    )


def bar_chart(entry: Mapping[str, Any], y_label: str, width: int = 300) -> str:
    """Return a partial-dependence bar chart of a categorical term (one bar per level)."""
    xs, ys = entry.get("x"), entry.get("y")
    if not isinstance(xs, (list, tuple)) or not isinstance(ys, (list, tuple)):
        return ""
    bars = [(text(x), v) for x, y in zip(xs, ys, strict=False) if (v := as_float(y)) is not None]
    if not bars:
        return ""
    term, shown = text(entry.get("term")), bars[:MAX_BARS]
    label_chars = min(16, max(len(b[0]) for b in shown))
    scale = _Scale(
        *_domain([v for _, v in shown], include_zero=True), 12 + label_chars * _CHAR_PX, width - 52
    )
    height = 48 + 18 * len(shown) + (14 if len(bars) > MAX_BARS else 0)
    body = [
        _text(6, 16, _clip(f"{y_label} by {term}", 46), extra=_TTL),
        _zero_line(scale, 24, height - 22),
    ]
    body += [_bar(label, v, 26 + 18 * i, scale, label_chars) for i, (label, v) in enumerate(shown)]
    if len(bars) > MAX_BARS:
        body.append(_text(6, height - 8, f"… {len(bars) - MAX_BARS} more levels not shown"))
    return _svg(width, height, f"Partial dependence of {y_label} on {term}", body)


def partial_dependence_chart(entry: Mapping[str, Any], y_label: str) -> str:
    """Return the chart of one ``partial_dependence`` entry: a line (numeric) or bars.

    A "numeric" entry whose x values are not numbers (dates as text, say) is drawn as bars.
    """
    if entry.get("kind") == "categorical":
        return bar_chart(entry, y_label)
    return line_chart(entry, y_label) or bar_chart(entry, y_label)


def segment_chart(segments: Sequence[Mapping[str, Any]], overall: float | None, label: str, percent: bool,
                  width: int = 760) -> str:
    """Each segment's mean or rate inside (a bar, its 95% CI as a whisker) against the overall
    one (a dashed line); the label gives the segment's share of the rows."""
    def pct(v: float | None) -> str:
        return NA_TEXT if v is None else (f"{100 * v:.1f}%" if percent else fmt_num(v))

    rows = []
    for s in segments:
        inside = s.get("inside") if isinstance(s.get("inside"), Mapping) else {}
        mean = as_float(inside.get("mean"))
        if mean is None:
            continue
        share = as_float(s.get("share"))
        name = text(s.get("description"))
        if s.get("class") is not None and overall is None:  # several classes: name the segment's
            name = f"[{text(s.get('class'))}] {name}"
        size = f" ({100 * share:.1f}% of rows)" if share is not None else ""
        rows.append((name, size, mean, as_float(inside.get("ci_low")), as_float(inside.get("ci_high"))))
    if not rows:
        return ""
    values = [v for r in rows for v in r[2:] if v is not None] + ([overall] if overall is not None else [])
    if percent:
        lo, hi = 0.0, min(1.0, max(values) * 1.08) or 1.0
    else:
        lo, hi = _domain(values, include_zero=False)
    label_chars = min(60, max(len(r[0]) + len(r[1]) for r in rows))
    left = 12.0
    scale = _Scale(lo, hi, left, width - 150)
    title = f"Segments: {label} inside each segment, 95% CI (held-out)" + (
        f"; dashed line: everyone ({pct(overall)})" if overall is not None else "")
    top, step = 30.0, 40.0
    bottom = top + step * len(rows)
    body = [_text(6, 16, _clip(title, int(width / _CHAR_PX)), extra=_TTL), *_x_axis(scale, top - 4, bottom)]
    for i, (name, size, mean, low, high) in enumerate(rows):
        y = top + step * i
        tip = f"{name}{size}: {pct(mean)}" + (f" [{pct(low)}, {pct(high)}]" if low is not None else "")
        part = [f"<g><title>{esc(tip)}</title>", _text(6, y + 10, _clip(name + size, label_chars + 2))]
        if percent:  # a rate: a bar from zero
            part.append(f'<rect x="{scale.px0}" y="{y + 15}" width="{max(1.0, scale(mean) - scale.px0):.2f}" '
                        f'height="14" fill="{ACCENT}"/>')
        else:  # a mean: a dot (a bar from an arbitrary zero would mislead)
            part.append(f'<circle cx="{scale(mean)}" cy="{y + 22}" r="4" fill="{ACCENT}"/>')
        if low is not None and high is not None:
            part.append(f'<line x1="{scale(low)}" y1="{y + 22}" x2="{scale(high)}" y2="{y + 22}" '
                        f'stroke="{INK}" stroke-width="2"/>')
        part.append(_text(max(scale(mean), scale(high) if high is not None else 0) + 6, y + 26, pct(mean),
                          extra=_VAL))
        body.append("".join(part) + "</g>")
    if overall is not None:
        x = scale(overall)
        body.append(f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{bottom}" stroke="{ZERO}" '
                    'stroke-dasharray="4 3"/>')
    return _svg(width, bottom + 22, title, body)


NA_TEXT = "n/a"
