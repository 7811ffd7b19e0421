"""``[proposer]``: which search proposes children, and its own tables (LLM, Optuna,
algorithm discovery, a mix)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from evoforge.config._base import _Section


class LLMModelSection(_Section):
    """One model of the LLM ensemble, reached through the OpenAI-compatible chat API."""

    name: str = Field(min_length=1)
    """The model name the server expects (e.g. "gpt-4o-mini", "qwen2.5-coder:7b")."""
    base_url: str = Field(pattern=r"^https?://")
    """Up to and including the API version, e.g. "http://127.0.0.1:8000/v1"."""
    api_key_env: str = ""
    """The *name* of the environment variable holding the key ("" for servers without one)."""
    label: str = ""
    """How records and `status` name this entry (default: ``name``)."""
    weight: float = Field(default=1.0, gt=0)
    price_in_per_mtok: float = Field(default=0.0, ge=0)
    price_out_per_mtok: float = Field(default=0.0, ge=0)
    extra_body: dict[str, Any] = {}
    """Extra fields of the request body (e.g. ``{ top_p = 0.9 }``)."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            # Refuse anything that is not a variable name: a pasted key would end up
            # in the config snapshot stored in the archive.
            raise ValueError(
                "must be the name of an environment variable holding the key (e.g. "
                '"OPENAI_API_KEY"), never the key itself'
            )
        return value

    @field_validator("extra_body")
    @classmethod
    def _no_reserved(cls, body: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted({"model", "messages", "stream"} & set(body))
        if reserved:
            raise ValueError(f"{', '.join(reserved)} cannot be set here (evoforge sets them)")
        return body

    @property
    def key(self) -> str:
        return self.label or self.name


class LLMSection(_Section):
    """``[proposer.llm]``: the models, how to talk to them, and the run's LLM budget."""

    models: list[LLMModelSection] = Field(min_length=1)
    edit_format: Literal["diff", "rewrite"] = "diff"
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_output_tokens: int = Field(default=4096, gt=0)
    timeout_seconds: float = Field(default=120.0, gt=0)
    """Per request, reading the answer included."""
    max_answer_kb: int = Field(default=1024, gt=0)
    """An answer longer than this is not read further: the try fails as too_large."""
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    cooldown_seconds: float = Field(default=60.0, ge=0)
    """How long a model that failed (after its retries) is set aside."""
    fallback_after_seconds: float = Field(default=120.0, ge=0)
    """No model answered for this long: propose with the built-in mutator until one does."""
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost: float | None = Field(default=None, gt=0)
    on_budget: Literal["end", "fallback"] = "end"
    templates: str | None = None
    """Folder (relative to the experiment) of prompt templates replacing the defaults."""
    inspirations: int = Field(default=2, ge=0, le=10)

    @field_validator("templates")
    @classmethod
    def _relative(cls, folder: str | None) -> str | None:
        if folder is not None and (Path(folder).is_absolute() or ".." in Path(folder).parts):
            raise ValueError(f"{folder!r} must be a folder inside the experiment folder")
        return folder

    @model_validator(mode="after")
    def _consistent(self) -> LLMSection:
        keys = [m.key for m in self.models]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"models named twice: {', '.join(twice)} (give each a label)")
        priced = any(m.price_in_per_mtok or m.price_out_per_mtok for m in self.models)
        if self.max_cost is not None and not priced:
            raise ValueError("max_cost is set but no model has a price: the cost would stay 0")
        return self


class OptunaSection(_Section):
    """``[proposer.optuna]``: an Optuna sampler over the program's declared parameters."""

    sampler: str = Field(default="tpe", pattern=r"^([a-z]+|[A-Z][A-Za-z0-9]*Sampler)$")
    """An alias (tpe, random, cmaes, gp, qmc, nsgaii) or an optuna.samplers class name."""
    options: dict[str, Any] = {}
    """Keyword arguments of the sampler (e.g. ``{ n_startup_trials = 5 }``); never seed."""
    base: Literal["seed", "parent"] = "seed"
    """Whose code the values are written into; "parent" keeps other proposers' edits."""

    @field_validator("options")
    @classmethod
    def _no_seed(cls, options: dict[str, Any]) -> dict[str, Any]:
        if "seed" in options:
            raise ValueError("the sampler is seeded from experiment.seed; remove seed")
        return options


class AutoMLSection(_Section):
    """``[proposer.automl]``: discover learning algorithms from basic operations.

    The search runs in the driver's background (one process per island) and
    proposes only what is worth keeping: each new best, then the final champion
    and elites, each rendered as the program's file and scored by the task.
    """

    preset: Literal["linear", "nonlinear", "digits"] = "linear"
    """"linear": rediscover linear regression trained by SGD (4 features);
    "nonlinear": regression on random ReLU teacher networks (4 features);
    "digits": binary classification of projected digit pairs (16 features)."""
    file: str = "algorithm.py"
    """The program file the algorithm is written into (its evolve block)."""
    islands: int = Field(default=1, ge=1, le=64)
    """One worker process per island, with migration between them."""
    max_minutes: float | None = Field(default=None, gt=0)
    """The search's own time limit (the run's wall budget also ends it)."""
    max_algorithms: int | None = Field(default=None, ge=1)
    """Algorithms evaluated before the search ends (all islands together)."""
    target: float | None = Field(default=None, gt=0, le=1)
    """Search fitness that ends the search once confirmed (default: the preset's)."""


