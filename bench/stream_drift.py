"""Stream mode under concept drift: evoforge watch against retraining and River's learners.

Every method is scored prequentially on the same batches: batch t is predicted
before anything learns from it. Streams (River generators, fixed seeds):

    sudden      Agrawal function 0 -> 2 -> 4, switched at once
    gradual     Agrawal 0 -> 2 through river's ConceptDriftStream (a sigmoid over `width` rows)
    recurring   Agrawal 0, 2, 0, 2 (a concept comes back)
    stationary  SEA variant 0 with 10% label noise, 100 batches: every trigger is false

Methods:

    static      the seed program (examples/stream/train.py) trained once on the first
                window, never changed
    window      the seed program retrained on the sliding window before every batch
    arf         river.forest.ARFClassifier, predict_one then learn_one per row
    hat         river.tree.HoeffdingAdaptiveTreeClassifier, the same
    evoforge    `evoforge watch DIR --once` on a temporary experiment folder (the seed
                program, a generated evoforge.toml, the batches); figures read from
                DIR/stream/stream.sqlite; a variant overrides keys of [stream] or
                [stream.detect]: evoforge:memory=0, evoforge:every=4:warmup=1

The seed program runs in-process for static and window (its functions, without
the sandbox or the interpreter start); evoforge runs it in the sandbox. Accuracy
is averaged over the batches after the first window (seq > window), the same
batches for every method. Figures: mean accuracy; mean accuracy over the 10
batches from each drift on (fewer where the next drift or the end comes first);
detection delay (batches from a drift to evoforge's first trigger at or after it,
before the next drift); triggers (batches where a detector fired, the schedule's
not counted) and, in brackets, the false ones (not within 10 batches from a
drift: on the stationary stream, all); rounds and promotions; promotions that later
lost to their predecessor (mean champion score below the mean predecessor score
over the batches both were scored on after the promotion); CPU seconds (this
process for in-process methods, the watcher and all it waited for for evoforge).

    .venv/bin/python bench/stream_drift.py --quick          # smoke test, ~2 min
    .venv/bin/python bench/stream_drift.py --record         # full, ~8 min on 2 cores
    .venv/bin/python bench/stream_drift.py --streams sudden,stationary --methods window,evoforge
    .venv/bin/python bench/stream_drift.py --methods window,evoforge,evoforge:memory=0 --keep /tmp/k
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
from river import forest, tree
from river.datasets import synth

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "examples" / "stream" / "train.py"
RESULTS = ROOT / "bench" / "RESULTS.md"
AFTER = 10
"""Batches from a drift on that make its post-drift figure."""

Batches = list[tuple[np.ndarray, np.ndarray]]


# -- streams ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Stream:
    name: str
    description: str
    batches: Batches
    drifts: tuple[int, ...]
    """Seq (1-based batch number) of the first batch of each new concept."""


def _take(gen: object, rows: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for x, y in gen.take(rows):  # type: ignore[attr-defined]
        xs.append(list(x.values()))
        ys.append(int(y))
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.int64)


def _split(x: np.ndarray, y: np.ndarray, rows: int) -> Batches:
    return [(x[i : i + rows], y[i : i + rows]) for i in range(0, len(y), rows)]


def _segments(
    segments: list[tuple[int, int]], rows: int, seed: int
) -> tuple[Batches, tuple[int, ...]]:
    """Agrawal (function, batches) segments, each from a generator of its own seed."""
    out: Batches = []
    drifts: list[int] = []
    for i, (function, count) in enumerate(segments):
        if i:
            drifts.append(len(out) + 1)
        gen = synth.Agrawal(classification_function=function, seed=seed + i, perturbation=0.05)
        out += _split(*_take(gen, rows * count), rows)
    return out, tuple(drifts)


def sudden(batches: int, rows: int) -> Stream:
    a = batches * 11 // 30
    b = batches * 10 // 30 if batches >= 24 else batches - a
    segs = [(0, a), (2, b)] + ([(4, batches - a - b)] if batches - a - b else [])
    data, drifts = _segments(segs, rows, seed=101)
    return Stream("sudden", f"Agrawal 0 -> 2 -> 4, {batches} x {rows} rows", data, drifts)


def gradual(batches: int, rows: int) -> Stream:
    centre = batches * 12 // 30
    width = 4 * rows
    gen = synth.ConceptDriftStream(
        stream=synth.Agrawal(classification_function=0, seed=201, perturbation=0.05),
        drift_stream=synth.Agrawal(classification_function=2, seed=202, perturbation=0.05),
        position=centre * rows, width=width, seed=203,
    )  # fmt: skip
    data = _split(*_take(gen, batches * rows), rows)
    start = centre - 1  # seq of the batch where the new concept's share passes 12%
    desc = (
        f"Agrawal 0 -> 2, sigmoid centred on batch {centre + 1} (width {width} rows, "
        f"the drift counted from batch {start}), {batches} x {rows}"
    )
    return Stream("gradual", desc, data, (start,))


def recurring(batches: int, rows: int) -> Stream:
    per = batches // 4
    data, drifts = _segments([(0, per), (2, per), (0, per), (2, batches - 3 * per)], rows, 301)
    return Stream(
        "recurring", f"Agrawal 0, 2, 0, 2 ({per} batches each), {batches} x {rows}", data, drifts
    )


def stationary(batches: int, rows: int) -> Stream:
    gen = synth.SEA(variant=0, noise=0.1, seed=401)
    data = _split(*_take(gen, batches * rows), rows)
    return Stream("stationary", f"SEA variant 0, 10% noise, {batches} x {rows}", data, ())


def streams(quick: bool) -> dict[str, Callable[[], Stream]]:
    if quick:
        return {
            "sudden": lambda: sudden(16, 300),
            "gradual": lambda: gradual(16, 300),
            "recurring": lambda: recurring(16, 300),
            "stationary": lambda: stationary(20, 300),
        }
    return {
        "sudden": lambda: sudden(30, 400),
        "gradual": lambda: gradual(30, 400),
        "recurring": lambda: recurring(32, 400),
        "stationary": lambda: stationary(100, 400),
    }


# -- methods -------------------------------------------------------------------------
@dataclass
class Outcome:
    accuracy: dict[int, float]
    """Prequential accuracy by seq."""
    cpu: float
    triggers: list[int] = field(default_factory=list)
    """Seqs with a trigger of a detector (the schedule's are in ``scheduled``)."""
    scheduled: list[int] = field(default_factory=list)
    rounds: int | None = None
    promotions: int | None = None
    lost: int | None = None
    rollbacks: int | None = None
    note: str = ""


def load_program() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stream_seed_program", PROGRAM)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclass needs the module registered
    spec.loader.exec_module(mod)
    return mod


def window_rows(batches: Batches, t: int, window: int) -> tuple[np.ndarray, ...]:
    """Training rows for predicting batch index t (0-based): the `window` batches before."""
    lo = max(0, t - window)
    x = np.concatenate([batches[i][0] for i in range(lo, t)])
    y = np.concatenate([batches[i][1] for i in range(lo, t)])
    age = np.concatenate(
        [np.full(len(batches[i][1]), t - 1 - i, dtype=np.int64) for i in range(lo, t)]
    )
    return x, y, age


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_static(s: Stream, window: int, prog: ModuleType) -> Outcome:
    start = cpu_self()
    x, y, age = window_rows(s.batches, window, window)
    model = prog.fit(*prog.select(x, y, age), 0)
    acc = {
        t + 1: float((prog.predict(model, s.batches[t][0]) == s.batches[t][1]).mean())
        for t in range(window, len(s.batches))
    }
    return Outcome(acc, cpu_self() - start)


def run_window(s: Stream, window: int, prog: ModuleType) -> Outcome:
    start = cpu_self()
    acc = {}
    for t in range(window, len(s.batches)):
        _, pred = prog.fit_predict(*window_rows(s.batches, t, window), s.batches[t][0], 0)
        acc[t + 1] = float((pred == s.batches[t][1]).mean())
    return Outcome(acc, cpu_self() - start)


def run_river(s: Stream, window: int, make: Callable[[], object]) -> Outcome:
    start = cpu_self()
    model = make()
    acc = {}
    for t, (x, y) in enumerate(s.batches):
        right = 0
        for row, label in zip(x, y, strict=True):
            features = dict(enumerate(row.tolist()))
            right += model.predict_one(features) == int(label)  # type: ignore[attr-defined]
            model.learn_one(features, int(label))  # type: ignore[attr-defined]
        if t >= window:
            acc[t + 1] = right / len(y)
    return Outcome(acc, cpu_self() - start)


def arf() -> object:
    return forest.ARFClassifier(n_models=10, seed=1)


def hat() -> object:
    return tree.HoeffdingAdaptiveTreeClassifier(seed=1)


# -- evoforge watch --------------------------------------------------------------------
STREAM_KEYS: dict[str, object] = {
    "folder": "batches", "settle_seconds": 0.0, "poll_seconds": 0.5, "metric": "accuracy",
    "newest": 1, "gather": 1, "memory": 3, "memory_rows": 600, "forget_tolerance": 0.25,
    "rollback_batches": 3, "cooldown": 2,
}  # fmt: skip
DETECT_KEYS: dict[str, object] = {}
"""[stream.detect] as examples/stream/evoforge.toml (its defaults)."""
"""[stream] of the generated experiment (as examples/stream/evoforge.toml, less the waits);
``window`` comes from --window, variants (``evoforge:every=4:memory=0``) override keys."""

EXPERIMENT_TOML = """\
[experiment]
name = "bench-{name}"
seed = 0

[program]
files = ["train.py"]
command = ["{{python}}", "train.py"]

[stream]
{stream}
[stream.detect]
{detect}
[limits]
wall_seconds = 60
memory_mb = 2048

[budget]
candidates = {candidates}
wall_minutes = 3

[run]
workers = 2

[proposer]
kind = "mutate"

[promotion]
reruns = {reruns}
"""


def variant(method: str) -> tuple[dict[str, object], dict[str, object]]:
    """([stream], [stream.detect]) overrides of ``evoforge:KEY=VALUE:...`` (TOML values)."""
    from evoforge.config.stream import DetectSection, StreamSection

    stream: dict[str, object] = {}
    detect: dict[str, object] = {}
    for item in method.split(":")[1:]:
        key, _, value = item.partition("=")
        parsed = tomllib.loads(f"v = {value}")["v"]
        if key in DetectSection.model_fields:
            detect[key] = parsed
        elif key in StreamSection.model_fields and key != "detect":
            stream[key] = parsed
        else:
            raise SystemExit(f"{method}: {key!r} is no key of [stream] or [stream.detect]")
    return stream, detect


def _toml_lines(values: dict[str, object]) -> str:
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items())


