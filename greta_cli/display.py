"""Rich output on a terminal: a progress bar per stage and the table of findings."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table
from rich.text import Text

_LABELS = {"screening": "Screening terms", "statistics": "Reading & summarising", "search": "Searching hypotheses",
           "holdout": "Robust variance (held-out)"}


class StageProgress:
    """A context manager that is also the engine's progress callback."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(), console=console or Console(stderr=True), transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.t0: dict[str, float] = {}
        self.switched = time.perf_counter()

    def __enter__(self) -> StageProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, stage: str, fraction: float, info: dict[str, Any]) -> None:
        if stage == "done":
            for name, task in self.tasks.items():
                self.progress.update(task, completed=100)
            return
        if stage not in self.tasks:
            for task in self.tasks.values():
                self.progress.update(task, completed=100)
            self.tasks[stage] = self.progress.add_task(_LABELS.get(stage, stage), total=100, detail="")
            self.t0[stage] = self.switched
        detail = ""
        if "rows" in info:
            rate = info["rows"] / max(time.perf_counter() - self.t0[stage], 1e-9)
            detail = f"{info['rows']:,} rows  {rate:,.0f} rows/s"
        elif "generation" in info:
            detail = f"generation {info['generation']:,}/{info['generations']:,}"
            if info.get("estimate_seconds") is not None:
                from greta_core.hypothesis_search.cost import duration

                detail += f", estimated {duration(info['estimate_seconds'])}"
                if info.get("max_minutes"):
                    detail += f" (budget {info['max_minutes']:g} min)"
            if info.get("stopped_early"):
                detail += " (best hypotheses stable: stopped)"
            elif info.get("stopped_by_budget"):
                detail += " (stopped after its time budget)"
        elif "hypotheses" in info:
            detail = f"{info['hypotheses']:,}/{info.get('total') or 0:,} hypotheses (exact search)"
        self.progress.update(self.tasks[stage], completed=100 * fraction, detail=detail)
        self.switched = time.perf_counter()


def _q(v: float | None) -> str:
    from greta_core.narrate.templates import qtext

    return qtext(v).replace("q = ", "").replace("q ", "")


def show_results(results: dict[str, Any], saved: list[str]) -> None:
    """The answer first (the columns that matter, one sentence each), then the models tested.

    Names from the data are shown escaped and shortened (``for_display``); markup strings
    escape them for rich as well."""
    from greta_core.safe_text import for_display, shown_text

    results = for_display(results)
    con = Console(emoji=False)  # ":name:" in a column name stays text
    con.print()
    con.print(Text(results["summary"]))
    matter = [c for c in results.get("columns", []) if c.get("verdict") == "matters" and c.get("sentence")]
    if matter:
        con.print()
        con.print(f"[bold]What goes with {escape(results['target'])}[/], most important first:")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=3, justify="right")
        grid.add_column()
        for c in matter:
            grid.add_row("•", Text(c["sentence"]))
        con.print(grid)
    segments = [s for s in results.get("segments") or [] if s.get("confirmed") and s.get("sentence")]
    if segments:
        con.print()
        con.print(f"[bold]Segments[/]: who has the highest or lowest {escape(results['target'])}, confirmed on held-out rows:")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=3, justify="right")
        grid.add_column()
        for s in segments:
            grid.add_row("•", Text(s["sentence"]))
        con.print(grid)
    hyps = results["hypotheses"]
    if hyps:
        con.print()
        table = Table(title=f"Models tested on held-out rows for {escape(results['target'])}", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("terms")
        table.add_column("held-out R²", justify="right")
        table.add_column("q", justify="right")
        table.add_column("status")
        for h in hyps:
            role = h.get("role") or ("confirmed" if h["confirmed"] else "not confirmed")
            status = f"[green]{role}[/]" if h["confirmed"] else f"[yellow]{role}[/]"
            table.add_row(str(h["rank"]), escape(", ".join(h["terms"])), f"{h['holdout']['r2']:.3f}",
                          _q(h["holdout"].get("q_value")), status)
        con.print(table, markup=True)
    for note in results.get("notes", [])[:3]:
        con.print(Text(f"note: {note}", style="dim"))
    m = results.get("metrics", {})
    con.print(f"[dim]{m.get('wall_seconds', 0):.1f} s, {m.get('rows_per_second') or 0:,.0f} rows/s, "
              f"peak memory {m.get('peak_memory_mb', 0):,.0f} MB[/]")
    for path in saved:
        con.print(f"wrote {shown_text(path)}", markup=False, soft_wrap=True)
    if not saved:
        con.print("[dim]Save the results with --output results.json, a report with --report report.html.[/]")
