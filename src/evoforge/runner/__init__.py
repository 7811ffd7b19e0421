"""The runner: prepare a candidate's scratch folder, run it in the sandbox, have the task score it.

It runs in a trusted worker process wherever an executor places it (a local pool
worker, a Ray node); executors import it, never the other way round. Beside it:
loading the task, the task's errors, what the sandbox hides for a task, and the
hashes of the trusted files checked before each scoring.
"""

from evoforge.runner.evaluate import evaluate
from evoforge.runner.exposure import exposed_reads, sandbox_hidden
from evoforge.runner.hashing import changed_files, file_hashes, hash_changes
from evoforge.runner.job import Job, RunContext
from evoforge.runner.load import load_task
from evoforge.runner.task_errors import TASK_ERROR, split_failure, task_raised

__all__ = [
    "TASK_ERROR",
    "Job",
    "RunContext",
    "changed_files",
    "evaluate",
    "exposed_reads",
    "file_hashes",
    "hash_changes",
    "load_task",
    "sandbox_hidden",
    "split_failure",
    "task_raised",
]
