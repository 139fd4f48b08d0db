"""A ``vagent index`` commit that only adds vectors (a new file) lands them as append-only delta
files beside the committed base, as live chunks do (``vagent.vector_deltas``): its cost is what
it adds, not the library's size. A commit that removes (a changed file replaced, ``remove``)
rewrites every file and folds the deltas; so does one whose index trains, is due to train again
(IVF-PQ at 8x growth) or whose deltas have grown to a share of the base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import COLOUR, vector_record
from vagent import Library
from vagent.ingest.commit import NewVideo, land
from vagent.ingest.run import IndexRun
from vagent.integrity.check import check_library
from vagent.library import LibrarySpec
from vagent.locking import write_lock
from vagent.synth import make_video
from vagent.types import SegmentSpan
from vagent.vector_deltas import names

pytestmark = pytest.mark.usefixtures("colour_plugin")


def _index(lib: Library, paths: list[Path], **kw: Any) -> None:
    kw.setdefault("text", "none")
    report = lib.index([str(p) for p in paths], encoder=COLOUR, progress=False, **kw)
    assert not report.failed, report.failed


def _on_disk(lib: Library) -> set[str]:
    return {p.name for p in lib.root.iterdir() if p.suffix in (".faiss", ".delta", ".tmp")}


def test_indexing_a_second_file_writes_a_delta_not_a_new_base(videos: Path) -> None:
    lib = Library.open("grow")
    _index(lib, [videos / "yw.mp4"])  # generation 1: whole files
    first = vector_record(lib)
    base_bytes = {k: (lib.root / f["name"]).read_bytes() for k, f in first["files"].items()}
    _index(lib, [videos / "rgb.mp4"])  # 30 s at 1 fps: 30 frames
    record = vector_record(lib)
    assert record["generation"] == 2
    for kind, f in record["files"].items():
        old = first["files"][kind]
        assert (f["name"], f["sha256"]) == (old["name"], old["sha256"])  # the base is kept
        assert (lib.root / f["name"]).read_bytes() == base_bytes[kind]  # and never rewritten
        (delta,) = f["deltas"]
        assert delta["name"].endswith("-2-L0.delta")
        assert f["count"] == old["count"] + delta["count"]
    assert record["files"]["frames"]["deltas"][0]["count"] == 30
    # nothing else on disk: the two generations' files (the base, generation 2's deltas)
    assert _on_disk(lib) == {n for f in record["files"].values() for n in names(f)}
    again = Library.open("grow")  # readers see base + deltas as one generation
    assert Path(again.search("red", k=1)[0].video).name == "rgb.mp4"
    assert Path(again.search("yellow", k=1)[0].video).name == "yw.mp4"
    assert check_library(again).problems == []


def test_a_replaced_or_removed_file_rewrites_the_base_folding_the_deltas(
    videos: Path, tmp_path: Path
) -> None:
    lib = Library.open("fold")
    clip = make_video(tmp_path / "clip.mp4", ["purple"], 2.0)
    _index(lib, [videos / "yw.mp4"])
    _index(lib, [videos / "rgb.mp4"])
    _index(lib, [clip])
    frames = vector_record(lib)["files"]["frames"]
    assert len(frames["deltas"]) == 2 and frames["count"] == 12 + 30 + 2
    base = frames["name"]
    make_video(clip, ["orange"], 3.0)  # changed: replaced (its rows dropped, new ones added)
    _index(lib, [clip])
    frames = vector_record(lib)["files"]["frames"]
    assert frames["name"] != base and not frames.get("deltas") and frames["count"] == 12 + 30 + 3
    Library.open("fold").remove([str(videos / "yw.mp4")])
    record = vector_record(lib)
    for f in record["files"].values():
        assert not f.get("deltas")
    assert record["files"]["frames"]["count"] == 30 + 3
    again = Library.open("fold")
    assert Path(again.search("orange", k=1)[0].video).name == "clip.mp4"
    assert Path(again.search("red", k=1)[0].video).name == "rgb.mp4"
    assert check_library(again).problems == []
    # the files of the current and the previous generation only
    named = {n for e in (record, record["previous"]) for f in e["files"].values() for n in names(f)}
    assert _on_disk(again) == named


def test_an_index_that_trains_is_written_whole_then_appended_to(videos: Path) -> None:
    """IVF4,Flat trains at 156 vectors: the commit that crosses it writes a trained base (an
    appended base would stay the untrained stand-in and every reader would train it)."""
    lib = Library.open("ivf")
    _index(lib, [videos / "yw.mp4"], fps=4, index="faiss/IVF4,Flat")  # 48 frames: staging
    _index(lib, [videos / "rgb.mp4"])  # 48 + 120 = 168: trains
    frames = vector_record(lib)["files"]["frames"]
    assert not frames.get("deltas") and frames["count"] == 168
    assert lib._reader_vectors(lib.settings()).frames.trained
    _index(lib, [make_video(videos / "p.mp4", ["purple"], 2.0)])  # trained: a delta
    frames = vector_record(lib)["files"]["frames"]
    assert len(frames["deltas"]) == 1 and frames["count"] == 176
    again = Library.open("ivf")
    assert Path(again.search("purple", k=1)[0].video).name == "p.mp4"
    assert check_library(again).problems == []


# ---- at the commit: synthetic vectors, real FAISS and SQLite ------------------------------


def _run(lib: Library, index: str) -> IndexRun:
    spec = LibrarySpec(encoder=COLOUR, fps=2.0, segment_seconds=5.0, text="none", index=index)
    with write_lock(lib.root):
        return lib._index_locked(spec)


def _video(i: int, n: int, rng: np.random.Generator) -> NewVideo:
    row = {
        "path": f"/synthetic/{i}.mp4", "content_hash": f"{i:064x}", "size": 1, "mtime_ns": 0,
        "duration": n / 2.0, "fps": 2.0, "width": 8, "height": 8, "codec": "test",
        "frame_count": None, "sampled_frames": n, "decode_strategy": "test",
    }  # fmt: skip
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    segments = [SegmentSpan(a / 2.0, min(n, a + 100) / 2.0, tuple(range(a, min(n, a + 100))))
                for a in range(0, n, 100)]  # fmt: skip
    return NewVideo(row, np.arange(n) / 2.0, vectors, segments)


def test_an_ivfpq_index_retrains_at_eightfold_growth_as_a_whole_write(tmp_path: Path) -> None:
    """IVF4,PQ4x4 trains at 624 vectors and again when saved at 8x that: the commit that
    reaches 8x is written whole (retrained), the ones between land as deltas."""
    lib = Library.open(tmp_path / "pq")
    run = _run(lib, "faiss/IVF4,PQ4x4")
    rng = np.random.default_rng(0)
    bases = []
    with write_lock(lib.root):
        for i in range(9):
            land(run.catalog, run.library_id, run.vectors, add=_video(i, 700, rng))
            bases.append(vector_record(lib)["files"]["frames"])
    # 1: trained on 700 (whole); 2-7: deltas on that base; 8 (5,600 = 8 x 700): retrained, whole
    assert [bool(f.get("deltas")) for f in bases] == [False] + [True] * 6 + [False, True]
    assert len({f["name"] for f in bases[:7]}) == 1 and bases[7]["name"] != bases[0]["name"]
    frames = Library.open(tmp_path / "pq")._reader_vectors(lib.settings()).frames
    assert frames.ntotal == 9 * 700
    assert frames._exact.trained_on == 8 * 700  # type: ignore[attr-defined]
    assert check_library(Library.open(tmp_path / "pq")).problems == []


def test_deltas_fold_into_a_new_base_once_they_hold_a_share_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vagent import vector_deltas

    monkeypatch.setattr(vector_deltas, "MERGE_BYTES", 0)  # the share alone decides
    lib = Library.open(tmp_path / "share")
    run = _run(lib, "faiss/Flat")
    rng = np.random.default_rng(1)
    held = []
    with write_lock(lib.root):
        land(run.catalog, run.library_id, run.vectors, add=_video(0, 800, rng))
        for i in range(1, 5):
            land(run.catalog, run.library_id, run.vectors, add=_video(i, 60, rng))
            frames = vector_record(lib)["files"]["frames"]
            held.append(sum(d["count"] for d in frames.get("deltas") or []))
    # 800 / FOLD_SHARE (8) = 100: a commit finding more than that held folds them
    assert held == [60, 120, 0, 60]
    assert check_library(Library.open(tmp_path / "share")).problems == []
