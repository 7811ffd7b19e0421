from collections.abc import Sequence

from evoforge.meta.harness import (
    LaneResult,
    auc,
    candidates_to_target,
    efficiency,
    efficiency_se,
    run_searches,
)
from evoforge.meta.suite import split
from evoforge.policy import Decision, InProcessPolicy, Lane, default_policy_source


def test_searches_are_deterministic_monotone_and_normalised() -> None:
    decider = InProcessPolicy(default_policy_source())
    tasks = split("sr_sine,sr_wave")
    first = run_searches(decider, tasks, {}, seeds=[0, 1], candidates=20, batch=6)
    again = run_searches(decider, tasks, {}, seeds=[0, 1], candidates=20, batch=6)
    assert first == again
    assert [(r.task, r.seed) for r in first] == [
        ("sr_sine", 0), ("sr_sine", 1), ("sr_wave", 0), ("sr_wave", 1)
    ]  # fmt: skip
    for r in first:
        assert len(r.curve) == 20
        assert all(0.0 <= a <= b <= 1.0 for a, b in zip(r.curve, r.curve[1:], strict=False))
    assert 0.0 < efficiency(first) < 1.0


def test_metric_helpers() -> None:
    assert auc([0.0, 0.5, 1.0]) == 0.5
    assert candidates_to_target([0.1, 0.6, 0.9], 0.6) == 2
    assert candidates_to_target([0.1, 0.2], 0.6) is None


class _Recording(InProcessPolicy):
    """The shipped default, recording the lanes it was asked about."""

    def __init__(self, source: str) -> None:
        super().__init__(source)
        self.lanes: list[Lane] = []

    def decide(self, lanes: Sequence[Lane]) -> list[Decision]:
        self.lanes.extend(lanes)
        return super().decide(lanes)


def test_parameter_searches_offer_the_samplers_and_instruction_searches_only_the_mutator() -> None:
    policy = _Recording(default_policy_source())
    run_searches(policy, split("sr_sine,automl_linear_repair"), {}, seeds=[0], candidates=8,
                 batch=4)  # fmt: skip
    kinds = {(lane.kind, lane.makers) for lane in policy.lanes}
    assert kinds == {("params", ("mutate", "tpe", "random")), ("instructions", ("mutate",))}
    last = policy.lanes[-2]  # the sr_sine lane of the second round
    assert sum(s["tries"] for s in last.maker_stats.values()) == 4


def test_a_tpe_maker_is_told_the_mutator_children_and_that_changes_what_it_samples() -> None:
    tasks = split("sr_sine")
    only_tpe = (
        default_policy_source()
        .replace("M_MUTATE = 1.0", "M_MUTATE = 0.0")
        .replace("TPE_STARTUP = 10", "TPE_STARTUP = 4")
    )
    mixed = default_policy_source().replace("TPE_STARTUP = 10", "TPE_STARTUP = 4")
    alone = run_searches(InProcessPolicy(only_tpe), tasks, {}, seeds=[0], candidates=24)
    shared = run_searches(InProcessPolicy(mixed), tasks, {}, seeds=[0], candidates=24)
    assert alone[0].curve != shared[0].curve
    assert alone == run_searches(InProcessPolicy(only_tpe), tasks, {}, seeds=[0], candidates=24)


def test_efficiency_se_is_the_spread_of_searches_and_zero_for_one() -> None:
    curves = [LaneResult("a", s, (v,), 0) for s, v in enumerate([0.2, 0.4, 0.6])]
    assert abs(efficiency_se(curves) - (0.04 / 3) ** 0.5) < 1e-12
    assert efficiency_se(curves[:1]) == 0.0
