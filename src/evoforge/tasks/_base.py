"""The task contract: trusted code that prepares inputs and scores outputs.

A task is written by the user and trusted. It runs in a worker process that is
neither the driver nor the candidate. ``prepare`` writes the *public* inputs a
candidate may see into its scratch folder (training data with labels, evaluation
inputs without labels); ``score`` reads the candidate's outputs back *as data*
(see :mod:`evoforge.tasks.outputs`: JSON or ``.npy`` without pickle, never an
import of candidate code) and compares them with labels the candidate never saw.

``score`` returns a flat mapping of metric name to number. The experiment config
says which of them are held-out: the worker splits those off before anything is
shown to a proposer or used for selection. A malformed output is reported by
raising :class:`OutputError` with a reason a person can act on.

A task object must be cheap to construct and must not depend on the driver's
state; one instance may score many candidates, one at a time.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path


class OutputError(ValueError):
    """The candidate's outputs are missing or malformed; the message says how."""


class Task(abc.ABC):
    """Base class of trusted tasks. Subclasses implement ``prepare`` and ``score``."""

    bounds: Mapping[str, tuple[float, float]] = {}
    """Plausible range of each metric (e.g. accuracy in [0, 1]); used by gates."""

    @abc.abstractmethod
    def prepare(self, workdir: Path, *, seed: int) -> None:
        """Write the public inputs for one candidate run into ``workdir``."""

    @abc.abstractmethod
    def score(self, workdir: Path) -> Mapping[str, float]:
        """Score the outputs the candidate left in ``workdir``; raise OutputError if malformed."""

    def hidden_paths(self) -> list[Path]:
        """Files or folders a candidate must never see (e.g. a data set with its labels)."""
        return []

    def files(self) -> list[Path]:
        """Trusted files whose content is hashed at run start (the task module is always)."""
        return []
