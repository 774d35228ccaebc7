"""A curve is claimed only where binned held-out means bend too; a step is a step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import greta
from greta_core.confirm.shape import curve_shape


def _xy(kind: str, seed: int, n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    f = {"step": 1.0 * (x > 1), "bend": 0.8 * np.maximum(x - 1, 0), "curve": 0.4 * (x - 0.5) ** 2,
         "line": 0.3 * x, "flat": 0 * x}[kind]
    return x, f + rng.normal(size=n)


@pytest.mark.parametrize("seed", range(3))
def test_a_step_is_a_jump_at_the_step(seed: int) -> None:
    x, y = _xy("step", seed)
    got = curve_shape(x, y, turn=-0.9)  # a parabola fitted to a step turns somewhere meaningless
    assert set(got) == {"jump"}
    assert got["jump"]["at"] == pytest.approx(1.0, abs=0.15)
    # the size of the jump against the plain means on each side of its edge
    at = got["jump"]["at"]
    assert got["jump"]["change"] == pytest.approx(y[x > at].mean() - y[x <= at].mean(), abs=0.15)
    assert got["jump"]["change"] == pytest.approx(1.0, abs=0.25)


@pytest.mark.parametrize("seed", range(3))
def test_a_bend_is_no_turning_point(seed: int) -> None:
    x, y = _xy("bend", seed)
    got = curve_shape(x, y, turn=0.2)
    assert "turns_at" not in got and "jump" not in got
    assert got["bend"]["at"] == pytest.approx(1.0, abs=0.3)
    assert (got["bend"]["direction_below"], got["bend"]["direction_above"]) == ("flat", "up")


@pytest.mark.parametrize("seed", range(3))
def test_a_real_curve_keeps_its_turning_point(seed: int) -> None:
    x, y = _xy("curve", seed)
    assert curve_shape(x, y, turn=0.5) == {"turns_at": 0.5}


@pytest.mark.parametrize("kind", ["line", "flat"])
def test_no_turn_is_claimed_where_the_means_do_not_turn(kind: str) -> None:
    x, y = _xy(kind, 0)
    assert curve_shape(x, y, turn=0.0) == {}


def test_too_few_rows_claim_nothing() -> None:
    x, y = _xy("curve", 0, n=60)
    assert curve_shape(x, y, turn=0.5) == {}


def _planted(kind: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 20_000
    x1, x2, x3 = rng.normal(size=(3, n))
    f = 1.0 * (x1 > 1) if kind == "step" else 0.4 * (x1 - 0.5) ** 2
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "y": f + 0.3 * x2 + rng.normal(size=n)})


def test_the_sentence_of_a_step_says_jump_and_of_a_curve_turns() -> None:
    step = greta.analyze(_planted("step", 0), target="y", seed=0).to_dict()
    x1 = next(c for c in step["columns"] if c["name"] == "x1")
    assert "x1^2" in x1["terms"]
    assert "turns near" not in x1["sentence"]
    assert "jump near x1 = 1.0" in x1["sentence"] or "jump near x1 = 0.9" in x1["sentence"]
    curve = greta.analyze(_planted("curve", 0), target="y", seed=0).to_dict()
    x1 = next(c for c in curve["columns"] if c["name"] == "x1")
    assert "the curve turns near x1 = 0.4" in x1["sentence"] or "the curve turns near x1 = 0.5" in x1["sentence"]
