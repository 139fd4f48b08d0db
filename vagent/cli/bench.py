"""vagent bench ...: measurements that print ratios against bounds measured in the same run."""

from __future__ import annotations

import click

from vagent.cli.common import Bounded, emit_json, guarded, json_option, number_list
from vagent.components import ANSWERER
from vagent.validate import BATCH_SIZE, FPS, SEGMENT_SECONDS, K, Range

SECONDS = Range("--seconds", 0, 86_400, low_open=True)
CHUNKS = Range("--chunks", 10, 1_000_000, integer=True)
LONG_SECONDS = Range("--long-seconds", 0, 86_400)  # 0 skips the long video
KEYFRAME_SECONDS = Range("--keyframe-seconds", 0, 3600, low_open=True)
SIDE = Range("--size", 16, 8192, integer=True)
HOURS = Range("--hours", 0, 1000, low_open=True)
DEPTHS = Range("--depths", 0, 1)


@click.group()
def bench() -> None:
    """Benchmarks (speed, memory) with bounds measured in the same run."""


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.partition("x")
    return SIDE.check_int(w), SIDE.check_int(h)


@bench.command("ingest")
@click.option("--video", help="Measure this file instead of a generated one.")
@click.option(
    "--seconds",
    type=Bounded(SECONDS),
    default=60.0,
    show_default=True,
    help="Generated video length.",
)
@click.option(
    "--long-seconds",
    type=Bounded(LONG_SECONDS),
    default=1800.0,
    show_default=True,
    help="Second, longer video for the memory comparison (0: skip).",
)
@click.option("--encoder", default="openclip/ViT-B-32/random", show_default=True)
@click.option("--fps", type=Bounded(FPS), default=1.0, show_default=True, help="Sampling rate.")
@click.option("--size", help="Generated video size (default 1280x720; 640x360 with --content).")
@click.option("--keyframe-seconds", type=Bounded(KEYFRAME_SECONDS), default=2.0, show_default=True)
@click.option("--batch-size", type=Bounded(BATCH_SIZE), default=32, show_default=True)
@click.option(
    "--content",
    type=click.Choice(["slides", "meeting", "motion"]),
    help="Instead: make this kind of video and compare dedupe on and off (throughput, frames "
    "encoded, top-10 overlap of a fixed query set).",
)
@click.option(
    "--segment-seconds",
    type=Bounded(SEGMENT_SECONDS),
    default=5.0,
    show_default=True,
    help="Segment length of the --content libraries.",
)
@click.option(
    "--naive/--no-naive",
    default=True,
    show_default=True,
    help="Also time the naive OpenCV + one-frame-at-a-time baseline.",
)
@json_option
@guarded
def ingest(
    video: str | None,
    seconds: float,
    long_seconds: float,
    encoder: str,
    fps: float,
    size: str | None,
    keyframe_seconds: float,
    batch_size: int,
    content: str | None,
    segment_seconds: float,
    naive: bool,
    as_json: bool,
) -> None:
    """Decode-only, encode-only and end-to-end indexing throughput, and peak memory; with
    --content, dedupe on against off on that kind of video."""
    from vagent.bench import ingest as b

    if content is not None:
        wh = _size(size or "640x360")
        c = b.content_run(content, seconds, encoder, fps, wh, batch_size, segment_seconds)
        if as_json:
            emit_json(c)
            return
        v, speed = c["video"], c["video_s_per_s"]
        click.echo(f"video     {v['path']}  {v['seconds']:.0f} s {v['size']}, {content}")
        click.echo(f"encoder   {c['encoder']} on {c['device']}; sampling {c['sample_fps']:g} fps")
        click.echo(
            f"dedupe off {speed['off']:.2f} video-s/s, on {speed['on']:.2f} "
            f"({c['speedup']:.2f}x); frames encoded {c['frames_encoded_fraction']:.1%} of "
            f"{c['frames_sampled']}"
        )
        click.echo(
            f"top-10 overlap over {c['queries']} queries: mean {c['top10_overlap']:.3f}, "
            f"min {c['top10_overlap_min']:.3f}"
        )
        return
    r = b.run(
        video,
        seconds,
        long_seconds,
        encoder,
        fps,
        _size(size or "1280x720"),
        keyframe_seconds,
        batch_size,
        naive,
    )
    if as_json:
        emit_json(r)
        return
    v = r["video"]
    click.echo(
        f"video     {v['path']}  {v['duration']:.0f} s {v['size']} @ {v['fps']:g} fps, "
        f"keyframes every {v['keyframe_interval']} s"
    )
    sem = "" if r["semantic"] else "  (random weights: throughput only)"
    click.echo(f"encoder   {r['encoder']} on {r['device']}{sem}; sampling {r['sample_fps']:g} fps")
    click.echo("                               video-s/s")
    for s, d in r["decode_only"].items():
        click.echo(
            f"decode-only ({s:<10})       {d['video_s_per_s']:>8.2f}   "
            f"(decoded {d['packets_decoded_fraction']:.0%} of packets)"
        )
    e = r["encode_only"]
    click.echo(
        f"encode-only                   {e['video_s_per_s']:>8.2f}   "
        f"({e['frames_per_s']:.2f} frames/s)"
    )
    click.echo(f"bound [{r['bound_kind']}]  {r['bound_video_s_per_s']:.2f}")
    click.echo(f"end-to-end                    {r['end_to_end_video_s_per_s']:>8.2f}")
    click.echo(f"ratio_to_bound                {r['ratio_to_bound']:>8.3f}")
    for k, m in r["peak_rss_mib"].items():
        click.echo(f"peak memory, {k:>6} video       {m:>8.1f} MiB")
    if isinstance(r.get("naive"), dict):
        click.echo(f"naive (OpenCV, batch 1)       {r['naive']['video_s_per_s']:>8.2f}")
        click.echo(f"speed-up vs naive             {r['speedup_vs_naive']:>8.2f}x")
    elif "naive" in r:
        click.echo(f"naive: {r['naive']}")


