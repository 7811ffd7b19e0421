"""The runner a candidate's command starts inside the sandbox, in OpenEvolve compatibility mode.

It imports the folder's ``evaluator.py``, calls ``evaluate`` (or the cascade stages
``evaluate_stage1/2/3``, stopping at the first below its threshold) on the candidate's
``initial_program.py`` and writes the numeric metrics to ``METRICS`` as JSON, with
``combined_score`` added, as OpenEvolve does, as the mean of the metrics when the
evaluator returns none. The metrics are therefore reported by sandboxed code:
``COMPAT_MODE`` says so wherever a run records it.
"""

from __future__ import annotations

import json

COMPAT_MODE = "openevolve (no hidden labels; metrics computed inside the sandbox)"
PROGRAM = "initial_program.py"
RUNNER = "_evoforge_openevolve_runner.py"
METRICS = "_evoforge_openevolve_metrics.json"


def runner_script(*, cascade: bool, thresholds: list[float]) -> str:
    """The source of the runner, with these cascade settings."""
    settings = {"cascade": cascade, "thresholds": thresholds}
    return _RUNNER.replace("__SETTINGS__", repr(json.dumps(settings)))


_RUNNER = '''"""Runs the OpenEvolve evaluator on the candidate, inside the sandbox (written by evoforge)."""
import importlib.util
import json
import math
import os
import sys
import types

SETTINGS = json.loads(__SETTINGS__)


def _shim():
    """evaluators may return openevolve's EvaluationResult; provide it if not installed."""
    try:
        import openevolve.evaluation_result  # noqa: F401
    except ImportError:
        class EvaluationResult:
            def __init__(self, metrics, artifacts=None):
                self.metrics, self.artifacts = metrics, artifacts or {}
        pkg = types.ModuleType("openevolve")
        sub = types.ModuleType("openevolve.evaluation_result")
        sub.EvaluationResult = EvaluationResult
        pkg.evaluation_result = sub
        sys.modules.update({"openevolve": pkg, "openevolve.evaluation_result": sub})


def _numbers(result):
    metrics = getattr(result, "metrics", result)
    if not isinstance(metrics, dict):
        raise SystemExit(f"evaluate() returned {type(metrics).__name__}, not a dict of metrics")
    return {str(k): float(v) for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def _score(m):
    if "combined_score" in m:
        return m["combined_score"]
    return sum(m.values()) / len(m) if m else 0.0


def main():
    _shim()
    sys.path.insert(0, os.getcwd())
    spec = importlib.util.spec_from_file_location("evaluator", "evaluator.py")
    evaluator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(evaluator)
    program = os.path.abspath("initial_program.py")
    metrics = {}
    stages = [getattr(evaluator, f"evaluate_stage{i}", None) for i in (1, 2, 3)]
    if SETTINGS["cascade"] and stages[0] is not None:
        for i, stage in enumerate(stages):
            if stage is None:
                break
            metrics.update(_numbers(stage(program)))
            limits = SETTINGS["thresholds"]
            if i < len(limits) and _score(metrics) < limits[i]:
                print(f"cascade: stopped after stage {i + 1} (below {limits[i]})")
                break
    else:
        metrics = _numbers(evaluator.evaluate(program))
    if metrics and "combined_score" not in metrics:
        metrics["combined_score"] = _score(metrics)
    with open("_evoforge_openevolve_metrics.json", "w") as fh:
        json.dump({"metrics": metrics}, fh)


main()
'''
