"""Write the shipped batches of the stream example (run once; the files are in the repo).

    .venv/bin/python examples/stream/make_batches.py [--out examples/stream/batches]

30 batches of 400 labelled rows from River's Agrawal generator (a loan-approval
simulation: 9 features -- salary, commission, age, education level, car make,
zip code, house value, years owned, loan -- and a 0/1 label), with 5% noise on
the numeric features. The rule that sets the label changes twice, suddenly:

    batches  1-11   Agrawal function 0   (by age)
    batches 12-21   Agrawal function 2   (by age and education level)
    batches 22-30   Agrawal function 4   (by age, salary and loan)

A model trained on the old rule is close to a coin flip on the new one. Fixed
seeds: running the script again writes the same arrays. Amounts are rounded to
whole currency units and the rest to two decimals, which keeps the files small
(each is a compressed ``.npz`` with ``x`` float64 (400, 9) and ``y`` int64 (400,)).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from river.datasets import synth

ROWS = 400
SEGMENTS = ((0, 11), (2, 10), (4, 9))
"""(Agrawal classification function, batches) in stream order."""
SEED = 7


def agrawal_rows(function: int, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` examples of Agrawal ``function`` as (x float64, y int64), rounded for size."""
    gen = synth.Agrawal(classification_function=function, seed=seed, perturbation=0.05)
    xs, ys = [], []
    for x, y in gen.take(rows):
        xs.append(list(x.values()))
        ys.append(int(y))
    return _round(np.asarray(xs, dtype=np.float64)), np.asarray(ys, dtype=np.int64)


def _round(x: np.ndarray) -> np.ndarray:
    out = np.round(x, 2)
    money = np.abs(out).max(axis=0) > 1000  # salary, commission, house value, loan
    out[:, money] = np.round(out[:, money])
    return out


def batches() -> list[tuple[np.ndarray, np.ndarray]]:
    """The stream, batch by batch: one generator per segment, each with its own seed."""
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for i, (function, count) in enumerate(SEGMENTS):
        x, y = agrawal_rows(function, ROWS * count, SEED + i)
        out += [(x[k * ROWS : (k + 1) * ROWS], y[k * ROWS : (k + 1) * ROWS]) for k in range(count)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "batches")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for seq, (x, y) in enumerate(batches(), start=1):
        path = args.out / f"batch-{seq:04d}.npz"
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez_compressed(fh, x=x, y=y)
        tmp.replace(path)
        total += path.stat().st_size
    print(f"wrote {seq} batches to {args.out} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
