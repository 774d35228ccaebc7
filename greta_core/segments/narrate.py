"""One sentence per segment, every number a field of the segment's results entry."""

from __future__ import annotations

from typing import Any

from greta_core.narrate.templates import num, qtext


def _value(v: float | None, task: str) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.1f}%" if task != "regression" else num(v)


def _ci(g: dict[str, Any], task: str) -> str:
    if g.get("ci_low") is None or g.get("ci_high") is None:
        return ""
    low, high = _value(g["ci_low"], task), _value(g["ci_high"], task)
    if task != "regression":
        return f" (95% CI {low.rstrip('%')}–{high})"
    return f" (95% CI {low} to {high})" if g["ci_low"] < 0 else f" (95% CI {low}–{high})"


def sentence(seg: dict[str, Any], target: str, task: str) -> str:
    """"Where contract is monthly and support_calls is 3 or more (6.1% of rows, about 2,440),
    churned is 'yes' in 61.2% of rows (95% CI 57.0–65.3%), against 24.0% (95% CI 23.5–24.5%)
    elsewhere; confirmed on held-out data, q < 0.001.\""""
    share = seg.get("share")
    size = f"{100 * share:.1f}% of rows, about {seg['rows']:,}" if share is not None else f"about {seg['rows']:,} rows"
    inside, outside = seg["inside"], seg["outside"]
    where = f"Where {seg['description']} ({size}), "
    if task == "regression":
        what = f"the mean of {target} is {_value(inside['mean'], task)}{_ci(inside, task)}"
    else:
        what = f"{target} is {seg['class']!r} in {_value(inside['mean'], task)} of rows{_ci(inside, task)}"
    against = f", against {_value(outside['mean'], task)}{_ci(outside, task)} elsewhere"
    if seg["confirmed"]:
        verdict = f"; confirmed on held-out data, {qtext(seg['q_value'])}."
    else:
        verdict = f"; not confirmed on held-out data ({qtext(seg['q_value'])})."
    return where + what + against + verdict
