"""Tests of greta_cli.config: defaults, loading, overrides, errors, redaction and rendering."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from greta_cli.config import (
    CeleryConfig,
    DaskConfig,
    GretaConfig,
    ScalabilityConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    redact_url,
    render_config_yaml,
)
from greta_core.errors import InvalidConfigError


def _error(**kwargs: object) -> str:
    """Run load_config expecting an InvalidConfigError; return its one-line message."""
    kwargs.setdefault("env", {})
    with pytest.raises(InvalidConfigError) as info:
        load_config(**kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and message.strip() == message
    assert isinstance(info.value, ValueError)
    return message


def _write(tmp_path: Path, text: str, name: str = "greta.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ defaults
def test_defaults_are_valid_and_documented() -> None:
    cfg = load_config(env={})
    assert cfg == GretaConfig()
    assert cfg.data.format == "auto" and cfg.data.exclude == []
    assert cfg.preprocessing.max_design_columns == 600
    assert cfg.hypothesis_search.mut_prob is None and cfg.hypothesis_search.max_terms == 5
    assert cfg.statistics.alpha == 0.05 and cfg.statistics.holdout_fraction == 0.5
    assert cfg.output.quiet is False
    sc = cfg.scalability
    assert isinstance(sc, ScalabilityConfig) and sc.enabled is False
    assert (sc.ingestion_backend, sc.distributed_backend) == ("pandas", "local")
    assert sc.dask_config == DaskConfig() and sc.spark_config == {}
    assert sc.celery_config == CeleryConfig(queue="greta", visibility_timeout=None)
    assert GretaConfig.model_validate(config_to_dict(cfg, redact=False)) == cfg


def test_scalability_config_has_exactly_the_specified_fields() -> None:
    assert list(ScalabilityConfig.model_fields) == [
        "enabled", "ingestion_backend", "distributed_backend", "async_processing",
        "dask_config", "spark_config", "celery_config"]
    assert list(DaskConfig.model_fields) == [
        "address", "n_workers", "threads_per_worker", "processes", "memory_limit", "blocksize"]
    assert list(CeleryConfig.model_fields) == [
        "broker_url", "result_backend", "queue", "visibility_timeout"]


def test_every_field_has_a_description() -> None:
    models = [GretaConfig]
    while models:
        model = models.pop()
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"
            if isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields"):
                models.append(field.annotation)


def test_import_is_light() -> None:
    code = ("import sys, greta_cli.config; "
            "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'dask', 'pyspark', 'celery') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------- YAML files
def test_yaml_file_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path, """
data:
  path: data/churn.csv
  target: 2020          # a column named "2020"
  sheet: 0
  delimiter: '\\t'
  columns: [age, 1999]
statistics:
  alpha: 0.01
preprocessing:            # every key commented out
scalability:
  spark_config:
    spark.master: local[2]
    spark.sql.shuffle.partitions: 8
""")
    cfg = load_config(path, env={})
    assert cfg.data.path == str(tmp_path / "data" / "churn.csv")  # relative to the file
    assert cfg.data.target == "2020" and cfg.data.columns == ["age", "1999"]
    assert cfg.data.sheet == 0 and isinstance(cfg.data.sheet, int)
    assert cfg.data.delimiter == "\t"
    assert cfg.statistics.alpha == 0.01
    assert cfg.preprocessing == GretaConfig().preprocessing
    assert cfg.scalability.spark_config == {"spark.master": "local[2]",
                                            "spark.sql.shuffle.partitions": 8}


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file_is_an_empty_config(tmp_path: Path, text: str) -> None:
    assert load_config(_write(tmp_path, text), env={}) == GretaConfig()


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    path = _write(tmp_path, """
statistics:
  <<: &base {alpha: 0.2, sample_size: 200}
  alpha: 0.3
data:
  columns: &cols [a, b]
  exclude: *cols
