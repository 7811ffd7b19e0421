"""Running hostile candidates: the sandbox contract and its layered implementation.

``build_sandbox(SandboxOptions())`` probes the machine and returns the strongest
sandbox it allows; ``probe()`` reports each layer's state without building one;
``warnings_for(strength)`` turns missing layers into lines to print and record.
"""

from evoforge.sandbox._base import Limits, OnStart, RunSpec, Sandbox
from evoforge.sandbox.layered import LayeredSandbox, Plan
from evoforge.sandbox.options import SandboxOptions, WeakSandboxError, is_on, warnings_for
from evoforge.sandbox.probe import build_sandbox, probe
from evoforge.sandbox.process import ProcessSandbox, supervise

__all__ = [
    "LayeredSandbox",
    "Limits",
    "OnStart",
    "Plan",
    "ProcessSandbox",
    "RunSpec",
    "Sandbox",
    "SandboxOptions",
    "WeakSandboxError",
    "build_sandbox",
    "is_on",
    "probe",
    "supervise",
    "warnings_for",
]
