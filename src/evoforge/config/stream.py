"""``[stream]``: a stream experiment's batches, how the champion is watched, and how a
challenger found by a round may replace it (``evoforge watch``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from evoforge.config._base import _Section

STREAM_OBJECTIVE = {"accuracy": "newest_accuracy", "mse": "newest_mse"}
"""The round's objective for each stream metric: the metric on the newest batches."""


class DetectSection(_Section):
    """``[stream.detect]``: what starts an improvement round. Each detector can be
    switched off; a trigger records which one fired, on which batch, with its statistic."""

    adwin: bool = True
    """River's ADWIN on the champion's per-example error stream."""
    adwin_delta: float = Field(default=0.002, gt=0, lt=1)
    page_hinkley: bool = True
    """River's Page-Hinkley (upward changes) on the same error stream."""
    page_hinkley_threshold: float = Field(default=100.0, gt=0)
    """River's default (50) raised about one false alarm per 150 stationary batches of
    400 examples at a 10% error rate; 100 keeps it well under one per 100."""
    page_hinkley_delta: float = Field(default=0.005, ge=0)
    features: bool = True
    """A two-sample Kolmogorov-Smirnov test per input feature: the batch against the
    five batches before it (Bonferroni over features)."""
    features_alpha: float = Field(default=0.001, gt=0, lt=1)
    degradation: float | None = Field(default=0.1, gt=0)
    """Trigger when a batch's metric is worse than the serving champion's level (its best
    mean over 3 batches in a row) by more than this (None: off)."""
    every: int | None = Field(default=None, gt=0)
    """A round every this many batches whatever the detectors say (None: off)."""
    warmup: int = Field(default=3, ge=1)
    """Batches at the stream's start before anything may fire, and after a change of
    champion before the degradation threshold may (its reference is the new champion's)."""


class StreamSection(_Section):
    """Where batches come from and the stream's promotion rules."""

    source: Literal["folder", "python"] = "folder"
    folder: str = "batches"
    """``source = "folder"``: the folder (relative to the experiment) where batch files
    appear: ``.npz`` (arrays ``x`` and ``y``), ``.csv`` or ``.parquet`` (a ``label``
    column, see ``label``), processed in the order of their names."""
    module: str = "stream_source.py"
    """``source = "python"``: trusted module of the experiment with the source function."""
    object: str = "batches"
    """``source = "python"``: a function returning ``(name, x, y)`` triples in order."""
    label: str = "label"
    """The label column of ``.csv`` and ``.parquet`` batches."""
    settle_seconds: float = Field(default=2.0, ge=0)
    """A file is read only once it has not changed for this long (one still being
    written is never read half-way; writing to a temporary name and renaming is best)."""
    poll_seconds: float = Field(default=5.0, gt=0)
    metric: Literal["accuracy", "mse"] = "accuracy"
    window: int = Field(default=10, ge=2)
    """Batches the champion is trained on before it predicts the next one."""
    newest: int = Field(default=1, ge=1)
    """A round's newest window: the last batches, on which a challenger must beat the
    champion (paired, noise-aware: the ``[promotion]`` rules)."""
    gather: int = Field(default=1, ge=0)
    """Batches a round waits for after its trigger, so that its training window holds
    data from after the change (0: start at once, on the data before the trigger)."""
    memory: int = Field(default=4, ge=0)
    """Older batches a round's memory set is drawn from (0: no forgetting guard)."""
    memory_rows: int = Field(default=1000, gt=0)
    forget_tolerance: float = Field(default=0.05, ge=0)
    """The forgetting guard: the most a challenger may lose on the memory set."""
    shadow_batches: int = Field(default=0, ge=0)
    """Batches a challenger predicts side by side with the champion before it is
    promoted; it must do better over them (0: promote after the round)."""
    rollback_batches: int = Field(default=3, ge=0)
    """Batches after a promotion on which the predecessor is scored too (0: off)."""
    rollback: bool = True
    """Roll back automatically when the promoted champion does worse than its
    predecessor over ``rollback_batches`` by more than ``rollback_tolerance``."""
    rollback_tolerance: float = Field(default=0.0, ge=0)
    cooldown: int = Field(default=2, ge=0)
    """Batches after a round ends before another may start."""
    elites: int = Field(default=3, ge=0)
    """A round starts from the champion and this many of the last round's best others."""
    detect: DetectSection = DetectSection()

    @model_validator(mode="after")
    def _windows_fit(self) -> StreamSection:
        if self.newest >= self.window:
            raise ValueError(
                f"newest ({self.newest}) must be smaller than window ({self.window}): the "
                "round trains on the window's older batches and is judged on the newest"
            )
        return self

    @property
    def objective(self) -> str:
        return STREAM_OBJECTIVE[self.metric]

    @property
    def maximize(self) -> bool:
        return self.metric == "accuracy"


def stream_task_section(stream: StreamSection) -> dict[str, Any]:
    """The ``[task]`` of a stream experiment: evoforge's window task, written by rounds."""
    gate = [f"memory_{stream.metric}"] if stream.memory else []
    return {
        "module": "task.py",
        "objective": stream.objective,
        "direction": "maximize" if stream.maximize else "minimize",
        "gate": gate,
    }
