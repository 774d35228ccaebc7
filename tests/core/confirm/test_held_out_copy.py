"""The statistics pass keeps a local copy of the held-out rows on the local backend, and the
held-out pass of the exact robust variance reads that copy instead of the source: the same
numbers, to the last bit, as reading the source again; the copy's private folder is gone when
the run ends, also after an error; over its disk budget the source is read again."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from engines import need

from greta_core.backends import open_backend
from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import _filtered, analyze, holdout_meats, local_batches, make_plan, statistics_pass
from greta_core.plan.row_filter import parse_optional
from greta_core.stats import local_copy
from greta_core.stats.centring import recentre
from greta_core.stats.local_copy import PREFIX, RowsCopy, leaves

TERMS = ["s1", "x1", "g", "s1^2", "s1*x1"]


def _data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s1 = rng.lognormal(0.0, 1.0, n)
    x1 = rng.normal(size=n)
    df = pd.DataFrame({"s1": s1.round(6), "x1": x1.round(6), "g": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
                       "noise": rng.normal(size=n).round(6)})
    df.loc[rng.random(n) < 0.05, "x1"] = np.nan
    df["y"] = 0.2 * s1 + 0.3 * np.nan_to_num(x1) + s1 * rng.normal(size=n)
    return df


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("copy") / "data.csv"
    _data(50_000).to_csv(path, index=False)  # a few byte ranges, parsed side by side, of many batches
    return str(path)


def _meats(path: str, copy: RowsCopy | None, row_filter: str | None = None, backend: str = "pandas",
           **kw: Any) -> tuple[list[np.ndarray], dict[str, Any], int]:
    params = AnalysisParams(target="y", seed=0, sample_size=500, sample_rows=2000, row_filter=row_filter, **kw)
    options = {"dask_config": {}, "blocksize": 256 << 10} if backend == "dask" else {}  # threads, this process
    b = open_backend(backend, FileSpec(path, batch_rows=1500), None, options)
    assert local_batches(b)
    plan = make_plan(_filtered(b.sample(params.sample_rows), parse_optional(params.row_filter)), b.columns(), params)
    summary, layout, notes = statistics_pass(b, plan, params, lambda *a: None, None, None, None, copy)
    files = len(leaves(summary.copy_files))
    summary, delta = recentre(summary, layout, plan.target.width)
    h = tuple(i for i, term in enumerate(layout.terms) if term.name in TERMS)
    hypotheses = [h, h[:2]]
    everything = summary.discovery.merge(summary.holdout)
    main = tuple(i for i, term in enumerate(layout.terms) if term.kind in ("numeric", "categorical"))
    meats, fixed, info = holdout_meats(b, plan, layout, summary, delta, hypotheses, params, None, lambda *a: None,
                                       None, notes, None, copy, everything, [main])
    assert meats is not None and info["rows"] == summary.holdout.n
    assert fixed is not None and fixed[1] == everything.n  # the fixed model: over every row
    return [m for m, _ in meats] + list(fixed[0]), info, files


@pytest.mark.parametrize("options", [{}, {"row_filter": "s1 < 8"}, {"max_design_columns": 6}, {"backend": "dask"}],
                         ids=["plain", "row filter", "screened", "dask threads"])
def test_the_local_copy_gives_the_numbers_of_a_second_read(csv: str, tmp_path: Path, options: dict[str, Any]) -> None:
    if options.get("backend") == "dask":
        need("dask", "dask")
    read, info, files = _meats(csv, None, **options)
    assert info["source"] == "second pass" and files == 0
    copy = RowsCopy(root=str(tmp_path))
    assert stat.S_IMODE(os.stat(copy.dir).st_mode) == 0o700
    with copy:
        got, info, files = _meats(csv, copy, **options)
    assert info["source"] == "local copy of the rows"
    assert files > 5  # one file per batch, added in the order the batches' sums merge
    assert all(np.array_equal(a, b) for a, b in zip(got, read))
    assert not os.path.exists(copy.dir)


def test_over_its_disk_budget_the_source_is_read_again(csv: str, tmp_path: Path) -> None:
    read, _, _ = _meats(csv, None)
    with RowsCopy(budget=200_000, root=str(tmp_path)) as copy:
        got, info, _ = _meats(csv, copy)
        assert os.listdir(copy.dir) == []  # the incomplete copy is not kept
    assert info["source"].startswith("second pass (a local copy of the rows would have used more")
    assert all(np.array_equal(a, b) for a, b in zip(got, read))


def _late_missing(n: int = 30_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    m, x2, s1 = rng.normal(size=n), rng.normal(size=n), rng.lognormal(0.0, 1.0, n)
    y = 0.5 * m + 0.3 * x2 + s1 * rng.normal(size=n)
    gone = (np.arange(n) >= 5000) & (rng.random(n) < 0.2)  # missing values after the planning rows
    return pd.DataFrame({"m": np.where(gone, np.nan, m).round(6), "x2": x2.round(6), "s1": s1.round(6),
                         "y": y.round(6)})


def _run(path: str, **kw: Any) -> dict[str, Any]:
    params = AnalysisParams(target="y", seed=0, sample_size=300, sample_rows=2000, num_generations=3, pop_size=20)
    return analyze(FileSpec(path, batch_rows=4000), params, **kw)


def _copies(root: Path) -> list[str]:
    return [p for p in os.listdir(root) if p.startswith(PREFIX)]


def test_a_run_reads_its_copy_once_and_removes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The statistics pass runs twice (missing values appear after the planning rows): the copy
    of the first is discarded, the second's gives the numbers of a second read."""
    path = tmp_path / "late.csv"
    _late_missing().to_csv(path, index=False)
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    seen: list[int] = []

    def progress(stage: str, fraction: float, info: dict[str, Any]) -> None:
        if stage == "search" and not seen:
            [d] = _copies(root)
            seen.append(sum(len(RowsCopy.read(str(f), [])) for f in (root / d).iterdir()))

    doc = _run(str(path), progress=progress)
    assert any("missing values appeared only after" in n for n in doc["notes"])
    assert doc["metrics"]["robust_variance"]["source"] == "local copy of the rows"
    assert seen == [doc["data"]["rows_discovery"] + doc["data"]["rows_holdout"]]  # the rows of the last pass, once
    assert doc["metrics"]["all_rows"]["source"] == "local copy of the rows"  # the columns tested on every row
    assert _copies(root) == []
    monkeypatch.setattr(local_copy, "MARGIN", 1 << 62)  # no room for a copy: the source is read again
    again = _run(str(path))
    assert again["metrics"]["robust_variance"]["source"].startswith("second pass (a local copy")
    assert _copies(root) == []
    assert doc["all_rows"] == again["all_rows"]  # the same tests on every row from either
    assert doc["hypotheses"] and len(doc["hypotheses"]) == len(again["hypotheses"])
    for a, b in zip(doc["hypotheses"], again["hypotheses"]):
        assert a["terms"] == b["terms"] and a["holdout"] == b["holdout"]


def test_the_copy_is_removed_after_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "late.csv"
    _late_missing().to_csv(path, index=False)
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    seen: list[int] = []

    def progress(stage: str, fraction: float, info: dict[str, Any]) -> None:
        if stage == "search":
            [d] = _copies(root)
            seen.append(len(os.listdir(root / d)))
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        _run(str(path), progress=progress)
    assert seen and seen[0] > 0
    assert _copies(root) == []
