"""The ``vagent`` command. Every error a user can cause is one line on stderr, no traceback.

Exit codes: 0 success; 1 some input files failed (the rest were indexed); 2 nothing was done.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from vagent import __version__, plugins
from vagent.cli.ask import ask, eval_cmd
from vagent.cli.bench import bench
from vagent.cli.check import check, repair
from vagent.cli.common import BadOption
from vagent.cli.convert_cmd import convert_cmd
from vagent.cli.kv import kv
from vagent.cli.library import index, info, remove, search
from vagent.cli.plugins_cmd import plugins_cmd
from vagent.cli.serve import mcp_cmd, serve
from vagent.cli.watch import watch
from vagent.errors import VagentError
from vagent.logs import configure, warnings_to_stderr


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vagent")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Index long videos and search them (`vagent index`, then `vagent search`)."""
    ctx.with_resource(warnings_to_stderr())  # each VagentWarning: one line on stderr


for command in (index, search, info, remove, ask, eval_cmd, plugins_cmd, bench):
    cli.add_command(command)
cli.add_command(convert_cmd)
cli.add_command(kv)
cli.add_command(check)
cli.add_command(repair)
cli.add_command(watch)
cli.add_command(serve)
cli.add_command(mcp_cmd)


_NO_ARGS: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def main(argv: list[str] | None = None) -> Any:
    configure()  # quiet libraries; each VagentWarning one line on stderr; VAGENT_DEBUG
    try:
        plugins.registry().pm.hook.vagent_register_commands(cli=cli)
        code = cli.main(args=argv, prog_name="vagent", standalone_mode=False)
    except BadOption as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except click.UsageError as exc:
        if isinstance(exc, _NO_ARGS) and exc.ctx is not None:
            click.echo(exc.ctx.get_help())  # bare `vagent` or `vagent kv`: the help, exit 0
            sys.exit(0)
        hint = f" (`{exc.ctx.command_path} -h` for help)" if exc.ctx else ""
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except VagentError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
