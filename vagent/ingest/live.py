"""Live network streams (RTSP, HLS, UDP/TCP MPEG-TS, anything PyAV opens as a URL) indexed as
they play: one library item whose duration grows.

Sampled frames are held until the stream passes the next segment boundary; that chunk (one
segment length of frames) is then encoded and landed as a single catalog + vector-generation
commit, so it lands whole or not at all and a moment is searchable within about two segment
lengths of being recorded. Its vectors go into append-only delta files
(``vagent.vector_deltas``), so a commit costs the same early and late in a long stream; only the
open chunk is held in memory. When the library's text track hears speech, the stream's audio
is held beside the frames and each chunk's audio is transcribed (the ``asr`` kind) and lands
with it; when it reads on-screen text, each chunk's frames go through OCR (``OcrTrack``: a frame
that looks like the last one read reuses its lines, across chunks too) and the lines seen land
with the chunk, a line on screen across a chunk boundary as one span per chunk. A restart
appends after the item's last committed chunk (the item's time axis counts stream time while
connected; frames sent while nothing was listening are not in it). A lost or stalled stream is
reported and reopened with bounded exponential backoff; when the retries run out the open chunk
is landed and the run ends with one line.
"""

from __future__ import annotations

import hashlib
import resource
import time
import warnings
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import av
import numpy as np
from sqlalchemy import insert, select

from vagent.catalog import Catalog, FrameRow, LibraryRow, SegmentRow, TextSpanRow, VideoRow
from vagent.components import ASR, OCR, Segmenter, TextEncoder, VisualEncoder
from vagent.errors import BadVideo, LibraryBusy, VagentWarning
from vagent.ingest.commit import _committed, _write_generation, segment_vectors
from vagent.ingest.dedupe import Deduper
from vagent.ingest.memory import release_freed_memory
from vagent.integrity.owner import check_owner, read_marker, write_marker
from vagent.locking import write_lock
from vagent.text.speech import dump_words, limit_speech, spans_of
from vagent.text.track import OcrTrack
from vagent.types import TextSpan
from vagent.vector_deltas import appendable, land_deltas
from vagent.vectors import VectorSet, sweep

SCHEMES = ("rtsp", "rtsps", "rtmp", "udp", "rtp", "srt", "tcp", "http", "https")
STRATEGY = "live"  # decode_strategy of a live item
RTSP_TRANSPORTS = ("tcp", "udp")  # RTP carried in the RTSP connection, or beside it
MAX_BACKOFF = 30.0
LOCK_WAIT = 60.0  # the last chunk waits this long for another writer to finish
OCR_SHORT_SIDE = 480  # frames are taken at this short side when OCR reads them (as for files)


def is_stream(arg: str) -> bool:
    """True for a network URL PyAV should open as a stream."""
    scheme, sep, _ = arg.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def stream_hash(url: str) -> str:
    """The live item's identity in the catalog (a stream has no content hash)."""
    return hashlib.sha256(f"live:{url}".encode()).hexdigest()


@dataclass
class LiveOptions:
    fps: float
    chunk_seconds: float  # the library's segment length
    stall_seconds: float = 10.0  # no data for this long: the stream is stalled
    retries: int = 5  # reconnects in a row before giving up
    backoff: float = 1.0  # first wait before reconnecting; doubles, capped at MAX_BACKOFF
    for_seconds: float | None = None  # stop after this many seconds (wall clock)
    batch_size: int = 32
    append: bool = True  # land chunks as delta files (False: rewrite every vector file)
    dedupe: bool = False  # near-duplicates of the last frame encoded reuse its vector
    measure: bool = False  # keep per-chunk commit times and memory (benchmarks)
    walls: bool = False  # keep every frame's landing time (the latency benchmark)
    rtsp_transport: str | None = None  # tcp or udp only (None: FFmpeg's way, UDP then TCP)


