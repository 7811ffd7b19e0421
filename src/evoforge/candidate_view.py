"""How a candidate and pending approvals are printed (``show``, ``best``, ``status``), and
why a challenger was declined, in words (the dashboard and the report show it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evoforge.archive import ApprovalState, Archive
from evoforge.candidate import Candidate
from evoforge.program import program_blocks
from evoforge.summary import format_rows, hidden_kinds
from evoforge.textsafe import printable


class MissingRecord(LookupError):
    """What was asked for was never recorded (e.g. the prompt of a mutator's child)."""


def approval_rows(archive: Archive) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    champ = archive.champion()
    for a in archive.approvals(states=[ApprovalState.PENDING, ApprovalState.CONFIRMING]):
        ev = a.evidence
        what = f"#{a.candidate_id} {a.state}"
        if "gain" in ev:
            what += f", gain {ev['gain']:.4g} over #{ev.get('champion')} in {ev.get('runs')} paired re-runs"
            if champ is not None and ev.get("champion") not in (None, champ.id):
                # the champion moved since: the figure is stale, and approve re-checks it
                what += f" (the champion is #{champ.id} now: approve re-checks against it)"
        pe = ev.get("per_example")
        if isinstance(pe, Mapping) and "lower" in pe:
            what += f", {pe['confidence']:.0%} lower bound {pe['lower']:.3g} over {pe['examples']} examples"
        flags = archive.get(a.candidate_id).flags
        if flags:
            what += f", flags: {', '.join(flags)}"
        rows.append(("approval", what))
    if archive.approvals(states=[ApprovalState.PENDING]):
        rows.append(("decide_with", "evoforge approve|reject [RUN] CAND --reason ..."))
    return rows


def print_candidate(
    archive: Archive, c: Candidate, *, code: bool, prompt: bool = False, response: bool = False
) -> None:
    blobs = [
        (k, c.extra.get(f"{k}_blob"))
        for k, on in (("prompt", prompt), ("response", response))
        if on
    ]
    for name, blob in blobs:
        if not blob:
            raise MissingRecord(f"candidate #{c.id} has no recorded {name} (not written by an LLM)")
    rows = [
        ("candidate", f"#{c.id}"),
        ("status", c.status.value),
        ("parents", ", ".join(f"#{p}" for p in c.parent_ids) or "-"),
        ("generation", str(c.generation)),
        ("island", str(c.island)),
        ("proposer", f"{c.proposer}/{c.operator}"),
        ("code_hash", c.code_hash[:16]),
        ("wall_seconds", f"{c.wall_s:.2f}"),
        ("cpu_seconds", f"{c.cpu_s:.2f}"),
        ("max_rss_mb", f"{c.max_rss_kb / 1024:.0f}"),
    ]
    rows += [(k, f"{v:.6g}") for k, v in sorted(c.metrics.items())]
    kinds = hidden_kinds(archive.get_meta("config", {}) or {})
    rows += [(k, f"{v:.6g} ({kinds.get(k, 'held-out')})") for k, v in sorted(c.heldout.items())]
    if c.flags:
        rows.append(("flags", ", ".join(c.flags)))
    if "model" in c.extra:
        x = c.extra
        rows.append(("model", str(x["model"])))
        rows.append(("tokens", f"{x.get('tokens_in', 0)} in, {x.get('tokens_out', 0)} out"))
        rows.append(("cost", f"{float(x.get('cost', 0.0)):.6f}"))
    rows += [(k, _plain(c.extra[k])) for k in _SEARCH_KEYS if k in c.extra]
    if "fallback" in c.extra:
        rows.append(("llm_fallback", str(c.extra["fallback"])))
    if c.failure:
        rows.append(("failure", c.failure.split("\n", 1)[0]))  # escaped whole: \r included
    if c.note:
        rows.append(("note", c.note))
    print(format_rows(rows))  # format_rows escapes each row: failure and note are the candidate's
    # Below, every text is the candidate's (or its LLM's): printable() keeps it from the terminal.
    for name, blob in blobs:
        text = printable(archive.get_blob(str(blob)))
        print(f"\n--- {name} ---\n{text}", end="" if text.endswith("\n") else "\n")
    if blobs:
        return
    if c.failure and "\n" in c.failure:
        print("\n--- failure ---\n" + printable(c.failure))
    for name, tail in (("stdout", c.stdout_tail), ("stderr", c.stderr_tail)):
        if tail.strip():
            print(f"\n--- {name} (tail) ---\n{printable(tail.rstrip()[-2000:])}")
    if code:
        for path, text in sorted(archive.get_code(c.code_hash).items()):
            text = printable(text)
            print(f"\n--- {printable(path)} ---\n{text}", end="" if text.endswith("\n") else "\n")
    elif c.extra.get("view") == "blocks":  # written whole, not edited: its blocks say more
        for block in program_blocks(archive.get_code(c.code_hash)):
            print(f"\n--- {printable(block.path)}, evolve block (--code: the whole module) ---")
            print(printable(block.text), end="")
    elif c.diff:
        print("\n--- diff to parent ---\n" + printable(c.diff), end="")


_SEARCH_KEYS = ("search_fitness", "select_fitness", "search_island", "found_after", "found_at_s")
"""What an algorithm search recorded about the candidates it proposed."""


def _plain(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def decline_reason(evidence: Mapping[str, Any]) -> str:
    """Why the promoter declined a challenger, said from the evidence it recorded.

    The promoter's own words come first: ``reason`` (it no longer beat the champion
    when its turn came) or ``why_not`` (its reason, when it records one). Otherwise the
    known fields are put in words: ``missing_reruns``, ``failed_reruns``, ``beats_noise``
    with ``gain``, ``threshold`` and ``runs``, and ``heldout_ok`` with ``heldout_gain``.
    Any other failed check, a field ``<check>_ok`` that is false or a table whose ``ok``
    is false, is named with the fields of the same prefix; evidence with none of these
    is listed as it is. So the reason shown stays true as the promoter gains checks."""
    if evidence.get("reason"):
        return str(evidence["reason"])
    if evidence.get("why_not"):  # the promoter's own sentence, recorded since it had one
        return str(evidence["why_not"])
    parts: list[str] = []
    for what in ("missing", "failed"):
        runs = list(evidence.get(f"{what}_reruns") or [])
        if runs:
            more = f" (and {len(runs) - 1} more)" if len(runs) > 1 else ""
            parts.append(f"{len(runs)} re-run(s) {what}: {runs[0]}{more}")
    if not parts and evidence.get("beats_noise") is False:
        parts.append(_noise(evidence))
    for key in sorted(evidence):
        value = evidence[key]
        if key.endswith("_ok") and value is False:
            parts.append(_failed_check(key[:-3], evidence))
        elif isinstance(value, Mapping) and value.get("ok") is False:
            detail = ", ".join(f"{k} {_short(v)}" for k, v in value.items() if k != "ok")
            parts.append(
                f"{key.replace('_', ' ')} check failed" + (f": {detail}" if detail else "")
            )
    if parts:
        return "; ".join(parts)
    listed = ", ".join(f"{k} {_short(v)}" for k, v in sorted(evidence.items()))
    return f"declined; evidence: {listed}" if listed else "declined (no evidence recorded)"


def _noise(ev: Mapping[str, Any]) -> str:
    if not ev.get("runs"):
        return "no paired re-run to compare with the champion"
    return (
        f"gain {_short(ev.get('gain'))} over champion #{ev.get('champion', '?')} not above "
        f"the noise threshold {_short(ev.get('threshold'))} ({ev['runs']} paired runs)"
    )


def _failed_check(stem: str, ev: Mapping[str, Any]) -> str:
    name = "held-out" if stem == "heldout" else stem.replace("_", " ")
    detail = "; ".join(
        f"{k[len(stem) + 1 :].replace('_', ' ')} {_short(v)}"
        for k, v in sorted(ev.items())
        if k.startswith(stem + "_") and k != stem + "_ok"
    )
    return f"{name} check failed" + (f": {detail}" if detail else "")


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_short(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple):
        return ", ".join(_short(v) for v in value) or "none"
    return str(value)
