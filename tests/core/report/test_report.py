"""Tests of greta_core.report: every format says the same thing, safely."""

from __future__ import annotations

import copy
import html
import json
import math
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from greta_core.errors import DataFormatError, GretaError, InvalidConfigError
from greta_core.report import FORMATS, render, validate_results
from greta_core.report._format import fmt_num, fmt_p
from greta_core.report.charts import forest_plot, nice_ticks, partial_dependence_chart
from greta_core.report.text import display_width

EVIL_COLUMN = '<b>"x&y"</b>'
EVIL_LEVEL = "<script>alert(1)</script>"
UNICODE_COLUMN = "température_°C"
CJK_COLUMN = "客户"
NARRATIVE = (
    "Homes with more rooms sell for more: each extra room adds about 2.1 price units, "
    "and the effect of x5 grows with x7."
)
UNCONFIRMED_TERM = "lot_shape_irregular"


def _effect(term: str, estimate: float, se: float, q: float, **extra: Any) -> dict[str, Any]:
    row = {
        "term": term,
        "column": term,
        "level": None,
        "reference": None,
        "estimate": estimate,
        "std_error": se,
        "ci_low": estimate - 1.96 * se,
        "ci_high": estimate + 1.96 * se,
        "p_value": q / 2,
        "q_value": q,
        "standardized": estimate / 10,
    }
    row.update(extra)
    return row


def regression_results() -> dict[str, Any]:
    """A hand-written regression results document with one confirmed and one unconfirmed."""
    effects = [
        _effect("rooms", 2.113, 0.21, 3.1e-22),
        _effect("x5*x7", 0.0412, 0.008, 4.0e-06),
        _effect(
            EVIL_COLUMN,
            -1.5,
            0.4,
            0.0021,
            column=f"{EVIL_COLUMN}={EVIL_LEVEL}",
            level=EVIL_LEVEL,
            reference="plain",
        ),
        _effect(
            EVIL_COLUMN,
            0.7,
            0.5,
            0.2,
            column=f"{EVIL_COLUMN}=other",
            level="other",
            reference="plain",
        ),
        _effect(UNICODE_COLUMN, -0.33, 0.05, 1.2e-9),
        _effect(
            CJK_COLUMN, 0.12, 0.1, 0.5, ci_low=None, ci_high=None, q_value=None, standardized=None
        ),
    ]
    terms = ["rooms", "x5*x7", EVIL_COLUMN, UNICODE_COLUMN, CJK_COLUMN]
    confirmed = {
        "rank": 1,
        "terms": terms,
        "features": sorted(["rooms", "x5", "x7", EVIL_COLUMN]),
        "confirmed": True,
        "discovery": {
            "p_value": 1e-40,
            "r2": 0.41,
            "f_statistic": 88.1,
            "df1": 6,
            "df2": 2503,
            "n": 2510,
        },
        "holdout": {
            "p_value": 1e-35,
            "q_value": 2e-35,
            "r2": 0.387,
            "adj_r2": 0.385,
            "f_statistic": 80.2,
            "df1": 6,
            "df2": 2473,
            "n": 2480,
        },
        "term_tests": [
            {"term": t, "p_value": 1e-5, "q_value": 2e-5, "partial_r2": 0.03, "confirmed": True}
            for t in terms
        ],
        "effects": effects,
        "rank_checks": [
            {"term": "rooms", "method": "Spearman rho", "statistic": 0.52, "p_value": 1e-30}
        ],
        "partial_dependence": [
            {
                "term": "rooms",
                "kind": "numeric",
                "x": [1, 2, 3, 4, 5, 6],
                "y": [10.2, 12.3, 14.4, 16.5, float("nan"), 20.7],
            },
            {
                "term": EVIL_COLUMN,
                "kind": "categorical",
                "x": ["plain", EVIL_LEVEL, "other"],
                "y": [15.0, 13.5, 15.7],
            },
            {
                "term": UNICODE_COLUMN,
                "kind": "numeric",
                "x": [-5.0, 0.0, 20.0],
                "y": [16.0, 15.1, 9.4],
            },
        ],
        "narrative": NARRATIVE,
    }
    unconfirmed = {
        "rank": 2,
        "terms": [UNCONFIRMED_TERM],
        "features": [UNCONFIRMED_TERM],
        "confirmed": False,
        "discovery": {"p_value": 0.0004, "r2": 0.02, "n": 2510},
        "holdout": {"p_value": 0.31, "q_value": 0.62, "r2": 0.001, "n": 2480},
        "effects": [_effect(UNCONFIRMED_TERM, 0.4, 0.3, 0.62)],
        "narrative": "Irregular lots seemed to sell for more on the discovery rows.",
    }
    return {
        "schema_version": 1,
        "greta_version": "0.1.0",
        "target": "price",
        "task": "regression",
        "target_info": {"mean": 15.3, "std": 4.2},
        "data": {
            "source": "examples/<houses>.csv",
            "format": "csv",
            "backend": "pandas",
            "rows": 5000,
            "rows_used": 4990,
            "rows_discovery": 2510,
            "rows_holdout": 2480,
            "columns_used": [
                {"name": n, "kind": "numeric"}
                for n in ("rooms", "x5", "x7", UNICODE_COLUMN, CJK_COLUMN)
            ]
            + [{"name": EVIL_COLUMN, "kind": "categorical"}],
            "columns_dropped": [
                {"name": "house_id", "reason": "ID-like: 5000 distinct values in 5000 rows"}
            ],
            "candidate_terms": 230,
        },
        "hypotheses": [confirmed, unconfirmed],
        "summary": "Price is driven mostly by the number of rooms and by x5 together with x7.",
        "notes": [
            "Effects are associations, not causes.",
            "The holdout sample has 2,480 rows; small effects may be missed.",
        ],
        "metrics": {
            "stages": {
                "ingest": {"seconds": 0.4},
                "statistics": {"seconds": 0.21},
                "search": {"seconds": 1.2},
                "confirm": {"seconds": 0.15},
                "narrate": {"seconds": 0.01},
            },
            "wall_seconds": 2.1,
            "cpu_seconds": 2.9,
            "rows_per_second": 250000.0,
            "peak_memory_mb": 180.0,
            "evaluations": 8000,
            "evaluations_per_second": 150000.0,
        },
        "config": {"alpha": 0.05},
        "seed": 1,
    }


