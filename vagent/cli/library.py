"""index / search / info / remove."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from vagent.cli.common import (
    BadOption,
    Bounded,
    emit_json,
    guarded,
    json_option,
    library_options,
)
from vagent.errors import BadNumber, DiskFull
from vagent.library import DEFAULT_ENCODER, Library, LibrarySpec
from vagent.library.spec import DEFAULT_DECODER
from vagent.search.hybrid import DEFAULT_WEIGHTS
from vagent.timefmt import hms
from vagent.types import IndexReport
from vagent.validate import (
    AUDIO_STREAM,
    BATCH_SIZE,
    FPS,
    SEGMENT_SECONDS,
    K,
    check_weights,
    clean_text,
    shown,
)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@library_options
@click.option(
    "--fps", type=Bounded(FPS), help="Frames sampled per second, in (0, 60] (new library: 1)."
)
@click.option(
    "--segment-seconds",
    type=Bounded(SEGMENT_SECONDS),
    help="Segment length in seconds, in [0.5, 3600] (new library: 10).",
)
@click.option("--segmenter", help="fixed (default) or scene[/threshold].")
@click.option("--encoder", help=f"Visual encoder id (new library: {DEFAULT_ENCODER}).")
@click.option(
    "--index-factory",
    help="FAISS factory string: Flat (default), IVF1024,Flat, HNSW32; search settings may "
    "follow: IVF4096_HNSW32,PQ64,nprobe=64,shortlist=800.",
)
@click.option(
    "--index",
    "index_kind",
    type=click.Choice(["faiss", "milvus"]),
    help="Vector store of a new library: faiss (default) or milvus (needs --index-uri).",
)
@click.option(
    "--index-uri", help="Milvus: a Milvus Lite file (small libraries) or http://host:19530."
)
@click.option("--decoder", help=f"Decoder id (default: {DEFAULT_DECODER}).")
@click.option(
    "--text",
    help="Text track of a new library: subtitles,ocr,speech (default), any of "
    "subtitles,ocr,captions,speech, or none. Subtitles come from streams in the file and "
    ".srt/.vtt files beside it; speech is transcribed where a file has audio.",
)
@click.option(
    "--asr",
    help="Speech recogniser id for speech (new library: faster-whisper/tiny.en; e.g. "
    "faster-whisper/large-v3-turbo or faster-whisper/LOCAL_FOLDER).",
)
@click.option(
    "--audio-stream",
    type=Bounded(AUDIO_STREAM),
    help="Transcribe this audio stream (0-based, in [0, 63]; default: the file's default one).",
)
@click.option("--text-encoder", help="Text embedder id (new library: st/all-MiniLM-L6-v2).")
@click.option("--ocr", help="OCR reader id (new library: rapidocr).")
@click.option(
    "--captioner",
    help="Captioner id for --text ...,captions (new library: hf-vlm; e.g. hf-vlm/MODEL_OR_DIR).",
)
@click.option(
    "--kv",
    "kv_answerer",
    metavar="ANSWERER",
    help="Also precompute KV caches for this answerer (e.g. hf-text); see `vagent kv build`.",
)
@click.option("--allow-partial", is_flag=True, help="Index the readable part of truncated files.")
@click.option(
    "--dedupe",
    type=click.Choice(["on", "off"]),
    default="on",
    show_default=True,
    help="on: a frame that looks like the last frame encoded (a held slide) reuses its vector; "
    "off: every sampled frame is encoded.",
)
@click.option(
    "--batch-size",
    type=Bounded(BATCH_SIZE),
    default=32,
    show_default=True,
    help="Frames per encoder batch, in [1, 1024].",
)
@click.option(
    "--live", is_flag=True, help="PATHS is one stream URL (rtsp, udp, http/HLS) indexed live."
)
@click.option("--for", "for_text", help="With --live: stop after this long (90s, 30m, 2h).")
@click.option(
    "--stall", type=click.FloatRange(0.5, 3600), default=10.0, show_default=True,
    help="With --live: seconds without data before the stream counts as stalled.",
)  # fmt: skip
@click.option(
    "--retries", type=click.IntRange(0, 1000), default=5, show_default=True,
    help="With --live: reconnects in a row (backoff 1 s doubling to 30 s) before giving up.",
)  # fmt: skip
@click.option(
    "--rtsp-transport", type=click.Choice(["tcp", "udp"]),
    help="With --live: carry an RTSP stream's RTP only over TCP (in the RTSP connection: "
    "through firewalls and NAT) or UDP (default: UDP, then TCP if UDP is refused).",
)  # fmt: skip
@click.option(
    "--ray", "ray_address", metavar="ADDRESS",
    help="Encode files on this Ray cluster (auto or host:port); every node reads them by path.",
)  # fmt: skip
@json_option
@guarded
def index(
    paths: tuple[str, ...],
    library: str,
    db: str | None,
    fps: float | None,
    segment_seconds: float | None,
    segmenter: str | None,
    encoder: str | None,
    index_factory: str | None,
    index_kind: str | None,
    index_uri: str | None,
    decoder: str | None,
    text: str | None,
    text_encoder: str | None,
    ocr: str | None,
    captioner: str | None,
    asr: str | None,
    audio_stream: int | None,
    kv_answerer: str | None,
    allow_partial: bool,
    dedupe: str,
    batch_size: int,
    live: bool,
    for_text: str | None,
    stall: float,
    retries: int,
    rtsp_transport: str | None,
    ray_address: str | None,
    as_json: bool,
) -> None:
    """Index video files and folders into a library (created on first use).

    Unchanged files are skipped, moved files re-pointed, changed files replaced. Each bad file
    gets one line on stderr; the rest are indexed; the exit code is 1 if any failed.
    With --live, PATHS is one stream URL, indexed as it plays into one growing item.
    """
    spec = LibrarySpec(  # unset flags: the library's settings (a new library: the defaults)
        encoder=encoder, fps=fps, segmenter=segmenter, segment_seconds=segment_seconds,
        index=_index_id(index_kind, index_factory, index_uri), text=text,
        text_encoder=text_encoder, ocr=ocr, captioner=captioner, asr=asr, decoder=decoder,
        audio_stream=audio_stream, dedupe=dedupe == "on", batch_size=batch_size,
        allow_partial=allow_partial, ray=ray_address,
    )  # fmt: skip
    if not live:
        from vagent.ingest.live import is_stream

        if streams := [p for p in paths if is_stream(p) and not Path(p).exists()]:
            raise click.UsageError(f"{streams[0]} is a stream URL: index it with --live")
        if for_text is not None or rtsp_transport is not None:
            flag = "--for" if for_text is not None else "--rtsp-transport"
            raise click.UsageError(f"{flag} applies to --live only")
    if live:
        from vagent.cli.live import index_live

        if ray_address:
            raise click.UsageError("--ray applies to files, not to --live")

        live_spec = replace(spec, ocr=None, captioner=None, decoder=None)  # asr: per chunk
        index_live(library, db, paths, for_text=for_text, stall=stall, retries=retries,
                   as_json=as_json, setup=live_spec, rtsp_transport=rtsp_transport)  # fmt: skip
        return
    lib = Library.open(library, db=db)
    try:
        progress = not as_json and sys.stderr.isatty()
        report = lib.index(list(paths), spec, progress=progress)
    except DiskFull as exc:
        if not (isinstance(exc.report, IndexReport) and exc.report.did_something):
            raise  # nothing landed: one line, exit 2
        _print_report(lib.name, exc.report, as_json, None, None)
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    kv_report = None
    if kv_answerer and lib.exists():
        from vagent.kv.build import build_caches

        kv_report = build_caches(lib, kv_answerer, progress=not as_json and sys.stderr.isatty())
    _print_report(lib.name, report, as_json, kv_answerer, kv_report)
    if report.failed:
        sys.exit(report.exit_code)


def _index_id(kind: str | None, factory: str | None, uri: str | None) -> str | None:
    """The index component id of --index/--index-factory/--index-uri (None: the default)."""
    if kind == "milvus":
        if not uri or factory:
            raise click.UsageError("--index milvus takes --index-uri (and no --index-factory)")
        return f"milvus/{uri}"
    if uri:
        raise click.UsageError("--index-uri applies to --index milvus only")
    return f"faiss/{factory}" if factory else None


def _print_report(
    name: str,
    report: IndexReport,
    as_json: bool,
    kv_answerer: str | None,
    kv_report: dict[str, Any] | None,
) -> None:
    if as_json:
        extra = {"kv": kv_report} if kv_report is not None else {}
        emit_json({"library": name, **report.to_dict(), **extra})
        return
    line = (
        f"{name}: indexed {len(report.indexed)}, replaced {len(report.replaced)}, "
        f"moved {len(report.moved)}, unchanged {len(report.skipped)}, "
        f"failed {len(report.failed)}"
    )
    if report.grown:  # files that grew by appending: only their new frames encoded
        line += f", grown {len(report.grown)}"
    if report.text_redone:  # unchanged videos whose sidecar subtitles changed
        line += f", text redone {len(report.text_redone)}"
    if report.frames_reused:  # near-duplicate frames that took the last encoded vector
        sampled = report.frames_encoded + report.frames_reused
        line += f", frames reused {report.frames_reused}/{sampled}"
    if report.video_seconds and report.wall_seconds:
        speed = report.video_seconds / report.wall_seconds
        line += (
            f"; {report.video_seconds:.1f} video-s in {report.wall_seconds:.1f} s "
            f"({speed:.1f}x real time)"
        )
    click.echo(line)
    if kv_report is not None:
        r = kv_report
        click.echo(
            f"{name}: kv caches for {kv_answerer}: built {r['built']}, "
            f"{r['already_cached']} already cached, of {r['segments']} segments"
        )


@click.command()
@click.argument("query")
@library_options
@click.option("-k", type=Bounded(K), default=10, show_default=True, help="Hits, in [1, 1000].")
@click.option("--video", multiple=True, help="Only these videos (path or file name); repeatable.")
@click.option("--encoder", help="Encoder id (must match the library's embedding space).")
@click.option(
    "--mode",
    type=click.Choice(["visual", "text", "hybrid"]),
    help="visual (frames), text (subtitles and on-screen text), hybrid (both, fused); default "
    "hybrid when the library has a text track.",
)
@click.option(
    "--weights",
    callback=lambda ctx, param, value: _weights(value),
    help="Fusion weights, each in [0, 100], e.g. visual=0.5,text=1,lexical=1 (default 1 each).",
)
@json_option
@guarded
def search(
    query: str,
    library: str,
    db: str | None,
    k: int,
    video: tuple[str, ...],
    encoder: str | None,
    mode: str | None,
    weights: dict[str, float] | None,
    as_json: bool,
) -> None:
    """Find the moments that match QUERY: video, start-end, best frame, score."""
    lib = Library.open(library, db=db)
    cleaned = clean_text(query)
    if cleaned != query:
        click.echo(
            "warning: the query holds bytes that are not UTF-8; searching with them replaced",
            err=True,
        )
    hits = lib.search(
        cleaned,
        k=k,
        video=list(video) or None,
        encoder=encoder,
        mode=mode,
        weights=weights,
    )
    if as_json:
        emit_json([h.to_dict() for h in hits])
        return
    if not hits:
        click.echo("no hits")
    for rank, h in enumerate(hits, 1):
        gone = "  [file missing]" if h.missing else ""
        via = "" if h.channels == ["visual"] else f"  [{'+'.join(h.channels)}]"
        click.echo(
            f"{rank:>3}  {h.score:+.4f}  {Path(h.video).name}  {hms(h.start)}-{hms(h.end)}  "
            f"(at {hms(h.frame_time)}){via}{gone}"
        )
        for t in h.texts[:2]:
            lang = t.get("language") or "en"  # speech heard in another language: named
            source = t["source"] if lang == "en" else f"{t['source']} ({lang})"
            if "at" in t:  # speech: quoted where its matching words were said
                click.echo(f'       {source} {hms(t["at"])}: "{t["text"][:88]}"')
            else:
                click.echo(f"       {source} {hms(t['start'])}: {t['text'][:90]}")


def _weights(text: str | None) -> dict[str, float] | None:
    """``visual=0.5,text=1`` -> {"visual": 0.5, "text": 1.0}: known channels, each in [0, 100]."""
    if not text:
        return None
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise BadOption(
                f"bad --weights '{shown(part)}': use name=number, each in [0, 100], e.g. visual=0.5"
            ) from None
    try:
        check_weights(out, tuple(DEFAULT_WEIGHTS))
    except BadNumber as exc:
        raise BadOption(str(exc)) from None
    return out


@click.command()
@library_options
@json_option
@guarded
def info(library: str, db: str | None, as_json: bool) -> None:
    """Videos, segments, encoder, index type and sizes of a library."""
    d = Library.open(library, db=db).info()
    if as_json:
        emit_json(d)
        return
    b = d["bytes"]
    click.echo(f"library   {d['name']}  ({d['root']})")
    click.echo(f"catalog   {d['catalog']}")
    sem = "" if d["semantic"] else "  [random weights: not semantic]"
    click.echo(f"encoder   {d['encoder']}  ({d['dim']}-d){sem}")
    idx = d["index"]
    trained = "" if idx.get("trained", True) else "  (exact until enough vectors to train)"
    click.echo(f"index     {idx['backend']}/{idx['spec']}{trained}")
    seg = f"{d['segmenter']} segments of {d['segment_seconds']:g} s"
    click.echo(f"sampling  {d['sample_fps']:g} fps, {seg}")
    t = d["text"]
    if t["sources"]:
        spans = ", ".join(f"{n} {src}" for src, n in sorted(t["spans"].items())) or "no spans yet"
        click.echo(f"text      {','.join(t['sources'])} via {t['encoder']} ({t['dim']}-d); {spans}")
        if t.get("asr"):
            heard = f"; {t['speech_words']:,} words heard" if t.get("speech_words") else ""
            click.echo(f"speech    {t['asr']}{heard}")
    else:
        click.echo("text      none (frames only)")
    click.echo(
        f"contents  {d['videos'].__len__()} videos, {hms(d['video_seconds'])} of video, "
        f"{d['segments']} segments, {d['frames']} frames"
        + (f" ({d['frames_reused']} reused)" if d.get("frames_reused") else "")
    )
    click.echo(f"size      catalog {b['catalog'] or 0:,} B, vectors {b['vectors']:,} B")
    for v in d["videos"]:
        gone = "  [file missing]" if v["missing"] else ""
        click.echo(f"  {hms(v['duration'])}  {v['resolution']:>9}  {v['path']}{gone}")


@click.command()
@click.argument("videos", nargs=-1, required=True)
@library_options
@json_option
@guarded
def remove(videos: tuple[str, ...], library: str, db: str | None, as_json: bool) -> None:
    """Drop videos (path or file name) and their vectors from a library."""
    removed = Library.open(library, db=db).remove(list(videos))
    if as_json:
        emit_json({"removed": removed})
    else:
        for p in removed:
            click.echo(f"removed {p}")
