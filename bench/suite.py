"""Benchmark suite: every search method on every suite task, same budgets and seeds.

Tasks: ``digits`` (examples/digits) and ``minimal`` (the curve fit of the
``minimal`` template), as bench/baselines.py runs them, ``algorithm_discovery``
(examples/algorithm-discovery: learning algorithms from basic operations, no
declared parameter), and the six experiments
under bench/suite/: ``breast_cancer`` and ``wine`` (scikit-learn pipelines on
bundled data sets, validation accuracy searched, test accuracy held out) and
``branin``, ``hartmann6``, ``rosenbrock10`` (synthetic functions with known
minima, evaluated by the trusted task at the point the program reports; their
held-out metric is the same value, as they have no noise and no data to split),
and ``openevolve_minimize``, a folder in OpenEvolve's format (``initial_program.py``,
``evaluator.py``, ``config.yaml``) that each run converts into its copy with evoforge's
own importer (``import_openevolve``, what ``evoforge init DEST --from-openevolve SRC``
runs), so it runs in OpenEvolve compatibility mode (no held-out metric). Its evolve
block holds a weak search whose literals carry no ``# evolve:`` annotation, as an
OpenEvolve user writes them: only the mutator-based methods can change them.

Methods: ``auto`` (``kind = "auto"`` written into the copy's ``[proposer]`` and
built by ``wiring.build_proposer``, as a user's run would), ``meta`` (the same
with the meta-evolved policy, ``src/evoforge/policy/shipped/evolved.py``, as
``[selection] policy`` and the members it chooses among: TPE, local moves and
random sampling), ``domain`` (the proposer the experiment's own evoforge.toml
configures: for algorithm_discovery its AutoML-Zero search), ``mutate`` (the
experiment's own mutator), and Optuna's ``tpe``, ``cmaes`` and ``random``
samplers swapped in (``OptunaProposer``). A method that cannot be built (a
config error: e.g. a proposer kind this checkout does not have yet), or whose run
ends with the proposer exhausted before it made one candidate to run (only the
seed evaluated: the Optuna samplers on ``openevolve_minimize``, which has no
declared parameter), is reported on stderr and as an ``error`` row, is not run
again for that task's other seeds, and the suite goes on with the others.

Each (task, method, seed) is one real evoforge run (``session.start``) of a copy
of the experiment with bench/baselines.py's ``configure``: the task's budget (its
evoforge.toml's ``[budget] candidates``, for openevolve_minimize the converted
config.yaml's ``max_iterations``, unless ``--budget``), the seed, the
workers, no confirmation re-runs and the process-level sandbox. The seed program
counts as the first candidate. Per run it records: the candidates evaluated when
the best-so-far first reached each of the task's targets (None if never), the
best objective within the budget and the held-out metric of that best candidate,
the CPU time of this process and its children during the run
(``getrusage(RUSAGE_SELF)`` + ``getrusage(RUSAGE_CHILDREN)`` deltas: the driver,
the worker processes and the candidates they ran, all reaped by the end of the
run) and the wall time. Runs are interleaved seed by seed (every task and method
for seed 0, then seed 1...), and each is appended to ``--out`` as one JSON line
as soon as it ends, so an interrupted suite keeps what it finished; ``--resume``
skips the (task, method, seed, budget) runs already in ``--out``.

Targets (objective values; maximize everywhere):

- digits: val accuracy 0.85 / 0.9 / 0.95; minimal: neg MSE -1 / -0.3 / -0.1 (baselines.py's);
- algorithm_discovery: val_fitness 0.9 / 0.99 / 0.9999 (the last is where its search
  stops: linear regression by gradient descent found); budget 60;
- breast_cancer: val accuracy 0.96 / 0.98 / 0.99 (114 validation rows: 4, 2 and 1 errors);
- wine: val accuracy 0.9 / 0.95 / 0.975 (48 validation rows: 4, 2 and 1 errors);
- branin, hartmann6, rosenbrock10: the remaining gap to the optimum, 10 % / 1 % / 0.1 %
  of the seed program's: target f = f* + frac * (f(seed) - f*), objective -f;
- openevolve_minimize: combined_score (minus the mean over 5 fixed seeds of f, f* = 0)
  -1 / -0.3 / -0.05; the seed program scores -4.1946.

``--summary FILE`` prints, per task, a markdown table (per method: runs,
candidates to each target as the median over seeds with how many seeds reached
it, a seed that never reached counting as more than the budget; best at budget
and the held-out metric of that best, mean ± sd; CPU and wall seconds per run
and CPU seconds per candidate), then one table of candidates-to-target ratios
against TPE. The ratio is a **ratio of medians**: for each task, the hardest
target that the method's or TPE's median candidates-to-target reaches (reached by
at least half of its seeds), method median / TPE median, a median past the budget
counted as budget + 1: "≤" marks a ratio where TPE's median is past the budget
(so the true ratio is at most that), "≥" one where the method's is. Below 1
means the method needed fewer candidates than TPE. The last row is the median of the ratios over the tasks that have one
(openevolve_minimize has none: TPE cannot run on it, so its cells say ``- (no tpe runs)``).

    .venv/bin/python bench/suite.py --seeds 5 --resume           # everything (hours)
    .venv/bin/python bench/suite.py --tasks branin,wine --methods mutate,tpe --seeds 1 --budget 20
    .venv/bin/python bench/suite.py --tasks openevolve_minimize --methods auto,mutate --seeds 2
    .venv/bin/python bench/suite.py --summary bench/suite-results.jsonl
    .venv/bin/python bench/suite.py --summary bench/suite-results.jsonl --methods auto,tpe
"""

