"""Early stop of the genetic search (``hypothesis_search.patience``): the search stops at the
generation where its front has stood still for ``patience`` generations, with the answer it
had then, and the results say so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search_kit import SEARCH

from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer

GENERATIONS = 40


def _optimizer(planted: dict[str, Any], patience: int | None) -> GeneticAlgorithmOptimizer:
    gram, cols = planted["regression"]
    settings = {**SEARCH, "num_generations": GENERATIONS, "patience": patience}
    return GeneticAlgorithmOptimizer(gram, cols, distributed_backend="local", **settings)


def _fronts_of_every_generation(planted: dict[str, Any]) -> list[tuple]:
    """The front after each generation of a search that runs them all (index 0: before any)."""
    opt = _optimizer(planted, None)
    fronts: list[tuple] = [()]
    while opt.step():
        fronts.append(tuple(s.terms for s in opt.result().front))
    return fronts


def _first_still_stretch(fronts: list[tuple], patience: int) -> int | None:
    """The first generation whose front, not empty, equals that of the ``patience`` generations
    before it."""
    for g in range(patience + 1, len(fronts)):
        if len(set(fronts[g - patience: g + 1])) == 1 and fronts[g]:
            return g
    return None


def test_the_search_stops_when_its_front_has_stood_still_for_patience_generations(planted: dict[str, Any]) -> None:
    fronts = _fronts_of_every_generation(planted)
    assert len(fronts) == GENERATIONS + 1
    patience = 3
    expected = _first_still_stretch(fronts, patience)
    assert expected is not None and expected < GENERATIONS  # this data lets it stop early
    assert fronts[expected - patience - 1] != fronts[expected]  # the front had changed just before

    opt = _optimizer(planted, patience)
    result = opt.run()
    assert result.generations == opt.generation == expected
    assert result.stopped_early and opt.stopped_early
    assert tuple(s.terms for s in result.front) == fronts[expected]  # the answer it had then
    assert not opt.step()  # and it stays stopped


def test_without_patience_every_generation_runs(planted: dict[str, Any]) -> None:
    result = _optimizer(planted, None).run()
    assert result.generations == GENERATIONS and not result.stopped_early


def test_a_patience_longer_than_the_search_never_stops_it_early(planted: dict[str, Any]) -> None:
    result = _optimizer(planted, GENERATIONS).run()
    assert result.generations == GENERATIONS and not result.stopped_early


def test_the_results_record_the_early_stop(tmp_path: Path) -> None:
    from greta_core.datasets import write_planted_csv
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    path = write_planted_csv(str(tmp_path / "p.csv"), 2000, "regression", 4)
    base = {"target": "y", "search_strategy": "genetic", "pop_size": 40, "num_generations": 60, "max_terms": 5}
    stopped = analyze(FileSpec(path), AnalysisParams(**base, patience=2))["metrics"]
    assert stopped["search"]["strategy"] == "genetic"
    assert stopped["search"]["patience"] == 2 and stopped["search"]["stopped_early"] is True
    assert 3 <= stopped["search_generations"] < 60  # the first generation's front counts as a change
    full = analyze(FileSpec(path), AnalysisParams(**base, patience=None))["metrics"]
    assert full["search"]["patience"] is None and full["search"]["stopped_early"] is False
    assert full["search_generations"] == 60


def test_a_search_that_has_found_nothing_does_not_stop_early(tmp_path: Path) -> None:
    from greta_core.datasets import write_planted_csv
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    path = write_planted_csv(str(tmp_path / "null.csv"), 2000, "null", 4)
    params = AnalysisParams(target="y", search_strategy="genetic", pop_size=20, num_generations=12, max_terms=3,
                            patience=2)
    doc = analyze(FileSpec(path), params)
    assert doc["hypotheses"] == []  # the front stayed empty
    assert doc["metrics"]["search_generations"] == 12 and doc["metrics"]["search"]["stopped_early"] is False
