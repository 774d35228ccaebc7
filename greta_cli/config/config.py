"""Greta's configuration: pydantic models, loading (file, then environment, then ``--set``),
one-line error messages, redaction and a commented YAML rendering.

Only plain YAML is read (a ``SafeLoader``); unknown keys are errors. This module imports pydantic
and PyYAML only, so ``greta --help`` stays fast.
"""

from __future__ import annotations

import copy
import os
import re
import reprlib
import textwrap
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from greta_core.errors import InvalidConfigError, did_you_mean

__all__ = [
    "CeleryConfig",
    "DaskConfig",
    "DataConfig",
    "GretaConfig",
    "HypothesisSearchConfig",
    "OutputConfig",
    "PreprocessingConfig",
    "ScalabilityConfig",
    "StatisticsConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "redact_url",
    "render_config_yaml",
]

ENV_PREFIX = "GRETA__"
_NULLS = {"", "~", "null", "Null", "NULL"}
ENV_SHORTCUTS = {
    "GRETA_BROKER_URL": ("scalability", "celery_config", "broker_url"),
    "GRETA_RESULT_BACKEND": ("scalability", "celery_config", "result_backend"),
}


# --------------------------------------------------------------------------------------- models
class _Section(BaseModel):
    """Base of every configuration section: unknown keys are errors, a null section is empty."""

    model_config = ConfigDict(
        extra="forbid",
        coerce_numbers_to_str=True,  # `target: 2020` names the column "2020"
        allow_inf_nan=False,
        validate_assignment=True,
        defer_build=True,  # build validators on first use: `greta --help` stays fast
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        # A section whose keys are all commented out loads as null; treat it as empty.
        if isinstance(data, dict):
            empty = [n for n, f in cls.model_fields.items() if data.get(n, 0) is None
                     and (_submodel(f.annotation) or _dict_value(f.annotation) is not None)]
            data = {**data, **{n: {} for n in empty}} if empty else data
        return data


class DataConfig(_Section):
    """Input data and the column to explain."""

    path: str | None = Field(None, min_length=1, description="Path of the data file to analyse.")
    target: str | None = Field(None, min_length=1, description="Name of the column to explain.")
    format: Literal["auto", "csv", "tsv", "parquet", "excel", "jsonl"] = Field(
        "auto", description="File format; 'auto' picks it from the file extension.")
    sheet: str | int | None = Field(
        None, description="Excel sheet to read, by name or 0-based position; null reads the first.")
    delimiter: str | None = Field(
        None, min_length=1,
        description=r"Field delimiter of delimited text files (\t for a tab); null detects it.")
    decimal: Literal[".", ","] | None = Field(
        None, description="Decimal mark of numbers in delimited text files ('.' or ','); null "
        "detects a decimal comma (1,5) in files delimited by ';' or a tab.")
    columns: list[str] | None = Field(
        None, description="Feature columns to consider; null uses every column but the target "
        "and the excluded ones.")
    exclude: list[str] = Field(
        [], description="Columns never used as features (identifiers, leaks of the target).")
    row_filter: str | None = Field(
        None, min_length=1, description="Keep only the rows matching this pandas query "
        "expression, e.g. \"age >= 18 and country == 'NL'\"; null keeps every row.")

    @field_validator("delimiter")
    @classmethod
    def _tab_escape(cls, value: str | None) -> str | None:
        return "\t" if value == r"\t" else value


class PreprocessingConfig(_Section):
    """How columns become candidate terms."""

    interactions: bool = Field(True, description="Add pairwise products a*b of numeric columns.")
    squares: bool = Field(True, description="Add the square of each numeric column.")
    logs: bool = Field(True, description="Add log terms of positive, skewed numeric columns.")
    max_levels: int = Field(
        20, ge=2, description="Most levels kept per categorical column; the rest are pooled "
        "into 'other'.")
    min_level_fraction: float = Field(
        0.005, ge=0, lt=0.5, description="Levels rarer than this fraction of the rows are "
        "pooled into 'other'.")
    max_design_columns: int = Field(
        600, ge=10, description="Most design columns kept in full; above it the engineered terms "
        "are screened and only the strongest kept.")
    sample_rows: int = Field(
        50000, ge=100, description="Rows read to infer the column types and levels.")
    batch_rows: int = Field(
        65536, ge=1000, description="Rows per streamed batch; lower it to use less memory.")


class HypothesisSearchConfig(_Section):
    """Genetic search for hypotheses."""

    pop_size: int = Field(100, ge=4, description="Hypotheses per generation.")
    num_generations: int = Field(60, ge=1, description="Generations the search runs.")
    cx_prob: float = Field(0.9, ge=0, le=1, description="Probability of crossing two parents.")
    mut_prob: float | None = Field(
        None, ge=0, le=1, description="Probability that a child hypothesis is mutated (one "
        "term added, dropped or swapped); null means 0.9.")
    patience: int | None = Field(
        None, ge=1, description="Stop early once the best hypotheses have not changed for this "
        "many generations (faster, but weak effects may be missed); null runs every generation.")
    max_terms: int = Field(8, ge=1, le=20, description="Most terms in one hypothesis (each main effect, square, log and product counts one).")
    seed: int = Field(
        0, ge=0, description="Random seed; the same seed gives the same hypotheses everywhere.")
    distributed_backend: Literal["local", "multiprocessing", "dask", "spark", "auto"] = Field(
        "local", description="Where hypotheses are evaluated; 'auto' chooses from what is "
        "installed and reachable.")
    cluster_address: str | None = Field(
        None, description="Dask scheduler or Spark master address; null uses a local one.")
    max_workers: int | None = Field(
        None, ge=1, description="Most parallel workers; null uses every available core.")
    distributed_fallback: bool = Field(
        True, description="If the cluster fails during the search: true continues with local "
        "evaluation (same results) and a warning; false stops with an error.")


class StatisticsConfig(_Section):
    """Confirmation of the hypotheses on held-out rows."""

    alpha: float = Field(
        0.05, gt=0, lt=1, description="False discovery rate of the Benjamini-Hochberg "
        "correction of the holdout tests.")
    holdout_fraction: float = Field(
        0.5, gt=0.05, lt=0.95, description="Fraction of the rows held out to confirm what the "
        "search found on the rest.")
    sample_size: int = Field(
        5000, ge=100, description="Holdout rows kept for the rank-based checks and the "
        "logistic fit.")
    max_hypotheses: int = Field(
        10, ge=1, description="Most hypotheses from the search re-tested on the holdout.")


class OutputConfig(_Section):
    """What is written."""

    results: str | None = Field(
        None, description="Path of the results JSON file; null writes none.")
    report: str | None = Field(
        None, description="Path of a report, its format taken from the extension (.html, .md, "
        ".txt); null writes none.")
    quiet: bool = Field(False, description="Print nothing but errors.")


class DaskConfig(_Section):
    """Dask cluster settings."""

    address: str | None = Field(
        None, description="Scheduler address such as tcp://127.0.0.1:8786; null starts a local "
        "cluster.")
    n_workers: int | None = Field(
        None, ge=1, description="Workers of a local cluster; null lets Dask choose.")
    threads_per_worker: int | None = Field(
        None, ge=1, description="Threads per worker of a local cluster; null lets Dask choose.")
    processes: bool = Field(
        False, description="Run a local cluster's workers as processes instead of threads.")
    memory_limit: str | None = Field(
        None, description="Memory limit per worker, e.g. '4GiB'; null lets Dask choose.")


class CeleryConfig(_Section):
    """Background job settings."""

    broker_url: str | None = Field(
        None, description="Broker URL such as redis://127.0.0.1:6379/0; null uses the embedded "
        "local broker. The environment variable GRETA_BROKER_URL also sets it.")
    result_backend: str | None = Field(
        None, description="Result store URL; null uses the embedded local store. The "
        "environment variable GRETA_RESULT_BACKEND also sets it.")
    queue: str = Field("greta", min_length=1, description="Queue that jobs are sent to.")
    visibility_timeout: int = Field(
        3600, ge=1, description="Seconds before an unacknowledged job is delivered again; keep "
        "it above the longest job.")


class ScalabilityConfig(_Section):
    """Distributed engines and background jobs."""

    enabled: bool = Field(
        False, description="Use the settings below; false reads with pandas and computes in "
        "this process.")
    ingestion_backend: Literal["pandas", "dask", "spark", "auto"] = Field(
        "pandas", description="Engine that reads the data; 'auto' chooses from the data size "
        "and what is installed.")
    distributed_backend: Literal["local", "dask", "spark", "auto"] = Field(
        "local", description="Where the statistics and the search run; 'auto' chooses from "
        "what is installed and reachable.")
    async_processing: bool = Field(
        False, description="Run analyses as background jobs instead of in the foreground.")
    dask_config: DaskConfig = Field(default_factory=DaskConfig, description="Dask settings.")
    spark_config: dict[str, str | int | float | bool] = Field(
        {}, description="Spark properties for the Spark session, e.g. spark.master: local[2].")
    celery_config: CeleryConfig = Field(
        default_factory=CeleryConfig, description="Background job (Celery) settings.")


class GretaConfig(_Section):
    """The whole configuration of one Greta analysis."""

    data: DataConfig = Field(default_factory=DataConfig, description="Input data and target.")
    preprocessing: PreprocessingConfig = Field(
        default_factory=PreprocessingConfig, description="How columns become candidate terms.")
    hypothesis_search: HypothesisSearchConfig = Field(
        default_factory=HypothesisSearchConfig, description="Genetic search for hypotheses.")
    statistics: StatisticsConfig = Field(
        default_factory=StatisticsConfig, description="Confirmation on held-out rows.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="What is written.")
    scalability: ScalabilityConfig = Field(
        default_factory=ScalabilityConfig, description="Distributed engines and background jobs.")


# ------------------------------------------------------------------------------------- loading
def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> GretaConfig:
    """Build a :class:`GretaConfig` from a YAML file, the environment and ``--set`` overrides.

    Later sources win: the file, then the environment, then ``overrides``.

    Parameters
    ----------
    path
        A YAML file (read with a safe loader: plain values only, no ``!!python`` tags). ``None``
        starts from the defaults; an empty file is an empty configuration.
    overrides
        ``"section.key=value"`` strings, as given to ``--set``. Nested keys are dotted
        (``scalability.dask_config.address=tcp://127.0.0.1:8786``); under
        ``scalability.spark_config`` the rest of the path is one Spark property
        (``scalability.spark_config.spark.master=local[2]``). The value is parsed as YAML, so
        ``5``, ``0.1``, ``true``, ``null`` and ``[a, b]`` get their types; text-only keys such as
        ``data.target`` or ``data.row_filter`` keep the text as written (``null`` still means
        null, and a quoted value is unquoted).
    env
        Environment variables, ``os.environ`` when ``None``. ``GRETA_BROKER_URL`` and
        ``GRETA_RESULT_BACKEND`` set the Celery broker and result store;
        ``GRETA__SECTION__KEY=value`` sets any key (double underscores between parts, key
        names case-insensitive, values parsed like ``overrides``) and wins over those two.
        Under ``SPARK_CONFIG`` the remaining parts, joined by dots and kept as written, name
        the Spark property (``GRETA__SCALABILITY__SPARK_CONFIG__spark__master``).

    Returns
    -------
    GretaConfig
        The validated configuration.

    Raises
    ------
    InvalidConfigError
        With a one-line message naming the file or override, the key, the value received and
        what is allowed: an unreadable or non-mapping file, a ``!!python`` tag, an unknown key
        (with a "Did you mean" hint), a malformed override or a value out of range.
    """
    raw: dict[Any, Any] = {} if path is None else _read_yaml(Path(path))
    file_source = "" if path is None else f"in {path}"
    sources: dict[tuple[str, ...], str] = {}
    for name, keys, value in _env_overrides(os.environ if env is None else env):
        _apply(raw, keys, value, f"from environment variable {name}", sources)
    for item in (overrides,) if isinstance(overrides, str) else overrides:
        keys, value = _parse_override(item)
        _apply(raw, keys, value, f"from --set {'.'.join(keys)}", sources)
    return _validate(raw, sources, file_source)


def config_from_dict(data: Mapping[str, Any], source: str = "") -> GretaConfig:
    """Validate a configuration mapping, e.g. the JSON a background job received.

    Parameters
    ----------
    data
        A mapping shaped like the output of :func:`config_to_dict` (``redact=False``).
    source
        Where the mapping came from (``"in job 42"``), shown in error messages.

    Raises
    ------
    InvalidConfigError
        With the same one-line messages as :func:`load_config`.
    """
    if not isinstance(data, Mapping):
        msg = f"A configuration must be a mapping of sections; got {_show(data)}."
        raise InvalidConfigError(msg)
    return _validate(copy.deepcopy(dict(data)), {}, source)


def _validate(
    raw: dict[Any, Any], sources: dict[tuple[str, ...], str], default: str
) -> GretaConfig:
    try:
        return GretaConfig.model_validate(raw)
    except ValidationError as exc:
        msg = _format_errors(exc, raw, sources, default)
    raise InvalidConfigError(msg)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that also refuses duplicate keys (the last would silently win)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, type(None))):
            continue  # unhashable keys are refused by construct_mapping itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"found duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> dict[Any, Any]:
    where = f"Configuration file '{path}'"
    if path.is_dir():
        msg = f"{where} is a directory, not a YAML file."
        raise InvalidConfigError(msg)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        msg = f"{where} does not exist; check the path or create one with 'greta init'."
        raise InvalidConfigError(msg) from None
    except OSError as exc:
        msg = f"{where} cannot be read: {exc.strerror or exc}."
        raise InvalidConfigError(msg) from None
    try:
        loaded: Any = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        msg = _yaml_problem(where, exc)
        raise InvalidConfigError(msg) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        msg = (f"{where} must hold a mapping of sections (data:, statistics:, ...); "
               f"got {_show(loaded)}.")
        raise InvalidConfigError(msg)
    return dict(copy.deepcopy(loaded))  # YAML aliases share objects; overrides must not


