"""Shared pieces of the LLM proposer tests: a parent program, feedback, a proposer factory."""

from __future__ import annotations

import random
import socket
from importlib import resources
from typing import Any

from evoforge.candidate import Candidate, Status, code_hash
from evoforge.config import Direction, LLMModelSection, LLMSection
from evoforge.proposers._base import Feedback, Parent
from evoforge.proposers.llm import LLMProposer, load_templates
from evoforge.proposers.mutate import Mutator

KEY = "sk-replay-KEY-never-stored-4711"
SEED = (resources.files("evoforge") / "templates" / "minimal" / "program.py").read_text()
FILES = {"program.py": SEED}
A_LINE = "A = 0.5  # evolve: float[-5.0, 5.0]\n"


def diff(search: str, replace: str, why: str = "Move A towards the data.") -> str:
    return f"{why}\n\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


GOOD = diff(A_LINE, "A = 1.5  # evolve: float[-5.0, 5.0]\n")


def parent(
    cid: int = 2, files: dict[str, str] | None = None, score: float = -3.0, **kw: Any
) -> Parent:
    files = files or FILES
    cand = Candidate(
        id=cid,
        code_hash=code_hash(files),
        status=Status.SUCCEEDED,
        metrics={"neg_mse": score},
        heldout={"heldout_neg_mse": -123.456},
        **kw,
    )
    return Parent(cand, files)


def feedback(**kw: Any) -> Feedback:
    return Feedback(objective="neg_mse", direction=Direction.MAXIMIZE, seed=FILES, **kw)


def model(url: str, name: str = "replay-a", **kw: Any) -> LLMModelSection:
    return LLMModelSection(name=name, base_url=url, api_key_env="REPLAY_KEY", **kw)


def section(*models: LLMModelSection, **kw: Any) -> LLMSection:
    settings: dict[str, Any] = {
        "timeout_seconds": 0.3,
        "retries": 1,
        "backoff_seconds": 0.01,
        "cooldown_seconds": 30.0,
        "fallback_after_seconds": 0.0,
    }
    settings.update(kw)
    return LLMSection(models=list(models), **settings)


class FakeClock:
    """Monotonic time that only moves when slept through (backoff and waits)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def proposer(config: LLMSection, clock: FakeClock | None = None, key: str = KEY) -> LLMProposer:
    clock = clock or FakeClock()
    return LLMProposer(
        config,
        templates=load_templates(),
        fallback=Mutator(),
        env={"REPLAY_KEY": key},
        clock=clock,
        sleep=clock.sleep,
    )


def rng() -> random.Random:
    return random.Random(7)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
