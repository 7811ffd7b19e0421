"""evoforge: a self-improving AI system that evolves programs under guardrails."""

__version__ = "0.1.0"
