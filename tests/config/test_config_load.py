from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.config import ConfigError, load_config, parse_config, parse_snapshot

from experiment_helpers import set_config


def error_of(exp: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(exp)
    return str(info.value)


def test_template_loads(minimal_experiment: Path) -> None:
    config = load_config(minimal_experiment)
    assert config.task.objective == "neg_mse"
    assert config.maximize
    assert config.task.heldout == ["heldout_neg_mse"]


def test_unknown_key_names_file_section_and_key(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, "workers = 2", "workers = 2\nworkerz = 3")
    msg = error_of(minimal_experiment)
    assert "evoforge.toml" in msg
    assert "run.workerz: unknown key" in msg


def test_wrong_type_is_reported_with_value(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, "workers = 2", 'workers = "two"')
    msg = error_of(minimal_experiment)
    assert "run.workers" in msg and "'two'" in msg


def test_missing_required_key(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, 'objective = "neg_mse"', "")
    assert "task.objective: required key is missing" in error_of(minimal_experiment)


def test_missing_program_file(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, 'files = ["program.py"]', 'files = ["nope.py"]')
    msg = error_of(minimal_experiment)
    assert "program.files" in msg and "'nope.py' does not exist" in msg


def test_missing_task_module(minimal_experiment: Path) -> None:
    (minimal_experiment / "task.py").unlink()
    assert "task.module: 'task.py' does not exist" in error_of(minimal_experiment)


def test_unbalanced_markers_name_file_and_line(minimal_experiment: Path) -> None:
    prog = minimal_experiment / "program.py"
    prog.write_text(prog.read_text().replace("# EVOLVE-BLOCK-END\n", ""))
    msg = error_of(minimal_experiment)
    assert "program.py:" in msg and "never closed" in msg


def test_no_evolve_block(minimal_experiment: Path) -> None:
    prog = minimal_experiment / "program.py"
    text = (
        prog.read_text().replace("# EVOLVE-BLOCK-END\n", "").replace("# EVOLVE-BLOCK-START\n", "")
    )
    prog.write_text(text)
    assert "no '# EVOLVE-BLOCK-START'" in error_of(minimal_experiment)


def test_heldout_objective_is_refused(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, 'heldout = ["heldout_neg_mse"]', 'heldout = ["neg_mse"]')
    assert "held-out metrics never drive selection" in error_of(minimal_experiment)


def test_bad_toml(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, "workers = 2", "workers = = 2")
    assert "not valid TOML" in error_of(minimal_experiment)


def test_not_a_folder(tmp_path: Path) -> None:
    assert "not an experiment folder" in error_of(tmp_path / "missing")
    assert "evoforge.toml: missing" in error_of(tmp_path)


def test_budget_needs_an_end(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, "candidates = 40", "candidates = 0")
    assert "budget.candidates" in error_of(minimal_experiment)


def test_automl_section_needs_its_kind(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, 'kind = "mutate"', 'kind = "mutate"\n[proposer.automl]\n')
    with pytest.raises(ConfigError, match=r'\[proposer.automl\] is set but kind = "mutate"'):
        load_config(minimal_experiment)


def test_automl_settings_are_checked(minimal_experiment: Path) -> None:
    set_config(
        minimal_experiment,
        'kind = "mutate"',
        'kind = "automl"\n[proposer.automl]\npreset = "images"\nislands = 0\n',
    )
    with pytest.raises(ConfigError) as err:
        load_config(minimal_experiment)
    assert "proposer.automl.preset" in str(err.value) and "proposer.automl.islands" in str(
        err.value
    )


def test_max_task_errors_is_a_positive_count_defaulting_to_three(minimal_experiment: Path) -> None:
    assert load_config(minimal_experiment).run.max_task_errors == 3
    set_config(minimal_experiment, "workers = 2", "workers = 2\nmax_task_errors = 0")
    assert "run.max_task_errors: Input should be greater than 0" in error_of(minimal_experiment)


def test_a_metric_is_either_test_or_gate_and_never_the_objective(minimal_experiment: Path) -> None:
    held = 'heldout = ["heldout_neg_mse"]'
    set_config(minimal_experiment, held, f'{held}\ngate = ["heldout_neg_mse"]')
    assert "heldout_neg_mse listed in both heldout and gate" in error_of(minimal_experiment)
    set_config(minimal_experiment, 'gate = ["heldout_neg_mse"]', 'gate = ["neg_mse"]')
    assert "'neg_mse' is also listed in gate" in error_of(minimal_experiment)


def test_heldout_tolerance_is_read_as_the_gate_tolerance(minimal_experiment: Path) -> None:
    old_name = 'kind = "mutate"\n\n[promotion]\nheldout_tolerance = 0.2'
    set_config(minimal_experiment, 'kind = "mutate"', old_name)
    assert load_config(minimal_experiment).promotion.gate_tolerance == 0.2


def test_a_removed_key_says_what_replaced_it(minimal_experiment: Path) -> None:
    set_config(minimal_experiment, "[budget]", '[selection]\nkind = "tournament"\n\n[budget]')
    assert "selection.kind: removed: the aging tournament is the only selector" in error_of(
        minimal_experiment
    )


def test_a_snapshot_written_before_a_key_was_removed_still_parses() -> None:
    snapshot = {
        "program": {"files": ["p.py"], "command": ["python", "p.py"]},
        "task": {"objective": "acc"},
        "selection": {"kind": "tournament", "population": 7},
    }
    assert parse_snapshot(snapshot, source="snapshot").selection.population == 7
    with pytest.raises(ConfigError, match=r"selection\.kind"):
        parse_config(snapshot)


@pytest.mark.parametrize(
    ("table", "typo", "meant"),
    [
        ("[promotoin]\nreruns = 2", "promotoin", "promotion"),
        ("[promotion]\nrerun = 2", "promotion.rerun", "reruns"),
        ('[proposer.optuna]\nsampeler = "tpe"', "proposer.optuna.sampeler", "sampler"),
        (
            '[proposer.llm]\nmodels = [{ nmae = "m", base_url = "http://127.0.0.1:1/v1" }]',
            "proposer.llm.models.0.nmae",
            "name",
        ),
    ],
)
def test_a_misspelt_key_is_named_with_the_key_it_is_close_to(
    minimal_experiment: Path, table: str, typo: str, meant: str
) -> None:
    path = minimal_experiment / "evoforge.toml"
    path.write_text(path.read_text() + "\n" + table + "\n")
    assert f"{typo}: unknown key (check its spelling and section) (did you mean {meant!r}?)" in (
        error_of(minimal_experiment)
    )
