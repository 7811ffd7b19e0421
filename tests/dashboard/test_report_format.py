"""The report's HTML writing: every text escaped, figures short, missing values a dash."""

from __future__ import annotations

import time

from evoforge.dashboard.report_format import escape, figure, table, when


def test_escape_makes_hostile_text_inert_in_text_and_attributes() -> None:
    assert escape("<script>\"x\" & 'y'</script>") == (
        "&lt;script&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/script&gt;"
    )
    assert escape(3) == "3"


def test_a_table_escapes_every_header_and_cell() -> None:
    html = table(["<b>", "n"], [("<i>", "1"), ("a&b", "2")])
    assert html == (
        "<table><tr><th>&lt;b&gt;</th><th>n</th></tr>"
        "<tr><td>&lt;i&gt;</td><td>1</td></tr><tr><td>a&amp;b</td><td>2</td></tr></table>"
    )
    assert (
        table(["k", "v"], [("a", "b")], header=False)
        == "<table><tr><td>a</td><td>b</td></tr></table>"
    )


def test_figures_and_times_show_a_dash_when_missing() -> None:
    assert (figure(0.123456), figure(1234567.0), figure(None)) == ("0.1235", "1.235e+06", "–")
    assert when(None) == "–" and when(0.0) == "–"
    t = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
    assert when(t) == "2026-03-04 05:06:07"
