"""Greppable ``key: value`` summaries of a run, shared by run, resume, status and best."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Status
from evoforge.textsafe import one_line


def run_summary(
    archive: Archive, *, run_path: str, state: str | None = None
) -> list[tuple[str, str]]:
    config: Mapping[str, Any] = archive.get_meta("config", {})
    objective = str(config.get("task", {}).get("objective", ""))
    counts = archive.counts()
    evaluated = sum(n for status, n in counts.items() if status.was_evaluated())
    budget = config.get("budget", {}).get("candidates")
    elapsed = elapsed_seconds(archive, running=state == "running")
    rows: list[tuple[str, str]] = [
        ("run", run_path),
        ("state", state or str(archive.get_meta("state", "unknown"))),
        ("candidates", f"{evaluated}" + (f"/{budget}" if budget else "")),
        ("succeeded", str(counts[Status.SUCCEEDED])),
        ("failed", str(counts[Status.FAILED])),
        ("rejected", str(counts[Status.REJECTED])),
        ("duplicates", str(counts[Status.DUPLICATE])),
        *(
            [("stopped", f"{counts[Status.STOPPED]} (at a low fidelity rung)")]
            if counts[Status.STOPPED]
            else []
        ),
        ("pending", str(counts[Status.PENDING] + counts[Status.RUNNING])),
        ("elapsed_seconds", f"{elapsed:.1f}"),
        ("candidates_per_minute", f"{evaluated / (elapsed / 60):.2f}" if elapsed > 0 else "-"),
    ]
    compat = archive.get_meta("compat_mode")
    if compat:
        rows.append(("compat_mode", str(compat)))
    sandbox = archive.get_meta("sandbox", {})
    if sandbox:
        weak = [k for k, v in sandbox.items() if not str(v).startswith("on")]
        rows.append(("sandbox", "all layers on" if not weak else "missing: " + ", ".join(weak)))
    rows.extend(llm_rows(archive, config))
    rows.extend(portfolio_rows(archive))
    rows.extend(proposer_rows(archive))
    rows.extend(operator_rows(archive))
    rows.extend(search_rows(archive))
    if archive.size() > 0:
        rows.extend(_figures("seed", archive.get(1), objective, hidden_kinds(config)))
    champ = archive.champion()
    if champ is not None:
        rows.append(("champion", f"#{champ.id}"))
        rows.extend(_figures("champion", champ, objective, hidden_kinds(config)))
    return rows


def run_state(archive: Archive, *, live_pid: int | None, run_path: str) -> str:
    """The run's state as it is now: "running" while a driver lives, else the state the
    driver recorded, except that a run left "running" by a driver now gone crashed."""
    if live_pid is not None:
        return "running"
    recorded = str(archive.get_meta("state", "unknown"))
    if recorded != "running":
        return recorded
    pid = archive.get_meta("driver_pid")
    driver = "the driver" if pid is None else f"driver {pid}"
    return f"crashed ({driver} is gone; resume with: evoforge resume {run_path})"


def _figures(
    prefix: str, c: Candidate, objective: str, kinds: Mapping[str, str]
) -> list[tuple[str, str]]:
    if c.status != Status.SUCCEEDED:
        return [(f"{prefix}_status", c.status.value)]
    rows = [(f"{prefix}_{k}", f"{v:.6g}") for k, v in sorted(c.metrics.items())]
    rows += [
        (f"{prefix}_{k}", f"{v:.6g} ({kinds.get(k, 'held-out')})")
        for k, v in sorted(c.heldout.items())
    ]
    del objective
    return rows


def hidden_kinds(config: Mapping[str, Any]) -> dict[str, str]:
    """Every hidden metric the config declares, in its order, with the label it is shown
    with: ``held-out`` (``[task] heldout``: reported only) or ``gate`` (``[task] gate``:
    may veto a promotion). A candidate's ``heldout`` record holds both kinds."""
    task = config.get("task") or {}
    kinds = {str(name): "held-out" for name in task.get("heldout") or []}
    kinds.update({str(name): "gate" for name in task.get("gate") or []})
    return kinds