def _needle_kinds(value: str | None) -> list[str] | None:
    from vagent.bench.needle import MODALITIES

    if value is None:
        return None
    kinds = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in kinds if v not in MODALITIES]
    if bad or not kinds:
        raise click.BadParameter(
            f"{bad[0] if bad else value!r}: choose from {', '.join(MODALITIES)}",
            param_hint="--needles",
        )
    return kinds


@bench.command("needle")
@click.option(
    "--hours",
    default="0.5,1,2",
    callback=number_list(HOURS),
    show_default=True,
    help="Haystack lengths.",
)
@click.option(
    "--depths",
    default="0.1,0.3,0.5,0.7,0.9",
    callback=number_list(DEPTHS),
    show_default=True,
    help="Where the needles sit, as fractions of the haystack.",
)
@click.option(
    "-k", type=Bounded(K), default=5, show_default=True, help="Hits inspected per question."
)
@click.option("--plot", help="Write a recall@k heat map (PNG) here.")
@click.option(
    "--answerer",
    default=ANSWERER.default,
    show_default=True,
    help="Also ask every question end to end with this answerer; 'none' for retrieval only.",
)
@click.option("--planner", help="Planner id for those questions (default as `vagent ask`).")
@click.option(
    "--needles",
    callback=lambda _c, _p, v: _needle_kinds(v),
    help="Needle kinds to hide, comma-separated from on-screen, subtitle, spoken (default: "
    "all, spoken where espeak-ng is installed); the haystack is indexed with only the text "
    "tracks they need (e.g. spoken: speech alone, no OCR, small frames).",
)
@json_option
@guarded
def needle(
    hours: list[float],
    depths: list[float],
    k: int,
    plot: str | None,
    answerer: str,
    planner: str | None,
    needles: list[str] | None,
    as_json: bool,
) -> None:
    """Hide sentences on screen, in subtitles and in speech of long videos, then search for
    them and ask."""
    from vagent.bench import needle as b

    ans = None if answerer == "none" else answerer
    r = b.run(hours, depths, k, ans, planner, needles)
    if plot:
        b.heatmap(r["rows"], plot)
    if as_json:
        emit_json(r)
        return
    click.echo(
        f"{'question':<13} {'needle':<10} {'haystack':>8} {'recall@1':>9} {'recall@5':>9} "
        f"{'answered':>9} {'cited':>6}"
    )
    for kind, by_modality in r["summary"].items():
        for modality, by_hours in by_modality.items():
            for h, m in by_hours.items():
                acc = f"{m['answer_accuracy']:>9.2f} {m['cited']:>6.2f}" if "cited" in m else ""
                click.echo(
                    f"{kind:<13} {modality:<10} {h:>8} {m['recall@1']:>9.2f} "
                    f"{m['recall@5']:>9.2f} {acc}"
                )
    if answerer != "none":
        asked = [row for row in r["rows"] if "answer_correct" in row]
        plans = sorted(row["plan_ms"] for row in asked)
        click.echo(
            f"answered: the {answerer} answer holds the needle's answer words; cited: a citation "
            f"covers the needle's moment"
        )
        if asked:
            click.echo(
                f"all questions, planner {asked[0]['planner']}: answered "
                f"{sum(x['answer_correct'] for x in asked) / len(asked):.2f}, cited "
                f"{sum(x['cited'] for x in asked) / len(asked):.2f}, plan p50 "
                f"{plans[len(plans) // 2]:.0f} ms"
            )
    for h, s in r["index_video_s_per_s"].items():
        o = r["ocr_frames"][h]
        speech = r["speech_share"].get(h)
        click.echo(
            f"indexing {h} haystack ({r['text_tracks']}): {s:.1f} video-s per wall-s; "
            f"OCR read {o['read']} frames, reused {o['reused']} unchanged"
            + (f"; {speech:.0%} of it speech" if speech is not None else "")
        )
    missed = [row for row in r["rows"] if row["rank"] is None]
    for row in missed[:10]:
        click.echo(
            f"missed: {row['hours']:g}h @ {row['depth']:.0%} {row['modality']}: "
            f"'{row['question']}' -> '{row['sentence']}'"
        )
    if plot:
        click.echo(f"heat map: {plot}")


