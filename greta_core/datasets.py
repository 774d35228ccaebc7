"""Planted-signal data sets with a known truth, for trying Greta, tests and benchmarks.

``planted(rows, kind, seed)`` returns columns x0..x{features-1} (standard normal, 2% missing
in x2), cat_a (5 levels), cat_b (50 levels) and a target y:

- regression: y = 2·x1 − 1.5·x3 + 1.0·x5·x7 + 0.8·[cat_a = c2] + noise(sd 2)
- binary: P(y = 1) = sigmoid(1.2·x1 − 1.0·x3 + 0.8·x5·x7 + 0.6·[cat_a = c2] − 0.2)
- multiclass: y ∈ {a, b, c} with logits (0, 1.2·x1 + 0.8·x5·x7, −1.0·x3 + 0.8·[cat_a = c2])
- null: y is noise, independent of everything.

Greta should confirm exactly x1, x3, x5·x7 and cat_a (nothing on null data).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

TRUTH = ("x1", "x3", "x5", "x7", "cat_a")
KINDS = ("regression", "binary", "multiclass", "null")


def planted_chunks(rows: int, kind: str = "regression", seed: int = 0, features: int = 20,
                   chunk: int = 500_000) -> Iterator[pd.DataFrame]:
    """The planted table in chunks of at most ``chunk`` rows (for files larger than memory)."""
    if kind not in KINDS:
        msg = f"Unknown kind {kind!r}. Allowed: {', '.join(KINDS)}."
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    cats_a = np.array([f"c{i}" for i in range(5)])
    cats_b = np.array([f"b{i:02d}" for i in range(50)])
    left = rows
    while left > 0:
        n = min(left, chunk)
        left -= n
        x = rng.standard_normal((n, features))
        ca, cb = rng.integers(0, 5, n), rng.integers(0, 50, n)
        df = pd.DataFrame(np.round(x, 5), columns=[f"x{i}" for i in range(features)])
        df["cat_a"], df["cat_b"] = cats_a[ca], cats_b[cb]
        df["y"] = _target(rng, kind, x, ca, n)
        if features > 2:
            df.loc[rng.random(n) < 0.02, "x2"] = np.nan
        yield df


def _target(rng: np.random.Generator, kind: str, x: np.ndarray, ca: np.ndarray, n: int) -> np.ndarray:
    c2 = (ca == 2).astype(float)
    if kind == "regression":
        return np.round(2 * x[:, 1] - 1.5 * x[:, 3] + x[:, 5] * x[:, 7] + 0.8 * c2 + rng.normal(0, 2, n), 5)
    if kind == "binary":
        eta = 1.2 * x[:, 1] - 1.0 * x[:, 3] + 0.8 * x[:, 5] * x[:, 7] + 0.6 * c2 - 0.2
        return (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    if kind == "multiclass":
        logits = np.column_stack([np.zeros(n), 1.2 * x[:, 1] + 0.8 * x[:, 5] * x[:, 7], -1.0 * x[:, 3] + 0.8 * c2])
        g = logits + rng.gumbel(size=logits.shape)
        return np.array(["a", "b", "c"])[g.argmax(axis=1)]
    return np.round(rng.normal(0, 2, n), 5)


def planted(rows: int, kind: str = "regression", seed: int = 0, features: int = 20) -> pd.DataFrame:
    """The whole planted table in memory."""
    return pd.concat(list(planted_chunks(rows, kind, seed, features)), ignore_index=True)


def write_planted_csv(path: str, rows: int, kind: str = "regression", seed: int = 0, features: int = 20) -> str:
    """Write the planted table to a CSV file chunk by chunk; returns ``path``."""
    for i, df in enumerate(planted_chunks(rows, kind, seed, features)):
        df.to_csv(path, mode="w" if i == 0 else "a", header=i == 0, index=False)
    return path


SEGMENT_TRUTH = {"plan": "gold", "usage_max": 2.0, "tenure_min": 3.0, "rate_inside": 0.65, "rate_outside": 0.20}


def planted_segment(rows: int = 40_000, seed: int = 0, null: bool = False) -> pd.DataFrame:
    """A yes/no target ``churned`` with one planted segment of about 5% of rows (``SEGMENT_TRUTH``):
    plan = "gold" (a quarter of rows), usage <= 2.0 (its 40th percentile) and tenure > 3.0 (its
    50th percentile) churn at 65%, everyone else at 20%. region, channel and score are noise;
    with ``null`` the target is noise too (20% everywhere)."""
    rng = np.random.default_rng(seed)
    t = SEGMENT_TRUTH
    plan = rng.choice(["bronze", "silver", "gold", "platinum"], rows)
    usage = np.round(rng.uniform(0, 5, rows), 3)
    tenure = np.round(rng.uniform(0, 6, rows), 3)
    inside = (plan == t["plan"]) & (usage <= t["usage_max"]) & (tenure > t["tenure_min"])
    rate = np.where(inside & (not null), t["rate_inside"], t["rate_outside"])
    return pd.DataFrame({
        "plan": plan, "usage": usage, "tenure": tenure,
        "region": rng.choice(["north", "south", "east", "west", "centre"], rows),
        "channel": rng.choice(["web", "phone", "store"], rows),
        "score": np.round(rng.normal(50, 10, rows), 2),
        "age": rng.integers(18, 80, rows),
        "churned": np.where(rng.random(rows) < rate, "yes", "no"),
    })