def watch_command() -> list[str]:
    """`python -m evoforge` where the package has a __main__, else its CLI module."""
    if importlib.util.find_spec("evoforge.__main__") is not None:
        return [sys.executable, "-m", "evoforge"]
    return [sys.executable, "-m", "evoforge.cli"]


def run_evoforge(
    s: Stream,
    window: int,
    method: str,
    *,
    candidates: int,
    reruns: int,
    keep: Path | None,
    timeout: float,
) -> Outcome:
    from evoforge.stream.store import DB, STREAM_DIR, StreamStore

    base = Path(tempfile.mkdtemp(prefix=f"stream-{s.name}-"))
    folder = base / s.name
    (folder / "batches").mkdir(parents=True)
    shutil.copy(PROGRAM, folder / "train.py")
    stream, detect = variant(method)
    text = EXPERIMENT_TOML.format(
        name=s.name, candidates=candidates, reruns=reruns,
        stream=_toml_lines({**STREAM_KEYS, "window": window, **stream}),
        detect=_toml_lines({**DETECT_KEYS, **detect}),
    )  # fmt: skip
    (folder / "evoforge.toml").write_text(text)
    for seq, (x, y) in enumerate(s.batches, start=1):
        tmp = folder / "batches" / f"batch-{seq:04d}.npz.tmp"
        with tmp.open("wb") as fh:
            np.savez(fh, x=x, y=y)
        tmp.replace(tmp.with_suffix(""))  # batch-0001.npz: the rename makes it visible whole
    cmd = [*watch_command(), "watch", str(folder), "--once"]
    start = cpu_children()
    wall = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-1500:]
    except subprocess.TimeoutExpired as exc:
        rc, tail = -1, f"timed out after {timeout:.0f} s: {str(exc.stdout or '')[-800:]}"
    cpu, wall = cpu_children() - start, time.monotonic() - wall
    (base / "watch.log").write_text(f"$ {' '.join(cmd)}\nrc {rc}, {wall:.1f} s\n{tail}\n")
    db = folder / STREAM_DIR / DB
    if not db.exists():
        raise RuntimeError(f"evoforge watch left no {db} (rc {rc}):\n{tail}")
    store = StreamStore(folder / STREAM_DIR, readonly=True)
    try:
        out = _from_store(store, window, cpu)
    finally:
        store.close()
    out.note = f"rc {rc}, {wall:.0f} s wall" + ("" if rc == 0 else f": {tail.strip()[-300:]}")
    if keep is not None:
        dest = keep / f"{s.name}-{method.replace(':', '-')}"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(base, dest)
        out.note += f"; kept in {dest}"
    shutil.rmtree(base, ignore_errors=True)
    return out