@dataclass
class LiveReport:
    url: str
    chunks: int = 0
    frames: int = 0
    reconnects: int = 0
    duration: float = 0.0  # of the item, after the run
    resumed_at: float = 0.0  # item time the run started appending at
    failed: str | None = None
    commit_walls: list[tuple[float, float]] = field(default_factory=list)  # (item t, wall)
    # per chunk, with measure: commit time and resident memory after it (8 bytes a chunk each,
    # outside Python's object heap: a day's stream measured is not a day's stream grown)
    commit_ms: array[float] = field(default_factory=lambda: array("d"))
    rss_kb: array[int] = field(default_factory=lambda: array("q"))
    first_raw: float | None = None  # stream time of the run's first frame (item ``resumed_at``)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "chunks": self.chunks,
            "frames": self.frames,
            "reconnects": self.reconnects,
            "duration": round(self.duration, 3),
            "resumed_at": round(self.resumed_at, 3),
            "failed": self.failed,
        }


class StreamLost(Exception):
    """The stream could not be opened, ended, or stalled; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _open(url: str, stall: float, rtsp_transport: str | None = None) -> Any:
    options = {"overrun_nonfatal": "1", "fifo_size": "1000000"} if url.startswith("udp") else {}
    if rtsp_transport is not None and url.lower().startswith(("rtsp:", "rtsps:")):
        options["rtsp_transport"] = rtsp_transport
    try:
        return av.open(url, options=options, timeout=(stall, stall))
    except (av.FFmpegError, OSError) as exc:
        raise StreamLost(f"cannot open stream ({_why(exc, stall)})") from None


def _why(exc: BaseException, stall: float) -> str:
    if isinstance(exc, av.ExitError | TimeoutError):
        return f"no data for {stall:g} s"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def raw_frames(
    url: str, stall: float, audio_rate: int | None = None, rtsp_transport: str | None = None
) -> Iterator[tuple[float, Any]]:
    """(stream time in seconds, PyAV frame) of every decoded video frame until the stream is
    lost (StreamLost). With ``audio_rate``, also (stream time, float32 mono samples at that
    rate) of the first audio stream's audio, as it comes. ``rtsp_transport`` (tcp, udp): an
    RTSP stream's RTP only that way."""
    container = _open(url, stall, rtsp_transport)
    try:
        if not container.streams.video:
            raise StreamLost("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        streams = [stream]
        if audio_rate and container.streams.audio:
            streams.append(container.streams.audio[0])
        resampler = av.AudioResampler(format="flt", layout="mono", rate=audio_rate or 16000)
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if frame.time is None:
                        continue
                    if isinstance(frame, av.AudioFrame):
                        pieces = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
                        if pieces:
                            yield float(frame.time), np.concatenate(pieces).astype(np.float32)
                    else:
                        yield float(frame.time), frame
        except (av.FFmpegError, OSError) as exc:
            raise StreamLost(f"stream lost ({_why(exc, stall)})") from None
        raise StreamLost("stream ended")
    finally:
        container.close()


def rss_kb() -> int:
    """This process's resident memory now, in KiB (Linux; else its peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * (resource.getpagesize() // 1024)
    except (OSError, ValueError, IndexError):
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _warn(message: str) -> None:
    """A problem the run goes on through (the CLI: one ``warning:`` line)."""
    warnings.warn(message, VagentWarning, stacklevel=3)


class LiveIndexer:
    """Index ``url`` into a library as one growing item (the caller set up the library)."""

    def __init__(
        self,
        root: Path,
        catalog: Catalog,
        library_id: int,
        vectors: VectorSet,
        encoder: VisualEncoder,
        segmenter: Segmenter,
        url: str,
        opts: LiveOptions,
        say: Callable[[str], None] = print,
        warn: Callable[[str], None] | None = None,
        frames: Callable[..., Iterator[tuple[float, Any]]] = raw_frames,
        asr: ASR | None = None,
        text_encoder: TextEncoder | None = None,
        ocr: OCR | None = None,
    ) -> None:
        self.root, self.catalog, self.library_id, self.vectors = root, catalog, library_id, vectors
        self.encoder, self.segmenter, self.url, self.opts = encoder, segmenter, url, opts
        self.say, self.warn, self.frames = say, warn or _warn, frames
        # speech: each chunk's audio through ``asr`` (only with a text track to hold it)
        texts = text_encoder is not None and vectors.texts is not None
        self.asr = asr if texts else None
        # on-screen text: each chunk's frames through ``ocr`` (same-picture check across chunks)
        self.ocr = OcrTrack(ocr, 1.0 / opts.fps) if texts and ocr is not None else None
        self.text_encoder = text_encoder
        self.audio: list[np.ndarray] = []  # samples held since ``audio_at`` (item time)
        self.audio_at: float | None = None
        self.said: list[TextSpan] = []  # the open chunk's speech and on-screen text spans
        self.said_vecs: list[np.ndarray] = []
        self.report = LiveReport(url)
        self.video_id: int | None = None
        self.end = 0.0  # item time after the last frame taken (committed or open)
        self.size: tuple[int, int] | None = None
        self.codec = ""
        self.times: list[float] = []
        self.images: list[np.ndarray] = []  # of the open chunk's frames not encoded yet
        self.keep: list[bool] = []  # per image: encode it (else: a near-duplicate, reused)
        self.deduper = Deduper() if opts.dedupe else None
        self.last_vector: np.ndarray | None = None  # of the last frame encoded
        self.reused = 0  # frames of the open chunk that reuse a vector
        self.encoded: list[np.ndarray] = []  # vectors of those encoded
        self.busy = False
        self.boundary = 0.0
        with catalog.session() as s:
            row = s.scalars(
                select(VideoRow).where(
                    VideoRow.library_id == library_id,
                    VideoRow.content_hash == stream_hash(url),
                )
            ).first()
            if row is not None:
                self.video_id, self.end = row.id, float(row.duration)
                self.size = (row.width, row.height)
        self.report.resumed_at = self.end

    # ---- the loop ---------------------------------------------------------------------------

    def run(self) -> LiveReport:
        o = self.opts
        deadline = None if o.for_seconds is None else time.monotonic() + o.for_seconds
        misses = 0
        try:
            while True:
                try:
                    if self._connection(deadline):
                        break  # --for reached
                    reason = "stream ended"
                except StreamLost as exc:
                    reason = exc.reason
                if self.times:
                    self._commit()  # what was taken before the loss lands now
                misses = 1 if self._got_frames else misses + 1  # losses in a row
                if misses > o.retries:
                    self.report.failed = (
                        f"{reason}; gave up after {o.retries} "
                        f"{'retry' if o.retries == 1 else 'retries'}"
                    )
                    break
                wait = min(o.backoff * 2 ** (misses - 1), MAX_BACKOFF)
                if deadline is not None and time.monotonic() + wait >= deadline:
                    break
                self.report.reconnects += 1
                self.warn(
                    f"{self.url}: {reason}; reconnecting in {wait:g} s (try {misses}/{o.retries})"
                )
                time.sleep(wait)
        except KeyboardInterrupt:
            pass  # the open chunk still lands
        finally:
            if self.times:
                self._commit(final=True)
        self.report.duration = self.end
        if self.report.failed is not None:
            raise BadVideo(self.url, self.report.failed)
        return self.report

    def _connection(self, deadline: float | None) -> bool:
        """Take frames from one connection; True when the deadline is reached."""
        self._got_frames = False
        step = 1.0 / self.opts.fps
        first: float | None = None
        base = self.end  # this connection's frames continue the item's time axis
        wants: dict[str, Any] = {"audio_rate": self.asr.sample_rate} if self.asr is not None else {}
        if self.opts.rtsp_transport is not None:
            wants["rtsp_transport"] = self.opts.rtsp_transport
        self.audio, self.audio_at = [], None  # audio of an earlier connection is not continued
        for raw, frame in self.frames(self.url, self.opts.stall_seconds, **wants):
            if isinstance(frame, np.ndarray):  # audio samples
                if first is not None:  # placed on the item's time axis by the video
                    self._hear(round(base + (raw - first), 6), frame)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return True
            if first is None:
                first = raw
                if self.report.first_raw is None:
                    self.report.first_raw = raw
                self.codec = frame.format.name if frame.format is not None else ""
            t = round(base + (raw - first), 6)  # no 3.9999999 for 4.0 at a boundary
            if t + 1e-6 < self.end:
                continue  # between samples
            if t >= self.boundary and self.times:
                self._commit()
            if not self.times:
                size = self.opts.chunk_seconds
                self.boundary = float(np.floor(t / size) + 1) * size
            self._got_frames = True
            image = self._image(frame)  # (an interrupt before here leaves the chunk as it was)
            keep = True if self.deduper is None else bool(self.deduper.keep(image[None])[0])
            self.times.append(t)
            self.images.append(image)
            self.keep.append(keep)
            self.end = round(t + step, 6)
        return deadline is not None and time.monotonic() >= deadline

    _got_frames = False

    def _hear(self, t: float, samples: np.ndarray) -> None:
        if self.audio_at is None:
            self.audio_at = t  # the samples held are taken as contiguous from here
        self.audio.append(samples)

    def _speech(self, end: float) -> tuple[list[TextSpan], np.ndarray | None]:
        """The open chunk's speech (its audio up to ``end``, item time) as text spans and
        their vectors; later audio stays for the next chunk."""
        if self.asr is None or self.audio_at is None or not self.audio:
            return [], None
        assert self.text_encoder is not None
        rate = self.asr.sample_rate
        data = np.concatenate(self.audio)
        cut = max(0, min(len(data), round((end - self.audio_at) * rate)))
        heard, start = data[:cut], self.audio_at
        rest = data[cut:]
        self.audio, self.audio_at = ([rest] if rest.size else []), (end if rest.size else None)
        if not heard.size:
            return [], None
        spans = spans_of(self.asr.transcribe(heard, start))
        kept, problems = limit_speech(spans, start + heard.size / rate, self.url)
        for problem in problems:
            self.warn(str(problem))
        if not kept:
            return [], None
        return list(kept), self.text_encoder.encode([t.text for t in kept])

    def _read_screen(self) -> None:
        """The lines OCR read on the open chunk's frames so far, as spans that end by the chunk's
        end (a line still on screen is cut there; the next chunk starts it again), with their
        vectors, to land with the chunk."""
        if self.ocr is None:
            return
        seen = self.ocr.finish()
        self.ocr.spans = []
        if seen:
            assert self.text_encoder is not None
            self.said += seen
            self.said_vecs.append(self.text_encoder.encode([t.text for t in seen]))

    def _image(self, frame: Any) -> np.ndarray:
        if self.size is None:
            w, h = frame.width, frame.height
            short = self.encoder.input_size
            if self.ocr is not None:
                short = max(short, min(OCR_SHORT_SIDE, w, h))
            scale = short / max(1, min(w, h))
            self.size = (max(2, round(w * scale)), max(2, round(h * scale)))
        w, h = self.size
        img: np.ndarray = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
        return img

    # ---- landing a chunk ----------------------------------------------------------------------

    def _encode(self) -> np.ndarray:
        """The open chunk's vectors; frames already encoded (a landing put off while another
        process wrote the library) are not encoded again."""
        if self.images:
            images = np.stack(self.images)
            keep = np.array(self.keep, bool)
            todo = images[keep]
            b = self.opts.batch_size
            out = [self.encoder.encode_images(todo[i : i + b]) for i in range(0, len(todo), b)]
            new = iter(np.concatenate(out) if out else np.zeros((0, self.encoder.dim), np.float32))
            vectors = []
            for k in keep:  # a near-duplicate reuses the vector of the last frame encoded
                if k or self.last_vector is None:
                    self.last_vector = next(new)
                vectors.append(self.last_vector)
            self.reused += int((~keep).sum())
            if self.ocr is not None:  # read with the frames, once (a put-off landing keeps it)
                self.ocr.add(np.array(self.times[len(self.times) - len(images) :]), images)
            self.encoded, self.images, self.keep = [*self.encoded, np.stack(vectors)], [], []
        return np.concatenate(self.encoded).astype(np.float32)

    def _commit(self, final: bool = False) -> bool:
        """Land the open chunk; False (it stays open) while another process holds the
        library's write lock, except ``final``, which waits up to LOCK_WAIT seconds."""
        times = np.array(self.times, np.float64)
        vecs = self._encode()
        end = float(self.end)
        spans = self.segmenter.segment(times, vecs, end)
        said, said_vecs = self._speech(end)
        self.said += said  # kept, with their vectors, until the chunk lands
        if said_vecs is not None:
            self.said_vecs.append(said_vecs)
        self._read_screen()
        give_up = time.monotonic() + (LOCK_WAIT if final else 0.0)
        while True:
            try:
                started = time.perf_counter()
                with write_lock(self.root):
                    self._land(times, vecs, spans, end)
                took = (time.perf_counter() - started) * 1000
                break
            except LibraryBusy:
                if time.monotonic() >= give_up and not final:
                    if not self.busy:
                        self.warn(
                            f"{self.url}: library busy (another process is writing "
                            f"it); {len(times)} frames wait to land"
                        )
                    self.busy = True
                    return False
                if time.monotonic() >= give_up:
                    raise
                time.sleep(0.2)
        self.busy = False
        wall = time.time()
        release_freed_memory()  # a merge's buffers: glibc keeps freed heap pages otherwise
        self.report.chunks += 1
        self.report.frames += len(times)
        if self.opts.walls:
            self.report.commit_walls.extend((float(t), wall) for t in times)
        if self.opts.measure:
            self.report.commit_ms.append(took)
            self.report.rss_kb.append(rss_kb())
        self.say(
            f"live: {self.url}: landed {times[0]:.1f}-{end:.1f} s ({len(times)} frames); "
            f"item {end:.1f} s"
        )
        self.times, self.images, self.encoded, self.keep = [], [], [], []
        self.said, self.said_vecs, self.reused = [], [], 0
        return True

    def _land(self, times: np.ndarray, vecs: np.ndarray, spans: list[Any], end: float) -> None:
        """One commit: the chunk's frames and segments, the item's new duration, the next
        vector generation (the caller holds the write lock). The chunk's vectors go into delta
        files (``vagent.vector_deltas``) when the committed generation is fully recorded, so a
        commit costs the same early and late in a stream; else every vector file is rewritten."""
        with self.catalog.session() as s:
            lib = s.get(LibraryRow, self.library_id)
            assert lib is not None
            files = appendable(lib, self.vectors.indexes) if self.opts.append else None
        if files is None:
            self._land_whole(times, vecs, spans, end)
            return
        with self.catalog.session() as s:
            lib = s.get(LibraryRow, self.library_id)
            assert lib is not None and lib.uid is not None
            marker = read_marker(self.root)
            if marker is None or marker["uid"] != lib.uid:
                check_owner(self.root, self.catalog, lib.name, lib)  # raises, naming the owner
                write_marker(self.root, lib.name, lib.uid, self.catalog.url)
            seg_ids, frame_ids, text_ids = self._rows(s, lib, times, spans, end)
            added = {
                "segments": (seg_ids, segment_vectors(vecs, spans)),
                "frames": (frame_ids, vecs),
            }
            if len(text_ids):
                added["texts"] = (text_ids, np.concatenate(self.said_vecs))
            record, tag = land_deltas(self.root, lib, files, added, self.vectors.hint)
        sweep(self.root, record, tag)

    def _rows(
        self, s: Any, lib: LibraryRow, times: np.ndarray, spans: list[Any], end: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Insert the chunk's segment, frame and speech rows (and grow the item); their ids."""
        video = self._video(s, lib, end, len(times))
        seg_rows = [
            {"video_id": video.id, "start": sp.start, "end": sp.end, "n_frames": len(sp.frames)}
            for sp in spans
        ]
        seg_ids = s.scalars(
            insert(SegmentRow).returning(SegmentRow.id, sort_by_parameter_order=True),
            seg_rows,
        ).all()
        segment_of = np.empty(len(times), np.int64)
        for sid, sp in zip(seg_ids, spans):
            segment_of[list(sp.frames)] = sid
        frame_ids = s.scalars(
            insert(FrameRow).returning(FrameRow.id, sort_by_parameter_order=True),
            [
                {"video_id": video.id, "segment_id": int(sid), "time": float(t)}
                for t, sid in zip(times, segment_of)
            ],
        ).all()
        text_ids: list[int] = []
        if self.said:
            text_rows = [
                {
                    "video_id": video.id, "start": t.start, "end": t.end, "source": t.source,
                    "text": t.text, "language": getattr(t, "language", None),
                    "words": dump_words(w) if (w := getattr(t, "words", ())) else None,
                }
                for t in self.said
            ]  # fmt: skip
            text_ids = list(
                s.scalars(
                    insert(TextSpanRow).returning(TextSpanRow.id, sort_by_parameter_order=True),
                    text_rows,
                ).all()
            )
        ids = (np.array(x, np.int64) for x in (seg_ids, frame_ids, text_ids))
        return next(ids), next(ids), next(ids)

    def _land_whole(
        self, times: np.ndarray, vecs: np.ndarray, spans: list[Any], end: float
    ) -> None:
        """The chunk landed by rewriting every vector file (a new library's first chunk, a
        library from before checksums, or ``append`` off)."""
        self._sync()
        try:
            with self.catalog.session() as s:
                lib = s.get(LibraryRow, self.library_id)
                assert lib is not None
                seg_ids, frame_ids, text_ids = self._rows(s, lib, times, spans, end)
                self.vectors.segments.add(seg_ids, segment_vectors(vecs, spans))
                self.vectors.frames.add(frame_ids, vecs)
                if len(text_ids) and self.vectors.texts is not None:
                    self.vectors.texts.add(text_ids, np.concatenate(self.said_vecs))
                record, tag = _write_generation(self.catalog, lib, self.vectors)
        except BaseException:
            self.vectors.load(self.vectors.generation, self.vectors.record)
            raise
        _committed(self.vectors, record)
        sweep(self.vectors.root, record, tag)

    def _sync(self) -> None:
        """Reload the vectors when another writer committed since (the lock is held)."""
        with self.catalog.session() as s:
            lib = s.get(LibraryRow, self.library_id)
            assert lib is not None
            if lib.generation != self.vectors.generation:
                self.vectors.load(lib.generation, lib.vector_files)

    def _video(self, s: Any, lib: LibraryRow, end: float, n: int) -> VideoRow:
        now = datetime.now(timezone.utc)
        video = s.get(VideoRow, self.video_id) if self.video_id is not None else None
        if video is None:
            w, h = self.size or (0, 0)
            video = VideoRow(
                library_id=lib.id,
                path=self.url,
                content_hash=stream_hash(self.url),
                size=0,
                mtime_ns=0,
                duration=end,
                fps=self.opts.fps,
                width=w,
                height=h,
                codec=self.codec[:64] or "live",
                frame_count=None,
                sampled_frames=n,
                frames_reused=self.reused,
                decode_strategy=STRATEGY,
                indexed_at=now,
            )
            s.add(video)
            s.flush()
            self.video_id = video.id
            return video
        video.duration = end
        video.sampled_frames += n
        video.frames_reused = (video.frames_reused or 0) + self.reused
        video.indexed_at = now
        return video
