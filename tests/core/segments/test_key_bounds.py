"""Each batch hands over only its share of the rows kept for segments: the rows whose key lies
below a bound set from the estimated row count. The merge then keeps exactly the rows it would
have kept from every row, however the data is cut into batches."""

from __future__ import annotations

import numpy as np
import pytest

from greta_core.plan.design import smallest
from greta_core.segments.collect import key_bounds


@pytest.mark.parametrize("estimate_factor", [0.8, 1.0, 1.3])
def test_bounded_batches_keep_the_same_rows_as_the_whole(estimate_factor: float) -> None:
    rng = np.random.default_rng(0)
    n, size = 400_000, 20_000
    keys = rng.random(n)
    d_bound, h_bound = key_bounds(int(n * estimate_factor), size, size, 0.5)
    assert 0 < d_bound < 1 and d_bound == h_bound
    want, _ = smallest(keys, size)
    handed = [b[b < d_bound] for b in np.array_split(keys, 37)]
    assert sum(len(h) for h in handed) < 0.25 * n  # far fewer than every row
    got, _ = smallest(np.concatenate(handed), size)
    np.testing.assert_array_equal(np.sort(got), np.sort(want))


def test_small_or_unknown_data_keeps_every_row() -> None:
    assert key_bounds(None, 50_000, 1_000_000, 0.5) == (1.0, 1.0)
    assert key_bounds(0, 50_000, 1_000_000, 0.5) == (1.0, 1.0)
    assert key_bounds(60_000, 50_000, 1_000_000, 0.5) == (1.0, 1.0)  # both splits fit whole
