"""The per-file work of an index run: one file decoded, encoded and its text track read, into a
``NewVideo`` ready to land. It touches no catalog and no vector file, so it runs in the driver's
process (local ingest) or on a Ray worker (``vagent.ingest.distributed``); the driver decides
what to encode (``vagent.ingest.run``) and lands the result.

Warnings go through ``warn`` (printed at once locally; carried back with the result from a
worker) and the run's counters into a ``Tally`` that travels with the video.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vagent.audio import AudioInfo, NoSuchStream, probe_audio
from vagent.components import ASR, OCR, Captioner, Decoder, Segmenter, TextEncoder, VisualEncoder
from vagent.errors import BadVideo, VagentError, VagentWarning
from vagent.ingest.commit import NewVideo
from vagent.ingest.discover import printable
from vagent.ingest.encode import encode_video
from vagent.text.captions import CaptionTrack
from vagent.text.speech import SpeechTrack
from vagent.text.track import OcrTrack
from vagent.types import FrameBatch, IndexReport, SegmentSpan, TextSpan, VideoInfo


@dataclass
class Parts:
    decoder: Decoder
    encoder: VisualEncoder
    segmenter: Segmenter
    text_encoder: TextEncoder | None = None
    ocr: OCR | None = None
    subtitles: bool = False
    captioner: Captioner | None = None
    asr: ASR | None = None  # speech: transcribed beside the frames; audio-only files too


# OCR needs detail CLIP does not: frames are decoded with this short side when OCR is on.
OCR_SHORT_SIDE = 480
# Texts per text-encoder call; a progress bar shows when a video has more than one batch.
TEXT_BATCH = 256


@dataclass
class Options:
    fps: float
    batch_size: int = 32
    allow_partial: bool = False
    progress: bool = True
    caption_seconds: float = 10.0
    audio_stream: int | None = None  # speech from this audio stream (None: the default one)
    dedupe: bool = True  # near-duplicate frames reuse the last encoded frame's vector
    ray: str | None = None  # the per-file work on this Ray cluster ("auto" or host:port)


@dataclass
class Prior:
    """What a grown file keeps from its last indexing: frames up to ``after`` (seconds; the
    last frame indexed is encoded again, it may have been decoded from a cut packet), their
    vectors, its on-screen text and captions that began by then, and its frames reused."""

    times: np.ndarray
    vectors: np.ndarray
    after: float
    texts: list[TextSpan]
    reused: int


@dataclass
class Job:
    """One file to encode, as the driver decided: its content hash, the (size, mtime) it was
    hashed at, the fingerprint of its sidecars (taken before they are read; None without
    subtitles), what a grown file keeps (``prior``), the rows it replaces (``drop``) and the
    report list it lands in (``kind``: indexed, replaced or grown)."""

    path: str
    digest: str
    size: int
    mtime_ns: int
    sidecars: str | None = None
    prior: Prior | None = None
    drop: list[int] = field(default_factory=list)
    kind: str = "indexed"


@dataclass
class Tally:
    """The counters one file adds to the run's report."""

    video_seconds: float = 0.0
    text_spans: int = 0
    ocr_frames_read: int = 0
    ocr_frames_reused: int = 0
    frames_encoded: int = 0
    frames_reused: int = 0

    def add_to(self, report: IndexReport) -> None:
        for f in fields(self):
            setattr(report, f.name, getattr(report, f.name) + getattr(self, f.name))


def truncation(info: VideoInfo, last_time: float, fps: float) -> str | None:
    """A reason string if decoding stopped well short of the declared duration."""
    if info.duration <= 0:
        return None
    slack = max(2.0 / fps, 2.0, 0.02 * info.duration)
    if last_time + slack < info.duration:
        return (
            f"truncated or corrupt: frames end at {last_time:.1f}s of {info.duration:.1f}s the "
            f"header declares (re-encode it, or pass --allow-partial to index the readable part)"
        )
    return None


def stderr_warn(line: str) -> None:
    """A problem the file's indexing went on through (the CLI: ``warning: LINE``)."""
    warnings.warn(line, VagentWarning, stacklevel=2)


