"""Catalog tables. Row ids of ``segments`` and ``frames`` are the ids stored in the vector index."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Bump when a table changes shape; a catalog written by another version is refused by name.
SCHEMA_VERSION = 1

# SQLite only autoincrements INTEGER PRIMARY KEY; other databases get a 64-bit identity.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Key/value facts about the catalog itself: ``schema_version``, ``written_by``."""

    __tablename__ = "vagent_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LibraryRow(Base):
    """A library: the encoder and embedding space it is pinned to, and its index generation.

    ``generation`` names the vector-index files that match the committed rows; it advances in the
    same transaction that adds or removes a video, so readers always see a consistent pair.
    """

    __tablename__ = "libraries"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    encoder: Mapped[str] = mapped_column(Text)
    embedding_space: Mapped[str] = mapped_column(Text)
    dim: Mapped[int] = mapped_column(Integer)
    semantic: Mapped[bool] = mapped_column(Boolean)
    index_backend: Mapped[str] = mapped_column(String(64))
    index_spec: Mapped[str] = mapped_column(Text)
    segmenter: Mapped[str] = mapped_column(String(128))
    segment_seconds: Mapped[float] = mapped_column(Float)
    sample_fps: Mapped[float] = mapped_column(Float)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # The text track: which sources are indexed ("subtitles,ocr"; "" for none), the OCR reader,
    # and the text encoder with its pinned space and width (None when there is no text track).
    text_sources: Mapped[str] = mapped_column(String(128), default="")
    ocr: Mapped[str | None] = mapped_column(String(128), nullable=True)
    text_encoder: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_space: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_dim: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The captioner whose captions are text spans (source "caption"); None without captions.
    # Added after schema v1 shipped: catalogs without the column get it on open (additive).
    captioner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The speech recogniser whose transcripts are text spans (source "speech"), pinned like the
    # encoders; None without speech. Additive (on open), like captioner.
    asr: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Who owns the vector files: a random id given at creation (legacy libraries get one on their
    # next write); its start names the files (``segments-<uid[:12]>-<gen>.faiss``) and the
    # folder's ``library.json``. Added after schema v1 shipped (additive, on open).
    uid: Mapped[str | None] = mapped_column(
        String(32), nullable=True, default=lambda: uuid.uuid4().hex
    )
    # The committed vector files (name, sha256, bytes, count per kind) of ``generation`` and
    # the one before, as JSON (``vagent.vectors``), moved in the same transaction. Additive.
    vector_files: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class VideoRow(Base):
    """One indexed file. ``content_hash`` (sha256) is its identity; ``path`` is where it was last
    seen, so a moved file is re-pointed rather than re-indexed."""

    __tablename__ = "videos"
    __table_args__ = (
        UniqueConstraint("library_id", "content_hash", name="uq_video_hash"),
        Index("ix_videos_path", "library_id", "path"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    duration: Mapped[float] = mapped_column(Float)
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(64))
    frame_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sampled_frames: Mapped[int] = mapped_column(Integer)
    decode_strategy: Mapped[str] = mapped_column(String(64))
    indexed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # sha256 of the sidecar subtitle files read with it (vagent.text.sidecars.fingerprint); a
    # change redoes its subtitle spans. None: no subtitle track, or indexed before this column
    # (added after schema v1 shipped, on open, like libraries.captioner).
    sidecars: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # sampled frames that reused the vector of the last frame encoded (dedupe); None: indexed
    # before this column (additive, on open).
    frames_reused: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SegmentRow(Base):
    """A time range of a video; its id is the id of its (mean) vector in the segment index."""

    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_video", "video_id", "start"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    n_frames: Mapped[int] = mapped_column(Integer)


class FrameRow(Base):
    """A sampled frame; its id is the id of its vector in the frame index."""

    __tablename__ = "frames"
    __table_args__ = (
        Index("ix_frames_segment", "segment_id"),
        Index("ix_frames_video", "video_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    time: Mapped[float] = mapped_column(Float)


class TextSpanRow(Base):
    """Words tied to a time range (subtitle, ocr, caption); its id is its vector's id in the
    text index."""

    __tablename__ = "text_spans"
    __table_args__ = (Index("ix_text_spans_video", "video_id", "start"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    # speech spans: their words with times, JSON [[start, end, word], ...] (None for other
    # sources), and the language heard. Additive (on open).
    words: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)


class KvRow(Base):
    """A segment's stored language-model KV cache (KV-cache reuse): which file holds it, made
    under which ``fingerprint`` (model, revision, dtype, prompt template, prefill mode), its
    shape, positions ``pos_start`` .. ``pos_end - 1``, size on disk and sha256.

    Added after schema v1 without a version bump: an additive table that an older vagent ignores
    and that opening a catalog for writing creates when it is missing.
    """

    __tablename__ = "kv_caches"
    __table_args__ = (
        UniqueConstraint("segment_id", "fingerprint", name="uq_kv_segment_fp"),
        Index("ix_kv_fingerprint", "fingerprint"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(Text)
    dtype: Mapped[str] = mapped_column(String(16))
    layers: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)
    pos_start: Mapped[int] = mapped_column(BigInteger)
    pos_end: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    file: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
