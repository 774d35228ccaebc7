"""Sentences built from numbers (DESIGN §6): the answer first, then one sentence per column.

Nothing here guesses: every number in a sentence is a field of the results. A column's
sentence gives its size in units a reader knows (``greta_core.confirm.sizes``): the change in
the target — for a yes/no target, in percentage points of the chance of the positive class from
its logistic fit, averaged over the held-out rows; for several classes, in each class's share — as
the column moves across the middle half of its values, one value against the other, or each
level against the reference; always "holding the other columns fixed", since the model adjusts
for them, and saying so when the column's plain association with the target runs the other way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

MISSING_LEVEL = "(missing)"  # greta_core.plan.schema's name of missing values (not imported: it needs pandas)


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


def detectable(rows: int, width: int, tests: int, level: float, power: float = 0.8,
               share: float = 0.1) -> tuple[float, int]:
    """Roughly what a test of one column on ``rows`` rows, in a model of ``width`` design
    columns, finds with probability ``power`` when it is one of ``tests`` tests corrected at
    ``level`` (Bonferroni's threshold, Holm's first step): the share of the variation the other
    columns leave (partial R²) that it needs, and the rows a column with ``share`` needs. The
    normal approximation of a one-term test, noncentrality f²·(residual df); t's heavier tails
    with few rows, and columns of several terms, need more."""
    from statistics import NormalDist

    z = NormalDist()
    lam = (z.inv_cdf(1 - level / max(tests, 1) / 2) + z.inv_cdf(power)) ** 2
    f2 = lam / max(rows - width - 1, 1)
    need = lam * (1 - share) / share + width + 1
    return f2 / (1 + f2), int(float(f"{need:.2g}"))


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _upper(text: str) -> str:
    """The sentence's first letter in capitals, the rest (column names) as they are."""
    return text[:1].upper() + text[1:]


def _apart(a: float, b: float) -> tuple[str, str]:
    """Two different values written with enough digits to look different (2,023.5 and 2,024.0,
    not 2,024 and 2,024)."""
    for digits in range(3, 16):
        x, y = num(a, digits), num(b, digits)
        if x != y or a == b:
            return x, y
    return num(a, 16), num(b, 16)


def _chance(v: float) -> str:
    """A predicted probability: 44.4%, but 0.04% (not 0.0%) for a rare event."""
    if 0.0 < abs(v) < 0.01:
        return f"{100 * v:.2g}%" if abs(v) >= 1e-6 else "under 0.0001%"
    return pct(v)


def _points(v: float) -> str:
    """A probability in points with one decimal, never "-0.0"."""
    text = f"{100 * v:.1f}"
    return "0.0" if text == "-0.0" else text


def _excludes_zero(row: dict[str, Any]) -> bool:
    return row["ci_low"] > 0 or row["ci_high"] < 0


_ORDINAL = {0.25: "25th", 0.75: "75th"}


