"""What ``vagent info`` reports about a library: settings, contents, text track, sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from vagent.catalog import Catalog, LibraryRow, TextSpanRow, VideoRow
from vagent.paths import LibraryLocation
from vagent.vectors import VectorSet


def safe_url(url: str) -> str:
    """A catalog URL fit to print (its password hidden)."""
    return make_url(url).render_as_string(hide_password=True)


def library_info(
    cat: Catalog, location: LibraryLocation, row: LibraryRow, vectors: VectorSet
) -> dict[str, Any]:
    """Settings, contents and sizes of the library ``row`` as of ``vectors``' generation."""
    videos = cat.videos(row.id)
    path = location.catalog_path
    index: dict[str, Any] = {"backend": row.index_backend, "spec": row.index_spec}
    trained = vectors.frames.trained
    if trained is not None:
        index["trained"] = trained
    with cat.session() as s:
        vids = select(VideoRow.id).where(VideoRow.library_id == row.id)
        by_source = s.execute(
            select(TextSpanRow.source, func.count(TextSpanRow.id))
            .where(TextSpanRow.video_id.in_(vids))
            .group_by(TextSpanRow.source)
        ).all()
        # words heard (speech spans keep them as JSON [[s, e, "w"], ...]): one "], [" between two
        joins = func.length(TextSpanRow.words) - func.length(
            func.replace(TextSpanRow.words, "], [", "")
        )
        words = s.scalar(
            select(func.coalesce(func.sum(joins / 4 + 1), 0)).where(
                TextSpanRow.video_id.in_(vids), TextSpanRow.words.is_not(None)
            )
        )
    return {
        "name": row.name,
        "root": str(location.root),
        "catalog": safe_url(location.db_url),
        "encoder": row.encoder,
        "embedding_space": row.embedding_space,
        "dim": row.dim,
        "semantic": row.semantic,
        "index": index,
        "segmenter": row.segmenter,
        "segment_seconds": row.segment_seconds,
        "sample_fps": row.sample_fps,
        "generation": row.generation,
        "text": {
            "sources": row.text_sources.split(",") if row.text_sources else [],
            "encoder": row.text_encoder,
            "dim": row.text_dim,
            "ocr": row.ocr,
            "captioner": row.captioner,
            "asr": row.asr,
            "speech_words": int(words or 0),
            "spans": {str(src): int(n) for src, n in by_source},
        },
        **cat.counts(row.id),
        "video_seconds": round(sum(v.duration for v in videos), 3),
        "frames_reused": sum(v.frames_reused or 0 for v in videos),
        "bytes": {
            "catalog": path.stat().st_size if path.exists() else None,
            "vectors": sum(vectors.bytes_on_disk().values()),
        },
        "videos": [
            {
                "path": v.path,
                "duration": round(v.duration, 3),
                "resolution": f"{v.width}x{v.height}" if v.width else "audio",
                "codec": v.codec,
                "decoder": v.decode_strategy,  # what decoded it (Library.decoder(video))
                "frames": v.sampled_frames,
                "frames_reused": v.frames_reused or 0,
                "missing": v.decode_strategy != "live" and not Path(v.path).exists(),
            }
            for v in videos
        ],
    }