from __future__ import annotations

import argparse
import json
import math
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from baselines import configure, mutator_of, reach

from evoforge import session, wiring
from evoforge.archive import SQLiteArchive
from evoforge.candidate import Status
from evoforge.compat import import_openevolve
from evoforge.config import ConfigError, load_config
from evoforge.proposers import Proposer
from evoforge.proposers.optuna import OptunaProposer

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "bench" / "suite"
GAP_FRACTIONS = (0.1, 0.01, 0.001)


def gap_targets(f_star: float, f_seed: float) -> tuple[float, ...]:
    """Objective (-f) targets at 10 %, 1 % and 0.1 % of the seed's gap to the minimum."""
    return tuple(round(-(f_star + frac * (f_seed - f_star)), 6) for frac in GAP_FRACTIONS)


def _template() -> Path:
    return Path(str(resources.files("evoforge") / "templates" / "minimal"))


# source: the experiment folder; targets: objective values, easiest first;
# labels: how the table names the targets (default: the values themselves).
GAP_LABELS = tuple(f"gap {frac:.1%}".replace(".0%", "%") for frac in GAP_FRACTIONS)
TASKS: dict[str, dict[str, Any]] = {
    "digits": {"source": ROOT / "examples" / "digits", "targets": (0.85, 0.9, 0.95)},
    "minimal": {"source": None, "targets": (-1.0, -0.3, -0.1)},
    "breast_cancer": {"source": SUITE / "breast_cancer", "targets": (0.96, 0.98, 0.99)},
    "wine": {"source": SUITE / "wine", "targets": (0.9, 0.95, 0.975)},
    "branin": {  # seed (0, 0): f = 55.602113
        "source": SUITE / "branin",
        "targets": gap_targets(0.397887, 55.602113),
        "labels": GAP_LABELS,
    },
    "hartmann6": {  # seed (0.5, ..., 0.5): f = -0.505315
        "source": SUITE / "hartmann6",
        "targets": gap_targets(-3.32237, -0.505315),
        "labels": GAP_LABELS,
    },
    "rosenbrock10": {  # seed (-1, ..., -1): f = 3636
        "source": SUITE / "rosenbrock10",
        "targets": gap_targets(0.0, 3636.0),
        "labels": GAP_LABELS,
    },
    # The learning-algorithm discovery example: no declared parameter (the samplers
    # cannot run); its own proposer is the AutoML-Zero search ("domain"). Budget 60:
    # the search hands over only improvements, the mutator-based methods use them all.
    "algorithm_discovery": {
        "source": ROOT / "examples" / "algorithm-discovery",
        "targets": (0.9, 0.99, 0.9999),
        "budget": 60,
    },
    # An OpenEvolve folder, converted by evoforge's importer into each run's copy; its
    # literals are undeclared, so the Optuna samplers have no space. Seed: mean f = 4.1946.
    "openevolve_minimize": {
        "source": SUITE / "openevolve_minimize",
        "openevolve": True,
        "targets": (-1.0, -0.3, -0.05),
    },
}


