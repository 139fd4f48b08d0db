"""``vagent bench speech --whole``: the whole index (frames + OCR + speech) of a talk-like video
against the bound its tracks allow together when they share this CPU.

The video: slides with on-screen text that change every ``SLIDE_SECONDS``, a small moving
inset (a speaker's camera), and an espeak-ng talk with ~60% speech (``make_talk``). Each track
is timed alone on it, with the library's own components, warm:

- frames: the index's per-file work with no text track (decode at the encoder's size, dedupe,
  encode, segment);
- ocr: decode at the OCR size and ``OcrTrack`` (what OCR costs on its own, decode included);
- speech: ``SpeechTrack.run`` (audio decode, resample, recogniser).

Then ``Library.index`` with all three (``--text ocr,speech``) on a fresh copy of the talk (a
different inset, so a new content hash). Alone and together are measured in turn ``ROUNDS``
times and the best of each kept (the machine's load varies). Rates are video-seconds per
wall-second; the bound is ``1 / (1/frames + 1/ocr + 1/speech)`` (as ``bench ingest`` does
for decode and encode), and ``ratio`` is the whole index's rate over it. CPU-seconds are
reported too: each track's alone against the whole index's (``cpu_alone_over_whole``). The
whole index also embeds its text spans and lands them, which no track alone does (a few dozen
spans: small).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
from sqlalchemy import func, select

from vagent.bench.speech import talk_audio
from vagent.catalog import TextSpanRow
from vagent.ingest.encode import frame_size
from vagent.ingest.work import OCR_SHORT_SIDE, FileWork, Job, Parts
from vagent.library import Library
from vagent.library.spec import DEFAULT_ASR
from vagent.synth import draw_text
from vagent.text.speech import SpeechTrack
from vagent.text.track import OcrTrack

# as ``bench ingest``: ViT-B/32's compute without its weights (which need a download)
ENCODER = "openclip/ViT-B-32/random"
ROUNDS = 2  # each measure taken this many times, the best kept
SLIDE_SECONDS = 15.0
SIZE = (640, 360)
FPS = 25
# a speaker thumbnail, bottom right: small enough for OCR's and dedupe's same-picture checks
INSET = (64, 48)
SLIDES = [
    ("Quarterly budget review", "Moves to Thursday afternoon"),
    ("New office in Berlin", "Opens next spring"),
    ("Sales grew twelve percent", "Last quarter results"),
    ("Hiring plan", "Two more engineers this year"),
    ("Travel", "Munich train, platform seven"),
]
BACKGROUNDS = [(40, 70, 140), (30, 110, 60), (120, 40, 40), (90, 60, 120), (60, 60, 60)]


def make_talk_video(path: Path, seconds: float, seed: int = 0) -> list[float]:
    """An H.264 + AAC MP4 of ``seconds``: slides with text, a moving inset, a ~60% speech talk.
    Returns the times the spoken sentences start."""
    audio, placed = talk_audio(seconds, path.with_suffix(".wav"))
    w, h = SIZE
    iw, ih = INSET
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, size=(ih * 2, iw * 2, 3), dtype=np.uint8)
    slides = []
    for i, lines in enumerate(SLIDES):
        base = np.empty((h, w, 3), np.uint8)
        base[:] = BACKGROUNDS[i % len(BACKGROUNDS)]
        slides.append(draw_text(base, [f"{i + 1}. {lines[0]}", lines[1]]))
    with av.open(str(path), "w") as out:
        vs: Any = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.gop_size = 2 * FPS
        vs.options = {"preset": "ultrafast"}
        aus: Any = out.add_stream("aac", rate=16000)
        aus.layout = "mono"
        for i in range(round(seconds * FPS)):
            img = slides[int(i / FPS / SLIDE_SECONDS) % len(slides)].copy()
            dy, dx = (i * 3) % ih, (i * 5) % iw
            img[h - ih - 8 : h - 8, w - iw - 8 : w - 8] = noise[dy : dy + ih, dx : dx + iw]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        for start in range(0, audio.size, 1024):
            chunk = audio[start : start + 1024].reshape(1, -1)
            af = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            af.sample_rate, af.pts = 16000, start
            for pkt in aus.encode(af):
                out.mux(pkt)
        for pkt in aus.encode():
            out.mux(pkt)
    return placed


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of all this process's threads) of ``fn()``."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _quiet(line: str) -> None:
    pass


def _job(path: Path) -> Job:
    st = path.stat()
    return Job(str(path), "bench", st.st_size, st.st_mtime_ns)


def run(
    seconds: float, asr_id: str | None, encoder: str = ENCODER, rounds: int = ROUNDS
) -> dict[str, Any]:
    asr = asr_id or DEFAULT_ASR
    best: dict[str, float] = {}

    cpu: dict[str, float] = {}

    def keep(name: str, took: tuple[float, float]) -> None:
        best[name] = min(best.get(name, math.inf), took[0])
        cpu[name] = min(cpu.get(name, math.inf), took[1])

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        warm, alone = folder / "warm.mp4", folder / "alone.mp4"
        make_talk_video(warm, 10.0, seed=1)
        make_talk_video(alone, seconds, seed=2)
        lib = Library.open(folder / "lib")
        # warm-up: every model loaded and run once, on another clip
        lib.index([str(warm)], text="ocr,speech", asr=asr, encoder=encoder, progress=False)
        built = lib.components()
        parts, opts = built.parts(), built.options(progress=False)
        assert parts.ocr is not None and parts.asr is not None
        dec, ocr, asr_model = parts.decoder, parts.ocr, parts.asr
        info = dec.probe(str(alone))
        duration = info.duration
        frames_only = FileWork(Parts(dec, parts.encoder, parts.segmenter), opts, _quiet)
        osize = frame_size(info, min(OCR_SHORT_SIDE, info.width, info.height))

        def ocr_alone() -> None:
            track = OcrTrack(ocr, 1.0 / opts.fps)
            for batch in dec.sample(str(alone), opts.fps, osize, opts.batch_size):
                track.add(batch.times, batch.images)
            track.finish()

        for r in range(rounds):  # alone and together in turn; the best of each (load varies)
            keep("frames", _timed(lambda: frames_only.encode(_job(alone))))
            keep("ocr", _timed(ocr_alone))
            keep("speech", _timed(lambda: SpeechTrack(asr_model, _quiet).run(str(alone))))
            talk = folder / f"talk{r}.mp4"  # another thumbnail: a new file to the library
            make_talk_video(talk, seconds, seed=3 + r)
            c0 = time.process_time()
            report = lib.index([str(talk)], progress=False)
            if report.failed:
                raise RuntimeError(f"bench whole: indexing failed: {report.failed}")
            keep("whole", (report.wall_seconds, time.process_time() - c0))
        with lib.catalog.session() as s:
            q = select(TextSpanRow.source, func.count()).group_by(TextSpanRow.source)
            spans = {str(src): int(n) for src, n in s.execute(q).all()}
    rates = {k: duration / best[k] for k in ("frames", "ocr", "speech")}
    bound = 1.0 / sum(1.0 / r for r in rates.values())
    whole = duration / best["whole"]
    return {
        "video_seconds": round(duration, 2),
        "asr": parts.asr.id,
        "encoder": parts.encoder.id,
        "ocr": parts.ocr.id,
        "cpus": os.cpu_count(),
        "alone_video_s_per_s": {k: round(v, 2) for k, v in rates.items()},
        "bound_video_s_per_s": round(bound, 2),
        "whole_video_s_per_s": round(whole, 2),
        "ratio": round(whole / bound, 3),
        # CPU-seconds (all threads): each track alone, and the whole index (which also embeds
        # and lands its spans); their quotient near 1 says the tracks together waste no CPU
        # (threads spinning on a shared core), whatever the load did to the wall times
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_alone_over_whole": round(sum(cpu[k] for k in rates) / cpu["whole"], 3),
        "rounds": rounds,
        "spans_by_source": spans,  # all files: the warm-up clip's and each round's talk
    }


def line(r: dict[str, Any]) -> str:
    a = r["alone_video_s_per_s"]
    return (
        f"whole index of a {r['video_seconds']:.0f} s talk ({r['encoder']}, {r['ocr']}, "
        f"{r['asr']}): tracks alone frames {a['frames']}x, ocr {a['ocr']}x, speech "
        f"{a['speech']}x real time; bound together {r['bound_video_s_per_s']}x; whole index "
        f"{r['whole_video_s_per_s']}x: ratio {r['ratio']:.2f} (spans {r['spans_by_source']}); "
        f"CPU-s {r['cpu_seconds']}: alone / whole {r['cpu_alone_over_whole']}"
    )