def _yaml_problem(where: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    tag = re.match(r"could not determine a constructor for the tag '([^']*)'", problem)
    if tag:
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return (f"{where} uses the YAML tag '{name}'{at}, which is not allowed: a configuration "
                "holds plain values only.")
    return f"{where} is not valid YAML{at}: {problem}."


# ------------------------------------------------------------------------------------ overrides
def _parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    key, eq, text = str(item).partition("=")
    parts = key.strip().split(".")
    if not eq or not all(parts):
        problem = "has no '='" if not eq else "has an empty key"
        msg = (f"The override {item!r} {problem}; write it as section.key=value, "
               "e.g. --set statistics.alpha=0.01.")
        raise InvalidConfigError(msg)
    keys, annotation = _resolve(parts, f"from --set {key.strip()}")
    return keys, _parse_value(text, annotation)


def _env_overrides(env: Mapping[str, str]) -> list[tuple[str, tuple[str, ...], Any]]:
    found: list[tuple[str, tuple[str, ...], Any]] = []
    for name, shortcut in ENV_SHORTCUTS.items():
        if env.get(name, "").strip():
            found.append((name, shortcut, env[name].strip()))
    for name in sorted(n for n in env if n.startswith(ENV_PREFIX)):
        parts = name[len(ENV_PREFIX):].split("__")
        if not all(parts):
            msg = (f"The environment variable {name} has an empty key; write it as "
                   "GRETA__SECTION__KEY, e.g. GRETA__STATISTICS__ALPHA=0.01.")
            raise InvalidConfigError(msg)
        keys, annotation = _resolve(parts, f"from environment variable {name}", fold_case=True)
        found.append((name, keys, _parse_value(env[name], annotation)))
    return found


def _resolve(
    parts: Sequence[str], source: str, fold_case: bool = False
) -> tuple[tuple[str, ...], Any]:
    """Check a key path against the models; return it and the annotation of its value."""
    model: Any = GretaConfig
    keys: list[str] = []
    for i, part in enumerate(parts):
        name = part.lower() if fold_case else part
        if model is None:
            msg = (f"Unknown configuration key '{'.'.join([*keys, part])}' ({source}): "
                   f"'{'.'.join(keys)}' is a single value, not a section.")
            raise InvalidConfigError(msg)
        if name not in model.model_fields:
            raise InvalidConfigError(_unknown_key(tuple(keys), name, model, source))
        keys.append(name)
        annotation = model.model_fields[name].annotation
        value_type = _dict_value(annotation)
        if value_type is not None and i + 1 < len(parts):  # the rest is one dict key
            return (*keys, ".".join(parts[i + 1:])), value_type
        model = _submodel(annotation)
    return tuple(keys), model if model is not None else annotation


def _parse_value(text: str, annotation: Any) -> Any:
    """Parse an override value as YAML; text-only keys keep the text unless it is quoted or null."""
    stripped = text.strip()
    if set(get_args(annotation) or (annotation,)) <= {str, type(None)}:
        if stripped in _NULLS:
            return None
        if stripped[:1] not in ("'", '"'):
            return stripped  # `data.target=2020` and `data.target=#id` name columns as written
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return stripped


def _apply(raw: dict[Any, Any], keys: tuple[str, ...], value: Any, source: str,
           sources: dict[tuple[str, ...], str]) -> None:
    node = raw
    for i, key in enumerate(keys[:-1]):
        if node.get(key) is None:
            node[key] = {}
        elif not isinstance(node[key], dict):
            dotted = ".".join(keys[:i + 1])
            msg = (f"Invalid configuration: '{dotted}' must be a mapping of keys; "
                   f"got {_show(node[key])} (cannot apply the value {source}).")
            raise InvalidConfigError(msg)
        node = node[key]
    node[keys[-1]] = value
    for old in [k for k in sources if k[:len(keys)] == keys]:
        del sources[old]
    sources[keys] = source


# --------------------------------------------------------------------------------------- errors
_BOUND_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_MISSING = object()


class _Key(str):
    """A key name that ``did_you_mean`` compares by its text but shows as a dotted path."""

    dotted: str

    def __new__(cls, name: str, dotted: str) -> _Key:
        obj = super().__new__(cls, name)
        obj.dotted = dotted
        return obj

    def __repr__(self) -> str:
        return repr(self.dotted)


def _unknown_key(parent: tuple[str, ...], name: str, model: Any, source: str) -> str:
    what = "key" if parent else "section"
    dotted = ".".join((*parent, str(name)))
    options = [_Key(n, ".".join((*parent, n))) for n in model.model_fields]
    hint = did_you_mean(str(name), list(options))
    if not hint:
        label = f"keys of '{'.'.join(parent)}'" if parent else "sections"
        hint = f" Valid {label}: {', '.join(model.model_fields)}."
    where = f" ({source})" if source else ""
    return f"Unknown configuration {what} '{dotted}'{where}.{hint}"


def _format_errors(exc: ValidationError, raw: dict[Any, Any],
                   sources: dict[tuple[str, ...], str], default: str) -> str:
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for err in exc.errors(include_url=False):
        groups.setdefault(_locate(err["loc"])[:3], []).append(err)
    sentences = []
    for (kind, keys, name), errs in groups.items():
        source = next((sources[keys[:n]] for n in range(len(keys), 0, -1)
                       if keys[:n] in sources), default)
        if kind == "unknown":
            sentences.append(_unknown_key(keys, name, _model_at(keys), source))
            continue
        _, _, _, annotation, metadata = _locate(errs[0]["loc"])
        only_bounds = kind == "field" and all(e["type"] in _BOUND_ERRORS for e in errs)
        allowed = _bounds(metadata) if only_bounds else _describe(annotation, metadata)
        value = _lookup(raw, keys)
        shown = _show(errs[0]["input"] if value is _MISSING else value)
        where = f" ({source})" if source else ""
        prefix = "" if sentences else "Invalid configuration: "
        sentences.append(f"{prefix}'{'.'.join(keys)}' must be {allowed}; got {shown}{where}.")
    more = f" ({len(sentences) - 3} more problems not shown.)" if len(sentences) > 3 else ""
    return " ".join(sentences[:3]) + more


def _locate(loc: tuple[Any, ...]) -> tuple[str, tuple[str, ...], str, Any, list[Any]]:
    """Map an error location to (kind, field keys, unknown name, annotation, constraints)."""
    model: Any = GretaConfig
    keys: list[str] = []
    for i, part in enumerate(loc):
        if part not in model.model_fields:
            return "unknown", tuple(keys), str(part), None, []
        field = model.model_fields[part]
        keys.append(part)
        value_type = _dict_value(field.annotation)
        if value_type is not None and i + 1 < len(loc):
            return "item", (*keys, str(loc[i + 1])), "", value_type, []
        model = _submodel(field.annotation)
        if model is None:
            return "field", tuple(keys), "", field.annotation, list(field.metadata)
    return "section", tuple(keys), "", model, []


def _model_at(keys: tuple[str, ...]) -> Any:
    model: Any = GretaConfig
    for key in keys:
        model = _submodel(model.model_fields[key].annotation)
    return model


def _lookup(raw: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(raw, dict) or key not in raw:
            return _MISSING
        raw = raw[key]
    return raw


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 6
_REPR.maxlevel = 3


def _show(value: Any) -> str:
    """Show a received value on one line, YAML-like for null and booleans, passwords hidden."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return _REPR.repr(_redact(value))


# ---------------------------------------------------------------------------- describing types
def _submodel(annotation: Any) -> Any:
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def _dict_value(annotation: Any) -> Any:
    return get_args(annotation)[1] if get_origin(annotation) is dict else None


def _bounds(metadata: list[Any]) -> str:
    words = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    found = {k: getattr(m, k) for m in metadata for k in words if hasattr(m, k)}
    return " and ".join(f"{words[k]} {v}" for k, v in found.items())


def _describe(annotation: Any, metadata: list[Any]) -> str:
    """Say in words which values a field accepts, e.g. 'an integer at least 4, or null'."""
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(annotation))
    if origin in (Union, types.UnionType):
        args = get_args(annotation)
        parts = ["a boolean" if a is bool else _describe(a, metadata)
                 for a in args if a is not type(None)]
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
        return f"{text}, or null" if type(None) in args else text
    if origin is list:
        return "a list of " + _plural(get_args(annotation)[0])
    if origin is dict:
        return "a mapping of names to " + _plural(get_args(annotation)[1])
    if _submodel(annotation):
        return "a mapping with the keys " + ", ".join(annotation.model_fields)
    if annotation is bool:
        return "true or false"
    if annotation is str:
        size = next((m.min_length for m in metadata if hasattr(m, "min_length")), 0)
        return "a non-empty string" if size else "a string"
    noun = {int: "an integer", float: "a number"}.get(annotation, str(annotation))
    bounds = _bounds(metadata)
    return f"{noun} {bounds}" if bounds else noun


def _plural(annotation: Any) -> str:
    names = {str: "strings", int: "integers", float: "numbers", bool: "booleans"}
    args = get_args(annotation) or (annotation,)
    words = [names.get(a, str(a)) for a in args]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# ------------------------------------------------------------------------ dumping and redaction
_URL = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>.*)$", re.S)
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:password|passwd|pwd|secret|token)=)[^&;#]*")
_SECRET_KEY = re.compile(r"(?i)password|passwd|secret|token|credential")


def redact_url(url: str) -> str:
    """Replace the password in a URL by ``***``; other text is returned unchanged.

    Handles ``scheme://user:password@host/...`` (also with an empty user, as in
    ``redis://:secret@host:6379/0``), ``password=``/``token=`` query parameters and
    ``;``-separated failover lists of URLs.

    Parameters
    ----------
    url
        Any string; strings that are not URLs with credentials come back as they are.

    Returns
    -------
    str
        The URL with every password replaced, e.g. ``amqp://user:***@host//``.
    """
    if ";" in url and "://" in url.split(";", 1)[1]:
        return ";".join(redact_url(part) for part in url.split(";"))
    match = _URL.match(url)
    if not match:
        return url
    rest = _QUERY_SECRET.sub(r"\1***", match["rest"])
    userinfo, at, host = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if at and colon and password:
        rest = f"{user}:***@{host}"
    return match["head"] + rest


def _redact(value: Any, key: Any = None) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return "***" if key is not None and _SECRET_KEY.search(str(key)) else redact_url(value)
    return value


def config_to_dict(cfg: GretaConfig, redact: bool = True) -> dict[str, Any]:
    """Dump a configuration to plain JSON-able data (dicts, lists, str, numbers, bools, None).

    Parameters
    ----------
    cfg
        The configuration.
    redact
        Replace passwords in URLs (``redis://:secret@host`` becomes ``redis://:***@host``) and
        the values of Spark properties whose names mention a password, secret or token by
        ``***``. Pass ``False`` for the copy a background job runs with.

    Returns
    -------
    dict
        Nested ``{section: {key: value}}`` that :func:`config_from_dict` reads back.
    """
    data = cfg.model_dump(mode="json")
    return _redact(data) if redact else data


def render_config_yaml(cfg: GretaConfig, header: str = "", *, redact: bool = False) -> str:
    """Render a configuration as a commented YAML document that :func:`load_config` reads back.

    Every key is preceded by ``#`` comment lines that explain it and list its allowed values.

    Parameters
    ----------
    cfg
        The configuration to write.
    header
        Text put at the top, each line as a comment.
    redact
        Replace passwords by ``***`` (for display; such a document no longer round-trips).

    Returns
    -------
    str
        The YAML text, ending with a newline.
    """
    lines = [f"# {line}".rstrip() if not line.startswith("#") else line
             for line in header.splitlines()]
    _render_model(GretaConfig, config_to_dict(cfg, redact=redact), "", lines)
    return "\n".join(lines) + "\n"


def _render_model(model: Any, values: dict[str, Any], pad: str, lines: list[str]) -> None:
    for name, field in model.model_fields.items():
        if not pad and lines:
            lines.append("")
        sub = _submodel(field.annotation)
        comment = field.description or name
        if sub is None:
            comment += f" Allowed: {_describe(field.annotation, list(field.metadata))}."
        lines += textwrap.wrap(comment, width=100, initial_indent=f"{pad}# ",
                               subsequent_indent=f"{pad}# ", break_long_words=False,
                               break_on_hyphens=False)
        if sub is not None:
            lines.append(f"{pad}{name}:")
            _render_model(sub, values[name], pad + "  ", lines)
            continue
        value = values[name]
        flow = None if isinstance(value, list) else False  # lists inline, mappings as blocks
        text = yaml.safe_dump({name: value}, default_flow_style=flow, sort_keys=False,
                              allow_unicode=True, width=1_000_000)
        lines += [pad + line for line in text.splitlines()]
