"""``LLMProposer``: an ensemble of chat models edits the evolve blocks.

One proposal: check the token and cost budget, build the prompt, let the bandit
pick a model among those not set aside, ask it (the client retries), apply the
answer to the evolve blocks and check it. Outcomes:

- a child: ``Proposal`` with operator "diff" or "rewrite" and, in ``meta``, the
  prompt, the response, the model, tokens and cost;
- an answer that cannot become a child: ``ProposalError`` whose ``meta`` holds the
  raw answer and ``rejected`` (the reason); the loop records it as a rejected
  proposal, never runs it, and it uses no slot of the candidate budget;
- no model answers: a model that fails (after its retries) is set aside for
  ``cooldown_seconds`` and the others are asked; when none has answered for
  ``fallback_after_seconds``, proposals come from the fallback (the built-in
  mutator) with operator "fallback-<op>" and ``meta["fallback"]`` saying why, and
  the LLM is asked again as each cool-down ends, so the run returns to it as soon
  as one answers;
- budget reached (checked before each request): ``ProposerExhausted`` (the run
  ends) or, with ``on_budget = "fallback"``, the mutator for the rest of the run.

Every try the client makes goes to the ledger: each request the server received,
each failure by its reason, and the tokens and cost of whatever the server may
have billed (answers, kept or rejected, and failed tries that reached it). The
bandit's arms and the ledger are the proposer's ``state()``, restored on resume.
The API key never reaches the proposer: the client reads it from the environment
per request.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evoforge.candidate import Candidate, Status
from evoforge.config import ConfigError, LLMModelSection, LLMSection
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
)
from evoforge.proposers.llm.bandit import ModelBandit
from evoforge.proposers.llm.client import Attempt, ChatClient, Completion, Endpoint, LLMError
from evoforge.proposers.llm.edit_base import EditRejected
from evoforge.proposers.llm.edits import apply_answer
from evoforge.proposers.llm.prompt import (
    TemplateError,
    Templates,
    as_text,
    build_messages,
    load_templates,
)
from evoforge.proposers.llm.usage import Ledger, format_failures
from evoforge.textsafe import printable

log = logging.getLogger("evoforge.llm")
FORMATS = ("diff", "rewrite")


class LLMProposer(Proposer):
    """Proposes with the models of ``config``; ``fallback`` proposes when none can."""

    name = "llm"
    wants_context = True

    def __init__(
        self,
        config: LLMSection,
        *,
        templates: Templates,
        fallback: Proposer,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.templates = templates
        self.fallback = fallback
        self.clock = clock
        self.client = ChatClient(
            timeout_s=config.timeout_seconds,
            retries=config.retries,
            backoff_s=config.backoff_seconds,
            max_answer_bytes=config.max_answer_kb * 1024,
            sleep=sleep,
            env=env,
        )
        self.endpoints = {m.key: _endpoint(m) for m in config.models}
        self._priced = any(
            e.price_in_per_mtok or e.price_out_per_mtok for e in self.endpoints.values()
        )
        self._bandit = ModelBandit({m.key: m.weight for m in config.models})
        self._ledger = Ledger(max_tokens=config.max_tokens, max_cost=config.max_cost)
        self._down_until: dict[str, float] = {}
        self._outage_since: float | None = None
        self._last_error = ""
        self._falling_back = False

    @property
    def operators(self) -> tuple[str, ...]:
        return (*FORMATS, *(f"fallback-{op}" for op in self.fallback.operators))

    @property
    def arity(self) -> int:
        # One parent: an LLM child has one lineage (inspirations come from the feedback),
        # so the fallback mutator does without crossover.
        return 1

    # -- proposing ------------------------------------------------------------------
    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        spent = self._ledger.exhausted()
        if spent:
            return self._budget_spent(parents, feedback, rng, spent)
        parent = parents[0]
        messages = build_messages(
            parent,
            feedback,
            self.templates,
            edit_format=self.config.edit_format,
            inspirations=self.config.inspirations,
            others=parents[1:],
        )
        answer = self._ask(messages, rng)
        if answer is None:
            spent = self._ledger.exhausted()  # failed tries may have spent the rest
            if spent:
                return self._budget_spent(parents, feedback, rng, spent)
            return self._fall_back(parents, feedback, rng, self._outage())
        key, completion = answer
        meta = self._account(key, completion, as_text(messages))
        try:
            child, used = apply_answer(
                completion.text,
                parent.files,
                seed=feedback.seed or parent.files,
                edit_format=self.config.edit_format,
            )
        except EditRejected as exc:
            reason = str(exc)
            if completion.finish_reason == "length":
                reason += " (the answer was cut off at max_output_tokens)"
            meta.update(operator=self.config.edit_format, rejected=reason)
            raise ProposalError(reason, meta=meta) from None
        return Proposal(
            files=child, operator=used, note=f"{key}: {_gist(completion.text)}", meta=meta
        )

    def _ask(
        self, messages: list[dict[str, str]], rng: random.Random
    ) -> tuple[str, Completion] | None:
        """An answer from some model; None once none has answered for
        fallback_after_seconds, or once the budget is spent."""
        limit = self.config.fallback_after_seconds
        while not self._ledger.exhausted():
            now = self.clock()
            ready = [k for k in self.endpoints if self._down_until.get(k, -1.0) <= now]
            if ready:
                key = self._bandit.choose(ready, rng)
                try:
                    completion = self.client.complete(
                        self.endpoints[key],
                        messages,
                        temperature=self.config.temperature,
                        max_tokens=self.config.max_output_tokens,
                        rng=rng,
                        record=self._record,
                    )
                except LLMError as exc:
                    self._set_aside(key, exc)
                    continue
                self._answered(key)
                return key, completion
            since = self._outage_since if self._outage_since is not None else now
            if now - since >= limit:
                return None
            # Every model is cooling down but the outage is young: the loop waits for
            # the first to come back (rather than leave the LLM at once), recording
            # results and acting on stops meanwhile.
            wait = max(0.0, min(min(self._down_until.values()), since + limit) - now)
            raise ProposerBusy(f"every model is set aside: {self._last_error}", retry_after=wait)
        return None

    def _record(self, attempt: Attempt) -> bool:
        """Every try of every request, into the ledger; True while the budget allows a retry."""
        self._ledger.record(attempt)
        if not attempt.ok:
            log.info(
                "LLM %s try %d failed (%s, %d tokens counted): %s",
                attempt.model,
                attempt.number,
                attempt.reason,
                attempt.tokens_in + attempt.tokens_out,
                attempt.detail,
            )
        return not self._ledger.exhausted()

    def _set_aside(self, key: str, exc: LLMError) -> None:
        now = self.clock()
        self._down_until[key] = now + self.config.cooldown_seconds
        self._last_error = str(exc)
        if self._outage_since is None:
            self._outage_since = now
        log.warning(
            "LLM %s failed after %d attempt(s), set aside for %gs: %s",
            key,
            exc.attempts,
            self.config.cooldown_seconds,
            printable(str(exc)),  # it quotes the server's answer
        )

    def _answered(self, key: str) -> None:
        if self._falling_back:
            log.warning("LLM %s answers again: proposing with the LLM again", key)
        self._falling_back = False
        self._outage_since = None
        self._down_until.pop(key, None)

    def _outage(self) -> str:
        since = self._outage_since if self._outage_since is not None else self.clock()
        return f"no LLM answered for {self.clock() - since:.0f}s (last error: {self._last_error})"

    def _budget_spent(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random, spent: str
    ) -> Proposal:
        if self.config.on_budget == "end":
            raise ProposerExhausted(spent)
        return self._fall_back(parents, feedback, rng, spent)

    def _fall_back(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random, reason: str
    ) -> Proposal:
        if not self._falling_back:
            log.warning(
                "%s: proposing with the built-in mutator until an LLM answers", printable(reason)
            )
            self._falling_back = True
        p = self.fallback.propose(parents, feedback, rng)
        return Proposal(
            files=p.files,
            operator=f"fallback-{p.operator}",
            note=f"LLM fallback: {p.note}" if p.note else "LLM fallback",
            meta={**p.meta, "fallback": reason},
        )

    def _account(self, key: str, c: Completion, prompt: str) -> dict[str, Any]:
        """The answer's record (the ledger has it already, from ``_record``)."""
        cost = self.endpoints[key].cost(c.tokens_in, c.tokens_out)
        self._bandit.answered(key, cost if self._priced else float(c.tokens_in + c.tokens_out))
        meta: dict[str, Any] = {
            "model": key,
            "tokens_in": c.tokens_in,
            "tokens_out": c.tokens_out,
            "cost": cost,
            "seconds": round(c.seconds, 3),
            "attempts": c.attempts,
            "prompt": prompt,
            "response": c.text,
        }
        if not c.usage_reported:
            meta["tokens_estimated"] = True
        if c.failures:
            meta["failed_tries"] = list(c.failures)
        return meta

    # -- learning and state -----------------------------------------------------------
    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        if "fallback" in child.extra:
            self.fallback.tell(child, parents, feedback)
            return
        key = child.extra.get("model")
        if key not in self.endpoints or child.status != Status.SUCCEEDED or not parents:
            return
        new, old = child.score(feedback.objective), parents[0].score(feedback.objective)
        if new is None:
            return
        if old is None or (new > old if feedback.direction == "maximize" else new < old):
            self._bandit.won(str(key))

    def state(self) -> Mapping[str, Any]:
        return {
            "bandit": self._bandit.state(),
            "usage": self._ledger.state(),
            "fallback": dict(self.fallback.state()),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._bandit.load_state(state.get("bandit", {}))
        self._ledger.load_state(state.get("usage", {}))
        self.fallback.load_state(state.get("fallback", {}))

    def progress(self) -> str:
        failed = self._ledger.failures()
        if not failed:
            return ""
        return f"LLM requests {self._ledger.requests}, failed {format_failures(failed)}"

    @property
    def ledger(self) -> Ledger:
        return self._ledger


def build_llm_proposer(
    config: LLMSection,
    *,
    experiment: Path,
    fallback: Proposer,
    env: Mapping[str, str] | None = None,
) -> LLMProposer:
    """An LLMProposer for an experiment; ConfigError for bad templates or unset key variables."""
    folder = experiment / config.templates if config.templates else None
    try:
        templates = load_templates(folder)
    except TemplateError as exc:
        raise ConfigError(f"proposer.llm.templates: {exc}") from None
    source = os.environ if env is None else env
    unset = sorted(
        {m.api_key_env for m in config.models if m.api_key_env and not source.get(m.api_key_env)}
    )
    if unset:
        raise ConfigError(
            f"proposer.llm.models: environment variable(s) {', '.join(unset)} not set "
            "(api_key_env names the variable that holds the key)"
        )
    return LLMProposer(config, templates=templates, fallback=fallback, env=env)


def _endpoint(m: LLMModelSection) -> Endpoint:
    return Endpoint(
        key=m.key,
        model=m.name,
        base_url=m.base_url,
        api_key_env=m.api_key_env,
        price_in_per_mtok=m.price_in_per_mtok,
        price_out_per_mtok=m.price_out_per_mtok,
        extra_body=dict(m.extra_body),
    )


def _gist(answer: str) -> str:
    """The answer's first line of prose (what the model says it changed)."""
    text = re.sub(r"<think>.*?(</think>|\Z)", "", answer, flags=re.S)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("```", "<<<<", "====", ">>>>", "#")):
            return line[:160]
    return ""
