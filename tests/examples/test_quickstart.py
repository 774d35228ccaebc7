"""examples/quickstart.ipynb runs end to end in a real Jupyter kernel, and shows the report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engines import need

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_quickstart_notebook_runs_and_shows_the_report(tmp_path: Path) -> None:
    need("nbclient", "test")
    need("ipykernel", "test")
    import nbformat
    from nbclient import NotebookClient

    for name in ("quickstart.ipynb", "churn.csv"):  # run a copy: nothing is written to examples/
        shutil.copy(EXAMPLES / name, tmp_path / name)
    nb = nbformat.read(tmp_path / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    report = next(h for h in html if h.startswith('<div class="greta-report">'))
    assert "What goes with churned" in report and "<svg" in report and "confirmed" in report
    assert "<body" not in report  # the body only: the notebook keeps its own page
    tables = [h for h in html if "<table" in h and "greta-report" not in h]
    assert any("tenure_years" in t and "confirmed" in t for t in tables)
    texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Greta analysed 6,000 rows" in texts
    assert "Searching hypotheses" in texts  # the progress bar of the last cell
    last = nb.cells[-1].outputs[-1]["data"]["text/plain"]
    assert "tenure_years" in last


@pytest.mark.parametrize("name", ["quickstart.ipynb"])
def test_the_notebook_is_stored_without_outputs(name: str) -> None:
    import json

    nb = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
