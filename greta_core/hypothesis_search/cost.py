"""What a genetic search will cost before it runs, and a search too long to run unasked.

The cost of a generation grows with the population twice over: each of its ``pop_size``
children is scored, and NSGA-II's survival (non-dominated sorting, crowding) compares every
individual with the others. Measured on the planted data of bench/search_speed.py (256 design
columns, at most 5 terms; the 2-core reference machine, under load), per child and generation:
0.12-0.25 ms at pop_size 100-1,000, 0.9 ms at 10,000 and 2.8 ms at 30,000 (see
docs/backends.md, "Inside a memory limit"); :func:`generation_seconds` fits that.
"""

from __future__ import annotations

from typing import Any

from greta_core.errors import InvalidConfigError

#: Seconds to make and score one child (the operators and the subset regression).
CHILD_SECONDS = 2.5e-4
#: Seconds of survival per child and per individual of the population (it compares them).
SORT_SECONDS = 9e-8
#: A search estimated above this many minutes is refused unless hypothesis_search.max_minutes is set.
REFUSE_MINUTES = 60


def generation_seconds(pop_size: int) -> float:
    """About how long one generation of ``pop_size`` children takes here."""
    return pop_size * (CHILD_SECONDS + SORT_SECONDS * pop_size)


def genetic_seconds(pop_size: int, generations: int) -> float:
    """About how long the whole search takes (the first population, then each generation)."""
    return (generations + 1) * generation_seconds(pop_size)


def duration(seconds: float) -> str:
    """E.g. "40 s", "12 min", "3.5 h", "9 days", "285 years"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds < 730 * 86400:
        return f"{seconds / 86400:,.0f} days"
    return f"{seconds / (365.25 * 86400):,.0f} years"


def check_search(params: Any) -> float:
    """The genetic search's estimated seconds; refuses (:class:`InvalidConfigError`) one
    estimated above :data:`REFUSE_MINUTES` without a time budget, and a time budget shorter
    than one generation (the search stops between generations only)."""
    pop, gens = params.pop_size, params.num_generations
    estimate = genetic_seconds(pop, gens)
    budget = getattr(params, "search_max_minutes", None)
    if budget is None and estimate > REFUSE_MINUTES * 60:
        msg = (f"The genetic search would take about {duration(estimate)} ({pop:,} hypotheses a generation "
               f"× {gens:,} generations, about {generation_seconds(pop) * 1e3 / pop:.2f} ms each here), more than "
               f"{REFUSE_MINUTES} min: lower hypothesis_search.pop_size or num_generations, or set "
               "hypothesis_search.max_minutes to stop it after that many minutes with the best hypotheses "
               "found by then (hypothesis_search.patience stops it earlier once they stop changing).")
        raise InvalidConfigError(msg)
    if budget is not None and 2 * generation_seconds(pop) > budget * 60:
        msg = (f"One generation of hypothesis_search.pop_size={pop:,} takes about {duration(generation_seconds(pop))} "
               f"here, too long for hypothesis_search.max_minutes={budget:g} (the search stops between "
               f"generations, and needs two at least): lower pop_size (at most {_largest_pop(budget * 30):,}) "
               "or raise max_minutes.")
        raise InvalidConfigError(msg)
    return estimate


def _largest_pop(seconds: float) -> int:
    """The largest population whose generation takes at most ``seconds``."""
    a, b = SORT_SECONDS, CHILD_SECONDS  # a p² + b p = seconds
    return max(int((-b + (b * b + 4 * a * seconds) ** 0.5) / (2 * a)), 4)
