"""Baselines: the built-in mutator against Optuna TPE and random search, same budget.

Each (method, seed) pair is one real evoforge run (``session.start`` with the
proposer swapped in) of a copy of the experiment, with the candidate budget,
seed and worker count set here and everything else as the experiment has it,
except: no confirmation re-runs (their cost differs by method, and they do not
change which candidates were found) and the process-level sandbox (the sandbox
does not change the search). The seed program counts as the first candidate.

For each run: the candidates evaluated before the best-so-far reaches each
target (none if it never does), and the best objective within the budget (with
its held-out metrics, for honesty). Runs are interleaved by seed, so a run cut
short still has every method on the same seeds, and each finished run is
appended to ``--out`` (JSON lines) at once; ``--summary`` prints the table.

    .venv/bin/python bench/baselines.py --task minimal --seeds 10 --budget 60
    .venv/bin/python bench/baselines.py --task minimal --seeds 10 --budget 60 --methods mix
    .venv/bin/python bench/baselines.py --task digits --seeds 5 --budget 25
    .venv/bin/python bench/baselines.py --summary bench/baselines-digits.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from evoforge import session, wiring
from evoforge.archive import SQLiteArchive
from evoforge.candidate import Status
from evoforge.config import load_config
from evoforge.proposers import Proposer
from evoforge.proposers.mix import MixedProposer
from evoforge.proposers.optuna import OptunaProposer

ROOT = Path(__file__).resolve().parent.parent
TASKS: dict[str, dict[str, Any]] = {
    "digits": {"source": ROOT / "examples" / "digits", "targets": (0.85, 0.9, 0.95)},
    "minimal": {"source": None, "targets": (-1.0, -0.3, -0.1)},
}


def mutator_of(exp: Path) -> Proposer:
    """The built-in mutator with the experiment's settings, whatever its kind says (the
    template and the demo say "auto": the portfolio, a method of its own here)."""
    config = load_config(exp)
    mutate = config.proposer.model_copy(update={"kind": "mutate", "auto": None})
    return wiring.build_proposer(config.model_copy(update={"proposer": mutate}), exp)


METHODS: dict[str, Callable[[Path], Proposer]] = {
    "mutate": mutator_of,
    "tpe": lambda exp: OptunaProposer(sampler="tpe"),
    "random": lambda exp: OptunaProposer(sampler="random"),
    "mix": lambda exp: MixedProposer(
        [(wiring.build_proposer(load_config(exp), exp), 1.0), (OptunaProposer(sampler="tpe"), 1.0)]
    ),
}
DEFAULT_METHODS = "mutate,tpe,random"


def copy_experiment(task: str, dest: Path) -> None:
    source = TASKS[task]["source"]
    src = source or resources.files("evoforge") / "templates" / "minimal"
    dest.mkdir(parents=True)
    for item in Path(str(src)).iterdir():
        if item.is_file() and item.name.endswith((".py", ".toml")):
            shutil.copy(item, dest / item.name)


def configure(exp: Path, *, seed: int, budget: int, workers: int) -> None:
    """Set budget, seed and workers; drop re-runs and the wall budget; process sandbox."""
    text = (exp / "evoforge.toml").read_text()
    text = re.sub(r"(?m)^seed = .*$", f"seed = {seed}", text)
    text = re.sub(r"(?m)^candidates = .*$", f"candidates = {budget}", text)
    text = re.sub(r"(?m)^wall_minutes = .*\n", "", text)
    text = re.sub(r"(?m)^workers = .*$", f"workers = {workers}", text)
    # The experiment's own [promotion] table (if any) is replaced: no re-runs here.
    text = re.sub(r"(?ms)^\[promotion\]\n.*?(?=^\[|\Z)", "", text)
    text += '\n[sandbox]\nlayers = "process"\n\n[promotion]\nreruns = 0\n'
    (exp / "evoforge.toml").write_text(text)


def one_run(task: str, method: str, seed: int, budget: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="evoforge-baseline-") as tmp:
        exp = Path(tmp) / "exp"
        copy_experiment(task, exp)
        configure(exp, seed=seed, budget=budget, workers=workers)
        config = load_config(exp)
        began = time.monotonic()
        outcome = session.start(exp, proposer=METHODS[method](exp))
        wall = time.monotonic() - began
        with SQLiteArchive(outcome.run.archive, readonly=True) as archive:
            done = [c for c in archive.candidates() if c.status.was_evaluated()]
            scores = [
                c.score(config.task.objective) if c.status == Status.SUCCEEDED else None
                for c in done
            ]
            duplicates = sum(1 for c in archive.candidates() if c.status == Status.DUPLICATE)
    sign = 1.0 if config.maximize else -1.0
    best_i = max(
        (i for i, s in enumerate(scores) if s is not None and math.isfinite(s)),
        key=lambda i: sign * (scores[i] or 0.0),
    )
    return {
        "task": task, "method": method, "seed": seed, "budget": budget,
        "evaluated": len(done), "failed": sum(s is None for s in scores), "duplicates": duplicates,
        "best": scores[best_i], "best_heldout": dict(done[best_i].heldout),
        "reach": reach(scores, TASKS[task]["targets"], maximize=config.maximize),
        "maximize": config.maximize,
        "curve": scores, "wall_s": round(wall, 1),
    }  # fmt: skip


def reach(
    curve: list[float | None], targets: tuple[float, ...], *, maximize: bool
) -> dict[str, int | None]:
    """Per target: how many candidates were evaluated when the best first reached it."""
    sign = 1.0 if maximize else -1.0
    out: dict[str, int | None] = {}
    for target in targets:
        hits = (i + 1 for i, s in enumerate(curve) if s is not None and sign * s >= sign * target)
        out[str(target)] = next(hits, None)
    return out


def summarize(rows: list[dict[str, Any]]) -> str:
    """A markdown table: best at the budget (mean ± sd) and candidates to reach each target."""
    tasks = sorted({r["task"] for r in rows})
    out = []
    for task in tasks:
        mine = [r for r in rows if r["task"] == task]
        targets = [str(t) for t in TASKS[task]["targets"]]
        for r in mine:  # from the curve, so targets can be added after the runs
            r["reach"] = reach(r["curve"], TASKS[task]["targets"], maximize=r.get("maximize", True))
        head = "| method | runs | best at budget, mean ± sd | " + " | ".join(
            f"candidates to reach {t}: median (reached/runs)" for t in targets
        )
        head += " | seeds better than mutate (same seed)"
        out += [f"### {task} (budget {mine[0]['budget']})", "", head + " | failed | wall s/run |"]
        out.append("|" + " --- |" * (len(targets) + 6))
        for method in METHODS:
            rs = [r for r in mine if r["method"] == method]
            if not rs:
                continue
            best = [r["best"] for r in rs]
            sd = statistics.stdev(best) if len(best) > 1 else 0.0
            cells = []
            for t in targets:
                hits = [r["reach"][t] for r in rs]
                reached = sorted(h for h in hits if h is not None)
                # runs that never reach count as "more than the budget" in the median
                ranked = reached + [math.inf] * (len(hits) - len(reached))
                med = statistics.median_low(ranked)
                cells.append(
                    f"{'>' + str(rs[0]['budget']) if med == math.inf else med} ({len(reached)}/{len(hits)})"
                )
            fails = sum(r["failed"] for r in rs) / sum(r["evaluated"] for r in rs)
            cells.append(_wins(rs, [r for r in mine if r["method"] == "mutate"]))
            wall = statistics.mean(r["wall_s"] for r in rs)
            out.append(
                f"| {method} | {len(rs)} | {statistics.mean(best):.4g} ± {sd:.2g} | "
                + " | ".join(cells)
                + f" | {fails:.0%} | {wall:.0f} |"
            )
        out.append("")
    return "\n".join(out)


def _wins(rows: list[dict[str, Any]], mutate: list[dict[str, Any]]) -> str:
    """How many seeds this method's best beats the mutator's best on the same seed (ties apart)."""
    if rows and rows[0]["method"] == "mutate":
        return "-"
    theirs = {r["seed"]: r["best"] for r in mutate}
    pairs = [
        (r["best"], theirs[r["seed"]], r.get("maximize", True)) for r in rows if r["seed"] in theirs
    ]
    better = sum((a > b) if up else (a < b) for a, b, up in pairs)
    ties = sum(a == b for a, b, _ in pairs)
    return f"{better}/{len(pairs)}" + (f" ({ties} ties)" if ties else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=sorted(TASKS), default="minimal")
    ap.add_argument("--methods", default=DEFAULT_METHODS, help=f"of {','.join(METHODS)}")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--summary", type=Path, default=None, help="only print the table of a results file"
    )
    args = ap.parse_args()
    if args.summary:
        rows = [json.loads(line) for line in args.summary.read_text().splitlines() if line.strip()]
        print(summarize(rows))
        return
    out = args.out or ROOT / "bench" / f"baselines-{args.task}.jsonl"
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for method in args.methods.split(","):
            row = one_run(args.task, method, seed, args.budget, args.workers)
            rows.append(row)
            with out.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            print(
                f"{args.task} {method} seed={seed} best={row['best']:.4g} reach={row['reach']} "
                f"failed={row['failed']} wall={row['wall_s']}s",
                file=sys.stderr, flush=True,
            )  # fmt: skip
    print(summarize(rows))


if __name__ == "__main__":
    main()