def binary_results() -> dict[str, Any]:
    """A binary variant with odds ratios."""
    results = regression_results()
    results.update(
        task="binary",
        target="churned",
        target_info={"mean": 0.27, "std": 0.44, "positive_class": "yes", "classes": ["no", "yes"]},
    )
    results["hypotheses"][0]["odds_ratios"] = [
        {
            "column": "tenure_years",
            "odds_ratio": 0.81,
            "ci_low": 0.77,
            "ci_high": 0.85,
            "p_value": 1e-15,
        },
        {
            "column": f"{EVIL_COLUMN}={EVIL_LEVEL}",
            "odds_ratio": 1.9,
            "ci_low": 1.2,
            "ci_high": 3.1,
            "p_value": 0.004,
        },
    ]
    return results


def _section(report: str, start: str, end: str) -> str:
    body = report.split(start, 1)[1]
    return body.split(end, 1)[0]


# --- render and formats --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "text", "html"])
def test_every_format_has_the_main_content(fmt: str) -> None:
    report = render(regression_results(), fmt)
    plain = html.unescape(report) if fmt == "html" else report.replace("\\", "")
    flat = " ".join(plain.split())
    for expected in (
        "price",
        "regression",
        "Price is driven mostly",
        NARRATIVE,
        "x5*x7",
        "2.11",
        "[1.70, 2.52]",
        "3.1e-22",
        "0.387",
        "2.0e-35",
        "Spearman rho",
        "not confirmed on held-out data",
        "Effects are associations",
        "ID-like: 5000 distinct values",
        "2,510",
        "2,480",
        "pandas",
        "250,000 rows/s",
        "180 MB",
        "150,000 /s",
        "1.20 s",
    ):
        assert expected in flat, (fmt, expected)


@pytest.mark.parametrize("fmt", ["md", "text", "html"])
def test_unconfirmed_is_labelled_and_not_in_findings(fmt: str) -> None:
    report = render(regression_results(), fmt)
    model = _section(report, "The model", "Candidates not confirmed")
    assert "rooms" in model
    assert UNCONFIRMED_TERM.replace("_", "") not in model.replace("\\", "").replace("_", "")
    candidates = _section(report, "Candidates not confirmed", "Notes")
    assert "lot" in candidates
    assert "not confirmed on held-out data" in " ".join(candidates.split())


