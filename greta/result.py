"""The frozen result of :func:`greta.analyze`: the results document (docs/results.md) with ways
to read it in Python and in a notebook."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = ("name", "verdict", "joint_test", "importance", "direction")
HYPOTHESES = ("rank", "terms", "features", "confirmed", "r2", "p_value", "q_value",
              "discovery_p_value", "narrative")
SEGMENTS = ("rank", "description", "conditions", "class", "direction", "rows", "share", "inside", "inside_low",
            "inside_high", "outside", "outside_low", "outside_high", "p_value", "q_value", "confirmed", "sentence")
_STYLE = (".greta-report svg.chart{background:#fff;border:1px solid #e2e8f0;max-width:100%;"
          "height:auto;font:11px sans-serif}.greta-report svg .ttl{font-weight:600;font-size:12px}"
          ".greta-report svg .tick,.greta-report svg .val{font-size:10px}"
          ".greta-report .muted{color:#4a5568}")


@dataclass(frozen=True)
class AnalysisResult:
    """What :func:`greta.analyze` found. Immutable: every method returns new objects.

    Attributes
    ----------
    target, task
        The column explained and its kind: ``regression``, ``binary`` or ``multiclass``.
    """

    target: str
    task: str
    _json: str = field(repr=False)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> AnalysisResult:
        """Freeze a results document (as ``greta run --output`` writes it)."""
        from greta_core.report import to_json

        text = to_json(doc)
        return cls(target=str(doc.get("target")), task=str(doc.get("task")), _json=text)

    # ------------------------------------------------------------------------------ reading
    def to_dict(self) -> dict[str, Any]:
        """The results document as plain JSON data (a new copy on every call)."""
        return json.loads(self._json)

    @property
    def columns(self) -> Any:
        """One row per column with its verdict: name, verdict, joint_test, importance,
        direction (a pandas DataFrame; empty when the document lists no column verdicts)."""
        import pandas as pd

        rows = self.to_dict().get("columns") or []
        return pd.DataFrame([{k: r.get(k) for k in COLUMNS} for r in rows], columns=list(COLUMNS))

    @property
    def hypotheses(self) -> Any:
        """One row per hypothesis re-tested on the holdout, best first: rank, terms, features,
        confirmed, r2 (held-out), p_value and q_value (held-out), discovery_p_value, narrative
        (a pandas DataFrame)."""
        import pandas as pd

        rows = []
        for h in self.to_dict().get("hypotheses", []):
            hold, disc = h.get("holdout") or {}, h.get("discovery") or {}
            rows.append({"rank": h.get("rank"), "terms": h.get("terms"),
                         "features": h.get("features"), "confirmed": h.get("confirmed"),
                         "r2": hold.get("r2"), "p_value": hold.get("p_value"),
                         "q_value": hold.get("q_value"), "discovery_p_value": disc.get("p_value"),
                         "narrative": h.get("narrative")})
        return pd.DataFrame(rows, columns=list(HYPOTHESES))

    @property
    def segments(self) -> Any:
        """One row per segment re-tested on held-out rows, best first: rank, description,
        conditions (as data: column and levels, or low/high bounds), class, direction, rows,
        share, the mean or rate inside and outside with their 95% CIs (held-out), p_value,
        q_value, confirmed, sentence (a pandas DataFrame; empty when segments were off)."""
        import pandas as pd

        rows = []
        for s in self.to_dict().get("segments") or []:
            inside, outside = s.get("inside") or {}, s.get("outside") or {}
            rows.append({**{k: s.get(k) for k in SEGMENTS},
                         "inside": inside.get("mean"), "inside_low": inside.get("ci_low"),
                         "inside_high": inside.get("ci_high"), "outside": outside.get("mean"),
                         "outside_low": outside.get("ci_low"), "outside_high": outside.get("ci_high")})
        return pd.DataFrame(rows, columns=list(SEGMENTS))

    @property
    def confirmed(self) -> list[list[str]]:
        """The terms of each confirmed hypothesis, best first."""
        return [h["terms"] for h in self.to_dict().get("hypotheses", []) if h.get("confirmed")]

    # ---------------------------------------------------------------------------- rendering
    def summary(self) -> str:
        """The plain-text report (what ``greta report --format text`` prints)."""
        return self._render("text")

    def _repr_html_(self) -> str:
        """The HTML report's body, so that a notebook cell shows the report."""
        page = self._render("html")
        start, end = page.find("<main>"), page.rfind("</main>")
        body = page[start + len("<main>"):end] if start >= 0 and end > start else page
        return f'<div class="greta-report"><style>{_STYLE}</style>{body}</div>'

    def __str__(self) -> str:
        return self.summary()

    def _render(self, fmt: str) -> str:
        from greta_core.report import render

        return render(self.to_dict(), fmt)

    # ------------------------------------------------------------------------------ writing
    def to_json(self, path: str | Path) -> None:
        """Write the results document (``greta report`` renders it later)."""
        from greta_cli.output import check_outputs, write_atomic

        check_outputs({"path": str(path)}, self._inputs())
        write_atomic(str(path), self._json if self._json.endswith("\n") else self._json + "\n")

    def report(self, path: str | Path, format: str | None = None) -> None:
        """Write the report; its format from ``format`` (html, md, text, json) or else from the
        file's extension (.html, .md, .txt, .json)."""
        from greta_cli.output import check_outputs, report_format, write_atomic

        fmt = report_format(str(path), format)
        check_outputs({"path": str(path)}, self._inputs())
        write_atomic(str(path), self._render(fmt))

    def _inputs(self) -> dict[str, Any]:
        """The data file the analysis read, which no output may replace."""
        source = self.to_dict().get("data", {}).get("source")
        return {"data": source} if isinstance(source, str) else {}
