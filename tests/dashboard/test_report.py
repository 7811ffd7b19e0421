"""The static report: one self-contained HTML file with every section, text escaped."""

from __future__ import annotations

import re
from pathlib import Path

from evoforge.report import render_report
from evoforge.rundir import RunDir

from dash_helpers import cli, summary, write_experiment

SECTIONS = (
    "summary",
    "score",
    "lineage",
    "champion-diff",
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
    assert page.count("<svg") == 2 and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the reason, escaped
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from anywhere
    assert "verified:" in page and "QUALITY" in page  # audit ok, champion diff against the seed
    assert f"Champion #{cand.group(1)} against the seed" in page
    assert render_report(RunDir(run)).startswith("<!doctype html>")