@pytest.mark.parametrize("fmt", ["md", "text", "html"])
def test_the_answer_comes_first(fmt: str) -> None:
    results = regression_results()
    results["schema_version"] = 2
    results["hypotheses"][0]["role"] = "lead"
    results["columns"] = [
        {"name": "rooms", "verdict": "matters", "terms": ["rooms"], "importance": 0.21, "direction": "up",
         "joint_test": {"q_value": 1e-20}, "sentence": "As rooms goes from 2 to 4, price rises by 4.2."},
        {"name": EVIL_COLUMN, "verdict": "not confirmed", "terms": [EVIL_COLUMN], "importance": 0.001,
         "direction": None, "joint_test": {"q_value": 0.2}},
        {"name": "x9", "verdict": "not in the model", "terms": [], "importance": None, "direction": None,
         "joint_test": None},
    ]
    report = render(results, fmt)
    plain = html.unescape(report) if fmt == "html" else report.replace("\\", "")
    answer = _section(plain, "What goes with price\n" if fmt == "text" else "What goes with price<" if fmt == "html"
                      else "## What goes with price", "The model")
    assert "As rooms goes from 2 to 4, price rises by 4.2." in " ".join(answer.split())
    assert "not confirmed" in answer and "x9" not in answer
    assert plain.index("What goes with price") < plain.index("The model") < plain.index("Technical details")
    if fmt == "html":
        assert answer.count("<svg") == 1 and "R² each column carries" in answer
        assert "<details><summary>Technical details" in report


def test_markdown_tables_and_numbered_notes() -> None:
    md = render(regression_results(), "md")
    assert md.startswith("# What goes with price? (regression target)")
    assert "## The model" in md
    assert "1. Effects are associations, not causes." in md
    assert "2. The holdout sample" in md
    assert "x5\\*x7" in md  # no accidental emphasis
    assert "### Lead model: rooms + x5\\*x7 + " in md


def test_markdown_escapes_html_and_table_pipes() -> None:
    results = regression_results()
    results["notes"].append("a | b")
    md = render(results, "md")
    assert EVIL_LEVEL not in md and EVIL_COLUMN not in md
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", md)  # no raw HTML tag anywhere
    assert "\\<script>alert(1)\\</script>" in md and "a \\| b" in md


def test_text_is_plain_and_wrapped() -> None:
    results = regression_results()
    txt = render(results, "text")
    data = txt  # the data's own text (names, levels, the file name) is shown as is; nothing else
    for raw in (EVIL_LEVEL, EVIL_COLUMN, results["data"]["source"]):
        data = data.replace(raw, "")
    assert not re.search(r"<[A-Za-z/!?]", data), data  # no tag
    assert not re.search(r"&(#\d+|[a-z]+);", data), data  # no HTML entity
    assert "|" not in txt and "**" not in txt and "<svg" not in txt
    assert all(display_width(line) <= 90 for line in txt.splitlines())
    assert " 1. Effects are associations, not causes." in txt
    assert EVIL_LEVEL in txt  # text is not markup: data is shown as is


def test_html_is_self_contained_with_charts() -> None:
    page = render(regression_results(), "html")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") >= 4  # forest plot + three partial-dependence charts
    assert "<polyline" in page and "<rect" in page and "<circle" in page
    lowered = page.lower()
    assert "<script" not in lowered
    assert "http://" not in lowered and "https://" not in lowered
    assert not re.search(r"(src|href)\s*=", lowered)
    assert "@import" not in lowered and "url(" not in lowered


def test_html_escapes_every_data_string() -> None:
    page = render(regression_results(), "html")
    assert EVIL_COLUMN not in page and EVIL_LEVEL not in page
    assert html.escape(EVIL_COLUMN, quote=True) in page
    assert html.escape(EVIL_LEVEL, quote=True) in page
    assert "examples/&lt;houses&gt;.csv" in page
    svg = "".join(re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL))
    assert html.escape(EVIL_LEVEL, quote=True) in svg  # in SVG text and titles too
    assert "alert(1)" in svg and "<script" not in svg


def test_html_escapes_attributes() -> None:
    results = regression_results()
    results["target"] = 'p" onload="x'
    page = render(results, "html")
    assert 'onload="x' not in page
    assert "p&quot; onload=&quot;x" in page


