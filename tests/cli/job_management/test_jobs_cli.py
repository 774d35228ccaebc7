"""The job commands as a user types them, for what needs no running service: one-line
errors with exit 2, `greta run --async` falling back to the foreground, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from greta_cli.job_management.models import new_job_id

BLOCK_CELERY = ("import sys; sys.modules['celery'] = None; sys.modules['kombu'] = None; "
                "from greta_cli.app import main; sys.argv = ['greta'] + sys.argv[1:]; main()")


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greta: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_app_import_stays_light() -> None:
    code = ("import sys, greta_cli.app; heavy = [m for m in ('celery', 'kombu', 'redis', "
            "'sqlalchemy', 'pandas', 'numpy', 'greta_cli.job_management.celery_app') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_ids_states_and_unknown_jobs(jobs_factory: Any) -> None:
    jobs = jobs_factory()
    assert "is not a job id" in one_line_error(jobs.greta("status", "not-an-id"))
    unknown = new_job_id()
    line = one_line_error(jobs.greta("results", unknown))
    assert f"No job with id '{unknown}'" in line and "greta list" in line
    assert "Allowed: queued, running" in one_line_error(jobs.greta("list", "--state", "done"))
    assert "No job" in one_line_error(jobs.greta("cancel", unknown))
    empty = jobs.greta("list")
    assert empty.returncode == 0 and "No jobs" in empty.stdout
    listed = jobs.greta("list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_submit_user_errors(jobs_factory: Any, data_csv: Path, kit: Any) -> None:
    jobs = jobs_factory()
    line = one_line_error(jobs.greta("submit", "--data", "missing.csv", "--target", "y"))
    assert "missing.csv" in line and "does not exist" in line
    line = one_line_error(jobs.greta("submit", "--data", str(data_csv)))
    assert "No target column" in line
    port = kit.free_port()
    line = one_line_error(jobs.greta("submit", "--data", str(data_csv), "--target", "y",
                                     GRETA_BROKER_URL=f"redis://:s3cret@127.0.0.1:{port}/0"))
    assert f"redis://:***@127.0.0.1:{port}/0" in line and "s3cret" not in line


def test_submit_refuses_a_row_filter_outside_the_language(jobs_factory: Any, data_csv: Path) -> None:
    jobs = jobs_factory()
    attack = "@pd.core.frame.com.builtins.__import__('os').system('id > p') == 0 or x1 == x1"
    line = one_line_error(jobs.greta("submit", "--data", str(data_csv), "--target", "y",
                                     "--set", f"data.row_filter={attack}"))
    assert "unexpected '@' at position 1" in line and "never run as Python" in line
    line = one_line_error(jobs.greta("submit", "--data", str(data_csv), "--target", "y",
                                     "--set", "data.row_filter=x1 > 0 or len(x2) > 1"))
    assert "unexpected 'len' at position 11: function calls are not allowed" in line
    listed = jobs.greta("list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []  # nothing was queued
    assert not (jobs.tmp / "p").exists()


def test_without_celery(jobs_factory: Any, data_csv: Path, kit: Any) -> None:
    jobs = jobs_factory()
    line = one_line_error(subprocess.run(
        [sys.executable, "-c", BLOCK_CELERY, "submit", "--data", str(data_csv), "--target", "y"],
        env=jobs.env, capture_output=True, text=True, check=False, timeout=120))
    assert 'pip install "greta[jobs]"' in line
    run = subprocess.run([sys.executable, "-c", BLOCK_CELERY, "run", "--data", str(data_csv),
                          "--target", "y", "--seed", "1", "--async", *kit.sets(kit.FAST)],
                         env=jobs.env, capture_output=True, text=True, check=False, timeout=180)
    assert run.returncode == 0, run.stderr
    assert "greta: warning:" in run.stderr and "Running in the foreground instead" in run.stderr
    assert json.loads(run.stdout)["hypotheses"][0]["terms"] == ["x1"]


def test_run_async_with_no_usable_broker_runs_in_the_foreground(
        jobs_factory: Any, data_csv: Path, kit: Any, reference_results: dict[str, Any]) -> None:
    jobs = jobs_factory()
    url = f"redis://:s3cret@127.0.0.1:{kit.free_port()}/0"
    run = jobs.greta("run", "--data", str(data_csv), "--target", "y", "--seed", "1", "--async",
                     *kit.sets(kit.MEDIUM), GRETA_BROKER_URL=url)
    assert run.returncode == 0, run.stderr
    assert "Cannot reach the job broker" in run.stderr and "s3cret" not in run.stderr
    assert kit.essentials(json.loads(run.stdout)) == kit.essentials(reference_results)


def test_results_never_overwrite_the_jobs_data(jobs_factory: Any, data_csv: Path) -> None:
    """JSON Lines data named .json: `greta results ID -o data.json` would write the results (JSON,
    from the extension) over the data. Refused before the job is even looked at for results,
    so a queued job (no worker here) shows it. Its target, named with an escape sequence, is
    shown escaped by `greta status` and `greta list`."""
    jobs = jobs_factory()
    target = "y\x1b]0;PWNED\x07\u202e"
    names = ("x1", "x2", "x3", "x4", target)
    rows = [dict(zip(names, map(float, line.split(","))))
            for line in data_csv.read_text().splitlines()[1:]]
    data = jobs.tmp / "data.json"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = data.read_bytes()
    sub = jobs.greta("submit", "--data", str(data), "--target", target, "--no-worker")
    assert sub.returncode == 0, sub.stderr
    job_id = sub.stdout.strip()
    (jobs.tmp / "link.json").symlink_to(data)
    (jobs.tmp / "sub").mkdir()
    for out in ("data.json", "./sub/../data.json", "link.json", str(data)):
        line = one_line_error(jobs.greta("results", job_id, "-o", out))
        assert f"Refusing to write {out!r} (--output)" in line, line
        assert f"the job's data file {str(data)!r}" in line, line
    assert data.read_bytes() == before
    assert sorted(p.name for p in jobs.tmp.iterdir() if p.suffix == ".json") == ["data.json", "link.json"]
    line = one_line_error(jobs.greta("results", job_id, "-o", "other.json"))
    assert f"Job {job_id} is queued" in line, line  # other files are fine
    for args in (("status", job_id), ("list",)):
        shown = jobs.greta(*args)
        assert shown.returncode == 0, shown.stderr
        assert "y\\x1b]0;PWNED\\x07\\u202e" in shown.stdout, shown.stdout
        assert not any(c in shown.stdout for c in "\x1b\x07\u202e"), shown.stdout
