"""Number and value formatting shared by every report format (standard library only)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

NA = "n/a"


def as_float(value: object) -> float | None:
    """Return ``value`` as a finite float; None if missing, NaN, infinite or not a number."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_num(value: object, sig: int = 3) -> str:
    """Format a number with ``sig`` significant digits: 0.0410, 1.23, 1,230, 1.23e-05."""
    x = as_float(value)
    if x is None:
        return NA
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if mag >= 6 or mag < -3:
        return f"{x:.{sig - 1}e}"
    if mag >= sig - 1:
        return f"{round(x, sig - 1 - mag):,.0f}"
    return f"{x:.{sig - 1 - mag}f}"


def fmt_p(value: object) -> str:
    """Format a p- or q-value: 0.41, 0.023, 3.2e-05, or "< 1e-300" when it underflowed."""
    x = as_float(value)
    if x is None:
        return NA
    if x < 1e-300:
        return "< 1e-300"
    if x < 0.001:
        return f"{x:.1e}"
    return f"{x:.2g}"


def fmt_fixed(value: object, decimals: int = 3) -> str:
    """Format a number with a fixed count of decimals (R², rates of a binary target)."""
    x = as_float(value)
    return NA if x is None else f"{x:.{decimals}f}"


def fmt_int(value: object) -> str:
    """Format a count with thousands separators: 12,345."""
    x = as_float(value)
    return NA if x is None else f"{round(x):,}"


def fmt_seconds(value: object) -> str:
    """Format a duration in seconds: 0.400 s, 12.3 s."""
    x = as_float(value)
    return NA if x is None else f"{fmt_num(x)} s"


def fmt_rate(value: object, unit: str) -> str:
    """Format a throughput: 250,000 rows/s."""
    x = as_float(value)
    if x is None:
        return NA
    return f"{x:,.0f} {unit}" if abs(x) >= 100 else f"{fmt_num(x)} {unit}"


def fmt_bytes(value: object) -> str:
    """Format a byte count: 0 B, 3.0 MB, 1.2 GB (powers of 1000)."""
    x = as_float(value)
    if x is None:
        return NA
    for unit in ("B", "KB", "MB", "GB"):
        if abs(x) < 1000:
            return f"{x:.0f} {unit}" if unit == "B" else f"{x:.1f} {unit}"
        x /= 1000
    return f"{x:.1f} TB"


def fmt_mb(value: object) -> str:
    """Format a memory size given in megabytes."""
    x = as_float(value)
    if x is None:
        return NA
    return f"{x / 1024:.2f} GB" if x >= 10240 else f"{fmt_num(x)} MB"


def fmt_ci(low: object, high: object) -> str:
    """Format a confidence interval as [low, high], or n/a if both ends are missing."""
    if as_float(low) is None and as_float(high) is None:
        return NA
    return f"[{fmt_num(low)}, {fmt_num(high)}]"


def text(value: object) -> str:
    """Return a data value (a name, a level) as a one-line string; None becomes n/a."""
    if value is None:
        return NA
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)


def mapping(obj: object, key: str) -> Mapping[str, Any]:
    """Return ``obj[key]`` if it is a mapping, else an empty one."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def records(obj: object, key: str) -> list[Mapping[str, Any]]:
    """Return the mappings in the list ``obj[key]`` (missing or malformed entries are skipped)."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(value, (list, tuple)):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def strings(obj: object, key: str) -> list[str]:
    """Return the list ``obj[key]`` as one-line strings (a lone string becomes a list of one)."""
    value = obj.get(key) if isinstance(obj, Mapping) else None
    if value is None:
        return []
    if isinstance(value, str):
        return [text(value)]
    if not isinstance(value, (list, tuple)):
        return [text(value)]
    return [text(item) for item in value]