@bench.command("ask")
@click.option(
    "--hours",
    type=Bounded(HOURS),
    default=10.0,
    show_default=True,
    help="Library size in video hours.",
)
@click.option("--answerer", help="Answerer id (default as `vagent ask`: hf-text on a CPU).")
@click.option("--planner", help="Planner id (default as `vagent ask`).")
@click.option(
    "--quickstart/--no-quickstart",
    default=True,
    show_default=True,
    help="Also time ask, and search and ask from a cold process, on the quickstart's library.",
)
@click.option("--haystack-seconds", type=click.IntRange(120, 3600), default=600, hidden=True)
@json_option
@guarded
def ask_bench(
    hours: float,
    answerer: str | None,
    planner: str | None,
    quickstart: bool,
    haystack_seconds: int,
    as_json: bool,
) -> None:
    """Per-node latency of `vagent ask` on a large library, the agent's own overhead, and what
    a user waits for on the quickstart's library (plan, ask, cold search) against the targets."""
    from vagent.bench import ask as b

    r = b.run(hours, answerer, planner, quickstart, haystack_seconds)
    if as_json:
        emit_json(r)
    else:
        click.echo(b.table(r))


@bench.command("speech")
@click.option("--audio", help="Measure this file instead of a talk made with espeak-ng.")
@click.option(
    "--seconds",
    type=Bounded(SECONDS),
    default=120.0,
    show_default=True,
    help="Length of the generated talk (~60% speech).",
)
@click.option("--asr", "asr_id", help="Recogniser id (default faster-whisper/tiny.en).")
@click.option(
    "--whole",
    is_flag=True,
    help="Instead: the whole index (frames + OCR + speech) of a talk video against the bound "
    "its tracks allow together on this CPU (1 / sum of 1/each track alone).",
)
@json_option
@guarded
def speech_bench(
    audio: str | None, seconds: float, asr_id: str | None, whole: bool, as_json: bool
) -> None:
    """Speech-track speed (audio-seconds per wall-second) against the recogniser alone."""
    from vagent.bench import speech as b

    if whole:
        from vagent.bench import whole as w

        r = w.run(seconds, asr_id)
        if as_json:
            emit_json(r)
        else:
            click.echo(w.line(r))
        return
    r = b.run(audio, seconds, asr_id)
    if as_json:
        emit_json(r)
        return
    no_vad = r["no_vad_x_realtime"]
    click.echo(
        f"speech {r['asr']}: {r['audio_seconds']:.0f} audio-s, {r['spans']} spans; track "
        f"{r['track_x_realtime']}x real time, bound (the recogniser alone on decoded audio) "
        f"{r['bound_x_realtime']}x: ratio {r['ratio']:.2f}"
        + (f"; without VAD {no_vad}x" if no_vad is not None else "")
    )
    if "single_worker_x_realtime" in r:
        click.echo(
            f"the recogniser runs {r['workers']} transcriptions at once; one at a time it ran "
            f"{r['single_worker_x_realtime']}x (CPU-s per audio-s "
            f"{r['single_worker_cpu_s_per_audio_s']}, sentence starts median "
            f"{r['single_start_error_median_s']} s, max {r['single_start_error_max_s']} s); "
            f"{r['words_same_as_single']} of its {r['words_single']} words heard the same"
        )
    click.echo(
        f"CPU-seconds per audio-second: track {r['track_cpu_s_per_audio_s']}, bound "
        f"{r['bound_cpu_s_per_audio_s']} (best of {r['rounds']} rounds)"
    )
    if r["start_error_median_s"] is not None:
        click.echo(
            f"sentence starts: median {r['start_error_median_s']} s, max "
            f"{r['start_error_max_s']} s from where they were placed "
            f"({r['sentences_placed']} sentences)"
        )


