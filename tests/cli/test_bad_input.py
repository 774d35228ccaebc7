"""Bad input (issue 2, DESIGN §8): one line on stderr, exit status 2, no traceback, no output.

Every case runs ``python -m greta_cli.app run ...`` as a subprocess, exactly as a user types
it; the subprocesses run side by side so the whole module stays fast. A few cases also run in
process through typer's ``CliRunner``.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from greta_cli.app import app

FAST = ["--set", "hypothesis_search.num_generations=5", "--set", "hypothesis_search.pop_size=20"]
OUTPUTS = ["--output", "out/results.json", "--report", "out/report.html"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    env["PYTHONWARNINGS"] = "default"  # a stray warning would show up as a second line
    return env


def greta(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greta_cli.app", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)


# ------------------------------------------------------------------------------ data makers
def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"income": rng.normal(50, 10, n), "age": rng.integers(18, 80, n),
                       "plan": rng.choice(["basic", "plus", "pro"], n)})
    df["spend"] = 0.5 * df["income"] + rng.normal(0, 5, n)
    return df


def _csv(name: str = "data.csv", **columns: object) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        df = _frame()
        for k, v in columns.items():
            df[k] = v
        df.to_csv(d / name, index=False)
    return make


def _text(name: str, text: str) -> Callable[[Path], None]:
    return lambda d: (d / name).write_text(text, encoding="utf-8")


def _bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda d: (d / name).write_bytes(data)


def _both(*makers: Callable[[Path], None]) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        for m in makers:
            m(d)
    return make


def _quotes(d: Path) -> None:
    rows = ["income,plan,spend"] + [f"{i},p{i % 3},{i * 2}" for i in range(300)]
    rows[150] = '149,"p2,298'
    (d / "data.csv").write_text("\n".join(rows) + "\n")


def _damaged_xlsx(d: Path) -> None:
    """A real workbook whose sheet XML is cut in half."""
    import zipfile

    good = d / "good.xlsx"
    _frame().to_excel(good, index=False)
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(d / "data.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) // 2]
            zout.writestr(item.filename, data)
    good.unlink()


ROWS = "".join(f"{i},{i % 7},{i * 3 % 11}\n" for i in range(300))
GARBAGE = np.random.default_rng(42).integers(0, 256, 4096, dtype=np.uint8).tobytes()


@dataclass
class Case:
    make: Callable[[Path], None]
    args: list[str]
    says: list[str] = field(default_factory=list)  # parts of the one-line message


# The bad input a user is most likely to give: each runs as a subprocess.
CASES: dict[str, Case] = {
    "missing file": Case(lambda d: None, ["--data", "nope.csv", "--target", "spend"],
                         ["'nope.csv'", "does not exist"]),
    "empty file": Case(_bytes("data.csv", b""), ["--data", "data.csv", "--target", "spend"],
                       ["empty"]),
    "header only": Case(_text("data.csv", "income,age,spend\n"),
                        ["--data", "data.csv", "--target", "spend"], ["no data rows"]),
    "one row": Case(_text("data.csv", "income,age,spend\n1,2,3\n"),
                    ["--data", "data.csv", "--target", "spend"], ["only 1 row", "at least"]),
    "unknown target": Case(_csv(), ["--data", "data.csv", "--target", "spnd"],
                           ["'spnd'", "Did you mean 'spend'"]),
    "constant target": Case(_csv(spend=4.0), ["--data", "data.csv", "--target", "spend"],
                            ["constant"]),
    "all-missing target": Case(_csv(spend=np.nan), ["--data", "data.csv", "--target", "spend"],
                               ["all missing"]),
    "binary garbage": Case(_bytes("data.csv", GARBAGE), ["--data", "data.csv", "--target", "y"],
                           ["not a text file"]),
    "broken excel": Case(_bytes("data.xlsx", b"this is not a zip file" * 20),
                         ["--data", "data.xlsx", "--target", "spend"], ["Excel"]),
    "broken parquet": Case(_bytes("data.parquet", b"PAR1" + GARBAGE),
                           ["--data", "data.parquet", "--target", "spend"], ["Parquet"]),
    "unbalanced quotes": Case(_quotes, ["--data", "data.csv", "--target", "spend"],
                              ["unbalanced quotes"]),
    "duplicate column names": Case(_text("data.csv", "a,b,a,spend\n" + ROWS.replace("\n", ",1\n")),
                                   ["--data", "data.csv", "--target", "spend"], ["duplicate", "'a'"]),
    "unknown backend": Case(_csv(), ["--data", "data.csv", "--target", "spend", "--backend", "gpu"],
                            ["'gpu'", "pandas", "--backend"]),
    "invalid --set value": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                         "--set", "statistics.alpha=2"],
                                ["statistics.alpha", "2", "less than 1"]),
    "unknown --set key": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                       "--set", "statistics.alpah=0.1"],
                              ["statistics.alpah", "Did you mean 'statistics.alpha'"]),
    "broken yaml": Case(_both(_csv(), _text("greta.yml", "data:\n  target: [spend\n  path: x\n")),
                        ["greta.yml", "--data", "data.csv"], ["greta.yml", "not valid YAML", "line"]),
    "malicious yaml": Case(_both(_csv(), _text(
        "greta.yml", 'data: !!python/object/apply:os.system ["touch PWNED"]\n')),
        ["greta.yml", "--data", "data.csv", "--target", "spend"], ["!!python/object/apply:os.system"]),
    "output folder missing": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                           "--output", "nowhere/r.json"], ["nowhere", "does not exist"]),
    "report folder missing": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                           "--report", "nowhere/r.html"], ["nowhere", "does not exist"]),
}

# More bad input, run in process (typer's CliRunner) to keep the module fast.
MORE_CASES: dict[str, Case] = {
    "header only, no newline": Case(_text("data.csv", "income,age,spend"),
                                    ["--data", "data.csv", "--target", "spend"], ["no data rows"]),
    "binary garbage, no extension": Case(_bytes("data", GARBAGE), ["--data", "data", "--target", "y"],
                                         ["'data'"]),
    "broken json lines": Case(_text("data.jsonl", '{"a": 1, "spend": 2}\n{"a": 2, "spend": \n'),
                              ["--data", "data.jsonl", "--target", "spend"], ["JSON Lines"]),
    "damaged excel sheet": Case(_damaged_xlsx, ["--data", "data.xlsx", "--target", "spend"],
                                ["damaged"]),
    "data is a folder": Case(lambda d: (d / "folder").mkdir(), ["--data", "folder", "--target", "y"],
                             ["directory"]),
    "--set without =": Case(_csv(), ["--data", "data.csv", "--target", "spend", "--set", "alpha"],
                            ["section.key=value"]),
    "--seed out of range": Case(_csv(), ["--data", "data.csv", "--target", "spend", "--seed", "-1"],
                                ["hypothesis_search.seed", "--seed"]),
    "malicious yaml, nested": Case(_both(_csv(), _text(
        "greta.yml", 'statistics:\n  alpha: !!python/object/new:os.system ["touch PWNED"]\n')),
        ["greta.yml", "--data", "data.csv", "--target", "spend"], ["not allowed"]),
    "missing config file": Case(_csv(), ["nope.yml", "--data", "data.csv", "--target", "spend"],
                                ["nope.yml", "does not exist"]),
    "no target given": Case(_csv(), ["--data", "data.csv"], ["--target"]),
    "report format unknown": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                           "--report", "out/r.pdf"], ["'out/r.pdf'", ".html"]),
    "values too large": Case(_csv(spend=np.r_[1e300, np.arange(299.0)]),
                             ["--data", "data.csv", "--target", "spend"], ["too large", "'spend'"]),
    "output is the data file": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                             "--output", "data.csv"], ["'data.csv'", "destroy"]),
    "output and report the same file": Case(_csv(), ["--data", "data.csv", "--target", "spend",
                                                     "--output", "out/r.json", "--report", "out/r.json"],
                                            ["'out/r.json'"]),
    "unknown decimal mark": Case(_csv(), ["--data", "data.csv", "--target", "spend", "--set", "data.decimal=;"],
                                 ["data.decimal", "','"]),
    "no feature columns": Case(_text("data.csv", "spend\n" + "".join(f"{i % 9}\n" for i in range(300))),
                               ["--data", "data.csv", "--target", "spend"], ["feature columns"]),
}


def _prepare(root: Path, name: str, case: Case) -> Path:
    d = root / name.replace(" ", "_").replace(",", "").replace("=", "eq").replace("-", "_")
    (d / "out").mkdir(parents=True)
    case.make(d)
    return d


def _outputs(args: list[str]) -> list[str]:
    return [] if "--output" in args or "--report" in args else OUTPUTS


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Run every case once as a subprocess, side by side, each in its own folder."""
    root = tmp_path_factory.mktemp("bad_input")
    dirs = {name: _prepare(root, name, case) for name, case in CASES.items()}

    def one(name: str) -> subprocess.CompletedProcess[str]:
        args = CASES[name].args
        return greta("run", *args, *_outputs(args), *FAST, cwd=dirs[name])

    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) + 1) as pool:
        procs = dict(zip(CASES, pool.map(one, CASES)))
    return {name: (dirs[name], procs[name]) for name in CASES}


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


