"""The main job: ingest → plan → statistics → search → confirm → narrate (DESIGN §1).

``analyze`` returns the results document (a JSON-able dict, docs/results.md). It prints
nothing and writes no files; progress and cancellation go through the callbacks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from greta_core import __version__
from greta_core.backends import open_backend
from greta_core.confirm import all_rows
from greta_core.confirm.checks import partial_dependence, rank_checks
from greta_core.confirm.holdout import confirm, select, tested
from greta_core.confirm.layout import Layout
from greta_core.confirm.sizes import logistic_curves, logistic_sizes
from greta_core.confirm.logistic import (
    HoldoutRows,
    describe,
    fit_on_all_holdout_rows,
    fit_sample,
    odds_ratios,
    rows_phrase,
)
from greta_core.confirm.sandwich import held_out_meat
from greta_core.errors import (
    CancelledError,
    ColumnNotFoundError,
    DataFormatError,
    TargetError,
    missing_column_message,
)
from greta_core.hypothesis_search.cost import check_search
from greta_core.hypothesis_search.exact import ExactSearch, choose
from greta_core.hypothesis_search.scoring import SearchResult
from greta_core.ingestion.readers import FileSpec
from greta_core.metrics import StageClock
from greta_core.narrate.templates import Narrator
from greta_core.params import AnalysisParams
from greta_core.plan.design import DesignBuilder
from greta_core.plan.row_filter import RowFilter, parse_optional
from greta_core.plan.schema import canonical, infer_columns, infer_target
from greta_core.plan.screen import screen, screen_rows
from greta_core.plan.terms import Plan, build_plan, parents
from greta_core.resources import meter_for
from greta_core.resources.budget import check_plan, check_planning_sample, check_settings
from greta_core.resources.memory import memory_limit, release_arrow_memory
from greta_core.stats.centring import centring_map, recentre
from greta_core.stats.linear import Gram
from greta_core.stats.moments import Moments
from greta_core.stats.local_copy import RowsCopy, fold, leaves
from greta_core.stats.robust import COV_TYPE
from greta_core.stats.summary import Summary, empty_summary, summarize
from greta_core import segments
from greta_core.segments.conditions import plan_features

SCHEMA_VERSION = 2
MIN_ROWS = 20
SPLIT_ROWS = 2 * MIN_ROWS  # fewer rows, all in memory: tested on all rows alone when the model fits them
MIN_ROWS_ALONE = 10  # the fewest rows tested on all rows alone
SEGMENT_MB_LOCAL = 64.0  # rows kept for segments (both splits) when batches are summarised here
SEGMENT_MB_DISTRIBUTED = 8.0  # ... and when summaries travel between processes
MIN_CLASS_ROWS = 3  # rows of each target class in each split
Progress = Callable[[str, float, dict[str, Any]], None]


def analyze(spec: FileSpec, params: AnalysisParams, progress: Progress | None = None,
            cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Run the whole analysis of ``spec`` and return the results document."""
    clock = StageClock()
    try:
        with ExitStack() as scope:  # what the run leaves behind (a local copy of rows) goes at its end
            return _analyze(spec, params, clock, progress, cancel, scope)
    finally:
        clock.close()


