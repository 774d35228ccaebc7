"""``greta backends``: what is installed and reachable, in a table, and what ``auto`` picks."""

from __future__ import annotations

from typing import Any

from engines import free_port
from typer.testing import CliRunner

from greta_cli.app import app


def test_backends_table_lists_engines_and_clusters(planted: dict[str, str], dask_cluster: Any) -> None:
    dead = f"spark://127.0.0.1:{free_port()}"
    res = CliRunner().invoke(app, ["backends", "--data", planted["csv-parts"],
                                   "--set", f"scalability.dask_config.address={dask_cluster.address}",
                                   "--set", f"scalability.spark_config.spark.master={dead}"],
                             terminal_width=200)
    assert res.exit_code == 0, res.output
    out = res.output
    for word in ("pandas backend", "dask", "pyspark", "Java (for Spark)", "Spark master", "Dask scheduler",
                 "Redis broker"):
        assert word in out
    assert "2 workers" in out and "not reachable" in out
    assert "auto would use: dask" in out and 'pip install "greta[spark]"' in out