def _check(name: str, case: Case, d: Path, code: int, out: str, err: str) -> None:
    assert code == 2, (name, code, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("greta: error: ")
    for part in case.says:
        assert part in lines[0], (part, lines[0])
    assert len(lines[0]) < 400, lines[0]
    assert out == ""
    # no output file, no temporary file left behind
    assert not (d / "out" / "results.json").exists() and not (d / "out" / "report.html").exists()
    assert list((d / "out").iterdir()) == []
    assert not (d / "PWNED").exists()


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_no_output(name: str, results) -> None:
    d, proc = results[name]
    before = _files(d)
    _check(name, CASES[name], d, proc.returncode, proc.stdout, proc.stderr)
    assert _files(d) == before  # nothing was created anywhere in the folder


@pytest.mark.parametrize("name", list(MORE_CASES))
def test_more_bad_input_in_process(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = MORE_CASES[name]
    d = _prepare(tmp_path, name, case)
    before = _files(d)
    monkeypatch.chdir(d)
    for key in [k for k in os.environ if k.startswith("GRETA")]:
        monkeypatch.delenv(key)
    res = CliRunner().invoke(app, ["run", *case.args, *_outputs(case.args), *FAST])
    _check(name, case, d, res.exit_code, res.stdout, res.stderr)
    assert _files(d) == before


def test_malicious_yaml_never_runs_code(results) -> None:
    d, proc = results["malicious yaml"]
    assert proc.returncode == 2
    assert not (d / "PWNED").exists()
    assert not (Path.cwd() / "PWNED").exists()


# ------------------------------------------------------------------------- in process (CliRunner)
@pytest.mark.parametrize(("args", "says"), [
    (["--data", "{d}/nope.csv", "--target", "y"], "does not exist"),
    (["--data", "{d}/data.csv", "--target", "spnd"], "Did you mean 'spend'"),
    (["--data", "{d}/data.csv", "--target", "spend", "--set", "statistics.alpha=2"], "statistics.alpha"),
])
def test_cli_runner_sees_the_same_one_line_errors(tmp_path: Path, args: list[str], says: str) -> None:
    _csv()(tmp_path)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["run", *[a.format(d=tmp_path) for a in args],
                                   "--output", str(out), *FAST])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert res.stderr.startswith("greta: error: ") and res.stderr.count("\n") == 1
    assert says in res.stderr and "Traceback" not in res.output
    assert not out.exists()


def test_cli_runner_report_and_init_errors(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and res.stderr.startswith("greta: error: ")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = CliRunner().invoke(app, ["report", str(bad), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "not valid JSON" in res.stderr and res.stderr.count("\n") == 1
    assert not (tmp_path / "r.html").exists()
    res = CliRunner().invoke(app, ["init", "--data", str(tmp_path / "nope.csv"), "--target", "y",
                                   "-o", str(tmp_path / "greta.yml")])
    assert res.exit_code == 2 and "does not exist" in res.stderr
    assert not (tmp_path / "greta.yml").exists()
    _csv()(tmp_path)
    data = str(tmp_path / "data.csv")
    for args, says in ((["--target", ""], "data.target"), (["--target", "spnd"], "Did you mean 'spend'"),
                       (["--target", "spend", "-o", str(tmp_path)], "folder")):
        res = CliRunner().invoke(app, ["init", "--data", data, "-o", str(tmp_path / "greta.yml"), *args])
        assert res.exit_code == 2, (args, res.output, res.exception)
        assert res.stderr.startswith("greta: error: ") and res.stderr.count("\n") == 1
        assert says in res.stderr, res.stderr
        assert not (tmp_path / "greta.yml").exists()
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "folder" in res.stderr


# --------------------------------------------------------------------------------- --debug
def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = greta("run", "--data", "nope.csv", "--target", "y", "--debug", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert "DataFileNotFoundError" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1].startswith("greta: error: ")


# ------------------------------------------------------------------ unicode and markup in names
EVIL = "<b>x&y</b>"
UNICODE = "température_°C"
EVIL_LEVEL = "<script>alert(1)</script>"


def test_unicode_and_markup_in_column_names(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 800
    df = pd.DataFrame({UNICODE: rng.normal(size=n), EVIL: rng.normal(size=n),
                       'q"uote\'s': rng.normal(size=n),
                       "kind": rng.choice([EVIL_LEVEL, "a&b", "plain"], n)})
    df["spend <€>"] = 2 * df[UNICODE] + 1.5 * df[EVIL] + (df["kind"] == EVIL_LEVEL) + rng.normal(size=n)
    df.to_csv(tmp_path / "data.csv", index=False)
    proc = greta("run", "--data", "data.csv", "--target", "spend <€>", "--output", "r.json",
                 "--report", "r.html", "--quiet", *FAST, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["target"] == "spend <€>"
    _check_results_contract(doc)
    used = {c["name"] for c in doc["data"]["columns_used"]}
    assert {UNICODE, EVIL, "kind"} <= used
    confirmed = {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]}
    assert {UNICODE, EVIL} <= confirmed
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert UNICODE in page
    assert html.escape(EVIL) in page or html.escape(EVIL, quote=False) in page
    for raw in (EVIL, "<b>", "</b>", EVIL_LEVEL, "<script", "spend <€>"):
        assert raw not in page, raw


def test_infinite_values_count_as_missing(tmp_path: Path) -> None:
    df = _frame(600, seed=3)
    df["income"] = df["income"].astype(object)
    df.loc[[5, 50, 500], "income"] = ["inf", "-inf", "Infinity"]
    df.loc[[7, 70], "spend"] = [np.inf, -np.inf]
    df.to_csv(tmp_path / "data.csv", index=False)
    res = CliRunner().invoke(app, ["run", "--data", str(tmp_path / "data.csv"), "--target", "spend",
                                   "--output", str(tmp_path / "r.json"), "--quiet", *FAST])
    assert res.exit_code == 0, (res.output, res.exception)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["data"]["rows_used"] == 598  # the two rows with an infinite target are left out
    assert any("income" in h["features"] for h in doc["hypotheses"] if h["confirmed"])


def _check_results_contract(doc: dict) -> None:
    """The results JSON that issue 2 fixes as a contract for other tools."""
    for key in ("schema_version", "target", "task", "data", "hypotheses", "summary", "notes",
                "metrics", "config"):
        assert key in doc, key
    assert doc["task"] in ("regression", "binary", "multiclass")
    assert isinstance(doc["summary"], str) and doc["summary"]
    data = doc["data"]
    assert data["rows"] > 0 and data["backend"]
    assert all({"name", "kind"} <= set(c) for c in data["columns_used"])
    assert all({"name", "reason"} <= set(c) for c in data["columns_dropped"])
    assert doc["hypotheses"]
    for rank, h in enumerate(doc["hypotheses"], 1):
        assert h["rank"] == rank
        assert isinstance(h["terms"], list) and isinstance(h["features"], list)
        assert isinstance(h["confirmed"], bool) and isinstance(h["narrative"], str)
        for split in ("discovery", "holdout"):
            assert 0 <= h[split]["p_value"] <= 1 and "r2" in h[split]
        assert "q_value" in h["holdout"]
        for e in h["effects"]:
            assert {"term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "q_value"} <= set(e)
            if h["confirmed"]:
                assert e["ci_low"] <= e["estimate"] <= e["ci_high"]
    for stage in ("rows_per_second", "peak_memory_mb", "cpu_seconds"):
        assert stage in doc["metrics"]


def test_a_few_text_cells_in_a_numeric_column(tmp_path: Path) -> None:
    df = _frame(600, seed=4)
    df["income"] = df["income"].round(3).astype(object)
    df.loc[[9, 99, 399], "income"] = ["unknown", "n.a", "see notes"]
    df.to_csv(tmp_path / "data.csv", index=False)
    res = CliRunner().invoke(app, ["run", "--data", str(tmp_path / "data.csv"), "--target", "spend",
                                   "--output", str(tmp_path / "r.json"), "--quiet", *FAST])
    assert res.exit_code == 0, (res.output, res.exception)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {"name": "income", "kind": "numeric"} in [{k: c[k] for k in ("name", "kind")} for c in doc["data"]["columns_used"]]
    assert doc["data"]["rows_used"] == 600
    assert any("income" in h["features"] for h in doc["hypotheses"] if h["confirmed"])
