"""LLM proposers: chat models reached through the OpenAI-compatible API edit the evolve blocks.

:class:`LLMProposer` is the proposer (``[proposer] kind = "llm"``); the pieces it
is made of are usable alone: the HTTP client with retries (:mod:`.client`; what a
server's response means: :mod:`.responses`), the prompt and its templates
(:mod:`.prompt`), answer parsing and application (:mod:`.edits`), the model bandit
(:mod:`.bandit`) and the ledger of requests, tokens and cost (:mod:`.usage`). A fake server for tests is :mod:`evoforge.testing.replay_server`.
"""

from evoforge.proposers.llm.bandit import ModelBandit
from evoforge.proposers.llm.client import Attempt, ChatClient, Completion, Endpoint, LLMError
from evoforge.proposers.llm.edit_base import EditRejected
from evoforge.proposers.llm.edits import apply_answer
from evoforge.proposers.llm.prompt import TemplateError, Templates, build_messages, load_templates
from evoforge.proposers.llm.proposer import LLMProposer, build_llm_proposer
from evoforge.proposers.llm.usage import Ledger

__all__ = [
    "Attempt",
    "ChatClient",
    "Completion",
    "EditRejected",
    "Endpoint",
    "LLMError",
    "LLMProposer",
    "Ledger",
    "ModelBandit",
    "TemplateError",
    "Templates",
    "apply_answer",
    "build_llm_proposer",
    "build_messages",
    "load_templates",
]
