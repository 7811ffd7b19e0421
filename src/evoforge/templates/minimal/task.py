"""Trusted task: writes inputs without targets, scores predictions against hidden targets."""

import json
import math
from pathlib import Path

from evoforge.tasks import OutputError, Task, read_json


def target(x: float) -> float:
    return 1.5 * x * x - 2.0 * x + 0.75


class CurveTask(Task):
    bounds = {  # noqa: RUF012
        "neg_mse": (-math.inf, 0.0),
        "heldout_neg_mse": (-math.inf, 0.0),
    }
    search_xs = tuple(i / 4 for i in range(-8, 9))
    heldout_xs = tuple(i / 4 + 0.125 for i in range(-8, 8))

    def prepare(self, workdir: Path, *, seed: int) -> None:
        xs = {"search": self.search_xs, "heldout": self.heldout_xs}
        (workdir / "inputs.json").write_text(json.dumps(xs))

    def score(self, workdir: Path) -> dict[str, float]:
        return {
            "neg_mse": _mean(self._neg_errors(workdir, "search", self.search_xs)),
            "heldout_neg_mse": _mean(self._neg_errors(workdir, "heldout", self.heldout_xs)),
        }

    def example_scores(self, workdir: Path) -> dict[str, list[float]]:
        # One score per search point (their mean is neg_mse): lets promotion ask whether
        # a gain is more than a few points can give by chance.
        return {"neg_mse": self._neg_errors(workdir, "search", self.search_xs)}

    def _neg_errors(self, workdir: Path, split: str, xs: tuple[float, ...]) -> list[float]:
        out = read_json(workdir, "predictions.json")
        preds = out.get(split) if isinstance(out, dict) else None
        if not isinstance(preds, list) or len(preds) != len(xs):
            raise OutputError(f"predictions.json: {split!r} must be a list of {len(xs)} numbers")
        if not all(isinstance(p, (int, float)) for p in preds):
            raise OutputError(f"predictions.json: {split!r} holds something that is not a number")
        return [-((p - target(x)) ** 2) for p, x in zip(preds, xs, strict=True)]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


task = CurveTask()
