"""What the loop checks of the run's own inputs, and how it words what it finds.

The seed and the task are the user's, not a candidate's: a fault in them is a
problem of the run, told once, in a sentence that says what to fix, before any
proposer sees anything. These functions decide and word; the loop acts.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from evoforge.candidate import Candidate, Evaluation, Files
from evoforge.config import CONFIG_NAME, ConfigError
from evoforge.gates import PreRunGate, check_all


def check_seed(gates: Sequence[PreRunGate], seed: Files) -> None:
    """Raise ConfigError when the seed itself would not pass the gates.

    Judged against itself, the seed has no changed lines, so only what its blocks
    hold counts (forbidden imports, calls, paths): every block line is scanned as
    if new. Without this, every child would be rejected for the seed's own line.
    """
    decision = check_all(gates, seed, seed=seed)
    if not decision.ok:
        raise ConfigError(
            "the seed's evolve block breaks the constraints: "
            + "; ".join(decision.reasons)
            + "; fix the seed or [constraints]"
        )


def check_metric_names(declared: Mapping[str, Sequence[str]], returned: Iterable[str]) -> None:
    """Raise ConfigError when a metric name the config declares is not one the task
    returned. ``declared`` maps a config key (``"[task] heldout"``) to its names.

    A mistyped held-out name would otherwise turn the real held-out metric into a
    search metric that proposers and selection see; a mistyped objective would
    leave nothing to select.
    """
    have = list(dict.fromkeys(returned))
    missing = [
        f"{key}: {name!r}{_did_you_mean(name, have)}"
        for key, names in declared.items()
        for name in names
        if name not in have
    ]
    if not missing:
        return
    what = (
        f"{missing[0]} is not a metric"
        if len(missing) == 1
        else f"{', '.join(missing)} are not metrics"
    )
    raise ConfigError(
        f"{what} the task returns (it returns: {', '.join(have) or 'nothing'}); "
        f"fix the name in {CONFIG_NAME}"
    )


def check_seed_metrics(
    objective: str, declared: Mapping[str, Sequence[str]], ev: Evaluation
) -> None:
    """Raise ConfigError when the objective or a name ``declared`` beyond it is not among
    the metrics the task returned for the seed; nothing to check when the seed failed
    before the task scored it (SeedFailed says why)."""
    if ev.metrics or ev.heldout:
        names = {"[task] objective": [objective], **declared}
        check_metric_names(names, [*ev.metrics, *ev.heldout])


def _did_you_mean(name: str, have: Sequence[str]) -> str:
    folded = {h.lower(): h for h in have}
    close = difflib.get_close_matches(name.lower(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


def seed_failure(ev: Evaluation, stderr_tail: str) -> str:
    """Why the seed's evaluation failed, blaming the task when its metrics are what
    is wrong (the program ran and wrote its outputs) and the program otherwise."""
    values = {**ev.metrics, **ev.heldout}
    non_finite = [f.split(":", 1)[1] for f in ev.flags if f.startswith("non_finite:")]
    if non_finite:
        shown = ", ".join(f"{name}={values.get(name)}" for name in non_finite)
        return (
            f"task.score returned a non-finite metric {shown} for the seed "
            "(check the task's score, and the seed's outputs it reads)"
        )
    if any(f.startswith("out_of_bounds:") for f in ev.flags):
        return f"task.score returned an invalid metric for the seed: {ev.failure}"
    return f"the seed program failed: {ev.failure}\n{stderr_tail[-1500:]}"


def seed_status(seed: Candidate) -> str:
    """The seed's state, in the words that say why no candidate can be selected."""
    return f"the seed is {seed.status.value}" + (f": {seed.failure}" if seed.failure else "")


def task_error_stop(message: str, *, seed: bool, count: int, limit: int) -> str | None:
    """Why the run stops after the task raised ``count`` times (this time ``message``),
    or None to go on: at once for the seed, at ``limit`` otherwise."""
    if not seed and count < limit:
        return None
    times = "on the seed" if seed else f"{count} times"
    return f"the task raised {times}: {message}"
