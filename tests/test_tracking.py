"""MLflow tracking against a real local store (SQLite backend, file artifacts): every
evaluated candidate is a run with its parameters, metrics (held-out ones marked) and
code; the registered model's alias `champion` follows promotions and rollbacks; a
broken tracker warns and the run goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

import evoforge

from experiment_helpers import set_config

mlflow = pytest.importorskip("mlflow")  # the [mlflow] extra; scripts/setup installs it


def _tracked(exp: Path, uri: str, candidates: int = 6) -> Path:
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, '\nkind = "mutate"\n', '\nkind = "mutate"\n\n[tracking]\n'
               f'mlflow = "{uri}"\ninterval_s = 0\n\n[sandbox]\nlayers = "process"\n')  # fmt: skip
    return exp


def _client(exp: Path) -> object:
    uri = f"sqlite:///{exp / 'mlflow.db'}"
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_every_candidate_is_logged_and_the_alias_follows_the_champion(
    minimal_experiment: Path,
) -> None:
    exp = _tracked(
        minimal_experiment, "sqlite:///mlflow.db", candidates=14
    )  # relative: the experiment's
    run = evoforge.run(exp, progress=False)
    client = _client(exp)
    found = client.get_experiment_by_name("evoforge-minimal")  # type: ignore[attr-defined]
    assert found is not None
    runs = client.search_runs([found.experiment_id], max_results=100)  # type: ignore[attr-defined]
    rows = {r.id: r for r in run.candidates()}
    evaluated = [r for r in rows.values() if r.status in ("succeeded", "failed")]
    assert len(runs) == len(evaluated)
    by_cand = {int(r.data.tags["evoforge.candidate"]): r for r in runs}
    seed = by_cand[1]
    assert seed.data.params == {"A": "0.5", "B": "0.0", "C": "0.0"}
    assert seed.data.metrics["neg_mse"] == rows[1].metrics["neg_mse"]
    assert seed.data.metrics["heldout.heldout_neg_mse"] == rows[1].heldout["heldout_neg_mse"]
    assert seed.data.tags["evoforge.heldout"] == "heldout_neg_mse"
    code = client.list_artifacts(seed.info.run_id, "code")  # type: ignore[attr-defined]
    assert [a.path for a in code] == ["code/program.py"]
    champion = run.champion()
    assert champion is not None and champion.id != 1, "the tiny search found no improvement"
    alias = client.get_model_version_by_alias("evoforge-minimal", "champion")  # type: ignore[attr-defined]
    assert alias.tags["evoforge.candidate"] == str(champion.id)
    # A rollback with no driver running moves the alias back to the former champion's version
    run.rollback(1, reason="the new one is suspect", who="tester")
    alias = client.get_model_version_by_alias("evoforge-minimal", "champion")  # type: ignore[attr-defined]
    assert alias.tags["evoforge.candidate"] == "1"
    assert len(client.search_runs([found.experiment_id], max_results=100)) == len(runs)  # type: ignore[attr-defined]


def test_a_broken_tracker_warns_once_and_the_run_goes_on(
    minimal_experiment: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    exp = _tracked(minimal_experiment, "sqlite:////proc/no-such-dir/mlflow.db", candidates=3)
    run = evoforge.run(exp, progress=False)
    assert run.state == "finished" and len(run.candidates()) >= 3
    err = capfd.readouterr().err
    assert err.count("warning: MLflow tracking stopped") == 1
