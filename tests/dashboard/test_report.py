"""The static report: one self-contained HTML file with every section, text escaped, and
what it says true: the champion's line, the real reason of each decline, every hidden metric."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evoforge.dashboard import api
from evoforge.dashboard.report import render_report
from evoforge.dashboard.report_charts import score_lines
from evoforge.governance.rundir import RunDir

from dash_helpers import cli, declines_run, recorded_run, summary, write_experiment

SECTIONS = (
    "summary",
    "score",
    "lineage",
    "champion-diff",
    "importances",
    "flags",
    "approvals",
    "audit",
    "sandbox",
)


def test_report_is_self_contained_with_every_section(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=10, promotion='approval = "manual"\nreruns = 0'
    )
    run = Path(summary(cli("run", str(exp)).stdout)["run"])
    cand = re.search(r"approval: #(\d+) pending", cli("status", str(run)).stdout)
    assert cand, "the tiny run must leave a promotion waiting"
    cli("approve", str(run), cand.group(1), "--reason", "<script>alert(1)</script>")
    out = cli("report", str(run), "-o", str(tmp_path / "r.html")).stdout
    assert "report:" in out
    page = (tmp_path / "r.html").read_text()
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in page
    assert page.count("<svg") >= 2 and "<script" not in page  # score, lineage (+ slices)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the reason, escaped
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from anywhere
    assert "verified:" in page and "QUALITY" in page  # audit ok, champion diff against the seed
    assert f"Champion #{cand.group(1)} against the seed" in page
    assert render_report(RunDir(run)).startswith("<!doctype html>")


def test_report_plots_the_champion_line_and_the_raw_best_lighter(tmp_path: Path) -> None:
    run = declines_run(tmp_path / "run")
    ov, rows = api.overview(run), _rows(run)
    lines = score_lines(rows, ov)
    assert [v for _, v in lines["champion"]] == [0.5, 0.6]  # declined 0.9 and 0.95 never count
    assert [v for _, v in lines["champion_heldout"]] == [0.5, 0.6]
    assert [v for _, v in lines["raw_best"]] == [0.5, 0.9, 0.95]
    page = render_report(run)
    assert '<path class="champion"' in page and "<title>champion: 0.5 → 0.6</title>" in page
    raw = re.search(
        r'<path class="raw-best"[^>]*stroke="#9ca3af"[^>]*><title>([^<]*)</title>', page
    )
    assert raw and raw.group(1).endswith(": 0.5 → 0.9 → 0.95")
    assert "— champion score" in page and "best raw evaluation" in page


def test_report_says_why_each_challenger_was_declined(tmp_path: Path) -> None:
    page = render_report(declines_run(tmp_path / "run"))
    flags = page[page.index('<section id="flags">') : page.index('<section id="approvals">')]
    assert "<td>#2 declined</td><td>held-out check failed: gain heldout -0.2</td>" in flags
    assert "<td>#4 declined</td><td>gain 0.01 over champion #3 not above the noise" in flags
    assert "lost to the champion" not in page


def test_report_shows_every_hidden_metric_with_its_kind(tmp_path: Path) -> None:
    run = recorded_run(tmp_path / "run", [(0.5, {"acc": 0.9, "f1": 0.8, "auc": 0.7})],
                       task={"heldout": ["acc", "f1"], "gate": ["auc"]})  # fmt: skip
    page = render_report(run)
    assert "<td>hidden metrics</td><td>acc (held-out), f1 (held-out), auc (gate)</td>" in page
    assert "<td>seed</td><td>0.5 (held-out acc 0.9, held-out f1 0.8, gate auc 0.7)</td>" in page
    assert "<td>champion</td><td>#1: 0.5 (held-out acc 0.9, held-out f1 0.8, gate auc 0.7)" in page


def _rows(run: RunDir) -> list[dict[str, Any]]:
    pts = api.points(run)
    cols = ("id", "status", "score", "heldout", "t")
    return [dict(zip(cols, v, strict=True)) for v in zip(*(pts[c] for c in cols), strict=True)]