@bench.command("live")
@click.option(
    "--seconds",
    type=Bounded(SECONDS),
    default=20.0,
    show_default=True,
    help="How long the UDP MPEG-TS stream served on 127.0.0.1 plays.",
)
@click.option(
    "--segment-seconds",
    type=Bounded(SEGMENT_SECONDS),
    default=2.0,
    show_default=True,
    help="Segment (chunk) length of the live library.",
)
@click.option("--encoder", default="openclip/vagent-tiny-vit/random", show_default=True)
@click.option(
    "--chunks",
    type=Bounded(CHUNKS),
    default=None,
    help="Instead: land this many chunks of a simulated stream (no real-time pace) and report "
    "commit time early vs late and memory per chunk.",
)
@click.option(
    "--rewrite",
    is_flag=True,
    help="With --chunks: rewrite every vector file per chunk (the old way).",
)
@json_option
@guarded
def live_bench(
    seconds: float,
    segment_seconds: float,
    encoder: str,
    chunks: int | None,
    rewrite: bool,
    as_json: bool,
) -> None:
    """Delay from a frame being sent on a live stream to being searchable (p50, p95); with
    --chunks, the cost of landing a chunk early and late in a long stream."""
    from vagent.bench import live as b

    if chunks is not None:
        r = b.long_stream(int(chunks), not rewrite, encoder, segment_seconds)
        if as_json:
            emit_json(r)
            return
        click.echo(
            f"live {r['mode']}: {r['chunks']} chunks ({r['frames']} frames) in {r['wall_s']} s; "
            f"commit ms p50/p95: first tenth {r['commit_ms_early_p50']}/"
            f"{r['commit_ms_early_p95']}, last tenth {r['commit_ms_late_p50']}/"
            f"{r['commit_ms_late_p95']} (late/early {r['late_over_early']}), max "
            f"{r['commit_ms_max']}; memory {r['rss_kb_per_chunk']} KiB per chunk over the "
            f"second half ({r['rss_kb_added']} KiB added since the first tenth; resident "
            f"{r['rss_kb_first_tenth']} KiB over the first tenth, {r['rss_kb_last_tenth']} KiB "
            f"over the last); "
            f"{r['vector_files']} vector files; check: "
            + ("; ".join(r["check_problems"]) or "clean")
        )
        return
    r = b.measure(seconds, encoder, segment_seconds)
    if as_json:
        emit_json(r)
        return
    click.echo(
        f"live: {r.get('frames', 0)} frames in {r.get('chunks', 0)} chunks of "
        f"{segment_seconds:g} s; sent-to-searchable p50 {r.get('p50_s')} s, p95 "
        f"{r.get('p95_s')} s, max {r.get('max_s')} s (target p95 < {r.get('target_p95_s')} s)"
    )


SCALE_HOURS = Range("--hours", 1, 1_000_000, integer=True)
SCALE_DIM = Range("--dim", 8, 4096, integer=True)
NPROBE = Range("--nprobe", 1, 65_536, integer=True)
QUERIES = Range("--queries", 1, 100_000, integer=True)
RESCORE = Range("--rescore", 0, 16_384, integer=True)
QUANTIZER_EF = Range("--quantizer-ef", 1, 65_536, integer=True)


