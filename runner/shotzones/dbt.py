"""Programmatic dbt invocations against this project."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import date
from typing import TYPE_CHECKING

from shotzones.settings import Settings

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult


class DbtError(Exception):
    """A dbt invocation that failed as a whole (not a model or test failure it reports)."""


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_importing: list[threading.Thread] = []


def start_importing() -> None:
    """Import dbt in a background thread: it takes seconds of pure Python, which a command
    that will invoke dbt can overlap with its own work (reading files, surveying the
    warehouse); `invoke` then waits only for what is left. Once per process."""
    if not _importing:
        _importing.append(threading.Thread(target=_import_dbt, name="import-dbt", daemon=True))
        _importing[0].start()


def _import_dbt() -> None:
    try:
        import dbt.cli.main  # noqa: F401
    except Exception:  # `invoke` imports it again, and says what is wrong
        pass


def invoke(
    settings: Settings,
    command: list[str],
    batches: list[tuple[date, date]] | None = None,
    quiet: bool = False,
    beside: tuple[str, ...] = (),
) -> dbtRunnerResult:
    """Run one dbt command (`["build", "--select", ...]`) on the settings' target, for the
    game-date ranges `batches` (macros/batches.sql) or, without them, every loaded date; the
    models `beside` built as their new versions beside the live ones (macros/beside.sql)."""
    args = [
        *command,
        "--project-dir",
        str(settings.project_dir),
        "--profiles-dir",
        str(settings.project_dir / "profiles"),
        "--target",
        settings.target,
    ]
    if settings.dbt_vars:
        args += ["--vars", settings.dbt_vars]
    if quiet:
        args.insert(0, "--quiet")
    args.insert(0, "--use-colors" if sys.stderr.isatty() else "--no-use-colors")
    # imported here: dbt takes over a second to import, and a run with nothing to do needs none
    from dbt.cli.main import dbtRunner

    ranges = json.dumps([[first.isoformat(), last.isoformat()] for first, last in batches or []])
    # dbt logs to stdout, which `--json` keeps for JSON: its lines go to stderr instead, once it
    # has finished, so that an interrupted invocation prints nothing
    output = io.StringIO()
    environment = settings.dbt_env() | {
        "SHOTZONES_BATCHES": ranges if batches else "",
        "SHOTZONES_BESIDE": ",".join(beside),
        # the runner records what it builds itself: the on-run-end hook leaves it alone
        "SHOTZONES_RUNNER": "1",
    }
    with _environment(environment), redirect_stdout(output):
        result = dbtRunner().invoke(args)
    if isinstance(result.exception, KeyboardInterrupt):
        raise result.exception  # dbt caught the interrupt, and stopped: the caller decides what it means
    sys.stderr.write(output.getvalue())
    if result.exception is not None:
        raise DbtError(f"dbt {command[0]} failed: {result.exception}") from result.exception
    return result
