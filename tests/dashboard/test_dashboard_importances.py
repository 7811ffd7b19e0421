"""Parameter importances: fANOVA over a run's scored candidates ranks the parameter that
drives the objective first; too few candidates give none, said why; the report and the
dashboard's data show them."""

from __future__ import annotations

import random
from pathlib import Path

from evoforge.candidate_rows import CandidateRow
from evoforge.dashboard import api
from evoforge.dashboard.importances import MIN_TRIALS, importances, slices
from evoforge.dashboard.report import render_report
from evoforge.governance.rundir import RunDir

from dash_helpers import recorded_run


def _row(
    i: int, params: dict[str, object], score: float, status: str = "succeeded"
) -> CandidateRow:
    return CandidateRow(
        id=i, parents=(), proposer="t", operator="", status=status, params=params,  # type: ignore[arg-type]
        metrics={"acc": score}, heldout={}, flags=(), wall_s=0.0, cpu_s=0.0, failure="",
        champion=False, promoted=False, code_hash=str(i),
    )  # fmt: skip


def _rows(n: int) -> list[CandidateRow]:
    rng = random.Random(0)
    out = []
    for i in range(n):
        lr, noise, kind = rng.uniform(0, 1), rng.uniform(0, 1), rng.choice(["a", "b"])
        out.append(_row(i + 1, {"LR": lr, "NOISE": noise, "KIND": kind, "SIZES": (8, 4)},
                        lr * 10 + noise * 0.1))  # fmt: skip
    out.append(_row(n + 1, {"LR": 0.5, "NOISE": 0.5, "KIND": "a"}, 99.0, status="failed"))
    return out


def test_the_parameter_that_drives_the_objective_ranks_first() -> None:
    got = importances(_rows(30), "acc", maximize=True)
    assert got.trials == 30 and not got.why_none
    ranked = list(got.values)
    assert ranked[0] == "LR" and got.values["LR"] > 0.8
    assert "SIZES[0]" not in got.values  # never varied: nothing to rank
    assert abs(sum(got.values.values()) - 1.0) < 1e-6
    pts = slices(_rows(30), "acc", ["LR"])["LR"]
    assert len(pts) == 30 and all(s < 20 for _, s in pts)  # the failed one is left out


def test_too_few_scored_candidates_give_none_and_say_why() -> None:
    got = importances(_rows(MIN_TRIALS - 1), "acc", maximize=True)
    assert got.values == {} and "needs" in got.why_none


def test_the_report_and_the_dashboard_data_carry_them(tmp_path: Path) -> None:
    scores: list[tuple[float, dict[str, float]]] = [(0.1 * i, {}) for i in range(8)]
    run = recorded_run(tmp_path / "run", scores)
    # recorded_run's programs declare nothing: no importances, and the page says why
    page = render_report(RunDir(run.path))
    assert '<section id="importances">' in page and "no importances" in page
    data = api.importances(run)
    assert data["importances"] == [] and data["why_none"] == "no declared parameter varies"
