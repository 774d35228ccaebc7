"""The configuration's pydantic models: one class per YAML section, every key documented.

Unknown keys are errors; numeric settings have sane upper bounds, so a typo such as
``pop_size=99999999999999999999`` is one clear line rather than a crash later on.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


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
                     and (submodel(f.annotation) or dict_value(f.annotation) is not None)]
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
        "detects a decimal comma (1,5 or 3.455,84) in files delimited by ';' or a tab.")
    columns: list[str] | None = Field(
        None, description="Feature columns to consider; null uses every column but the target "
        "and the excluded ones.")
    exclude: list[str] = Field(
        [], description="Columns never used as features (identifiers, leaks of the target).")
    row_filter: str | None = Field(
        None, min_length=1, description="Keep only the rows matching this filter, e.g. "
        "\"age >= 18 and country == 'NL'\" or \"region in ['north', 'south'] and `unit price` is not "
        "missing\": a column compared with a number, 'text' or true/false (==, !=, <, <=, >, >=), "
        "`in [...]`, `not in [...]`, `is missing`, `is not missing`, joined with and, or, not and "
        "parentheses; a name with spaces in backquotes. A comparison with a missing value is false. "
        "The filter is parsed and checked, never run as Python. null keeps every row.")

    @field_validator("row_filter")
    @classmethod
    def _row_filter_syntax(cls, value: str | None) -> str | None:
        # the syntax is checked here, so a bad filter is refused before a job is queued; the
        # columns are checked against the data when the analysis starts
        from greta_core.plan.row_filter import parse

        if value:
            parse(value)
        return value

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
        20, ge=2, le=10_000, description="Most levels kept per categorical column; the rest are pooled "
        "into 'other'.")
    min_level_fraction: float = Field(
        0.005, ge=0, lt=0.5, description="Levels rarer than this fraction of the rows are "
        "pooled into 'other'.")
    max_design_columns: int = Field(
        600, ge=10, le=100_000, description="Most design columns the search chooses from; above it the "
        "candidate terms are screened on discovery rows and only the strongest kept (at most half as "
        "many as discovery rows).")
    screen_memory_mb: float = Field(
        256, ge=16, le=1_000_000, description="Working memory (MiB) of that screening: candidate products "
        "are scored in blocks that fit it, never all at once.")
    max_screen_terms: int = Field(
        100_000_000, ge=1000, le=10_000_000_000, description="Most candidate terms screened; above it the "
        "products of the columns weakest alone are left out.")
    sample_rows: int = Field(
        50000, ge=100, le=10_000_000, description="Rows read to infer the column types and levels.")
    batch_rows: int | None = Field(
        None, ge=1000, le=10_000_000, description="Rows per streamed batch; lower it to use less memory. "
        "null sizes it from the memory this process may use (65,536 unless memory is short).")


class HypothesisSearchConfig(_Section):
    """Genetic search for hypotheses."""

    strategy: Literal["auto", "exact", "genetic"] = Field(
        "auto", description="'exact' scores every hypothesis (the same answer every time, no randomness); "
        "'genetic' searches with NSGA-II; 'auto' is exact when there are at most exact_max_hypotheses.")
    exact_max_hypotheses: int = Field(
        100_000, ge=0, le=20_000_000, description="Most hypotheses for which 'auto' chooses the exact "
        "search (scoring 100,000 costs about what the default genetic search does).")
    pop_size: int = Field(100, ge=4, le=100_000, description="Hypotheses per generation.")
    num_generations: int = Field(60, ge=1, le=10_000_000, description="Generations the search runs.")
    cx_prob: float = Field(0.9, ge=0, le=1, description="Probability of crossing two parents.")
    mut_prob: float | None = Field(
        None, ge=0, le=1, description="Probability that a child hypothesis is mutated (one "
        "term added, dropped or swapped); null means 0.9.")
    patience: int | None = Field(
        None, ge=1, le=10_000_000, description="Stop the genetic search early once the best hypotheses found "
        "have not changed for this many generations (never while none is found; faster, but on hard data "
        "the truth may be missed); null runs every generation.")
    max_minutes: float | None = Field(
        None, gt=0, le=525_600, description="Time budget of the genetic search: it stops after the first "
        "generation that ends past this many minutes, and the best hypotheses found by then are confirmed "
        "(metrics.search.stopped_by_budget); null runs every generation, and refuses a search estimated to "
        "take more than an hour.")
    max_terms: int = Field(5, ge=1, le=20, description="Most terms in one hypothesis (each main effect, square, log and product counts one).")
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Random seed; the same seed gives the same hypotheses everywhere.")
    distributed_backend: Literal["local", "multiprocessing", "dask", "spark", "auto"] = Field(
        "local", description="Where hypotheses are evaluated; 'auto' chooses from what is "
        "installed and reachable.")
    cluster_address: str | None = Field(
        None, description="Dask scheduler or Spark master address; null uses a local one.")
    max_workers: int | None = Field(
        None, ge=1, le=4096, description="Most parallel workers; null uses every available core.")
    distributed_fallback: bool = Field(
        True, description="If the cluster fails during the search: true continues with local "
        "evaluation (same results) and a warning; false stops with an error.")

    @field_validator("max_workers")
    @classmethod
    def _workers_for_the_cores(cls, value: int | None, info: ValidationInfo) -> int | None:
        # Without a cluster every worker runs on this machine: far more than its cores only
        # thrash (and each takes memory; greta run checks that against the memory limit).
        if value is None or info.data.get("cluster_address"):
            return value
        from greta_core.resources.budget import WORKERS_PER_CORE
        from greta_core.resources.memory import cpu_count

        most = WORKERS_PER_CORE * cpu_count()
        if value > most:
            msg = (f"{value:,} is more than {WORKERS_PER_CORE} workers per core of this machine ({cpu_count()} "
                   f"cores): at most {most} without a cluster (hypothesis_search.cluster_address); lower it, or "
                   "null to use every core")
            raise ValueError(msg)
        return value


class StatisticsConfig(_Section):
    """Confirmation of the hypotheses on held-out rows."""

    alpha: float = Field(
        0.05, gt=0, lt=1, description="False discovery rate of the Benjamini-Hochberg "
        "correction of the holdout tests.")
    holdout_fraction: float = Field(
        0.5, gt=0.05, lt=0.95, description="Fraction of the rows held out to confirm what the "
        "search found on the rest.")
    sample_size: int = Field(
        5000, ge=100, le=10_000_000, description="Holdout rows kept for the rank-based checks and the "
        "logistic fit.")
    max_hypotheses: int = Field(
        10, ge=1, le=1000, description="Most hypotheses from the search re-tested on the holdout.")


class SegmentsConfig(_Section):
    """Segments: who has the highest (or lowest) target, found on discovery rows and confirmed
    on held-out rows."""

    enabled: bool = Field(True, description="Search for segments; false does no segment work at all.")
    max_conditions: int = Field(
        3, ge=1, le=6, description="Most conditions in a segment (a range on one column counts as two).")
    min_share: float = Field(
        0.02, gt=0, lt=1, description="Smallest segment, as a share of the rows.")
    max_reported: int = Field(
        5, ge=1, le=50, description="Most segments re-tested on held-out rows and reported.")
    bins: int = Field(
        10, ge=2, le=100, description="Quantile bins of each numeric column: the bounds a condition may use.")
    sample_rows: int = Field(
        50_000, ge=1000, le=10_000_000, description="Discovery rows (a uniform sample) the segment search runs on.")


class OutputConfig(_Section):
    """What is written."""

    results: str | None = Field(
        None, description="Path of the results JSON file; null writes none.")
    results_format: Literal["json", "yaml"] | None = Field(
        None, description="Format of the results file; null picks it from the extension "
        "(.yaml or .yml: yaml, else json).")
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
        None, ge=1, le=4096, description="Workers of a local cluster; null sizes them from the cores and the "
        "memory this process may use.")
    threads_per_worker: int | None = Field(
        None, ge=1, le=4096, description="Threads per worker of a local cluster; null lets Dask choose.")
    processes: bool = Field(
        False, description="Run a local cluster's workers as processes instead of threads.")
    memory_limit: str | None = Field(
        None, description="Memory limit per worker of a local cluster, e.g. '4GiB'; null shares out the "
        "memory this process may use.")
    blocksize: str | int | None = Field(
        None, description="Bytes of a file per partition, e.g. '32MiB'; null sizes it from the memory "
        "each thread or worker may use (at most 64 MiB).")


class CeleryConfig(_Section):
    """Background job settings."""

    broker_url: str | None = Field(
        None, description="Broker URL such as redis://127.0.0.1:6379/0; null uses the embedded "
        "local broker. The environment variable GRETA_BROKER_URL also sets it.")
    result_backend: str | None = Field(
        None, description="Result store URL; null uses the embedded local store. The "
        "environment variable GRETA_RESULT_BACKEND also sets it.")
    queue: str = Field("greta", min_length=1, description="Queue that jobs are sent to.")
    visibility_timeout: int | None = Field(
        None, ge=1, le=30 * 86400, description="Seconds before Redis delivers a job message that "
        "a worker took but never acknowledged (the worker was killed or cut off) again; null "
        "sizes it to the job heartbeat (60 s by default). A copy delivered while the job still "
        "runs is skipped.")


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
    segments: SegmentsConfig = Field(
        default_factory=SegmentsConfig, description="Segments with the highest or lowest target.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="What is written.")
    scalability: ScalabilityConfig = Field(
        default_factory=ScalabilityConfig, description="Distributed engines and background jobs.")



def submodel(annotation: Any) -> Any:
    """The model class of a section field, else None."""
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_model else None


def dict_value(annotation: Any) -> Any:
    """The value type of a ``dict[str, X]`` field, else None."""
    return get_args(annotation)[1] if get_origin(annotation) is dict else None
