"""A stream's report: one self-contained HTML file (the chart as inline SVG, no script,
no network), written from the stream archive alone (``STREAM/report.html``).

The chart puts everything on one batch axis: the production metric of the serving
champion on each batch (predicted before its labels were known), the shadow and
predecessor series where they ran, failures as crosses along the bottom, drift
triggers as vertical dashed lines, rounds as shaded spans from their trigger to
their end, promotions and rollbacks as vertical marks at the batch after which
they took effect. Below: the status rows, the rounds, the champions, the triggers
and the quarantined batches. Every text from the archive is HTML-escaped (batch
names, failure reasons and round results come from outside).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evoforge.dashboard.report import _CSS as CSS
from evoforge.dashboard.report_format import escape, figure, table, when
from evoforge.stream.store import DB, StreamStore
from evoforge.stream.view import live_watcher, stream_rows, stream_series

REPORT = "report.html"
Scale = Callable[[float], float]
ROLE_STYLE = {
    "champion": 'stroke="#111827" stroke-width="2"',
    "shadow": 'stroke="#2563eb" stroke-width="1.5" stroke-dasharray="6 4"',
    "predecessor": 'stroke="#9ca3af" stroke-width="1.5" stroke-dasharray="2 3"',
}
ROUND_FILL = {"promoted": "#16a34a", "declined": "#6b7280", "rejected": "#6b7280",
              "failed": "#dc2626"}  # fmt: skip
LIVE_FILL = "#f59e0b"
POINTS_UP_TO = 600
"""Batches up to which each metric is also drawn as a dot with its figure on hover."""


def write_stream_report(stream_dir: Path, out: Path | None = None) -> Path:
    """Render the report of the stream in ``stream_dir`` into ``out`` (default
    ``STREAM/report.html``), written atomically; returns the path written."""
    stream_dir = Path(stream_dir)
    if not (stream_dir / DB).is_file():
        raise FileNotFoundError(f"{stream_dir}: not a stream folder (no {DB})")
    out = Path(out) if out is not None else stream_dir / REPORT
    store = StreamStore(stream_dir, readonly=True)
    try:
        page = render_stream_report(
            stream_rows(store, live_pid=live_watcher(store)), stream_series(store)
        )
    finally:
        store.close()
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


def render_stream_report(rows: Sequence[tuple[str, str]], series: Mapping[str, Any]) -> str:
    """The page, from :func:`stream_rows` and :func:`stream_series` of one stream."""
    sections = [
        ("chart", f"Production {series['metric']} per batch", stream_svg(series) + _legend(series)),
        ("status", "Status", table(["", ""], rows, header=False)),
        ("rounds", "Rounds", _rounds(series)),
        ("champions", "Champions", _champions(series)),
        ("triggers", "Drift triggers", _triggers(series)),
        ("quarantine", "Quarantined batches", _quarantine(series)),
    ]
    body = "".join(
        f'<section id="{sid}"><h2>{escape(title)}</h2>{content}</section>'
        for sid, title, content in sections
    )
    name = Path(str(series["stream"])).parent.name or str(series["stream"])
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>evoforge stream · {escape(name)}</title>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<style>{CSS}</style></head><body><main>"
        f"<h1>evoforge stream · {escape(name)}</h1>"
        f'<p class="muted">{escape(series["stream"])} · written {stamp}</p>{body}</main></body></html>\n'
    )


def stream_svg(series: Mapping[str, Any]) -> str:
    """The chart of :func:`stream_series` as inline SVG; each mark carries a class
    (``round``, ``trigger``, ``promotion``, ``rollback``, ``failure``, ``series-ROLE``)
    and a ``<title>`` saying what it is."""
    seqs: list[int] = list(series["seq"])
    if not seqs:
        return '<p class="muted">no batch yet</p>'
    w, h, ml, mr, mt, mb = 1000, 340, 60, 16, 24, 34
    marks = [int(p["seq"]) for p in (*series["promotions"], *series["rollbacks"])]
    lo_x, hi_x = min([seqs[0], *marks]), max([seqs[-1], *marks])
    if lo_x == hi_x:
        lo_x, hi_x = lo_x - 1, hi_x + 1
    vals = [float(v) for r in series["roles"] for v in series["metrics"][r] if v is not None]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    lo, hi = (lo - 0.5, hi + 0.5) if lo == hi else (lo - (hi - lo) * 0.06, hi + (hi - lo) * 0.06)

    def x(seq: float) -> float:
        return ml + (seq - lo_x) / (hi_x - lo_x) * (w - ml - mr)

    def y(v: float) -> float:
        return mt + (1 - (v - lo) / (hi - lo)) * (h - mt - mb)

    top, bottom = mt, h - mb
    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="production metric per batch">']
    for r in series["rounds"]:
        end = r["ended_seq"] if r["ended_seq"] is not None else seqs[-1]
        fill = ROUND_FILL.get(r["state"], LIVE_FILL)
        x0, x1 = x(r["trigger_seq"]), x(max(end, r["trigger_seq"]))
        tip = escape(f"round {r['id']} {r['state']}: batches {r['trigger_seq']}–"
                     f"{'' if r['ended_seq'] is None else r['ended_seq']}"
                     + (f" ({r['why']})" if r["why"] else ""))  # fmt: skip
        parts.append(
            f'<rect class="round round-{escape(r["state"])}" x="{x0:.1f}" y="{top}" '
            f'width="{max(x1 - x0, 2):.1f}" height="{bottom - top}" fill="{fill}" '
            f'fill-opacity="0.13"><title>{tip}</title></rect>'
        )
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        parts.append(
            f'<line x1="{ml}" x2="{w - mr}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e7eb"/>'
            f'<text x="4" y="{y(v) + 4:.1f}" font-size="11" fill="#6b7280">{v:.3g}</text>'
        )
    for seq in _ticks(lo_x, hi_x):
        parts.append(
            f'<text x="{x(seq) - 8:.1f}" y="{h - 12}" font-size="11" fill="#6b7280">{seq}</text>'
        )
    parts.append(f'<text x="{w - mr - 40}" y="{h - 1}" font-size="11" fill="#6b7280">batch</text>')
    for t in series["triggers"]:
        tip = escape(f"{t['detector']} at batch {t['seq']} (statistic {figure(t['statistic'])})"
                     + (f": {t['detail']}" if t["detail"] else ""))  # fmt: skip
        parts.append(
            f'<line class="trigger" x1="{x(t["seq"]):.1f}" x2="{x(t["seq"]):.1f}" y1="{top}" '
            f'y2="{bottom}" stroke="#f59e0b" stroke-width="1.5" stroke-dasharray="4 3">'
            f"<title>{tip}</title></line>"
        )
    for p in series["promotions"]:
        tip = escape(f"promotion after batch {p['seq']}: champion #{p['champion']} "
                     f"from round {p['round']}")  # fmt: skip
        px = x(p["seq"])
        parts.append(
            f'<g class="promotion"><line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" '
            f'stroke="#16a34a" stroke-width="2"/><path d="M{px - 6:.1f} {top - 12}h12l-6 10z" '
            f'fill="#16a34a"/><text x="{px + 8:.1f}" y="{top - 4}" font-size="11" '
            f'fill="#166534">#{p["champion"]}</text><title>{tip}</title></g>'
        )
    for b in series["rollbacks"]:
        tip = escape(f"rollback after batch {b['seq']}: #{b['rolled_back']} rolled back, "
                     f"#{b['champion']} serves: {b['reason']}")  # fmt: skip
        px = x(b["seq"])
        parts.append(
            f'<g class="rollback"><line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" '
            f'stroke="#dc2626" stroke-width="2"/><text x="{px + 4:.1f}" y="{top - 4}" '
            f'font-size="12" fill="#b91c1c">↺ #{b["champion"]}</text><title>{tip}</title></g>'
        )
    for role in series["roles"]:
        parts.append(_line(role, seqs, series["metrics"][role], x, y))
    for role in series["roles"]:
        for f in series["failed"][role]:
            px, py = x(f["seq"]), bottom + 6
            tip = escape(f"{role} failed on batch {f['seq']}: {f['failure']}")
            parts.append(
                f'<path class="failure failure-{escape(role)}" d="M{px - 3:.1f} {py - 3:.1f}'
                f'l6 6m0-6l-6 6" stroke="#dc2626"><title>{tip}</title></path>'
            )
    return "".join(parts) + "</svg>"


def _line(
    role: str, seqs: Sequence[int], values: Sequence[float | None], x: Scale, y: Scale
) -> str:
    """One role's metric as a line broken where it has no figure, with a dot per batch
    (and its figure on hover) when there are not too many."""
    d, pen = "", False
    dots = []
    for seq, v in zip(seqs, values, strict=True):
        if v is None:
            pen = False
            continue
        d += f"{'L' if pen else 'M'}{x(seq):.1f} {y(v):.1f}"
        pen = True
        if len(seqs) <= POINTS_UP_TO:
            dots.append(
                f'<circle cx="{x(seq):.1f}" cy="{y(v):.1f}" r="2.5" fill="{_colour(role)}">'
                f"<title>{escape(f'{role} on batch {seq}: {figure(v)}')}</title></circle>"
            )
    if not d:
        return ""
    style = ROLE_STYLE.get(role, 'stroke="#4b5563" stroke-width="1.5"')
    return (
        f'<g class="series series-{escape(role)}"><path d="{d}" fill="none" {style}/>'
        + "".join(dots)
        + "</g>"
    )


def _colour(role: str) -> str:
    return {"champion": "#111827", "shadow": "#2563eb"}.get(role, "#9ca3af")


def _ticks(lo: int, hi: int) -> list[int]:
    """Up to about 10 whole batch numbers from ``lo`` to ``hi``."""
    step = max(1, -(-(hi - lo) // 10))
    return list(range(lo, hi + 1, step))


def _legend(series: Mapping[str, Any]) -> str:
    keys = [f'<span style="color:{_colour(r)}">— {escape(r)}</span>' for r in series["roles"]]
    keys += ['<span class="bad">✕ failed</span>', '<span style="color:#b45309">┆ drift trigger</span>',
             '<span style="color:#16a34a">▼ promotion</span>', '<span class="bad">↺ rollback</span>',
             '<span>▒ round (trigger to end; amber: live, green: promoted, grey: declined, red: failed)</span>']  # fmt: skip
    better = "higher" if series["maximize"] else "lower"
    return f'<p class="legend">{"".join(keys)}</p><p class="muted">{escape(series["metric"])}: {better} is better.</p>'


def _rounds(series: Mapping[str, Any]) -> str:
    rows = [
        (
            str(r["id"]),
            r["state"],
            str(r["trigger_seq"]),
            "–" if r["ended_seq"] is None else str(r["ended_seq"]),
            (r["challenger"] or "–")[:12],
            str(r["shadow_done"]),
            when(r["started_at"]),
            when(r["ended_at"]),
            r["why"] or "–",
        )
        for r in series["rounds"]
    ]
    if not rows:
        return '<p class="muted">no round yet</p>'
    heads = ["round", "state", "trigger batch", "ended batch", "challenger", "shadow batches",
             "started", "ended", "why"]  # fmt: skip
    return table(heads, rows)


def _champions(series: Mapping[str, Any]) -> str:
    rows = [
        (
            f"#{c['id']}",
            c["code_hash"][:12],
            "–" if c["round"] is None else str(c["round"]),
            "–" if c["parent"] is None else f"#{c['parent']}",
            str(c["since_seq"]),
            c["state"],
            c["reason"] or "–",
            when(c["at"]),
        )
        for c in series["champions"]
    ]
    heads = ["champion", "code", "round", "parent", "serving after batch", "state", "reason",
             "since"]  # fmt: skip
    return table(heads, rows) if rows else '<p class="muted">no champion yet</p>'


def _triggers(series: Mapping[str, Any]) -> str:
    rows = [
        (str(t["seq"]), t["detector"], figure(t["statistic"]), t["detail"] or "–")
        for t in series["triggers"]
    ]
    if not rows:
        return '<p class="muted">no trigger yet</p>'
    return table(["batch", "detector", "statistic", "detail"], rows)


def _quarantine(series: Mapping[str, Any]) -> str:
    rows = [(q["name"], q["sha256"][:12], q["reason"], when(q["at"])) for q in series["quarantine"]]
    if not rows:
        return '<p class="muted">no batch was quarantined</p>'
    return table(["file", "sha256", "reason", "when"], rows)
