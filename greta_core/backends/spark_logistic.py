"""The logistic check on Spark: every holdout row, fitted by MLlib on the executors.

The holdout rows' design columns (built by the same per-batch code as the statistics pass,
each column divided by its holdout standard deviation) form a Spark DataFrame that is kept on
the executors (memory, then disk) while MLlib's ``GeneralizedLinearRegression`` (binomial
family, logit link, no penalty) fits each confirmed hypothesis by iteratively reweighted least
squares. Its training summary gives the coefficients' standard errors from the last weighted
normal equations, which for the logit link is the inverse Fisher information, as statsmodels'
``Logit`` computes it. Coefficients and errors are mapped back to the design's units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from greta_core.confirm.logistic import EXTREME, LogitFit
from greta_core.errors import CancelledError

MAX_ITER = 100
# IRLS stops when no coefficient (in units of its column's sd) moves more than this; Newton
# steps converge quadratically, so the estimates are then exact to far below 1e-9.
TOL = 1e-10


def column_name(j: int) -> str:
    return f"c{j}"


def fit_logits(frame: Any, specs: Sequence[tuple[int, ...]], sd: dict[int, float],
               cancel: Callable[[], bool] | None = None) -> list[LogitFit | str]:
    """Fit the target ``y`` of ``frame`` on the columns of each spec (``c{j}``: design column
    ``j`` divided by ``sd[j]``). One :class:`LogitFit` per spec in design units, or a sentence
    saying why that fit failed."""
    from pyspark import StorageLevel

    kept = frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows = kept.count()
        out: list[LogitFit | str] = []
        for cols in specs:
            if cancel and cancel():
                raise CancelledError("The analysis was cancelled.")
            out.append(_fit_one(kept, cols, sd, rows))
        return out
    finally:
        kept.unpersist()


def _fit_one(frame: Any, cols: tuple[int, ...], sd: dict[int, float], rows: int) -> LogitFit | str:
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.regression import GeneralizedLinearRegression
    from pyspark.sql import functions as F

    data = VectorAssembler(inputCols=[column_name(j) for j in cols], outputCol="features").transform(frame)
    glr = GeneralizedLinearRegression(family="binomial", link="logit", maxIter=MAX_ITER, tol=TOL,
                                      regParam=0.0, fitIntercept=True, labelCol="y", featuresCol="features")
    try:
        model = glr.fit(data.select("features", "y"))
        summary = model.summary
        se_scaled = np.asarray(summary.coefficientStandardErrors, dtype=float)[:-1]  # the intercept is last
        iterations = int(summary.numIterations)
    except Exception as e:  # noqa: BLE001 - py4j raises the JVM's exceptions under several types
        text = " ".join(str(e).split())[:200]
        return f"The logistic fit on Spark failed ({type(e).__name__}: {text}); odds ratios are not reported."
    p = F.col("prediction")
    extreme = model.transform(data).select(F.avg(((p < EXTREME) | (p > 1 - EXTREME)).cast("double"))).first()[0]
    scale = np.array([sd[j] for j in cols])
    coef_scaled = model.coefficients.toArray()
    return LogitFit(tuple(cols), coef_scaled / scale, se_scaled / scale, int(rows), iterations < MAX_ITER,
                    float(extreme or 0.0), scale, "spark-mllib", iterations, float(model.intercept))


__all__ = ["MAX_ITER", "TOL", "column_name", "fit_logits"]
