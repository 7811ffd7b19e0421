"""How a candidate and pending approvals are printed (``show``, ``best``, ``status``)."""

from __future__ import annotations

from evoforge.archive import Archive
from evoforge.candidate import Candidate
from evoforge.program import program_blocks
from evoforge.summary import format_rows


class MissingRecord(LookupError):
    """What was asked for was never recorded (e.g. the prompt of a mutator's child)."""


def approval_rows(archive: Archive) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for a in archive.approvals(states=["pending", "confirming"]):
        ev = a.evidence
        what = f"#{a.candidate_id} {a.state}"
        if "gain" in ev:
            what += f", gain {ev['gain']:.4g} over #{ev.get('champion')} in {ev.get('runs')} paired re-runs"
        flags = archive.get(a.candidate_id).flags
        if flags:
            what += f", flags: {', '.join(flags)}"
        rows.append(("approval", what))
    if any(a.state == "pending" for a in archive.approvals(states=["pending"])):
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
    rows += [(k, f"{v:.6g} (held-out)") for k, v in sorted(c.heldout.items())]
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
        rows.append(("failure", c.failure.splitlines()[0]))
    print(format_rows(rows))
    for name, blob in blobs:
        text = archive.get_blob(str(blob))
        print(f"\n--- {name} ---\n{text}", end="" if text.endswith("\n") else "\n")
    if blobs:
        return
    if c.failure and "\n" in c.failure:
        print("\n--- failure ---\n" + c.failure)
    for name, tail in (("stdout", c.stdout_tail), ("stderr", c.stderr_tail)):
        if tail.strip():
            print(f"\n--- {name} (tail) ---\n{tail.rstrip()[-2000:]}")
    if code:
        for path, text in sorted(archive.get_code(c.code_hash).items()):
            print(f"\n--- {path} ---\n{text}", end="" if text.endswith("\n") else "\n")
    elif c.extra.get("view") == "blocks":  # written whole, not edited: its blocks say more
        for block in program_blocks(archive.get_code(c.code_hash)):
            print(f"\n--- {block.path}, evolve block (--code: the whole module) ---")
            print(block.text, end="")
    elif c.diff:
        print("\n--- diff to parent ---\n" + c.diff, end="")


_SEARCH_KEYS = ("search_fitness", "select_fitness", "search_island", "found_after", "found_at_s")
"""What an algorithm search recorded about the candidates it proposed."""


def _plain(value: object) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
