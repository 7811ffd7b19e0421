"""Experiment tracking in MLflow (``[tracking] mlflow = URI``, ``pip install 'evoforge[mlflow]'``).

Each evaluated candidate becomes one MLflow run in the experiment: its declared
parameters as params, its search metrics under their names and its held-out metrics
as ``heldout.NAME`` (tagged ``evoforge.heldout``: never used for a decision), its
status, proposer, parent and flags as tags, its program files as artifacts under
``code/``. The run's champion is a version of a registered model with the alias
``champion``: a promotion registers the new champion (its kept artifacts under
``model/``), a rollback moves the alias back to the former champion's version.

The tracker follows the archive, not events: :meth:`MlflowTracker.sync` logs what is
not logged yet and points the alias at the current champion, so a resumed run, a
decision taken while no driver runs and a crash in between all end consistent.
What is logged is kept in the archive (meta ``mlflow``). A tracker that fails (the
server is down) warns once and the run goes on: tracking is a copy, the archive is
the record.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evoforge.archive import Archive, SQLiteArchive
from evoforge.artifacts import manifest
from evoforge.candidate import Candidate, Status
from evoforge.candidate_rows import candidate_rows
from evoforge.config import Config, ConfigError, TrackingSection
from evoforge.fidelity import recorded
from evoforge.governance.rundir import RunDir
from evoforge.loop_state import Observer, Stats

ALIAS = "champion"
META = "mlflow"


def tracking_uri(section: TrackingSection, experiment: Path) -> str:
    """The URI with a relative SQLite path made absolute against the experiment folder."""
    uri = section.mlflow
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str((experiment / uri[len(prefix) :]).resolve())
    return uri


class MlflowTracker:
    def __init__(self, run: RunDir, config: Config, experiment: Path) -> None:
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise ConfigError(
                "[tracking] mlflow needs MLflow: pip install 'evoforge[mlflow]'"
            ) from None
        section = config.tracking
        self.run = run
        self.uri = tracking_uri(section, experiment)
        self._make_client: Any = lambda: MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._client: Any = None
        self.experiment = section.experiment or f"evoforge-{config.experiment.name}"
        self.model = section.model or self.experiment
        self.objective = config.task.objective
        self.heldout = {*config.task.heldout, *config.task.gate}
        self.interval_s = section.interval_s
        self._last = 0.0
        self._failed = ""

    @property
    def client(self) -> Any:
        """Made on first use, inside :meth:`sync`'s guard (opening the store may fail)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def sync(self, archive: Archive) -> None:
        """Log every evaluated candidate not logged yet; point the alias at the champion."""
        if self._failed:
            return
        try:
            state = dict(archive.get_meta(META, {}) or {})
            runs: dict[str, str] = dict(state.get("runs", {}))
            versions: dict[str, str] = dict(state.get("versions", {}))
            exp_id = state.get("experiment_id") or self._experiment_id()
            params = {r.id: r.params for r in candidate_rows(archive)}
            done = (Status.SUCCEEDED, Status.FAILED, Status.STOPPED)
            for cand in archive.candidates(statuses=done):
                if str(cand.id) not in runs:
                    runs[str(cand.id)] = self._log(exp_id, archive, cand, params.get(cand.id, {}))
            champ = archive.champion()
            if champ is not None and str(champ.id) in runs:
                if str(champ.id) not in versions:
                    versions[str(champ.id)] = self._register(archive, champ, runs[str(champ.id)])
                self.client.set_registered_model_alias(self.model, ALIAS, versions[str(champ.id)])
            state.update(experiment_id=exp_id, runs=runs, versions=versions, uri=self.uri)
            archive.set_meta(META, state)
        except Exception as exc:  # the tracker is a copy: it must not end the run
            self._failed = f"{type(exc).__name__}: {exc}"
            print(f"warning: MLflow tracking stopped: {self._failed}", file=sys.stderr)

    def observer(self, archive: Archive, inner: Observer | None) -> Observer:
        """An observer that syncs at most every ``interval_s`` and passes updates on."""
        tracker = self

        class _Sync:
            def update(self, stats: Stats, finished: Candidate | None) -> None:
                if inner is not None:
                    inner.update(stats, finished)
                if time.monotonic() - tracker._last >= tracker.interval_s:
                    tracker._last = time.monotonic()
                    tracker.sync(archive)

        return _Sync()

    # -- MLflow ------------------------------------------------------------------------
    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        if found is not None:
            return str(found.experiment_id)
        location = None
        if self.uri.startswith("sqlite:///"):  # artifacts beside the database, not in cwd
            location = Path(self.uri[len("sqlite:///") :]).parent.joinpath("mlartifacts").as_uri()
        return str(self.client.create_experiment(self.experiment, artifact_location=location))

    def _log(self, exp_id: str, archive: Archive, cand: Candidate, params: Any) -> str:
        from mlflow.entities import Metric, Param, RunTag

        tags = {
            "evoforge.run": str(self.run.path),
            "evoforge.candidate": str(cand.id),
            "evoforge.status": str(cand.status),
            "evoforge.proposer": cand.proposer,
            "evoforge.operator": cand.operator,
            "evoforge.parent": str(cand.parent_ids[0]) if cand.parent_ids else "",
            "evoforge.flags": " ".join(cand.flags),
            "evoforge.heldout": ",".join(sorted(self.heldout)),
            "evoforge.objective": self.objective,
        }
        if cand.failure:
            tags["evoforge.failure"] = cand.failure[:5000]
        run = self.client.create_run(exp_id, run_name=f"#{cand.id}", tags=tags)
        stamp = int((cand.finished_at or time.time()) * 1000)
        metrics = [Metric(k, float(v), stamp, 0) for k, v in cand.metrics.items()]
        metrics += [Metric(f"heldout.{k}", float(v), stamp, 0) for k, v in cand.heldout.items()]
        metrics.append(Metric("wall_s", float(cand.wall_s), stamp, 0))
        metrics += [  # low fidelity rungs ([fidelity]): rung.NAME, the rung as MLflow's step
            Metric(f"rung.{k}", float(v), stamp, int(e["rung"]))
            for e in recorded(cand) if e.get("ok") for k, v in e.get("metrics", {}).items()
        ]  # fmt: skip
        values = [
            Param(k, str(list(v) if isinstance(v, tuple) else v)[:6000]) for k, v in params.items()
        ]
        self.client.log_batch(
            run.info.run_id,
            metrics=metrics,
            params=values,
            tags=[RunTag("mlflow.source.type", "JOB")],
        )
        for path, text in archive.get_code(cand.code_hash).items():
            self.client.log_text(run.info.run_id, text, f"code/{path}")
        status = {Status.SUCCEEDED: "FINISHED", Status.STOPPED: "KILLED"}.get(cand.status, "FAILED")
        self.client.set_terminated(run.info.run_id, status, end_time=stamp)
        return str(run.info.run_id)

    def _register(self, archive: Archive, cand: Candidate, run_id: str) -> str:
        """A model version of the candidate: its kept artifacts if any, else its code."""
        from mlflow.exceptions import MlflowException

        with contextlib.suppress(MlflowException):  # it exists
            self.client.create_registered_model(self.model)
        source = f"runs:/{run_id}/code"
        kept = {
            rel: self.run.path / "artifacts" / str(e["sha256"])
            for rel, e in manifest(archive, cand.id).items()
        }
        kept = {rel: p for rel, p in kept.items() if p.is_file()}
        if kept:
            with tempfile.TemporaryDirectory(prefix="evoforge-mlflow-") as tmp:
                for rel, path in kept.items():
                    dest = Path(tmp) / "model" / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)
                self.client.log_artifacts(run_id, str(Path(tmp) / "model"), "model")
            source = f"runs:/{run_id}/model"
        version = self.client.create_model_version(
            self.model, source=source, run_id=run_id,
            tags={"evoforge.candidate": str(cand.id)},
        )  # fmt: skip
        return str(version.version)


def sync_after_decision(run: RunDir) -> None:
    """After a person's decision taken with no driver running: bring MLflow in line."""
    if run.driver_pid() is not None:
        return  # the driver syncs itself
    with SQLiteArchive(run.archive) as archive:
        from evoforge.config import parse_snapshot

        config = parse_snapshot(archive.get_meta("config"), source=f"{run.path} (config snapshot)")
        if not config.tracking.mlflow:
            return
        experiment = Path(str(archive.get_meta("experiment", run.path)))
        MlflowTracker(run, config, experiment).sync(archive)
