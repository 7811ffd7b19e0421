"""The Python API: what the CLI does, from a script, a notebook or a heredoc.

    import evoforge

    run = evoforge.run("examples/digits")          # blocks until the run ends
    print(run.state, run.champion())
    frame = run.dataframe()                          # needs pandas
    run.export("digits-champion")                    # program, config, kept artifacts
    more = evoforge.resume(run, candidates=20)       # 20 more candidates
    evoforge.open_run("examples/digits").approve(12, reason="checked the diff")

Same code paths as the commands (``evoforge run``/``resume``/``list``/``export``/
``approve``...): the same sandbox, gates, audit trail and archive. Worker processes
never import the caller's ``__main__`` (:mod:`evoforge.spawn`), so no
``if __name__ == "__main__":`` guard is needed.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evoforge.archive import SQLiteArchive
from evoforge.candidate_rows import CandidateRow, candidate_rows, columns
from evoforge.governance.rundir import RunDir, find_run
from evoforge.summary import run_state, run_summary

if TYPE_CHECKING:
    import pandas

    from evoforge.session import Outcome


@dataclass
class Run:
    """One run of an experiment, read from its folder (each call reads it afresh)."""

    path: Path
    outcome: Outcome | None = field(default=None, repr=False)
    """What the session that this call ran returned (None for a run only opened)."""

    @property
    def _dir(self) -> RunDir:
        return RunDir(self.path)

    @property
    def state(self) -> str:
        """ "running" while a driver lives, else why it ended ("finished", "stopped", ...)."""
        with SQLiteArchive(self._dir.archive, readonly=True) as archive:
            return run_state(archive, live_pid=self._dir.driver_pid(), run_path=str(self.path))

    def status(self) -> dict[str, str]:
        """The rows of ``evoforge status``."""
        with SQLiteArchive(self._dir.archive, readonly=True) as archive:
            return dict(run_summary(archive, run_path=str(self.path), state=self.state))

    def candidates(self) -> list[CandidateRow]:
        """Every candidate, in id order: lineage, proposer, status, declared parameters,
        search and held-out metrics, flags, cost."""
        with SQLiteArchive(self._dir.archive, readonly=True) as archive:
            return candidate_rows(archive)

    def dataframe(self) -> pandas.DataFrame:
        """The candidates as a pandas DataFrame, one row each, indexed by id; columns as
        ``evoforge list --csv`` (``params.*``, ``metrics.*``, ``heldout.*``)."""
        try:
            import pandas
        except ImportError:  # pragma: no cover - pandas is a dependency of the scientific stack
            raise ImportError("Run.dataframe() needs pandas: pip install pandas") from None
        rows = self.candidates()
        frame = pandas.DataFrame([r.flat() for r in rows], columns=columns(rows))
        return frame.set_index("id")

    def champion(self) -> CandidateRow | None:
        """The current champion (None before the seed was scored)."""
        return next((r for r in self.candidates() if r.champion), None)

    def code(self, candidate: int | None = None) -> dict[str, str]:
        """A candidate's program files (default: the champion's)."""
        with SQLiteArchive(self._dir.archive, readonly=True) as archive:
            cand = archive.champion() if candidate is None else archive.get(candidate)
            if cand is None:
                raise LookupError(f"{self.path}: no champion yet")
            return archive.get_code(cand.code_hash)

    def export(self, folder: str | Path, candidate: int | None = None) -> Path:
        """Write a candidate (default: the champion) as a runnable folder: its program
        files, the run's config and its kept artifacts (``evoforge export``)."""
        from evoforge.export import export_candidate

        return export_candidate(self._dir, Path(folder), candidate)

    def enqueue(self, values: Mapping[str, Any], *, who: str = "") -> Path:
        """Queue a configuration of declared parameters to try next (``evoforge enqueue``)."""
        from evoforge.governance.queue import enqueue

        return enqueue(self._dir, values, who=who or os.environ.get("USER") or getpass.getuser())

    def approve(
        self, candidate: int | None = None, *, reason: str, who: str = "", best: bool = False
    ) -> str:
        """Approve a pending promotion (``best``: the best pending one); audited."""
        return self._decide("approve", candidate, reason=reason, who=who, best=best)

    def reject(self, candidate: int, *, reason: str, who: str = "") -> str:
        return self._decide("reject", candidate, reason=reason, who=who)

    def rollback(self, candidate: int, *, reason: str, who: str = "") -> str:
        """Move the champion back to a former champion (audited; history kept)."""
        return self._decide("rollback", candidate, reason=reason, who=who)

    def stop(self, *, drain: bool = False, wait: float = 30.0) -> str:
        """Stop the run's driver; returns "not running", "stopped" or "stopping"."""
        from evoforge.governance.control import stop

        return stop(self._dir, drain=drain, wait=wait)

    def _decide(
        self, action: str, candidate: int | None, *, reason: str, who: str, best: bool = False
    ) -> str:
        from evoforge.governance.control import decide

        if not reason:
            raise ValueError(f"{action} needs a reason (it is recorded in the audit trail)")
        if candidate is None and not best:
            raise ValueError(f"{action} needs a candidate id")
        from evoforge.tracking import sync_after_decision

        who = who or os.environ.get("USER") or getpass.getuser()
        message = decide(self._dir, action, candidate or 0, who=who, reason=reason, best=best)
        sync_after_decision(self._dir)  # [tracking]: the registry's champion alias follows
        return message


