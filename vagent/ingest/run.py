"""One ``index`` run over many files: decide per file (skip, move, replace, index), encode, land.

Each file is its own unit of work: a bad file is reported in one line and the run goes on; a file
lands whole or not at all, so a run killed at any point resumes by simply running it again.
An unchanged video whose sidecar subtitles were added, edited or removed has its subtitle spans
redone (frames, segments and other text kept), reported as ``text_redone``.
A file that grew by appending (its first bytes hash as before: a recording still being written)
keeps its indexed frames and on-screen text; only the frames after them are encoded (``grown``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sqlalchemy import select
from tqdm import tqdm

from vagent.audio import AudioInfo, NoSuchStream, probe_audio
from vagent.catalog import Catalog, FrameRow, TextSpanRow, VideoRow
from vagent.components import ASR, OCR, Captioner, Decoder, Segmenter, TextEncoder, VisualEncoder
from vagent.errors import BadVideo, VagentError
from vagent.ingest.commit import NewTexts, NewVideo, land
from vagent.ingest.discover import content_hash, discover, open_regular, printable, stat_key
from vagent.ingest.encode import encode_video
from vagent.text.captions import CaptionTrack
from vagent.text.sidecars import NO_SIDECARS, Listing, fingerprint, list_folder
from vagent.text.speech import SpeechTrack
from vagent.text.track import OcrTrack
from vagent.types import FrameBatch, IndexReport, SegmentSpan, TextSpan, VideoInfo
from vagent.vectors import VectorSet


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


def prefix_hash(path: str, size: int) -> str:
    """sha256 of the first ``size`` bytes of ``path`` (its content_hash when that is its size)."""
    h = hashlib.sha256()
    left = size
    with os.fdopen(open_regular(path), "rb") as f:
        while left > 0 and (chunk := f.read(min(left, 1 << 22))):
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


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


class IndexRun:
    def __init__(
        self, catalog: Catalog, library_id: int, vectors: VectorSet, parts: Parts, opts: Options
    ) -> None:
        self.catalog, self.library_id, self.vectors = catalog, library_id, vectors
        self.parts, self.opts = parts, opts
        self.report = IndexReport()
        self._listings: dict[Path, Listing] = {}  # folder -> its sidecars, listed once a run

    def _fail(self, path: str, reason: str) -> None:
        path = printable(path)
        self.report.failed.append((path, reason))
        print(f"error: {path}: {reason}", file=sys.stderr)

    def run(self, paths: list[str]) -> IndexReport:
        t0 = time.perf_counter()
        files, bad = discover(paths, audio=self.parts.asr is not None)
        for path, reason in bad:
            self._fail(path, reason)
        for path in files:
            try:
                self._one(path)
            except BadVideo as exc:
                self._fail(exc.path, exc.reason)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise  # a full disk stops the batch (Library.index says so in one line)
                self._fail(path, exc.strerror or str(exc))
        self.report.wall_seconds = time.perf_counter() - t0
        return self.report

    def _row_where(self, **kw: object) -> VideoRow | None:
        with self.catalog.session() as s:
            q = select(VideoRow).where(VideoRow.library_id == self.library_id)
            for k, v in kw.items():
                q = q.where(getattr(VideoRow, k) == v)
            return s.scalars(q).first()

    def _touch(self, video_id: int, **fields: object) -> None:
        with self.catalog.session() as s:
            row = s.get(VideoRow, video_id)
            assert row is not None
            for k, v in fields.items():
                setattr(row, k, v)

    def _one(self, path: str) -> None:
        size, mtime_ns = stat_key(path)
        at_path = self._row_where(path=path)
        if at_path and (at_path.size, at_path.mtime_ns) == (size, mtime_ns):
            self._unchanged(at_path, path)
            return
        prior = self._prior(at_path, path, size) if at_path is not None else None
        if prior is not None and at_path is not None:
            digest = prefix_hash(path, size)
            grown = self._encode(path, digest, size, mtime_ns, prior)
            land(self.catalog, self.library_id, self.vectors, add=grown, drop=[at_path.id])
            self.report.grown.append(path)
            return
        digest = content_hash(path)
        same = self._row_where(content_hash=digest)
        if same is not None:
            if same.path == path or Path(same.path).exists():
                if same.path == path:
                    self._touch(same.id, size=size, mtime_ns=mtime_ns)
                    self._unchanged(same, path)
                else:
                    self.report.skipped.append(path)
                return
            self._touch(same.id, path=path, size=size, mtime_ns=mtime_ns)
            self.report.moved.append((same.path, path))
            if self._redo_text(same, path):  # the sidecars beside it now may differ
                self.report.text_redone.append(path)
            return
        new = self._encode(path, digest, size, mtime_ns)
        replacing = [at_path.id] if at_path is not None else []
        land(self.catalog, self.library_id, self.vectors, add=new, drop=replacing)
        (self.report.replaced if replacing else self.report.indexed).append(path)

    def _prior(self, row: VideoRow, path: str, size: int) -> Prior | None:
        """What ``row`` keeps if ``path`` grew by appending to the bytes it was indexed from."""
        if size <= row.size or row.sampled_frames < 2 or row.decode_strategy == "audio":
            return None
        if prefix_hash(path, row.size) != row.content_hash:
            return None
        with self.catalog.session() as s:
            frames = s.execute(
                select(FrameRow.id, FrameRow.time)
                .where(FrameRow.video_id == row.id)
                .order_by(FrameRow.time)
            ).all()
            if len(frames) < 2:
                return None
            after = float(frames[-2].time)
            spans = s.scalars(
                select(TextSpanRow).where(
                    TextSpanRow.video_id == row.id,
                    TextSpanRow.source.in_(("ocr", "caption")),
                    TextSpanRow.start <= after,
                )
            ).all()
            texts = [TextSpan(t.start, t.end, t.source, t.text) for t in spans]
        ids = np.array([f.id for f in frames], np.int64)
        times = np.array([f.time for f in frames[:-1]], np.float64)
        vectors = self.vectors.frames.reconstruct(ids)
        # the last frame is encoded again: it no longer counts as reused if it was
        last_reused = int(np.array_equal(vectors[-1], vectors[-2]))
        reused = max(0, (row.frames_reused or 0) - last_reused)
        return Prior(times, vectors[:-1], after, texts, reused)

    def _unchanged(self, row: VideoRow, path: str) -> None:
        if self._redo_text(row, path):
            self.report.text_redone.append(path)
        else:
            self.report.skipped.append(path)

    def _sidecars(self, path: str) -> str:
        """The fingerprint of the sidecars beside ``path`` (its folder listed once a run)."""
        folder = Path(path).parent
        if folder not in self._listings:
            self._listings[folder] = list_folder(folder)
        return fingerprint(path, self._listings[folder])

    def _redo_text(self, row: VideoRow, path: str) -> bool:
        """Redo ``row``'s subtitle spans when the sidecars beside ``path`` differ from those it
        was indexed with. A row from before sidecars were recorded (None) is redone only when
        it has sidecars now (they may have come later); else it just records "none"."""
        if not self.parts.subtitles or self.parts.text_encoder is None:
            return False
        now = self._sidecars(path)
        if row.sidecars == now:
            return False
        if row.sidecars is None and now == NO_SIDECARS:
            self._touch(row.id, sidecars=now)
            return False
        from vagent.text.subtitles import SOURCE

        texts = self._subtitles(path, row.duration)
        vectors = self._embed(texts, path)
        new = NewTexts(row.id, SOURCE, texts, vectors, {"sidecars": now})
        land(self.catalog, self.library_id, self.vectors, retext=new)
        self.report.text_spans += len(texts)
        return True

    def _embed(self, texts: list[TextSpan], path: str) -> np.ndarray | None:
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

    def _encode(
        self, path: str, digest: str, size: int, mtime_ns: int, prior: Prior | None = None
    ) -> NewVideo:
        sidecars = self._sidecars(path) if self.parts.subtitles else None  # before reading them
        audio = self._audio(path)
        if audio is not None and not audio.has_video:
            return self._encode_audio_only(path, digest, size, mtime_ns, audio, sidecars)
        info = self.parts.decoder.probe(path)
        speech = None
        if audio is not None and self.parts.asr is not None:
            speech = SpeechTrack(self.parts.asr, self._warn, stream=self.opts.audio_stream)
            speech.start(path)  # transcribes in its own thread while the frames are encoded
        try:
            return self._encode_frames(path, digest, size, mtime_ns, info, sidecars, speech, prior)
        finally:
            if speech is not None:
                speech.cancel()  # a failed video stops its transcription (no-op when done)

    def _warn(self, line: str) -> None:
        print(f"warning: {line}", file=sys.stderr)

    def _speech(self, speech: SpeechTrack, path: str) -> list[TextSpan]:
        """The spans ``speech`` heard; a recogniser that fails on this file is one line (the
        video is indexed without speech); a model that cannot load stops the run."""
        try:
            spans: list[TextSpan] = list(speech.finish())
        except VagentError:
            raise
        except Exception as exc:
            self._warn(f"{printable(path)}: speech not transcribed ({type(exc).__name__}: {exc})")
            return []
        return spans

    def _encode_audio_only(
        self,
        path: str,
        digest: str,
        size: int,
        mtime_ns: int,
        audio: AudioInfo,
        sidecars: str | None,
    ) -> NewVideo:
        """A file with sound and no pictures: speech spans (and sidecar subtitles), segments
        over its length for hits to land on, no frame vectors."""
        p, o = self.parts, self.opts
        assert p.asr is not None
        track = SpeechTrack(p.asr, self._warn, stream=o.audio_stream)
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
            self._warn(
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
        self.report.video_seconds += duration
        self.report.text_spans += len(texts)
        row = {
            "path": path,
            "content_hash": digest,
            "size": size,
            "mtime_ns": mtime_ns,
            "duration": duration,
            "fps": 0.0,
            "width": 0,
            "height": 0,
            "codec": audio.codec,
            "frame_count": None,
            "sampled_frames": 0,
            "decode_strategy": "audio",
            "indexed_at": datetime.now(timezone.utc),
            "sidecars": sidecars,
        }
        empty = np.zeros((0, p.encoder.dim), np.float32)
        return NewVideo(row, np.zeros(0), empty, segments, texts, self._embed(texts, path))

    def _encode_frames(
        self,
        path: str,
        digest: str,
        size: int,
        mtime_ns: int,
        info: VideoInfo,
        sidecars: str | None,
        speech: SpeechTrack | None,
        prior: Prior | None = None,
    ) -> NewVideo:
        p, o = self.parts, self.opts
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
                p.captioner,
                o.caption_seconds,
                lambda m: print(f"warning: {path}: {m}", file=sys.stderr),
            )

        def each(batch: FrameBatch) -> None:
            if track is not None:
                track.add(batch.times, batch.images)
            if captions is not None:
                captions.add(batch.times, batch.images)
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
            print(f"warning: {path}: indexed the readable part only ({why})", file=sys.stderr)
        segments = p.segmenter.segment(enc.times, enc.vectors, duration)
        texts = self._texts(path, track, duration)
        if prior is not None:
            texts = _join_spans(prior.texts, texts)
        if speech is not None:
            texts = sorted(
                [*texts, *self._speech(speech, path)], key=lambda t: (t.start, t.source, t.text)
            )
            if speech.unreadable is not None:  # the frames are indexed; say why no speech
                self._warn(f"{printable(path)}: audio unreadable ({speech.unreadable}); no speech")
        if captions is not None:
            texts = sorted([*texts, *captions.finish()], key=lambda t: (t.start, t.source, t.text))
        text_vectors = self._embed(texts, path)
        self.report.video_seconds += duration
        self.report.text_spans += len(texts)
        self.report.frames_encoded += new_frames - new_reused
        self.report.frames_reused += new_reused
        row = {
            "path": path,
            "content_hash": digest,
            "size": size,
            "mtime_ns": mtime_ns,
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
            "sidecars": sidecars,
        }
        return NewVideo(row, enc.times, enc.vectors, segments, texts, text_vectors)

    def _subtitles(self, path: str, duration: float) -> list[TextSpan]:
        from vagent.text.subtitles import read_subtitles

        subs, problems = read_subtitles(path, duration)
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        return subs

    def _texts(self, path: str, track: OcrTrack | None, duration: float) -> list[TextSpan]:
        texts: list[TextSpan] = []
        if self.parts.subtitles:
            texts.extend(self._subtitles(path, duration))
        if track is not None:
            texts.extend(track.finish())
            self.report.ocr_frames_read += track.frames_read
            self.report.ocr_frames_reused += track.frames_reused
        return sorted(texts, key=lambda t: (t.start, t.source, t.text))


def _join_spans(old: list[TextSpan], new: list[TextSpan]) -> list[TextSpan]:
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
