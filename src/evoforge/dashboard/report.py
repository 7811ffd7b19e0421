"""A run's report: one self-contained HTML file (plots as inline SVG, no script, no
network) with the score curve, the lineage, the champion's diff against the seed,
flags and rejections, approvals, the verified audit trail, sandbox strength and
budget used. Every text from the archive is HTML-escaped: candidate code and
output are hostile.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evoforge.archive import ApprovalState
from evoforge.dashboard import api
from evoforge.dashboard.report_charts import legend, lineage_svg, score_svg, slice_svg
from evoforge.dashboard.report_format import escape, figure, table, when
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
        ("score", "Score over time", score_svg(rows, ov, colours) + legend(colours, ov)),
        ("lineage", "Lineage", lineage_svg(rows, ov, colours)),
        (
            "champion-diff",
            f"Champion #{champ['id'] if champ else '–'} against the seed",
            _diff(diff),
        ),
        *(
            [("members", "Search members (which paid off)", _members(ov["portfolio"]))]
            if ov["portfolio"]
            else []
        ),
        ("importances", "Parameter importances", _importances(run, ov)),
        ("flags", "Flags and rejections", _flags(rows, ov)),
        ("approvals", "Approvals and champion history", _approvals(ov)),
        ("audit", "Audit trail", _audit(ov["audit"])),
        ("sandbox", "Sandbox strength", _sandbox(ov)),
    ]
    body = "".join(
        f'<section id="{sid}"><h2>{escape(title)}</h2>{content}</section>'
        for sid, title, content in sections
    )
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>evoforge report · {escape(ov['name'])}</title>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<style>{_CSS}</style></head><body><main>"
        f"<h1>evoforge report · {escape(ov['name'])}</h1>"
        f'<p class="muted">{escape(ov["path"])} · written {stamp}</p>{body}</main></body></html>\n'
    )


_COLS = ("id", "parent", "status", "proposer", "score", "heldout", "hidden", "flags", "t", "tokens",
         "cost")  # fmt: skip


def _summary(ov: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str:
    c, budget = ov["counts"], ov["budget"]
    evaluated = c["succeeded"] + c["failed"] + c.get("stopped", 0)
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
        pairs.append(("seed", f"{figure(seed['score'])}" + (f" ({hidden})" if hidden else "")))
    if champ:
        hidden = _hidden(ov, champ["hidden"])
        pairs.append(
            (
                "champion",
                f"#{champ['id']}: {figure(champ['score'])}" + (f" ({hidden})" if hidden else ""),
            )
        )
    return table(["", ""], pairs, header=False)


def _importances(run: RunDir, ov: Mapping[str, Any]) -> str:
    """fANOVA importances of the declared parameters and the slices of the top three."""
    from evoforge.archive import SQLiteArchive
    from evoforge.candidate_rows import candidate_rows
    from evoforge.dashboard.importances import importances, slices

    with SQLiteArchive(run.archive, readonly=True) as archive:
        rows = candidate_rows(archive)
    got = importances(rows, ov["objective"], maximize=ov["direction"] == "maximize")
    if not got.values:
        return f'<p class="muted">no importances: {escape(got.why_none)}</p>'
    ranked = list(got.values.items())
    head = (
        f'<p class="muted">Share of the variance of {escape(ov["objective"])} over '
        f"{got.trials} scored candidates (Optuna's fANOVA evaluator over the declared "
        "parameters as each candidate's code holds them).</p>"
    )
    body = table(["parameter", "importance"], [(n, f"{v:.3f}") for n, v in ranked])
    top = [n for n, _ in ranked[:3]]
    svgs = "".join(
        f'<div style="flex:1;min-width:260px">{slice_svg(n, pts)}</div>'
        for n, pts in slices(rows, ov["objective"], top).items()
    )
    return head + body + f'<div style="display:flex;gap:12px;flex-wrap:wrap">{svgs}</div>'


def _members(members: Sequence[Mapping[str, Any]]) -> str:
    """The default portfolio's members: proposals, improvements of the best, cost."""
    return table(
        ["member", "proposals", "improved the best", "gain in all", "seconds each"],
        [
            (
                m["member"],
                str(m["proposals"]),
                str(m["improved"]),
                f"{m['gain']:.4g}",
                f"{m['seconds'] / m['proposals']:.2f}",
            )
            for m in members
        ],
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
        out.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return "<pre>" + "\n".join(out) + "</pre>"


def _flags(rows: Sequence[Mapping[str, Any]], ov: Mapping[str, Any]) -> str:
    flags = Counter(f for r in rows for f in r["flags"])
    c = ov["counts"]
    pairs = [(f, str(n)) for f, n in flags.most_common()] or [("flags", "none raised")]
    pairs += [
        ("failed", str(c["failed"])),
        ("rejected before running", str(c["rejected"])),
        ("duplicates", str(c["duplicate"])),
        *([("stopped at a low fidelity rung", str(c["stopped"]))] if c.get("stopped") else []),
    ]
    closed = (ApprovalState.REJECTED, ApprovalState.DECLINED)
    declined = [a for a in ov["approvals"] if a["state"] in closed]
    pairs += [(f"#{a['candidate']} {a['state']}", a["why"]) for a in declined]
    return table(["what", "count / why"], pairs)


def _approvals(ov: Mapping[str, Any]) -> str:
    ap = [
        (
            f"#{a['candidate']}",
            a["state"],
            a["who"] or "–",
            a["why"] or "–",
            figure(a["figures"]["score"]),
            _hidden(ov, a["figures"]["hidden"]) or "–",
        )
        for a in ov["approvals"]
    ]
    ch = [
        (str(m["seq"]), f"#{m['candidate']}", m["action"], m["reason"], when(m["at"]))
        for m in ov["champion_history"]
    ]
    first = (
        table(["candidate", "state", "who", "reason", ov["objective"], "hidden metrics"], ap)
        if ap
        else '<p class="muted">no promotion was requested</p>'
    )
    return (
        first
        + "<h3>Champion history</h3>"
        + table(["seq", "candidate", "move", "reason", "when"], ch)
    )


def _audit(audit: Mapping[str, Any]) -> str:
    head = (f'<p class="ok">verified: {audit["entries_total"]} entries, hash chain intact and anchored</p>'
            if audit["ok"] else '<p class="bad">TAMPERING DETECTED: ' + escape("; ".join(audit["problems"])) + "</p>")  # fmt: skip
    rows = [
        (
            str(e["seq"]),
            when(e["at"]),
            e["event"],
            " ".join(f"{k}={v}" for k, v in e["data"].items())[:400],
        )
        for e in audit["entries"]
    ]
    return head + table(["seq", "when", "event", "data"], rows)


def _sandbox(ov: Mapping[str, Any]) -> str:
    layers = ov["sandbox"]
    weak = [k for k, v in layers.items() if not str(v).startswith("on")]
    verdict = (
        '<p class="ok">all layers on</p>'
        if not weak
        else f'<p class="bad">weaker sandbox: {escape(", ".join(weak))} not on</p>'
    )
    if ov["allow_weak"]:
        verdict += (
            '<p class="bad">the run was started with an explicit flag allowing a weak sandbox</p>'
        )
    return verdict + table(["layer", "state"], [(k, str(v)) for k, v in layers.items()])


def _hidden(ov: Mapping[str, Any], values: Mapping[str, float | None]) -> str:
    """Every declared hidden metric with its kind: "held-out a 0.5, gate g 0.3"."""
    return ", ".join(
        f"{m['kind']} {m['name']} {figure(values.get(m['name']))}" for m in ov["hidden_metrics"]
    )