def _analyze(spec: FileSpec, params: AnalysisParams, clock: StageClock, progress: Progress | None,
             cancel: Callable[[], bool] | None, scope: ExitStack) -> dict[str, Any]:
    def report(stage: str, fraction: float, info: dict[str, Any]) -> None:
        if progress is not None:  # every report carries the finished stages' resource usage
            progress(stage, fraction, {**info, "metrics": dict(clock.stages)})

    row_filter = parse_optional(params.row_filter)  # parsed and checked, never run as Python
    limit = memory_limit()
    check_settings(params, limit)  # what needs no data fits in the memory limit
    with clock.stage("ingest"):
        backend = open_backend(params.backend, spec, params.workers, params.extra)
        clock.attach(meter_for(backend))
        if row_filter is not None:
            row_filter.check_columns(backend.columns())
        check_planning_sample(params, len(backend.columns()), backend.estimate_rows(), limit)
        rows = planning_rows(params, len(backend.columns()))
        raw = backend.sample(rows)
        release_arrow_memory()
        sample = _filtered(raw, row_filter)
        in_memory = len(raw) < rows  # the sample holds every row
        plan = make_plan(sample, backend.columns(), params, getattr(backend, "decimal", "."), in_memory)
        seg_features = plan_features(sample, plan, params.segments_bins) if params.segments else None
        filter_kinds = read_kinds(raw, row_filter)
        if row_filter is not None and hasattr(backend, "push_row_filter"):
            backend.push_row_filter(row_filter)  # Spark: rows are filtered before they reach Python
        check_plan(params, plan, backend.name, backend.estimate_rows(), limit)
        if _surely_genetic(plan, params):
            check_search(params)  # a search too long is refused before the statistics pass
    with clock.stage("statistics"):
        whole = sample if in_memory else None
        copy = scope.enter_context(RowsCopy()) if whole is None and local_batches(backend) else None
        summary, layout, notes = statistics_pass(backend, plan, params, report, cancel, whole, filter_kinds, copy,
                                                 seg_features)
        if summary.late_missing.any():  # missing values the planning rows did not show: read again
            plan = with_late_missing(plan, summary.late_missing, params)
            summary, layout, notes = statistics_pass(backend, plan, params, report, cancel, whole, filter_kinds,
                                                     copy, seg_features)
        # alone: why the columns are tested on all rows alone, the rows too few to split (None: split)
        alone, run_params = _alone(_split_short(summary, layout, plan), summary, layout, plan, params, whole)
        if alone is not None:  # every row held out, no segments: the pass again, quick on so few rows
            summary, layout, notes = statistics_pass(backend, plan, run_params, report, cancel, whole, filter_kinds)
    _check_rows(summary, layout, plan)
    t = plan.target.width
    summary, delta = recentre(summary, layout, t)
    read_plan = plan  # the statistics pass built its design rows with these centres
    plan = replace(plan, centres=tuple((n, plan.centre(n) + d) for n, d in delta.items()))
    disc = Gram.from_moments(summary.discovery, t)
    everything = summary.discovery.merge(summary.holdout)
    models, shapes = ([], False)
    screened_out = {t.name for t in plan.main_terms} - {t.name for t in layout.terms}
    if screened_out:  # screening chose among the main terms by looking at the target: no model is fixed
        notes.append(f"The columns were not tested on all rows: {len(plan.main_terms):,} columns give more candidate "
                     "terms than preprocessing.max_design_columns, and screening (which looks at the target) left out "
                     f"{len(screened_out):,} of their main terms, so no model was fixed before looking; the held-out "
                     "tests alone decide.")
    else:
        read = None if whole is not None else summary.rows_read
        models, shapes = all_rows.fixed_models(layout, everything, all_terms=summary.screening is None, rows_read=read)
        if not models and read is not None and all_rows.eligible(everything.n, layout):
            notes.append(all_rows.too_costly(layout, everything, read))
    with clock.stage("search"), threadpool_limits(1):  # many small solves: more BLAS threads only spin
        found, search_info, search_backend = (_search(disc, layout, params, report, cancel) if alone is None else
                                              _no_search(alone, params.seed))
    with clock.stage("confirm"):
        seg = None
        if summary.segments is not None:  # tested first: their p-values join the family below
            seg = segments.find(summary.segments, seg_features, plan.target.task, segment_settings(params))
        family = list(seg.p_values) if seg is not None else []
        meats, sums, robust_info = holdout_meats(backend, read_plan, layout, summary, delta,
                                                 tested(found.front, params.max_hypotheses), run_params, whole,
                                                 report, cancel, notes, filter_kinds, copy, everything, models)
        retested = confirm(found.front, layout, disc, summary.holdout, summary.sample, plan.target,
                           params.alpha, params.max_hypotheses, dict(plan.centres), meats, family)
        results = select(list(retested))
        for c in results:
            if c.confirmed:
                _checks(c, layout, summary, plan, notes)
        fixed, t0 = None, time.perf_counter()
        if sums is not None:
            fixed = all_rows.test_all_rows(layout, everything, models, *sums, summary.sample, plan.target,
                                           params.alpha, dict(plan.centres), shapes)
        all_rows_seconds = time.perf_counter() - t0
        if plan.target.task == "binary":
            chosen = [c for c in results if c.confirmed] + ([fixed.model] if fixed and fixed.model.confirmed else [])
            _logistic(chosen, backend, layout, summary, plan, run_params, notes, cancel)
    with clock.stage("narrate"):
        found_segments = segments.results(seg, family, plan.target, params.alpha) if seg is not None else None
        doc = _document(spec, params, plan, layout, summary, results, found, notes, backend, retested,
                        found_segments, fixed, alone)
    doc["metrics"] = clock.metrics(summary.rows_read, found.evaluations, clock.seconds("search"))
    doc["metrics"]["search_generations"] = found.generations
    doc["metrics"]["search"] = {**search_info, "splits": 1 if alone is None else 0}  # one split; all rows: step 5
    doc["metrics"].update(backend.info())
    if search_info.get("stopped_by_budget"):
        doc["notes"].append(f"The search stopped after its time budget (hypothesis_search.max_minutes = "
                            f"{params.search_max_minutes:g}), at generation {found.generations:,} of "
                            f"{params.num_generations:,}: the hypotheses are the best found by then.")
    doc["metrics"]["memory_limit"] = {"bytes": limit.bytes, "source": limit.source}
    doc["metrics"]["search_backend"] = search_backend
    doc["metrics"]["robust_variance"] = robust_info
    doc["metrics"]["all_rows"] = {"tested": fixed is not None, "seconds": round(all_rows_seconds, 4),
                                  "models": len(doc["all_rows"]["models"]) if fixed is not None else 0,
                                  "source": robust_info.get("fixed_source")}
    report("done", 1.0, {})
    return doc


