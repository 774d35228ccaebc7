"""Tests of greta_core.plan.design: split by row hash, missing values, unseen levels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from greta_core.plan.design import DesignBuilder, canonical_features, canonical_frame, split_keys
from greta_core.plan.schema import OTHER_LEVEL, ColumnInfo, TargetInfo, infer_column, infer_target
from greta_core.plan.terms import Plan, build_plan

SEED = 11


def _data(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n))
    cat = rng.choice(["a", "b", "c", "rare"], n, p=[0.5, 0.3, 0.198, 0.002]).astype(object)
    cat[rng.random(n) < 0.05] = None
    flag = rng.choice(["true", "false"], n)
    y = x1 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "cat": cat, "flag": flag, "y": y})


def _plan(df: pd.DataFrame, target: str = "y") -> Plan:
    cols = [infer_column(c, df[c], 20, 0.005) for c in df.columns if c != target]
    assert all(isinstance(c, ColumnInfo) for c in cols), cols
    return build_plan(infer_target(df, target), cols, [])  # type: ignore[arg-type]


def _holdout(plan: Plan, df: pd.DataFrame, seed: int = SEED, fraction: float = 0.5) -> np.ndarray:
    """Which rows DesignBuilder puts in the holdout split (rows all have a target value)."""
    b = DesignBuilder(plan, seed, fraction).batch(df, plan.main_terms)
    u1, _ = split_keys(canonical_features(plan, df), seed)
    hold = u1 < fraction
    assert len(df) - b.n_discovery == hold.sum()
    return hold


def test_split_does_not_depend_on_row_order() -> None:
    df = _data()
    plan = _plan(df)
    base = _holdout(plan, df)
    perm = np.random.default_rng(1).permutation(len(df))
    shuffled = _holdout(plan, df.iloc[perm].reset_index(drop=True))
    np.testing.assert_array_equal(shuffled, base[perm])


@pytest.mark.parametrize("cuts", [[1], [7, 500, 1999], list(range(100, 2000, 100)), [1000]])
def test_split_does_not_depend_on_batch_boundaries(cuts: list[int]) -> None:
    df = _data()
    plan = _plan(df)
    base = _holdout(plan, df)
    parts = [_holdout(plan, df.iloc[a:b].reset_index(drop=True))
             for a, b in zip([0, *cuts], [*cuts, len(df)])]
    np.testing.assert_array_equal(np.concatenate(parts), base)


def test_split_does_not_depend_on_how_a_backend_typed_the_columns() -> None:
    """A streamed CSV batch types columns by the plan (numbers as float64, the rest as text);
    a sample may have inferred other types. The same row must land in the same split."""
    df = _data()
    df["y01"] = (df["y"] > 0).astype(int)
    df = df.drop(columns="y")
    plan = _plan(df, "y01")
    base = _holdout(plan, df)
    typed = df.copy()
    typed["y01"] = typed["y01"].map({0: "0.0", 1: "1.0"}).astype(object)  # text target
    typed["x1"] = typed["x1"].astype(object)
    np.testing.assert_array_equal(_holdout(plan, typed), base)
    typed["flag"] = typed["flag"].map({"true": True, "false": False})  # booleans, not text
    np.testing.assert_array_equal(_holdout(plan, typed), base)


def test_split_does_not_depend_on_the_target() -> None:
    """Were the target hashed, identical feature rows with different targets would be split by
    their target, tying target to features within each split: "findings" on pure noise."""
    df = _data()
    plan = _plan(df)
    base = _holdout(plan, df)
    other = df.assign(y=np.random.default_rng(5).normal(size=len(df)))
    np.testing.assert_array_equal(_holdout(plan, other), base)


def test_pure_noise_on_few_distinct_rows_stays_noise_in_each_split() -> None:
    """Low-cardinality features, a 0/1 target independent of them: within each split, the
    target rate must not depend on the features."""
    rng = np.random.default_rng(0)
    n = 6000
    df = pd.DataFrame({"a": rng.choice(["p", "q", "r"], n), "b": rng.choice(["u", "v", "w", "z"], n),
                       "y": rng.integers(0, 2, n)})
    plan = _plan(df, "y")
    hold = _holdout(plan, df)
    for part in (df[hold], df[~hold]):
        rates = part.groupby(["a", "b"])["y"].agg(["mean", "size"])
        z = (rates["mean"] - 0.5) / np.sqrt(0.25 / rates["size"])
        assert np.abs(z).max() < 4.5, rates


def test_split_depends_on_the_seed() -> None:
    df = _data()
    plan = _plan(df)
    a, b = _holdout(plan, df, seed=1), _holdout(plan, df, seed=2)
    assert 0.4 < np.mean(a != b) < 0.6
    np.testing.assert_array_equal(a, _holdout(plan, df, seed=1))


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.8])
def test_holdout_fraction_is_as_requested(fraction: float) -> None:
    df = _data(n=20000, seed=3)
    plan = _plan(df)
    b = DesignBuilder(plan, SEED, fraction).batch(df, plan.main_terms)
    n_hold = len(df) - b.n_discovery
    assert abs(n_hold / len(df) - fraction) < 0.015  # binomial sd ≤ 0.0036
    np.testing.assert_array_equal(n_hold, _holdout(plan, df, fraction=fraction).sum())


def test_batch_puts_discovery_rows_first_and_the_target_last() -> None:
    df = _data(n=500)
    plan = _plan(df)
    builder = DesignBuilder(plan, SEED, 0.5)
    b = builder.batch(df, plan.main_terms)
    hold = _holdout(plan, df)
    x1 = b.xy[:, 0]
    np.testing.assert_array_equal(x1[: b.n_discovery], df["x1"].to_numpy()[~hold])
    np.testing.assert_array_equal(x1[b.n_discovery :], df["x1"].to_numpy()[hold])
    np.testing.assert_array_equal(b.xy[: b.n_discovery, -1], df["y"].to_numpy()[~hold])
    assert b.rows_read == len(df) and b.rows_bad_target == 0


def test_rows_without_a_target_value_are_left_out() -> None:
    df = _data(n=500)
    plan = _plan(df)
    df.loc[[3, 10, 99], "y"] = np.nan
    b = DesignBuilder(plan, SEED, 0.5).batch(df, plan.main_terms)
    assert b.rows_bad_target == 3 and len(b.xy) == 497
    assert np.isfinite(b.xy).all()


def _term(plan: Plan, name: str):
    return next(t for t in plan.terms if t.name == name)


def test_missing_value_becomes_zero_plus_indicator() -> None:
    df = _data(n=500)
    plan = _plan(df)
    term = _term(plan, "x2")
    assert term.labels == ("x2", "x2:missing")
    builder = DesignBuilder(plan, SEED, 0.5)
    x = builder.matrix(canonical_frame(plan, df), [term])
    miss = df["x2"].isna().to_numpy()
    assert miss.sum() > 20
    np.testing.assert_array_equal(x[:, 1], miss.astype(float))
    np.testing.assert_array_equal(x[miss, 0], 0.0)
    np.testing.assert_array_equal(x[~miss, 0], df["x2"].to_numpy()[~miss])
    # engineered terms see the same zero where the value is missing
    sq = builder.matrix(canonical_frame(plan, df), [_term(plan, "x2^2"), _term(plan, "x1*x2")])
    np.testing.assert_array_equal(sq[miss], 0.0)


def test_column_without_missing_values_has_no_indicator() -> None:
    plan = _plan(_data(n=500))
    assert _term(plan, "x1").labels == ("x1",)


def _dummies(plan: Plan, values: list[object]) -> tuple[tuple[str, ...], np.ndarray]:
    term = _term(plan, "cat")
    frame = pd.DataFrame({"x1": 0.0, "x2": 0.0, "cat": pd.Series(values, dtype=object),
                          "flag": "true", "y": 0.0})
    x = DesignBuilder(plan, SEED, 0.5).matrix(canonical_frame(plan, frame), [term])
    return term.levels, x


def test_unseen_and_pooled_levels_go_to_other() -> None:
    plan = _plan(_data())
    cat = plan.column("cat")
    assert cat.levels[0] == "a" and OTHER_LEVEL in cat.levels
    levels, x = _dummies(plan, ["a", "b", "rare", "never-seen", None, "c"])
    other = levels.index(OTHER_LEVEL)
    assert x[0].sum() == 0  # the reference level: all dummies 0
    assert x[1, levels.index("b")] == 1 and x[1].sum() == 1
    assert x[2, other] == 1 and x[2].sum() == 1  # a pooled rare level
    assert x[3, other] == 1 and x[3].sum() == 1  # a level the sample never saw
    assert x[4, levels.index("(missing)")] == 1 and x[4].sum() == 1
    assert x[5, levels.index("c")] == 1


def test_unseen_level_without_pooled_levels_is_not_the_reference() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x1": rng.normal(size=300), "cat": rng.choice(["a", "b", "c"], 300),
                       "y": rng.normal(size=300)})
    plan = build_plan(infer_target(df, "y"), [infer_column(c, df[c], 20, 0.005) for c in ("x1", "cat")], [])
    term = _term(plan, "cat")
    frame = pd.DataFrame({"x1": [0.0], "cat": ["new-level"], "y": [0.0]})
    x = DesignBuilder(plan, SEED, 0.5).matrix(canonical_frame(plan, frame), [term])
    assert x.sum() == 1


def test_binary_target_columns() -> None:
    df = _data(n=400)
    df["won"] = np.where(df["y"] > 0, "yes", "no")
    df = df.drop(columns="y")
    plan = _plan(df, "won")
    assert isinstance(plan.target, TargetInfo) and plan.target.classes == ("no", "yes")
    b = DesignBuilder(plan, SEED, 0.5).batch(df, plan.main_terms)
    assert set(np.unique(b.xy[:, -1])) == {0.0, 1.0}
    assert b.xy[:, -1].sum() == (df["won"] == "yes").sum()


@pytest.mark.parametrize(("labels", "classes"), [(("0.0", "1.0"), ["0", "1"]),
                                                 (("false", "true"), ["False", "True"])])
def test_binary_target_written_as_text_is_read_the_same_in_every_pass(
        tmp_path, labels: tuple[str, str], classes: list[str]) -> None:
    """The sample infers 1.0 (or True) while the streamed pass reads the text "1.0" (or
    "true"): both must name the same class, or every row is dropped as having no target."""
    from greta_core.ingestion.readers import FileSpec
    from greta_core.params import AnalysisParams
    from greta_core.pipeline import analyze

    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    y = np.where(x + rng.normal(size=600) > 0, labels[1], labels[0])
    path = tmp_path / "d.csv"
    pd.DataFrame({"x": x, "z": rng.normal(size=600), "y": y}).to_csv(path, index=False)
    doc = analyze(FileSpec(str(path)), AnalysisParams(target="y", pop_size=20, num_generations=5))
    assert doc["task"] == "binary" and doc["target_info"]["classes"] == classes
    assert doc["data"]["rows_used"] == 600
    assert doc["hypotheses"][0]["confirmed"] and doc["hypotheses"][0]["features"] == ["x"]


def test_the_seed_moves_the_split_of_all_numeric_data() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"a": rng.normal(size=1000), "b": rng.integers(0, 5, 1000).astype(float),
                       "y": rng.normal(size=1000)})
    plan = _plan(df)
    splits = {tuple(np.flatnonzero(_holdout(plan, df, seed))) for seed in range(4)}
    assert len(splits) == 4
    assert np.array_equal(_holdout(plan, df, 2), _holdout(plan, df, 2))


def test_squares_and_products_are_formed_from_centred_values() -> None:
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"a": 1e9 + rng.normal(size=500), "b": 2020 + rng.random(500), "y": rng.normal(size=500)})
    cols = [infer_column(c, df[c], 20, 0.005) for c in ("a", "b")]
    plan = build_plan(infer_target(df, "y"), cols, [], centres={"a": 1e9, "b": 2020.5})  # type: ignore[arg-type]
    terms = {t.name: t for t in plan.terms}
    x = DesignBuilder(plan, SEED, 0.5).matrix(canonical_frame(plan, df), [terms["a"], terms["a^2"], terms["a*b"]])
    a, b = df["a"].to_numpy() - 1e9, df["b"].to_numpy() - 2020.5
    np.testing.assert_allclose(x[:, 0], a, rtol=1e-6)
    np.testing.assert_allclose(x[:, 1], a**2, rtol=1e-5)
    np.testing.assert_allclose(x[:, 2], a * b, rtol=1e-5)


def _mixed(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Many numeric columns (ints, floats with NaN and ±inf), with text, boolean and date ones
    among them, as a wide file has."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(40):
        v = rng.normal(size=n) * 10.0 ** (i % 7)
        v[rng.random(n) < 0.05] = np.nan
        if i % 9 == 0:
            v[rng.random(n) < 0.01] = np.inf
        data[f"f{i}"] = v
    data["i0"] = rng.integers(0, 50, n)
    data["cat"] = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    data["flag"] = rng.choice(["yes", "no"], n)
    data["when"] = pd.Series(pd.date_range("2020-01-01", periods=n, freq="D")).astype(str).to_numpy()
    data["f40"] = rng.normal(size=n)
    data["late"] = np.where((np.arange(n) >= 300) & (rng.random(n) < 0.2), np.nan, rng.normal(size=n))
    data["y"] = rng.normal(size=n)
    return pd.DataFrame(data)


def test_many_numeric_columns_are_converted_together_as_one_by_one() -> None:
    """The block conversion of canonical_features, the centred values of matrix() and the
    late-missing counts equal the column-by-column definitions."""
    from greta_core.plan.schema import canonical

    df = _mixed()
    plan = _plan(df.iloc[:300])  # the planning rows: later rows bring missing values unseen
    frame = canonical_features(plan, df)
    assert list(frame.columns) == [c.name for c in plan.columns]
    for c in plan.columns:
        one = canonical(df[c.name], c.kind).to_numpy()
        assert frame[c.name].dtype == one.dtype, c.name
        np.testing.assert_array_equal(frame[c.name].to_numpy(), one, err_msg=c.name)
    assert split_keys(frame, SEED)[0].tolist() == split_keys(pd.DataFrame(
        {c.name: canonical(df[c.name], c.kind) for c in plan.columns}), SEED)[0].tolist()
    builder = DesignBuilder(plan, SEED, 0.5)
    numeric = [t for t in plan.terms if t.kind != "categorical"][:60]
    together = builder.matrix(frame, numeric)
    one_by_one = np.column_stack([builder.matrix(frame, [t]) for t in numeric])
    np.testing.assert_array_equal(together, one_by_one)
    late = builder.late_missing(frame)
    assert late[[c.name for c in plan.columns].index("late")] > 0
    for i, c in enumerate(plan.columns):
        want = int(frame[c.name].isna().sum()) if c.kind != "categorical" and not c.has_missing else 0
        assert late[i] == want, c.name
