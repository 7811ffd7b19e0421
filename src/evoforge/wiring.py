"""How a run's config turns into its parts: every config-to-component rule is here."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from evoforge.archive import Archive
from evoforge.config import AutoMLSection, Config, ConfigError, OptunaSection, load_config
from evoforge.executors import Executor, InlineExecutor, LocalExecutor
from evoforge.gates import EvolveRegionGate, PreRunGate
from evoforge.gates.constraints import (
    DEFAULT_FORBIDDEN_CALLS,
    DEFAULT_FORBIDDEN_IMPORTS,
    ConstraintGate,
    ConstraintPolicy,
)
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit
from evoforge.governance.rundir import RunDir
from evoforge.policy import Decider, InProcessPolicy, PolicyError, load_policy_file
from evoforge.proposers._base import Proposer
from evoforge.proposers.adaptive import AdaptiveMutator
from evoforge.proposers.mutate import Mutator
from evoforge.proposers.sites import check_annotations
from evoforge.runner import RunContext, evaluate
from evoforge.sandbox._base import Sandbox
from evoforge.selection import AgingTournament, PolicySelector, Selector
from evoforge.tasks import Task


def load_experiment(experiment: Path) -> Config:
    """The experiment's config, checked with every rule, the proposers' parameter
    annotations in the program files included (ConfigError lists what is wrong)."""
    return load_config(experiment, file_checks=(check_annotations,))


def load_policy(config: Config, experiment: Path) -> Decider | None:
    """The policy ``[selection] policy`` names, checked (ConfigError when unusable)."""
    if config.proposer.adapt and config.proposer.kind not in ("mutate", "mix"):
        raise ConfigError(
            "[proposer] adapt = true chooses the built-in mutator's operators or a mix's "
            'proposers: it needs kind = "mutate" or "mix"'
        )
    name = config.selection.policy
    if name is None:
        return None
    if config.proposer.adapt:
        raise ConfigError(
            "[proposer] adapt and [selection] policy both choose the operators: set one "
            "(a policy is given the operator stats the bandit would use)"
        )
    path = Path(name) if Path(name).is_absolute() else experiment / name
    try:
        return InProcessPolicy(load_policy_file(path), origin=str(path))
    except PolicyError as exc:
        raise ConfigError(str(exc)) from None


def build_selector(config: Config, policy: Decider | None) -> Selector:
    s = config.selection
    tournament = AgingTournament(
        population=s.population,
        tournament=s.tournament,
        islands=s.islands,
        migration_rate=s.migration_rate,
    )
    return tournament if policy is None else PolicySelector(policy, fallback=tournament)


def wrap_mutator(mutator: Mutator, config: Config, policy: Decider | None) -> Proposer:
    """The mutator, adaptive when ``adapt`` or a policy says so."""
    if policy is None and not config.proposer.adapt:
        return mutator
    return AdaptiveMutator(mutator, policy=policy)


def declared_metrics(config: Config) -> dict[str, list[str]]:
    """The metric names the config declares beyond the objective, per key; the loop
    checks each is among those the task returns for the seed."""
    return {"[task] heldout": list(config.task.heldout), "[task] gate": list(config.task.gate)}


def build_gates(config: Config, experiment: Path, run: RunDir, task: Task) -> list[PreRunGate]:
    gates: list[PreRunGate] = [EvolveRegionGate()]
    c = config.constraints
    if c.enabled:
        forbidden = [str(experiment), str(run.path), str(experiment / config.task.module)]
        forbidden += [str(p) for p in [*task.hidden_paths(), *task.files()]]
        policy = ConstraintPolicy(
            files=None if c.files is None else tuple(c.files),
            forbid_imports=DEFAULT_FORBIDDEN_IMPORTS + tuple(c.forbid_imports),
            allow_imports=tuple(c.allow_imports),
            forbid_calls=DEFAULT_FORBIDDEN_CALLS + tuple(c.forbid_calls),
            forbidden_paths=tuple(forbidden),
            max_changed_lines=c.max_changed_lines,
        )
        gates.append(ConstraintGate(policy))
    return gates


def build_promoter(config: Config, archive: Archive, audit: Audit) -> Promoter:
    return Promoter(archive, audit, config.task, config.promotion, base_seed=config.experiment.seed)


def run_context(run: RunDir, config: Config, experiment: Path, *, allow_weak: bool) -> RunContext:
    lim = config.limits
    scratch = Path(tempfile.gettempdir()) / "evoforge-scratch" / f"{run.name}-{os.getpid()}"
    return RunContext(
        experiment=experiment,
        task_module=config.task.module,
        task_object=config.task.object,
        command=tuple(config.program.command),
        limits=lim.limits(),
        heldout=(*config.task.heldout, *config.task.gate),  # both hidden from the search
        scratch_root=scratch,
        active_dir=run.active,
        sandbox_layers=config.sandbox.layers,
        allow_weak=allow_weak,
        threads=lim.threads,
        artifacts=tuple(config.program.artifacts),
        artifact_root=run.path / "artifacts" if config.program.artifacts else None,
        artifact_max_bytes=int(config.program.artifact_max_mb * 1024 * 1024),
    )


def build_executor(config: Config, ctx: RunContext, audit: Audit | None = None) -> Executor:
    """The executor the config names; a Ray executor's retries go to ``audit``."""
    if config.run.executor == "inline":
        return InlineExecutor(lambda job: evaluate(ctx, job))
    if config.run.executor == "ray":
        try:  # imported here: Ray is an optional extra, loaded only when chosen
            from evoforge.executors.ray import RayExecutor
        except ImportError as exc:
            raise ConfigError(
                f"[run] executor = \"ray\" needs Ray: pip install 'evoforge[ray]' ({exc})"
            ) from None
        return RayExecutor(
            ctx,
            workers=config.run.workers,
            settings=config.ray,
            on_retry=None if audit is None else lambda entry: audit.append("ray_retry", **entry),
        )
    return LocalExecutor(ctx, workers=config.run.workers)


