"""Programmatic dbt invocations against this project."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from shotzones.settings import PROFILES_DIR, PROJECT_DIR, Settings

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


def invoke(
    settings: Settings,
    command: list[str],
    variables: dict[str, Any] | None = None,
    quiet: bool = False,
) -> "dbtRunnerResult":
    """Run one dbt command (`["build", "--select", ...]`) on the settings' target."""
    args = [
        *command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROFILES_DIR),
        "--target", settings.target,
    ]  # fmt: skip
    if variables:
        args += ["--vars", json.dumps(variables)]
    if quiet:
        args.insert(0, "--quiet")
    # imported here: dbt takes over a second to import, and a run with nothing to do needs none
    from dbt.cli.main import dbtRunner

    with _environment(settings.dbt_env()):
        result = dbtRunner().invoke(args)
    if result.exception is not None:
        raise DbtError(f"dbt {command[0]} failed: {result.exception}") from result.exception
    return result
