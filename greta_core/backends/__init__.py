"""Backends that hold the rows: a registry of import strings, imported on demand.

``open_backend`` also makes the ``auto`` decision (DESIGN §2): from the data's size, the
available memory and what is installed and reachable. Every fallback (Spark → Dask → pandas)
is logged as a warning naming what was missing and how to install it. Deciding imports neither
dask nor pyspark: it looks at the file's size, ``find_spec``, ``java -version`` and a TCP
connect, and only when the data is not a small local file.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from greta_core.errors import BackendUnavailableError, InvalidConfigError

BACKENDS = {
    "pandas": "greta_core.backends.pandas_backend:PandasBackend",
    "dask": "greta_core.backends.dask_backend:DaskBackend",
    "spark": "greta_core.backends.spark_backend:SparkBackend",
}
CHOICES = ("pandas", "dask", "spark", "auto")
SMALL_FILE_BYTES = 1 << 30  # below this a single local file is always read by pandas
ROW_BYTES = 100  # a rough size of one row, when only a row count is known
log = logging.getLogger("greta")


def get_backend(name: str) -> Any:
    """The backend class registered under ``name`` (``auto`` without data means pandas)."""
    if name == "auto":
        name = "pandas"
    if name not in BACKENDS:
        msg = f"Unknown backend {name!r}. Allowed: {', '.join(CHOICES)}."
        raise BackendUnavailableError(msg)
    module, _, attr = BACKENDS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except BackendUnavailableError:
        raise
    except ImportError as e:
        extra = "spark" if name == "spark" else "dask"
        msg = (f"The {name} backend cannot be loaded: {e}. Install it with: "
               f'pip install "greta[{extra}]"')
        raise BackendUnavailableError(msg) from None


def open_backend(name: str, spec: Any, workers: int | None = None,
                 options: dict[str, Any] | None = None) -> Any:
    """Choose the backend for ``spec`` (resolving ``auto``) and open it.

    ``options`` are the engine settings (``dask_config``, ``spark_config``, ...) from
    ``AnalysisParams.extra``; the pandas backend takes none.
    """
    opts = dict(options or {})
    choice = choose_backend(name, spec, opts)
    cls = get_backend(choice)
    if choice == "pandas":
        return cls(spec, workers=workers)
    return cls(spec, workers=workers, **opts)


def frame_engine(obj: Any) -> str | None:
    """"spark", "dask" or "pandas" for a DataFrame of that engine, else None (no import)."""
    module = type(obj).__module__.split(".")[0]
    return {"pyspark": "spark", "dask": "dask", "dask_expr": "dask", "pandas": "pandas"}.get(module)


def choose_backend(name: str, spec: Any, options: dict[str, Any] | None = None) -> str:
    """The backend that will hold the rows of ``spec`` when ``name`` is asked for."""
    frame = (getattr(spec, "options", None) or {}).get("dataframe")
    if frame is not None:
        engine = frame_engine(frame)
        if engine is None:
            msg = (f"A {type(frame).__name__} was passed as the data; Greta takes a file path, a pandas, "
                   "Dask or Spark DataFrame. Convert it to one of them (e.g. with .to_pandas()).")
            raise InvalidConfigError(msg)
        if name not in ("auto", "pandas", engine):
            msg = (f"A {engine} DataFrame was passed as the data but the {name!r} backend was asked for. "
                   f"Use --backend {engine} (or auto) for it.")
            raise InvalidConfigError(msg)
        return engine
    if name not in CHOICES:
        msg = f"Unknown backend {name!r}. Allowed: {', '.join(CHOICES)}."
        raise BackendUnavailableError(msg)
    if name != "auto":
        return name
    decision = decide(spec.path, options or {})
    for warning in decision.warnings:
        log.warning(warning)
    return decision.backend


# ------------------------------------------------------------------------------- the auto rule
@dataclass
class Decision:
    backend: str
    reason: str
    warnings: list[str] = field(default_factory=list)


def decide(path: str, options: dict[str, Any], estimated_rows: int | None = None) -> Decision:
    """What ``auto`` picks for ``path`` and why (see docs/backends.md)."""
    from greta_core.ingestion.distributed_utils import is_multi, local_path

    dask_cfg = options.get("dask_config") or {}
    master = str((options.get("spark_config") or {}).get("spark.master") or "")
    multi = is_multi(path)  # pandas reads single local files only
    last = [] if multi else ["pandas"]
    if master and not master.startswith("local"):
        return _first_usable(["spark", "dask", *last], f"a Spark cluster is configured ({master})", options)
    if dask_cfg.get("address"):
        return _first_usable(["dask", *last], f"a Dask scheduler is configured ({dask_cfg['address']})", options)
    if multi:
        return _first_usable(["dask", "spark"], f"{path!r} is a directory, a glob or a URL", options)
    p = local_path(path)
    size = os.path.getsize(p) if os.path.isfile(p) else 0
    if estimated_rows:
        size = max(size, estimated_rows * ROW_BYTES)
    if size <= SMALL_FILE_BYTES:
        return Decision("pandas", "a local file smaller than 1 GB")
    from greta_core.ingestion.distributed_utils import human_bytes
    from greta_core.resources.memory import memory_limit

    found = memory_limit()
    limit = int(options.get("auto_threshold_bytes") or found.bytes)
    room = "the available memory" if options.get("auto_threshold_bytes") or not found.from_cgroup else \
        "this process's memory limit"
    if size <= limit:
        return Decision("pandas", f"the data ({human_bytes(size)}) fits in {room} ({human_bytes(limit)})")
    why = f"the data ({human_bytes(size)}) is larger than {room} ({human_bytes(limit)})"
    return _first_usable(["spark", "dask", "pandas"], why, options)


def _first_usable(candidates: list[str], why: str, options: dict[str, Any]) -> Decision:
    warnings, problems = [], []
    for i, name in enumerate(candidates):
        problem = backend_problem(name, options)
        if problem is None:
            return Decision(name, why, warnings)
        problems.append(f"{name}: {problem}")
        nxt = candidates[i + 1] if i + 1 < len(candidates) else None
        if nxt:
            warnings.append(f"auto backend: {why}, so {name} would be used, but {problem}; falling back to "
                            f"{nxt} (to use {name}: {_install(name)}).")
    hints = " or ".join(_install(n) for n in candidates)
    msg = f"No backend can read this data: {why}, and {'; '.join(problems)}. Install: {hints}."
    raise BackendUnavailableError(msg)


def _install(name: str) -> str:
    return {"spark": 'pip install "greta[spark]" and a Java 17+ runtime',
            "dask": 'pip install "greta[dask]"'}.get(name, "it is built in")


def backend_problem(name: str, options: dict[str, Any]) -> str | None:
    """Why backend ``name`` cannot be used with ``options`` here (None if it can)."""
    from greta_core.ingestion.distributed_utils import module_version, tcp_reachable

    if name == "pandas":
        return None
    if name == "dask":
        if module_version("dask") is None:
            return "dask is not installed"
        address = (options.get("dask_config") or {}).get("address")
        if address:
            if module_version("distributed") is None:
                return "dask.distributed is not installed"
            ok, detail = tcp_reachable(str(address), 8786)
            return None if ok else f"the Dask scheduler {address} is not reachable ({detail})"
        return None
    from greta_core.ingestion.spark_connector import spark_problem
    from greta_core.resources.memory import mib

    spark_config = options.get("spark_config") or {}
    master = str(spark_config.get("spark.master") or "local[*]")
    problem = spark_problem(master)
    if problem is None and master.startswith("local") and "spark.driver.memory" not in spark_config:
        from greta_core.resources.sizing import engine_sizes, spark_least

        sizes = engine_sizes()
        if not sizes.spark_fits:
            problem = (f"a local Spark is given at least {mib(spark_least())} (its JVM and a Python worker) "
                       f"and this process may use {sizes.limit.describe()}; set spark.driver.memory "
                       "in scalability.spark_config to start it anyway")
    return problem