def _search(disc: Gram, layout: Layout, params: AnalysisParams, report: Progress,
            cancel: Callable[[], bool] | None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """The exact search when the space of hypotheses is small (hypothesis_search.strategy),
    else the genetic one. Returns the search result, what ran and why, and where it ran."""
    needs = parents(layout.terms)
    choice = choose(needs, params.max_terms, params.search_strategy, params.exact_max_hypotheses)
    info = {"strategy": choice.strategy, "hypotheses": choice.space, "reason": choice.reason}
    if choice.strategy == "exact":
        ex = ExactSearch(disc, layout.columns, max_terms=params.max_terms, alpha=params.alpha, parents=needs,
                         seed=params.seed)
        found = ex.run(lambda d, n: report("search", d / n, {"hypotheses": d, "total": n}), cancel, choice.space)
        report("search", 1.0, {"hypotheses": found.evaluations, "total": choice.space})
        return found, info, ex.backend_info
    from greta_core.hypothesis_search.optimizers import GeneticAlgorithmOptimizer  # pymoo: only when it runs

    estimate = check_search(params)
    budget = params.search_max_minutes * 60 if params.search_max_minutes else None
    opt = GeneticAlgorithmOptimizer(disc, layout.columns, max_terms=params.max_terms,
                                    pop_size=params.pop_size, num_generations=params.num_generations,
                                    cx_prob=params.cx_prob, mut_prob=params.mut_prob,
                                    alpha=params.alpha, seed=params.seed, patience=params.patience,
                                    distributed_backend=params.distributed_backend,
                                    cluster_address=params.cluster_address, max_workers=params.workers,
                                    fallback=params.distributed_fallback, parents=needs, time_budget=budget)
    about = {"generations": params.num_generations, "estimate_seconds": estimate, "max_minutes": params.search_max_minutes}
    report("search", 0.0, {"generation": 0, **about})
    found = opt.run(lambda g, n: report("search", opt.progress, {"generation": g, **about}), cancel)
    report("search", 1.0, {"generation": found.generations, "stopped_early": found.stopped_early,
                           "stopped_by_budget": opt.stopped_by_budget, **about})
    info.update(patience=params.patience, stopped_early=found.stopped_early, estimate_seconds=round(estimate, 3),
                max_minutes=params.search_max_minutes, stopped_by_budget=opt.stopped_by_budget)
    return found, info, opt.backend_info


def _no_search(why: str, seed: int) -> tuple[SearchResult, dict[str, Any], dict[str, Any]]:
    """What stands for the search of a table tested on all rows alone: none ran."""
    return SearchResult((), 0, 0, seed, "none"), {"strategy": "none", "hypotheses": 0, "reason": why}, {}


def _surely_genetic(plan: Plan, params: AnalysisParams) -> bool:
    """Whether the search will be the genetic one, known from the plan (not when its terms are
    screened first: which are kept is known after the statistics pass)."""
    if params.search_strategy != "auto":
        return params.search_strategy == "genetic"
    if plan.candidate_width > params.max_design_columns:
        return False
    terms = list(plan.terms)
    return choose(parents(terms), params.max_terms, "auto", params.exact_max_hypotheses).strategy == "genetic"


def _filtered(df: pd.DataFrame, row_filter: RowFilter | None) -> pd.DataFrame:
    """The planning sample's rows that ``row_filter`` keeps, once its constants are checked
    against the columns' values (text compared with numbers, ...)."""
    if row_filter is None:
        return df
    row_filter.check_types(df)
    kept = row_filter(df)
    if len(df) and not len(kept):
        msg = (f"The row filter {row_filter.text!r} keeps none of the {len(df):,} rows read to plan the "
               "analysis. Loosen data.row_filter, or raise preprocessing.sample_rows if the rows it keeps come "
               "later in the data.")
        raise DataFormatError(msg)
    return kept


def read_kinds(sample: pd.DataFrame, row_filter: RowFilter | None) -> dict[str, str]:
    """How the statistics pass reads each column the row filter needs: "numeric" (as numbers)
    where the sample holds numbers, else "text"."""
    if row_filter is None:
        return {}
    return {c: "numeric" if sample[c].dtype.kind in "iuf" else "text" for c in row_filter.columns()}


def planning_rows(params: AnalysisParams, columns: int) -> int:
    """Rows read to plan: ``sample_rows``, fewer for a wide file so that the sample takes
    about the screening memory budget (at least 1,000 rows)."""
    fit = int(params.screen_memory_mb * 2**20 / (8 * max(columns, 1)))
    return min(params.sample_rows, max(fit, 1000))


def make_plan(sample: pd.DataFrame, all_columns: list[str], params: AnalysisParams, decimal: str = ".",
              whole: bool = False) -> Plan:
    """The plan of the analysis from the planning sample; ``decimal`` is the decimal mark of
    numbers held as text (the data's: "." or ","); ``whole``: the sample holds every row, so a
    table too small to split may still be tested on all its rows (at least
    :data:`MIN_ROWS_ALONE`)."""
    if len(sample) == 0:
        msg = "The data has a header but no data rows. Greta needs rows to analyse."
        raise DataFormatError(msg)
    if len(sample) < (MIN_ROWS_ALONE if whole else MIN_ROWS):
        msg = (f"The data has only {len(sample)} row(s); Greta needs at least {MIN_ROWS} to split off held-out rows"
               + (f", or {MIN_ROWS_ALONE} to test each column on all of them." if whole else "."))
        raise DataFormatError(msg)
    target = infer_target(sample, params.target, decimal)
    wanted = list(params.columns) if params.columns else [c for c in all_columns if c != params.target]
    known = set(all_columns)
    for c in list(wanted) + list(params.exclude):
        if c not in known:
            msg = missing_column_message(c, all_columns)
            raise ColumnNotFoundError(msg)
    cols, dropped = [], []
    names = [n for n in wanted if n != params.target and n not in params.exclude]
    for name, info in zip(names, infer_columns(sample, names, params.max_levels, params.min_level_fraction, decimal)):
        if isinstance(info, str):
            dropped.append((name, info))
        else:
            cols.append(info)
    if not cols:
        msg = f"No usable feature columns are left to explain {params.target!r} (dropped: {', '.join(f'{n} ({r})' for n, r in dropped) or 'none'})."
        raise DataFormatError(msg)
    centres = column_centres(sample, [c for c in cols if c.kind != "categorical"])
    return build_plan(target, cols, dropped, params.interactions, params.squares, params.logs, centres)


def with_late_missing(plan: Plan, counts: np.ndarray, params: AnalysisParams) -> Plan:
    """The plan again, with a missing-value indicator for each numeric column whose missing
    values first appeared after the planning rows. Without it those rows sit at the column's
    average; when missingness depends on the outcome, they bend the fit into a false curve."""
    cols = []
    for col, count in zip(plan.columns, counts.tolist()):
        if count and not col.has_missing:
            note = (f"{count:,} missing values appeared only after the rows used to plan the analysis; "
                    "it was given a missing-value indicator and the data were read again")
            col = replace(col, has_missing=True, note="; ".join(x for x in (col.note, note) if x))
        cols.append(col)
    return build_plan(plan.target, cols, list(plan.dropped), params.interactions, params.squares, params.logs,
                      dict(plan.centres))


def column_centres(sample: pd.DataFrame, cols: list) -> dict[str, float]:
    """Each column's mean in the planning sample: subtracted before squares and products are
    formed, so they keep their precision whatever the column's magnitude (a date as ~2020.5
    years). Numbers held as numbers are read out together (a wide file has thousands)."""
    dtypes = sample.dtypes
    plain = [c.name for c in cols if c.kind == "numeric" and dtypes[c.name].kind in "if"]
    block = np.asfortranarray(sample[plain].to_numpy(np.float64)) if plain else np.zeros((0, 0))
    values = {name: block[:, i] for i, name in enumerate(plain)}
    return {c.name: _mean(values[c.name] if c.name in values
                          else canonical(sample[c.name], c.kind, c.decimal).to_numpy(np.float64))
            for c in cols}


def _mean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else 0.0


def statistics_pass(backend: Any, plan: Plan, params: AnalysisParams, report: Progress,
                    cancel: Callable[[], bool] | None, whole: pd.DataFrame | None = None,
                    filter_kinds: dict[str, str] | None = None,
                    copy: RowsCopy | None = None,
                    segment_features: list | None = None) -> tuple[Summary, Layout, list[str]]:
    """One pass when every candidate term fits in ``max_design_columns``; else the candidates
    are screened on a uniform sample of discovery rows and one pass reads the kept terms. The
    sample comes from ``whole`` (every row of the data, after the row filter: the planning
    sample when it holds them all) or else from a first pass. ``filter_kinds``: how to read the
    columns the row filter needs that the plan does not (``read_kinds``; text by default).
    ``copy``: where the pass that reads the kept terms writes its rows (what an earlier
    pass wrote there is discarded; a screening pass writes nothing). ``segment_features``: keep
    rows as segment codes in the final pass (None: segments are off)."""
    builder = DesignBuilder(plan, params.seed, params.holdout_fraction)
    t = plan.target.width
    notes = [f"Column {c.name!r}: {c.note}." for c in plan.columns if c.note]
    total = backend.estimate_rows() or 0
    row_filter = parse_optional(params.row_filter)
    source_cols, kinds = read_columns(plan, row_filter, filter_kinds)

    def run(terms: list, screen: list, label: str, screen_size: int = 0) -> Summary:
        lay = Layout.of(terms)
        sample_size = 0 if screen else params.sample_size  # a screening pass keeps no holdout rows
        keep = None
        if segment_features is not None and not screen:
            # summaries that travel between processes (Dask's workers, Spark's executors and the
            # JVM between them) carry a smaller sample of rows for segments
            memory = SEGMENT_MB_LOCAL if local_batches(backend) else SEGMENT_MB_DISTRIBUTED
            # with a row filter the estimate counts rows the filter drops: keep every batch's rows
            keep = segments.collector(plan, segment_features, segment_settings(params, memory),
                                      None if row_filter is not None else total, params.holdout_fraction)

        spill = None if screen else copy

        def fn(df: pd.DataFrame) -> Summary:
            return summarize(df if row_filter is None else row_filter(df), builder, terms, screen, sample_size,
                             screen_size, copy=spill, segments=keep)

        def prog(rows: int) -> None:
            report(label, min(rows / total, 0.99) if total else 0.0, {"rows": rows, "total": total})

        empty = empty_summary(lay.width, t, sum(x.width for x in screen), sample_size, screen_size)
        if spill is not None:
            spill.discard()
        out = backend.reduce(fn, empty, source_cols, kinds, prog, cancel)
        if spill is not None and not spill.complete:
            spill.discard(full=True)  # over its disk budget: the held-out pass reads the source again
        return out

    if plan.candidate_width <= params.max_design_columns:
        terms = list(plan.terms)
        return run(terms, [], "statistics"), Layout.of(terms), notes
    listed = list(plan.listed)
    size = screen_rows(params.screen_memory_mb, sum(x.width for x in listed) + t, params.sample_rows)
    if whole is not None:
        batch = builder.batch(whole, [], listed, size)
        rows, discovery = batch.e, batch.n_discovery
    else:
        first = run([], listed, "screening", size)
        rows, discovery = first.screen, int(first.discovery.n)
    report("screening", 1.0, {"rows": len(rows), "candidates": plan.candidate_count})
    # never more design columns than half the discovery rows: beyond that the discovery
    # statistics cannot tell the terms apart, and the search drowns in terms fitted to noise
    room = min(params.max_design_columns, max(discovery // 2, MIN_ROWS))
    workers = min(params.workers or os.cpu_count() or 1, 4)
    found = screen(rows, plan, t, room, params.screen_memory_mb, params.max_screen_terms, workers)
    del rows
    notes.append(found.note())
    terms = list(found.terms)
    return replace(run(terms, [], "statistics"), screening=found.to_dict()), Layout.of(terms), notes


def local_batches(backend: Any) -> bool:
    """Whether the backend summarises the batches in this process: the local one does, and Dask's
    threaded scheduler; Dask's and Spark's workers may run on other machines, whose files this
    process cannot read."""
    name = getattr(backend, "name", None)
    return name == "pandas" or (name == "dask" and getattr(backend, "client", True) is None)


def segment_settings(params: AnalysisParams, memory_mb: float = SEGMENT_MB_LOCAL) -> segments.Settings:
    return segments.Settings(max_conditions=params.segments_max_conditions, min_share=params.segments_min_share,
                             max_reported=params.segments_max_reported, bins=params.segments_bins,
                             discovery_rows=params.segments_sample_rows, memory_mb=memory_mb)


def read_columns(plan: Plan, row_filter: RowFilter | None = None,
                 filter_kinds: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The source columns a pass over the rows reads, and how the backend reads each: "numeric"
    columns as float64, anything else as text (numbers the sample held as text — a few cells
    are not numbers — are read as text and parsed per batch). The columns ``row_filter`` needs
    that the design does not are read too, as ``filter_kinds`` says (``read_kinds``; text by
    default)."""
    source_cols = [c.name for c in plan.columns] + [plan.target.name]
    kinds = {c.name: "text" if c.text else c.kind for c in plan.columns}
    regression = plan.target.task == "regression" and not plan.target.text
    kinds[plan.target.name] = "numeric" if regression else "categorical"
    for name in row_filter.columns() if row_filter is not None else ():
        if name not in kinds:
            source_cols.append(name)
            kinds[name] = (filter_kinds or {}).get(name, "text")
    return source_cols, kinds


def holdout_meats(backend: Any, plan: Plan, layout: Layout, s: Summary, delta: dict[str, float],
                  hypotheses: list[tuple[int, ...]], params: AnalysisParams, whole: pd.DataFrame | None,
                  report: Progress, cancel: Callable[[], bool] | None, notes: list[str],
                  filter_kinds: dict[str, str] | None = None, copy: RowsCopy | None = None,
                  everything: Moments | None = None, fixed: Sequence[tuple[int, ...]] = (),
                  ) -> tuple[list[tuple[np.ndarray, int]] | None, tuple[tuple[np.ndarray, ...], int] | None,
                             dict[str, Any]]:
    """Each tested hypothesis' robust (HC4) middle term summed over every held-out row, each
    ``fixed`` model's (fitted on ``everything``, the co-moments of every row) summed over every
    row, and how they were got (``metrics.robust_variance``): from the holdout sample when it
    holds every held-out row (the hypotheses only); from the rows in memory (``whole``: the data,
    after the row filter) when they are all there; from the statistics pass' local ``copy`` of
    the rows when it has them all; else from a second, narrow pass over the data
    (``greta_core.confirm.sandwich``). ``plan``: the plan the statistics pass read with;
    ``delta``: what recentring moved. None instead of the hypotheses' sums: the sample estimate
    is used (the reason is in ``notes``); instead of the fixed models' sums: they are not tested."""
    n = int(s.holdout.n)
    info: dict[str, Any] = {"covariance": COV_TYPE, "held_out_rows": n, "rows": n, "source": "holdout sample",
                            "seconds": 0.0, "cpu_seconds": 0.0, "fixed_models": len(fixed)}
    hyps = hypotheses if len(s.sample) < n else []
    if not hyps and not fixed:
        return None, None, info
    t0, c0 = time.perf_counter(), time.process_time()
    builder = DesignBuilder(plan, params.seed, params.holdout_fraction)
    lin, shift = centring_map(delta, layout, plan.target.width)
    keep = parse_optional(params.row_filter) if whole is None else None  # the rows in memory are filtered
    fn = held_out_meat(builder, layout, s.holdout, hyps, lin, shift, keep, everything, fixed)
    if whole is not None:
        with threadpool_limits(1):
            sums = fn.empty().merge(fn(whole))
        source = "rows in memory"
    elif copy is not None and copy.complete and s.copy_files is not None:
        workers = max(int(getattr(backend, "workers", 1) or 1), 1)
        with threadpool_limits(1):
            sums = copy_sums(fn, s.copy_files, builder, workers, cancel, report)
        copy.close()  # its disk is free again
        source = "local copy of the rows"
    else:
        columns, kinds = read_columns(plan, keep, filter_kinds)
        total = backend.estimate_rows() or 0

        def prog(rows: int) -> None:
            report("holdout", min(rows / total, 0.99) if total else 0.0, {"rows": rows, "total": total})

        sums = backend.reduce(fn, fn.empty(), columns, kinds, prog, cancel)
        report("holdout", 1.0, {"rows": sums.rows_read, "total": total})
        source = "second pass"
        if copy is not None and copy.full:
            source += (f" (a local copy of the rows would have used more than the "
                       f"{copy.budget / 2**20:,.0f} MB of disk it may use)")
    info.update(seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0)
    changed = ("Reading the data again for the robust variance found {} rows where the first read found {} "
               "(did the data change during the analysis?); ")
    meats = None
    if hyps and sums.rows != n:
        notes.append(changed.format(f"{sums.rows:,} held-out", f"{n:,}") + "the robust variance was estimated "
                     f"from a uniform sample of {len(s.sample):,} held-out rows instead.")
        info.update(rows=len(s.sample))
    elif hyps:
        meats = [(m, sums.rows) for m in sums.meats]
        info["source"] = source
    models = None
    if fixed and everything is not None and sums.all_rows != int(everything.n):
        notes.append(changed.format(f"{sums.all_rows:,}", f"{int(everything.n):,}")
                     + "the columns were not tested on all rows.")
    elif fixed:
        models = (sums.fixed, sums.all_rows)
        info["fixed_source"] = source
    return meats, models, info


def copy_sums(fn: Any, files: Any, builder: DesignBuilder, workers: int,
              cancel: Callable[[], bool] | None, report: Progress | None = None) -> Any:
    """``fn``'s sums over the rows of a local copy (``files``: the statistics pass' tree of its
    files), the files summed side by side on ``workers`` threads (numpy lets go of the GIL) and
    added as the statistics pass merged them: the numbers of one thread, to the last bit."""
    names = [t.name for t in builder.categorical]
    paths = leaves(files)

    def part(path: str) -> Any:
        if cancel and cancel():
            raise CancelledError("The analysis was cancelled.")
        rows = RowsCopy.read(path, names)
        return fn.of_rows(rows, len(rows))

    sums_of: dict[str, Any] = {}
    with ThreadPoolExecutor(workers) as pool:
        for path, one in zip(paths, pool.map(part, paths)):
            sums_of[path] = one
            if report is not None:
                report("holdout", min(len(sums_of) / len(paths), 0.99), {"files": len(sums_of), "total": len(paths)})
    if report is not None:
        report("holdout", 1.0, {"files": len(paths), "total": len(paths)})
    return fold(files, sums_of.__getitem__, lambda a, b: a.merge(b), fn.empty())


def _split_short(s: Summary, layout: Layout, plan: Plan) -> tuple[Exception | None, str | None]:
    """Whether the rows are too few to split into discovery and held-out rows: the refusal when
    they cannot be split (a half, or a class in a half, too short), and why they are tested on
    all rows alone if they can be, in the words of the summary (also for fewer than
    :data:`SPLIT_ROWS` rows, whatever the seed's split). (None, None) when they are split, or
    when no row has a target value."""
    total = int(s.discovery.n + s.holdout.n)
    if total == 0:
        return None, None
    why = (f"The table was too small to split into discovery and held-out rows ({total:,} rows with a target "
           f"value; Greta splits {SPLIT_ROWS} or more)")
    for name, m in (("discovery", s.discovery), ("holdout", s.holdout)):
        if m.n < MIN_ROWS // 2:
            msg = (f"Only {int(m.n)} of the {total} rows with a target value fell in the {name} split; each "
                   f"split needs at least {MIN_ROWS // 2}, and a random split of so few rows can leave one short. "
                   "Greta needs more rows than this to search and confirm.")
            if total >= SPLIT_ROWS:
                why = (f"The table was too small to split into discovery and held-out rows (a random split of its "
                       f"{total:,} rows left {int(m.n)} in the {name} half; each needs {MIN_ROWS // 2})")
            return DataFormatError(msg), why
    if plan.target.task == "multiclass":
        tiny = _check_classes(s, layout.width, plan)
        if tiny is not None:
            return tiny
    return None, why if total < SPLIT_ROWS else None


def _alone(short: tuple[Exception | None, str | None], s: Summary, layout: Layout, plan: Plan,
           params: AnalysisParams, whole: pd.DataFrame | None) -> tuple[str | None, AnalysisParams]:
    """Whether rows too few to split (``short``: the refusal and why, :func:`_split_short`) are
    tested on all rows alone: why (None: they are split), and the parameters of the run (every
    row held out, no segments). They are when every row is in memory, the main-terms model fits
    them, each class has :data:`MIN_CLASS_ROWS` rows and no term is screened (screening looks at
    discovery rows). Else the rows are split as before, or, when they cannot be, refused."""
    error, why = short
    if why is None:
        return None, params
    n = int(s.discovery.n + s.holdout.n)
    need = max(all_rows.rows_needed(layout), MIN_ROWS_ALONE)
    tiny = _check_classes(s, layout.width, plan, alone=True) if plan.target.task == "multiclass" else None
    if whole is not None and plan.candidate_width <= params.max_design_columns and n >= need and tiny is None:
        return why, replace(params, holdout_fraction=1.0, segments=False)
    if error is None:
        return None, params
    if whole is not None and n < need and isinstance(error, DataFormatError):  # the rows are the trouble
        width = all_rows.width(layout, all_rows.main_terms(layout))
        msg = (f"The data has only {n} rows with a target value: too few to split off held-out rows (that needs "
               f"at least {MIN_ROWS}), and too few to test its columns on all rows ({width} design "
               f"column{'s' if width != 1 else ''} need at least {need} rows).")
        raise DataFormatError(msg)
    raise error if tiny is None else tiny[0]


def _check_rows(s: Summary, layout: Layout, plan: Plan) -> None:
    """Refuse rows with no target value, values whose squares overflow, a constant target; in
    each split that has rows (a table tested on all rows alone has held-out rows only)."""
    if s.discovery.n + s.holdout.n == 0:
        msg = f"No row has a usable value of the target {plan.target.name!r}."
        raise TargetError(msg)
    q = layout.width
    labels = list(layout.labels) + [plan.target.name] * plan.target.width
    splits = [(name, m) for name, m in (("discovery", s.discovery), ("holdout", s.holdout)) if m.n]
    for _, m in splits:
        bad = np.flatnonzero(~np.isfinite(np.diag(m.m2)))
        if len(bad):
            names = ", ".join(repr(n) for n in dict.fromkeys(labels[i] for i in bad[:5]))
            msg = (f"Values too large to analyse in {names}: their squares or products overflow. "
                   "Rescale these columns (e.g. divide by 1e6) or leave them out (data.exclude).")
            raise DataFormatError(msg)
    for name, m in splits:
        if np.all(np.diag(m.m2)[q:] <= 0):
            where = f"the {name} split" if len(splits) > 1 else "every row"
            msg = f"The target {plan.target.name!r} is constant in {where}: there is nothing to explain."
            raise TargetError(msg)


def _check_classes(s: Summary, q: int, plan: Plan, alone: bool = False) -> tuple[TargetError, str] | None:
    """A class too small to be tested (each needs rows in both splits; ``alone``: in all rows):
    the refusal, and why the table cannot be split in the words of the summary; None when every
    class has rows enough."""
    t = plan.target
    counts = {c: 0 for c in t.classes[1:]}
    least = {c: np.inf for c in t.classes[1:]}
    for m in (s.discovery, s.holdout):
        per_class = np.rint(m.mean[q:] * m.n) if m.n else np.zeros(len(counts))
        for c, k in zip(t.classes[1:], per_class):
            counts[c] += int(k)
            least[c] = min(least[c], k)
    small = [c for c in counts if (counts[c] if alone else least[c]) < MIN_CLASS_ROWS]
    if not small:
        return None
    c = min(small, key=lambda c: counts[c])
    msg = (f"Class {c!r} of the target {t.name!r} has only {counts[c]} row(s); each class needs "
           f"at least {MIN_CLASS_ROWS} rows in both the discovery and the held-out split "
           f"({2 * MIN_CLASS_ROWS} or more in all) to be tested, or {MIN_CLASS_ROWS} in all when the columns are "
           "tested on all rows. Merge it into another class, or leave its rows out (data.row_filter).")
    why = (f"The table was too small to split: class {c!r} of {t.name!r} has only {counts[c]} rows, too few "
           f"for {MIN_CLASS_ROWS} in each of the discovery and held-out halves")
    return TargetError(msg), why


def _checks(c: Any, layout: Layout, s: Summary, plan: Plan, notes: list[str]) -> None:
    c.partial_dependence = partial_dependence(c, layout, s.holdout, s.sample, plan.target, dict(plan.centres))
    c.rank_checks = rank_checks(c, layout, s.sample, plan.target)


def _logistic(chosen: list, backend: Any, layout: Layout, s: Summary, plan: Plan, params: AnalysisParams,
              notes: list[str], cancel: Callable[[], bool] | None) -> None:
    """Odds ratios of each confirmed hypothesis of a yes/no target: fitted on every holdout row
    where the backend can fit there (Spark MLlib on the executors), else on the holdout sample."""
    if not chosen:
        return
    fits = None
    if getattr(backend, "fits_on_executors", False):
        builder = DesignBuilder(plan, params.seed, params.holdout_fraction)  # centred at the discovery means
        keep = parse_optional(params.row_filter)

        def rows(columns: list[int], scale: list[float]) -> HoldoutRows:
            return HoldoutRows.of(builder, layout, columns, scale, keep)

        try:
            fits = fit_on_all_holdout_rows(backend, chosen, layout, s.holdout, rows, cancel)
        except CancelledError:
            raise
        except Exception as e:  # noqa: BLE001 - the sample fit below still answers
            notes.append(f"The logistic fit on all held-out rows failed on {backend.name} ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:160]}); it was fitted on the holdout sample instead.")
    if fits is None:
        fits = [fit_sample(c, layout, s.sample) for c in chosen]
    for c, (fit, why) in zip(chosen, fits):
        c.odds_ratios, note = odds_ratios(fit, why, layout)
        c.logistic = describe(fit, int(s.holdout.n))
        if note and note not in notes:
            notes.append(note)
        if fit is not None and not fit.separated():  # sizes and curves in predicted probability (else: linear)
            args = (fit, s.holdout, s.sample, layout, c.terms, dict(plan.centres), plan.target, params.alpha)
            c.sizes = logistic_sizes(*args)
            c.partial_dependence = logistic_curves(*args)


def _document(spec: FileSpec, params: AnalysisParams, plan: Plan, layout: Layout, s: Summary,
              results: list, found: Any, notes: list[str], backend: Any, tested: list | None = None,
              found_segments: list[dict[str, Any]] | None = None,
              fixed: all_rows.AllRows | None = None, alone: str | None = None) -> dict[str, Any]:
    """The results document; ``alone``: why the table could not be split (its columns were tested
    on all rows alone: no hypotheses, no held-out rows)."""
    t = plan.target
    q = layout.width
    target_info = _target_info(t, s.discovery.merge(s.holdout), q)
    data = {
        "source": spec.path, "format": getattr(backend, "format", None) or backend.reader.__class__.__name__.replace("Reader", "").lower(),
        "backend": backend.name, "rows": s.rows_read, "rows_used": int(s.discovery.n + s.holdout.n),
        "rows_discovery": int(s.discovery.n), "rows_holdout": int(s.holdout.n) if alone is None else 0,
        "split": alone is None,
        "columns_used": [{"name": c.name, "kind": c.kind, **({"centre": plan.centre(c.name)} if c.kind != "categorical" else {})}
                         for c in plan.columns],
        "columns_dropped": [{"name": n, "reason": r} for n, r in plan.dropped],
        "candidate_terms": len(layout.terms),
        "screening": s.screening,
    }
    narrator = Narrator(t.name, t.task, t.classes[1] if t.task == "binary" else None)
    hyps = []
    for r, c in enumerate(results, 1):
        names = [layout.terms[i].name for i in c.terms]
        h = {"rank": r, "role": c.role, "terms": names,
             "features": sorted({f for i in c.terms for f in layout.terms[i].sources}),
             "confirmed": c.confirmed, "discovery": c.discovery, "holdout": c.holdout,
             "term_tests": c.term_tests, "column_tests": c.column_tests, "effects": c.effects,
             "sizes": c.sizes, "odds_ratios": c.odds_ratios, "logistic": c.logistic or None,
             "rank_checks": c.rank_checks,
             "partial_dependence": c.partial_dependence}
        h["findings"] = narrator.findings(h, c.sizes)
        h["narrative"] = " ".join([narrator.head(h), *h["findings"]])
        hyps.append(h)
    lead = next((c for c in results if c.role == "lead"), None)
    columns = _columns(plan, hyps, lead.sizes if lead else {}, narrator, fixed, alone is not None)
    family = _family(tested if tested is not None else results, layout)
    family["tests"] += [{"hypothesis": None, "test": "segment", "name": g["description"], "p_value": g["p_value"],
                         "q_value": g["q_value"]} for g in found_segments or []]  # the same family
    notes = list(notes) + _notes(plan, s, results, params, family, fixed, alone)
    apart = [c["name"] for c in columns if c["verdict"] == "not confirmed" and c["evidence"] == ["held-out rows"]]
    if apart:
        notes.append(f"{_join_names(apart)} passed in the lead model on held-out rows but not on all rows with every "
                     "other column in the model: what they carry cannot be told apart from the columns related to "
                     "them, so they are not confirmed.")
    if alone is not None and fixed is not None:
        width = all_rows.width(layout, fixed.model.terms)
        tests = len(fixed.model.column_tests) + len(fixed.all_terms or [])
        summary = narrator.summary_on_all_rows(columns, alone, fixed.rows, width, tests, fixed.alpha)
    else:
        summary = narrator.summary(data, hyps, columns, found.evaluations, found.strategy == "exact",
                                   len(tested) if tested is not None else None)
    out = {
        "schema_version": SCHEMA_VERSION, "greta_version": __version__, "target": t.name, "task": t.task,
        "target_info": target_info, "data": data, "columns": columns, "hypotheses": hyps,
        "summary": summary, "notes": notes,
        "retested": family,
        "config": params.to_dict(), "seed": params.seed,
    }
    if found_segments is not None:
        out["segments"] = found_segments
    out["all_rows"] = fixed.to_dict() if fixed is not None else None
    return out


def _family(tested: list, layout: Layout) -> dict[str, Any]:
    """Every hypothesis re-tested on held-out rows and every test of the one family that the
    Benjamini–Hochberg correction covered, in its order (each hypothesis' overall test, its term
    tests, then its tests of a column with several terms), with p and q: the q-values can be
    recomputed from the p-values."""
    def f(v: Any) -> float | None:
        return float(v) if v is not None and np.isfinite(v) else None

    hypotheses, tests = [], []
    for r, c in enumerate(tested):
        hypotheses.append({"terms": [layout.terms[i].name for i in c.terms], "confirmed": c.confirmed,
                           "role": c.role if c.role != "candidate" else None})
        tests.append({"hypothesis": r, "test": "overall", "name": None,
                      "p_value": f(c.holdout.get("p_value")), "q_value": f(c.holdout.get("q_value"))})
        tests += [{"hypothesis": r, "test": "term", "name": t["term"], "p_value": f(t["p_value"]),
                   "q_value": f(t["q_value"])} for t in c.term_tests]
        tests += [{"hypothesis": r, "test": "column", "name": k["name"], "p_value": f(k["p_value"]),
                   "q_value": f(k["q_value"])} for k in c.column_tests if len(k["terms"]) > 1]
    return {"hypotheses": hypotheses, "tests": tests}


def _target_info(t: Any, m: Any, q: int) -> dict[str, Any]:
    """The target over every row used (both splits): mean and sd, or each class's share."""
    if t.task == "regression":
        return {"mean": float(m.mean[q]), "std": float(np.sqrt(max(m.m2[q, q], 0.0) / max(m.n - 1, 1)))}
    shares = [float(v) for v in m.mean[q:]]
    info: dict[str, Any] = {"classes": list(t.classes),
                            "class_shares": dict(zip(t.classes, [1.0 - sum(shares), *shares]))}
    if t.task == "binary":
        info.update(positive_class=t.classes[1], mean=shares[0])
    return info


def _columns(plan: Plan, hyps: list[dict[str, Any]], sizes: dict[str, dict[str, Any]],
             narrator: Narrator, fixed: all_rows.AllRows | None = None, alone: bool = False) -> list[dict[str, Any]]:
    """A verdict for every column used: "matters", "not confirmed" (in the lead model, but not
    confirmed) or "not in the model".

    Without ``fixed`` (the test on all rows of the models fixed before looking) a column matters
    when its joint held-out test passes in the lead model. With it, the verdict is that test on
    all rows, which no seed moves; the lead model's held-out test alone makes a column matter
    only when the column enters it through a curve or a product and no all-terms model was
    fitted for a reason other than too few rows (its terms were screened, or too costly).
    ``evidence`` says which tests passed ("all rows", "held-out rows"); ``all_rows_test`` is the
    test on all rows.
    ``alone``: the table was too small to split, and every column is in the one model tested on
    all rows: a column that fails there is "not confirmed".

    Ranked by importance (the R² lost without the column's terms: in the lead model on held-out
    rows, else in the model on all rows); a column that matters carries its headline ``effect``
    (from the lead model when it passes there, else from the main-terms model on all rows) and
    its ``sentence``."""
    lead = next((h for h in hyps if h["role"] == "lead"), None)
    tests = {c["name"]: c for c in lead["column_tests"]} if lead else {}
    shaped = {s for h in ([lead] if lead else []) for name in h["terms"] for s in _shape_sources(plan, name)}
    out = []
    for col in plan.columns:
        test = tests.get(col.name)
        row: dict[str, Any] = {"name": col.name, "kind": col.kind}
        passed = test is not None and test["passed"]
        wide = fixed.column(col.name) if fixed is not None else None
        on_all = wide is not None and wide["passed"]
        held = passed if fixed is None else passed and (on_all or (col.name in shaped and fixed.held_out_shapes))
        size, where, shapes = sizes.get(col.name), None, False
        if on_all and not held:  # sized with every other column held fixed
            test, size = wide, fixed.model.sizes.get(col.name)
            where, shapes = fixed.rows, wide["model"] == "all terms"
        if fixed is not None:
            row["all_rows_test"] = wide
        if test is None and alone:
            test = wide
        if test is None:
            row.update(verdict="not in the model", importance=None, direction=None, terms=[], joint_test=None)
        else:
            ok = held or on_all
            row.update(verdict="matters" if ok else "not confirmed", importance=test["importance"],
                       direction=_direction(size) if ok else None, terms=test["terms"],
                       joint_test={k: test[k] for k in ("f_statistic", "df1", "df2", "p_value", "q_value")})
            if ok and size is not None:
                sentence = narrator.column_sentence(col.name, size, test["q_value"], where, shapes)
                if held and on_all:
                    sentence += narrator.with_every_column(size, fixed.model.sizes.get(col.name), fixed.rows)
                row.update(effect=size, sentence=sentence)
        row["evidence"] = [e for e, ok in (("all rows", on_all), ("held-out rows", passed)) if ok]
        out.append(row)
    order = {"matters": 0, "not confirmed": 1, "not in the model": 2}
    return sorted(out, key=lambda r: (order[r["verdict"]], -(r["importance"] or 0.0), r["name"]))


def _join_names(names: list[str]) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _shape_sources(plan: Plan, term_name: str) -> tuple[str, ...]:
    """The columns of a term that is a curve or a product (a square, log or product term)."""
    term = next((t for t in plan.terms if t.name == term_name), None)
    return term.sources if term is not None and term.kind not in all_rows.MAIN_KINDS else ()


def _direction(size: dict[str, Any] | None) -> str | None:
    """"up" or "down": the sign of the headline change of a numeric column (one target column),
    when its interval excludes zero; None otherwise (levels, classes, a change that depends on
    another column)."""
    if size is None or size["kind"] == "levels" or len(size["changes"]) != 1:
        return None
    row = size["changes"][0]
    if row["ci_low"] > 0:
        return "up"
    return "down" if row["ci_high"] < 0 else None


def _notes(plan: Plan, s: Summary, results: list, params: AnalysisParams,
           family: dict[str, Any] | None = None, fixed: all_rows.AllRows | None = None,
           alone: str | None = None) -> list[str]:
    out = []
    if alone is not None and fixed is not None:  # first: the terminal shows the first notes
        out.append(f"{alone}: no hypotheses were searched and none was confirmed on held-out rows"
                   + ("; segments were not searched either (they are confirmed on held-out rows)" if params.segments
                      else "") + ". " + fixed.note(also=False))
    if s.rows_bad_target:
        out.append(f"{s.rows_bad_target:,} rows were left out because their target value was missing or not one of {list(plan.target.classes) or 'the numbers'}.")
    for name, reason in plan.dropped:
        out.append(f"Column {name!r} was not used: {reason}.")
    if alone is not None:
        return out + _notes_alone(plan, fixed)
    tests = "Held-out tests"
    if family and family["tests"]:
        k = len(family["hypotheses"])
        g = sum(t["test"] == "segment" for t in family["tests"])
        tests = f"The {len(family['tests'])} held-out tests of the {k} re-tested {'hypothesis' if k == 1 else 'hypotheses'}"
        tests += f" and {g} {'segment' if g == 1 else 'segments'}" if g else ""
    out.append(f"{tests} were corrected together for multiple testing (Benjamini–Hochberg at alpha = {params.alpha}); "
               "p-values from the search itself are not evidence, because it looked at many hypotheses.")
    if plan.target.task == "binary":
        sized = next((c for c in results if any(z.get("model") == "logistic" for z in c.sizes.values())), None)
        if sized is not None and sized.logistic:
            out.append("Sizes for a yes/no target are changes in its predicted probability, averaged over the "
                       f"held-out rows, from a logistic fit on {rows_phrase(sized.logistic)} "
                       f"({sized.logistic['method']}); its held-out tests use a straight-line (linear probability) "
                       "model.")
        else:
            fit = next((c.logistic for c in results if c.logistic), None)
            tried = (f"; the logistic fit on {rows_phrase(fit)} ({fit['method']}) was not usable" if fit
                     else "; the logistic fit was not usable" if any(c.confirmed for c in results) else "")
            out.append(f"Held-out tests and sizes for a yes/no target use a straight-line (linear probability) model{tried}.")
    rows = min((c.holdout["covariance_rows"] for c in results), default=int(s.holdout.n))
    out.append("Held-out tests and intervals use heteroskedasticity-robust (HC4) standard errors"
               + (f" over all {int(s.holdout.n):,} held-out rows." if rows >= s.holdout.n else
                  f", estimated from a uniform sample of {rows:,} of the held-out rows."))
    if fixed is not None:
        out.append(fixed.note())
    if s.holdout.n < 200:
        out.append(f"Only {int(s.holdout.n)} held-out rows: small effects cannot be confirmed with so few rows.")
    return out


def _notes_alone(plan: Plan, fixed: all_rows.AllRows | None) -> list[str]:
    """The notes on how a table tested on all rows alone was tested: those on held-out rows do not apply."""
    out = ["The tests on all rows use heteroskedasticity-robust (HC4) standard errors, with the t and F "
           "reference distributions of the model's residual degrees of freedom, which allow for so few rows."]
    if plan.target.task == "binary":
        fit = fixed.model.logistic if fixed is not None else None
        sized = fixed is not None and any(z.get("model") == "logistic" for z in fixed.model.sizes.values())
        out.append("Tests of a yes/no target on all rows use a straight-line (linear probability) model"
                   + (f"; its sizes are changes in the predicted probability from a logistic fit ({fit['method']})."
                      if sized and fit else "; so do its sizes."))
    return out