@bench.command("scale")
@click.option(
    "--hours",
    default="1000",
    show_default=True,
    callback=number_list(SCALE_HOURS),
    help="Library sizes in video-hours (comma list), one library each.",
)
@click.option("--dim", type=Bounded(SCALE_DIM), default=512, show_default=True)
@click.option("--factory", help="FAISS factory (default IVF<about 4 sqrt(n)>,PQ<dim/8>).")
@click.option("--segment-factory", help="The segments' FAISS factory (default: --factory's).")
@click.option("--nprobe", type=Bounded(NPROBE), default=32, show_default=True)
@click.option(
    "--quantizer-ef",
    type=Bounded(QUANTIZER_EF),
    default=None,
    help="efSearch of an HNSW coarse quantizer (IVF<n>_HNSW<m>), adding and searching "
    "(default: 4 x nprobe, at least 64, as the FAISS plugin sets it).",
)
@click.option("--queries", type=Bounded(QUERIES), default=200, show_default=True)
@click.option(
    "--rescore",
    type=Bounded(RESCORE),
    default=200,
    show_default=True,
    help="Shortlist rescored with exact (float16, memory-mapped) vectors; 0: off.",
)
@click.option(
    "--segment-rescore",
    type=Bounded(RESCORE),
    default=None,
    help="The segments' shortlist (default: --rescore's). Segments sit closer together than "
    "frames (a segment is the mean of its frames), so their codes need a longer one.",
)
@click.option(
    "--rescore-codec",
    type=click.Choice(["f16", "sq8"]),
    default="f16",
    show_default=True,
    help="The frames' rescoring file: float16, or 8-bit scalar-quantized (half the bytes).",
)
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False),
    help="Keep the libraries here (default: a temporary folder, removed after).",
)
@click.option(
    "--reuse",
    is_flag=True,
    help="Build nothing: search the indexes a run with --dir left there again with these "
    "search settings (--nprobe, --quantizer-ef, --rescore, --segment-rescore); the exact "
    "top-10 is scanned from their float16 rescoring rows.",
)
@json_option
@guarded
def scale_bench(
    hours: list[int],
    dim: int,
    factory: str | None,
    segment_factory: str | None,
    nprobe: int,
    quantizer_ef: int | None,
    queries: int,
    rescore: int,
    segment_rescore: int | None,
    rescore_codec: str,
    workdir: str | None,
    reuse: bool,
    as_json: bool,
) -> None:
    """Synthetic libraries of N video-hours in IVF-PQ: build time, bytes per hour, peak RSS,
    search p50/p95, recall@10 against exact search."""
    import tempfile
    from pathlib import Path

    from vagent.bench import scale as b

    out = []
    with tempfile.TemporaryDirectory(prefix="vagent-scale-") as tmp:
        for h in hours:
            cfg = b.Config(
                hours=h,
                dim=dim,
                factory=factory,
                segment_factory=segment_factory,
                nprobe=nprobe,
                quantizer_ef=quantizer_ef,
                queries=queries,
                rescore=rescore,
                segment_rescore=segment_rescore,
                rescore_codec=rescore_codec,
            )
            where = Path(workdir or tmp) / f"{h}h"
            say = lambda line: click.echo(line, err=True)  # noqa: E731
            if reuse:
                if not workdir or not where.is_dir():
                    raise click.UsageError(
                        f"--reuse searches the indexes a run left in --dir: {where} is not there"
                    )
                try:
                    r = b.research(cfg, where, progress=say)
                except FileNotFoundError as exc:
                    raise click.UsageError(f"--reuse: {exc}") from None
            else:
                r = b.run(cfg, where, progress=say)
            out.append(r)
            if not as_json:
                click.echo(b.describe(r))
    if as_json:
        emit_json(out if len(out) > 1 else out[0])


SERVE_CLIENTS = Range("--clients", 2, 64, integer=True)
SERVE_REQUESTS = Range("--requests", 1, 100_000, integer=True)
SERVE_READERS = Range("--search-processes", 0, 16, integer=True)


