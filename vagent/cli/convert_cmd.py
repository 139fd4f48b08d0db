"""vagent convert: public benchmark annotations to the JSONL that ``vagent eval`` reads."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vagent.cli.common import emit_json, guarded, json_option
from vagent.evaldata.convert import CONVERTERS, convert
from vagent.evaldata.items import write_jsonl


@click.command("convert")
@click.argument("fmt", metavar="FORMAT", type=click.Choice(sorted(CONVERTERS)))
@click.argument(
    "annotations", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)
@click.option(
    "--videos",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the benchmark's videos, named as the benchmark names them.",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL file to write (videos under its folder are stored relative to it).",
)
@json_option
@guarded
def convert_cmd(
    fmt: str, annotations: tuple[Path, ...], videos: Path, output: Path, as_json: bool
) -> None:
    """Convert a benchmark's ANNOTATIONS (files or folders) to eval JSONL.

    \b
    videomme        videomme/test-*.parquet (needs pyarrow), or its rows as JSON/JSONL
    egoschema       questions.json and subset_answers.json
    mlvu            the per-task json files (1_plotQA.json ...) or their folder
    longvideobench  lvb_val.json

    Entries that cannot be converted are skipped, one line each on stderr (file:line: reason);
    the exit code is 1 if any were, 2 if nothing was converted (then nothing is written).
    """
    items, problems = convert(fmt, list(annotations), videos)
    written = write_jsonl(items, output) if items else 0
    if as_json:
        emit_json(
            {
                "written": written,
                "output": str(output) if written else None,
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            click.echo(str(p), err=True)
        where = f" to {output}" if written else ""
        click.echo(f"{fmt}: wrote {written} items{where}, {len(problems)} problems")
    if not written:
        sys.exit(2)
    if problems:
        sys.exit(1)
