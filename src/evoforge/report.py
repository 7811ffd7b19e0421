"""A run's report: one self-contained HTML file (plots as inline SVG, no script, no
network) with the score curve, the lineage, the champion's diff against the seed,
flags and rejections, approvals, the verified audit trail, sandbox strength and
budget used. Every text from the archive is HTML-escaped: candidate code and
output are hostile.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evoforge.archive import ApprovalState
from evoforge.config import Direction
from evoforge.dashboard import api
from evoforge.governance.rundir import RunDir

PALETTE = ("#2563eb", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563")
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#111827;background:#f9fafb;margin:0}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px}h2{font-size:17px;margin:0 0 10px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px;margin:0 0 16px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top;overflow-wrap:anywhere}
th{color:#6b7280;font-size:12px}.muted{color:#6b7280}.ok{color:#15803d}.bad{color:#b91c1c}
pre{background:#f3f4f6;border-radius:6px;padding:10px;overflow:auto;font:12px/1.4 monospace;max-height:640px}
pre .add{color:#166534;background:#dcfce7}pre .del{color:#991b1b;background:#fee2e2}pre .hunk{color:#6d28d9}
svg{display:block;width:100%;height:auto}.legend span{margin-right:14px;font-size:12px;color:#6b7280}
"""


def write_report(run: RunDir, out: Path) -> Path:
    """Render the report of ``run`` into ``out`` (written atomically); returns ``out``."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(render_report(run), encoding="utf-8")
    tmp.replace(out)
    return out


def render_report(run: RunDir) -> str:
    ov = api.overview(run)
    pts = api.points(run)
    rows = [
        dict(zip(_COLS, values, strict=True))
        for values in zip(*(pts[c] for c in _COLS), strict=True)
    ]
    for r in rows:  # every hidden metric by name, as the champion's figures have them
        r["hidden"] = dict(zip(pts["hidden_metrics"], r["hidden"], strict=True))
    colours = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(pts["proposers"])}
    champ = ov["champion"]
    diff = api.candidate(run, champ["id"])["diff_seed"] if champ else ""
    sections = [
        ("summary", "Summary", _summary(ov, rows)),
        ("score", "Score over time", _score_svg(rows, ov, colours) + _legend(colours, ov)),
        ("lineage", "Lineage", _lineage_svg(rows, ov, colours)),
        (
            "champion-diff",
            f"Champion #{champ['id'] if champ else '–'} against the seed",
            _diff(diff),
        ),
        ("flags", "Flags and rejections", _flags(rows, ov)),
        ("approvals", "Approvals and champion history", _approvals(ov)),
        ("audit", "Audit trail", _audit(ov["audit"])),
        ("sandbox", "Sandbox strength", _sandbox(ov)),
    ]
    body = "".join(
        f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>'
        for sid, title, content in sections
    )
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>evoforge report · {_e(ov['name'])}</title>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<style>{_CSS}</style></head><body><main>"
        f"<h1>evoforge report · {_e(ov['name'])}</h1>"
        f'<p class="muted">{_e(ov["path"])} · written {stamp}</p>{body}</main></body></html>\n'
    )


_COLS = ("id", "parent", "status", "proposer", "score", "heldout", "hidden", "flags", "t", "tokens",
         "cost")  # fmt: skip


def _summary(ov: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    c, budget = ov["counts"], ov["budget"]
    evaluated = c["succeeded"] + c["failed"]
    champ, seed = ov["champion"], next((r for r in rows if r["id"] == 1), None)
    pairs = [
        ("state", ov["state"]),
        ("objective", f"{ov['objective']} ({ov['direction']})"),
        (
            "hidden metrics",
            ", ".join(f"{m['name']} ({m['kind']})" for m in ov["hidden_metrics"]) or "none",
        ),
        (
            "candidates evaluated",
            f"{evaluated}"
            + (f" of {budget['candidates']} budgeted" if budget.get("candidates") else ""),
        ),
        ("by status", ", ".join(f"{k} {v}" for k, v in c.items())),
        (
            "elapsed",
            f"{ov['elapsed_s']:.1f} s"
            + (f" of {budget['wall_minutes']} min" if budget.get("wall_minutes") else ""),
        ),
        (
            "candidates per minute",
            f"{evaluated / (ov['elapsed_s'] / 60):.2f}" if ov["elapsed_s"] else "–",
        ),
    ]
    tokens, cost = sum(r["tokens"] for r in rows), sum(r["cost"] for r in rows)
    if tokens or ov["llm_budget"]["max_tokens"]:
        pairs.append(("LLM tokens · cost", f"{tokens} · {cost:.4f}"))
    if seed:
        hidden = _hidden(ov, seed["hidden"])
        pairs.append(("seed", f"{_f(seed['score'])}" + (f" ({hidden})" if hidden else "")))
    if champ:
        hidden = _hidden(ov, champ["hidden"])
        pairs.append(
            (
                "champion",
                f"#{champ['id']}: {_f(champ['score'])}" + (f" ({hidden})" if hidden else ""),
            )
        )
    return _table(["", ""], pairs, header=False)


def _score_svg(
    rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any], colours: Mapping[str, str]
) -> str:
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
        tip = _e(
            f"#{r['id']} {r['proposer']} {_f(r['score'])}"
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
            tip = _e(f"{_LINE_NAMES[name]}: " + " → ".join(_f(v) for _, v in steps))
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


def _legend(colours: Mapping[str, str], ov: Mapping[str, Any]) -> str:
    keys = [f'<span style="color:{c}">●</span><span>{_e(p)}</span>' for p, c in colours.items()]
    keys += ['<span class="bad">✕ failed</span>', '<span style="color:#f59e0b">○ flagged</span>',
             f"<span>— champion {_e(ov['objective'])}</span>", f'<span style="color:#7c3aed">- - its {_e(_kind(ov, ov["heldout_metric"]))} {_e(ov["heldout_metric"])}</span>',
             f'<span style="color:#9ca3af">··· {_e(_LINE_NAMES["raw_best"])}</span>']  # fmt: skip
    return f'<p class="legend">{"".join(keys)}</p>'


def _lineage_svg(
    rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any], colours: Mapping[str, str]
) -> str:
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
            f'<circle cx="{qx:.1f}" cy="{qy:.1f}" r="{radius}" fill="{fill}"><title>#{cid} {_e(r["status"])} {_f(r["score"])}</title></circle>'
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


def _diff(text: str) -> str:
    if not text:
        return '<p class="muted">the champion is the seed: no change</p>'
    out = []
    for line in text.splitlines():
        cls = (
            "hunk"
            if line.startswith("@@")
            else "add"
            if line.startswith("+")
            else "del"
            if line.startswith("-")
            else ""
        )
        out.append(f'<span class="{cls}">{_e(line)}</span>' if cls else _e(line))
    return "<pre>" + "\n".join(out) + "</pre>"


def _flags(rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any]) -> str:
    flags = Counter(f for r in rows for f in r["flags"])
    c = ov["counts"]
    pairs = [(f, str(n)) for f, n in flags.most_common()] or [("flags", "none raised")]
    pairs += [
        ("failed", str(c["failed"])),
        ("rejected before running", str(c["rejected"])),
        ("duplicates", str(c["duplicate"])),
    ]
    closed = (ApprovalState.REJECTED, ApprovalState.DECLINED)
    declined = [a for a in ov["approvals"] if a["state"] in closed]
    pairs += [(f"#{a['candidate']} {a['state']}", a["why"]) for a in declined]
    return _table(["what", "count / why"], pairs)


def _approvals(ov: Mapping[str, Any]) -> str:
    ap = [
        (
            f"#{a['candidate']}",
            a["state"],
            a["who"] or "–",
            a["why"] or "–",
            _f(a["figures"]["score"]),
            _hidden(ov, a["figures"]["hidden"]) or "–",
        )
        for a in ov["approvals"]
    ]
    ch = [
        (str(m["seq"]), f"#{m['candidate']}", m["action"], m["reason"], _when(m["at"]))
        for m in ov["champion_history"]
    ]
    first = (
        _table(["candidate", "state", "who", "reason", ov["objective"], "hidden metrics"], ap)
        if ap
        else '<p class="muted">no promotion was requested</p>'
    )
    return (
        first
        + "<h3>Champion history</h3>"
        + _table(["seq", "candidate", "move", "reason", "when"], ch)
    )


def _audit(audit: Mapping[str, Any]) -> str:
    head = (f'<p class="ok">verified: {audit["entries_total"]} entries, hash chain intact and anchored</p>'
            if audit["ok"] else '<p class="bad">TAMPERING DETECTED: ' + _e("; ".join(audit["problems"])) + "</p>")  # fmt: skip
    rows = [
        (
            str(e["seq"]),
            _when(e["at"]),
            e["event"],
            " ".join(f"{k}={v}" for k, v in e["data"].items())[:400],
        )
        for e in audit["entries"]
    ]
    return head + _table(["seq", "when", "event", "data"], rows)


def _sandbox(ov: Mapping[str, Any]) -> str:
    layers = ov["sandbox"]
    weak = [k for k, v in layers.items() if not str(v).startswith("on")]
    verdict = (
        '<p class="ok">all layers on</p>'
        if not weak
        else f'<p class="bad">weaker sandbox: {_e(", ".join(weak))} not on</p>'
    )
    if ov["allow_weak"]:
        verdict += (
            '<p class="bad">the run was started with an explicit flag allowing a weak sandbox</p>'
        )
    return verdict + _table(["layer", "state"], [(k, str(v)) for k, v in layers.items()])


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True) -> str:
    head = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in headers) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{_e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _hidden(ov: Mapping[str, Any], values: Mapping[str, float | None]) -> str:
    """Every declared hidden metric with its kind: "held-out a 0.5, gate g 0.3"."""
    return ", ".join(
        f"{m['kind']} {m['name']} {_f(values.get(m['name']))}" for m in ov["hidden_metrics"]
    )


def _kind(ov: Mapping[str, Any], name: str) -> str:
    return next((m["kind"] for m in ov["hidden_metrics"] if m["name"] == name), "held-out")


def _f(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "–"