def _from_store(store: object, window: int, cpu: float) -> Outcome:
    champion = {r.seq: r for r in store.scores(role="champion")}  # type: ignore[attr-defined]
    predecessor = {r.seq: r for r in store.scores(role="predecessor")}  # type: ignore[attr-defined]
    acc = {
        seq: (0.0 if r.metric is None else float(r.metric))  # a failed batch scores 0
        for seq, r in champion.items()
        if seq > window
    }
    fired = store.triggers()  # type: ignore[attr-defined]
    triggers = sorted({seq for seq, detector, *_ in fired if detector != "schedule"})
    scheduled = sorted({seq for seq, detector, *_ in fired if detector == "schedule"})
    rounds = store.rounds()  # type: ignore[attr-defined]
    champs = store.champions()  # type: ignore[attr-defined]
    promoted = [c for c in champs if c.round is not None]
    lost = 0
    for c in promoted:
        seqs = [
            q for q, r in champion.items()
            if q >= c.since_seq and r.champion == c.id and q in predecessor
            and r.metric is not None and predecessor[q].metric is not None
        ]  # fmt: skip
        if seqs:
            mine = np.mean([champion[q].metric for q in seqs])
            theirs = np.mean([predecessor[q].metric for q in seqs])
            lost += bool(mine < theirs)
    rollbacks = sum(1 for c in champs if c.state == "rolled_back")
    return Outcome(acc, cpu, triggers, scheduled, len(rounds), len(promoted), lost, rollbacks)


