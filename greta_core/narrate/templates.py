"""Sentences built from numbers: direction, size in the target's units, interval, strength.

Nothing here guesses: every number in a sentence is a field of the results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def num(v: float | None, digits: int = 3) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    mag = abs(v)
    if mag >= 1e5 or mag < 1e-3:
        return f"{v:.{digits - 1}e}"
    decimals = max(digits - 1 - int(math.floor(math.log10(mag))), 0)
    return f"{v:,.{decimals}f}"


def qtext(q: float | None) -> str:
    if q is None or not math.isfinite(q):
        return "q n/a"
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class Narrator:
    def __init__(self, target: str, task: str, positive: str | None = None) -> None:
        self.y = target
        self.task = task
        self.positive = positive

    def _scale(self, b: float) -> tuple[float, str]:
        if self.task == "regression":
            return b, ""
        return 100 * b, " percentage points"

    def _outcome(self, cls: str | None = None) -> str:
        if self.task == "binary":
            return f"the chance that {self.y} is {self.positive!r}"
        if self.task == "multiclass":
            return f"the share of {self.y} = {cls!r}"
        return self.y

    def _change(self, e: dict[str, Any]) -> str:
        b, unit = self._scale(e["estimate"])
        lo, _ = self._scale(e["ci_low"])
        hi, _ = self._scale(e["ci_high"])
        verb = "raises" if b > 0 else "lowers"
        return f"{verb} {self._outcome(e.get('class'))} by {num(abs(b))}{unit} (95% CI {num(lo)} to {num(hi)})"

    def term_sentence(self, term: dict[str, Any], kind: str, rows: Sequence[dict[str, Any]]) -> str:
        name, q = term["term"], qtext(term.get("q_value"))
        main = [r for r in rows if not str(r["column"]).endswith(":missing")]
        if not main:
            return f"Whether {name} is missing matters for {self.y} ({q})."
        if kind == "categorical":
            return self._categorical(name, main, q)
        e = max(main, key=lambda r: abs(r["standardized"] or 0.0))
        lead = {
            "product": f"{self.y} depends on {' and '.join(term.get('sources', [name]))} together: each extra unit of their product {name}",
            "square": f"{self.y} changes along a curve in {term.get('sources', [name])[0]}: each extra unit of {name}",
            "log": f"{self.y} follows {name}: each extra unit of {name} (a factor of e≈2.72 in {term.get('sources', [name])[0]})",
        }.get(kind, f"Each extra unit of {name}")
        return f"{lead} {self._change(e)}; confirmed on held-out data, {q}."

    def _categorical(self, name: str, rows: Sequence[dict[str, Any]], q: str) -> str:
        e = max(rows, key=lambda r: abs(r["estimate"]))
        b, unit = self._scale(e["estimate"])
        lo, _ = self._scale(e["ci_low"])
        hi, _ = self._scale(e["ci_high"])
        way = "higher" if b > 0 else "lower"
        return (f"{self._outcome(e.get('class')).capitalize() if self.task != 'regression' else self.y} "
                f"differs by {name}: with {name} = {e['level']!r} it is {num(abs(b))}{unit} {way} than with "
                f"{e['reference']!r} (95% CI {num(lo)} to {num(hi)}); confirmed on held-out data, {q}.")

    def hypothesis(self, h: dict[str, Any], kinds: dict[str, str], sources: dict[str, list[str]]) -> str:
        """The hypothesis' narrative: a head sentence, then one sentence per term."""
        return " ".join([self.head(h), *self.findings(h, kinds, sources)])

    def findings(self, h: dict[str, Any], kinds: dict[str, str], sources: dict[str, list[str]]) -> list[str]:
        """One sentence per term of a confirmed hypothesis (none for an unconfirmed one), except a
        main term that is there for its column's product or square: its column is described by
        the combined curve, one sentence per feature that enters through several terms."""
        if not h["confirmed"]:
            return []
        out = []
        for t in h["term_tests"]:
            if not t.get("required", True):
                continue
            rows = [e for e in h["effects"] if e["term"] == t["term"]]
            out.append(self.term_sentence({**t, "sources": sources.get(t["term"], [])}, kinds[t["term"]], rows))
        for entry in h.get("partial_dependence") or []:
            using = [t for t in h["terms"] if entry["term"] in sources.get(t, [])]
            if entry["kind"] == "numeric" and len(using) > 1:
                sentence = self.curve(entry, using)
                if sentence:
                    out.append(sentence)
        return out

    def curve(self, entry: dict[str, Any], using: Sequence[str]) -> str | None:
        """How the prediction moves as one feature runs through the middle 90% of its held-out
        values, through all the ``using`` terms at once (its partial dependence), or None."""
        x, y = np.asarray(entry["x"], dtype=float), np.asarray(entry["y"], dtype=float)
        if len(x) < 3 or not np.all(np.isfinite(y)) or y.max() == y.min():
            return None
        if self.task == "binary" and (y.min() < 0 or y.max() > 1):
            return None  # a linear-probability curve that leaves 0-100% is not worth a sentence
        show = pct if self.task == "binary" else num
        name, spread = entry["term"], float(y.max() - y.min())
        path = f"from {show(y[0])} at {name} = {num(x[0])}"
        for k in (int(y.argmin()), int(y.argmax())):
            if 0 < k < len(y) - 1 and min(abs(y[k] - y[0]), abs(y[k] - y[-1])) > 0.1 * spread:
                low = y[k] < y[0]
                path = (f"{'falls' if low else 'rises'} {path} to a {'low' if low else 'high'} of {show(y[k])} "
                        f"near {num(x[k])}, then {'rises' if low else 'falls'} to {show(y[-1])} at {num(x[-1])}")
                break
        else:
            path = f"{'rises' if y[-1] > y[0] else 'falls'} {path} to {show(y[-1])} at {num(x[-1])}"
        return (f"Taken together ({_join(using)}), as {name} runs through the middle 90% of its values, "
                f"{self._outcome()} {path}, other columns at their averages.")

    def head(self, h: dict[str, Any]) -> str:
        terms = _join(h["terms"])
        hold = h["holdout"]
        if not h["confirmed"]:
            failed = [t["term"] for t in h["term_tests"] if not t["confirmed"]]
            why = f"the term(s) {', '.join(failed)} did not hold up" if failed else "its overall test did not hold up"
            return (f"Not confirmed: {terms} looked promising in the search, but on held-out data {why} "
                    f"(held-out {qtext(hold.get('q_value'))}).")
        size = "R²" if self.task != "multiclass" else "1 − Wilks' λ"
        verb = "explains" if len(h["terms"]) == 1 else "together explain"
        return (f"{terms} {verb} {pct(hold['r2'])} of the variation in {self.y} on held-out data "
                f"({size} = {num(hold['r2'])}, {qtext(hold.get('q_value'))}).")

    def summary(self, data: dict[str, Any], hyps: Sequence[dict[str, Any]], columns: Sequence[dict[str, Any]],
                evaluations: int) -> str:
        task = {"regression": "a numeric target", "binary": "a yes/no target",
                "multiclass": "a target with several classes"}[self.task]
        tested = len(hyps)
        head = (f"Greta analysed {data['rows_used']:,} rows and {len(data['columns_used'])} columns to explain "
                f"{self.y} ({task}). The search scored {evaluations:,} hypotheses on {data['rows_discovery']:,} "
                f"discovery rows; the best {'one was' if tested == 1 else f'{tested} were'} re-tested on "
                f"{data['rows_holdout']:,} held-out rows the search never saw.")
        lead = next((h for h in hyps if h.get("role") == "lead"), None)
        if lead is None:
            return (head + " None was confirmed: the data give no reliable evidence that these columns drive "
                    f"{self.y}.")
        matter = [c["name"] for c in columns if c["verdict"] == "matters"]
        return (head + f" The best confirmed model, {', '.join(lead['terms'])}, accounts for "
                f"{pct(lead['holdout']['r2'])} of the variation in {self.y} on held-out data "
                f"({qtext(lead['holdout'].get('q_value'))}). The columns that matter: {', '.join(matter)}.")
