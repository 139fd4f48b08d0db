"""Options and output helpers shared by commands."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from vagent.errors import VagentError

F = TypeVar("F", bound=Callable[..., Any])


def library_options(f: F) -> F:
    f = click.option(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the catalog (default: SQLite inside the library folder).",
    )(f)
    f = click.option(
        "--library",
        "-l",
        required=True,
        help="Library name (under $VAGENT_HOME, default ./indexes) or folder path.",
    )(f)
    return f


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


def fail(err: BaseException) -> None:
    """One line on stderr, exit 2."""
    click.echo(f"error: {err}", err=True)
    sys.exit(2)


def guarded(f: F) -> F:
    """Turn the errors a user can cause into one line each."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except (VagentError, ValueError) as exc:
            fail(exc)
        except KeyboardInterrupt:
            click.echo(
                "interrupted: what had landed is kept; run the same command to resume", err=True
            )
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
