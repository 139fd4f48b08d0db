"""One ``index`` run over many files: decide per file (skip, move, replace, index), encode, land.

Each file is its own unit of work: a bad file is reported in one line and the run goes on; a file
lands whole or not at all, so a run killed at any point resumes by simply running it again.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from tqdm import tqdm

from vagent.catalog import Catalog, VideoRow
from vagent.components import OCR, Captioner, Decoder, Segmenter, TextEncoder, VisualEncoder
from vagent.errors import BadVideo
from vagent.ingest.commit import NewVideo, land
from vagent.ingest.discover import content_hash, discover, stat_key
from vagent.ingest.encode import encode_video
from vagent.text.captions import CaptionTrack
from vagent.text.track import OcrTrack
from vagent.types import FrameBatch, IndexReport, TextSpan, VideoInfo
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


# OCR needs detail CLIP does not: frames are decoded with this short side when OCR is on.
OCR_SHORT_SIDE = 480


@dataclass
class Options:
    fps: float
    batch_size: int = 32
    allow_partial: bool = False
    progress: bool = True
    caption_seconds: float = 10.0


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


class IndexRun:
    def __init__(
        self, catalog: Catalog, library_id: int, vectors: VectorSet, parts: Parts, opts: Options
    ) -> None:
        self.catalog, self.library_id, self.vectors = catalog, library_id, vectors
        self.parts, self.opts = parts, opts
        self.report = IndexReport()

    def _fail(self, path: str, reason: str) -> None:
        self.report.failed.append((path, reason))
        print(f"error: {path}: {reason}", file=sys.stderr)

    def run(self, paths: list[str]) -> IndexReport:
        t0 = time.perf_counter()
        files, bad = discover(paths)
        for path, reason in bad:
            self._fail(path, reason)
        for path in files:
            try:
                self._one(path)
            except BadVideo as exc:
                self._fail(exc.path, exc.reason)
            except OSError as exc:
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
            self.report.skipped.append(path)
            return
        digest = content_hash(path)
        same = self._row_where(content_hash=digest)
        if same is not None:
            if same.path == path or Path(same.path).exists():
                if same.path == path:
                    self._touch(same.id, size=size, mtime_ns=mtime_ns)
                self.report.skipped.append(path)
                return
            self._touch(same.id, path=path, size=size, mtime_ns=mtime_ns)
            self.report.moved.append((same.path, path))
            return
        new = self._encode(path, digest, size, mtime_ns)
        replacing = [at_path.id] if at_path is not None else []
        land(self.catalog, self.library_id, self.vectors, add=new, drop=replacing)
        (self.report.replaced if replacing else self.report.indexed).append(path)

    def _encode(self, path: str, digest: str, size: int, mtime_ns: int) -> NewVideo:
        p, o = self.parts, self.opts
        info = p.decoder.probe(path)
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
            )
        finally:
            bar.close()
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
        texts = self._texts(path, track)
        if captions is not None:
            texts = sorted([*texts, *captions.finish()], key=lambda t: (t.start, t.source, t.text))
        text_vectors = p.text_encoder.encode([t.text for t in texts]) if p.text_encoder else None
        self.report.video_seconds += duration
        self.report.text_spans += len(texts)
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
            "decode_strategy": p.decoder.id,
            "indexed_at": datetime.now(timezone.utc),
        }
        return NewVideo(row, enc.times, enc.vectors, segments, texts, text_vectors)

    def _texts(self, path: str, track: OcrTrack | None) -> list[TextSpan]:
        texts: list[TextSpan] = []
        if self.parts.subtitles:
            from vagent.text.subtitles import read_subtitles

            subs, problems = read_subtitles(path)
            for problem in problems:
                print(f"warning: {problem}", file=sys.stderr)
            texts.extend(subs)
        if track is not None:
            texts.extend(track.finish())
            self.report.ocr_frames_read += track.frames_read
            self.report.ocr_frames_reused += track.frames_reused
        return sorted(texts, key=lambda t: (t.start, t.source, t.text))