# -- figures ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    stream: str
    method: str
    mean: float
    after: float | None
    delay: str
    triggers: str
    rounds: str
    lost: str
    cpu: float
    note: str


def figures(s: Stream, method: str, o: Outcome, window: int) -> Row:
    seqs = sorted(o.accuracy)
    mean = float(np.mean([o.accuracy[q] for q in seqs])) if seqs else float("nan")
    after_means, delays = [], []
    ends = [*s.drifts[1:], len(s.batches) + 1][: len(s.drifts)]
    for d, end in zip(s.drifts, ends, strict=True):
        span = [o.accuracy[q] for q in range(d, min(d + AFTER, end)) if q in o.accuracy]
        if span:
            after_means.append(float(np.mean(span)))
        hit = [q for q in o.triggers if d <= q < end]
        delays.append(str(hit[0] - d) if hit else "-")
    false = [q for q in o.triggers if not any(d <= q < d + AFTER for d in s.drifts)]
    evo = o.rounds is not None
    return Row(
        s.name, method, mean,
        float(np.mean(after_means)) if after_means else None,
        ", ".join(delays) if evo and delays else "",
        f"{len(o.triggers)} ({len(false)})" if evo else "",
        f"{o.rounds} / {o.promotions}" if evo else "",
        f"{o.lost}" + (f" ({o.rollbacks} rolled back)" if o.rollbacks else "") if evo else "",
        o.cpu, o.note,
    )  # fmt: skip


