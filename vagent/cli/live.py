"""``vagent index URL --live``: the command-line side of ``vagent.ingest.live``."""

from __future__ import annotations

import re
import sys

import click

from vagent.cli.common import emit_json
from vagent.errors import BadNumber, BadVideo
from vagent.ingest.live import LiveIndexer, LiveOptions, LiveReport, is_stream
from vagent.library import Library, LibrarySpec
from vagent.locking import write_lock

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, name: str = "--for") -> float:
    """Seconds in '90', '90s', '30m', '2h', '1d' or '1h30m'; BadNumber otherwise."""
    t = text.strip().lower()
    parts = re.fullmatch(r"((?:\d+(?:\.\d+)?[smhd]?)+)", t)
    pieces = re.findall(r"(\d+(?:\.\d+)?)([smhd]?)", t) if parts else []
    if not pieces or (len(pieces) > 1 and any(u == "" for _, u in pieces)):
        raise BadNumber(f"{name} {text!r}: not a duration (e.g. 90, 90s, 30m, 2h)")
    seconds = sum(float(n) * _UNITS[u] for n, u in pieces)
    if not 0 < seconds <= 366 * 86400:
        raise BadNumber(f"{name} {text!r}: must be more than 0 and at most 366 days")
    return seconds


def index_live(
    library: str,
    db: str | None,
    urls: tuple[str, ...],
    *,
    for_text: str | None,
    stall: float,
    retries: int,
    as_json: bool,
    setup: LibrarySpec,
    quiet: bool = False,
    append: bool = True,
    measure: bool = False,
    rtsp_transport: str | None = None,
) -> LiveReport:
    """Index one stream URL live into ``library``; one line per landed chunk. A stream lost
    for good is one line on stderr and exit 1 (chunks had landed) or 2 (none). ``append``
    and ``measure`` (every frame's landing time) are for benchmarks (LiveOptions);
    ``rtsp_transport`` (tcp, udp) carries an RTSP stream's RTP only that way."""
    if len(urls) != 1:
        raise click.UsageError("--live takes exactly one stream URL")
    url = urls[0]
    if not is_stream(url):
        raise click.UsageError(f"--live: {url!r} is not a stream URL (rtsp://, udp://, http://...)")
    for_seconds = parse_duration(for_text) if for_text is not None else None
    lib = Library.open(library, db=db)
    with write_lock(lib.root):
        run = lib._index_locked(setup)  # the index command's own set-up
        row = lib.settings()
    opts = LiveOptions(
        fps=row.sample_fps,
        chunk_seconds=row.segment_seconds,
        stall_seconds=stall,
        retries=retries,
        for_seconds=for_seconds,
        batch_size=run.opts.batch_size,
        append=append,
        walls=measure,
        dedupe=run.opts.dedupe,
        rtsp_transport=rtsp_transport,
    )
    live = LiveIndexer(
        lib.root,
        run.catalog,
        run.library_id,
        run.vectors,
        run.parts.encoder,
        run.parts.segmenter,
        url,
        opts,
        say=(lambda _line: None) if as_json or quiet else click.echo,
        asr=run.parts.asr,  # speech per chunk when the library's text track hears it
        text_encoder=run.parts.text_encoder,
        ocr=run.parts.ocr,  # on-screen text per chunk when the library's text track reads it
    )
    try:
        report = live.run()
    except BadVideo as exc:  # gave up: one line; exit 1 when chunks had landed, else 2
        click.echo(f"error: {exc}", err=True)
        sys.exit(1 if live.report.chunks else 2)
    if quiet:
        pass
    elif as_json:
        emit_json({"library": lib.name, **report.to_dict()})
    else:
        click.echo(
            f"{lib.name}: live {url}: {report.chunks} chunks, {report.frames} frames, "
            f"item {report.duration:.1f} s, reconnects {report.reconnects}"
        )
    return report