def llm_rows(archive: Archive, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Per LLM model, from the candidates' records: tokens, cost, accepted answers (they
    became a candidate that runs) and rejected ones (refused by the proposer or a gate,
    or a duplicate); from the proposer's ledger, when saved: tokens and cost with failed
    tries included (what the budget counts), requests, and failed tries by reason; then
    the totals against the run's budget, and fallback proposals."""
    llm = (config.get("proposer") or {}).get("llm") or {}
    per: dict[str, list[float]] = {
        str(m.get("label") or m.get("name")): [0, 0.0, 0, 0] for m in llm.get("models", [])
    }
    fallback = 0
    for c in archive.candidates():
        fallback += "fallback" in c.extra
        model = c.extra.get("model")
        if not model:
            continue
        row = per.setdefault(str(model), [0, 0.0, 0, 0])
        row[0] += int(c.extra.get("tokens_in", 0)) + int(c.extra.get("tokens_out", 0))
        row[1] += float(c.extra.get("cost", 0.0))
        row[2 if c.status not in (Status.REJECTED, Status.DUPLICATE) else 3] += 1
    ledger = _llm_ledger(archive)
    for model, spent in ledger.items():
        row = per.setdefault(model, [0, 0.0, 0, 0])
        row[0] = int(spent.get("tokens_in", 0)) + int(spent.get("tokens_out", 0))
        row[1] = float(spent.get("cost", 0.0))
    if not per and not fallback:
        return []
    rows: list[tuple[str, str]] = []
    for model, (tokens, cost, accepted, rejected) in per.items():
        key = "llm_" + re.sub(r"[^\w.-]", "_", model)
        rows += [
            (f"{key}_tokens", str(int(tokens))),
            (f"{key}_cost", f"{cost:.6f}"),
            (f"{key}_accepted", str(int(accepted))),
            (f"{key}_rejected", str(int(rejected))),
        ]
        if model in ledger:
            rows += [
                (f"{key}_requests", str(int(ledger[model].get("requests", 0)))),
                (f"{key}_failed", _failures([ledger[model]])),
            ]
    max_tokens, max_cost = llm.get("max_tokens"), llm.get("max_cost")
    tokens = int(sum(r[0] for r in per.values()))
    cost = sum(r[1] for r in per.values())
    rows += [
        ("llm_tokens", f"{tokens}" + (f"/{max_tokens}" if max_tokens else "")),
        ("llm_cost", f"{cost:.6f}" + (f"/{max_cost:g}" if max_cost else "")),
        ("llm_accepted", str(int(sum(r[2] for r in per.values())))),
        ("llm_rejected", str(int(sum(r[3] for r in per.values())))),
        ("llm_fallback_proposals", str(fallback)),
    ]
    if ledger:
        models = list(ledger.values())
        rows += [
            ("llm_requests", str(sum(int(m.get("requests", 0)) for m in models))),
            ("llm_failed", _failures(models)),
            ("llm_failed_tokens", str(sum(int(m.get("failed_tokens", 0)) for m in models))),
        ]
    return rows


def _llm_ledger(archive: Archive) -> dict[str, Mapping[str, Any]]:
    """The LLM proposer's ledger per model: ``usage`` in its saved state (or a mix member's)."""
    state: Mapping[str, Any] = archive.get_meta("proposer_state", {}) or {}
    for owner in (state, *state.values()):
        usage = owner.get("usage") if isinstance(owner, Mapping) else None
        if isinstance(usage, Mapping):
            return {str(k): v for k, v in usage.items() if isinstance(v, Mapping)}
    return {}


def _failures(ledgers: list[Mapping[str, Any]]) -> str:
    """``N (reason n, ...)``, most frequent first; ``0`` when no try failed."""
    counts: dict[str, int] = {}
    for spent in ledgers:
        failed = spent.get("failed")
        for reason, n in dict(failed if isinstance(failed, Mapping) else {}).items():
            counts[str(reason)] = counts.get(str(reason), 0) + int(n)
    total = sum(counts.values())
    if not total:
        return "0"
    parts = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{total} ({', '.join(f'{r} {n}' for r, n in parts)})"


def operator_rows(archive: Archive) -> list[tuple[str, str]]:
    """What the operator bandit learned (``[proposer] adapt`` or a policy): per operator,
    its tries, mean reward (the share of children that beat their parent) and mean gain."""
    state: Mapping[str, Any] = archive.get_meta("proposer_state", {}) or {}
    bandit = state.get("bandit")
    mutate = state.get("mutate")
    if not isinstance(bandit, Mapping) and isinstance(mutate, Mapping):
        # A mix keeps each member's state under its name; only the mutator's "bandit" is
        # over operators (an LLM member's is over models, a mix's own over proposers).
        bandit = mutate.get("bandit")
    if not isinstance(bandit, Mapping):
        return []
    return _arm_rows("operator", bandit)


