"""Configurations of earlier releases: old key names translated with one notice each, keys with
no counterpart ignored with the reason, old and new names for one setting refused; numeric
bounds; data.path relative to the config file."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from greta_cli.config import GretaConfig, load_config
from greta_cli.config.legacy import DeprecatedConfigWarning, translate
from greta_core.errors import GretaWarning, InvalidConfigError

OLD = """
data:
  source: insurance2.csv
  type: csv
  target_column: insuranceclaim
  sheet_name: null
preprocessing:
  missing_strategy: mean
  outlier_method: iqr
  outlier_threshold: 1.5
  normalize_types: true
  feature_engineering: true
  encoding_method: auto
  max_cardinality: 20
  numeric_transforms: [polynomial, trigonometric, logarithmic]
  max_interactions: 5
  feature_selection: false
  selection_method: mutual_info
  max_features: 50
hypothesis_search:
  pop_size: 100
  num_generations: 50
  cx_prob: 0.7
  mut_prob: 0.2
output:
  format: json
  file: null
"""


def _write(folder: Path, text: str, name: str = "old.yml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(**kwargs: object) -> str:
    kwargs.setdefault("env", {})
    with pytest.raises(InvalidConfigError) as info:
        load_config(**kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    return message


def test_old_keys_map_to_the_current_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, OLD)
    notices: list[str] = []
    cfg = load_config("old.yml", env={}, notices=notices)
    assert cfg.data.path == "insurance2.csv" and cfg.data.format == "csv"
    assert cfg.data.target == "insuranceclaim" and cfg.data.sheet is None
    p = cfg.preprocessing
    assert (p.max_levels, p.interactions, p.squares, p.logs) == (20, True, True, True)
    h = cfg.hypothesis_search
    assert (h.pop_size, h.num_generations, h.cx_prob, h.mut_prob) == (100, 50, 0.7, 0.2)
    assert cfg.output.results is None and cfg.output.results_format == "json"
    # one line per old key, each naming the key and, for a renamed one, its new name
    assert len(notices) == 18 and len(set(notices)) == 18
    assert "'data.source' is deprecated: use 'data.path' (in old.yml)." in notices
    assert "'preprocessing.max_cardinality' is deprecated: use 'preprocessing.max_levels' " \
           "(in old.yml)." in notices
    assert "'output.file' is deprecated: use 'output.results' (in old.yml)." in notices
    assert "'preprocessing.missing_strategy' is ignored: Greta models missing values with " \
           "indicators (in old.yml)." in notices
    assert sum(" is ignored: " in n for n in notices) == 8
    trig = next(n for n in notices if "numeric_transforms" in n)
    assert "'preprocessing.squares', 'preprocessing.logs'" in trig and "trigonometric" in trig


def test_old_switches_turn_the_current_ones_off() -> None:
    raw = {"preprocessing": {"feature_engineering": True, "numeric_transforms": ["logarithmic"],
                             "max_interactions": 0}}
    done = translate(raw, "in x.yml")
    assert done.raw["preprocessing"] == {"interactions": False, "squares": False, "logs": True}
    off = translate({"preprocessing": {"feature_engineering": False,
                                       "numeric_transforms": ["polynomial", "logarithmic"]}})
    assert off.raw["preprocessing"] == {"interactions": False, "squares": False, "logs": False}
    assert raw["preprocessing"]["max_interactions"] == 0  # the input is left as it was


@pytest.mark.parametrize(("text", "old", "new"), [
    ("data:\n  source: a.csv\n  path: b.csv\n", "data.source", "data.path"),
    ("data:\n  target: y\n  target_column: y\n", "data.target_column", "data.target"),
    ("preprocessing:\n  max_levels: 5\n  max_cardinality: 9\n", "preprocessing.max_cardinality",
     "preprocessing.max_levels"),
    ("preprocessing:\n  squares: true\n  numeric_transforms: [polynomial]\n",
     "preprocessing.numeric_transforms", "preprocessing.squares"),
    ("output:\n  results: r.json\n  file: s.json\n", "output.file", "output.results"),
])
def test_old_and_new_names_for_one_setting_are_an_error(tmp_path: Path, text: str, old: str,
                                                        new: str) -> None:
    message = _error(path=_write(tmp_path, text))
    assert f"'{old}'" in message and f"keep only '{new}'" in message
    assert str(tmp_path / "old.yml") in message


def test_a_bad_value_under_an_old_name_names_the_old_key(tmp_path: Path) -> None:
    message = _error(path=_write(tmp_path, "preprocessing:\n  max_cardinality: 1\n"))
    assert "'preprocessing.max_levels' must be at least 2" in message
    assert "as preprocessing.max_cardinality in" in message and "got 1" in message
    message = _error(path=_write(tmp_path, "data:\n  type: sas7bdat\n"))
    assert "'data.format' must be one of 'auto', 'csv'" in message and "'sas7bdat'" in message


def test_without_a_notice_list_the_notices_are_warnings(tmp_path: Path) -> None:
    path = _write(tmp_path, "data:\n  target_column: y\n")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        cfg = load_config(path, env={})
    assert cfg.data.target == "y"
    assert [w.category for w in seen] == [DeprecatedConfigWarning]
    assert issubclass(DeprecatedConfigWarning, GretaWarning)
    assert "use 'data.target'" in str(seen[0].message) and "greta config migrate" in str(seen[0].message)


def test_settings_take_old_names_and_both_shapes() -> None:
    notices: list[str] = []
    cfg = load_config(None, env={}, notices=notices, settings={
        "hypothesis_search": {"pop_size": 30}, "hypothesis_search.seed": 4,
        "data.target_column": "y", "scalability.spark_config.spark.master": "local[1]"})
    assert cfg.hypothesis_search.pop_size == 30 and cfg.hypothesis_search.seed == 4
    assert cfg.data.target == "y" and cfg.scalability.spark_config == {"spark.master": "local[1]"}
    assert notices == ["'data.target_column' is deprecated: use 'data.target' (from --override)."]


def test_settings_are_checked_like_set(tmp_path: Path) -> None:
    message = _error(settings={"hypothesis_search": {"pop_sise": 30}})
    assert "Unknown configuration key 'hypothesis_search.pop_sise'" in message
    assert "Did you mean 'hypothesis_search.pop_size'" in message
    by_set = _error(overrides=["statistics.alpha=2"])
    by_settings = _error(settings={"statistics.alpha": 2}, settings_source="from the setting")
    assert by_settings == by_set.replace("from --set", "from the setting")


# ----------------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("override", [
    "hypothesis_search.pop_size=99999999999999999999", "hypothesis_search.seed=99999999999999999999",
    "preprocessing.batch_rows=10000000000", "statistics.max_hypotheses=1000000"])
def test_numeric_settings_have_upper_bounds(override: str) -> None:
    message = _error(overrides=[override])
    key = override.split("=")[0]
    assert f"'{key}' must be at least" in message and "and at most" in message
    assert f"(from --set {key})" in message


def test_defaults_are_within_the_bounds() -> None:
    assert load_config(env={}) == GretaConfig()


# ---------------------------------------------------------------------- data.path's folder
def test_data_path_is_relative_to_the_config_file(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project" / "data").mkdir(parents=True)
    cfg_file = _write(tmp_path / "project", "data:\n  path: data/x.csv\n", "greta.yml")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Path("project") / "greta.yml", env={})
    assert cfg.data.path == str(Path("project") / "data" / "x.csv")
    assert load_config(cfg_file, env={}).data.path == str(tmp_path / "project" / "data" / "x.csv")
    # a path given on the command line is the user's, from the current folder
    assert load_config(cfg_file, ["data.path=other.csv"], env={}).data.path == "other.csv"
    absolute = _write(tmp_path, f"data:\n  path: {tmp_path / 'abs.csv'}\n", "abs.yml")
    assert load_config(absolute, env={}).data.path == str(tmp_path / "abs.csv")


def test_the_bundled_example_config_finds_its_data(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` runs examples/churn.yml from the repository; it runs from anywhere."""
    example = Path(__file__).resolve().parents[3] / "examples" / "churn.yml"
    monkeypatch.chdir(tmp_path)
    assert Path(load_config(example, env={}).data.path).is_file()
