"""The Typer app every command registers on, ``main`` (the console script) and what the
commands share: ``UsageError`` and ``open_archive``."""

from __future__ import annotations

import os
import shutil
import sys

import typer
import typer.rich_utils

from evoforge.archive import Archive, SchemaError, SQLiteArchive
from evoforge.candidate_view import MissingRecord
from evoforge.config import ConfigError
from evoforge.governance.rundir import RunDir, RunNotFound
from evoforge.loop_state import SeedFailed, TaskError
from evoforge.textsafe import printable

HELP_WIDTH = 120
"""``--help`` is at least this wide (80 columns cut option names such as
``--allow-unknown-keys / --no-allow-unknown-keys``); TERMINAL_WIDTH overrides."""
if not os.environ.get("TERMINAL_WIDTH"):
    typer.rich_utils.MAX_WIDTH = max(HELP_WIDTH, shutil.get_terminal_size((80, 24)).columns)

app = typer.Typer(
    help="evoforge: evolve programs that train models, sandboxed and scored on data they never see.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UsageError(Exception):
    pass


def main() -> None:
    try:
        app()
    except (
        ConfigError,
        RunNotFound,
        SchemaError,
        SeedFailed,
        TaskError,
        UsageError,
        MissingRecord,
        KeyError,
    ) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        if isinstance(exc, TaskError) and exc.traceback:  # the user's own code: show where
            print(printable(exc.traceback.rstrip()), file=sys.stderr)
        print(f"error: {printable(msg)}", file=sys.stderr)  # e.g. the seed's failure and stderr
        sys.exit(2)


def open_archive(rd: RunDir) -> Archive:
    return SQLiteArchive(rd.archive, readonly=True)