@pytest.mark.parametrize("fmt", FORMATS)
def test_unicode_names_survive(fmt: str) -> None:
    report = render(regression_results(), fmt)
    assert UNICODE_COLUMN.replace("_", "\\_") in report or UNICODE_COLUMN in report
    assert CJK_COLUMN in report


def test_json_round_trips() -> None:
    results = regression_results()
    results["hypotheses"][0]["partial_dependence"][0]["y"][4] = None
    out = render(results, "json")
    assert json.loads(out) == results
    assert CJK_COLUMN in out  # not \\u-escaped


def test_json_turns_nan_into_null() -> None:
    results = regression_results()
    results["hypotheses"][0]["holdout"]["r2"] = float("nan")
    loaded = json.loads(render(results, "json"))
    assert loaded["hypotheses"][0]["holdout"]["r2"] is None
    assert loaded["hypotheses"][0]["partial_dependence"][0]["y"][4] is None


def test_binary_shows_odds_ratios_and_positive_class() -> None:
    results = binary_results()
    md = render(results, "md")
    assert "Odds ratios" in md and "| tenure_years | 0.810 | [0.770, 0.850] | 1.0e-15 |" in md
    assert "Positive class: yes. Share of the positive class: 0.270." in md
    page = render(results, "html")
    assert "P(churned = yes)" in page
    assert EVIL_LEVEL not in page
    txt = render(results, "text")
    assert "Odds ratio" in txt and "0.810" in txt


def test_the_odds_ratios_say_which_rows_they_were_fitted_on() -> None:
    results = binary_results()
    results["hypotheses"][0]["logistic"] = {
        "method": "Spark MLlib GeneralizedLinearRegression (binomial, logit) on the executors",
        "rows": 10012, "held_out_rows": 10012, "all_held_out_rows": True, "iterations": 6}
    for fmt in ("md", "html", "text"):
        assert "logistic fit on all 10,012 held-out rows; Spark MLlib" in render(results, fmt), fmt
    results["hypotheses"][0]["logistic"] = {"method": "statsmodels Logit on the driver", "rows": 5000,
                                            "held_out_rows": 10012, "all_held_out_rows": False}
    assert "logistic fit on a sample of 5,000 of the 10,012 held-out rows" in render(results, "html")


def test_multiclass_effects_get_a_class_column() -> None:
    results = regression_results()
    results["task"] = "multiclass"
    for effect in results["hypotheses"][0]["effects"]:
        effect["class"] = "gold"
    md = render(results, "md")
    assert "| Term / level | Class | Estimate |" in md and "| gold |" in md


# --- robustness ---------------------------------------------------------------------------


def _minimal() -> dict[str, Any]:
    return {"schema_version": 1, "target": "y", "task": "regression", "hypotheses": []}


@pytest.mark.parametrize("fmt", FORMATS)
def test_minimal_document_renders(fmt: str) -> None:
    report = render(_minimal(), fmt)
    assert "y" in report
    if fmt != "json":
        assert "No hypotheses were tested." in report


@pytest.mark.parametrize("fmt", ["md", "text", "html"])
def test_missing_optional_keys_and_none_numbers(fmt: str) -> None:
    results = regression_results()
    h = results["hypotheses"][0]
    for key in ("rank_checks", "partial_dependence", "discovery", "rank"):
        del h[key]
    h["holdout"] = {"q_value": None, "r2": float("nan")}
    h["effects"][0].update(estimate=None, ci_low=float("inf"), ci_high=None)
    del results["metrics"], results["target_info"], results["data"]["columns_dropped"]
    results["hypotheses"][1]["confirmed"] = None
    report = render(results, fmt)
    assert "n/a" in report
    assert "nan" not in report.lower().replace("narrat", "").replace("nant", "")
    assert "Performance" not in report and "Spearman" not in report


def test_no_confirmed_finding_says_so() -> None:
    results = regression_results()
    results["hypotheses"][0]["confirmed"] = False
    md = render(results, "md")
    assert "No hypothesis was confirmed on held-out data." in md
    assert NARRATIVE.replace("*", "\\*") not in _section(md, "Confirmed findings", "Candidates")


def test_render_does_not_modify_its_input() -> None:
    results = regression_results()
    before = copy.deepcopy(results)
    for fmt in FORMATS:
        render(results, fmt)
    assert json.dumps(results, sort_keys=True) == json.dumps(before, sort_keys=True)


