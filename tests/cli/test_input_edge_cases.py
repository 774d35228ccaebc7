"""Awkward input and output paths, as users give them: compressed files, huge or multi-line
headers, tiny target classes, unreadable files and unwritable outputs, odd column values.

Each runs ``python -m greta_cli.app run ...`` as a subprocess, exactly as a user types it. A
bad case ends with one line on stderr, exit status 2 and no file; a good one is read and its
odd columns get an honest reason or note in the results.
"""

from __future__ import annotations

import bz2
import gzip
import json
import os
import stat
import subprocess
import sys
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engines import unavailable

FAST = ["--set", "hypothesis_search.num_generations=5", "--set", "hypothesis_search.pop_size=20"]


def greta(*args: str, cwd: Path, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    env["PYTHONWARNINGS"] = "default"  # a stray warning would show up as a second line
    cmd = [sys.executable, "-m", "greta_cli.app", "run", *args, *FAST]
    if unprivileged and os.geteuid() == 0:
        # root reads and writes anything: drop the two capabilities that let it ignore file
        # permissions, so this run meets them as any user does
        cmd = [shutil.which("setpriv") or "setpriv", "--bounding-set=-dac_override,-dac_read_search",
               "--inh-caps=-all", "--", *cmd]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180,
                          check=False)


def need_permissions() -> None:
    """File permissions must apply to the greta process: not on Windows; as root only with
    ``setpriv`` (util-linux) to drop the capabilities that bypass them."""
    if os.name == "nt":
        pytest.skip("POSIX permissions only")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        unavailable("running as root without setpriv (util-linux): permissions cannot be made to apply")


def frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"income": rng.normal(50, 10, n), "age": rng.integers(18, 80, n),
                       "plan": rng.choice(["basic", "plus", "pro"], n)})
    df["spend"] = 0.5 * df["income"] + rng.normal(0, 5, n)
    return df


