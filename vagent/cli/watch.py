"""``vagent watch DIR``: index new and growing files as they come.

Every ``--interval`` seconds the folder is listed; a file that is new or whose size or mtime
changed is indexed. A recording still being written (MPEG-TS, any format readable while cut
short) is indexed as far as it is written; when it grows, only the frames after those indexed are
encoded (``grown`` in the report). Network streams (RTSP, UDP, HLS) are not watched.
"""

from __future__ import annotations

import os
import sys
import time

import click

from vagent.cli.common import Bounded, emit_json, guarded, library_options
from vagent.ingest.discover import VIDEO_SUFFIXES
from vagent.library import DEFAULT_ENCODER, Library
from vagent.types import IndexReport
from vagent.validate import Range

INTERVAL = Range("--interval", 0.1, 3600)
FOR = Range("--for", 0, 31_536_000, low_open=True)


def _listing(folder: str) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of each video file under ``folder`` (recursively)."""
    out: dict[str, tuple[int, int]] = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if os.path.splitext(name)[1].lower() in VIDEO_SUFFIXES and not name.startswith("."):
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue  # gone between listing and stat
                out[path] = (st.st_size, st.st_mtime_ns)
    return out


def _line(report: IndexReport) -> str:
    parts = [f"indexed {len(report.indexed)}", f"grown {len(report.grown)}"]
    parts.append(f"replaced {len(report.replaced)}")
    if report.failed:
        parts.append(f"failed {len(report.failed)}")
    return (
        f"watch: {', '.join(parts)}; frames encoded {report.frames_encoded}, "
        f"reused {report.frames_reused}"
    )


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@library_options
@click.option(
    "--interval",
    type=Bounded(INTERVAL),
    default=2.0,
    show_default=True,
    help="Seconds between looks at the folder, in [0.1, 3600].",
)
@click.option(
    "--for",
    "for_seconds",
    type=Bounded(FOR),
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@click.option("--encoder", help=f"Visual encoder id (new library: {DEFAULT_ENCODER}).")
@click.option("--text", help="Text track of a new library (as for `vagent index`).")
@click.option(
    "--dedupe",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="As for `vagent index`.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report per pass.")
@guarded
def watch(
    folder: str,
    library: str,
    db: str | None,
    interval: float,
    for_seconds: float | None,
    encoder: str | None,
    text: str | None,
    dedupe: str,
    as_json: bool,
) -> None:
    """Index the video files in FOLDER, then new ones and those still growing, as they come.

    A file being written is indexed as far as it is readable (as with --allow-partial); when it
    grows, only its new frames are encoded. Stop with Ctrl-C or --for.
    """
    lib = Library.open(library, db=db)
    seen: dict[str, tuple[int, int]] = {}
    end = None if for_seconds is None else time.monotonic() + for_seconds
    try:
        while True:
            now = _listing(folder)
            todo = sorted(p for p, key in now.items() if seen.get(p) != key)
            if todo:
                report = lib.index(
                    todo,
                    encoder=encoder,
                    text=text,
                    allow_partial=True,
                    dedupe=dedupe == "on",
                    progress=False,
                )
                for path in todo:
                    seen[path] = now[path]
                if as_json:
                    emit_json(report.to_dict())
                else:
                    click.echo(_line(report))
                sys.stdout.flush()
            if end is not None and time.monotonic() >= end:
                return
            wait = interval if end is None else min(interval, max(0.0, end - time.monotonic()))
            time.sleep(wait)
    except KeyboardInterrupt:
        return