class Narrator:
    def __init__(self, target: str, task: str, positive: str | None = None) -> None:
        self.y = target
        self.task = task
        self.positive = positive

    # ------------------------------------------------------------------ pieces
    def _outcome(self, cls: str | None = None) -> str:
        if self.task == "binary":
            return f"the chance that {self.y} is {self.positive!r}"
        if self.task == "multiclass":
            return f"the share of {self.y} = {cls!r}"
        return self.y

    def _amount(self, v: float) -> str:
        """A size without its sign: percentage points for a probability, else target units."""
        if self.task == "regression":
            return num(abs(v))
        return f"{abs(100 * v):.1f} points"

    def _ci(self, row: dict[str, Any]) -> str:
        """The interval of the size in the sentence's own direction (a fall of 4.1 has the
        interval 3.6 to 4.6, not -4.6 to -3.6)."""
        lo, hi = (row["ci_low"], row["ci_high"]) if row["change"] >= 0 else (-row["ci_high"], -row["ci_low"])
        if self.task == "regression":
            return f"95% CI {num(lo)} to {num(hi)}"
        return f"95% CI {_points(lo)} to {_points(hi)}"

    def _moves(self, row: dict[str, Any]) -> str:
        verb = "rises" if row["change"] >= 0 else "falls"
        return f"{verb} by {self._amount(row['change'])} ({self._ci(row)})"

    # ------------------------------------------------------------------ one column
    def column_sentence(self, name: str, size: dict[str, Any], q: float | None, all_rows: int | None = None,
                        shapes: bool = False) -> str:
        """The sentence of one column with a passing verdict; ``all_rows``: the rows of the test
        on all rows that passed (its ``q`` is Holm-adjusted), None when the held-out test did;
        ``shapes``: that test was of all the column's terms (curves and products too)."""
        if size["kind"] == "levels":
            body = self._levels(name, size)
        else:
            body = self._numeric(name, size)
        if self.task == "binary" and size.get("model") == "linear probability":
            body += " (sized by a straight-line model: the logistic fit was not usable)"
        if all_rows is not None:
            p = "adjusted p < 0.001" if q is not None and q < 0.001 else f"adjusted p = {q:.3f}"
            how = " through its curves and products (all its terms together)" if shapes else ""
            return f"{body}; confirmed on all {all_rows:,} rows with every column in the model{how}, {p}."
        return f"{body}; confirmed on held-out data, {qtext(q)}."

    def with_every_column(self, size: dict[str, Any], everything: dict[str, Any] | None, rows: int) -> str:
        """A sentence for a column whose lead-model size (``size``) changes sign or differs by
        more than half from its size with every other column in the model (``everything``, on
        all ``rows``): that the two models disagree is part of the answer. Else ""."""
        if (everything is None or self.task == "multiclass" or size["kind"] == "levels"
                or size["kind"] != everything["kind"] or size.get("by") or everything.get("by")):
            return ""
        a, b = size["changes"][0], everything["changes"][0]
        x, y = a["change"], b["change"]
        if x * y > 0 and max(abs(x), abs(y)) <= 2 * min(abs(x), abs(y)):
            return ""
        verb = "rises" if y >= 0 else "falls"
        return (f" With every other column in the model (on all {rows:,} rows), {self._outcome()} {verb} by "
                f"{self._amount(y)} over the same range ({self._ci(b)}) instead: part of what the lead model gives "
                "this column belongs to columns related to it.")

    def _span(self, name: str, size: dict[str, Any]) -> str:
        lo, hi = _apart(size["from"], size["to"])
        if size["kind"] == "two values":
            return f"with {name} = {hi} rather than {lo}"
        share = "the middle half" if size["kind"] == "middle half" else "the middle 80%"
        return f"as {name} goes from {lo} to {hi} ({share} of its values)"

    def _numeric(self, name: str, size: dict[str, Any]) -> str:
        span = self._span(name, size)
        changes = size["changes"]
        if self.task == "multiclass":
            shown = [c for c in changes if _excludes_zero(c)] or [max(changes, key=lambda c: abs(c["change"]))]
            shown = sorted(shown, key=lambda c: -abs(c["change"]))  # the largest change first
            parts = [f"{self._outcome(c['class'])} {self._moves(c)}" for c in shown]
            return f"{_upper(span)}, {_join(parts)}, holding the other columns fixed"
        row = changes[0]
        by = size.get("by") or []
        if by and not _excludes_zero(row):
            # the column matters through its interaction: its size depends on the other column
            other = by[0]["column"]
            parts = [f"{self._moves(b['changes'][0])} when {other} is at its {_ORDINAL.get(b['quantile'], '')} "
                     f"percentile ({num(b['at'])})" for b in by if b["column"] == other]
            clipped = any(r.get("clipped") for b in by for r in b["changes"])
            return (f"{name} matters through its interaction with {other}: {span}, {self._outcome()} "
                    f"{' but '.join(parts)}, holding the other columns fixed"
                    + (" (the straight-line model predicts beyond 0–100% here; shown clipped)" if clipped else ""))
        levels = ""
        if size.get("predicted"):
            a, b = size["predicted"]
            show = _chance if self.task == "binary" else num
            levels = f" from {show(a)} to {show(b)}"
        verb = "rises" if row["change"] >= 0 else "falls"
        fixed = "".join(f" and {f['column']} at its average ({num(f['at'])})" for f in size.get("others_at") or [])
        text = (f"{_upper(span)}, {self._outcome()} {verb}{levels} (by {self._amount(row['change'])}, "
                f"{self._ci(row)}), holding the other columns fixed{fixed}")
        if size.get("clipped") or any(r.get("clipped") for b in by for r in b["changes"]):
            text += " (the straight-line model predicts beyond 0–100% here; shown clipped)"
        if by:
            other = by[0]["column"]
            ends = [f"{self._amount(b['changes'][0]['change'])} {'up' if b['changes'][0]['change'] >= 0 else 'down'} "
                    f"when {other} is {num(b['at'])}" for b in by if b["column"] == other]
            text += f"; the change depends on {other}: {' and '.join(ends)}"
        if size.get("turns_at") is not None:
            text += f"; the curve turns near {name} = {num(size['turns_at'])}"
        elif size.get("jump") is not None:
            jump = size["jump"]
            text += (f"; rather than a smooth curve, the held-out rows show a jump near {name} = {num(jump['at'])} "
                     f"({self._amount(jump['change'])} {'up' if jump['change'] >= 0 else 'down'} across it)")
        elif size.get("bend") is not None:
            bend, words = size["bend"], {"up": "rising", "down": "falling", "flat": "about flat"}
            text += (f"; rather than a smooth curve, the held-out rows change course near {name} = {num(bend['at'])}: "
                     f"{words[bend['direction_below']]} below it, {words[bend['direction_above']]} above it")
        assoc = size.get("association")
        if assoc and assoc * row["change"] < 0:
            text += (f" (on its own, without adjusting for the other columns, higher {name} goes with "
                     f"{'higher' if assoc > 0 else 'lower'} {self._outcome() if self.task == 'binary' else self.y})")
        return text

    def _levels(self, name: str, size: dict[str, Any]) -> str:
        ref = size["reference"]
        rows = [r for r in size["levels"] if _excludes_zero(r)] or sorted(
            size["levels"], key=lambda r: -abs(r["change"]))[:1]
        rows = sorted(rows, key=lambda r: -abs(r["change"]))
        shown = rows[:3]
        parts = []
        alone = []
        for r in shown:
            way = "higher" if r["change"] >= 0 else "lower"
            who = f" for {self._outcome(r['class'])}" if "class" in r else ""
            parts.append(f"{self._amount(r['change'])} {way} with {self._level(name, r['level'])}{who} "
                         f"({self._ci(r)})")
            alone += self._alone(name, ref, r)
        more = f" (and {len(rows) - 3} more levels)" if len(rows) > 3 else ""
        subject = self.y if self.task == "regression" else (
            self._outcome() if self.task == "binary" else f"the class of {self.y}")
        text = (f"{_upper(subject)} differs by {name}: compared with {name} = {ref!r}, it is "
                f"{_join(parts)}{more}, holding the other columns fixed")
        if alone:
            text += f" ({'; '.join(alone)})"
        return text

    @staticmethod
    def _level(name: str, level: str) -> str:
        return f"{name} missing" if level == MISSING_LEVEL else repr(level)

    def _alone(self, name: str, ref: str, r: dict[str, Any]) -> list[str]:
        """"on its own it goes the other way" when the plain comparison of the level with the
        reference (observed rates or means) has the opposite sign to the adjusted change."""
        marginal = r.get("marginal")
        if not marginal or not _excludes_zero(r) or (marginal[1] - marginal[0]) * r["change"] >= 0:
            return []
        show = pct if self.task == "binary" else num
        what = "rate" if self.task == "binary" else f"average {self.y}"
        return [f"on its own it goes the other way: the {what} is {show(marginal[1])} with "
                f"{self._level(name, r['level'])} against {show(marginal[0])} with {ref!r}, before adjusting "
                "for the other columns"]

    # ------------------------------------------------------------------ a hypothesis
    def findings(self, h: dict[str, Any], sizes: dict[str, dict[str, Any]]) -> list[str]:
        """One sentence per column of a confirmed hypothesis, most important first (none for an
        unconfirmed one)."""
        if not h["confirmed"]:
            return []
        tests = sorted((c for c in h.get("column_tests", []) if c["passed"] and c["name"] in sizes),
                       key=lambda c: -(c.get("importance") or 0.0))
        return [self.column_sentence(c["name"], sizes[c["name"]], c.get("q_value")) for c in tests]

    def fit_measure(self) -> str:
        return "R²" if self.task != "multiclass" else "R² averaged over all the classes"

    def head(self, h: dict[str, Any]) -> str:
        terms = _join(h["terms"])
        hold = h["holdout"]
        if not h["confirmed"]:
            failed = [t["term"] for t in h["term_tests"] if t.get("required", True) and not t["confirmed"]]
            failed += [c["name"] for c in h.get("column_tests", []) if not c["passed"]]
            why = (f"{', '.join(dict.fromkeys(failed))} did not hold up" if failed
                   else "its overall test did not hold up")
            return (f"Not confirmed: {terms} looked promising in the search, but on held-out data {why} "
                    f"(held-out {qtext(hold.get('q_value'))}).")
        verb = "explains" if len(h["terms"]) == 1 else "together explain"
        return (f"{terms} {verb} {pct(hold['r2'])} of the variation in {self.y} on held-out data "
                f"({self.fit_measure()} = {num(hold['r2'])}, {qtext(hold.get('q_value'))}).")

    # ------------------------------------------------------------------ the answer
    def summary(self, data: dict[str, Any], hyps: Sequence[dict[str, Any]], columns: Sequence[dict[str, Any]],
                evaluations: int, exhaustive: bool = False, retested: int | None = None) -> str:
        task = {"regression": "a numeric target", "binary": "a yes/no target",
                "multiclass": "a target with several classes"}[self.task]
        tested = len(hyps) if retested is None else retested  # every hypothesis re-tested, not those shown
        retest = (f"the best {'one was' if tested == 1 else f'{tested} were'} re-tested on "
                  f"{data['rows_holdout']:,} held-out rows the search never saw" if tested else
                  "none passed the search's own tests, so there was nothing to re-test")
        how = (f"Greta analysed {data['rows_used']:,} rows and {len(data['columns_used'])} columns to explain "
               f"{self.y} ({task}). The search scored {'all ' if exhaustive else ''}{evaluations:,} "
               f"{'possible ' if exhaustive else ''}hypotheses on {data['rows_discovery']:,} "
               f"discovery rows; {retest}.")
        lead = next((h for h in hyps if h.get("role") == "lead"), None)
        matter = [c["name"] for c in columns if c["verdict"] == "matters"]
        caveat = (f"These are associations in this data: a column can go with {self.y} because it affects it, "
                  "because it follows from it, or because both follow from something else.")
        if lead is not None and not matter:  # the model predicts; no column does once the others are held
            named = _join(lead.get("features") or lead["terms"])
            return (f"The best confirmed model ({named}) accounts for {pct(lead['holdout']['r2'])} of the "
                    f"variation in {self.y} on held-out data ({self.fit_measure()}, "
                    f"{qtext(lead['holdout'].get('q_value'))}), but no single column was confirmed once every other "
                    f"column is held fixed on all {data['rows_used']:,} rows: the columns are related closely enough "
                    f"that this data cannot tell which of them goes with {self.y}. {how} {caveat}")
        if lead is None and matter:  # only the test of every column together on all rows passed
            return (f"What goes with {self.y}: {_join(matter)} (most important first), each tested on all "
                    f"{data['rows_used']:,} rows with every other column held fixed; no hypothesis of the search "
                    f"was confirmed on the held-out rows. {how} {caveat}")
        if lead is None:
            held = int(data["rows_holdout"])
            need = 7.85 / max(held, 1)  # (z 0.975 + z 0.8)²/n: the partial R² one test finds 80% of the time
            return (f"No column was confirmed to go with {self.y}. That is not evidence that none does: with "
                    f"{held:,} held-out rows, a column must account for about {pct(need)} or more of the "
                    f"variation in {self.y} to be confirmed reliably, and more when many are tested; a weaker one "
                    f"needs more rows. {how}")
        return (f"What goes with {self.y}: {_join(matter)} (most important first). The best confirmed model "
                f"accounts for {pct(lead['holdout']['r2'])} of the variation in {self.y} on held-out "
                f"data ({self.fit_measure()}, {qtext(lead['holdout'].get('q_value'))}). {how} {caveat}")

    def summary_on_all_rows(self, columns: Sequence[dict[str, Any]], why: str, rows: int, width: int, tests: int,
                            level: float) -> str:
        """The summary of a table too small to split (``why``: a sentence's start that says so),
        whose columns were each tested on all ``rows`` in one model of ``width`` design columns
        (``tests`` column tests, Holm at ``level``). When none passed, how strong a column must be
        to pass with these rows, and how many rows a modest one needs: with so few rows a
        column that does not pass is no sign that it does not matter."""
        how = (f"{why}, so each column was tested on all {rows:,} rows with every other column held fixed "
               "(no search, no held-out rows).")
        matter = [c["name"] for c in columns if c["verdict"] == "matters"]
        if matter:
            caveat = (f"These are associations in this data: a column can go with {self.y} because it affects it, "
                      "because it follows from it, or because both follow from something else.")
            return f"What goes with {self.y}: {_join(matter)} (most important first). {how} {caveat}"
        share, needed = detectable(rows, width, tests, level)
        return (f"No column passed its test on all {rows:,} rows, and with so few rows that says little: a column "
                f"must account for about {pct(share)} of the variation in {self.y} that the other columns leave to "
                f"pass 8 times in 10; one that accounts for 10% would need about {needed:,} rows. {how}")
