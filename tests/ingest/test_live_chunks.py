"""Live chunks land as append-only delta files (``vagent.vector_deltas``): a chunk's commit
writes its own vectors, never the stream's whole index again, and readers see base + deltas as
one generation. Frames come from a source made in the test (no network, no real-time pace), so
a stream of many chunks runs in seconds; the colour test encoder makes hits checkable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.conftest import vector_record
from vagent.errors import BadVideo
from vagent.ingest.live import LiveIndexer, LiveOptions, StreamLost
from vagent.integrity.check import check_library
from vagent.library import Library, LibrarySpec
from vagent.locking import write_lock
from vagent.synth import COLORS, make_video
from vagent.vector_deltas import FANOUT

URL = "udp://127.0.0.1:9"
SPEC = LibrarySpec(encoder="colour", fps=2.0, segment_seconds=1.0, text="none")
CYCLE = ["red", "green", "blue", "yellow"]


def _colour_at(second: int) -> str:
    return CYCLE[second % len(CYCLE)]


def _source(seconds: int, start: int = 0) -> Any:
    """Two frames a second, one colour a second (CYCLE), then the stream ends."""

    def frames(_url: str, _stall: float) -> Iterator[tuple[float, Any]]:
        for i in range(2 * start, 2 * (start + seconds)):
            img = np.zeros((32, 32, 3), np.uint8)
            img[:] = COLORS[_colour_at(i // 2)]
            yield i / 2, av.VideoFrame.from_ndarray(img, format="rgb24")
        raise StreamLost("stream ended")

    return frames


def _run(
    lib: Library, seconds: int, start: int = 0, append: bool = True, dedupe: bool = False
) -> LiveIndexer:
    with write_lock(lib.root):
        run = lib._index_locked(SPEC)
    opts = LiveOptions(fps=2.0, chunk_seconds=1.0, retries=0, append=append, dedupe=dedupe)
    live = LiveIndexer(
        lib.root, run.catalog, run.library_id, run.vectors, run.parts.encoder,
        run.parts.segmenter, URL, opts, say=lambda _line: None, frames=_source(seconds, start),
    )  # fmt: skip
    with pytest.raises(BadVideo, match="stream ended"):
        live.run()
    return live


def _files(lib: Library) -> list[str]:
    return sorted(p.name for p in lib.root.iterdir() if p.suffix in (".faiss", ".delta"))


def test_chunks_append_deltas_and_leave_the_base_alone(tmp_path: Path, colour_plugin: None) -> None:
    lib = Library.open(str(tmp_path / "lib"))
    _run(lib, 1)  # the first chunk makes the library: whole files
    base = {k: (f["name"], f["sha256"]) for k, f in vector_record(lib)["files"].items()}
    live = _run(lib, 80, start=1)  # 80 more chunks, appended
    assert live.report.chunks == 80
    record = vector_record(lib)
    assert record["generation"] == 81
    for kind, f in record["files"].items():
        assert (f["name"], f["sha256"]) == base[kind]  # the base file was never rewritten
        deltas = f["deltas"]
        assert sum(d["count"] for d in deltas) == f["count"] - (1 if kind == "segments" else 2)
        # merged as they pile up: 80 chunks = 1*64 + 2*8 -> one L2, two L1, no L0
        assert [d["level"] for d in deltas] == [2, 1, 1]
        assert all(d["count"] for d in deltas)
    assert record["files"]["frames"]["count"] == 162
    # on disk: the current and the previous generation's files only (older ones swept)
    named = {
        n
        for entry in (record, record["previous"])
        for f in entry["files"].values()
        for n in [f["name"], *(d["name"] for d in f.get("deltas", []))]
    }
    assert set(_files(lib)) == named and len(named) <= 2 * (1 + 3 + FANOUT)
    assert check_library(Library.open(str(tmp_path / "lib"))).problems == []
    # search reads base + deltas as one generation: every colour, at its own times
    again = Library.open(str(tmp_path / "lib"))
    for colour in CYCLE:
        hits = again.search(colour, k=5)
        assert hits and all(_colour_at(int(h.start)) == colour for h in hits), colour


def test_rewrite_mode_rewrites_the_base_every_chunk(tmp_path: Path, colour_plugin: None) -> None:
    """The old way, kept behind ``append=False`` (the benchmark's comparison)."""
    lib = Library.open(str(tmp_path / "lib"))
    _run(lib, 1)
    first = vector_record(lib)["files"]["frames"]["name"]
    _run(lib, 3, start=1, append=False)
    frames = vector_record(lib)["files"]["frames"]
    assert frames["name"] != first and not frames.get("deltas") and frames["count"] == 8


def test_a_whole_write_folds_the_deltas_into_its_base(tmp_path: Path, colour_plugin: None) -> None:
    lib = Library.open(str(tmp_path / "lib"))
    _run(lib, 10)
    assert vector_record(lib)["files"]["frames"]["deltas"]
    clip = make_video(tmp_path / "clip.mp4", ["white"], 2.0)
    lib.index([clip], SPEC)  # a new file only adds: it lands as deltas too
    make_video(clip, ["purple"], 2.0)  # changed: replaced, which rewrites every file
    lib.index([clip], SPEC)
    frames = vector_record(lib)["files"]["frames"]
    assert not frames.get("deltas") and frames["count"] == 20 + 4
    again = Library.open(str(tmp_path / "lib"))
    assert again.search("purple", k=1)[0].video == str(clip)
    assert again.search("blue", k=1)[0].video == URL
    _run(again, 3, start=10)  # and appending starts again from the new base
    frames = vector_record(again)["files"]["frames"]
    assert len(frames["deltas"]) == 3 and frames["count"] == 30
    assert check_library(Library.open(str(tmp_path / "lib"))).problems == []


def test_a_damaged_delta_is_named(tmp_path: Path, colour_plugin: None) -> None:
    lib = Library.open(str(tmp_path / "lib"))
    _run(lib, 4)
    delta = lib.root / vector_record(lib)["files"]["frames"]["deltas"][0]["name"]
    data = bytearray(delta.read_bytes())
    data[-1] ^= 0xFF
    delta.write_bytes(bytes(data))
    problems = check_library(Library.open(str(tmp_path / "lib"))).problems
    assert len(problems) == 1 and delta.name in problems[0] and "checksum" in problems[0]


def test_delta_files_left_by_a_killed_writer_are_swept(tmp_path: Path, colour_plugin: None) -> None:
    lib = Library.open(str(tmp_path / "lib"))
    _run(lib, 3)
    tag = vector_record(lib)["files"]["frames"]["name"].split("-")[1]
    left = [lib.root / f"frames-{tag}-99-L0.delta.tmp", lib.root / f"segments-{tag}-98-L1.delta"]
    other = lib.root / "frames-0123456789ab-5-L0.delta"  # another library's: never touched
    for p in [*left, other]:
        p.write_bytes(b"partial")
    _run(lib, 1, start=3)
    assert not any(p.exists() for p in left) and other.exists()


def test_a_live_item_is_removed_by_its_url(tmp_path: Path, colour_plugin: None) -> None:
    lib = Library.open(str(tmp_path / "lib"))
    _run(lib, 5)
    assert lib.remove([URL]) == [URL]
    files = vector_record(lib)["files"]
    assert all(f["count"] == 0 and not f.get("deltas") for f in files.values())
    assert check_library(Library.open(str(tmp_path / "lib"))).problems == []


def test_near_duplicate_frames_reuse_the_last_vector(tmp_path: Path, colour_plugin: None) -> None:
    """With dedupe (the library's setting; on by default), a live frame that looks like the
    last frame encoded is not encoded: it reuses that vector, and the item counts it."""
    lib = Library.open(str(tmp_path / "lib"))
    live = _run(lib, 12, dedupe=True)  # two frames a second, one colour a second
    assert live.encoder.images_seen == 12  # type: ignore[attr-defined]
    video = lib.videos()[0]
    assert video.sampled_frames == 24 and video.frames_reused == 12
    assert check_library(Library.open(str(tmp_path / "lib"))).problems == []
    again = Library.open(str(tmp_path / "lib"))
    for colour in CYCLE:
        hits = again.search(colour, k=3)
        assert hits and all(_colour_at(int(h.start)) == colour for h in hits), colour
