"""Candidate terms: the building blocks of hypotheses (DESIGN §3).

Each usable column gives one main term (a categorical column: one term made of its level
dummies; a numeric column: its value centred at the column's centre, 0 where missing, plus a
missing indicator when the planning sample saw missing values). Engineered terms are squares,
logs of skewed positive columns and pairwise products ``a*b`` of numeric columns; squares and
products are formed from the centred values and are *hierarchical*: a hypothesis holds them
only together with the main terms of their columns (:func:`parents`).

A plan lists its main terms, logs and squares (one each per column at most); the pairwise
products, which grow with the square of the number of columns (50 million for 10,000
columns), are generated on demand (:meth:`Plan.products`), never all held at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
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
    listed: tuple[Term, ...]  # main terms, then logs and squares; products come from ``interacting``
    notes: tuple[str, ...] = ()
    centres: tuple[tuple[str, float], ...] = ()  # numeric columns: the value subtracted before use
    interacting: tuple[str, ...] = ()  # columns whose pairwise products are candidate terms

    def centre(self, name: str) -> float:
        return self._centres.get(name, 0.0)

    @cached_property
    def _centres(self) -> dict[str, float]:
        return dict(self.centres)

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every candidate term, products included (materialised: for plans of normal width)."""
        return self.listed + tuple(self.products())

    @property
    def main_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.listed if not t.engineered)

    @property
    def engineered_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.listed if t.engineered) + tuple(self.products())

    @property
    def n_products(self) -> int:
        k = len(self.interacting)
        return k * (k - 1) // 2

    @property
    def candidate_count(self) -> int:
        """How many candidate terms the plan has, products included."""
        return len(self.listed) + self.n_products

    @property
    def candidate_width(self) -> int:
        """How many design columns all candidate terms would take (each product takes one)."""
        return sum(t.width for t in self.listed) + self.n_products

    def product(self, i: int, j: int) -> Term:
        """The product of the ``i``-th and ``j``-th interacting columns (``i < j``)."""
        a, b = self.interacting[i], self.interacting[j]
        return Term(f"{a}*{b}", "product", (a, b), (f"{a}*{b}",))

    def products(self) -> Iterator[Term]:
        """The pairwise products, in the order of ``itertools.combinations`` of the columns."""
        for i, j in combinations(range(len(self.interacting)), 2):
            yield self.product(i, j)

    def column(self, name: str) -> ColumnInfo:
        return next(c for c in self.columns if c.name == name)


def main_term(col: ColumnInfo) -> Term:
    if col.kind == "categorical":
        ref, rest = col.levels[0], col.levels[1:]
        labels = tuple(f"{col.name}={lv}" for lv in rest)
        return Term(col.name, "categorical", (col.name,), labels, rest, ref)
    labels = (col.name,) + ((f"{col.name}:missing",) if col.has_missing else ())
    return Term(col.name, "numeric", (col.name,), labels)


def interacting(cols: Sequence[ColumnInfo]) -> tuple[str, ...]:
    """The columns whose pairwise products are candidate terms."""
    return tuple(c.name for c in cols if c.kind in _NUMERIC)


def listed_terms(cols: Sequence[ColumnInfo], squares: bool, logs: bool) -> list[Term]:
    """The logs and squares: at most one each per column."""
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
    return out


def build_plan(target: TargetInfo, columns: list[ColumnInfo], dropped: list[tuple[str, str]],
               interactions: bool = True, squares: bool = True, logs: bool = True,
               centres: dict[str, float] | None = None) -> Plan:
    terms = [main_term(c) for c in columns] + listed_terms(columns, squares, logs)
    return Plan(target, tuple(columns), tuple(dropped), tuple(terms), centres=tuple((centres or {}).items()),
                interacting=interacting(columns) if interactions else ())


def parents(terms: Sequence[Term]) -> tuple[tuple[int, ...], ...]:
    """For each term, the indices of the main terms a hypothesis must hold with it (marginality:
    a product needs both columns' main terms, a square its column's main term)."""
    main = {t.name: i for i, t in enumerate(terms) if not t.engineered}
    return tuple(tuple(main[s] for s in t.sources if s in main) if t.kind in ("product", "square") else ()
                 for t in terms)
