"""The stream's static report: one self-contained HTML file whose chart has a mark for
each trigger, round, promotion, rollback and failure, at its batch, with the status rows
and the tables of rounds and quarantined batches; every archive text escaped."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from evoforge.dashboard.stream_report import render_stream_report, stream_svg, write_stream_report
from evoforge.stream.store import StreamStore
from evoforge.stream.view import stream_rows, stream_series

# The stream fixture of tests/stream (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream"))
from test_view import recorded_stream


@pytest.fixture
def stream_dir(tmp_path: Path) -> Path:
    return recorded_stream(tmp_path / "exp" / "stream")


def test_the_report_is_self_contained_with_the_chart_and_tables(stream_dir: Path) -> None:
    out = write_stream_report(stream_dir)
    assert out == stream_dir / "report.html"
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 1
    assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
    for sid in ("chart", "status", "rounds", "champions", "triggers", "quarantine"):
        assert f'<section id="{sid}">' in page
    assert "<h2>Production accuracy per batch</h2>" in page
    # the status rows, as `evoforge status` has them
    assert "<td>production_accuracy_last_5</td><td>0.79 (5 batches)</td>" in page
    assert f"evoforge approve {stream_dir} 3" in page
    # the quarantined batches, and a detail from outside escaped
    assert "bad.csv: label column &#x27;label&#x27; missing" in page
    assert "mean loss moved &lt;up&gt;" in page and "<up>" not in page
    custom = write_stream_report(stream_dir, stream_dir.parent / "s.html")
    assert custom == stream_dir.parent / "s.html" and custom.is_file()


def test_the_chart_marks_each_event_at_its_batch(stream_dir: Path) -> None:
    store = StreamStore(stream_dir, readonly=True)
    series = stream_series(store)
    store.close()
    chart = stream_svg(series)
    # where each batch is on the x axis: the dots of the metric series (any role) say it
    dots = re.findall(r'<circle cx="([\d.]+)"[^>]*><title>\w+ on batch (\d+):', chart)
    at = {float(cx): int(seq) for cx, seq in dots}
    assert sorted(set(at.values())) == list(range(1, 13))

    def batches(pattern: str) -> list[int]:
        return [at[float(v)] for v in re.findall(pattern, chart)]

    assert batches(r'<line class="trigger" x1="([\d.]+)"') == [4, 9, 11]
    assert batches(r'<g class="promotion"><line x1="([\d.]+)"') == [7]
    assert batches(r'<g class="rollback"><line x1="([\d.]+)"') == [10]
    rounds = re.findall(
        r'<rect class="round round-(\w+)" x="([\d.]+)" y="\d+" width="([\d.]+)"', chart
    )
    spans = [(state, at[float(x)], at[round(float(x) + float(w), 1)]) for state, x, w in rounds]
    assert spans == [("promoted", 4, 7), ("declined", 9, 10), ("pending", 11, 12)]  # live: to now
    assert "<title>promotion after batch 7: champion #2 from round 1</title>" in chart
    assert "<title>rollback after batch 10: #2 rolled back, #3 serves: " in chart
    assert chart.count('class="failure failure-champion"') == 1
    assert "champion failed on batch 6: timed out after 60 s" in chart
    for role in ("champion", "shadow", "predecessor"):
        assert f'<g class="series series-{role}">' in chart
    # the champion's line breaks at its failure: two pieces, of 5 and 6 batches
    line = re.search(r'<g class="series series-champion"><path d="([^"]+)"', chart)
    assert line and line.group(1).count("M") == 2 and line.group(1).count("L") == 9
    assert chart.count("<title>champion on batch ") == 11


def test_an_empty_stream_reports_without_a_chart(tmp_path: Path) -> None:
    store = StreamStore(tmp_path / "stream")
    page = render_stream_report(stream_rows(store), stream_series(store))
    store.close()
    assert "no batch yet" in page and "<svg" not in page
    assert "no round yet" in page and "no batch was quarantined" in page


def test_a_folder_without_a_stream_archive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a stream folder"):
        write_stream_report(tmp_path)
