"""The report's two plots, as inline SVG: the score over time and the lineage.

``rows`` are the run's candidates as ``api.points`` lists them (one mapping per
candidate), ``ov`` is its ``api.overview``. Every text from them is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.config import Direction
from evoforge.dashboard.report_format import escape, figure


def score_svg(
    rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any], colours: Mapping[str, str]
) -> str:
    """Each finished candidate's score against time (failures as crosses along the
    bottom, flagged ones ringed, one colour per proposer) under the :func:`score_lines`."""
    done = [r for r in rows if r["t"] and r["status"] in ("succeeded", "failed")]
    if not done:
        return '<p class="muted">no candidate finished</p>'
    w, h, ml, mr, mt, mb = 1000, 320, 60, 16, 12, 34
    t0 = float(min(r["t"] for r in done))
    moves = [float(m["t"]) for m in ov["champion_line"]]
    xhi = max(max((float(t) - t0) / 60 for t in [*(r["t"] for r in done), *moves]), 0.05)
    ok = [r for r in done if r["status"] == "succeeded" and r["score"] is not None]
    vals = [r["score"] for r in ok] + [r["heldout"] for r in ok if r["heldout"] is not None]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    lo, hi = (lo - 0.5, hi + 0.5) if lo == hi else (lo - (hi - lo) * 0.06, hi + (hi - lo) * 0.06)

    def tx(t: float) -> float:
        return ml + max(0.0, float(t) - t0) / 60 / xhi * (w - ml - mr)

    def x(r: Mapping[str, Any]) -> float:
        return tx(r["t"])

    def y(v: float) -> float:
        return mt + (1 - (v - lo) / (hi - lo)) * (h - mt - mb)

    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="score over time">']
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        parts.append(
            f'<line x1="{ml}" x2="{w - mr}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e7eb"/>'
        )
        parts.append(f'<text x="4" y="{y(v) + 4:.1f}" font-size="11" fill="#6b7280">{v:.3g}</text>')
    for i in range(6):
        v = xhi * i / 5
        label = f"{v * 60:.0f} s" if xhi < 3 else f"{v:.1f} min"
        parts.append(
            f'<text x="{ml + v / xhi * (w - ml - mr) - 12:.1f}" y="{h - 10}" font-size="11" fill="#6b7280">{label}</text>'
        )
    for r in done:
        if r["status"] != "succeeded" or r["score"] is None:
            px, py = x(r), h - mb + 6
            parts.append(
                f'<path d="M{px - 3:.1f} {py - 3:.1f}l6 6m0-6l-6 6" stroke="#dc2626"><title>#{r["id"]} failed</title></path>'
            )
            continue
        ring = ' stroke="#f59e0b" stroke-width="2"' if r["flags"] else ""
        tip = escape(
            f"#{r['id']} {r['proposer']} {figure(r['score'])}"
            + (f" flags: {', '.join(r['flags'])}" if r["flags"] else "")
        )
        parts.append(
            f'<circle cx="{x(r):.1f}" cy="{y(r["score"]):.1f}" r="3.5" fill="{colours.get(r["proposer"], "#4b5563")}" fill-opacity="0.75"{ring}><title>{tip}</title></circle>'
        )
    lines = score_lines(rows, ov)
    for name, style in (
        ("raw_best", 'stroke="#9ca3af" stroke-width="1.5" stroke-dasharray="2 3"'),
        ("champion", 'stroke="#111827" stroke-width="2"'),
        ("champion_heldout", 'stroke="#7c3aed" stroke-width="2" stroke-dasharray="6 4"'),
    ):
        steps = lines[name]
        if steps:
            d = f"M{tx(steps[0][0]):.1f} {y(steps[0][1]):.1f}"
            for t, v in steps[1:]:
                d += f"H{tx(t):.1f}V{y(v):.1f}"
            d += f"H{w - mr}"
            tip = escape(f"{_LINE_NAMES[name]}: " + " → ".join(figure(v) for _, v in steps))
            parts.append(
                f'<path class="{name.replace("_", "-")}" d="{d}" fill="none" {style}>'
                f"<title>{tip}</title></path>"
            )
    return "".join(parts) + "</svg>"


_LINE_NAMES = {
    "champion": "champion",
    "champion_heldout": "its held-out",
    "raw_best": "best raw evaluation (before confirmation)",
}


def score_lines(
    rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any]
) -> dict[str, list[tuple[float, float]]]:
    """The step lines of the score plot, as (time, value) steps: ``champion`` (the
    champion's objective, moving only when the champion moves: seed, promotion,
    rollback), ``champion_heldout`` (its held-out figure) and ``raw_best`` (the best
    first evaluation so far, declined challengers included: drawn lighter)."""
    champ = ov["champion_line"]
    lines: dict[str, list[tuple[float, float]]] = {
        "champion": [(m["t"], m["score"]) for m in champ if m["score"] is not None],
        "champion_heldout": [(m["t"], m["heldout"]) for m in champ if m["heldout"] is not None],
        "raw_best": [],
    }
    sign = 1 if ov["direction"] != Direction.MINIMIZE else -1
    ok = [r for r in rows if r["t"] and r["status"] == "succeeded" and r["score"] is not None]
    for r in sorted(ok, key=lambda r: r["t"]):
        raw = lines["raw_best"]
        if not raw or sign * r["score"] > sign * raw[-1][1]:
            raw.append((r["t"], r["score"]))
    return lines


def legend(colours: Mapping[str, str], ov: Mapping[str, Any]) -> str:
    """The key of the score plot: each proposer's colour, then each mark and line."""
    keys = [f'<span style="color:{c}">●</span><span>{escape(p)}</span>' for p, c in colours.items()]
    keys += ['<span class="bad">✕ failed</span>', '<span style="color:#f59e0b">○ flagged</span>',
             f"<span>— champion {escape(ov['objective'])}</span>", f'<span style="color:#7c3aed">- - its {escape(_kind(ov, ov["heldout_metric"]))} {escape(ov["heldout_metric"])}</span>',
             f'<span style="color:#9ca3af">··· {escape(_LINE_NAMES["raw_best"])}</span>']  # fmt: skip
    return f'<p class="legend">{"".join(keys)}</p>'


