"""No command writes over what it reads: an output that is (or would become part of) an input is
refused in one line naming both, exit 2, before any work, and the input is left as it was.

Each way of naming the same file is tried: a ``file://`` URL, a symlink, a hard link, ``..``, a
file of a folder or glob input, the config file itself. The job command (`greta results`) is
tested with the job tests (tests/cli/job_management).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from greta_cli.app import app

FAST = ["--set", "hypothesis_search.num_generations=5", "--set", "hypothesis_search.pop_size=20"]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder (the current one) with data.csv and parts/a.csv, parts/b.csv."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"income": rng.normal(50, 10, 300), "age": rng.integers(18, 80, 300)})
    df["spend"] = 0.5 * df["income"] + rng.normal(0, 5, 300)
    df.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "parts").mkdir()
    df[:150].to_csv(tmp_path / "parts" / "a.csv", index=False)
    df[150:].to_csv(tmp_path / "parts" / "b.csv", index=False)
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("GRETA")]:
        monkeypatch.delenv(key)
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def refused(root: Path, args: list[str], output: str, source: str) -> str:
    """Run ``greta ARGS``: it must fail in one line naming ``output`` and the input ``source``,
    and leave every file as it was (no output, no temporary file)."""
    before = snapshot(root)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, (args, res.exit_code, res.output, res.exception)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("greta: error: Refusing to write "), res.stderr
    assert f"{output!r}" in lines[0] and f"{source!r}" in lines[0], lines[0]
    assert "Traceback" not in res.output
    assert snapshot(root) == before
    return lines[0]


def test_run_output_is_the_data_through_a_file_url(folder: Path) -> None:
    data = f"file://{folder / 'data.csv'}"
    line = refused(folder, ["run", "--data", data, "--target", "spend", "--backend", "dask",
                            "--output", str(folder / "data.csv"), *FAST], str(folder / "data.csv"), data)
    assert "(--output): it is the data file" in line
    line = refused(folder, ["run", "--data", data, "--target", "spend", "--backend", "dask",
                            "--report", "./parts/../data.csv", *FAST], "./parts/../data.csv", data)
    assert "(--report)" in line


def test_run_output_is_a_symlink_or_hard_link_to_the_data(folder: Path) -> None:
    (folder / "link.json").symlink_to(folder / "data.csv")
    os.link(folder / "data.csv", folder / "hard.json")
    for out in ("link.json", "hard.json", "parts/../data.csv"):
        line = refused(folder, ["run", "--data", "data.csv", "--target", "spend", "--output", out, *FAST],
                       out, "data.csv")
        assert "it is the data file" in line and "destroy" in line


def test_run_output_inside_a_folder_or_glob_input(folder: Path) -> None:
    for out in ("parts/a.csv", "parts/results.json"):  # a part, or a new file the next run reads
        line = refused(folder, ["run", "--data", "parts", "--target", "spend", "--backend", "dask",
                                "--output", out, *FAST], out, "parts")
        assert "inside the data folder" in line
    line = refused(folder, ["run", "--data", "parts/*.csv", "--target", "spend", "--backend", "dask",
                            "--output", "parts/b.csv", *FAST], "parts/b.csv", "parts/*.csv")
    assert "one of the files of the data glob" in line
    line = refused(folder, ["run", "--data", "parts/*.csv", "--target", "spend", "--backend", "dask",
                            "--output", "parts/c.csv", *FAST], "parts/c.csv", "parts/*.csv")
    assert "would read it as data" in line
    os.link(folder / "parts" / "a.csv", folder / "copy.json")  # a hard link to a part, outside
    refused(folder, ["run", "--data", "parts", "--target", "spend", "--backend", "dask",
                     "--output", "copy.json", *FAST], "copy.json", "parts")


def test_run_outputs_of_the_config_file_onto_itself_or_the_data(folder: Path) -> None:
    (folder / "greta.yml").write_text("data:\n  path: data.csv\n  target: spend\n"
                                      "output:\n  results: greta.yml\n")
    line = refused(folder, ["run", "greta.yml", *FAST], "greta.yml", "greta.yml")
    assert "(output.results): it is the config file" in line
    (folder / "sub").mkdir()
    (folder / "sub" / "r.yml").write_text("data:\n  path: ../data.csv\n  target: spend\n"
                                          "output:\n  report: data.csv\n")
    refused(folder, ["run", "sub/r.yml", *FAST], "data.csv", "sub/../data.csv")


def test_report_onto_its_results_file(folder: Path) -> None:
    res = CliRunner().invoke(app, ["run", "--data", "data.csv", "--target", "spend", "-o", "r.json",
                                   "--quiet", *FAST])
    assert res.exit_code == 0, res.output
    line = refused(folder, ["report", "r.json", "-o", "r.json"], "r.json", "r.json")
    assert "it is the results file" in line
    refused(folder, ["report", "r.json", "--format", "md", "-o", str(folder / "r.json")],
            str(folder / "r.json"), "r.json")


def test_init_onto_the_data_it_reads(folder: Path) -> None:
    line = refused(folder, ["init", "--data", "data.csv", "--target", "spend", "-o", "data.csv",
                            "--force"], "data.csv", "data.csv")
    assert "it is the data file" in line


def test_config_migrate_onto_its_input_or_the_data(folder: Path) -> None:
    (folder / "old.yml").write_text("data:\n  source: data.csv\n  target_column: spend\n")
    refused(folder, ["config", "migrate", "old.yml", "-o", "old.yml", "--force"], "old.yml", "old.yml")
    line = refused(folder, ["config", "migrate", "old.yml", "-o", "data.csv", "--force"],
                   "data.csv", "data.csv")
    assert "it is the data file" in line
    res = CliRunner().invoke(app, ["config", "migrate", "old.yml", "-o", "new.yml"])
    assert res.exit_code == 0 and "path: data.csv" in (folder / "new.yml").read_text()


def test_other_outputs_are_written(folder: Path) -> None:
    """The guard does not stop what is fine: new files beside the data."""
    res = CliRunner().invoke(app, ["run", "--data", "data.csv", "--target", "spend", "-o", "out.json",
                                   "--report", "out.md", "--quiet", *FAST])
    assert res.exit_code == 0, res.output
    assert json.loads((folder / "out.json").read_text())["target"] == "spend"


def test_the_python_api_does_not_write_over_the_data(folder: Path) -> None:
    import greta
    from greta_core.errors import InvalidConfigError

    result = greta.analyze("data.csv", target="spend", hypothesis_search={"num_generations": 5})
    before = snapshot(folder)
    for call in (lambda: result.to_json("data.csv"), lambda: result.report("./data.csv", format="md")):
        with pytest.raises(InvalidConfigError, match="it is the data file 'data.csv'"):
            call()
    assert snapshot(folder) == before
