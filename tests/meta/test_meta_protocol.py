from pathlib import Path

import pytest

from evoforge.meta.protocol import DECISION_LIMITS, SandboxedPolicy
from evoforge.policy import Lane, PolicyError, default_policy_source
from evoforge.sandbox import Limits, ProcessSandbox

LANE = Lane(
    seed=3,
    children=3,
    arity=2,
    pool=[{"id": i, "score": i / 10, "operator": "step", "parent": None} for i in range(5)],
    stats={"step": {"tries": 4, "wins": 1, "gain": 0.2}},
)


def _policy(source: str, tmp_path: Path, limits: Limits = DECISION_LIMITS) -> SandboxedPolicy:
    return SandboxedPolicy(source, sandbox=ProcessSandbox(), limits=limits, scratch_root=tmp_path)


def test_the_default_policy_decides_from_a_sandboxed_process(tmp_path: Path) -> None:
    decider = _policy(default_policy_source(), tmp_path)
    (decision,) = decider.decide([LANE])
    assert len(decision.parents) == 3 and all(len(p) == 2 for p in decision.parents)
    assert decider.calls == 1
    assert list(tmp_path.iterdir()) == []  # each round's folder is removed


def test_crash_garbage_and_overrun_are_clear_failures(tmp_path: Path) -> None:
    source = default_policy_source()
    crash = source.replace("ADAPT = 0.0", "ADAPT = 0.0\nraise SystemExit(3)")
    with pytest.raises(PolicyError, match="exit code 3"):
        _policy(crash, tmp_path).decide([LANE])
    garbage = source.replace('"sigma": sigma', '"sigma": "huge"')
    with pytest.raises(PolicyError, match="sigma"):
        _policy(garbage, tmp_path).decide([LANE])
    slow = source.replace("ADAPT = 0.0", "ADAPT = 0.0\nwhile True:\n    pass")
    fast = Limits(wall_seconds=1.0, cpu_seconds=1.0, memory_mb=256)
    with pytest.raises(PolicyError, match=r"timeout|cpu"):
        _policy(slow, tmp_path, fast).decide([LANE])
