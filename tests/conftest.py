"""Fixtures shared by every test directory: one Spark local[2] session for the whole test
session, and a Spark standalone master + worker (see ``engines.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from engines import SparkStandalone, need_spark, unavailable


@pytest.fixture(scope="session")
def spark_local() -> Iterator[Any]:
    """One local[2] session for the whole test session (one already active is reused)."""
    need_spark()
    from pyspark.sql import SparkSession

    from greta_core.errors import SparkUnavailableError
    from greta_core.ingestion.spark_connector import SparkConnector

    owned = SparkSession.getActiveSession() is None
    try:
        session = SparkConnector({"spark.master": "local[2]"}).initialize_spark_session()
    except SparkUnavailableError as e:
        unavailable(str(e))
    yield session
    if owned:
        session.stop()


@pytest.fixture(scope="session")
def spark_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkStandalone]:
    need_spark()
    s = SparkStandalone(tmp_path_factory.mktemp("spark-standalone"))
    try:
        yield s.start()
    finally:
        s.stop()
