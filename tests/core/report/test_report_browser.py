"""The HTML report as a reader meets it: the churn example in headless Chromium at 1280×900.

The first screen must hold the answer ("What goes with churned" and its chart), and nothing may
stick out of the page or out of its chart. Chromium is a system package (`.ci/run` installs it):
without it these tests skip, and fail with CI=true.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from greta_core.ingestion.readers import FileSpec
from greta_core.params import AnalysisParams
from greta_core.pipeline import analyze
from greta_core.report import render

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
WIDTH, HEIGHT = 1280, 900
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)

# Measures the laid-out page and writes the answer into the DOM, which --dump-dom prints.
PROBE = """<script>
window.addEventListener('load', () => {
  const w = window.innerWidth, h = window.innerHeight;
  const head = [...document.querySelectorAll('h2')].find(e => e.textContent.startsWith('What goes with '));
  let chart = head, rect = null;
  while (chart && !(chart.querySelector && chart.querySelector('svg'))) chart = chart.nextElementSibling;
  if (chart) rect = chart.querySelector('svg').getBoundingClientRect();
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    if (e.closest('table') || e.closest('svg') && e.tagName.toLowerCase() !== 'svg') return false;
    return e.getBoundingClientRect().right > w + 0.5;
  }).map(e => e.tagName + ':' + (e.textContent || '').slice(0, 40));
  const spill = [...document.querySelectorAll('svg text')].filter(t => {
    const box = t.closest('svg').getBoundingClientRect(), r = t.getBoundingClientRect();
    return r.right > box.right + 1 || r.left < box.left - 1;
  }).map(t => t.textContent.slice(0, 60));
  const segHead = [...document.querySelectorAll('h2')].find(e => e.textContent === 'Segments');
  let seg = segHead, segChart = null, segItems = [];
  while (seg && seg.tagName.toLowerCase() !== 'h2' || seg === segHead) {
    if (!seg) break;
    if (seg.querySelector && seg.querySelector('svg') && !segChart) segChart = seg.querySelector('svg').getBoundingClientRect();
    if (seg.tagName && seg.tagName.toLowerCase() === 'ul' && !segItems.length) segItems = [...seg.querySelectorAll('li')].map(e => e.textContent);
    seg = seg.nextElementSibling;
  }
  document.body.setAttribute('data-probe', JSON.stringify({
    segments: segHead ? {top: segHead.getBoundingClientRect().top, chart: segChart && {left: segChart.left,
      right: segChart.right, height: segChart.height}, items: segItems} : null,
    width: w, height: h, scrollWidth: document.documentElement.scrollWidth,
    headTop: head ? head.getBoundingClientRect().top : null,
    chartTop: rect ? rect.top : null, chartBottom: rect ? rect.bottom : null,
    wide: wide, spill: spill}));
});
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium is not installed; .ci/run installs it (apt-get install chromium).")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def churn_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = analyze(FileSpec(str(EXAMPLES / "churn.csv")), AnalysisParams(target="churned", seed=1))
    page = render(doc, "html")
    # the report's CSP forbids scripts (as it should); the probe's copy lifts it
    probed = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    probed = probed.replace("</body>", PROBE + "</body>")
    path = tmp_path_factory.mktemp("browser") / "churn-report.html"
    path.write_text(probed, encoding="utf-8")
    return path


def _measure(chromium: str, page: Path) -> dict:
    proc = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}", "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    found = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert found, (proc.returncode, proc.stderr[-2000:])
    return json.loads(html.unescape(found.group(1)))


def test_the_first_screen_holds_the_answer_and_nothing_overflows(chromium: str, churn_page: Path) -> None:
    m = _measure(chromium, churn_page)
    assert m["width"] == WIDTH
    assert m["headTop"] is not None and 0 <= m["headTop"] < m["height"] <= HEIGHT, m
    assert m["chartTop"] is not None and m["chartBottom"] <= m["height"], m
    assert m["scrollWidth"] <= WIDTH, m
    assert m["wide"] == [], m["wide"]
    assert m["spill"] == [], m["spill"]


def test_a_confirmed_segment_of_the_churn_example_matches_its_truth(chromium: str, churn_page: Path) -> None:
    """The Segments section as laid out: its chart fits the page and its first sentence names
    a group the truth says churns more (examples/make_churn.py): short tenure, many support
    calls, a monthly contract or a high fee — and no noise column."""
    m = _measure(chromium, churn_page)
    seg = m["segments"]
    assert seg is not None and seg["chart"] is not None, m
    assert 0 <= seg["chart"]["left"] and seg["chart"]["right"] <= WIDTH and seg["chart"]["height"] > 40, seg
    assert seg["items"], seg
    truth = {"tenure_years is at most", "support_calls is", "contract is monthly", "monthly_fee is above"}
    noise = ("region", "age", "has_partner", "paperless_billing", "satisfaction_survey")
    first = seg["items"][0]
    assert "confirmed on held-out data" in first and "not confirmed" not in first, first
    where = first.split(" (")[0].removeprefix("Where ")
    conditions = re.split(r", | and (?=[a-z_]+ is )", where)
    assert conditions and all(any(c.startswith(t) for t in truth) for c in conditions), conditions
    assert not any(n in where for n in noise), where
