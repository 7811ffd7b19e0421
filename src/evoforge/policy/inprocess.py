"""Policy files: the shipped default, the check a file must pass, and running it here.

A policy file a person selects (``[selection] policy``) runs in the driver's own
process, so it must first pass :func:`check_policy`: the frame of the shipped
default byte for byte, and evolve blocks that pass the constraint gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from evoforge.gates.constraints import ConstraintGate
from evoforge.policy._base import POLICY_FILE, Decider, Decision, Lane, PolicyError, read_answer
from evoforge.program import EvolveBlockError, frame_violations, program_blocks, syntax_errors


def default_policy_source() -> str:
    """The text of the shipped default policy."""
    return resources.files("evoforge.policy").joinpath("shipped/default.py").read_text("utf-8")


def check_policy(source: str) -> list[str]:
    """Why ``source`` may not be used as a policy ([] when it may).

    Its frame must equal the shipped default's byte for byte (only the evolve
    blocks may differ) and its blocks must pass the same constraint gate every
    candidate passes. So a policy file runs only code evoforge ships, plus blocks
    that passed that static check.
    """
    files = {POLICY_FILE: source}
    problems = list(syntax_errors(files))
    if problems:
        return problems
    try:
        program_blocks(files)
    except EvolveBlockError as exc:
        return [str(exc)]
    seed = {POLICY_FILE: default_policy_source()}
    problems += frame_violations(seed, files)
    gate = ConstraintGate().check(files, seed=seed)
    problems += list(gate.reasons)
    return problems


def load_policy_file(path: Path) -> str:
    """The text of a policy file, checked; PolicyError with every reason when it fails."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from None
    problems = check_policy(source)
    if problems:
        raise PolicyError(f"{path}: not a usable policy:\n  " + "\n  ".join(problems))
    return source


class InProcessPolicy(Decider):
    """A checked policy's ``decide`` run in this process.

    For a policy a person selected, after :func:`check_policy`: its frame is the
    shipped one and its blocks passed the constraint gate (``evoforge meta`` only
    writes a policy that also won on held-out tasks, and audits that decision).
    Candidate policies *during* a meta-run never run here; they are sandboxed.
    """

    def __init__(self, source: str, *, origin: str = POLICY_FILE) -> None:
        self.source = source
        self.origin = origin
        self._decide: Any = None

    def decide(self, lanes: Sequence[Lane]) -> list[Decision]:
        if self._decide is None:
            namespace: dict[str, Any] = {"__name__": "evoforge_policy"}
            try:
                exec(compile(self.source, self.origin, "exec"), namespace)
            except Exception as exc:
                raise PolicyError(f"{self.origin}: the policy does not load: {exc!r}") from None
            self._decide = namespace.get("decide")
            if not callable(self._decide):
                raise PolicyError(f"{self.origin}: the policy defines no decide(request)")
        request = {"lanes": [lane.as_json() for lane in lanes]}
        try:
            answer = self._decide(request)
        except Exception as exc:
            raise PolicyError(f"{self.origin}: decide() raised {exc!r}") from None
        return read_answer(answer, lanes)
