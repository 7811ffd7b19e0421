"""Candidates spent on functional duplicates, with and without conditional parameters.

The `sklearn` template declares ten parameters, six of them conditional (``C`` only
for logreg/svm, ``GAMMA`` only for the RBF kernel...). This runs the template twice
per (method, seed): as shipped, and with every ``when`` clause removed (the same
space, unconditional). Each run is a real evoforge run through the Python API
(process sandbox, no re-runs, ``--budget`` candidates).

"Wasted" counts evaluated candidates that ran a program an earlier evaluated
candidate of the same run had already run, judged with the conditions (the two
differ only in parameters the model ignores). With the conditions such a child is
recorded as a duplicate and not run, so the figure there should be 0; the
duplicates column says how many were caught instead.

    .venv/bin/python bench/conditional_duplicates.py --methods mutate,auto --seeds 3
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from importlib import resources
from pathlib import Path

import evoforge
from evoforge.archive import SQLiteArchive
from evoforge.proposers.sites import declared_values, program_key, set_values

TEMPLATE = resources.files("evoforge") / "templates" / "sklearn"


def _experiment(root: Path, *, conditional: bool, method: str, seed: int, budget: int) -> Path:
    exp = root / f"{method}-{seed}-{'when' if conditional else 'plain'}"
    exp.mkdir(parents=True)
    for item in TEMPLATE.iterdir():
        if item.is_file() and item.name.endswith((".py", ".toml")):
            (exp / item.name).write_bytes(item.read_bytes())
    if not conditional:
        train = exp / "train.py"
        train.write_text(re.sub(r"(# evolve: [^\n]*?) when [^\n]*", r"\1", train.read_text()))
    toml = exp / "evoforge.toml"
    text = toml.read_text()
    text = text.replace("seed = 0", f"seed = {seed}").replace("reruns = 2", "reruns = 0")
    text = text.replace("candidates = 40", f"candidates = {budget}")
    if method == "tpe":  # Optuna's TPE alone, multivariate with groups (conditional spaces)
        kind = 'kind = "optuna"\n\n[proposer.optuna]\nsampler = "tpe"\n'
        kind += "options = { multivariate = true, group = true }"
    else:
        kind = f'kind = "{method}"'
    text = text.replace('kind = "auto"', kind)
    text = text.replace("[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    toml.write_text(text)
    return exp


def _measure(run: evoforge.Run, conditional_seed: dict[str, str]) -> dict[str, float]:
    rows = run.candidates()
    seen: set[str] = set()
    wasted = 0
    with SQLiteArchive(run.path / "archive.sqlite", readonly=True) as archive:
        for row in rows:
            if row.status not in ("succeeded", "failed"):
                continue
            values = declared_values(archive.get_code(row.code_hash))
            key = program_key(set_values(conditional_seed, values))
            wasted += key in seen
            seen.add(key)
    scores = [r.metrics.get("val_accuracy", 0.0) for r in rows if r.status == "succeeded"]
    return {
        "evaluated": sum(r.status in ("succeeded", "failed") for r in rows),
        "wasted": wasted,
        "duplicates": sum(r.status == "duplicate" for r in rows),
        "best": max(scores, default=0.0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default="mutate,auto")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=40)
    args = ap.parse_args()
    seed_files = {"train.py": (TEMPLATE / "train.py").read_text()}
    results: dict[tuple[str, bool], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="evoforge-bench-cond-") as tmp:
        for method in args.methods.split(","):
            for seed in range(args.seeds):
                for conditional in (False, True):
                    exp = _experiment(
                        Path(tmp), conditional=conditional, method=method, seed=seed,
                        budget=args.budget,
                    )  # fmt: skip
                    began = time.monotonic()
                    run = evoforge.run(exp, progress=False)
                    got = _measure(run, seed_files)
                    got["wall_s"] = time.monotonic() - began
                    results.setdefault((method, conditional), []).append(got)
                    print(
                        f"{method} seed={seed} {'when' if conditional else 'plain'}: "
                        + " ".join(f"{k}={v:.4g}" for k, v in got.items()),
                        flush=True,
                    )
                    shutil.rmtree(exp, ignore_errors=True)
    print()
    print("| method | space | runs | evaluated | wasted on functional duplicates, mean (min-max) "
          "| caught as duplicates, mean | best val_accuracy, mean ± sd |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (method, conditional), rows in results.items():
        wasted = [r["wasted"] for r in rows]
        best = [r["best"] for r in rows]
        sd = statistics.stdev(best) if len(best) > 1 else 0.0
        print(
            f"| {method} | {'conditional' if conditional else 'unconditional'} | {len(rows)} "
            f"| {statistics.mean(r['evaluated'] for r in rows):.0f} "
            f"| {statistics.mean(wasted):.1f} ({min(wasted):.0f}-{max(wasted):.0f}) "
            f"| {statistics.mean(r['duplicates'] for r in rows):.1f} "
            f"| {statistics.mean(best):.4f} ± {sd:.4f} |"
        )


if __name__ == "__main__":
    main()
