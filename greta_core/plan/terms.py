"""Candidate terms: the building blocks of hypotheses (DESIGN §3).

Each usable column gives one main term (a categorical column: one term made of its level
dummies; a numeric column with missing values: its value, 0 where missing, plus a missing
indicator). Engineered terms are squares, logs of skewed positive columns and pairwise
products ``a*b`` of numeric columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

from greta_core.plan.schema import ColumnInfo, TargetInfo

_NUMERIC = ("numeric", "boolean", "datetime")


@dataclass(frozen=True)
class Term:
    name: str
    kind: str  # numeric | categorical | product | square | log
    sources: tuple[str, ...]
    labels: tuple[str, ...]  # one per design column
    levels: tuple[str, ...] = ()  # categorical: the dummy levels (reference excluded)
    reference: str | None = None

    @property
    def width(self) -> int:
        return len(self.labels)

    @property
    def engineered(self) -> bool:
        return self.kind in ("product", "square", "log")


@dataclass(frozen=True)
class Plan:
    """Everything decided before the data pass: the target, the columns and the terms."""

    target: TargetInfo
    columns: tuple[ColumnInfo, ...]
    dropped: tuple[tuple[str, str], ...]
    terms: tuple[Term, ...]
    notes: tuple[str, ...] = ()

    @property
    def main_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.engineered)

    @property
    def engineered_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.engineered)

    def column(self, name: str) -> ColumnInfo:
        return next(c for c in self.columns if c.name == name)


def main_term(col: ColumnInfo) -> Term:
    if col.kind == "categorical":
        ref, rest = col.levels[0], col.levels[1:]
        labels = tuple(f"{col.name}={lv}" for lv in rest)
        return Term(col.name, "categorical", (col.name,), labels, rest, ref)
    labels = (col.name,) + ((f"{col.name}:missing",) if col.has_missing else ())
    return Term(col.name, "numeric", (col.name,), labels)


def engineered_terms(cols: list[ColumnInfo], interactions: bool, squares: bool, logs: bool) -> list[Term]:
    numeric = [c for c in cols if c.kind in ("numeric", "datetime")]
    out: list[Term] = []
    if logs:
        for c in numeric:
            if c.kind == "numeric" and c.skewed and c.nonnegative:
                name = f"log({c.name})" if c.positive else f"log1p({c.name})"
                out.append(Term(name, "log", (c.name,), (name,)))
    if squares:
        for c in numeric:
            out.append(Term(f"{c.name}^2", "square", (c.name,), (f"{c.name}^2",)))
    if interactions:
        inter = [c for c in cols if c.kind in _NUMERIC]
        for a, b in combinations(inter, 2):
            name = f"{a.name}*{b.name}"
            out.append(Term(name, "product", (a.name, b.name), (name,)))
    return out


def build_plan(target: TargetInfo, columns: list[ColumnInfo], dropped: list[tuple[str, str]],
               interactions: bool = True, squares: bool = True, logs: bool = True) -> Plan:
    terms = [main_term(c) for c in columns]
    terms += engineered_terms(columns, interactions, squares, logs)
    return Plan(target, tuple(columns), tuple(dropped), tuple(terms))
