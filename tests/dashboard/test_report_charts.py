"""The report's plots: the champion's line moves only with the champion, the raw best
follows the objective's direction, and candidate texts in the SVG are escaped."""

from __future__ import annotations

from typing import Any

from evoforge.dashboard.report_charts import legend, lineage_svg, score_lines, score_svg


def _row(
    cid: int, score: float | None, *, t: float, parent: int = 0, **extra: Any
) -> dict[str, Any]:
    row = {"id": cid, "parent": parent, "status": "succeeded", "proposer": "mutate",
           "score": score, "heldout": None, "flags": [], "t": t}  # fmt: skip
    return row | extra


def _overview(direction: str = "maximize", **extra: Any) -> dict[str, Any]:
    ov = {"direction": direction, "objective": "score", "heldout_metric": "acc",
          "hidden_metrics": [{"name": "acc", "kind": "gate"}], "champion_line": [],
          "champion_history": [], "champion": None}  # fmt: skip
    return ov | extra


def test_the_raw_best_follows_the_direction_and_the_champion_line_its_moves() -> None:
    rows = [_row(1, 0.5, t=1.0), _row(2, 0.3, t=2.0), _row(3, 0.9, t=3.0),
            _row(4, 0.1, t=4.0, status="failed")]  # fmt: skip
    line = [{"t": 1.0, "score": 0.5, "heldout": 0.4}, {"t": 5.0, "score": 0.9, "heldout": None}]
    up = score_lines(rows, _overview(champion_line=line))
    assert up["raw_best"] == [(1.0, 0.5), (3.0, 0.9)]
    assert up["champion"] == [(1.0, 0.5), (5.0, 0.9)] and up["champion_heldout"] == [(1.0, 0.4)]
    down = score_lines(rows, _overview("minimize"))
    assert down["raw_best"] == [(1.0, 0.5), (2.0, 0.3)]  # a failure never counts


def test_the_score_plot_escapes_proposer_names_and_marks_failures() -> None:
    rows = [_row(1, 0.5, t=1.0, proposer="<evil>"), _row(2, None, t=2.0, status="failed")]
    svg = score_svg(rows, _overview(), {"<evil>": "#000"})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<evil>" not in svg and "#1 &lt;evil&gt; 0.5" in svg
    assert "<title>#2 failed</title>" in svg
    assert score_svg([], _overview(), {}) == '<p class="muted">no candidate finished</p>'


def test_the_legend_names_the_held_out_metrics_kind() -> None:
    key = legend({"<p>": "#111"}, _overview())
    assert "&lt;p&gt;" in key and "<p>" not in key.removeprefix('<p class="legend">')
    assert "- - its gate acc" in key and "— champion score" in key


def test_the_lineage_leaves_out_rejected_candidates_and_marks_champions() -> None:
    rows = [_row(1, 0.5, t=1.0), _row(2, 0.6, t=2.0, parent=1),
            _row(3, None, t=3.0, parent=1, status="rejected")]  # fmt: skip
    ov = _overview(champion_history=[{"candidate": 2}], champion={"id": 2})
    svg = lineage_svg(rows, ov, {"mutate": "#123456"})
    assert "<title>#1 succeeded 0.5</title>" in svg and "<title>#2 succeeded 0.6</title>" in svg
    assert "#3" not in svg
    assert svg.count('fill="#f59e0b"') == 1 and 'r="8"' in svg  # #2: the current champion
    assert lineage_svg(rows[2:], ov, {}) == '<p class="muted">no candidates</p>'