def table(rows: list[Row]) -> str:
    head = (
        "| stream | method | mean acc | acc, 10 after drift | detection delay | triggers (false) "
        "| rounds / promotions | promotions lost to predecessor | CPU s |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    body = ""
    for r in rows:
        after = "-" if r.after is None else f"{r.after:.3f}"
        body += (
            f"| {r.stream} | {r.method} | {r.mean:.3f} | {after} | {r.delay} | {r.triggers} "
            f"| {r.rounds} | {r.lost} | {r.cpu:.1f} |\n"
        )
    return head + body


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller streams and rounds (smoke test)")
    p.add_argument("--streams", default="sudden,gradual,recurring,stationary")
    p.add_argument("--methods", default="static,window,arf,hat,evoforge")
    p.add_argument("--window", type=int, help="[stream] window (8; quick 4)")
    p.add_argument(
        "--candidates",
        type=int,
        help="[budget] candidates of a round (16, as the example; quick 4)",
    )
    p.add_argument("--reruns", type=int, help="[promotion] reruns (2; quick 1)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per watch run")
    p.add_argument("--keep", type=Path, help="copy each stream's experiment folder here")
    p.add_argument("--record", action="store_true", help="append the figures to --results")
    p.add_argument("--results", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = p.parse_args()
    makers = streams(args.quick)
    names = [n for n in args.streams.split(",") if n]
    methods = [m for m in args.methods.split(",") if m]
    unknown = [n for n in names if n not in makers] + [
        m
        for m in methods
        if m not in ("static", "window", "arf", "hat") and m.split(":")[0] != "evoforge"
    ]
    for m in methods:
        if m.startswith("evoforge"):
            variant(m)  # a bad key stops here, before any stream runs
    if unknown:
        p.error(f"unknown stream or method: {', '.join(unknown)}")
    args.window = args.window or (4 if args.quick else 8)
    candidates = args.candidates or (4 if args.quick else 16)
    reruns = args.reruns if args.reruns is not None else (1 if args.quick else 2)
    prog = load_program()
    started, load0 = time.monotonic(), os.getloadavg()[0]
    rows: list[Row] = []
    described: list[str] = []
    for name in names:
        s = makers[name]()
        described.append(f"{name}: {s.description}, drifts at {list(s.drifts) or 'none'}")
        print(f"== {described[-1]}", flush=True)
        for m in methods:
            t0 = time.monotonic()
            if m == "static":
                o = run_static(s, args.window, prog)
            elif m == "window":
                o = run_window(s, args.window, prog)
            elif m in ("arf", "hat"):
                o = run_river(s, args.window, arf if m == "arf" else hat)
            else:
                o = run_evoforge(
                    s, args.window, m, candidates=candidates, reruns=reruns, keep=args.keep,
                    timeout=args.timeout,
                )  # fmt: skip
            rows.append(figures(s, m, o, args.window))
            r = rows[-1]
            print(
                f"   {m:9s} mean {r.mean:.3f}  after-drift {r.after if r.after is None else round(r.after, 3)}"
                f"  delay {r.delay or '-'}  triggers {r.triggers}  rounds/promotions {r.rounds or '-'}"
                f"  lost {r.lost or '-'}  cpu {r.cpu:.1f} s  wall {time.monotonic() - t0:.0f} s"
                + (f"  [{r.note}]" if r.note else ""),
                flush=True,
            )
            if m.startswith("evoforge"):
                per = " ".join(f"{q}:{o.accuracy[q]:.2f}" for q in sorted(o.accuracy))
                print(f"     champion by seq: {per}\n     triggers at {o.triggers}", flush=True)
                if o.scheduled:
                    print(f"     scheduled rounds at {o.scheduled}", flush=True)
    elapsed = time.monotonic() - started
    md = table(rows)
    print()
    print(md)
    print(f"wall {elapsed / 60:.1f} min, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    if args.record:
        notes = "".join(f"- {r.stream} / {r.method}: {r.note}\n" for r in rows if r.note)
        cmd = "bench/stream_drift.py " + " ".join(sys.argv[1:])
        text = (
            f"\n## Stream drift ({time.strftime('%Y-%m-%d')})\n\n"
            f"`.venv/bin/python {cmd.strip()}` on {os.cpu_count()} cores "
            f"({platform.python_version()}), load average {load0:.1f} at the start, "
            f"{elapsed / 60:.1f} min in all. Prequential: each batch is predicted before "
            f"anything learns from it; accuracy over seq > {args.window} (the first window). "
            f"evoforge: rounds of {candidates} candidates, {reruns} re-runs.\n\n"
            + "".join(f"- {d}\n" for d in described)
            + "\n"
            + md
            + ("\n" + notes if notes else "")
        )
        with args.results.open("a", encoding="utf-8") as fh:
            fh.write(text)
        print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
