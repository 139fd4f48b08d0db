"""``vagent bench ingest``: decode-only, encode-only and end-to-end indexing throughput in one run.

All rates are video-seconds per wall-second at the sampling rate. The bound is what the two
stages allow together: ``min(decode, encode)`` when they run on different processors (GPU
encoding), ``1 / (1/decode + 1/encode)`` when they share this CPU. ``ratio_to_bound`` is
end-to-end / bound. Peak memory is measured in a child process per video length, so a longer
video shows whether memory grows with length. The naive baseline decodes every frame with
OpenCV, keeps one per second and encodes one frame at a time. The library is indexed frames-only
(``--text none``): the text track has its own benchmark, ``vagent bench needle``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from vagent.bench.measure import run_child, timed
from vagent.ingest.encode import frame_size
from vagent.library import Builder, LibrarySpec
from vagent.synth import make_video

CACHE = Path(".bench")


def bench_video(seconds: float, size: tuple[int, int], keyframe_seconds: float, fps: int) -> Path:
    """A textured H.264 video of ``seconds``, made once and cached under ./.bench/."""
    w, h = size
    path = CACHE / f"texture-{int(seconds)}s-{w}x{h}-{fps}fps-k{keyframe_seconds:g}.mp4"
    if not path.exists():
        colors = ["red", "green", "blue", "yellow", "white", "purple"]
        n = max(1, round(seconds / 10))
        tmp = path.with_suffix(".tmp.mp4")
        make_video(
            tmp,
            [colors[i % len(colors)] for i in range(n)],
            seconds_per_color=seconds / n,
            fps=fps,
            size=size,
            keyframe_seconds=keyframe_seconds,
            texture=True,
        )
        tmp.rename(path)
    return path


def on_gpu() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def decode_only(video: str, fps: float, size: tuple[int, int], strategy: str) -> dict[str, Any]:
    dec: Any = Builder(LibrarySpec(decoder=f"pyav/{strategy}")).decoder()  # pyav counters
    info = dec.probe(video)
    n, secs = timed(lambda: sum(len(b) for b in dec.sample(video, fps, size)))
    return {
        "strategy": strategy,
        "frames": n,
        "seconds": round(secs, 3),
        "video_s_per_s": round(info.duration / secs, 2),
        "packets_decoded_fraction": round(dec.packets_decoded / max(dec.packets_total, 1), 3),
    }


def encode_only(encoder: Any, frames: np.ndarray, fps: float, batch: int, rounds: int) -> dict:
    encoder.load()
    encoder.encode_images(frames[:batch])  # warm-up
    _, secs = timed(lambda: [encoder.encode_images(frames[:batch]) for _ in range(rounds)])
    per_s = batch * rounds / secs
    return {"frames_per_s": round(per_s, 2), "video_s_per_s": round(per_s / fps, 2)}


def naive(video: str, encoder: Any) -> dict[str, Any]:
    """Decode every frame with OpenCV, keep one per second, encode one at a time."""
    import cv2

    def run() -> int:
        cap = cv2.VideoCapture(video)
        step = max(1, round(cap.get(cv2.CAP_PROP_FPS) or 30))
        i = kept = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if i % step == 0:
                encoder.encode_images(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[None])
                kept += 1
            i += 1
        cap.release()
        return kept

    kept, secs = timed(run)
    cap = cv2.VideoCapture(video)
    duration = cap.get(cv2.CAP_PROP_FRAME_COUNT) / (cap.get(cv2.CAP_PROP_FPS) or 30)
    cap.release()
    return {"frames": kept, "seconds": round(secs, 2), "video_s_per_s": round(duration / secs, 2)}


def run(
    video: str | None,
    seconds: float,
    long_seconds: float,
    encoder_id: str,
    fps: float,
    size: tuple[int, int],
    keyframe_seconds: float,
    batch: int,
    with_naive: bool,
) -> dict[str, Any]:
    src = video or str(bench_video(seconds, size, keyframe_seconds, 30))
    parts = Builder(LibrarySpec(encoder=encoder_id, text="none").with_defaults())
    encoder, dec = parts.encoder(), parts.decoder()
    info = dec.probe(src)
    fsize = frame_size(info, encoder.input_size)

    decode = {s: decode_only(src, fps, fsize, s) for s in ("gop", "sequential")}
    frames = np.concatenate([b.images for b in dec.sample(src, fps, fsize, batch)])[:batch]
    encode = encode_only(encoder, frames, fps, batch, rounds=4)

    d, e = decode["gop"]["video_s_per_s"], encode["video_s_per_s"]
    gpu = on_gpu()
    bound = min(d, e) if gpu else 1.0 / (1.0 / d + 1.0 / e)
    args = ["--encoder", encoder_id, "--fps", str(fps), "--batch-size", str(batch)]
    short = run_child("vagent.bench.child", ["--video", src, *args])
    result: dict[str, Any] = {
        "video": {
            "path": src,
            "duration": info.duration,
            "size": f"{info.width}x{info.height}",
            "fps": info.fps,
            "keyframe_interval": info.keyframe_interval,
        },
        "encoder": encoder_id,
        "semantic": encoder.semantic,
        "device": "cuda" if gpu else "cpu",
        "sample_fps": fps,
        "decode_only": decode,
        "encode_only": encode,
        "bound_kind": "min(decode, encode)" if gpu else "1/(1/decode + 1/encode), shared CPU",
        "bound_video_s_per_s": round(bound, 2),
        "end_to_end_video_s_per_s": round(short["video_s_per_s"], 2),
        "ratio_to_bound": round(short["video_s_per_s"] / bound, 3),
        "peak_rss_mib": {f"{info.duration:.0f}s": short["peak_rss_mib"]},
    }
    if long_seconds > 0 and not video:
        long_src = str(bench_video(long_seconds, size, keyframe_seconds, 30))
        long = run_child("vagent.bench.child", ["--video", long_src, *args])
        result["peak_rss_mib"][f"{long_seconds:.0f}s"] = long["peak_rss_mib"]
        result["end_to_end_long_video_s_per_s"] = round(long["video_s_per_s"], 2)
    if with_naive:
        if importlib.util.find_spec("cv2") is None:
            result["naive"] = "skipped: pip install opencv-python-headless (vagent[bench])"
        else:
            nv = naive(src, encoder)
            result["naive"] = nv
            result["speedup_vs_naive"] = round(short["video_s_per_s"] / nv["video_s_per_s"], 2)
    return result


# A fixed query set for the dedupe comparison (its top-10 segments with dedupe on and off).
QUERIES = (
    "a slide with a title and bullet points",
    "a red slide",
    "a green background",
    "people in a video meeting",
    "a person talking",
    "a webcam picture in the corner",
    "fast moving colourful shapes",
    "a blue screen",
    "text on a yellow background",
    "a purple scene",
)


def content_run(
    content: str,
    seconds: float,
    encoder_id: str,
    fps: float,
    size: tuple[int, int],
    batch: int,
    segment_seconds: float,
    hold: float = 20.0,
) -> dict[str, Any]:
    """Index a ``content`` video (``vagent.bench.content``) with dedupe off, then on, each in
    a fresh process: throughput, the fraction of frames encoded, top-10 overlap for QUERIES."""
    from vagent.bench.content import content_video

    w, h = size
    src = CACHE / f"{content}-{int(seconds)}s-{w}x{h}-h{hold:g}.mp4"
    if not src.exists():
        tmp = src.with_suffix(".tmp.mp4")
        content_video(tmp, content, seconds, size=size, hold=hold)
        tmp.rename(src)
    args = ["--video", str(src), "--encoder", encoder_id, "--fps", str(fps)]
    args += ["--batch-size", str(batch), "--segment-seconds", str(segment_seconds)]
    for q in QUERIES:
        args += ["--query", q]
    runs = {d: run_child("vagent.bench.child", [*args, "--dedupe", d]) for d in ("off", "on")}
    off, on = runs["off"], runs["on"]
    overlaps = []
    for q in QUERIES:
        a = {tuple(x) for x in off["tops"][q]}
        b = {tuple(x) for x in on["tops"][q]}
        overlaps.append(len(a & b) / max(len(a), 1))
    sampled = on["frames_encoded"] + on["frames_reused"]
    return {
        "content": content,
        "video": {"path": str(src), "seconds": seconds, "size": f"{w}x{h}", "hold": hold},
        "encoder": encoder_id,
        "device": "cuda" if on_gpu() else "cpu",
        "sample_fps": fps,
        "segment_seconds": segment_seconds,
        "frames_sampled": sampled,
        "frames_encoded_fraction": round(on["frames_encoded"] / max(sampled, 1), 3),
        "video_s_per_s": {d: round(r["video_s_per_s"], 2) for d, r in runs.items()},
        "speedup": round(on["video_s_per_s"] / off["video_s_per_s"], 2),
        "top10_overlap": round(float(np.mean(overlaps)), 3),
        "top10_overlap_min": round(float(np.min(overlaps)), 3),
        "queries": len(QUERIES),
    }
