"""The task contract: trusted code that prepares inputs and scores outputs.

A task is written by the user and trusted. It runs in a worker process that is
neither the driver nor the candidate. ``prepare`` writes the *public* inputs a
candidate may see into its scratch folder (training data with labels, evaluation
inputs without labels); ``score`` reads the candidate's outputs back *as data*
(see :mod:`evoforge.tasks.outputs`: JSON or ``.npy`` without pickle, never an
import of candidate code) and compares them with labels the candidate never saw.

``score`` returns a flat mapping of metric name to number. The experiment config
says which of them are held-out (``[task] heldout``: test metrics, only reported;
``[task] gate``: metrics that may veto a promotion): the worker splits those off
before anything is shown to a proposer or used for selection. A malformed output
is reported by raising :class:`OutputError` with a reason a person can act on.

``example_scores`` (optional) gives, for search metrics, one score per validation
example, such that the metric is their mean (e.g. 0/1 correctness for accuracy).
The promoter then also asks a paired bootstrap over the examples whether a gain
is larger than the finite validation set can produce by chance.

A task object must be cheap to construct and must not depend on the driver's
state; one instance may score many candidates, one at a time.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from pathlib import Path


class OutputError(ValueError):
    """The candidate's outputs are missing or malformed; the message says how."""


class Task(abc.ABC):
    """Base class of trusted tasks. Subclasses implement ``prepare`` and ``score``."""

    bounds: Mapping[str, tuple[float, float]] = {}
    """Plausible range of each metric (e.g. accuracy in [0, 1]); used by gates."""
    allow_bundled_data: bool = False
    """Let candidates read the labelled data sets that libraries ship as files
    (scikit-learn's ``datasets/data`` and the like); hidden from the sandbox by default."""
    compat_mode: str = ""
    """Non-empty for a weaker scoring mode (e.g. OpenEvolve's self-reported metrics):
    the run records it in its archive and audit trail and warns at start."""

    @abc.abstractmethod
    def prepare(self, workdir: Path, *, seed: int) -> None:
        """Write the public inputs for one candidate run into ``workdir``."""

    @abc.abstractmethod
    def score(self, workdir: Path) -> Mapping[str, float]:
        """Score the outputs the candidate left in ``workdir``; raise OutputError if malformed."""

    def example_scores(self, workdir: Path) -> Mapping[str, Iterable[float]]:
        """Per-example validation scores of search metrics (called after ``score``, same
        outputs); default: none. Names not among the search metrics are ignored."""
        return {}

    def hidden_paths(self) -> list[Path]:
        """Files or folders a candidate must never see (e.g. a data set with its labels),
        beyond those hidden anyway: :meth:`files` and libraries' bundled data sets."""
        return []

    def files(self) -> list[Path]:
        """Trusted files whose content is hashed at run start (the task module is always);
        they are hidden from the sandbox too (copy in ``prepare`` what a candidate may read)."""
        return []