def build_proposer(config: Config, experiment: Path, *, policy: Decider | None = None) -> Proposer:
    """The proposer the config names; an LLM proposer falls back on the mutator."""
    p = config.proposer

    def one(kind: str) -> Proposer:
        mutator = Mutator(crossover_rate=p.crossover_rate, multi_rate=p.multi_rate, sigma=p.sigma)
        if kind == "llm" and p.llm is not None:
            from evoforge.proposers.llm import build_llm_proposer

            return build_llm_proposer(p.llm, experiment=experiment, fallback=mutator)
        if kind == "optuna":
            from evoforge.proposers.optuna import OptunaProposer

            o = p.optuna or OptunaSection()
            return OptunaProposer(sampler=o.sampler, sampler_options=o.options, base=o.base)
        if kind == "nas":
            return build_nas(config)
        return wrap_mutator(mutator, config, policy)

    if p.kind == "automl":
        from evoforge.domains.automl.proposer import build_algorithm_search

        return build_algorithm_search(
            p.automl or AutoMLSection(),
            experiment,
            program=config.program,
            task=config.task,
            seed=config.experiment.seed,
        )
    if p.kind == "auto":
        return build_portfolio(config, experiment, policy=policy)
    if p.kind == "mix":
        from evoforge.proposers.mix import MixedProposer

        return MixedProposer([(one(m.kind), m.weight) for m in p.mix], adapt=p.adapt)
    return one(p.kind)


DEFAULT_MEMBERS = ("tpe", "gp", "local")
"""The portfolio when ``[proposer.auto] members`` is not set (the LLM joins when configured)."""
LOCAL_WEIGHTS: Mapping[str, float] = {"resample": 0.5}
"""The portfolio's mutator moves near its parent: a redraw of one setting over its
whole range is what TPE's samples already do."""
SAMPLER_OPTIONS: Mapping[str, Mapping[str, object]] = {
    "tpe": {"multivariate": True, "group": True, "constant_liar": True},
    "gp": {"n_startup_trials": 5},
}
"""The portfolio's samplers: TPE models all parameters together and counts running
trials as poor (parallel workers do not ask for the same region); the GP starts
modelling after 5 results of any member (its default is 10 of its own)."""


