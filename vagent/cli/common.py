"""Options and output helpers shared by commands."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from vagent.errors import BadNumber, VagentError
from vagent.storage import storage_problem
from vagent.validate import MAX_BYTES, Range, shown

F = TypeVar("F", bound=Callable[..., Any])


class BadOption(click.UsageError):
    """A usage error whose message is the whole line (``main`` prints it as ``error: ...``)."""


class Bounded(click.ParamType):
    """A number option checked against its :class:`~vagent.validate.Range` while parsing, so
    a bad value stops the command before it opens or writes anything."""

    def __init__(self, allowed: Range) -> None:
        self.allowed = allowed
        self.name = "integer" if allowed.integer else "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            number = self.allowed.check(value)
        except BadNumber as exc:
            raise BadOption(str(exc), ctx) from None
        return int(number) if self.allowed.integer else number


def number_list(allowed: Range) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback for ``0.5,1,2``: each item checked against ``allowed``."""

    def parse(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        items = [x for x in str(value).split(",") if x.strip()]
        if not items:
            raise BadOption(f"{allowed.name} needs at least one number, {allowed.describe()}", ctx)
        try:
            return [allowed.check_int(x) if allowed.integer else allowed.check(x) for x in items]
        except BadNumber as exc:
            raise BadOption(str(exc), ctx) from None

    return parse


class ByteSize(click.ParamType):
    """A size such as ``50G``, ``512M`` or ``2048`` (binary units), at most 1024T."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from vagent.kv.maintain import parse_size

        if isinstance(value, int):
            return value
        try:
            return int(MAX_BYTES.check(parse_size(str(value))))
        except BadNumber as exc:
            raise BadOption(str(exc), ctx) from None
        except (ValueError, OverflowError):
            raise BadOption(
                f"--max-bytes must be a size such as 50G, 512M or 2048, at most 1024T; "
                f"got '{shown(value)}'",
                ctx,
            ) from None


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
        except Exception as exc:  # a full disk arrives as OSError, RuntimeError or SQL errors
            what = storage_problem(exc)
            if what is not None:
                fail(VagentError(f"{what}; free some space and run the same command again"))
            if isinstance(exc, OSError) and exc.strerror and not os.environ.get("VAGENT_DEBUG"):
                # permissions, a read-only disk, a vanished folder: the file and the reason
                where = f"{exc.filename}: " if exc.filename else ""
                fail(VagentError(f"{where}{exc.strerror}"))
            raise
        except KeyboardInterrupt:
            click.echo(
                "interrupted: what had landed is kept; run the same command to resume", err=True
            )
            sys.exit(130)

    return wrapper  # type: ignore[return-value]