""")
    cfg = load_config(path, env={}, overrides=["data.columns=[c]"])
    assert (cfg.statistics.alpha, cfg.statistics.sample_size) == (0.3, 200)
    assert (cfg.data.columns, cfg.data.exclude) == (["c"], ["a", "b"])


def test_missing_file(tmp_path: Path) -> None:
    message = _error(path=tmp_path / "nope.yaml")
    assert "nope.yaml" in message and "does not exist" in message and "greta init" in message


def test_directory(tmp_path: Path) -> None:
    message = _error(path=tmp_path)
    assert str(tmp_path) in message and "is a directory" in message


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path, "statistics:\n  alpha: [0.1\n  beta: 2\n")
    message = _error(path=path)
    assert "greta.yaml" in message and "not valid YAML" in message and "line" in message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "statistics:\n  alpha: 0.1\nstatistics:\n  alpha: 0.2\n")
    message = _error(path=path)
    assert "duplicate key 'statistics'" in message and "line 3" in message


@pytest.mark.parametrize(("text", "shown"), [("- a\n- b\n", "['a', 'b']"),
                                             ("just text\n", "'just text'"), ("42\n", "42")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, shown: str) -> None:
    message = _error(path=_write(tmp_path, text))
    assert "greta.yaml" in message and "must hold a mapping" in message and shown in message


def test_python_tags_are_refused_and_nothing_runs(tmp_path: Path, capfd: pytest.CaptureFixture[str]
                                                  ) -> None:
    marker = tmp_path / "hacked"
    for text in ['!!python/object/apply:os.system ["echo hacked"]\n',
                 f'data:\n  path: !!python/object/apply:os.system ["touch {marker}"]\n',
                 'statistics: !!python/object/new:builtins.dict {}\n']:
        message = _error(path=_write(tmp_path, text))
        assert "greta.yaml" in message and "!!python/object" in message
        assert "not allowed" in message
    assert not marker.exists()
    assert "hacked" not in capfd.readouterr().out
    assert "not allowed" in _error(path=_write(tmp_path, "data: !custom {}\n"))


# ------------------------------------------------------------------------------ YAML round trip
def _rich_config() -> GretaConfig:
    cfg = GretaConfig()
    cfg.data.path = "data/ünïcode file.csv"
    cfg.data.target = "2020"
    cfg.data.format = "excel"
    cfg.data.sheet = 2
    cfg.data.delimiter = "\t"
    cfg.data.columns = ["a", "yes", "null", "x: y", "#tag"]
    cfg.data.exclude = ["id"]
    cfg.data.row_filter = "`my col` > 3 and country == 'NL'"
    cfg.preprocessing.logs = False
    cfg.preprocessing.min_level_fraction = 1e-05
    cfg.hypothesis_search.mut_prob = 0.125
    cfg.hypothesis_search.distributed_backend = "dask"
    cfg.statistics.alpha = 0.1
    cfg.output.report = "out/report.html"
    sc = cfg.scalability
    sc.enabled = True
    sc.dask_config.address = "tcp://127.0.0.1:8786"
    sc.dask_config.memory_limit = "4GiB"
    sc.spark_config = {"spark.master": "local[2]", "spark.ui.enabled": False,
                       "spark.sql.shuffle.partitions": 8, "spark.memory.fraction": 0.6}
    sc.celery_config.broker_url = "redis://:secret@127.0.0.1:6379/0"
    return cfg


@pytest.mark.parametrize("cfg", [GretaConfig(), _rich_config()], ids=["defaults", "rich"])
def test_render_round_trips(tmp_path: Path, cfg: GretaConfig,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    text = render_config_yaml(cfg, header="Greta configuration\n\nMade by a test")
    assert text.startswith("# Greta configuration\n#\n# Made by a test\n")
    monkeypatch.chdir(tmp_path)  # data.path is read relative to the file's folder
    _write(tmp_path, text)
    assert load_config("greta.yaml", env={}) == cfg


def test_render_comments_every_key_with_allowed_values() -> None:
    lines = render_config_yaml(GretaConfig()).splitlines()
    keys = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    for i in keys:  # every key line is preceded by a comment
        assert lines[i - 1].lstrip().startswith("#"), lines[i]
    text = "\n".join(lines)
    assert "alpha: 0.05" in text and "greater than 0 and less than 1" in text
    assert "one of 'local', 'multiprocessing', 'dask', 'spark', 'auto'" in text
    assert all(len(line) <= 100 for line in lines)


def test_render_can_redact() -> None:
    text = render_config_yaml(_rich_config(), redact=True)
    assert "secret" not in text and "redis://:***@127.0.0.1:6379/0" in text


# ------------------------------------------------------------------------------------ overrides
def test_set_overrides_are_typed_and_nested() -> None:
    cfg = load_config(env={}, overrides=[
        "hypothesis_search.pop_size=8",
        "statistics.alpha=0.1",
        "preprocessing.logs=false",
        "data.columns=[a, b]",
        "data.target=2020",
        "data.row_filter=`my col` > 3",
        "hypothesis_search.mut_prob=null",
        "scalability.dask_config.address=tcp://127.0.0.1:8786",
        "scalability.spark_config.spark.master=local[2]",
        "scalability.spark_config.spark.sql.shuffle.partitions=4",
        "scalability.celery_config.visibility_timeout=60",
    ])
    assert cfg.hypothesis_search.pop_size == 8
    assert cfg.statistics.alpha == 0.1
    assert cfg.preprocessing.logs is False
    assert cfg.data.columns == ["a", "b"]
    assert cfg.data.target == "2020" and cfg.data.row_filter == "`my col` > 3"
    assert cfg.scalability.dask_config.address == "tcp://127.0.0.1:8786"
    assert cfg.scalability.spark_config == {"spark.master": "local[2]",
                                            "spark.sql.shuffle.partitions": 4}
    assert cfg.scalability.celery_config.visibility_timeout == 60


def test_later_sources_win(tmp_path: Path) -> None:
    path = _write(tmp_path, "statistics:\n  alpha: 0.01\n  sample_size: 300\n")
    cfg = load_config(path, env={"GRETA__STATISTICS__ALPHA": "0.02"},
                      overrides=["statistics.alpha=0.03", "statistics.alpha=0.04"])
    assert (cfg.statistics.alpha, cfg.statistics.sample_size) == (0.04, 300)
    cfg = load_config(path, env={"GRETA__STATISTICS__ALPHA": "0.02"})
    assert cfg.statistics.alpha == 0.02


def test_whole_section_can_be_set() -> None:
    cfg = load_config(env={}, overrides=["statistics={alpha: 0.2}"])
    assert cfg.statistics.alpha == 0.2 and cfg.statistics.sample_size == 5000


@pytest.mark.parametrize("item", ["statistics.alpha", "=0.1", "statistics..alpha=1", ".alpha=1"])
def test_malformed_override(item: str) -> None:
    message = _error(overrides=[item])
    assert repr(item) in message and "section.key=value" in message


def test_override_below_a_value() -> None:
    message = _error(overrides=["statistics.alpha.x=1"])
    assert "'statistics.alpha.x'" in message and "not a section" in message


def test_override_into_a_non_mapping_from_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "statistics: 5\n")
    message = _error(path=path, overrides=["statistics.alpha=0.1"])
    assert "'statistics'" in message and "got 5" in message and "--set statistics.alpha" in message


# ---------------------------------------------------------------------------------- environment
def test_environment_overrides() -> None:
    env = {
        "GRETA_BROKER_URL": "redis://127.0.0.1:6379/0",
        "GRETA_RESULT_BACKEND": "redis://127.0.0.1:6379/1",
        "GRETA__STATISTICS__ALPHA": "0.2",
        "GRETA__hypothesis_search__max_terms": "3",
        "GRETA__SCALABILITY__DASK_CONFIG__N_WORKERS": "2",
        "GRETA__SCALABILITY__SPARK_CONFIG__spark__driver__maxResultSize": "1g",
        "GRETA__DATA__TARGET": "007",
        "GRETA_HOME": "/ignored",
        "PATH": "/usr/bin",
    }
    cfg = load_config(env=env)
    celery = cfg.scalability.celery_config
    assert celery.broker_url == "redis://127.0.0.1:6379/0"
    assert celery.result_backend == "redis://127.0.0.1:6379/1"
    assert cfg.statistics.alpha == 0.2 and cfg.hypothesis_search.max_terms == 3
    assert cfg.scalability.dask_config.n_workers == 2
    assert cfg.scalability.spark_config == {"spark.driver.maxResultSize": "1g"}
    assert cfg.data.target == "007"


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRETA__STATISTICS__MAX_HYPOTHESES", "4")
    monkeypatch.setenv("GRETA_BROKER_URL", "amqp://u:p@host//")
    cfg = load_config()
    assert cfg.statistics.max_hypotheses == 4
    assert cfg.scalability.celery_config.broker_url == "amqp://u:p@host//"


def test_generic_env_beats_the_shortcut() -> None:
    cfg = load_config(env={"GRETA_BROKER_URL": "redis://a",
                           "GRETA__SCALABILITY__CELERY_CONFIG__BROKER_URL": "redis://b"})
    assert cfg.scalability.celery_config.broker_url == "redis://b"


def test_environment_errors_name_the_variable() -> None:
    message = _error(env={"GRETA__STATISTICS__ALFA": "0.1"})
    assert "'statistics.alfa'" in message and "GRETA__STATISTICS__ALFA" in message
    assert "Did you mean 'statistics.alpha'?" in message
    message = _error(env={"GRETA__STATISTICS__ALPHA": "2"})
    assert "'statistics.alpha'" in message and "got 2" in message
    assert "GRETA__STATISTICS__ALPHA" in message
    assert "empty key" in _error(env={"GRETA__STATISTICS__": "1"})


# ------------------------------------------------------------------------------- value errors
@pytest.mark.parametrize(("override", "key", "allowed", "got"), [
    ("statistics.alpha=1.5", "statistics.alpha", "must be greater than 0 and less than 1",
     "got 1.5"),
    ("statistics.alpha=0", "statistics.alpha", "must be greater than 0 and less than 1", "got 0"),
    ("statistics.holdout_fraction=0.99", "statistics.holdout_fraction",
     "greater than 0.05 and less than 0.95", "got 0.99"),
    ("statistics.alpha=abc", "statistics.alpha", "a number greater than 0", "got 'abc'"),
    ("statistics.alpha=.nan", "statistics.alpha", "a number greater than 0", "got nan"),
    ("hypothesis_search.pop_size=2", "hypothesis_search.pop_size", "must be at least 4",
     "got 2"),
    ("hypothesis_search.pop_size=4.5", "hypothesis_search.pop_size", "an integer at least 4",
     "got 4.5"),
    ("hypothesis_search.max_terms=21", "hypothesis_search.max_terms",
     "at least 1 and at most 20", "got 21"),
    ("hypothesis_search.mut_prob=1.5", "hypothesis_search.mut_prob", "at most 1", "got 1.5"),
    ("hypothesis_search.cx_prob=-0.1", "hypothesis_search.cx_prob", "at least 0", "got -0.1"),
    ("hypothesis_search.patience=0", "hypothesis_search.patience", "at least 1", "got 0"),
    ("hypothesis_search.patience=soon", "hypothesis_search.patience", "an integer at least 1 and at most "
     "10000000, or null", "got 'soon'"),
    ("hypothesis_search.distributed_backend=gpu", "hypothesis_search.distributed_backend",
     "one of 'local', 'multiprocessing', 'dask', 'spark', 'auto'", "got 'gpu'"),
    ("scalability.ingestion_backend=polars", "scalability.ingestion_backend",
     "one of 'pandas', 'dask', 'spark', 'auto'", "got 'polars'"),
    ("data.format=xml", "data.format", "'jsonl'", "got 'xml'"),
    ("preprocessing.max_levels=1", "preprocessing.max_levels", "at least 2", "got 1"),
    ("preprocessing.min_level_fraction=0.5", "preprocessing.min_level_fraction",
     "at least 0 and less than 0.5", "got 0.5"),
    ("preprocessing.logs=maybe", "preprocessing.logs", "true or false", "got 'maybe'"),
    ("data.sheet=[1]", "data.sheet", "a string or an integer, or null", "got [1]"),
    ("data.columns=[a, [b]]", "data.columns", "a list of strings", "got ['a', ['b']]"),
    ("data.path=''", "data.path", "a non-empty string", "got ''"),
    ("scalability.spark_config.spark.master=[1]", "scalability.spark_config.spark.master",
     "a string, an integer, a number or a boolean", "got [1]"),
    ("scalability.spark_config=5", "scalability.spark_config", "a mapping", "got 5"),
    ("statistics=5", "statistics", "a mapping with the keys alpha", "got 5"),
    ("scalability.celery_config.visibility_timeout=0",
     "scalability.celery_config.visibility_timeout", "at least 1", "got 0"),
])
def test_value_errors(override: str, key: str, allowed: str, got: str) -> None:
    message = _error(overrides=[override])
    assert message.startswith(f"Invalid configuration: '{key}' must be")
    assert allowed in message and got in message
    assert f"(from --set {override.partition('=')[0]})" in message


def test_value_error_from_a_file_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "statistics:\n  alpha: 1.5\n")
    message = _error(path=path)
    assert message == (f"Invalid configuration: 'statistics.alpha' must be greater than 0 and "
                       f"less than 1; got 1.5 (in {path}).")


def test_several_problems_on_one_line() -> None:
    message = _error(overrides=["statistics.alpha=2", "hypothesis_search.pop_size=1",
                                "data.format=xml", "preprocessing.logs=maybe", "output.quiet=x"])
    assert message.count("' must be") == 3 and "2 more problems not shown" in message


def test_secrets_are_not_echoed_in_errors(tmp_path: Path) -> None:
    text = "scalability:\n  celery_config:\n    broker_url: [redis://:hunter2@h]\n"
    message = _error(path=_write(tmp_path, text))
    assert "'scalability.celery_config.broker_url'" in message and "hunter2" not in message
    message = _error(overrides=["scalability.dask_config.memory_limit=redis://:hunter2@h",
                                "scalability.dask_config.processes=redis://:hunter2@h"])
    assert "'scalability.dask_config.processes'" in message and "hunter2" not in message


def test_text_keys_keep_the_text_of_an_override() -> None:
    cfg = load_config(env={}, overrides=["scalability.celery_config.broker_url=[x]",
                                         "data.target=true", "data.row_filter=a == 'x: 1 # b'",
                                         "data.path='2020'", "output.report=null"])
    assert cfg.scalability.celery_config.broker_url == "[x]"
    assert (cfg.data.target, cfg.data.row_filter) == ("true", "a == 'x: 1 # b'")
    assert (cfg.data.path, cfg.output.report) == ("2020", None)
    assert load_config(env={}, overrides=["data.target=#id"]).data.target == "#id"


def test_errors_pickle() -> None:
    with pytest.raises(InvalidConfigError) as info:
        load_config(env={}, overrides=["statistics.alpha=2"])
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own bytes
    assert type(copy) is InvalidConfigError and str(copy) == str(info.value)


# ------------------------------------------------------------------------ unknown keys/sections
def test_unknown_key_suggestion(tmp_path: Path) -> None:
    message = _error(path=_write(tmp_path, "statistics:\n  alfa: 0.1\n"))
    path = tmp_path / "greta.yaml"
    assert message == (f"Unknown configuration key 'statistics.alfa' (in {path})."
                       " Did you mean 'statistics.alpha'?")
    message = _error(overrides=["statistics.alfa=0.1"])
    assert message == ("Unknown configuration key 'statistics.alfa' (from --set statistics.alfa)."
                       " Did you mean 'statistics.alpha'?")


def test_unknown_nested_key_suggestion() -> None:
    message = _error(overrides=["scalability.dask_config.adress=tcp://x:1"])
    assert "'scalability.dask_config.adress'" in message
    assert "Did you mean 'scalability.dask_config.address'" in message


def test_unknown_key_case_hint(tmp_path: Path) -> None:
    message = _error(path=_write(tmp_path, "statistics:\n  ALPHA: 0.1\n"))
    assert "Did you mean 'statistics.alpha'?" in message


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    message = _error(overrides=["statistics.xyzzy=1"])
    assert "'statistics.xyzzy'" in message
    assert "Valid keys of 'statistics': alpha, holdout_fraction, sample_size, max_hypotheses." \
        in message


def test_unknown_section(tmp_path: Path) -> None:
    message = _error(path=_write(tmp_path, "statistic:\n  alpha: 0.1\n"))
    assert "Unknown configuration section 'statistic'" in message
    assert "Did you mean 'statistics'?" in message
    message = _error(overrides=["zzz.alpha=1"])
    assert "Unknown configuration section 'zzz'" in message
    assert "Valid sections: data, preprocessing, hypothesis_search, statistics, segments, output, " \
        "scalability." in message
    assert "Unknown configuration section '1'" in _error(path=_write(tmp_path, "1: 2\n"))


# ----------------------------------------------------------------------------------- redaction
@pytest.mark.parametrize(("url", "expected"), [
    ("redis://:secret@host:6379/0", "redis://:***@host:6379/0"),
    ("amqp://user:pass@host//", "amqp://user:***@host//"),
    ("rediss://user:p%40ss@host:6380/0?ssl_cert_reqs=required",
     "rediss://user:***@host:6380/0?ssl_cert_reqs=required"),
    ("redis://:pa/ss@host/0", "redis://:***@host/0"),
    ("amqp://a:b@h1//;amqp://c:d@h2//", "amqp://a:***@h1//;amqp://c:***@h2//"),
    ("db+postgresql://scott:tiger@localhost/mydb", "db+postgresql://scott:***@localhost/mydb"),
    ("redis://host:6379/0?password=secret&db=1", "redis://host:6379/0?password=***&db=1"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("redis://user@host/0", "redis://user@host/0"),
    ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
    ("age > 3; b == 'x@y'", "age > 3; b == 'x@y'"),
    ("", ""),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_config_to_dict_redacts() -> None:
    cfg = load_config(env={
        "GRETA_BROKER_URL": "redis://:secret@host:6379/0",
        "GRETA_RESULT_BACKEND": "amqp://user:pass@host//",
        "GRETA__SCALABILITY__SPARK_CONFIG__spark.ssl.keyPassword": "hunter2",
    })
    data = config_to_dict(cfg)
    json.dumps(data)  # JSON-able
    celery = data["scalability"]["celery_config"]
    assert celery["broker_url"] == "redis://:***@host:6379/0"
    assert celery["result_backend"] == "amqp://user:***@host//"
    assert data["scalability"]["spark_config"]["spark.ssl.keyPassword"] == "***"
    assert "secret" not in json.dumps(data) and "hunter2" not in json.dumps(data)
    raw = config_to_dict(cfg, redact=False)
    assert raw["scalability"]["celery_config"]["broker_url"] == "redis://:secret@host:6379/0"
    assert cfg.scalability.celery_config.broker_url == "redis://:secret@host:6379/0"


def test_config_from_dict_round_trips_json() -> None:
    cfg = _rich_config()
    data = json.loads(json.dumps(config_to_dict(cfg, redact=False)))
    assert config_from_dict(data) == cfg
    with pytest.raises(InvalidConfigError, match=r"'statistics.alpha' .* \(in job 7\)"):
        config_from_dict({"statistics": {"alpha": 3}}, source="in job 7")
    with pytest.raises(InvalidConfigError, match="must be a mapping"):
        config_from_dict([1, 2])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ data.row_filter
ATTACK = "@pd.core.frame.com.builtins.__import__('os').system('id > p') == 0 or x1 == x1"


def test_a_row_filter_outside_the_language_is_refused_on_loading(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    message = _error(overrides=[f"data.row_filter={ATTACK}"])
    assert message.startswith("Invalid row filter (data.row_filter): unexpected '@' at position 1")
    assert "never run as Python" in message and message.endswith("(from --set data.row_filter).")
    path = _write(tmp_path, 'data:\n  row_filter: "x.isna() or y > 1"\n')
    message = _error(path=path)
    assert "unexpected '.' at position 2" in message and "write `x is missing`" in message
    assert message.endswith(f"(in {path}).")
    with pytest.raises(InvalidConfigError, match="unexpected 'open' at position 1: function calls"):
        config_from_dict({"data": {"row_filter": "open('p', 'w') == 1"}})
    cfg = load_config(env={}, overrides=["data.target=y"])
    with pytest.raises(ValueError, match="unexpected '__import__' at position 1"):  # assignment too
        cfg.data.row_filter = "__import__('os')"
    from greta_cli.core_integration.params import analysis_params

    forged = cfg.model_copy(update={"data": cfg.data.model_copy(update={"row_filter": ATTACK})})
    assert forged.data.row_filter == ATTACK  # model_copy skips the validators ...
    with pytest.raises(InvalidConfigError, match="unexpected '@' at position 1"):
        analysis_params(forged)  # ... the engine's parameters (a run, a submitted job) do not
    assert sorted(p.name for p in tmp_path.iterdir()) == ["greta.yaml"]


def test_row_filters_of_the_pandas_query_form_still_load() -> None:
    for text in ('x1 > 0 and region == "north"', "`a b` > 3", 'x in ["a","b"]', "not (x < 1) or y != 'z'"):
        assert load_config(env={}, overrides=[f"data.row_filter={text}"]).data.row_filter == text