def _build_auto(exp: Path) -> Proposer:
    """``kind = "auto"`` in the copy's [proposer], built as a user's run would build it."""
    _write_auto(exp)
    return wiring.build_proposer(load_config(exp), exp)


META_POLICY = ROOT / "src" / "evoforge" / "policy" / "shipped" / "evolved.py"
META_MEMBERS = '["tpe", "local", "random"]'
"""The portfolio's members a meta-evolved policy chooses among (the makers it was
evolved with: the mutator's local moves, TPE and random sampling)."""


def _build_meta(exp: Path) -> Proposer:
    """The meta-evolved policy (``evolved.py``, what ``evoforge meta`` accepted) in a
    user's run: ``kind = "auto"`` with the members it knows and ``[selection] policy``,
    so it chooses each proposal's member, TPE's start-up, the parents and the local
    moves' operators and step."""
    _write_auto(exp)
    text = (exp / "evoforge.toml").read_text()
    if "[proposer.auto]" in text or "[selection]" in text:
        raise ValueError("the experiment sets [proposer.auto] or [selection] itself")
    shutil.copy(META_POLICY, exp / "policy.py")
    text += f'\n[proposer.auto]\nmembers = {META_MEMBERS}\n\n[selection]\npolicy = "policy.py"\n'
    (exp / "evoforge.toml").write_text(text)
    config = load_config(exp)
    return wiring.build_proposer(config, exp, policy=wiring.load_policy(config, exp))


def _build_domain(exp: Path) -> Proposer:
    """The proposer the experiment's own evoforge.toml configures (for algorithm
    discovery: its AutoML-Zero search)."""
    return wiring.build_proposer(load_config(exp), exp)


def _write_auto(exp: Path) -> None:
    toml = exp / "evoforge.toml"
    text = toml.read_text()
    section = re.search(r"(?ms)^\[proposer\]\n.*?(?=^\[|\Z)", text)
    if section is None:
        text += '\n[proposer]\nkind = "auto"\n'
    else:
        body = re.sub(r"(?m)^kind = .*$", 'kind = "auto"', section.group(0))
        if 'kind = "auto"' not in body:
            body = '[proposer]\nkind = "auto"\n' + body.removeprefix("[proposer]\n")
        text = text[: section.start()] + body + text[section.end() :]
    toml.write_text(text)


METHODS: dict[str, Callable[[Path], Proposer]] = {
    "auto": _build_auto,
    "meta": _build_meta,
    "domain": _build_domain,
    "mutate": mutator_of,
    "tpe": lambda exp: OptunaProposer(sampler="tpe"),
    "cmaes": lambda exp: OptunaProposer(sampler="cmaes"),
    "random": lambda exp: OptunaProposer(sampler="random"),
}
RATIO_BASE = "tpe"


class MethodUnavailable(Exception):
    """The method's proposer cannot be built here (the message says why)."""


def source_dir(task: str) -> Path:
    return TASKS[task]["source"] or _template()