def build_nas(config: Config) -> Proposer:
    """The architecture search of ``[proposer.nas]`` (its defaults when only named)."""
    from evoforge.config import NASSection
    from evoforge.domains.nas.proposer import NASProposer

    n = config.proposer.nas or NASSection()
    return NASProposer(
        variable=n.variable, random_start=n.random_start, crossover_rate=n.crossover_rate
    )


def has_torch() -> bool:
    """Whether torch can be imported (the ``torch`` extra): Optuna's GP sampler needs it."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def check_installed(config: Config) -> None:
    """Refuse, before a run starts, a proposer whose library is not installed: the
    architecture search and Optuna's GP sampler need torch."""
    if has_torch():
        return
    p = config.proposer
    sampler = (p.optuna or OptunaSection()).sampler.lower()
    gp = ("optuna" in p.kinds and sampler in ("gp", "gpsampler")) or (
        p.auto is not None and "gp" in p.auto.members
    )
    for needed, what in (
        ("nas" in p.kinds, "the architecture search"),
        (gp, "Optuna's GP sampler"),
    ):
        if needed:
            raise ConfigError(f"[proposer] names {what}, which needs torch (not installed): "
                              "pip install 'evoforge[torch]'")  # fmt: skip


def build_portfolio(config: Config, experiment: Path, *, policy: Decider | None) -> Proposer:
    """``kind = "auto"``: the portfolio of ``[proposer.auto]`` (default: TPE, GP, local
    moves, the LLM when one is configured and the algorithm search when it is)."""
    from evoforge.config import AutoSection
    from evoforge.proposers.optuna import OptunaProposer
    from evoforge.proposers.portfolio import PortfolioProposer

    p = config.proposer
    auto = p.auto or AutoSection()
    names = list(auto.members) or (
        [m for m in DEFAULT_MEMBERS if m != "gp" or has_torch()]  # the GP models with torch
        + (["llm"] if p.llm is not None else [])
        + (["automl"] if p.automl is not None else [])
        + (["nas"] if p.nas is not None else [])
    )
    members: list[Proposer] = []
    for name in names:
        member: Proposer
        if name == "local":
            from evoforge.proposers.local import LocalSearch

            local = Mutator(crossover_rate=p.crossover_rate, multi_rate=0.1, sigma=p.sigma,
                            operator_weights=LOCAL_WEIGHTS)  # fmt: skip
            member = LocalSearch(wrap_mutator(local, config, policy), local)
        elif name == "llm":
            from evoforge.proposers.llm import build_llm_proposer

            assert p.llm is not None  # the config's rule
            fallback = Mutator(crossover_rate=p.crossover_rate, multi_rate=p.multi_rate,
                               sigma=p.sigma)  # fmt: skip
            member = build_llm_proposer(p.llm, experiment=experiment, fallback=fallback)
        elif name == "automl":
            from evoforge.domains.automl.proposer import build_algorithm_search

            assert p.automl is not None  # the config's rule
            member = build_algorithm_search(
                p.automl, experiment, program=config.program, task=config.task,
                seed=config.experiment.seed,
            )  # fmt: skip
        elif name == "nas":
            member = build_nas(config)
        else:
            options = dict(SAMPLER_OPTIONS.get(name, {}))
            member = OptunaProposer(sampler=name, sampler_options=options, base="seed")
        member.name = name
        members.append(member)
    return PortfolioProposer(members, local=["local"], discount=auto.discount, cost=auto.cost,
                             policy=policy)  # fmt: skip


def sandbox_strength(layers: str, allow_weak: bool) -> Mapping[str, str]:
    """Probe the sandbox layers; raises if the sandbox would be too weak to run."""
    return sandbox_for(layers, allow_weak).strength()


def sandbox_for(layers: str, allow_weak: bool) -> Sandbox:
    """The sandbox ``[sandbox] layers`` names (the process layer alone, or all it can)."""
    if layers == "process":
        from evoforge.sandbox.process import ProcessSandbox

        return ProcessSandbox()
    from evoforge.sandbox import SandboxOptions, build_sandbox

    return build_sandbox(SandboxOptions(layers=layers, allow_weak=allow_weak))