def proposer_rows(archive: Archive) -> list[tuple[str, str]]:
    """What the bandit over the proposers of a mix learned (``kind = "mix"`` with
    ``adapt``): per proposer, its tries, mean reward and mean gain, as for operators."""
    state: Mapping[str, Any] = archive.get_meta("proposer_state", {}) or {}
    bandit = state.get("mix_bandit")
    return _arm_rows("proposer", bandit) if isinstance(bandit, Mapping) else []


def portfolio_members(archive: Archive) -> list[dict[str, Any]]:
    """What each member of the default portfolio (``kind = "auto"``) did so far: its
    proposals, how many improved the run's best, by how much in all, and the seconds of
    evaluation they cost; ``[]`` for other proposers. Shared by status, dashboard, report."""
    state: Mapping[str, Any] = archive.get_meta("proposer_state", {}) or {}
    own = state.get("portfolio")
    payoff = own.get("payoff") if isinstance(own, Mapping) else None
    if not isinstance(payoff, Mapping):
        return []
    out = []
    for name, s in payoff.items():
        if not isinstance(s, Mapping) or not s.get("total_pulls"):
            continue
        out.append({
            "member": str(name),
            "proposals": int(s.get("total_pulls", 0)),
            "improved": int(s.get("total_wins", 0)),
            "gain": float(s.get("gain", 0.0)),
            "seconds": float(s.get("total_seconds", 0.0)),
        })  # fmt: skip
    return out


def portfolio_rows(archive: Archive) -> list[tuple[str, str]]:
    """``member_<name>`` rows of :func:`portfolio_members`, for ``status``."""
    rows = []
    for m in portfolio_members(archive):
        n = m["proposals"]
        rows.append((
            f"member_{m['member']}",
            f"{n} proposals, {m['improved']} improved the best (gain {m['gain']:.4g}), "
            f"{m['seconds'] / n:.2f} s each",
        ))  # fmt: skip
    return rows


def _arm_rows(prefix: str, bandit: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for name, arm in sorted(bandit.items()):
        if not isinstance(arm, Mapping):
            continue
        tries = int(arm.get("tries", 0))
        if tries <= 0:
            continue
        reward = int(arm.get("wins", 0)) / tries
        gain = float(arm.get("gain", 0.0)) / tries
        rows.append(
            (f"{prefix}_{name}", f"{tries} tries, {reward:.2f} mean reward, {gain:.4g} mean gain")
        )
    return rows


def search_rows(archive: Archive) -> list[tuple[str, str]]:
    """What an algorithm search (``[proposer] kind = "automl"``) did: its counts are
    kept here, not as candidates."""
    state: Mapping[str, Any] = archive.get_meta("proposer_state", {}) or {}
    counts = state.get("algorithms")
    if not isinstance(counts, Mapping):
        return []
    n = int(counts.get("candidates", 0))
    seconds = float(state.get("elapsed_s", 0.0))

    def share(key: str) -> str:
        count = int(counts.get(key, 0))
        return f"{count:,} ({count / n:.0%})" if n else str(count)

    rows = [
        (
            "search_algorithms",
            f"{n:,}" + (f" in {seconds:.0f}s ({n / seconds:,.0f}/s)" if seconds else ""),
        ),
        ("search_evaluated", f"{int(counts.get('evaluated', 0)):,}"),
        ("search_cache_hits", share("cache_hits")),
        ("search_hurdle_stops", share("hurdle_stops")),
        ("search_discarded", share("discarded")),
        (
            "search_improvements",
            f"{int(state.get('improvements', 0))} ({int(state.get('superseded', 0))} superseded "
            "by a newer best before the loop could take them)",
        ),
    ]
    if "best_search_fitness" in state:
        rows.append(("search_best_fitness", f"{float(state['best_search_fitness']):.6f}"))
    rows.append(("search_state", str(state.get("stop_reason") or "running or interrupted")))
    return rows


def elapsed_seconds(archive: Archive, *, running: bool, now: float | None = None) -> float:
    """Seconds the run has been driven, over all its driver sessions: what the ended
    sessions saved (``elapsed_s``) plus, while a driver runs, the time since its session
    began (``session_started_at``, which the driver records when it starts)."""
    before = float(archive.get_meta("elapsed_s", 0.0) or 0.0)
    began = archive.get_meta("session_started_at")
    if not running or began is None:
        return before
    return before + max(0.0, (time.time() if now is None else now) - float(began))


def format_rows(rows: list[tuple[str, str]]) -> str:
    """One ``key: value`` line per row. Values may hold a candidate's text (its failure,
    its note, a model's name): each is escaped and kept on its own line, so none can
    write to the terminal or forge a row."""
    return "\n".join(f"{one_line(k)}: {one_line(v)}" for k, v in rows)
