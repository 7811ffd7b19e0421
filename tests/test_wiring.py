"""How a config becomes the run's parts: the sandbox probed, the metric names checked,
the gates, the proposer, the run context the workers get, and a policy file."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.config import ConfigError
from evoforge.gates import ConstraintGate, EvolveRegionGate
from evoforge.gates.constraints import DEFAULT_FORBIDDEN_CALLS, DEFAULT_FORBIDDEN_IMPORTS
from evoforge.governance.rundir import RunDir
from evoforge.policy import default_policy_source
from evoforge.proposers import Mutator
from evoforge.proposers.adaptive import AdaptiveMutator
from evoforge.proposers.mix import MixedProposer
from evoforge.proposers.optuna import OptunaProposer, sampler_class
from evoforge.sandbox import ProcessSandbox, SandboxOptions, WeakSandboxError
from evoforge.summary import run_summary
from evoforge.wiring import (
    build_gates,
    build_proposer,
    check_installed,
    declared_metrics,
    run_context,
    sandbox_strength,
)

from experiment_helpers import DataTask, config_of


def _configure(exp: Path, extra: str) -> None:
    toml = exp / "evoforge.toml"
    text = re.sub(r"candidates = \d+", "candidates = 8", toml.read_text())
    text = text.replace("workers = 2", 'workers = 1\nexecutor = "inline"')
    toml.write_text(text + '\n[sandbox]\nlayers = "process"\n' + extra)


def test_a_policy_file_selected_in_a_config_runs_the_experiment(minimal_experiment: Path) -> None:
    policy = default_policy_source().replace("POPULATION = 20", "POPULATION = 6")
    (minimal_experiment / "my_policy.py").write_text(policy)
    _configure(minimal_experiment, '\n[selection]\npolicy = "my_policy.py"\n')
    outcome = session.start(minimal_experiment)
    assert outcome.reason == "finished" and outcome.stats.evaluated == 8
    archive = SQLiteArchive(outcome.run.archive)
    assert "my_policy.py" in archive.get_meta("task_hashes")  # a changed policy stops a resume
    rows = dict(run_summary(archive, run_path=str(outcome.run.path)))
    assert any(k.startswith("operator_") for k in rows)


def test_an_unchecked_policy_file_is_refused(minimal_experiment: Path) -> None:
    bad = default_policy_source().replace("def select(", "import os\n\n\ndef select(")
    (minimal_experiment / "bad.py").write_text(bad)
    _configure(minimal_experiment, '\n[selection]\npolicy = "bad.py"\n')
    with pytest.raises(ConfigError, match="not a usable policy"):
        session.start(minimal_experiment)


def test_adapt_without_the_mutator_is_a_config_error(minimal_experiment: Path) -> None:
    text = (minimal_experiment / "evoforge.toml").read_text()
    text = text.replace('kind = "mutate"', 'kind = "optuna"\nadapt = true')
    (minimal_experiment / "evoforge.toml").write_text(text)
    with pytest.raises(ConfigError, match="adapt"):
        session.start(minimal_experiment)


def test_the_process_sandbox_has_only_the_supervisor_and_rlimits() -> None:
    strength = sandbox_strength("process", False)
    assert strength == ProcessSandbox().strength()
    assert strength["supervisor"] == strength["rlimits"] == "on"


def test_the_layered_sandbox_is_probed_with_the_runs_layers_and_allowance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[SandboxOptions] = []

    def refuse(options: SandboxOptions) -> ProcessSandbox:
        asked.append(options)
        raise WeakSandboxError("too weak")

    monkeypatch.setattr("evoforge.sandbox.build_sandbox", refuse)
    with pytest.raises(WeakSandboxError, match="too weak"):
        sandbox_strength("auto", True)
    assert [(o.layers, o.allow_weak) for o in asked] == [("auto", True)]


def test_the_declared_metrics_are_the_held_out_and_gate_names_per_key() -> None:
    c = config_of(task={"heldout": ["test", "test2"], "gate": ["gate_acc"]})
    assert declared_metrics(c) == {"[task] heldout": ["test", "test2"], "[task] gate": ["gate_acc"]}
    assert declared_metrics(config_of()) == {"[task] heldout": [], "[task] gate": []}


def test_the_gates_keep_children_inside_their_blocks_and_away_from_the_runs_files(
    tmp_path: Path,
) -> None:
    exp, run = tmp_path / "exp", RunDir(tmp_path / "exp" / "runs" / "r1")
    task = DataTask(files=[exp / "labels.csv"], hidden=[tmp_path / "secret"])
    c = config_of(
        constraints={"forbid_imports": ["numpy"], "forbid_calls": ["eval"], "files": ["p.py"],
                     "allow_imports": ["json"], "max_changed_lines": 50},
    )  # fmt: skip
    gates = build_gates(c, exp, run, task)
    assert [type(g) for g in gates] == [EvolveRegionGate, ConstraintGate]
    assert isinstance(gates[1], ConstraintGate)
    policy = gates[1].policy
    assert policy.forbidden_paths == (
        str(exp), str(run.path), str(exp / "task.py"), str(tmp_path / "secret"),
        str(exp / "labels.csv"),
    )  # fmt: skip
    assert policy.forbid_imports == (*DEFAULT_FORBIDDEN_IMPORTS, "numpy")
    assert policy.forbid_calls == (*DEFAULT_FORBIDDEN_CALLS, "eval")
    assert (policy.files, policy.allow_imports, policy.max_changed_lines) == (
        ("p.py",), ("json",), 50
    )  # fmt: skip


def test_without_constraints_only_the_evolve_block_gate_is_left(tmp_path: Path) -> None:
    task = DataTask(files=[], hidden=[])
    gates = build_gates(config_of(constraints={"enabled": False}), tmp_path, RunDir(tmp_path), task)
    assert [type(g) for g in gates] == [EvolveRegionGate]


def test_the_mutator_is_built_with_its_settings_and_adapts_when_asked() -> None:
    settings = {"crossover_rate": 0.3, "multi_rate": 0.1, "sigma": 0.25}
    plain = build_proposer(config_of(proposer={"kind": "mutate", **settings}), Path("."))
    assert type(plain) is Mutator
    assert (plain.crossover_rate, plain.multi_rate, plain.sigma) == (0.3, 0.1, 0.25)
    adaptive = build_proposer(config_of(proposer={"adapt": True, **settings}), Path("."))
    assert isinstance(adaptive, AdaptiveMutator) and adaptive.policy is None
    assert (adaptive.base.crossover_rate, adaptive.base.sigma) == (0.3, 0.25)


def test_config_builds_the_optuna_proposer_and_mixes() -> None:
    built = build_proposer(
        config_of(proposer={"kind": "optuna", "optuna": {"sampler": "random", "base": "parent"}}),
        Path("."),
    )
    assert isinstance(built, OptunaProposer)
    assert (built.sampler, built.base) == ("random", "parent")
    assert isinstance(
        build_proposer(config_of(proposer={"kind": "optuna"}), Path(".")), OptunaProposer
    )
    mix = build_proposer(
        config_of(
            proposer={"kind": "mix", "mix": [{"kind": "mutate", "weight": 2}, {"kind": "optuna"}]}
        ),
        Path("."),
    )
    assert isinstance(mix, MixedProposer)
    assert [(type(p), w) for p, w in mix.members] == [(Mutator, 2.0), (OptunaProposer, 1.0)]


LLM = {"models": [{"name": "m", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "EVO_KEY"}]}


def test_an_llm_proposer_falls_back_on_the_configured_mutator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evoforge.proposers.llm import LLMProposer

    monkeypatch.setenv("EVO_KEY", "k")
    built = build_proposer(
        config_of(proposer={"kind": "llm", "sigma": 0.75, "llm": LLM}), Path(".")
    )
    assert isinstance(built, LLMProposer)
    assert type(built.fallback) is Mutator and built.fallback.sigma == 0.75


def test_an_llm_proposer_whose_key_variable_is_unset_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVO_KEY", raising=False)
    with pytest.raises(ConfigError, match="EVO_KEY not set"):
        build_proposer(config_of(proposer={"kind": "llm", "llm": LLM}), Path("."))


def test_the_run_context_hides_held_out_and_gate_metrics_from_the_search(
    tmp_path: Path,
) -> None:
    c = config_of(
        task={"heldout": ["test"], "gate": ["gate_acc"], "object": "my_task"},
        limits={"wall_seconds": 5, "threads": 2},
        sandbox={"layers": "process"},
    )
    run = RunDir(tmp_path / "runs" / "r1")
    ctx = run_context(run, c, tmp_path, allow_weak=True)
    assert ctx.heldout == ("test", "gate_acc")
    assert (ctx.experiment, ctx.task_module, ctx.task_object) == (tmp_path, "task.py", "my_task")
    assert ctx.command == ("{python}", "p.py")
    assert ctx.limits == c.limits.limits() and ctx.limits.wall_seconds == 5
    assert (ctx.threads, ctx.sandbox_layers, ctx.allow_weak) == (2, "process", True)
    assert ctx.active_dir == run.active
    scratch = Path(tempfile.gettempdir()) / "evoforge-scratch" / f"r1-{os.getpid()}"
    assert ctx.scratch_root == scratch
    assert ctx.task_hashes == {}


def test_kind_auto_builds_the_portfolio_with_its_default_members_and_the_llm_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evoforge.proposers.local import LocalSearch
    from evoforge.proposers.portfolio import PortfolioProposer

    built = build_proposer(config_of(proposer={"kind": "auto", "sigma": 0.3}), Path("."))
    assert isinstance(built, PortfolioProposer)
    assert [m.name for m in built.members] == ["tpe", "gp", "local"]
    tpe, gp, local = built.members
    assert isinstance(tpe, OptunaProposer) and tpe.sampler == "tpe" and tpe.base == "seed"
    assert isinstance(gp, OptunaProposer) and gp.sampler == "gp"
    assert isinstance(local, LocalSearch) and local.sigma == 0.3 and built.local == {"local"}
    monkeypatch.setenv("EVO_KEY", "k")
    chosen = build_proposer(
        config_of(proposer={"kind": "auto", "llm": LLM,
                            "auto": {"members": ["local", "cmaes"], "cost": "candidates"}}),
        Path("."),
    )  # fmt: skip
    assert isinstance(chosen, PortfolioProposer) and chosen.cost == "candidates"
    assert [m.name for m in chosen.members] == ["local", "cmaes"]  # named members only
    with_llm = build_proposer(config_of(proposer={"kind": "auto", "llm": LLM}), Path("."))
    assert isinstance(with_llm, PortfolioProposer)
    assert [m.name for m in with_llm.members] == ["tpe", "gp", "local", "llm"]


def test_without_torch_the_default_portfolio_drops_the_gp_and_naming_it_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    built = build_proposer(config_of(proposer={"kind": "auto"}), Path("."))
    assert [m.name for m in built.members] == ["tpe", "local"]  # type: ignore[attr-defined]
    check_installed(config_of(proposer={"kind": "auto"}))  # the default needs nothing more
    for proposer in (
        {"kind": "auto", "auto": {"members": ["gp", "local"]}},
        {"kind": "optuna", "optuna": {"sampler": "GPSampler"}},
        {"kind": "mix", "mix": [{"kind": "optuna"}], "optuna": {"sampler": "gp"}},
    ):
        with pytest.raises(ConfigError, match=r"pip install 'evoforge\[torch\]'"):
            check_installed(config_of(proposer=proposer))
    with pytest.raises(ValueError, match="GP sampler needs torch"):
        sampler_class("gp")


def test_the_architecture_search_alone_in_a_mix_and_in_the_portfolio() -> None:
    from evoforge.domains.nas.proposer import NASProposer
    from evoforge.proposers.portfolio import PortfolioProposer

    alone = build_proposer(
        config_of(proposer={"kind": "nas", "nas": {"random_start": 2, "variable": "NET"}}),
        Path("."),
    )
    assert isinstance(alone, NASProposer) and (alone.random_start, alone.variable) == (2, "NET")
    mix = build_proposer(
        config_of(proposer={"kind": "mix", "mix": [{"kind": "nas"}, {"kind": "mutate"}]}), Path(".")
    )
    assert isinstance(mix, MixedProposer) and isinstance(mix.members[0][0], NASProposer)
    auto = build_proposer(config_of(proposer={"kind": "auto", "nas": {}}), Path("."))
    assert isinstance(auto, PortfolioProposer)
    assert [m.name for m in auto.members][-1] == "nas"
    with pytest.raises(ConfigError, match=r'\[proposer.nas\] is set but kind = "mutate"'):
        config_of(proposer={"kind": "mutate", "nas": {}})


def test_a_search_policy_reaches_the_portfolio_that_it_chooses_members_for() -> None:
    from evoforge.policy import InProcessPolicy, default_policy_source
    from evoforge.proposers.portfolio import PortfolioProposer

    policy = InProcessPolicy(default_policy_source())
    built = build_proposer(config_of(proposer={"kind": "auto"}), Path("."), policy=policy)
    assert isinstance(built, PortfolioProposer) and built.policy is policy
    plain = build_proposer(config_of(proposer={"kind": "auto"}), Path("."))
    assert isinstance(plain, PortfolioProposer) and plain.policy is None
