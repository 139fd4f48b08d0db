"""One ``index`` run over many files: decide per file (skip, move, replace, index), encode, land.

Each file is its own unit of work: a bad file is reported in one line and the run goes on; a file
lands whole or not at all, so a run killed at any point resumes by simply running it again.
An unchanged video whose sidecar subtitles were added, edited or removed has its subtitle spans
redone (frames, segments and other text kept), reported as ``text_redone``.
A file that grew by appending (its first bytes hash as before: a recording still being written)
keeps its indexed frames and on-screen text; only the frames after them are encoded (``grown``).

The run is split in three: ``plan`` (the driver decides what a file needs, from the catalog),
the per-file work (``vagent.ingest.work``: decode, encode, text track; no catalog), and ``settle``
(the driver lands the result). Locally the three run one file after another; with ``opts.ray``
the per-file work runs on a Ray cluster (``vagent.ingest.distributed``) and the driver lands
each file in the order given.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import select

from vagent.catalog import Catalog, FrameRow, TextSpanRow, VideoRow
from vagent.errors import BadVideo, InputSkipped
from vagent.ingest.commit import NewTexts, NewVideo, land
from vagent.ingest.discover import content_hash, discover, open_regular, printable, stat_key
from vagent.ingest.work import (
    OCR_SHORT_SIDE,
    TEXT_BATCH,
    FileWork,
    Job,
    Options,
    Parts,
    Prior,
    Tally,
    truncation,
)
from vagent.text.sidecars import NO_SIDECARS, Listing, fingerprint, list_folder
from vagent.types import IndexReport, TextSpan
from vagent.vectors import VectorSet

__all__ = [
    "OCR_SHORT_SIDE",
    "TEXT_BATCH",
    "IndexRun",
    "Job",
    "Options",
    "Parts",
    "Prior",
    "prefix_hash",
    "truncation",
]


def prefix_hash(path: str, size: int) -> str:
    """sha256 of the first ``size`` bytes of ``path`` (its content_hash when that is its size)."""
    h = hashlib.sha256()
    left = size
    with os.fdopen(open_regular(path), "rb") as f:
        while left > 0 and (chunk := f.read(min(left, 1 << 22))):
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


class IndexRun:
    def __init__(
        self, catalog: Catalog, library_id: int, vectors: VectorSet, parts: Parts, opts: Options
    ) -> None:
        self.catalog, self.library_id, self.vectors = catalog, library_id, vectors
        self.parts, self.opts = parts, opts
        self.report = IndexReport()
        self._listings: dict[Path, Listing] = {}  # folder -> its sidecars, listed once a run
        self.work = FileWork(parts, opts)
        # Set while files are encoded elsewhere: True when a file with this content hash, or
        # replacing this row, is in flight (``plan`` then lands what is in flight first).
        self.busy: Callable[[str, int | None], bool] = lambda digest, row_id: False
        self.drain: Callable[[], None] = lambda: None
        # Called before each file is planned with the report so far; False stops the run
        # there, the files after it not read (``Library.index``'s ``before_file``).
        self.before_file: Callable[[str, IndexReport], bool] = lambda path, report: True

    def fail(self, path: str, reason: str) -> None:
        path = printable(path)
        self.report.failed.append((path, reason))
        warnings.warn(f"{path}: {reason}", InputSkipped, stacklevel=2)  # CLI: error: PATH: REASON

    def run(self, paths: list[str]) -> IndexReport:
        t0 = time.perf_counter()
        files, bad = discover(paths, audio=self.parts.asr is not None)
        for path, reason in bad:
            self.fail(path, reason)
        if self.opts.ray is not None:
            from vagent.ingest.distributed import run_on_ray

            run_on_ray(self, files, self.opts.ray)
        else:
            for path in files:
                if not self.before_file(path, self.report):
                    break
                self.guarded(path, self._one)
        self.report.wall_seconds = time.perf_counter() - t0
        return self.report

    def guarded(self, path: str, step: Callable[[str], None]) -> None:
        """Run ``step`` for ``path``: a bad file is one line and the run goes on; a full disk
        stops the batch (Library.index says so in one line)."""
        try:
            step(path)
        except BadVideo as exc:
            self.fail(exc.path, exc.reason)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise
            self.fail(path, exc.strerror or str(exc))

    def _one(self, path: str) -> None:
        job = self.plan(path)
        if job is not None:
            new, tally = self.work.encode(job)
            self.settle(job, new, tally)

    def plan(self, path: str) -> Job | None:
        """What ``path`` needs: None when it is done here (unchanged, a duplicate, moved, its
        subtitles redone), else the file to encode."""
        size, mtime_ns = stat_key(path)
        at_path = self._row_where(path=path)
        if at_path and (at_path.size, at_path.mtime_ns) == (size, mtime_ns):
            self._unchanged(at_path, path)
            return None
        prior = self._prior(at_path, path, size) if at_path is not None else None
        sidecars = self._sidecars(path) if self.parts.subtitles else None  # before reading them
        if prior is not None and at_path is not None:
            digest = prefix_hash(path, size)
            return Job(path, digest, size, mtime_ns, sidecars, prior, [at_path.id], "grown")
        digest = content_hash(path)
        same = self._row_where(content_hash=digest)
        if self.busy(digest, same.id if same is not None else None):
            self.drain()  # a copy of it, or the row it matches, lands first (as run locally)
            same = self._row_where(content_hash=digest)
        if same is not None:
            if same.path == path or Path(same.path).exists():
                if same.path == path:
                    self._touch(same.id, size=size, mtime_ns=mtime_ns)
                    self._unchanged(same, path)
                else:
                    self.report.skipped.append(path)
                return None
            self._touch(same.id, path=path, size=size, mtime_ns=mtime_ns)
            self.report.moved.append((same.path, path))
            if self._redo_text(same, path):  # the sidecars beside it now may differ
                self.report.text_redone.append(path)
            return None
        replacing = [at_path.id] if at_path is not None else []
        kind = "replaced" if replacing else "indexed"
        return Job(path, digest, size, mtime_ns, sidecars, None, replacing, kind)

    def settle(self, job: Job, new: NewVideo, tally: Tally) -> None:
        """Land ``job``'s encoded video (and drop the rows it replaces) as one commit."""
        tally.add_to(self.report)
        land(self.catalog, self.library_id, self.vectors, add=new, drop=job.drop)
        getattr(self.report, job.kind).append(job.path)

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

        texts = self.work.subtitles(path, row.duration)
        vectors = self.work.embed(texts, path)
        new = NewTexts(row.id, SOURCE, texts, vectors, {"sidecars": now})
        land(self.catalog, self.library_id, self.vectors, retext=new)
        self.report.text_spans += len(texts)
        return True
