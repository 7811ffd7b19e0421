"""How a run's config turns into the policy selector and the adaptive mutator."""

from __future__ import annotations

from pathlib import Path

from evoforge.config import Config, ConfigError
from evoforge.policy import Decider, InProcessPolicy, PolicyError, load_policy_file
from evoforge.proposers._base import Proposer
from evoforge.proposers.adaptive import AdaptiveMutator
from evoforge.proposers.mutate import Mutator
from evoforge.selection import AgingTournament, PolicySelector, Selector


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
