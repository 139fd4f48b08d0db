"""vagent convert: public benchmark annotations to the JSONL that ``vagent eval`` reads."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vagent import __version__
from vagent.cli.common import emit_json, guarded, json_option
from vagent.evaldata.convert import CONVERTERS, convert
from vagent.evaldata.items import sha256_of, write_jsonl
from vagent.evaldata.sources import expand
from vagent.evaldata.subtitles import place_subtitles


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
    "--subtitles",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the benchmark's subtitles (Video-MME subtitle/, LongVideoBench subtitles/).",
)
@click.option(
    "--subtitles-beside",
    is_flag=True,
    help="Write each video's subtitles beside it as <video>.srt, where `vagent index` reads "
    "them (JSON converted; files already there are kept). Without it, JSON subtitles are "
    "converted into <output folder>/subtitles/.",
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
    fmt: str,
    annotations: tuple[Path, ...],
    videos: Path,
    subtitles: Path | None,
    subtitles_beside: bool,
    output: Path,
    as_json: bool,
) -> None:
    """Convert a benchmark's ANNOTATIONS (files or folders) to eval JSONL.

    \b
    lvbench         video_info.meta.jsonl
    videomme        videomme/test-*.parquet (pip install 'vagent[eval]'), or the JSON/JSONL
    egoschema       questions.json and subset_answers.json, or the HF parquet rows
    mlvu            the per-task json files (1_plotQA.json ...) or their folder; or
                    MLVU_Test's test_question.json (entries without answers left out)
    longvideobench  lvb_val.json or the HF parquet
    cinepile        the HF parquet (test-*.parquet)
    hourvideo       dev_v1.0_annotations.json or the parquet (image-option tasks left out)
    etbench         etbench_txt_v1.0.json or annotations/txt/ (multiple-choice tasks only)

    Entries that cannot be converted are skipped, one line each on stderr (file:line: reason);
    the exit code is 1 if any were, 2 if nothing was converted (then nothing is written).
    Items with data defects (a repeated option, an answer not among the options) are kept and
    counted as the benchmark's official scoring counts them; each is named on stderr.
    """
    items, problems = convert(fmt, list(annotations), videos, subtitles)
    if items and subtitles is not None:
        folder = None if subtitles_beside else output.expanduser().absolute().parent / "subtitles"
        if not subtitles_beside:  # only JSON needs converting; .srt/.vtt stay where they are
            json_items = [i for i in items if i.subtitles and i.subtitles.endswith(".json")]
            done, bad = place_subtitles(json_items, folder)
            swap = {id(a): b for a, b in zip(json_items, done, strict=True)}
            items = [swap.get(id(i), i) for i in items]
        else:
            items, bad = place_subtitles(items)
        problems += bad
    header = [f"vagent {__version__} convert {fmt}"]
    for path in expand(list(annotations)):
        try:
            header.append(f"annotation {sha256_of(path)} {path.absolute()}")
        except OSError:  # unreadable: already a problem
            continue
    written = write_jsonl(items, output, header) if items else 0
    defects = [i for i in items if i.defect]
    with_subs = sum(i.subtitles is not None for i in items)
    if as_json:
        emit_json(
            {
                "written": written,
                "output": str(output) if written else None,
                "defects": [{"qid": i.qid, "line": i.line, "defect": i.defect} for i in defects],
                "with_subtitles": with_subs,
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        for p in problems:
            click.echo(str(p), err=True)
        for i in defects:
            click.echo(f"kept {i.qid or '-'} (line {i.line}): {i.defect}", err=True)
        where = f" to {output}" if written else ""
        kept = f", {len(defects)} kept with data defects" if defects else ""
        subs = f", {with_subs} with subtitles" if subtitles is not None else ""
        click.echo(f"{fmt}: wrote {written} items{where}{kept}{subs}, {len(problems)} problems")
    if not written:
        sys.exit(2)
    if problems:
        sys.exit(1)
