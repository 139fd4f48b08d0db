"""``vagent bench commits``: what one ``vagent index`` commit of a small new file costs against
the size of the library it lands in, appending deltas (now) and rewriting every vector file
(the old way, ``land(append_ok=False)``), in the same run.

For each library size M: a fresh library is filled with M frame vectors (hour-long synthetic
videos, one commit), then N small files (``frames`` vectors each) land one at a time, each its
own commit, as ``vagent index`` lands a file. Reported per mode: commit time (p50, max), vector
bytes written per commit (the files the new generation names that the one before did not),
all bytes this process wrote during the commits (``/proc/self/io`` ``wchar``: the catalog's
too), and the open time of the library after them (read + sha256 of every file, deltas added).
Vectors are random (a commit's cost does not depend on what they say); rows and vector files are
real (SQLite, FAISS). Decoding and encoding are left out: they cost the same in both modes.
"""

from __future__ import annotations

import hashlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vagent.catalog import LibraryRow
from vagent.ingest.commit import NewVideo, land
from vagent.library import Library, LibrarySpec
from vagent.locking import write_lock
from vagent.types import SegmentSpan
from vagent.vectors import parse_record

HOUR = 3600  # frames of one filler video (an hour at 1 fps)
SEGMENT = 10  # frames per segment


def _wchar() -> int:
    """Bytes this process has passed to write() so far (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _video(key: str, n: int, dim: int, rng: np.random.Generator) -> NewVideo:
    row = {
        "path": f"/bench/{key}.mp4", "content_hash": hashlib.sha256(key.encode()).hexdigest(),
        "size": 1, "mtime_ns": 0, "duration": float(n), "fps": 1.0, "width": 16, "height": 16,
        "codec": "bench", "frame_count": n, "sampled_frames": n, "decode_strategy": "bench",
    }  # fmt: skip
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    spans = [
        SegmentSpan(float(a), float(min(n, a + SEGMENT)), tuple(range(a, min(n, a + SEGMENT))))
        for a in range(0, n, SEGMENT)
    ]
    return NewVideo(row, np.arange(n, dtype=np.float64), vectors, spans)


def _record(lib: Library) -> dict[str, Any]:
    with lib.catalog.session() as s:
        row = s.get(LibraryRow, lib.settings().id)
        assert row is not None
        return parse_record(row.vector_files) or {}


def _named(record: dict[str, Any]) -> dict[str, int]:
    """Every file the record's current generation names, with its bytes."""
    out = {}
    for f in (record.get("files") or {}).values():
        out[f["name"]] = int(f.get("bytes") or 0)
        for d in f.get("deltas") or []:
            out[d["name"]] = int(d["bytes"])
    return out


def one(
    root: Path, held: int, files: int, frames: int, index: str, encoder: str, append: bool
) -> dict[str, Any]:
    """One library of ``held`` frame vectors, then ``files`` commits of ``frames`` each."""
    lib = Library.open(root)
    spec = LibrarySpec(encoder=encoder, fps=1.0, segment_seconds=float(SEGMENT), text="none",
                       index=index)  # fmt: skip
    with write_lock(lib.root):
        run = lib._index_locked(spec)
    dim = run.vectors.frames.dim
    rng = np.random.default_rng(held)
    fill = [
        _video(f"fill-{i}", min(HOUR, held - i * HOUR), dim, rng) for i in range(-(-held // HOUR))
    ]
    commit_ms: list[float] = []
    vector_bytes: list[int] = []
    all_bytes: list[int] = []
    with write_lock(lib.root):
        started = time.perf_counter()
        if fill:
            land(run.catalog, run.library_id, run.vectors, add=fill, append_ok=False)
        fill_s = time.perf_counter() - started
        del fill
        for i in range(files):
            new = _video(f"new-{i}", frames, dim, rng)
            before = _named(_record(lib))
            w0, t0 = _wchar(), time.perf_counter()
            land(run.catalog, run.library_id, run.vectors, add=new, append_ok=append)
            commit_ms.append((time.perf_counter() - t0) * 1000)
            all_bytes.append(_wchar() - w0)
            after = _named(_record(lib))
            vector_bytes.append(sum(b for n, b in after.items() if n not in before))
    record = _record(lib)
    on_disk = sum((root / n).stat().st_size for n in _named(record))
    deltas = sum(len(f.get("deltas") or []) for f in record["files"].values())
    lib.close()
    opened = time.perf_counter()
    again = Library.open(root)
    again._reader_vectors(again.settings())  # read + sha256 of every file, deltas added
    open_s = time.perf_counter() - opened
    again.close()
    return {
        "mode": "append" if append else "rewrite",
        "held": held,
        "files": files,
        "frames_per_file": frames,
        "fill_s": round(fill_s, 2),
        "commit_ms_p50": round(statistics.median(commit_ms), 1) if commit_ms else None,
        "commit_ms_max": round(max(commit_ms), 1) if commit_ms else None,
        "vector_bytes_per_commit": round(statistics.median(vector_bytes)) if files else None,
        "bytes_written_per_commit": round(statistics.median(all_bytes)) if files else None,
        "new_vector_bytes": frames * dim * 4,  # what one file adds, raw float32
        "library_vector_bytes": on_disk,
        "delta_files": deltas,
        "open_s": round(open_s, 2),
    }


def run(
    held: list[int],
    files: int = 10,
    frames: int = 60,
    index: str = "faiss/Flat",
    encoder: str = "openclip/vagent-tiny-vit/random",
) -> list[dict[str, Any]]:
    """Both modes at each library size, on fresh libraries in a temporary folder."""
    out = []
    with tempfile.TemporaryDirectory(prefix="vagent-commits-") as tmp:
        for m in held:
            for append in (True, False):
                where = Path(tmp) / f"{m}-{'append' if append else 'rewrite'}"
                out.append(one(where, m, files, frames, index, encoder, append))
    return out


def describe(r: dict[str, Any]) -> str:
    kb = 1024
    return (
        f"commits {r['mode']}: library {r['held']:,} vectors ({r['library_vector_bytes'] / kb:,.0f}"
        f" KiB of vector files after), {r['files']} files of {r['frames_per_file']} vectors "
        f"({r['new_vector_bytes'] / kb:,.0f} KiB raw each): commit p50 {r['commit_ms_p50']} ms "
        f"(max {r['commit_ms_max']}), vector files written {r['vector_bytes_per_commit'] / kb:,.0f}"
        f" KiB/commit, all writes {r['bytes_written_per_commit'] / kb:,.0f} KiB/commit; "
        f"{r['delta_files']} delta files; open {r['open_s']} s"
    )
