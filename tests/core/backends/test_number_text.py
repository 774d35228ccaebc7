"""Numbers written as text (decimal commas, thousands separators) are parsed per batch by the
one shared parser, so the pandas and Dask backends hand the statistics the same numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engines import need

from greta_core.ingestion.readers import FileSpec


@dataclass
class Collected:
    """What a pass saw: the canonical columns of each batch, merged in the order of the rows."""

    frames: list[pd.DataFrame] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(len(f) for f in self.frames)

    def merge(self, other: Collected) -> Collected:
        return Collected(self.frames + other.frames)


def _spreadsheet(path: Path) -> dict[str, np.ndarray]:
    """';' between fields, decimal commas; x1 grouped by dots, x2 by narrow no-break spaces,
    x3 by no-break spaces; y with plain decimal commas. Returns the true values."""
    rng = np.random.default_rng(11)
    n = 3000
    truth = {"x1": np.round(rng.normal(5000, 2000, n), 2), "x2": np.round(rng.normal(0, 1e6, n), 2),
             "x3": np.round(rng.normal(20000, 900, n), 3), "y": np.round(rng.normal(size=n), 4)}

    def fmt(values: np.ndarray, group: str, digits: int) -> list[str]:
        return [("-" if v < 0 else "") + f"{abs(v):,.{digits}f}".replace(",", "\0").replace(".", ",")
                .replace("\0", group) for v in values]

    pd.DataFrame({"x1": fmt(truth["x1"], ".", 2), "x2": fmt(truth["x2"], "\u202f", 2),
                  "x3": fmt(truth["x3"], "\u00a0", 3), "y": fmt(truth["y"], "", 4)}).to_csv(path, sep=";", index=False)
    return truth


@pytest.mark.parametrize("backend", ["pandas", "dask"])
@pytest.mark.parametrize("told", [None, ","])
def test_grouped_decimal_comma_numbers_equal_the_truth(tmp_path: Path, backend: str, told: str | None) -> None:
    if backend == "dask":
        need("dask", "dask")
    from greta_core.backends import open_backend
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import make_plan
    from greta_core.plan.design import canonical_frame

    truth = _spreadsheet(tmp_path / "data.csv")
    # small batches and partitions: many batches, each parsed on its own
    spec = FileSpec(str(tmp_path / "data.csv"), decimal=told, batch_rows=500)
    options = {"dask_config": {}, "blocksize": 32 << 10} if backend == "dask" else None
    b = open_backend(backend, spec, options=options)
    assert b.decimal == ","
    params = AnalysisParams(target="y")
    plan = make_plan(b.sample(1000), b.columns(), params, b.decimal)
    assert not plan.dropped, plan.dropped
    assert [(c.name, c.kind) for c in plan.columns] == [("x1", "numeric"), ("x2", "numeric"), ("x3", "numeric")]
    kinds = {c.name: "text" if c.text else c.kind for c in plan.columns}
    kinds["y"] = "numeric"
    seen = b.reduce(lambda df: Collected([canonical_frame(plan, df)]), Collected(), ["x1", "x2", "x3", "y"], kinds)
    if backend == "dask":
        assert b.partitions > 1
        b.close()
    got = pd.concat(seen.frames, ignore_index=True)
    assert len(got) == 3000
    for name, values in truth.items():
        np.testing.assert_allclose(got[name].to_numpy(), values, rtol=0, atol=1e-9, err_msg=name)
