from evoforge.meta.harness import auc, candidates_to_target, efficiency, run_searches
from evoforge.meta.suite import split
from evoforge.policy import InProcessPolicy, default_policy_source


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