@pytest.mark.parametrize("fmt", ["pdf", "HTML", "", None, "markdown"])
def test_bad_format_raises(fmt: Any) -> None:
    with pytest.raises(InvalidConfigError) as info:
        render(regression_results(), fmt)
    message = str(info.value)
    assert all(f"'{f}'" in message for f in FORMATS) and "\n" not in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ([], "expected a JSON object"),
        ({"target": "y", "task": "regression", "hypotheses": []}, "'schema_version'"),
        ({**_minimal(), "schema_version": 3}, "schema_version 3"),
        ({**_minimal(), "schema_version": "1"}, "schema_version '1'"),
        ({**_minimal(), "schema_version": True}, "schema_version True"),
        ({"schema_version": 1, "target": "y", "task": "regression"}, "'hypotheses'"),
        ({"schema_version": 1, "hypotheses": []}, "'target', 'task'"),
        ({**_minimal(), "hypotheses": {"a": 1}}, "must be a list"),
    ],
)
def test_validate_results_rejects_bad_documents(doc: Any, fragment: str) -> None:
    with pytest.raises(DataFormatError) as info:
        validate_results(doc)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(DataFormatError):
        render(doc, "md")


def test_validate_results_accepts_and_errors_pickle() -> None:
    results = regression_results()
    assert validate_results(results) is results
    error = pickle.loads(pickle.dumps(DataFormatError("bad")))
    assert isinstance(error, GretaError) and str(error) == "bad"


def test_import_is_cheap() -> None:
    code = (
        "import sys, greta_core.report; "
        "print(sorted(m for m in ('numpy','pandas','scipy','matplotlib') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"


# --- formatting and charts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-0.041, "-0.0410"),
        (2.113, "2.11"),
        (1234.5, "1,230"),
        (3.2e-5, "3.20e-05"),
        (0, "0"),
        (None, "n/a"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),
        (True, "n/a"),
    ],
)
def test_fmt_num(value: Any, expected: str) -> None:
    assert fmt_num(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.41, "0.41"),
        (0.0234, "0.023"),
        (3.2e-5, "3.2e-05"),
        (0.0, "< 1e-300"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_fmt_p(value: Any, expected: str) -> None:
    assert fmt_p(value) == expected


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    ticks = nice_ticks(-0.046, 2.52)
    assert ticks[0] >= -0.046 and ticks[-1] <= 2.52 and 0.0 in ticks
    assert all(abs(t * 2 - round(t * 2)) < 1e-9 for t in ticks)


def test_forest_plot_draws_zero_line_and_skips_missing() -> None:
    svg = forest_plot([("a", 1.0, 0.5, 1.5), ("b", -1.0, None, None), ("c", None, None, None)], "t")
    assert svg.startswith("<svg") and 'stroke-dasharray="4 3"' in svg
    assert svg.count("<circle") == 2 and svg.count('stroke-width="2"') == 1
    assert forest_plot([("a", None, None, None)], "t") == ""


def test_partial_dependence_handles_bad_entries() -> None:
    assert partial_dependence_chart({"term": "a", "kind": "numeric", "x": [], "y": []}, "y") == ""
    assert partial_dependence_chart({"term": "a", "kind": "categorical"}, "y") == ""
    one = partial_dependence_chart({"term": "a", "kind": "numeric", "x": [1], "y": [2]}, "y")
    assert "<svg" in one
    many = {
        "term": "a",
        "kind": "categorical",
        "x": [str(i) for i in range(60)],
        "y": list(range(60)),
    }
    assert "20 more levels not shown" in partial_dependence_chart(many, "y")
    dates = {"term": "d", "kind": "numeric", "x": ["2024-01", "2024-02"], "y": [1.0, 2.0]}
    assert "<rect" in partial_dependence_chart(dates, "y")
    assert nice_ticks(-1e308, 1e308) == [-1e308, 1e308]


def test_text_wraps_wide_characters_by_display_width() -> None:
    results = regression_results()
    long_cjk = "客户" * 40
    results["summary"] = f"{long_cjk} drives the target. " + "word " * 40
    results["data"]["columns_dropped"].append({"name": long_cjk, "reason": "constant " * 20})
    txt = render(results, "text")
    assert all(display_width(line) <= 88 for line in txt.splitlines())
    assert long_cjk in "".join(txt.split())  # the summary paragraph, rewrapped
    dropped = [line for line in txt.splitlines() if "客户" in line and "constant" in line]
    assert len(dropped) >= 3