class FileWork:
    """Encodes files with ``parts`` under ``opts``; ``warn`` gets each warning line (without
    the ``warning:`` prefix)."""

    def __init__(
        self, parts: Parts, opts: Options, warn: Callable[[str], None] = stderr_warn
    ) -> None:
        self.parts, self.opts, self.warn = parts, opts, warn
        self.tally = Tally()

    def encode(self, job: Job) -> tuple[NewVideo, Tally]:
        """``job``'s file as a video ready to land, and its counters. Raises ``BadVideo``."""
        self.tally = Tally()
        audio = self._audio(job.path)
        if audio is not None and not audio.has_video:
            return self._encode_audio_only(job, audio), self.tally
        info = self.parts.decoder.probe(job.path)
        speech = None
        if audio is not None and self.parts.asr is not None:
            speech = SpeechTrack(self.parts.asr, self.warn, stream=self.opts.audio_stream)
            speech.start(job.path)  # transcribes in its own thread while the frames are encoded
        try:
            return self._encode_frames(job, info, speech), self.tally
        finally:
            if speech is not None:
                speech.cancel()  # a failed video stops its transcription (no-op when done)

    def embed(self, texts: list[TextSpan], path: str) -> np.ndarray | None:
        """Text vectors of ``texts`` in batches, with a progress bar when there are many."""
        enc = self.parts.text_encoder
        if enc is None:
            return None
        words = [t.text for t in texts]
        if len(words) <= TEXT_BATCH:
            return enc.encode(words)
        out = []
        with tqdm(
            total=len(words),
            desc=f"text {printable(Path(path).name)[:35]}",
            unit="span",
            disable=not self.opts.progress,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        ) as bar:
            for i in range(0, len(words), TEXT_BATCH):
                out.append(enc.encode(words[i : i + TEXT_BATCH]))
                bar.update(len(out[-1]))
        return np.concatenate(out)

    def subtitles(self, path: str, duration: float) -> list[TextSpan]:
        from vagent.text.subtitles import read_subtitles

        subs, problems = read_subtitles(path, duration)
        for problem in problems:
            self.warn(str(problem))
        return subs

    def _audio(self, path: str) -> AudioInfo | None:
        """The file's audio when speech is on (None: no speech track, no audio, or a file
        FFmpeg cannot open, which the decoder then reports in its own words)."""
        if self.parts.asr is None:
            return None
        try:
            return probe_audio(path, self.opts.audio_stream)
        except NoSuchStream as exc:
            raise BadVideo(path, exc.reason) from None
        except BadVideo:
            return None

    def _speech(self, speech: SpeechTrack, path: str) -> list[TextSpan]:
        """The spans ``speech`` heard; a recogniser that fails on this file is one line (the
        video is indexed without speech); a model that cannot load stops the run."""
        try:
            spans: list[TextSpan] = list(speech.finish())
        except VagentError:
            raise
        except Exception as exc:
            self.warn(f"{printable(path)}: speech not transcribed ({type(exc).__name__}: {exc})")
            return []
        return spans

    def _encode_audio_only(self, job: Job, audio: AudioInfo) -> NewVideo:
        """A file with sound and no pictures: speech spans (and sidecar subtitles), segments
        over its length for hits to land on, no frame vectors."""
        p, o, path = self.parts, self.opts, job.path
        assert p.asr is not None
        track = SpeechTrack(p.asr, self.warn, stream=o.audio_stream)
        track.start(path)
        spoken = self._speech(track, path)
        if track.unreadable is not None:
            raise BadVideo(path, f"not a readable audio file ({track.unreadable})")
        if track.audio_seconds <= 0:
            raise BadVideo(path, f"audio stream ({audio.codec}) holds no sound (0 seconds)")
        duration = max(audio.duration, track.audio_seconds)
        if audio.duration - track.audio_seconds > max(2.0, 0.02 * audio.duration):
            duration = track.audio_seconds  # the rest is unreadable: indexed up to there
        if duration == track.audio_seconds < audio.duration and not track.broken:
            self.warn(
                f"{printable(path)}: truncated or corrupt: audio ends at {duration:.1f}s of "
                f"{audio.duration:.1f}s the header declares; indexed the readable part"
            )
        if not spoken:
            why = "is silent" if not track.heard_sound else "has no speech (music or noise only?)"
            raise BadVideo(path, f"audio-only file {why} over {duration:.1f} s: nothing to index")
        texts = sorted(
            [*self._texts(path, None, duration), *spoken],
            key=lambda t: (t.start, t.source, t.text),
        )
        step = o.caption_seconds  # the library's segment length
        starts = np.arange(0.0, duration, step) if duration > 0 else np.zeros(1)
        segments = [SegmentSpan(float(a), float(min(a + step, duration)), ()) for a in starts]
        self.tally.video_seconds += duration
        self.tally.text_spans += len(texts)
        row = {
            **_file_fields(job),
            "duration": duration,
            "fps": 0.0,
            "width": 0,
            "height": 0,
            "codec": audio.codec,
            "frame_count": None,
            "sampled_frames": 0,
            "decode_strategy": "audio",
            "indexed_at": datetime.now(timezone.utc),
            "sidecars": job.sidecars,
        }
        empty = np.zeros((0, p.encoder.dim), np.float32)
        return NewVideo(row, np.zeros(0), empty, segments, texts, self.embed(texts, path))

    def _encode_frames(self, job: Job, info: VideoInfo, speech: SpeechTrack | None) -> NewVideo:
        p, o, path, prior = self.parts, self.opts, job.path, job.prior
        bar = tqdm(
            total=round(info.duration, 1) or None,
            desc=Path(path).name[:40],
            unit="video-s",
            disable=not o.progress,
            leave=False,
            file=sys.stderr,
            dynamic_ncols=True,
        )
        frames = 0

        def step(batch: FrameBatch) -> None:
            nonlocal frames
            frames += len(batch)
            bar.update(round(float(batch.times[-1]), 1) - bar.n)
            bar.set_postfix_str(f"{frames / max(bar.format_dict['elapsed'], 1e-9):.1f} frames/s")

        track = OcrTrack(p.ocr, 1.0 / o.fps) if p.ocr is not None else None
        captions = None
        if p.captioner is not None:
            captions = CaptionTrack(
                p.captioner, o.caption_seconds, lambda m: self.warn(f"{path}: {m}")
            )

        def each(batch: FrameBatch) -> None:
            if track is not None:
                track.add(batch.times, batch.images)
            if captions is not None:
                captions.add(batch.times, batch.images, batch.encoded)
            step(batch)

        try:
            enc = encode_video(
                p.decoder,
                p.encoder,
                info,
                o.fps,
                o.batch_size,
                on_batch=each,
                short_side=min(OCR_SHORT_SIDE, info.width, info.height) if track else None,
                dedupe=o.dedupe,
                after=prior.after if prior is not None else None,
            )
        finally:
            bar.close()
        new_frames, new_reused = len(enc.times), enc.reused
        if prior is not None:  # a grown file: its indexed frames, then those encoded now
            enc.times = np.concatenate([prior.times, enc.times])
            enc.vectors = np.concatenate([prior.vectors, enc.vectors.astype(np.float32)])
            enc.reused += prior.reused
        if len(enc.times) == 0:
            raise BadVideo(path, "no decodable video frames")
        why = truncation(info, float(enc.times[-1]), o.fps)
        if why and not o.allow_partial:
            raise BadVideo(path, why)
        duration = max(info.duration, float(enc.times[-1]) + 1.0 / max(info.fps, o.fps))
        if why:
            duration = float(enc.times[-1]) + 1.0 / o.fps
            self.warn(f"{path}: indexed the readable part only ({why})")
        segments = p.segmenter.segment(enc.times, enc.vectors, duration)
        texts = self._texts(path, track, duration)
        if prior is not None:
            texts = join_spans(prior.texts, texts)
        if speech is not None:
            texts = sorted(
                [*texts, *self._speech(speech, path)], key=lambda t: (t.start, t.source, t.text)
            )
            if speech.unreadable is not None:  # the frames are indexed; say why no speech
                self.warn(f"{printable(path)}: audio unreadable ({speech.unreadable}); no speech")
        if captions is not None:
            texts = sorted([*texts, *captions.finish()], key=lambda t: (t.start, t.source, t.text))
        text_vectors = self.embed(texts, path)
        self.tally.video_seconds += duration
        self.tally.text_spans += len(texts)
        self.tally.frames_encoded += new_frames - new_reused
        self.tally.frames_reused += new_reused
        row = {
            **_file_fields(job),
            "duration": duration,
            "fps": info.fps,
            "width": info.width,
            "height": info.height,
            "codec": info.codec,
            "frame_count": info.frame_count,
            "sampled_frames": len(enc.times),
            "frames_reused": enc.reused,
            "decode_strategy": p.decoder.id,
            "indexed_at": datetime.now(timezone.utc),
            "sidecars": job.sidecars,
        }
        return NewVideo(row, enc.times, enc.vectors, segments, texts, text_vectors)

    def _texts(self, path: str, track: OcrTrack | None, duration: float) -> list[TextSpan]:
        texts: list[TextSpan] = []
        if self.parts.subtitles:
            texts.extend(self.subtitles(path, duration))
        if track is not None:
            texts.extend(track.finish())
            self.tally.ocr_frames_read += track.frames_read
            self.tally.ocr_frames_reused += track.frames_reused
        return sorted(texts, key=lambda t: (t.start, t.source, t.text))


def _file_fields(job: Job) -> dict[str, object]:
    return {
        "path": job.path,
        "content_hash": job.digest,
        "size": job.size,
        "mtime_ns": job.mtime_ns,
    }


def join_spans(old: list[TextSpan], new: list[TextSpan]) -> list[TextSpan]:
    """A grown file's kept spans and those read from its new frames, one span where the same
    line runs on across the seam."""
    out = list(old)
    open_at = {(t.source, t.text): i for i, t in enumerate(out)}
    for t in sorted(new, key=lambda t: (t.start, t.source, t.text)):
        i = open_at.get((t.source, t.text))
        if i is not None and t.start <= out[i].end + 1e-6 and t.source != "subtitle":
            out[i] = TextSpan(out[i].start, max(out[i].end, t.end), t.source, t.text)
            continue
        open_at[(t.source, t.text)] = len(out)
        out.append(t)
    return sorted(out, key=lambda t: (t.start, t.source, t.text))