class NASSection(_Section):
    """``[proposer.nas]``: architecture search on the program's architecture literal
    (see :mod:`evoforge.domains.nas`): regularized evolution with the run's selection."""

    variable: str = Field(default="ARCH", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """The module-level name of the ``{...}`` literal in an evolve block."""
    random_start: int = Field(default=8, ge=0)
    """The first proposals are random architectures (the initial population)."""
    crossover_rate: float = Field(default=0.2, ge=0, le=1)
    """How often a child is the crossover of two parents instead of one mutation."""


AUTO_MEMBERS = ("tpe", "gp", "cmaes", "random", "local", "llm", "automl", "nas")


class AutoSection(_Section):
    """``[proposer.auto]``: the members of the default portfolio and how it shares out
    proposals (see :class:`~evoforge.proposers.portfolio.PortfolioProposer`)."""

    members: list[Literal["tpe", "gp", "cmaes", "random", "local", "llm", "automl", "nas"]] = []
    """The members, each once. Empty (the default): TPE and GP over the declared
    parameters, the mutator's local moves around the best, the LLM when [proposer.llm]
    is set, the algorithm search when [proposer.automl] is and the architecture search
    when [proposer.nas] is. "gp", "cmaes" and
    "random" are Optuna's samplers of those names. A member that does not apply to the
    program (a sampler where nothing is declared) leaves at the first proposal."""
    discount: float = Field(default=0.95, gt=0, le=1)
    """How much every result discounts what each member paid off before (1: never)."""
    cost: Literal["seconds", "candidates"] = "seconds"
    """What a proposal costs: its evaluation's seconds (or the member's time to propose
    it, where longer), or 1 ("candidates": the same choices on every run, one worker)."""

    @field_validator("members")
    @classmethod
    def _once(cls, members: list[str]) -> list[str]:
        twice = sorted({m for m in members if members.count(m) > 1})
        if twice:
            raise ValueError(f"members named twice: {', '.join(twice)}")
        return members


class MixMember(_Section):
    kind: Literal["mutate", "llm", "optuna", "nas"]
    weight: float = Field(default=1.0, gt=0)


class ProposerSection(_Section):
    kind: Literal["auto", "mutate", "llm", "optuna", "mix", "automl", "nas"] = "mutate"
    """ "auto" (what ``evoforge init`` writes): the portfolio of ``[proposer.auto]``."""
    crossover_rate: float = Field(default=0.15, ge=0, le=1)
    multi_rate: float = Field(default=0.2, ge=0, le=1)
    sigma: float = Field(default=0.5, gt=0)
    """The mutator's settings; with kind = "llm" they tune its fallback mutator."""
    adapt: bool = False
    """The mutator picks its operators with a bandit rewarded by improvement over the
    parent (Thompson sampling; saved with the run, shown by ``status``). With kind =
    "mix" a second bandit picks the proposer of each child too, its draws scaled by the
    members' weights (see :class:`~evoforge.proposers.mix.MixedProposer`)."""
    llm: LLMSection | None = None
    optuna: OptunaSection | None = None
    automl: AutoMLSection | None = None
    nas: NASSection | None = None
    auto: AutoSection | None = None
    mix: list[MixMember] = []
    """With kind = "mix": the proposers drawn from, e.g. ``[{ kind = "mutate", weight = 2 },
    { kind = "optuna" }]``; each kind once; their settings are the sections above."""

    @property
    def kinds(self) -> set[str]:
        """The proposer kinds this section uses (the members of a mix; "llm" in a portfolio
        when [proposer.llm] is set or named)."""
        if self.kind == "mix":
            return {m.kind for m in self.mix}
        if self.kind == "auto":
            named = (self.auto or AutoSection()).members
            return (
                {"auto"}
                | ({"llm"} if self.llm is not None or "llm" in named else set())
                | ({"automl"} if self.automl is not None or "automl" in named else set())
                | ({"nas"} if self.nas is not None or "nas" in named else set())
            )
        return {self.kind}

    @model_validator(mode="after")
    def _llm_when_llm(self) -> ProposerSection:
        if self.kind == "auto" and "llm" in self.kinds and self.llm is None:
            raise ValueError('the portfolio\'s "llm" member needs a [proposer.llm] table')
        if "llm" in self.kinds and self.llm is None:
            raise ValueError('kind = "llm" needs a [proposer.llm] table with its models')
        if "llm" not in self.kinds and self.llm is not None:
            raise ValueError(f'[proposer.llm] is set but kind = "{self.kind}": set kind = "llm"')
        if "optuna" not in self.kinds and self.optuna is not None:
            raise ValueError(
                f'[proposer.optuna] is set but kind = "{self.kind}": set kind = "optuna"'
            )
        if self.kind != "auto" and self.auto is not None:
            raise ValueError(f'[proposer.auto] is set but kind = "{self.kind}": set kind = "auto"')
        if self.kind == "auto" and "automl" in self.kinds and self.automl is None:
            raise ValueError('the portfolio\'s "automl" member needs a [proposer.automl] table')
        if self.kind not in ("automl", "auto") and self.automl is not None:
            raise ValueError(
                f'[proposer.automl] is set but kind = "{self.kind}": set kind = "automl" '
                '(or "auto", the portfolio, with the algorithm search as a member)'
            )
        if "nas" not in self.kinds and self.nas is not None:
            raise ValueError(
                f'[proposer.nas] is set but kind = "{self.kind}": set kind = "nas" '
                '(or "auto" or "mix" with the architecture search as a member)'
            )
        if self.kind == "mix":
            kinds = [m.kind for m in self.mix]
            if not kinds or len(set(kinds)) < len(kinds):
                raise ValueError('kind = "mix" needs mix = [...] naming each proposer kind once')
        elif self.mix:
            raise ValueError(f'mix is set but kind = "{self.kind}": set kind = "mix"')
        return self
