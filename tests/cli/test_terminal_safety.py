"""Names from the data cannot drive the terminal or inject markup: a column named with an escape
sequence (window title, clear screen), a bell, a bidi override, rich markup or HTML is shown
escaped by `greta run` (piped and on a pseudo-terminal), `greta report --format text|md`, error
lines and the config `greta init` writes; a 70,000-character name is shortened for display and
printed quickly. The results JSON keeps the real names."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.timeout(120)

EVIL = "\x1b]0;PWNED\x07\x1b[2Jx1"
BIDI = "price\u202eevil\u2066"
MARKUP = "[bold red]loud[/] <img src=x onerror=alert(1)>"
LEVEL = "\x1b[31mred\x1b]8;;http://evil\x07link"
LONG = "L" * 70_000
RAW = ("\x1b", "\x07", "\u202e", "\u2066", "\x9b")  # must never reach the reader
FAST = ["--set", "hypothesis_search.num_generations=5", "--set", "hypothesis_search.pop_size=20"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """evil.csv: y driven by four columns with hostile names and a hostile level; long.csv: y
    driven by a column with a 70,000-character name."""
    d = tmp_path_factory.mktemp("terminal")
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({EVIL: rng.normal(size=n), BIDI: rng.normal(size=n), MARKUP: rng.normal(size=n),
                       "kind": rng.choice([LEVEL, "plain", "other"], n)})
    df["y"] = (2 * df[EVIL] + 1.5 * df[BIDI] + df[MARKUP] + 2 * (df["kind"] == LEVEL)
               + rng.normal(size=n))
    df.to_csv(d / "evil.csv", index=False)
    long = pd.DataFrame({LONG: rng.normal(size=n), "x2": rng.normal(size=n)})
    long["y"] = 2 * long[LONG] + rng.normal(size=n)
    long.to_csv(d / "long.csv", index=False)
    return d


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("GRETA")}
    out.update(TERM="xterm-256color", COLUMNS="100")
    return out


def greta(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "greta_cli.app", *args], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=110, check=False)


def greta_on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """Run greta with stdout and stderr on a pseudo-terminal; its exit status and all it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: greta, on the terminal
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "greta_cli.app", *args], env())
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode("utf-8", "replace")


def assert_safe(text: str) -> None:
    for raw in RAW:
        assert raw not in text, (raw, text[:2000])


def assert_safe_on_a_terminal(text: str) -> None:
    """rich writes its own colour and cursor codes (ESC [ ... m, K, A, ?25l); nothing else: no
    bell, no title or hyperlink (ESC ]), no clear screen, no bidi override."""
    for raw in ("\x07", "\x1b]", "\x1b[2J", "\x1b[31m", "\u202e", "\u2066", "\x9b"):
        assert raw not in text, (raw, text[:2000])


def test_run_shows_hostile_names_escaped(folder: Path) -> None:
    proc = greta(folder, "run", "--data", "evil.csv", "--target", "y", "--output", "evil.json", *FAST)
    assert proc.returncode == 0, proc.stderr
    assert_safe(proc.stdout + proc.stderr)
    assert "\\x1b]0;PWNED\\x07\\x1b[2Jx1" in proc.stdout  # shown, escaped
    assert "price\\u202eevil\\u2066" in proc.stdout
    assert "[bold red]loud[/]" in proc.stdout  # rich markup shown as typed, not applied
    doc = json.loads((folder / "evil.json").read_text(encoding="utf-8"))
    assert {EVIL, BIDI, MARKUP} <= {c["name"] for c in doc["data"]["columns_used"]}  # real names kept


def test_run_on_a_terminal_shows_hostile_names_escaped(folder: Path) -> None:
    code, out = greta_on_a_terminal(folder, "run", "--data", "evil.csv", "--target", "y",
                                    "--output", "tty.json", *FAST)
    assert code == 0, out
    assert "Models tested on held-out rows" in out  # the rich summary, with its table
    assert_safe_on_a_terminal(out)
    assert "\\x1b]0;PWNED\\x07\\x1b[2Jx1" in out and "[bold red]loud[/]" in out


def test_reports_show_hostile_names_escaped(folder: Path) -> None:
    if not (folder / "evil.json").exists():
        test_run_shows_hostile_names_escaped(folder)
    text = greta(folder, "report", "evil.json", "--format", "text")
    assert text.returncode == 0, text.stderr
    assert_safe(text.stdout)
    assert "\\x1b]0;PWNED\\x07\\x1b[2Jx1" in text.stdout and "\\x1b[31mred" in text.stdout
    md = greta(folder, "report", "evil.json", "--format", "md")
    assert md.returncode == 0, md.stderr
    assert_safe(md.stdout)
    from markdown_it import MarkdownIt  # how a Markdown viewer sees it (raw HTML allowed)

    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(md.stdout)
    assert "<img" not in page and "<a " not in page and "<strong>loud" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown as text
    as_json = greta(folder, "report", "evil.json", "--format", "json")  # JSON escapes, same names
    assert as_json.returncode == 0, as_json.stderr
    assert_safe(as_json.stdout)
    assert json.loads(as_json.stdout) == json.loads((folder / "evil.json").read_text(encoding="utf-8"))


def test_errors_and_init_show_hostile_names_escaped(folder: Path) -> None:
    proc = greta(folder, "run", "--data", "evil.csv", "--target", EVIL[:-1])
    assert proc.returncode == 2 and proc.stderr.startswith("greta: error: ")
    assert_safe(proc.stderr)
    assert proc.stderr.count("\n") == 1
    init = greta(folder, "init", "--data", "evil.csv", "--target", "y", "-o", "evil.yml", "--force")
    assert init.returncode == 0, init.stderr
    config = (folder / "evil.yml").read_text(encoding="utf-8")
    assert_safe(config)
    assert "#   \\x1b]0;PWNED\\x07\\x1b[2Jx1: numeric" in config
    run = greta(folder, "run", "evil.yml", "--quiet", "--output", "from_init.json", *FAST)
    assert run.returncode == 0, run.stderr  # the config greta init wrote reads back


def test_a_70000_character_name_is_shortened_for_display(folder: Path) -> None:
    proc = greta(folder, "run", "--data", "long.csv", "--target", "y", "--output", "long.json", *FAST)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((folder / "long.json").read_text(encoding="utf-8"))
    assert LONG in {c["name"] for c in doc["data"]["columns_used"]}  # the real name in the JSON
    shown = "L" * 50 + "…" + "L" * 49
    assert shown in proc.stdout and "L" * 101 not in proc.stdout
    code, out = greta_on_a_terminal(folder, "run", "--data", "long.csv", "--target", "y",
                                    "--output", "long_tty.json", *FAST)
    assert code == 0 and "L" * 101 not in out, out[-2000:]
    for fmt in ("text", "md"):
        report = greta(folder, "report", "long.json", "--format", fmt)
        assert report.returncode == 0, report.stderr
        assert "…" in report.stdout and "L" * 101 not in report.stdout