def default_budget(task: str) -> int:
    """The candidate budget in the task's own evoforge.toml (an OpenEvolve folder's: in
    the one its conversion writes, from config.yaml's ``max_iterations``)."""
    if "budget" in TASKS[task]:
        return int(TASKS[task]["budget"])
    if TASKS[task].get("openevolve"):
        with tempfile.TemporaryDirectory(prefix=f"evoforge-suite-{task}-") as tmp:
            copy_experiment(task, Path(tmp) / "exp")
            budget = load_config(Path(tmp) / "exp").budget.candidates
    else:
        budget = load_config(source_dir(task)).budget.candidates
    if budget is None:
        raise SystemExit(f"{task}: its evoforge.toml sets no [budget] candidates; pass --budget")
    return budget


def copy_experiment(task: str, dest: Path) -> None:
    """The experiment's top-level .py and .toml files (what baselines.py copies too); an
    OpenEvolve folder is converted into ``dest`` by evoforge's importer instead (what
    ``evoforge init DEST --from-openevolve SRC`` runs), with no LLM proposer."""
    if TASKS[task].get("openevolve"):
        import_openevolve(source_dir(task), dest, use_llm=False)
        return
    dest.mkdir(parents=True)
    for item in source_dir(task).iterdir():
        if item.is_file() and item.name.endswith((".py", ".toml")):
            shutil.copy(item, dest / item.name)


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def one_run(task: str, method: str, seed: int, budget: int, workers: int) -> dict[str, Any]:
    """One evoforge run; raises MethodUnavailable if the method's proposer cannot be built,
    or if it gave up without making one candidate to run (only the seed was evaluated: e.g.
    an Optuna sampler on a program with no declared parameter)."""
    with tempfile.TemporaryDirectory(prefix=f"evoforge-suite-{task}-") as tmp:
        exp = Path(tmp) / "exp"
        copy_experiment(task, exp)
        configure(exp, seed=seed, budget=budget, workers=workers)
        self0, kids0 = _cpu()
        began = time.monotonic()
        try:
            proposer = METHODS[method](exp)
        except (ConfigError, ValueError, ImportError) as exc:
            why = " ".join(str(exc).replace(str(exp), "<copy>").split())
            raise MethodUnavailable(f"{type(exc).__name__}: {why}") from exc
        config = load_config(exp)
        outcome = session.start(exp, proposer=proposer)
        wall = time.monotonic() - began
        self1, kids1 = _cpu()
        with SQLiteArchive(outcome.run.archive, readonly=True) as archive:
            every = list(archive.candidates())
        done = [c for c in every if c.status.was_evaluated()]
        if len(done) <= 1 and outcome.reason.startswith("proposer exhausted"):
            raise MethodUnavailable(f"the proposer made nothing to run: {outcome.reason}")
        scores = [
            c.score(config.task.objective) if c.status == Status.SUCCEEDED else None for c in done
        ]
    finite = [i for i, s in enumerate(scores) if s is not None and math.isfinite(s)]
    sign = 1.0 if config.maximize else -1.0
    best_i = max(finite, key=lambda i: sign * (scores[i] or 0.0)) if finite else None
    heldout_name = config.task.heldout[0] if config.task.heldout else None
    best_heldout = dict(done[best_i].heldout) if best_i is not None else {}
    cpu = (self1 - self0) + (kids1 - kids0)
    return {
        "task": task, "method": method, "seed": seed, "budget": budget, "workers": workers,
        "objective": config.task.objective, "maximize": config.maximize,
        "evaluated": len(done), "failed": sum(s is None for s in scores),
        "duplicates": sum(1 for c in every if c.status == Status.DUPLICATE),
        "rejected": sum(1 for c in every if c.status == Status.REJECTED),
        "best": scores[best_i] if best_i is not None else None,
        "best_candidate": best_i + 1 if best_i is not None else None,
        "heldout_metric": heldout_name,
        "best_heldout": best_heldout.get(heldout_name) if heldout_name else None,
        "best_heldout_all": best_heldout,
        "targets": list(TASKS[task]["targets"]),
        "reach": reach(scores, TASKS[task]["targets"], maximize=config.maximize),
        "curve": scores, "reason": outcome.reason,
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "cpu_self_s": round(self1 - self0, 2), "cpu_children_s": round(kids1 - kids0, 2),
    }  # fmt: skip


