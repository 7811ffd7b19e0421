"""Architecture search on MNIST-1D at equal CPU budgets, side by side in one run.

Methods (each per seed, each until ``--cpu`` CPU seconds of training are spent):

- ``paper-cnn``: the MNIST-1D paper's CNN (3 convolutions of 25 channels, 5,210
  parameters), trained with the paper's recipe (Adam, learning rate 0.01, batches of
  100, 6,000 steps): the reference point.
- ``random`` / ``tpe`` / ``tpe-hyperband``: plain Optuna in this process (no sandbox,
  two threads), over a declared encoding of the same space (six edge operations, stem,
  stages, cells per stage, width growth, learning rate, batch size); the last with
  Optuna's HyperbandPruner on the validation accuracy after each epoch.
- ``mutate``: evoforge's mutator on the same declared encoding.
- ``nas``: evoforge's architecture search (the example: a mix of the NAS proposer and
  the mutator), every candidate trained in full.
- ``nas-mf``: the same with the example's ``[fidelity]`` rungs (1, 3, then 8 epochs).

evoforge runs are real runs of ``examples/nas-mnist1d`` (sandbox, two workers, the
trusted task), bounded by ``[budget] cpu_hours``. The CPU counted for a run is the
candidates' own CPU time (low rungs included; confirmation re-runs are in the budget
but not on the curve), for Optuna the process's CPU time. "Reached" is the first CPU
time at which the best validation accuracy so far reached the target; "test" is the
held-out accuracy of the best-by-validation at the end; the front is the best test
accuracy at or under each parameter count.

    .venv/bin/python bench/nas_mnist1d.py --seeds 3 --cpu 200
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "nas-mnist1d"
TARGETS = (0.90, 0.94)
PAPER_CNN_PARAMS = 5210
OPS = ["none", "skip", "conv1", "conv3", "avgpool"]
EDGES = ["E01", "E02", "E12", "E03", "E13", "E23"]
STEMS = [4, 8, 12, 16, 24, 32, 48, 64]

DECLARED_BLOCK = """# EVOLVE-BLOCK-START
E01 = "conv3"           # evolve: choice["none", "skip", "conv1", "conv3", "avgpool"]
E02 = "none"            # evolve: choice["none", "skip", "conv1", "conv3", "avgpool"]
E12 = "none"            # evolve: choice["none", "skip", "conv1", "conv3", "avgpool"]
E03 = "none"            # evolve: choice["none", "skip", "conv1", "conv3", "avgpool"]
E13 = "skip"            # evolve: choice["none", "skip", "conv1", "conv3", "avgpool"]
E23 = "none"            # evolve: choice["none", "skip", "conv1", "conv3", "avgpool"]
STEM = 8                # evolve: choice[4, 8, 12, 16, 24, 32, 48, 64]
STAGES = 1              # evolve: int[1, 3]
CELLS = 1               # evolve: int[1, 3]
GROWTH = 2              # evolve: choice[1, 2]
LR = 0.003              # evolve: log[1e-4, 0.03]
BATCH_SIZE = 64         # evolve: choice[32, 64, 128]
EPOCHS = 8              # evolve: fixed
ARCH = {"conv": "1d", "stem": STEM,
        "stages": [[CELLS, min(256, STEM * GROWTH**i)] for i in range(STAGES)],
        "cell": [E01, E02, E12, E03, E13, E23]}
# EVOLVE-BLOCK-END
"""


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


TASK = _load("nas_bench_task", EXAMPLE / "task.py")
CELL = _load("nas_bench_cell", EXAMPLE / "nas_cell.py")


# -- in-process training (the example's recipe) ------------------------------------
def _data() -> dict[str, torch.Tensor]:
    s = TASK.make_split()
    out = {k: torch.from_numpy(s[k]).float().unsqueeze(1) for k in ("train_x", "val_x", "test_x")}
    out.update({k: torch.from_numpy(s[k]).long() for k in ("train_y", "val_y", "test_y")})
    return out


class PaperCNN(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        c = 25
        self.convs = torch.nn.ModuleList([
            torch.nn.Conv1d(1, c, 5, stride=2, padding=1),
            torch.nn.Conv1d(c, c, 3, stride=2, padding=1),
            torch.nn.Conv1d(c, c, 3, stride=2, padding=1)])  # fmt: skip
        self.linear = torch.nn.Linear(125, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = torch.relu(conv(x))
        return self.linear(x.flatten(1))


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(
    model: torch.nn.Module, data: dict[str, torch.Tensor], *, lr: float, batch: int, epochs: int,
    seed: int, after_epoch: Callable[[int, float], None] | None = None,
) -> tuple[float, float]:  # fmt: skip
    """Adam, as the example's frame; returns (validation, test) accuracy."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = data["train_x"], data["train_y"]
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch):
            b = order[i : i + batch]
            opt.zero_grad()
            loss_fn(model(x[b]), y[b]).backward()
            opt.step()
        if after_epoch is not None:
            after_epoch(epoch, _accuracy(model, data["val_x"], data["val_y"]))
    return _accuracy(model, data["val_x"], data["val_y"]), _accuracy(
        model, data["test_x"], data["test_y"]
    )


