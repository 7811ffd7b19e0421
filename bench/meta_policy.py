"""The default search policy against a meta-evolved one, on the held-out tasks.

Both policies drive the same inner searches (same tasks, seeds, budgets, the
built-in mutator, or the AutoML-Zero engine's for the algorithm-repair tasks)
on the held-out split of :mod:`evoforge.meta.suite`, which the
meta-run never saw; seeds start at 2000, apart from the meta-run's training seeds
(0..) and its acceptance seeds (1000..). Per task: the candidates each needed
until the normalised best-so-far first reached ``--target`` (0 = the seed
program, 1 = the task's best; mean over seeds, a search that never reached it
counted as budget + 1, and how many reached it), the final normalised score and
the sample efficiency (area under the best-so-far curve).

    .venv/bin/python bench/meta_policy.py --policy meta-run/policy.py --seeds 10
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from evoforge.meta.harness import LaneResult, candidates_to_target, efficiency, run_searches
from evoforge.meta.metarun import paired_se
from evoforge.meta.metatask import load_tables
from evoforge.meta.suite import build_tables, split
from evoforge.policy import InProcessPolicy, default_policy_source, load_policy_file


def to_target(
    results: list[LaneResult], task: str, target: float, budget: int
) -> tuple[float, int]:
    hits = [candidates_to_target(r.curve, target) for r in results if r.task == task]
    return statistics.mean(budget + 1 if h is None else h for h in hits), sum(
        h is not None for h in hits
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policy", type=Path, required=True)
    ap.add_argument(
        "--default",
        type=Path,
        default=None,
        help="the policy to compare against (default: the shipped default)",
    )
    ap.add_argument("--tasks", default="heldout")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--inner", type=int, default=48)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--target", type=float, default=0.5)
    ap.add_argument("--tables", type=Path, default=Path("/tmp/evoforge-bench-meta-tables.json"))
    args = ap.parse_args()
    tasks = split(args.tasks)
    if not args.tables.is_file():
        args.tables.write_text(json.dumps(build_tables(tasks)))
    tables = load_tables(args.tables)
    seeds = [2000 + i for i in range(args.seeds)]
    runs = {}
    for name, source in (
        (
            "default",
            default_policy_source() if args.default is None else load_policy_file(args.default),
        ),
        ("evolved", load_policy_file(args.policy)),
    ):
        began = time.perf_counter()
        runs[name] = run_searches(
            InProcessPolicy(source), tasks, tables, seeds=seeds, candidates=args.inner,
            batch=args.batch,
        )  # fmt: skip
        print(f"{name}: {time.perf_counter() - began:.1f} s")
    print(f"\ntarget {args.target} of the gap, budget {args.inner} children, {args.seeds} seeds\n")
    print(
        "| task | to target: default | to target: evolved | change | final: default | final: evolved | AUC default | AUC evolved |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    ratios = []
    for t in tasks:
        d, dn = to_target(runs["default"], t.name, args.target, args.inner)
        e, en = to_target(runs["evolved"], t.name, args.target, args.inner)
        ratios.append(e / d)
        fd = statistics.mean(r.final for r in runs["default"] if r.task == t.name)
        fe = statistics.mean(r.final for r in runs["evolved"] if r.task == t.name)
        ad = efficiency([r for r in runs["default"] if r.task == t.name])
        ae = efficiency([r for r in runs["evolved"] if r.task == t.name])
        print(
            f"| {t.name} | {d:.1f} ({dn}/{args.seeds}) | {e:.1f} ({en}/{args.seeds}) "
            f"| {100 * (e / d - 1):+.0f}% | {fd:.3f} | {fe:.3f} | {ad:.3f} | {ae:.3f} |"
        )
    print(f"\nmean change in candidates to target: {100 * (statistics.mean(ratios) - 1):+.1f}%")
    print(f"sample efficiency: default {efficiency(runs['default']):.4f}, "
          f"evolved {efficiency(runs['evolved']):.4f} "
          f"(paired se of the difference {paired_se(runs['default'], runs['evolved']):.4f})")  # fmt: skip


if __name__ == "__main__":
    main()
