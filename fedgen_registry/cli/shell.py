"""What every ``fedgen`` command shares: one-line errors with their exit codes, ``--debug``, the catalogue.

Errors are one line on stderr with a non-zero exit (2 for an unknown id or bad usage, 1 for invalid
data or a failed run); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

EXIT_INVALID = 1
EXIT_USAGE = 2


class State:
    """Process-wide options of the ``fedgen`` group that the commands' error handling reads."""

    debug = False


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's expected errors into one-line messages (unless --debug)."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from fedgen_registry.catalog import CatalogError
        from fedgen_registry.registry import RegistryError
        from fedgen_registry.runs.runner import RunError
        from fedgen_registry.suggest import UnknownIdError

        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if State.debug:
                raise
            if isinstance(exc, UnknownIdError):
                fail(str(exc), EXIT_USAGE)
            if isinstance(exc, CatalogError):
                for problem in exc.problems:
                    click.echo(str(problem), err=True)
                fail(f"the catalogue has {len(exc.problems)} problem(s); run `fedgen validate` for the list")
            if isinstance(exc, (RunError, RegistryError, ValueError)):
                fail(str(exc))
            fail(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")

    return wrapper


def load_catalog(path: str | None) -> Any:
    """The catalogue at ``path`` (default: the packaged one), imported only when a command needs it."""
    from fedgen_registry.catalog import load_catalog as load

    return load(path)