def open_run(path: str | Path | None = None) -> Run:
    """A run folder, or an experiment folder (its newest run); None: the newest run
    under the current folder."""
    return Run(find_run(None if path is None else str(path)).path)


def run(
    experiment: str | Path,
    *,
    progress: bool = True,
    allow_weak_sandbox: bool = False,
    start_from: str | Path | Run | None = None,
    candidate: int | None = None,
) -> Run:
    """Start a new run of an experiment folder and wait for it to end.

    ``start_from``: a former run (or its experiment: the newest run) whose champion, or
    ``candidate``, is the new run's seed program (``evoforge run --from RUN[:CAND]``).
    ``progress`` prints the same progress lines as the CLI, to stderr.
    """
    from evoforge import session

    origin = None
    if start_from is not None:
        origin = session.SeedOrigin(_run_dir(start_from), candidate)
    elif candidate is not None:
        raise ValueError("candidate= names a candidate of start_from=; give both")
    with _display(progress, _objective_of(Path(experiment))) as display:
        outcome = session.start(
            Path(experiment), observer=display, allow_weak=allow_weak_sandbox, seed_from=origin
        )
    return Run(outcome.run.path, outcome)


def resume(
    run: str | Path | Run | None = None,
    *,
    candidates: int | None = None,
    wall_minutes: float | None = None,
    progress: bool = True,
    allow_weak_sandbox: bool = False,
) -> Run:
    """Continue a stopped, crashed or finished run; ``candidates``/``wall_minutes`` give
    it that much more budget than it has spent (``evoforge resume --candidates +N``)."""
    from evoforge import session

    rd = _run_dir(run)
    extend = None
    if candidates is not None or wall_minutes is not None:
        extend = session.Extension(candidates=candidates, wall_minutes=wall_minutes)
    with SQLiteArchive(rd.archive, readonly=True) as archive:
        objective = str(archive.get_meta("config", {}).get("task", {}).get("objective", ""))
    with _display(progress, objective) as display:
        outcome = session.resume(rd, observer=display, allow_weak=allow_weak_sandbox, extend=extend)
    return Run(outcome.run.path, outcome)


def _run_dir(run: str | Path | Run | None) -> RunDir:
    if isinstance(run, Run):
        return RunDir(run.path)
    return find_run(None if run is None else str(run))


def _objective_of(experiment: Path) -> str:
    from evoforge.wiring import load_experiment

    return load_experiment(experiment).task.objective


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _display(progress: bool, objective: str) -> Any:
    from evoforge.display import make_display

    return make_display(objective) if progress else _Quiet()
