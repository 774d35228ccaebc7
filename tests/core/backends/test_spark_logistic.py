"""The logistic check of a yes/no target on Spark: MLlib fits it on every holdout row, on the
executors, and gives statsmodels' Logit answer on the same rows (coefficients and standard
errors to a relative 1e-6) — on the test session's local[2] and on the standalone cluster."""

from __future__ import annotations

from typing import Any

import pytest

from backends_kit import LOGIT_SAMPLE, analyze, assert_same_logit, logistic


def _check_rows(doc_or_result: dict[str, Any], got: dict[str, Any], held_out: int) -> None:
    assert held_out > LOGIT_SAMPLE["spark"]  # a sample fit would have used fewer rows
    for fit in got.values():
        info = fit["logistic"]
        assert info["all_held_out_rows"] and info["rows"] == info["held_out_rows"] == held_out
        assert "MLlib" in info["method"]
        assert info["iterations"] < 100
    assert any(f"logistic fit on all {held_out:,} held-out rows" in n for n in doc_or_result["notes"])


@pytest.mark.slow  # 16-26 s on the shared 2 cores (a Spark analysis plus the MLlib fits)
def test_mllib_logistic_on_local_spark_equals_statsmodels(spark_local: Any, planted: dict[str, str],
                                                          logit_reference: dict[str, Any]) -> None:
    doc = analyze(planted["binary-csv"], "spark", {"spark_config": {"spark.master": "local[2]"}},
                  sample_size=LOGIT_SAMPLE["spark"])
    got = logistic(doc)
    _check_rows(doc, got, doc["data"]["rows_holdout"])
    assert_same_logit(got, logit_reference, "spark local[2]")
    # the sizes come from that fit: changes in predicted probability, intervals from its covariance
    for h in doc["hypotheses"]:
        if h["confirmed"]:
            for size in h["sizes"].values():
                assert size["model"] == "logistic"
                for row in size.get("changes") or size.get("levels"):
                    assert row["ci_low"] < row["change"] < row["ci_high"] and row["std_error"] > 0


def test_mllib_logistic_on_the_standalone_cluster_equals_statsmodels(standalone_results: dict[str, Any],
                                                                     planted: dict[str, str],
                                                                     logit_reference: dict[str, Any]) -> None:
    result = standalone_results["results"][planted["binary-csv"]]
    got = result["logistic"]
    held_out = next(iter(got.values()))["logistic"]["held_out_rows"]
    _check_rows(result, got, held_out)
    assert_same_logit(got, logit_reference, "spark standalone")


def test_the_pandas_fit_on_every_held_out_row_equals_statsmodels(planted: dict[str, str],
                                                                 logit_reference: dict[str, Any]) -> None:
    doc = analyze(planted["binary-csv"], "pandas", sample_size=LOGIT_SAMPLE["pandas"])
    got = logistic(doc)
    fits = [f["logistic"] for f in got.values()]
    assert all(f["all_held_out_rows"] and "Newton" in f["method"] for f in fits)
    assert_same_logit(got, logit_reference, "pandas, every held-out row")


def test_the_sample_fit_says_it_used_a_sample(planted: dict[str, str]) -> None:
    doc = analyze(planted["binary-csv"], "pandas", sample_size=LOGIT_SAMPLE["spark"])
    held_out = doc["data"]["rows_holdout"]
    fits = [h["logistic"] for h in doc["hypotheses"] if h["confirmed"]]
    assert fits and all(f["rows"] == LOGIT_SAMPLE["spark"] and not f["all_held_out_rows"] for f in fits)
    assert all("Newton" in f["method"] for f in fits)
    assert any(f"a sample of {LOGIT_SAMPLE['spark']:,} of the {held_out:,} held-out rows" in n for n in doc["notes"])