def arch_of(p: dict[str, Any]) -> dict[str, Any]:
    stages = [[p["CELLS"], min(256, p["STEM"] * p["GROWTH"] ** i)] for i in range(p["STAGES"])]
    return {"conv": "1d", "stem": p["STEM"], "stages": stages, "cell": [p[e] for e in EDGES]}


def paper_cnn(seed: int, cpu: float, data: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
    del cpu
    start = time.process_time()
    model = PaperCNN()
    epochs = 6000 * 100 // len(data["train_x"])  # the paper's 6,000 steps of 100
    val, test = train(model, data, lr=0.01, batch=100, epochs=epochs, seed=seed)
    params = sum(p.numel() for p in model.parameters())
    return [{"cpu": time.process_time() - start, "val": val, "test": test, "params": params}]


def optuna_method(sampler: str, pruner: bool) -> Callable[..., list[dict[str, Any]]]:
    def run(seed: int, cpu: float, data: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        make = {"random": optuna.samplers.RandomSampler, "tpe": optuna.samplers.TPESampler}
        study = optuna.create_study(
            direction="maximize", sampler=make[sampler](seed=seed),
            pruner=optuna.pruners.HyperbandPruner(min_resource=1, max_resource=8,
                                                  reduction_factor=3)
            if pruner else optuna.pruners.NopPruner(),
        )  # fmt: skip
        start, rows, lock = time.process_time(), [], threading.Lock()

        def objective(trial: optuna.Trial) -> float:
            p = {e: trial.suggest_categorical(e, OPS) for e in EDGES}
            p.update(STEM=trial.suggest_categorical("STEM", STEMS),
                     STAGES=trial.suggest_int("STAGES", 1, 3),
                     CELLS=trial.suggest_int("CELLS", 1, 3),
                     GROWTH=trial.suggest_categorical("GROWTH", [1, 2]))  # fmt: skip
            lr = trial.suggest_float("LR", 1e-4, 0.03, log=True)
            batch = trial.suggest_categorical("BATCH_SIZE", [32, 64, 128])
            model = CELL.build(arch_of(p), in_channels=1, n_classes=10)

            def report(epoch: int, val: float) -> None:
                trial.report(val, epoch + 1)
                if trial.should_prune():
                    with lock:
                        rows.append({"cpu": time.process_time() - start, "val": None,
                                     "test": None, "params": None})  # fmt: skip
                    raise optuna.TrialPruned()

            val, test = train(model, data, lr=lr, batch=batch, epochs=8,
                              seed=seed * 1000 + trial.number, after_epoch=report if pruner else None)  # fmt: skip
            with lock:
                rows.append({"cpu": time.process_time() - start, "val": val, "test": test,
                             "params": CELL.parameters(model)})  # fmt: skip
            return val

        def stop(study: optuna.Study, trial: object) -> None:
            if time.process_time() - start >= cpu:
                study.stop()

        torch.set_num_threads(1)
        study.optimize(objective, n_jobs=2, callbacks=[stop])
        return rows

    return run


def evoforge_method(variant: str) -> Callable[..., list[dict[str, Any]]]:
    def run(seed: int, cpu: float, data: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
        del data
        import evoforge
        from evoforge.archive import SQLiteArchive
        from evoforge.fidelity import recorded

        with tempfile.TemporaryDirectory(prefix="nasbench-") as tmp:
            exp = Path(tmp) / "exp"
            shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
            toml = exp / "evoforge.toml"
            text = toml.read_text().replace("seed = 0", f"seed = {seed}")
            text = re.sub(r"candidates = \d+\nwall_minutes = \d+",
                          f"candidates = 5000\nwall_minutes = 120\ncpu_hours = {cpu / 3600}", text)  # fmt: skip
            if variant in ("nas", "mutate"):
                text = re.sub(r"\[fidelity\].*?eta = 3\n\n", "", text, flags=re.S)
            if variant == "mutate":
                text = re.sub(r"kind = \"mix\"\nmix = .*?\n\n\[proposer.nas\]\nrandom_start = 8\n",
                              'kind = "mutate"\n', text, flags=re.S)  # fmt: skip
                train_py = exp / "train.py"
                src = train_py.read_text()
                start, end = src.index("# EVOLVE-BLOCK-START"), src.index("# EVOLVE-BLOCK-END")
                end += len("# EVOLVE-BLOCK-END\n")
                train_py.write_text(src[:start] + DECLARED_BLOCK + src[end:])
            toml.write_text(text)
            run = evoforge.run(exp, progress=False)
            with SQLiteArchive(run.path / "archive.sqlite", readonly=True) as archive:
                cands = [c for c in archive.candidates() if c.status.was_evaluated()]
        cands.sort(key=lambda c: c.finished_at or 0)
        rows, spent = [], 0.0
        for c in cands:
            entries = recorded(c)
            spent += sum(float(e.get("cpu_s", 0)) for e in entries)
            ended_at_a_rung = c.status.value == "stopped" or (entries and not entries[-1]["ok"])
            if not ended_at_a_rung:  # the full run's CPU is the record's own
                spent += c.cpu_s
            full = c.status.value == "succeeded"
            rows.append({"cpu": spent, "val": c.metrics.get("val_accuracy") if full else None,
                         "test": c.heldout.get("test_accuracy") if full else None,
                         "params": c.metrics.get("params") if full else None})  # fmt: skip
        return rows

    return run


METHODS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "paper-cnn": paper_cnn,
    "random": optuna_method("random", pruner=False),
    "tpe": optuna_method("tpe", pruner=False),
    "tpe-hyperband": optuna_method("tpe", pruner=True),
    "mutate": evoforge_method("mutate"),
    "nas": evoforge_method("nas"),
    "nas-mf": evoforge_method("nas-mf"),
}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    full = [r for r in rows if r["val"] is not None]
    out: dict[str, Any] = {"evaluated": len(rows), "full": len(full),
                           "cpu": rows[-1]["cpu"] if rows else 0.0}  # fmt: skip
    best = None
    for target in TARGETS:
        out[f"cpu_to_{target}"] = None
    for r in full:
        if best is None or r["val"] > best["val"]:
            best = r
        for target in TARGETS:
            if out[f"cpu_to_{target}"] is None and best["val"] >= target:
                out[f"cpu_to_{target}"] = r["cpu"]
    out["best_val"] = best["val"] if best else None
    out["best_test"] = best["test"] if best else None
    out["best_params"] = best["params"] if best else None
    small = [r for r in full if r["params"] is not None and r["params"] <= PAPER_CNN_PARAMS]
    top = max(small, key=lambda r: r["val"]) if small else None
    out["small_val"], out["small_test"] = (top["val"], top["test"]) if top else (None, None)
    out["small_params"] = top["params"] if top else None
    return out


def _median(values: list[Any]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    return f"{statistics.median(known):.4g} ({len(known)}/{len(values)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--cpu", type=float, default=200.0, help="CPU seconds per method and seed")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "nas-mnist1d.jsonl")
    args = ap.parse_args()
    methods = args.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        ap.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
    data = _data()
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    with args.out.open("a") as log:
        for seed in range(args.seeds):
            for m in methods:  # alternated: every method meets the machine in the same state
                began = time.time()
                rows = METHODS[m](seed, args.cpu, data)
                summary = {**summarize(rows), "method": m, "seed": seed, "cpu_budget": args.cpu,
                           "wall_s": round(time.time() - began, 1)}  # fmt: skip
                results[m].append(summary)
                log.write(json.dumps({**summary, "rows": rows}) + "\n")
                log.flush()
                print(json.dumps(summary), flush=True)
    print(f"\n| method | seeds | evaluated (full) | CPU s to val 0.90 | CPU s to val 0.94 | "
          f"best val | its test | its params | best test at <= {PAPER_CNN_PARAMS} params |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for m, rs in results.items():
        ev = _median([r["evaluated"] for r in rs]), _median([r["full"] for r in rs])
        print(f"| {m} | {len(rs)} | {ev[0]} ({ev[1]}) | {_median([r['cpu_to_0.9'] for r in rs])} "
              f"| {_median([r['cpu_to_0.94'] for r in rs])} | {_median([r['best_val'] for r in rs])} "
              f"| {_median([r['best_test'] for r in rs])} | {_median([r['best_params'] for r in rs])} "
              f"| {_median([r['small_test'] for r in rs])} |")  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
