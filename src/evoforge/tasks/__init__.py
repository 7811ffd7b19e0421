"""Trusted tasks: the contract and helpers for reading outputs."""

from evoforge.tasks._base import OutputError, Task
from evoforge.tasks.outputs import read_array, read_bytes, read_json

__all__ = ["OutputError", "Task", "read_array", "read_bytes", "read_json"]