def one_line_error(proc: subprocess.CompletedProcess[str], *says: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("greta: error: "), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    for part in says:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def results(proc: subprocess.CompletedProcess[str], path: Path) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------- 3. a class of one row
def test_multiclass_target_with_a_one_row_class_is_refused_in_one_line(tmp_path: Path) -> None:
    df = frame()
    df["tier"] = np.where(df["income"] > 50, "high", "low")
    df.loc[17, "tier"] = "solo"
    df.to_csv(tmp_path / "data.csv", index=False)
    proc = greta("--data", "data.csv", "--target", "tier", "--output", "r.json", cwd=tmp_path)
    one_line_error(proc, "'solo'", "'tier'", "only 1 row", "Merge it")
    assert not (tmp_path / "r.json").exists()


def test_multiclass_target_with_small_but_testable_classes_works(tmp_path: Path) -> None:
    df = frame(600, seed=2)
    df["tier"] = np.where(df["income"] > 50, "high", "low")
    df.loc[df.index[::20], "tier"] = "mid"  # 30 rows: enough in both splits
    df.to_csv(tmp_path / "data.csv", index=False)
    doc = results(greta("--data", "data.csv", "--target", "tier", "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    assert doc["task"] == "multiclass" and set(doc["target_info"]["classes"]) == {"high", "low", "mid"}


# ------------------------------------------------------------- 4, 5. long and odd headers
def test_a_header_longer_than_64_kib_is_read(tmp_path: Path) -> None:
    df = frame()
    long_a, long_b = "a" * 70_000 + "_1", "a" * 70_000 + "_2"  # alike for 64 KiB and more
    df = df.rename(columns={"income": long_a, "age": long_b})
    df.to_csv(tmp_path / "data.csv", index=False)
    doc = results(greta("--data", "data.csv", "--target", "spend", "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    used = {c["name"] for c in doc["data"]["columns_used"]}
    assert {long_a, long_b, "plan"} <= used
    assert any(long_a in h["features"] for h in doc["hypotheses"] if h["confirmed"])


def test_a_line_break_inside_a_quoted_column_name(tmp_path: Path) -> None:
    df = frame().rename(columns={"income": "monthly\nincome"})
    df.to_csv(tmp_path / "data.csv", index=False)
    doc = results(greta("--data", "data.csv", "--target", "spend", "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    used = {c["name"]: c["kind"] for c in doc["data"]["columns_used"]}
    assert used["monthly\nincome"] == "numeric"
    assert doc["data"]["rows_used"] == 400


# --------------------------------------------------------------- 6. unwritable outputs
def test_output_to_proc_version_is_refused_before_the_work(tmp_path: Path) -> None:
    frame().to_csv(tmp_path / "data.csv", index=False)
    proc = greta("--data", "data.csv", "--target", "spend", "--output", "/proc/version",
                 cwd=tmp_path)
    one_line_error(proc, "'/proc/version'")
    assert "Linux" in Path("/proc/version").read_text() if Path("/proc/version").exists() else True


def test_a_read_only_output_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    need_permissions()
    frame().to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)  # read-only, for everyone but root
    for flag, name in (("--output", "r.json"), ("--report", "r.html")):
        proc = greta("--data", "data.csv", "--target", "spend", flag, f"locked/{name}",
                     cwd=tmp_path, unprivileged=True)
        line = one_line_error(proc, f"'locked/{name}'", "not", "permission denied")
        assert "Choose" in line
    out.chmod(0o755)
    assert list(out.iterdir()) == []  # no results, no temporary file


# ----------------------------------------------------------------- 7. unreadable data
def test_a_data_file_without_read_permission(tmp_path: Path) -> None:
    need_permissions()
    frame().to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "data.csv").chmod(0o000)
    try:
        proc = greta("--data", "data.csv", "--target", "spend", "--output", "r.json",
                     cwd=tmp_path, unprivileged=True)
    finally:
        (tmp_path / "data.csv").chmod(0o600)
    one_line_error(proc, "'data.csv'", "permission denied", "chmod")
    assert not (tmp_path / "r.json").exists()


def test_a_data_path_that_is_a_pipe(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(tmp_path / "data.csv")  # reading it would wait forever for a writer
    proc = greta("--data", "data.csv", "--target", "spend", "--output", "r.json", cwd=tmp_path)
    one_line_error(proc, "'data.csv'", "not a regular file")


# ------------------------------------------------------------------- 9. odd column values
def test_odd_columns_get_honest_reasons_and_notes(tmp_path: Path) -> None:
    n = 400
    df = frame(n, seed=5)
    rng = np.random.default_rng(5)
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    formats = ["%Y-%m-%d", "%d/%m/%Y", "%b %d %Y"]
    df["signed_on"] = [d.strftime(formats[i % 3]) for i, d in enumerate(days)]
    df["account"] = [str(2**70 + i) for i in range(n)]  # distinct: not "constant"
    df["branch"] = [str(2**70 + i % 3) for i in range(n)]  # three codes
    df["rate"] = rng.normal(size=n)
    df.loc[[3, 30, 300], "rate"] = [np.inf, -np.inf, np.inf]
    df.to_csv(tmp_path / "data.csv", index=False)
    doc = results(greta("--data", "data.csv", "--target", "spend", "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    dropped = {c["name"]: c["reason"] for c in doc["data"]["columns_dropped"]}
    used = {c["name"]: c["kind"] for c in doc["data"]["columns_used"]}
    assert "mixed formats" in dropped["signed_on"] and "YYYY-MM-DD" in dropped["signed_on"]
    assert dropped["account"].startswith("ID-like") and "constant" not in dropped["account"]
    assert used["branch"] == "categorical" and used["rate"] == "numeric"
    notes = "\n".join(doc["notes"])
    assert "'rate': 3 infinite value(s)" in notes and "missing" in notes
    assert "'signed_on' was not used: dates in mixed formats" in notes


def test_nested_parquet_columns_are_dropped_as_not_supported(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column("address", pa.array([{"zip": i, "city": "x"} for i in range(400)]))
    table = table.append_column("tags", pa.array([[i, i + 1] for i in range(400)]))
    pq.write_table(table, tmp_path / "data.parquet")
    doc = results(greta("--data", "data.parquet", "--target", "spend", "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    dropped = {c["name"]: c["reason"] for c in doc["data"]["columns_dropped"]}
    for name in ("address", "tags"):
        assert dropped[name].startswith("nested type not supported"), dropped
        assert "ID-like" not in dropped[name]


# ------------------------------------------------------------ 10. formats and messages
def _compressed(d: Path, name: str) -> None:
    df = frame()
    if ".jsonl" in name:
        text = df.to_json(orient="records", lines=True)
    else:
        text = df.to_csv(index=False, sep="\t" if ".tsv" in name else ",")
    data = text.encode("utf-8")
    if name.endswith(".gz"):
        (d / name).write_bytes(gzip.compress(data))
    elif name.endswith(".bz2"):
        (d / name).write_bytes(bz2.compress(data))
    else:
        import pyarrow as pa

        with pa.CompressedOutputStream(str(d / name), "zstd") as f:
            f.write(data)


@pytest.mark.parametrize("name", ["data.csv.gz", "data.tsv.bz2", "data.csv.zst",
                                  "data.jsonl.gz"])
def test_compressed_text_is_read(tmp_path: Path, name: str) -> None:
    _compressed(tmp_path, name)
    doc = results(greta("--data", name, "--target", "spend", "--output", "r.json", "--quiet",
                        cwd=tmp_path), tmp_path / "r.json")
    assert doc["data"]["rows_used"] == 400
    assert {c["name"] for c in doc["data"]["columns_used"]} == {"income", "age", "plan"}


def test_a_json_lines_field_first_seen_after_4_mb(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 90_000
    x = rng.normal(size=n)
    with open(tmp_path / "data.jsonl", "w", encoding="utf-8") as f:
        for i in range(n):
            rec = {"x": round(float(x[i]), 6), "y": round(float(2 * x[i] + rng.normal()), 6),
                   "pad": "p" * 40}
            if i > 85_000:
                rec["late"] = i % 3
            f.write(json.dumps(rec) + "\n")
    assert (tmp_path / "data.jsonl").stat().st_size > 5_000_000
    doc = results(greta("--data", "data.jsonl", "--target", "y", "--output", "r.json", "--quiet",
                        cwd=tmp_path), tmp_path / "r.json")
    assert doc["data"]["rows_used"] == n


def test_excel_errors_name_the_sheet_that_holds_the_target(tmp_path: Path) -> None:
    with pd.ExcelWriter(tmp_path / "book.xlsx") as w:
        pd.DataFrame({"note": ["read me", "first"]}).to_excel(w, sheet_name="About", index=False)
        frame().to_excel(w, sheet_name="Customers", index=False)
    proc = greta("--data", "book.xlsx", "--target", "spend", "--output", "r.json", cwd=tmp_path)
    one_line_error(proc, "'About'", "'Customers'", "data.sheet")
    proc = greta("--data", "book.xlsx", "--target", "spnd", "--set", "data.sheet=Customers",
                 "--output", "r.json", cwd=tmp_path)
    one_line_error(proc, "'spnd'", "'About', 'Customers'")
    assert not (tmp_path / "r.json").exists()


def test_report_pdf_does_not_suggest_an_option_run_lacks(tmp_path: Path) -> None:
    frame().to_csv(tmp_path / "data.csv", index=False)
    proc = greta("--data", "data.csv", "--target", "spend", "--report", "x.pdf", cwd=tmp_path)
    line = one_line_error(proc, "'x.pdf'", ".html", ".md")
    assert "--format" not in line
    assert not (tmp_path / "x.pdf").exists()


# -------------------------------------------------------- 12. permissions and symlinks
def test_outputs_keep_their_permissions_and_symlinks(tmp_path: Path) -> None:
    if os.name == "nt":
        pytest.skip("POSIX permissions and symlinks")
    frame().to_csv(tmp_path / "data.csv", index=False)
    private = tmp_path / "r.json"
    private.write_text("{}")
    private.chmod(0o600)
    real = tmp_path / "reports" / "latest.html"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "report.html"
    link.symlink_to(real)
    proc = greta("--data", "data.csv", "--target", "spend", "--output", "r.json", "--report",
                 "report.html", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert json.loads(private.read_text())["target"] == "spend"
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert "<html" in real.read_text().lower()
    assert sorted(p.name for p in real.parent.iterdir()) == ["latest.html"]  # no temp file


# ------------------------------------------------- 11. damaged files, on pandas and on Dask
BACKENDS = ["pandas", "dask"]  # Dask: its threaded scheduler in the greta process


def _dask(backend: str) -> None:
    if backend == "dask":
        from engines import need

        need("dask", "dask")


def _cut_in_half(d: Path, name: str) -> None:
    """The planted data compressed, and its compressed bytes cut in half (an interrupted download)."""
    from greta_core.datasets import planted

    text = planted(3000, seed=7).to_csv(index=False).encode()
    if name.endswith(".gz"):
        data = gzip.compress(text)
    elif name.endswith(".bz2"):
        data = bz2.compress(text)
    else:
        import pyarrow as pa

        data = pa.Codec("zstd").compress(text, asbytes=True)
    (d / name).write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("name", "codec"), [("data.csv.gz", "gzip"), ("data.csv.bz2", "bzip2"),
                                             ("data.csv.zst", "zstd")])
def test_a_truncated_compressed_file_is_refused_in_one_line(tmp_path: Path, name: str, codec: str,
                                                            backend: str) -> None:
    _dask(backend)
    _cut_in_half(tmp_path, name)
    proc = greta("--data", name, "--target", "y", "--backend", backend, "--output", "r.json", cwd=tmp_path)
    one_line_error(proc, f"'{name}' is damaged", f"its {codec} compressed stream ends early",
                   "truncated", "Download it again, or compress the original file again")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("backend", [*BACKENDS, "dask-processes"])
def test_a_truncation_found_in_the_statistics_pass_is_refused_in_one_line(tmp_path: Path, backend: str) -> None:
    """The planning sample (100 rows) is read; the cut shows up later, in the pass over every
    row (on Dask, inside the task that streams the file; with worker processes too, whose own
    log of the failed task must not reach the user)."""
    from greta_core.datasets import planted

    _dask(backend.removesuffix("-processes"))
    cluster = ["--set", 'scalability.dask_config={"processes": true, "n_workers": 2}'] if "processes" in backend else []
    backend = backend.removesuffix("-processes")
    df = planted(40_000, seed=8, features=8)
    df["note"] = "n" * 1000  # 40 MB of text: the reader's read-ahead stops well before the cut
    data = gzip.compress(df.to_csv(index=False).encode(), compresslevel=1)
    (tmp_path / "data.csv.gz").write_bytes(data[: len(data) // 2])
    proc = greta("--data", "data.csv.gz", "--target", "y", "--backend", backend, *cluster, "--output", "r.json",
                 "--set", "preprocessing.sample_rows=100", cwd=tmp_path)
    one_line_error(proc, "'data.csv.gz' is damaged: its gzip compressed stream ends early")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("backend", BACKENDS)
def test_compressed_text_on_dask_gives_the_pandas_answer(tmp_path: Path, backend: str) -> None:
    _dask(backend)
    _compressed(tmp_path, "data.csv.gz")
    _compressed(tmp_path, "data.tsv.bz2")
    for name in ("data.csv.gz", "data.tsv.bz2"):
        doc = results(greta("--data", name, "--target", "spend", "--backend", backend, "--output", "r.json",
                            "--quiet", cwd=tmp_path), tmp_path / "r.json")
        assert doc["data"]["rows_used"] == 400 and doc["data"]["backend"] == backend
        assert doc["hypotheses"][0]["confirmed"] and "income" in doc["hypotheses"][0]["features"]


def _nested_target(d: Path, kind: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 400
    table = pa.Table.from_pandas(frame(n), preserve_index=False)
    cells = {"struct": pa.array([{"zip": i, "city": "x"} for i in range(n)]),
             "list": pa.array([[i, i + 1] for i in range(n)]),
             "map": pa.array([[("k", i)] for i in range(n)], pa.map_(pa.string(), pa.int64()))}[kind]
    pq.write_table(table.append_column("y", cells), d / "data.parquet")


@pytest.mark.parametrize(("kind", "backend"), [("struct", "pandas"), ("struct", "dask"), ("list", "pandas"),
                                               ("map", "pandas"), ("list", "dask")])
def test_a_nested_parquet_target_is_refused_in_one_line(tmp_path: Path, kind: str, backend: str) -> None:
    _dask(backend)
    _nested_target(tmp_path, kind)
    proc = greta("--data", "data.parquet", "--target", "y", "--backend", backend, "--output", "r.json",
                 cwd=tmp_path)
    one_line_error(proc, f"Target column 'y' is a {kind} column (nested values), which cannot be analysed",
                   "Choose another --target, or flatten it")
    assert not (tmp_path / "r.json").exists()


def test_nested_parquet_columns_are_dropped_on_dask_too(tmp_path: Path) -> None:
    _dask("dask")
    _nested_target(tmp_path, "struct")
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "data.parquet").rename_columns(["income", "age", "plan", "spend", "address"])
    pq.write_table(table, tmp_path / "data.parquet")
    doc = results(greta("--data", "data.parquet", "--target", "spend", "--backend", "dask", "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    dropped = {c["name"]: c["reason"] for c in doc["data"]["columns_dropped"]}
    assert dropped["address"].startswith("nested type not supported (a struct column)"), dropped
    assert "'address' was not used: nested type not supported" in "\n".join(doc["notes"])


# ------------------------------------------------ 12. numbers as spreadsheets format them
def _grouped(d: Path, group: str, name: str = "data.csv") -> np.ndarray:
    """The planted data as a spreadsheet in much of Europe exports it: ';' between fields,
    decimal commas, and the main driver x1 (as 3000 + 1000·x1) with thousands grouped by
    ``group``: 3.455,84 or 3 455,84. Returns x1's true values."""
    from greta_core.datasets import planted

    df = planted(4000, seed=1, features=8)  # few columns: the short search of these tests finds x1
    truth = np.round(3000 + 1000 * df["x1"].to_numpy(), 2)
    df["x1"] = [("-" if v < 0 else "") + f"{abs(v):,.2f}".replace(",", "\0").replace(".", ",").replace("\0", group)
                for v in truth]
    df.to_csv(d / name, sep=";", decimal=",", index=False)
    return truth


@pytest.mark.parametrize(("group", "backend", "told"), [
    (".", "pandas", False), (" ", "pandas", False), ("\u00a0", "pandas", False), ("\u202f", "pandas", False),
    (".", "dask", False), ("\u202f", "dask", False), (".", "pandas", True), (" ", "dask", True),
])
def test_thousands_separators_with_decimal_commas_are_read_as_numbers(tmp_path: Path, group: str, backend: str,
                                                                      told: bool) -> None:
    _dask(backend)
    _grouped(tmp_path, group)
    assert f"3{group}" in (tmp_path / "data.csv").read_text(encoding="utf-8")
    setting = ["--set", "data.decimal=,"] if told else []
    doc = results(greta("--data", "data.csv", "--target", "y", "--backend", backend, *setting, "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    assert doc["data"]["columns_dropped"] == []
    assert {c["name"]: c["kind"] for c in doc["data"]["columns_used"]}["x1"] == "numeric"
    confirmed = {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]}
    assert {"x1", "x3"} <= confirmed, confirmed
    # x1's effect is 2 per 1000 units (its sd): the number 3.455,84 was read as 3455.84
    (x1,) = [c for c in doc["columns"] if c["name"] == "x1"]
    change = x1["effect"]["changes"][0]
    width = x1["effect"]["to"] - x1["effect"]["from"]
    assert 1.0 < width / 1000 < 1.6 and change["ci_low"] < 2 * width / 1000 < change["ci_high"], x1["effect"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_target_with_both_decimal_marks_is_named_with_the_fix(tmp_path: Path, backend: str) -> None:
    _dask(backend)
    from greta_core.datasets import planted

    df = planted(3000, seed=2)
    y = df["y"].map(lambda v: f"{v:.5f}")
    y[::2] = y[::2].str.replace(".", ",")
    df["y"] = y
    df.to_csv(tmp_path / "data.csv", sep=";", index=False)
    proc = greta("--data", "data.csv", "--target", "y", "--backend", backend, cwd=tmp_path)
    one_line_error(proc, "Target column 'y' holds numbers written with both decimal commas",
                   "and decimal points", "write every number with one decimal mark", "--set data.decimal")
    df["y"] = df["y"].str.replace(".", ",")  # every target value with a comma, the features with points
    df.to_csv(tmp_path / "data.csv", sep=";", index=False)
    proc = greta("--data", "data.csv", "--target", "y", "--backend", backend, cwd=tmp_path)
    one_line_error(proc, "Target column 'y' holds numbers written with decimal commas", "decimal mark is '.'",
                   "--set data.decimal=','")
    # the fix given works: the target is read, the features written with points still are
    doc = results(greta("--data", "data.csv", "--target", "y", "--backend", backend, "--set", "data.decimal=,",
                        "--output", "r.json", "--quiet", cwd=tmp_path), tmp_path / "r.json")
    assert doc["data"]["columns_dropped"] == [] and doc["task"] == "regression"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_feature_in_the_other_decimal_convention_is_read_with_a_note_and_ids_stay_ids(tmp_path: Path,
                                                                                      backend: str) -> None:
    from greta_core.datasets import planted

    _dask(backend)
    df = planted(4000, seed=1, features=8)
    df["x1"] = df["x1"].map(lambda v: f"{v:.5f}".replace(".", ","))  # the main driver, with decimal commas
    df["account"] = [f"AC-{i:06d}" for i in range(len(df))]
    df.to_csv(tmp_path / "data.csv", sep=";", index=False)
    doc = results(greta("--data", "data.csv", "--target", "y", "--backend", backend, "--output", "r.json",
                        "--quiet", cwd=tmp_path), tmp_path / "r.json")
    dropped = {c["name"]: c["reason"] for c in doc["data"]["columns_dropped"]}
    assert set(dropped) == {"account"} and dropped["account"].startswith("ID-like")
    assert {c["name"]: c["kind"] for c in doc["data"]["columns_used"]}["x1"] == "numeric"
    assert "x1" in {f for h in doc["hypotheses"] if h["confirmed"] for f in h["features"]}
    assert any(n.startswith("Column 'x1': numbers written with decimal commas (e.g. ") and
               "read with decimal commas" in n for n in doc["notes"]), doc["notes"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_xz_compressed_text_is_refused_by_name(tmp_path: Path, backend: str) -> None:
    import lzma

    _dask(backend)
    (tmp_path / "data.csv.xz").write_bytes(lzma.compress(frame().to_csv(index=False).encode()))
    proc = greta("--data", "data.csv.xz", "--target", "spend", "--backend", backend, cwd=tmp_path)
    one_line_error(proc, "'data.csv.xz' is xz (or lzma) compressed", "gzip, bzip2 or zstd")
