"""The content of a report as a list of format-neutral blocks.

Every format renders the same blocks, so Markdown, text and HTML always say the same thing.
Block text is plain and unescaped; each renderer escapes it for its own syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greta_core.report._format import (
    NA,
    as_float,
    fmt_bytes,
    fmt_ci,
    fmt_fixed,
    fmt_int,
    fmt_mb,
    fmt_num,
    fmt_p,
    fmt_rate,
    fmt_seconds,
    mapping,
    records,
    strings,
    text,
)
from greta_core.report.charts import IMPORTANCE_TITLE

NOT_CONFIRMED = "not confirmed on held-out data"


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    tone: str = ""  # "" or "muted"


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str  # one of "l"/"r" per column
    caption: str = ""


@dataclass(frozen=True)
class ItemList:
    items: tuple[str, ...]
    ordered: bool


@dataclass(frozen=True)
class Charts:
    """Charts of one confirmed hypothesis; only graphical formats draw them."""

    hypothesis: Mapping[str, Any]
    y_label: str


@dataclass(frozen=True)
class ImportanceChart:
    """The columns that matter, by the held-out R² each carries (or the R² ``title`` says); only
    graphical formats draw it."""

    columns: tuple[Mapping[str, Any], ...]
    title: str = IMPORTANCE_TITLE


@dataclass(frozen=True)
class SegmentChart:
    """Each confirmed segment's mean or rate (95% CI) against everyone's; only graphical
    formats draw it."""

    segments: tuple[Mapping[str, Any], ...]
    overall: float | None
    label: str
    percent: bool


@dataclass(frozen=True)
class Collapsible:
    """A titled group of blocks that a page shows folded (HTML) and other formats in full."""

    title: str
    blocks: tuple[Any, ...]


Block = Heading | Paragraph | Table | ItemList | Charts | ImportanceChart | SegmentChart | Collapsible


def build(results: Mapping[str, Any]) -> list[Block]:
    """Return the blocks of the report of a validated results document: the answer first (the
    columns that matter), then the lead model, alternatives and candidates folded, and the
    technical tables last."""
    hypotheses = records(results, "hypotheses")
    confirmed = [h for h in hypotheses if h.get("confirmed") is True]
    unconfirmed = [h for h in hypotheses if h.get("confirmed") is not True]
    lead = next((h for h in confirmed if h.get("role", "lead") == "lead"), None)
    alternatives = [h for h in confirmed if h is not lead]
    blocks: list[Block] = [Heading(1, title(results))]
    blocks += _summary_blocks(results)
    blocks += _answer_blocks(results)
    blocks += _target_blocks(results)
    if lead is None:
        blocks += _findings_blocks([], bool(hypotheses), unsplit(results))
    else:
        blocks += [Heading(2, "The model"), *_model_blocks(lead, results)]
    if alternatives:
        inner = [b for i, h in enumerate(alternatives, 1) for b in
                 (Heading(3, f"Alternative {i}: {terms_label(h)}"), *_model_blocks(h, results))]
        blocks.append(Collapsible(f"Alternative models ({len(alternatives)})", tuple(inner)))
    blocks += _segment_blocks(results)
    blocks += _unconfirmed_blocks(unconfirmed)
    technical = [b for i, h in enumerate(confirmed, 1) for b in _technical_blocks(h, i, results)]
    if technical:
        shown = ("odds ratios, rank checks" if results.get("task") == "binary"
                 else "estimates per unit, rank checks")
        blocks.append(Collapsible(f"Technical details: {shown}", tuple(technical)))
    blocks += _notes_blocks(results)
    blocks += _data_blocks(mapping(results, "data"))
    blocks += _metrics_blocks(mapping(results, "metrics"))
    blocks.append(Paragraph(_footer(results), tone="muted"))
    return blocks


def title(results: Mapping[str, Any]) -> str:
    """Return the report title, naming the target and the task."""
    return f"What goes with {text(results.get('target'))}? ({text(results.get('task'))} target)"


def terms_label(h: Mapping[str, Any]) -> str:
    """Return the terms of a hypothesis joined by " + "."""
    return " + ".join(strings(h, "terms")) or NA


def effect_label(effect: Mapping[str, Any]) -> str:
    """Return "term" or "term: level (vs reference)" for one effects row."""
    name = text(effect.get("term") if effect.get("term") is not None else effect.get("column"))
    if effect.get("level") is None:
        return name
    label = f"{name}: {text(effect.get('level'))}"
    if effect.get("reference") is not None:
        label += f" (vs {text(effect.get('reference'))})"
    return label


def y_label(results: Mapping[str, Any]) -> str:
    """Return what the target axis of a chart shows."""
    target = text(results.get("target"))
    positive = mapping(results, "target_info").get("positive_class")
    if results.get("task") == "binary" and positive is not None:
        return f"P({target} = {text(positive)})"
    return f"predicted {target}"


def _target_blocks(results: Mapping[str, Any]) -> list[Block]:
    info = mapping(results, "target_info")
    parts = []
    if info.get("positive_class") is not None:
        parts.append(f"Positive class: {text(info['positive_class'])}.")
    shares = mapping(info, "class_shares")
    if shares and results.get("task") in ("binary", "multiclass"):
        listed = ", ".join(f"{text(k)} {fmt_share(v)}" for k, v in shares.items())
        parts.append(f"Classes, share of the rows used: {listed}.")
    elif as_float(info.get("mean")) is not None and results.get("task") == "binary":
        parts.append(f"Share of the positive class: {fmt_fixed(info['mean'])}.")
    elif as_float(info.get("mean")) is not None and results.get("task") == "regression":
        parts.append(
            f"Target mean {fmt_num(info['mean'])}, standard deviation {fmt_num(info.get('std'))} "
            "(all rows used)."
        )
    classes = strings(info, "classes")
    if classes and results.get("task") == "multiclass" and not shares:
        parts.append(f"Classes: {', '.join(classes)}.")
    return [Paragraph(" ".join(parts))] if parts else []


def fmt_share(value: object) -> str:
    x = as_float(value)
    return NA if x is None else f"{100 * x:.1f}%"


def _summary_blocks(results: Mapping[str, Any]) -> list[Block]:
    summary = results.get("summary")
    return [Paragraph(text(summary))] if summary else []


_DIRECTION = {"up": "higher values raise it", "down": "higher values lower it"}


def _answer_blocks(results: Mapping[str, Any]) -> list[Block]:
    """What goes with the target: the columns that matter, most important first, with a chart of
    the held-out R² each carries and one sentence each; then every verdict of the lead model."""
    columns = records(results, "columns")
    matter = [c for c in columns if c.get("verdict") == "matters"]
    if not matter:
        return []
    alone = unsplit(results)
    chart = (ImportanceChart(tuple(matter), "R² each column carries on all rows "
                             "(blue: higher values raise it, orange: lower it, grey: no single direction)")
             if alone else ImportanceChart(tuple(matter)))
    blocks: list[Block] = [Heading(2, f"What goes with {text(results.get('target'))}"), chart]
    sentences = [text(c.get("sentence")) for c in matter if c.get("sentence")]
    if sentences:
        blocks.append(ItemList(tuple(sentences), ordered=False))
    rows = [c for c in columns if c.get("verdict") in ("matters", "not confirmed")]
    body = tuple(
        (text(c.get("name")), text(c.get("verdict")), ", ".join(strings(c, "terms")) or NA,
         fmt_fixed(c.get("importance")), _DIRECTION.get(text(c.get("direction")), "see its sentence"),
         fmt_p(mapping(c, "joint_test").get("q_value")))
        for c in rows
    )
    headers = ("Column", "Verdict", "Through", "R² it carries", "Direction", "q-value")
    caption = ("Each column's terms tested together (robust standard errors): in the lead model on held-out rows, "
               "or, where its sentence says so, on all rows with every other column in the model (the q-value "
               "Holm-adjusted). 'R² it carries' is the R² lost when its terms leave that model.")
    if alone:
        caption = ("Each column's terms tested together on all rows, with every other column in the model (robust "
                   "standard errors; q: Holm-adjusted p); 'R² it carries' is the R² lost when they leave the model.")
    return [*blocks, Table(headers, body, "lllrlr", caption)]


def _effect_size(h: Mapping[str, Any]) -> str:
    holdout = mapping(h, "holdout")
    for key, suffix in (("r2", ""), ("pseudo_r2", " (pseudo R²)"), ("effect_size", " (effect)")):
        if as_float(holdout.get(key)) is not None:
            return fmt_fixed(holdout[key]) + suffix
    return NA


def _rank(h: Mapping[str, Any], default: int) -> str:
    return fmt_int(h.get("rank")) if as_float(h.get("rank")) is not None else str(default)


def unsplit(results: Mapping[str, Any]) -> bool:
    """Whether the table was too small to split: its columns were tested on all rows alone."""
    return mapping(results, "data").get("split") is False


def _findings_blocks(confirmed: list[Mapping[str, Any]], any_tested: bool, alone: bool = False) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Confirmed findings")]
    if not confirmed:
        msg = (
            "No hypothesis was confirmed on held-out data."
            if any_tested
            else "No hypotheses were searched: the table was too small to split into discovery and held-out rows."
            if alone
            else "No hypotheses were tested."
        )
        return [*blocks, Paragraph(msg)]
    rows = tuple(
        (_rank(h, i), terms_label(h), _effect_size(h), fmt_p(mapping(h, "holdout").get("q_value")))
        for i, h in enumerate(confirmed, 1)
    )
    headers = ("Rank", "Terms", "Holdout R²", "q-value")
    blocks.append(Table(headers, rows, "llrr"))
    narratives = [
        f"Finding {_rank(h, i)}: {text(h.get('narrative') or NA)}"
        for i, h in enumerate(confirmed, 1)
    ]
    return [*blocks, ItemList(tuple(narratives), ordered=False)]


def _fit_line(name: str, fit: Mapping[str, Any]) -> str:
    if not fit:
        return ""
    parts = [f"R² {fmt_fixed(fit.get('r2'))}"]
    if as_float(fit.get("adj_r2")) is not None:
        parts[0] += f" (adjusted {fmt_fixed(fit['adj_r2'])})"
    if as_float(fit.get("f_statistic")) is not None:
        parts.append(
            f"F({fmt_int(fit.get('df1'))}, {fmt_int(fit.get('df2'))}) = "
            f"{fmt_num(fit['f_statistic'])}"
        )
    parts.append(_eq("p", fit.get("p_value")))
    if "q_value" in fit:
        parts.append(_eq("q", fit.get("q_value")))
    parts.append(f"n = {fmt_int(fit.get('n'))}")
    return f"{name}: {', '.join(parts)}."


def _eq(name: str, value: object) -> str:
    """"p = 0.002", or "p < 1e-300" (never "p = < 1e-300")."""
    shown = fmt_p(value)
    return f"{name} {shown}" if shown.startswith("<") else f"{name} = {shown}"


def _model_blocks(h: Mapping[str, Any], results: Mapping[str, Any]) -> list[Block]:
    blocks: list[Block] = [Paragraph(text(h.get("narrative") or NA) if not h.get("findings")
                                     else _head_of(h))]
    fits = [_fit_line("Held-out", mapping(h, "holdout")), _fit_line("Discovery", mapping(h, "discovery"))]
    if any(fits):
        blocks.append(Paragraph(" ".join(f for f in fits if f), tone="muted"))
    blocks.append(Charts(h, y_label(results)))
    return blocks


def _head_of(h: Mapping[str, Any]) -> str:
    """The narrative's first sentence (the model's fit); the column sentences are shown above."""
    narrative, findings = text(h.get("narrative")), strings(h, "findings")
    for f in findings:
        narrative = narrative.replace(f, "")
    return " ".join(narrative.split())


def _technical_blocks(h: Mapping[str, Any], index: int, results: Mapping[str, Any]) -> list[Block]:
    label = "Lead model" if h.get("role", "lead") == "lead" else f"Model {_rank(h, index)}"
    # a yes/no target: no per-unit changes of the straight-line model (they are not its sizes,
    # and read as probabilities they mislead); the odds ratios are its per-unit view
    effects = [] if results.get("task") == "binary" else records(h, "effects")
    return [Heading(3, f"{label}: {terms_label(h)}"),
            *_effects_table(effects, results),
            *_odds_table(records(h, "odds_ratios"), h.get("logistic")),
            *_rank_table(records(h, "rank_checks"))]


def _effects_caption(results: Mapping[str, Any]) -> str:
    task = results.get("task")
    if task == "multiclass":
        return "Effects (holdout): change in the probability of each class."
    return f"Effects (holdout): change in {text(results.get('target'))}."


def _effects_table(effects: list[Mapping[str, Any]], results: Mapping[str, Any]) -> list[Block]:
    if not effects:
        return []
    with_class = any("class" in e for e in effects)
    headers = (
        "Term / level",
        *(("Class",) if with_class else ()),
        "Estimate",
        "95% CI",
        "q-value",
        "Standardized",
    )
    rows = tuple(
        (
            effect_label(e),
            *((text(e.get("class")),) if with_class else ()),
            fmt_num(e.get("estimate")),
            fmt_ci(e.get("ci_low"), e.get("ci_high")),
            fmt_p(e.get("q_value")),
            fmt_num(e.get("standardized")),
        )
        for e in effects
    )
    align = "l" + ("l" if with_class else "") + "rrrr"
    return [Table(headers, rows, align, caption=_effects_caption(results))]


def _odds_table(odds: list[Mapping[str, Any]], logistic: Any = None) -> list[Block]:
    if not odds:
        return []
    rows = tuple(
        (
            text(o.get("column")),
            fmt_num(o.get("odds_ratio")),
            fmt_ci(o.get("ci_low"), o.get("ci_high")),
            fmt_p(o.get("p_value")),
        )
        for o in odds
    )
    caption = "Odds ratios (logistic fit on a holdout sample)."
    if isinstance(logistic, Mapping) and isinstance(logistic.get("rows"), int):
        used = (f"all {logistic['rows']:,} held-out rows" if logistic.get("all_held_out_rows") else
                f"a sample of {logistic['rows']:,} of the {logistic.get('held_out_rows', 0):,} held-out rows")
        caption = f"Odds ratios (logistic fit on {used}; {text(logistic.get('method'))})."
    return [Table(("Column", "Odds ratio", "95% CI", "p-value"), rows, "lrrr", caption)]


def _rank_table(checks: list[Mapping[str, Any]]) -> list[Block]:
    if not checks:
        return []
    rows = tuple(
        (
            text(c.get("term")),
            text(c.get("method")),
            fmt_num(c.get("statistic")),
            fmt_p(c.get("p_value")),
        )
        for c in checks
    )
    caption = "Rank-based checks (holdout sample)."
    return [Table(("Term", "Method", "Statistic", "p-value"), rows, "llrr", caption)]


def _unconfirmed_item(h: Mapping[str, Any], index: int) -> str:
    holdout = mapping(h, "holdout")
    return (
        f"Candidate {_rank(h, index)}: {terms_label(h)} — {NOT_CONFIRMED} "
        f"(holdout R² {fmt_fixed(holdout.get('r2'))}, q = {fmt_p(holdout.get('q_value'))})."
    )


def _unconfirmed_blocks(unconfirmed: list[Mapping[str, Any]]) -> list[Block]:
    if not unconfirmed:
        return []
    intro = (
        "These candidates looked promising on the discovery rows but were "
        f"{NOT_CONFIRMED}. They are not findings."
    )
    items = tuple(_unconfirmed_item(h, i) for i, h in enumerate(unconfirmed, 1))
    return [Collapsible(f"Candidates not confirmed ({len(unconfirmed)})",
                        (Paragraph(intro, tone="muted"), ItemList(items, ordered=False)))]


def _notes_blocks(results: Mapping[str, Any]) -> list[Block]:
    notes = [n for n in strings(results, "notes") if n]
    return [Heading(2, "Notes"), ItemList(tuple(notes), ordered=True)] if notes else []


def _data_facts(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    facts = [
        ("Source", text(data.get("source"))),
        ("Format", text(data.get("format"))),
        ("Backend", text(data.get("backend"))),
        ("Rows read", fmt_int(data.get("rows"))),
        ("Rows used (target present)", fmt_int(data.get("rows_used"))),
        ("Discovery rows", fmt_int(data.get("rows_discovery"))),
        ("Holdout rows", fmt_int(data.get("rows_holdout"))),
        ("Candidate terms", fmt_int(data.get("candidate_terms"))),
    ]
    screening = data.get("screening")
    if isinstance(screening, Mapping):
        facts.append(("Candidate terms screened (the strongest kept)", fmt_int(screening.get("candidate_terms"))))
    return tuple(fact for fact in facts if fact[1] != NA)


def _data_blocks(data: Mapping[str, Any]) -> list[Block]:
    if not data:
        return []
    blocks: list[Block] = [Heading(2, "Data")]
    facts = _data_facts(data)
    if facts:
        blocks.append(Table(("Item", "Value"), facts, "ll"))
    used = records(data, "columns_used")
    if used:
        names = ", ".join(f"{text(c.get('name'))} ({text(c.get('kind'))})" for c in used)
        blocks.append(Paragraph(f"Columns used ({len(used)}): {names}."))
    dropped = records(data, "columns_dropped")
    if dropped:
        rows = tuple((text(c.get("name")), text(c.get("reason"))) for c in dropped)
        blocks.append(Table(("Dropped column", "Reason"), rows, "ll"))
    return blocks


def _metrics_blocks(metrics: Mapping[str, Any]) -> list[Block]:
    if not metrics:
        return []
    stages = mapping(metrics, "stages")
    rows = [(text(name), fmt_seconds(mapping(stages, name).get("seconds"))) for name in stages]
    rows += [
        ("Total (wall clock)", fmt_seconds(metrics.get("wall_seconds"))),
        ("CPU time", fmt_seconds(metrics.get("cpu_seconds"))),
        ("Rows per second", fmt_rate(metrics.get("rows_per_second"), "rows/s")),
        ("Peak memory", fmt_mb(metrics.get("peak_memory_mb"))),
        ("Worker CPU time", fmt_seconds(metrics.get("workers_cpu_seconds"))),
        ("Worker peak memory", fmt_mb(metrics.get("workers_peak_memory_mb"))),
        ("Bytes read", fmt_bytes(metrics.get("bytes_read"))),
        ("Bytes moved between processes", fmt_bytes(metrics.get("bytes_moved"))),
        ("Evaluations", fmt_int(metrics.get("evaluations"))),
        ("Evaluations per second", fmt_rate(metrics.get("evaluations_per_second"), "/s")),
    ]
    rows = [row for row in rows if row[1] != NA]
    if not rows:
        return []
    return [Heading(2, "Performance"), Table(("Stage / measure", "Value"), tuple(rows), "lr")]


def _footer(results: Mapping[str, Any]) -> str:
    parts = [
        f"Generated by Greta {text(results.get('greta_version'))}",
        f"results schema version {text(results.get('schema_version'))}",
    ]
    if results.get("seed") is not None:
        parts.append(f"seed {text(results.get('seed'))}")
    return ", ".join(parts) + "."


def _segment_blocks(results: Mapping[str, Any]) -> list[Block]:
    """Who has the highest or lowest target: one sentence per confirmed segment, a chart of each
    one's mean or rate against everyone's, a table; segments tested and not confirmed folded."""
    if "segments" not in results:
        return []
    segments = records(results, "segments")
    confirmed = [s for s in segments if s.get("confirmed") is True]
    others = [s for s in segments if s.get("confirmed") is not True]
    blocks: list[Block] = [Heading(2, "Segments")]
    if not confirmed:
        msg = ("No segment was confirmed on held-out data." if segments
               else "No segment of the minimum size stood out on the discovery rows.")
        blocks.append(Paragraph(msg))
    else:
        task = text(results.get("task"))
        info = mapping(results, "target_info")
        overall = as_float(info.get("mean"))
        label = f"mean {text(results.get('target'))}"
        if task == "binary":
            label = f"{text(results.get('target'))} = {text(info.get('positive_class'))}"
        elif task == "multiclass":
            label = f"share of the segment's class of {text(results.get('target'))}"
            overall = None
        blocks.append(SegmentChart(tuple(confirmed), overall, label, task != "regression"))
        blocks.append(ItemList(tuple(text(s.get("sentence")) for s in confirmed), ordered=False))
        fmt = fmt_share if task != "regression" else fmt_num
        body = tuple(
            (text(s.get("description")), fmt_int(s.get("rows")), fmt_share(s.get("share")),
             f"{fmt(mapping(s, 'inside').get('mean'))} [{fmt(mapping(s, 'inside').get('ci_low'))}, "
             f"{fmt(mapping(s, 'inside').get('ci_high'))}]",
             fmt(mapping(s, "outside").get("mean")), fmt_p(s.get("q_value")))
            for s in confirmed)
        caption = ("Inside against outside each segment on held-out rows the search never saw "
                   "(95% CI; q-values corrected together with every other held-out test).")
        blocks.append(Table(("Segment", "Rows", "Share", "Inside (95% CI)", "Outside", "q-value"), body,
                            "lrrrrr", caption))
    if others:
        items = tuple(text(s.get("sentence")) for s in others)
        blocks.append(Collapsible(f"Segments not confirmed ({len(others)})", (ItemList(items, ordered=False),)))
    return blocks
