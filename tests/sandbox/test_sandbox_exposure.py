"""The run-start exposure check against the full sandbox: bundled labels stay hidden."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evoforge.runner import exposed_reads
from evoforge.sandbox import LayeredSandbox, Limits
from evoforge.tasks import Task


class LoadsBreastCancer(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        from sklearn.datasets import load_breast_cancer

        load_breast_cancer()

    def score(self, workdir: Path) -> Mapping[str, float]:
        return {}


class AllowsBundledData(LoadsBreastCancer):
    allow_bundled_data = True


def test_a_careless_task_exposes_no_bundled_labels(full_sandbox: LayeredSandbox) -> None:
    limits = Limits(wall_seconds=30, memory_mb=1024)
    assert exposed_reads(LoadsBreastCancer(), full_sandbox, limits=limits) == []
    exposed = {p.name for p in exposed_reads(AllowsBundledData(), full_sandbox, limits=limits)}
    assert "breast_cancer.csv" in exposed  # allowed, so visible, so warned about