@bench.command("serve")
@click.option("--library", "-l", help="Library to serve (default: the quickstart's, made here).")
@click.option("--db", metavar="URL", help="SQLAlchemy URL of the library's catalog.")
@click.option(
    "--clients", type=Bounded(SERVE_CLIENTS), default=8, show_default=True,
    help="Clients at once in the second run (the first has one).",
)  # fmt: skip
@click.option(
    "--requests", type=Bounded(SERVE_REQUESTS), default=200, show_default=True,
    help="Requests per run (each request kind, each client count).",
)  # fmt: skip
@click.option(
    "--seconds", type=Bounded(SECONDS), default=20.0, show_default=True,
    help="Longest a run may take, whichever comes first.",
)  # fmt: skip
@click.option(
    "--search-processes", type=Bounded(SERVE_READERS), default=0, show_default=True,
    help="The server's --search-processes (0: searches in its threads).",
)  # fmt: skip
@json_option
@guarded
def serve_bench(
    library: str | None, db: str | None, clients: int, requests: int, seconds: float,
    search_processes: int, as_json: bool,
) -> None:  # fmt: skip
    """Search, frame and media requests over HTTP to a real `vagent serve` (1 and N clients)
    against the same calls in-process: p50/p95, added ms, throughput and its scaling."""
    import tempfile
    from pathlib import Path

    from vagent.bench import serve as b

    with tempfile.TemporaryDirectory(prefix="vagent-serve-") as tmp:
        where = library or b.demo_library(Path(tmp))
        r = b.run(b.Config(where, db, clients, requests, seconds, search_processes))
    if as_json:
        emit_json(r)
        return
    for line in b.describe(r):
        click.echo(line)


RAY_CLIPS = Range("--clips", 1, 1000, integer=True)
RAY_SECONDS = Range("--seconds", 1, 3600)
RAY_TIMEOUT = Range("--timeout", 10, 86_400)


@bench.command("ray")
@click.option("--clips", type=Bounded(RAY_CLIPS), default=8, show_default=True)
@click.option("--seconds", type=Bounded(RAY_SECONDS), default=300.0, show_default=True,
              help="Length of each clip. Ray's side counts its workers' start and model "
              "loading as indexing, so short clips measure those, not throughput (here, "
              "quiet: 8 x 60 s gave 0.77, 8 x 300 s 0.97).")  # fmt: skip
@click.option("--address", metavar="HOST:PORT",
              help="An existing Ray cluster (default: start 2 local nodes on loopback, in "
              "network and PID namespaces of their own, and stop them after).")  # fmt: skip
@click.option("--encoder", default="openclip/ViT-B-32/random", show_default=True)
@click.option("--size", default="320x240", show_default=True, help="Clip size.")
@click.option("--timeout", type=Bounded(RAY_TIMEOUT), default=900.0, show_default=True,
              help="Seconds the whole bench may take.")  # fmt: skip
@json_option
@guarded
def ray_bench(
    clips: int, seconds: float, address: str | None, encoder: str, size: str, timeout: float,
    as_json: bool,
) -> None:  # fmt: skip
    """The same clips indexed locally and on Ray (same settings, dedupe off): video-seconds
    per wall-second each, the ratio Ray/local against 0.85, videos per node, equal rows."""
    from vagent.bench import raybench as b

    cfg = b.Config(clips, seconds, address, timeout, encoder, _size(size))
    b.check(cfg)
    r = b.run(cfg, progress=lambda line: click.echo(line, err=True))
    if as_json:
        emit_json(r)
        return
    for line in b.describe(r):
        click.echo(line)


COMMIT_HELD = Range("--held", 0, 100_000_000, integer=True)
COMMIT_FILES = Range("--files", 1, 10_000, integer=True)
COMMIT_FRAMES = Range("--frames", 1, 1_000_000, integer=True)


@bench.command("commits")
@click.option(
    "--held",
    default="10000,100000",
    show_default=True,
    callback=number_list(COMMIT_HELD),
    help="Frame vectors already in the library (comma list), one library each.",
)
@click.option("--files", type=Bounded(COMMIT_FILES), default=10, show_default=True)
@click.option(
    "--frames",
    type=Bounded(COMMIT_FRAMES),
    default=60,
    show_default=True,
    help="Frame vectors each new file adds.",
)
@click.option("--index", "index", default="faiss/Flat", show_default=True)
@click.option("--encoder", default="openclip/vagent-tiny-vit/random", show_default=True)
@json_option
@guarded
def commits_bench(
    held: list[int], files: int, frames: int, index: str, encoder: str, as_json: bool
) -> None:
    """Cost of one index commit of a small new file against the library's size: time and
    bytes written, appending deltas vs rewriting every vector file (the old way)."""
    from vagent.bench import commits as b

    out = b.run(held, files, frames, index, encoder)
    if as_json:
        emit_json(out)
        return
    for r in out:
        click.echo(b.describe(r))