# --- the summary -----------------------------------------------------------------------


def _median_reach(rows: list[dict[str, Any]], target: str) -> tuple[float, int]:
    """Median candidates to ``target`` (never reached counts as inf) and how many reached."""
    hits = [r["reach"][target] for r in rows]
    reached = sorted(h for h in hits if h is not None)
    ranked = reached + [math.inf] * (len(hits) - len(reached))
    return statistics.median_low(ranked), len(reached)


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4g} ± {sd:.2g}"


def _labels(task: str) -> list[str]:
    targets = TASKS[task]["targets"]
    names = TASKS[task].get("labels")
    return (
        [f"{n} ({t:.4g})" for n, t in zip(names, targets, strict=True)]
        if names
        else [f"{t:g}" for t in targets]
    )


def _method_order(rows: list[dict[str, Any]]) -> list[str]:
    seen = {r["method"] for r in rows}
    return [m for m in METHODS if m in seen] + sorted(seen - set(METHODS))


def task_table(task: str, rows: list[dict[str, Any]]) -> list[str]:
    targets = [str(t) for t in TASKS[task]["targets"]]
    for r in rows:  # from the curve, so targets can be changed after the runs
        r["reach"] = reach(r["curve"], TASKS[task]["targets"], maximize=r.get("maximize", True))
    budgets = sorted({r["budget"] for r in rows})
    heldout = next((r["heldout_metric"] for r in rows if r.get("heldout_metric")), "held-out")
    out = [f"### {task} (budget {', '.join(map(str, budgets))}; objective {rows[0]['objective']})"]
    head = ["method", "runs"]
    head += [f"candidates to {label}: median (reached/runs)" for label in _labels(task)]
    head += ["best at budget, mean ± sd", f"{heldout} of that best, mean ± sd"]
    head += ["CPU s/run", "CPU s/candidate", "wall s/run", "failed"]
    out += ["", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for method in _method_order(rows):
        rs = [r for r in rows if r["method"] == method]
        cells = [method, str(len(rs))]
        for t in targets:
            med, n = _median_reach(rs, t)
            budget = max(r["budget"] for r in rs)
            cells.append(f"{'>' + str(budget) if med == math.inf else med} ({n}/{len(rs)})")
        cells.append(_mean_sd([r["best"] for r in rs if r["best"] is not None]))
        cells.append(_mean_sd([r["best_heldout"] for r in rs if r["best_heldout"] is not None]))
        evaluated = sum(r["evaluated"] for r in rs)
        cpu = sum(r["cpu_s"] for r in rs)
        cells.append(f"{cpu / len(rs):.0f}")
        cells.append(f"{cpu / evaluated:.2f}" if evaluated else "-")
        cells.append(f"{statistics.mean(r['wall_s'] for r in rs):.0f}")
        cells.append(f"{sum(r['failed'] for r in rs) / evaluated:.0%}" if evaluated else "-")
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


def ratio(task: str, rows: list[dict[str, Any]], method: str) -> tuple[float, str] | None:
    """Method median / TPE median at the hardest target either median reaches, and that
    target, prefixed "≤" where TPE's median is past the budget (counted as budget + 1, so
    the ratio is at most that) or "≥" where the method's is; None if neither reaches one."""
    mine = [r for r in rows if r["method"] == method]
    base = [r for r in rows if r["method"] == RATIO_BASE]
    if not mine or not base:
        return None
    budget = max(r["budget"] for r in mine + base)
    for target, label in reversed(list(zip(TASKS[task]["targets"], _labels(task), strict=True))):
        a, _ = _median_reach(mine, str(target))
        b, _ = _median_reach(base, str(target))
        if not (math.isfinite(a) or math.isfinite(b)):
            continue
        bound = "≤" if not math.isfinite(b) else "≥" if not math.isfinite(a) else ""
        a, b = (x if math.isfinite(x) else budget + 1 for x in (a, b))
        return a / b, f"{bound}|{label}"
    return None


def _one_sided(task: str, rows: list[dict[str, Any]], method: str) -> str:
    """Where no target has both medians: which of the two reaches one (its easiest), if any."""
    if any(r["method"] == method for r in rows) and not any(
        r["method"] == RATIO_BASE for r in rows
    ):
        return f" (no {RATIO_BASE} runs)"
    for who in (method, RATIO_BASE):
        mine = [r for r in rows if r["method"] == who]
        if not mine:
            return ""
        for target, label in zip(TASKS[task]["targets"], _labels(task), strict=True):
            if math.isfinite(_median_reach(mine, str(target))[0]):
                return f" (only {who} reaches {label})"
    return ""


def ratio_table(by_task: dict[str, list[dict[str, Any]]]) -> list[str]:
    every = [r for rs in by_task.values() for r in rs]
    methods = [m for m in _method_order(every) if m != RATIO_BASE]
    out = [
        f"### candidates-to-target, ratio of medians against {RATIO_BASE} (below 1: fewer)",
        "",
        "Each cell: method median / TPE median at the hardest target that either median "
        "reaches (that target in brackets; a median past the budget counts as budget + 1, "
        "so ≤ marks a ratio that is at most that, TPE not reaching the target, and ≥ one "
        "that is at least that); - where neither reaches a target or either has no runs.",
        "",
        "| task | " + " | ".join(methods) + " |",
        "|" + " --- |" * (len(methods) + 1),
    ]
    per_method: dict[str, list[float]] = {m: [] for m in methods}
    for task, rows in by_task.items():
        cells = []
        for m in methods:
            got = ratio(task, rows, m)
            if got is None:
                cells.append("-" + _one_sided(task, rows, m))
            else:
                per_method[m].append(got[0])
                bound, label = got[1].split("|", 1)
                cells.append(f"{bound}{got[0]:.2f} ({label})")
        out.append(f"| {task} | " + " | ".join(cells) + " |")
    medians = [
        f"{statistics.median(v):.2f} (n={len(v)})" if v else "-" for v in per_method.values()
    ]
    out.append("| **median task** | " + " | ".join(medians) + " |")
    return [*out, ""]


def complete_seeds(runs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Per task, only the seeds that every method of that task has a row for (a suite
    stopped part-way leaves some methods one seed ahead), and what was left out."""
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    for task in dict.fromkeys(r["task"] for r in runs):
        mine = [r for r in runs if r["task"] == task]
        methods = {r["method"] for r in mine}
        seeds = sorted({r["seed"] for r in mine})
        full = {s for s in seeds if {r["method"] for r in mine if r["seed"] == s} == methods}
        kept += [r for r in mine if r["seed"] in full]
        dropped += [f"{task} seed {s}" for s in seeds if s not in full]
    return kept, dropped


def summarize(rows: list[dict[str, Any]]) -> str:
    errors = [r for r in rows if r.get("error")]
    runs, dropped = complete_seeds([r for r in rows if not r.get("error")])
    by_task = {
        t: [r for r in runs if r["task"] == t] for t in TASKS if any(r["task"] == t for r in runs)
    }
    out: list[str] = []
    for task, rs in by_task.items():
        out += task_table(task, rs)
    if by_task:
        out += ratio_table(by_task)
    if dropped:
        out += [f"Left out (not every method has run it): {', '.join(dropped)}.", ""]
    if errors:
        out.append("### runs that could not start (or whose proposer made nothing to run)")
        out.append("")
        seen: dict[tuple[str, str], list[str]] = {}
        for r in errors:
            why = " ".join(re.sub(r"\S*evoforge-suite-[^/\s]+/exp", "<copy>", r["error"]).split())
            seen.setdefault((r["method"], why), []).append(r["task"])
        out += [
            f"- {m} on {', '.join(dict.fromkeys(ts))} ({len(ts)} runs): {e}"
            for (m, e), ts in seen.items()
        ]
        out.append("")
    return "\n".join(out)


# --- the command line --------------------------------------------------------------------


def _choices(text: str, known: dict[str, Any], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows; of several for one (task, method, seed, budget), the last written
    (a run repeated, e.g. after a change, replaces the earlier one in the tables)."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    last = {(r["task"], r["method"], r["seed"], r["budget"]): r for r in rows}
    return list(last.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS), help=f"of {','.join(TASKS)}")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"of {','.join(METHODS)}")
    ap.add_argument("--seeds", type=int, default=3, help="how many seeds, from --first-seed")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=None, help="candidates; default: each task's")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "suite-results.jsonl")
    ap.add_argument("--resume", action="store_true", help="skip runs already in --out")
    ap.add_argument("--summary", type=Path, default=None, help="only print the tables of a file")
    args = ap.parse_args()
    if args.summary:  # --tasks/--methods pick the rows (seeds kept: those all of them ran)
        keep_t = set(_choices(args.tasks, TASKS, "tasks"))
        keep_m = set(_choices(args.methods, METHODS, "methods"))
        rows = [
            r for r in _read_rows(args.summary) if r["task"] in keep_t and r["method"] in keep_m
        ]
        print(summarize(rows))
        return
    tasks = _choices(args.tasks, TASKS, "tasks")
    methods = _choices(args.methods, METHODS, "methods")
    budgets = {t: args.budget or default_budget(t) for t in tasks}
    done = {
        (r["task"], r["method"], r["seed"], r["budget"])
        for r in _read_rows(args.out) if args.resume and not r.get("error")
    }  # fmt: skip
    unavailable: dict[tuple[str, str], str] = {}
    rows: list[dict[str, Any]] = []
    skipped = 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for task in tasks:
            for method in methods:
                key = (task, method, seed, budgets[task])
                if key in done:
                    skipped += 1
                    continue
                if (task, method) in unavailable:  # a config error does not change with the seed
                    continue
                try:
                    row = one_run(task, method, seed, budgets[task], args.workers)
                except MethodUnavailable as exc:
                    unavailable[task, method] = str(exc)
                    row = {"task": task, "method": method, "seed": seed,
                           "budget": budgets[task], "error": str(exc)}  # fmt: skip
                    print(f"{task} {method}: cannot build the proposer or it proposes nothing, "
                          f"skipping this method for this task: {exc}", file=sys.stderr, flush=True)  # fmt: skip
                except Exception as exc:  # one broken run must not end the suite
                    row = {"task": task, "method": method, "seed": seed,
                           "budget": budgets[task], "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
                    print(f"{task} {method} seed={seed}: run failed:", file=sys.stderr)
                    traceback.print_exc()
                else:
                    print(
                        f"{task} {method} seed={seed} best={row['best']} reach={row['reach']} "
                        f"evaluated={row['evaluated']} failed={row['failed']} "
                        f"wall={row['wall_s']}s cpu={row['cpu_s']}s",
                        file=sys.stderr, flush=True,
                    )  # fmt: skip
                rows.append(row)
                with args.out.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
    if skipped:
        print(f"skipped {skipped} runs already in {args.out} (--resume)", file=sys.stderr)
    if unavailable:
        for (task, method), why in unavailable.items():
            print(f"not run: {task} {method}: {why}", file=sys.stderr)
    print(summarize(rows))


if __name__ == "__main__":
    main()
