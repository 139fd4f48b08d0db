"""kill -9 in the middle of indexing, and readers searching while a writer indexes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from tests.conftest import TINY_CLIP
from vagent import Library, plugins
from vagent.catalog import FrameRow, SegmentRow, VideoRow
from vagent.synth import make_video
from vagent.vectors import VectorSet

pytestmark = pytest.mark.slow
N_VIDEOS = 6


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("many")
    colours = ["red", "green", "blue", "yellow", "white", "purple"]
    for i in range(N_VIDEOS):
        make_video(d / f"v{i}.mp4", [colours[i], colours[(i + 1) % 6]], 10.0, seed=i)
    return d


def _writer(many: Path, home: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "vagent",
        "index",
        str(many),
        "--library",
        "crash",
        "--encoder",
        TINY_CLIP,
        "--fps",
        "4",
    ]
    env = {**os.environ, "VAGENT_HOME": str(home)}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _indexed(lib: Library) -> int:
    if not lib.exists():
        return 0
    return len(lib.videos())


def _assert_consistent(lib: Library) -> None:
    """Every catalogued video is whole, and the committed vector files hold exactly its rows."""
    row = lib.settings()
    cat = lib.catalog
    with cat.session() as s:
        for v in s.scalars(select(VideoRow)):
            n = s.scalar(select(func.count(FrameRow.id)).where(FrameRow.video_id == v.id))
            assert n == v.sampled_frames == 80, v.path
        frame_ids = np.array(sorted(s.scalars(select(FrameRow.id))), np.int64)
        seg_ids = np.array(sorted(s.scalars(select(SegmentRow.id))), np.int64)
    vs = VectorSet(
        lib.root,
        lambda: __import__("vagent").plugins.registry().create("index", "faiss/Flat", dim=row.dim),
    )
    vs.load(row.generation)
    np.testing.assert_array_equal(np.sort(vs.frames.ids()), frame_ids)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(np.sort(vs.segments.ids()), seg_ids)  # type: ignore[attr-defined]


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.4])
def test_kill_9_leaves_whole_videos_and_resumes(many: Path, tmp_path: Path, delay: float) -> None:
    home = tmp_path / "home"
    lib = Library.open(home / "crash")
    proc = _writer(many, home)
    deadline = time.time() + 120
    while _indexed(lib) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _indexed(lib)
    assert 2 <= done < N_VIDEOS, "the writer was not killed mid-run; slow the fixture down"
    _assert_consistent(lib)
    assert lib.search("a frame", k=3)

    rerun = Library.open(home / "crash").index([str(many)], progress=False)
    assert len(rerun.indexed) == N_VIDEOS - done and len(rerun.skipped) == done
    _assert_consistent(lib)
    leftovers = sorted(p.name for p in lib.root.iterdir() if p.suffix in (".faiss", ".tmp"))
    gen = lib.settings().generation
    assert leftovers == sorted(
        f"{k}-{g}.faiss" for k in ("frames", "segments") for g in (gen - 1, gen)
    )


def test_readers_search_while_a_writer_indexes(many: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    lib = Library.open(home / "crash")
    plugins.registry().create("visual_encoder", TINY_CLIP).load()  # warm: imports take seconds
    proc = _writer(many, home)
    seen: set[int] = set()
    try:
        while proc.poll() is None:
            if lib.exists() and lib.settings().generation > 0:
                hits = lib.search("something", k=50)
                videos = {v.path for v in lib.videos()}
                assert {h.video for h in hits} <= videos
                seen.add(len(videos))
            time.sleep(0.01)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert len(seen) >= 2  # we read several generations while they were being written
    assert len(Library.open(home / "crash").videos()) == N_VIDEOS