def lineage_svg(
    rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any], colours: Mapping[str, str]
) -> str:
    """The family tree of the candidates that ran (rejected ones and duplicates left
    out), generations from the seed left to right, champions in gold."""
    nodes = {r["id"]: r for r in rows if r["status"] not in ("rejected", "duplicate")}
    if not nodes:
        return '<p class="muted">no candidates</p>'
    kids: dict[int, list[int]] = {}
    roots: list[int] = []
    for r in nodes.values():
        (kids.setdefault(r["parent"], []) if r["parent"] in nodes else roots).append(r["id"])
    depth: dict[int, int] = {}
    order: list[int] = []
    stack = [(i, 0) for i in reversed(roots)]
    while stack:
        cid, d = stack.pop()
        depth[cid] = d
        order.append(cid)
        stack.extend((k, d + 1) for k in reversed(kids.get(cid, [])))
    w, h, m = 1000, 420, 14
    top = max(max(depth.values()), 1)
    pos = {
        cid: (m + depth[cid] / top * (w - 2 * m), m + (i + 0.5) / len(order) * (h - 2 * m))
        for i, cid in enumerate(order)
    }
    champions = {c["candidate"] for c in ov["champion_history"]}
    current = ov["champion"]["id"] if ov["champion"] else None
    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="lineage">']
    for cid, r in nodes.items():
        if r["parent"] in pos:
            (px, py), (qx, qy) = pos[r["parent"]], pos[cid]
            parts.append(
                f'<path d="M{px:.1f} {py:.1f}V{qy:.1f}H{qx:.1f}" fill="none" stroke="#9ca3af" stroke-opacity="0.5"/>'
            )
    radius = 2 if len(nodes) > 800 else 4
    for cid, r in nodes.items():
        qx, qy = pos[cid]
        fill = "#dc2626" if r["status"] == "failed" else colours.get(r["proposer"], "#9ca3af")
        parts.append(
            f'<circle cx="{qx:.1f}" cy="{qy:.1f}" r="{radius}" fill="{fill}"><title>#{cid} {escape(r["status"])} {figure(r["score"])}</title></circle>'
        )
    for cid in champions & set(pos):
        qx, qy = pos[cid]
        size = 8 if cid == current else 6
        parts.append(
            f'<circle cx="{qx:.1f}" cy="{qy:.1f}" r="{size}" fill="#f59e0b" stroke="#92400e"/><text x="{qx + 9:.1f}" y="{qy - 6:.1f}" font-size="12">#{cid}</text>'
        )
    return (
        "".join(parts)
        + '</svg><p class="muted">x: generations from the seed; gold: champions (largest: the current one); red: failed.</p>'
    )


def _kind(ov: Mapping[str, Any], name: str) -> str:
    return next((m["kind"] for m in ov["hidden_metrics"] if m["name"] == name), "held-out")


def slice_svg(name: str, points: Sequence[tuple[Any, float]]) -> str:
    """The objective of every scored candidate against one parameter's value (choices
    and booleans spread over their values in order)."""
    if not points:
        return ""
    w, h, ml, mr, mt, mb = 320, 180, 44, 10, 20, 30
    values = [v for v, _ in points]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    labels = sorted({repr(v) for v in values}) if not numeric else []
    if numeric:
        lo, hi = float(min(values)), float(max(values))
        lo, hi = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
    ys = [s for _, s in points]
    ylo, yhi = min(ys), max(ys)
    ylo, yhi = (ylo - 0.5, yhi + 0.5) if ylo == yhi else (ylo, yhi)

    def x(v: Any) -> float:
        if numeric:
            return ml + (float(v) - lo) / (hi - lo) * (w - ml - mr)
        return ml + (labels.index(repr(v)) + 0.5) / len(labels) * (w - ml - mr)

    def y(s: float) -> float:
        return mt + (1 - (s - ylo) / (yhi - ylo)) * (h - mt - mb)

    parts = [
        f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="objective against {escape(name)}">',
        f'<text x="{ml}" y="13" font-size="12" fill="#111827">{escape(name)}</text>',
        f'<text x="2" y="{y(yhi) + 4:.1f}" font-size="10" fill="#6b7280">{figure(yhi)}</text>',
        f'<text x="2" y="{y(ylo) + 4:.1f}" font-size="10" fill="#6b7280">{figure(ylo)}</text>',
    ]
    if numeric:
        for v in (lo, hi):
            parts.append(
                f'<text x="{x(v) - 10:.1f}" y="{h - 8}" font-size="10" fill="#6b7280">{v:.3g}</text>'
            )
    else:
        for label in labels:
            parts.append(
                f'<text x="{ml + (labels.index(label) + 0.5) / len(labels) * (w - ml - mr) - 14:.1f}" '
                f'y="{h - 8}" font-size="10" fill="#6b7280">{escape(label[:12])}</text>'
            )
    for v, s in points:
        parts.append(
            f'<circle cx="{x(v):.1f}" cy="{y(s):.1f}" r="3" fill="#2563eb" fill-opacity="0.6"/>'
        )
    parts.append("</svg>")
    return "".join(parts)
