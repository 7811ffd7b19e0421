"""The ``evoforge`` command line: one function per command.

``app`` holds the Typer app, ``main`` (the console script: known errors become one
``error: ...`` line and exit code 2) and what the commands share; ``start`` the commands
that start or continue work (init, run, meta, dashboard, report, resume); ``review`` those
that read or decide about a run (status, best, show, diff, stop, approve, reject,
rollback, audit); ``stream`` the stream's (watch, and the stream side of the
others); ``outputs`` those that take results out (list, export). Importing this package registers every command.
"""

from evoforge.cli.app import app, main

# isort: split
# The commands in the order ``evoforge --help`` lists them: start's, then review's.
from evoforge.cli import start  # noqa: F401

# isort: split
from evoforge.cli import review  # noqa: F401

# isort: split
from evoforge.cli import stream  # noqa: F401

# isort: split
from evoforge.cli import outputs  # noqa: F401

__all__ = ["app", "main"]
